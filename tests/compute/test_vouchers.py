"""Compute vouchers: grants within caps and budgets, monthly settlement split exactly, expiry, reversal, and a
ledger that never goes negative, even under concurrent settlement."""

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, connections
from django.test import override_settings
from django.utils import timezone

from accounts.models import EnterpriseSize, OrganisationKind
from compute import usage
from compute.backends.base import JobRecord
from compute.tasks import settle_usage_task
from compute.vouchers.models import (
    EntryKind,
    Issuer,
    LedgerEntry,
    Settlement,
    Voucher,
    VoucherApplication,
    VoucherScheme,
)
from compute.vouchers.services import applications, ledger, statements
from core.exceptions import Conflict, DomainError, InvalidTransition, NotAllowed
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.compute.factories import PartitionFactory, make_allocation
from tests.projects.factories import accepted, make_call, make_programme

TODAY = date(2026, 11, 28)
LAST_MONTH = date(2026, 10, 1)


def scheme(**fields) -> VoucherScheme:
    values = {
        "name_zh": "市算力券",
        "name_en": "City compute voucher",
        "issuer": Issuer.CITY,
        "issuer_name": "滨海市数据管理局",
        "subsidy_ratio": Decimal("0.300"),
        "cap_per_organisation": Decimal("50000"),
        "total_budget": Decimal("1000000"),
        "valid_from": date(2026, 1, 1),
        "valid_until": date(2027, 12, 31),
    }
    values.update(fields)
    return VoucherScheme.objects.create(**values)


def card_hours(allocation, hours: Decimal | int, *, day: date = date(2026, 10, 15), job_id: str = "1"):
    """Usage through the real ingest: one job of 1 card for ``hours`` hours, started on ``day``."""
    start = timezone.make_aware(datetime(day.year, day.month, day.day, 9, 0))
    seconds = int(Decimal(hours) * 3600)
    usage.ingest_jobs(
        [
            JobRecord(
                job_id=job_id,
                cluster="slurmlab",
                account=allocation.account_name,
                user="alice",
                partition="debug",
                state="COMPLETED",
                submit=start,
                start=start,
                end=start + timedelta(seconds=seconds),
                elapsed_seconds=seconds,
                tres={"billing": 1, "cpu": 2, "gres/npu": 1},
            )
        ]
    )


@pytest.fixture
def org_allocation(db):
    owner = UserFactory()
    allocation = make_allocation(owner, amount=1000)
    return allocation.organisation, allocation


@pytest.mark.django_db
class TestGrants:
    def test_a_grant_is_a_ledger_entry_and_the_balance_comes_from_the_ledger(
        self, operator, org_allocation, django_capture_on_commit_callbacks
    ):
        organisation, _ = org_allocation
        with django_capture_on_commit_callbacks(execute=True):
            voucher = ledger.grant_voucher(scheme(), organisation, amount="5000", by=operator, today=TODAY)
        assert voucher.balance() == Decimal("5000.00")
        entry = LedgerEntry.objects.get(voucher=voucher)
        assert (entry.kind, entry.amount, entry.created_by) == (EntryKind.GRANT, Decimal("5000.00"), operator)
        assert voucher.expires_on == TODAY + timedelta(days=364)
        event = AuditEvent.objects.get(action="voucher.grant", target_id=str(voucher.pk))
        assert event.changes["balance"] == {"from": None, "to": "5000"}
        assert "5000" in mail.outbox[-1].subject and voucher.code in mail.outbox[-1].body

    def test_the_voucher_never_outlives_its_scheme(self, operator, org_allocation):
        organisation, _ = org_allocation
        voucher = ledger.grant_voucher(
            scheme(valid_until=date(2027, 1, 31)), organisation, amount=100, by=operator, today=TODAY
        )
        assert voucher.expires_on == date(2027, 1, 31)

    def test_the_cap_per_organisation_holds_across_grants(self, operator, org_allocation):
        organisation, _ = org_allocation
        city = scheme(cap_per_organisation=Decimal("8000"))
        ledger.grant_voucher(city, organisation, amount=5000, by=operator, today=TODAY)
        with pytest.raises(Conflict, match="cap of 8000"):
            ledger.grant_voucher(city, organisation, amount="3000.01", by=operator, today=TODAY)
        assert Voucher.objects.count() == 1
        ledger.grant_voucher(city, organisation, amount=3000, by=operator, today=TODAY)

    def test_the_scheme_budget_holds_across_organisations(self, operator, org_allocation):
        organisation, _ = org_allocation
        other = make_verified_organisation(UserFactory())
        small = scheme(total_budget=Decimal("6000"))
        ledger.grant_voucher(small, organisation, amount=4000, by=operator, today=TODAY)
        with pytest.raises(Conflict, match="2000"):
            ledger.grant_voucher(small, other, amount=2500, by=operator, today=TODAY)
        assert Voucher.objects.count() == 1

    @pytest.mark.parametrize("amount", [0, -5, "1.001", "abc", "NaN", "Infinity", None, "1e12"])
    def test_bad_amounts_are_refused(self, operator, org_allocation, amount):
        organisation, _ = org_allocation
        with pytest.raises(DomainError):
            ledger.grant_voucher(scheme(), organisation, amount=amount, by=operator, today=TODAY)
        assert not Voucher.objects.exists() and not LedgerEntry.objects.exists()

    def test_ineligible_types_closed_schemes_and_non_operators_are_refused(self, operator, org_allocation):
        organisation, _ = org_allocation
        for_universities = scheme(eligible_kinds=[OrganisationKind.UNIVERSITY])
        with pytest.raises(Conflict, match="University"):
            ledger.grant_voucher(for_universities, organisation, amount=10, by=operator, today=TODAY)
        closed = scheme(valid_until=date(2026, 6, 30))
        with pytest.raises(Conflict, match="not open"):
            ledger.grant_voucher(closed, organisation, amount=10, by=operator, today=TODAY)
        with pytest.raises(NotAllowed):
            ledger.grant_voucher(scheme(), organisation, amount=10, by=UserFactory(), today=TODAY)
        assert not Voucher.objects.exists()

    def test_the_ledger_is_append_only(self, operator, org_allocation):
        organisation, _ = org_allocation
        voucher = ledger.grant_voucher(scheme(), organisation, amount=100, by=operator, today=TODAY)
        entry = voucher.entries.get()
        entry.amount = Decimal("1000000")
        with pytest.raises(ValueError):
            entry.save()
        with pytest.raises(ValueError):
            entry.delete()


@pytest.mark.django_db
class TestSettlement:
    def test_one_scheme_pays_its_ratio_and_the_organisation_the_rest(
        self, operator, org_allocation, django_capture_on_commit_callbacks
    ):
        organisation, allocation = org_allocation
        voucher = ledger.grant_voucher(
            scheme(), organisation, amount=1000, by=operator, today=date(2026, 9, 1)
        )
        card_hours(allocation, Decimal("10.5"))  # 10.5 card-hours x 8.50 = 89.25 yuan
        with django_capture_on_commit_callbacks(execute=True):
            result = ledger.settle_month(LAST_MONTH, today=TODAY)
        settlement = Settlement.objects.get()
        assert (settlement.units, settlement.cost) == (Decimal("10.5000"), Decimal("89.25"))
        assert settlement.subsidy == Decimal("26.78")  # 30 % of 89.25 = 26.775, rounded half up
        assert settlement.payable == Decimal("62.47")
        assert voucher.balance() == Decimal("973.22")
        assert (result.settled, result.cost, result.subsidy) == (1, Decimal("89.25"), Decimal("26.78"))
        redemption = voucher.entries.get(kind=EntryKind.REDEMPTION)
        assert (redemption.amount, redemption.settlement) == (Decimal("-26.78"), settlement)
        assert any("2026-10" in m.subject for m in mail.outbox)

    def test_schemes_stack_city_first_up_to_the_configured_total(self, operator, org_allocation):
        organisation, allocation = org_allocation
        start = date(2026, 9, 1)
        city = ledger.grant_voucher(
            scheme(subsidy_ratio=Decimal("0.6")), organisation, amount=1000, by=operator, today=start
        )
        district = ledger.grant_voucher(
            scheme(name_en="District", issuer=Issuer.DISTRICT, subsidy_ratio=Decimal("0.6")),
            organisation,
            amount=1000,
            by=operator,
            today=start,
        )
        card_hours(allocation, 20)  # 170.00 yuan
        with override_settings(VOUCHER_MAX_STACKED_RATIO=0.8):
            ledger.settle_month(LAST_MONTH, today=TODAY)
        settlement = Settlement.objects.get()
        assert city.balance() == Decimal("898.00")  # 60 % of 170
        assert district.balance() == Decimal("966.00")  # the 20 % left of the 80 % total
        assert (settlement.subsidy, settlement.payable) == (Decimal("136.00"), Decimal("34.00"))

    def test_stacking_to_a_full_subsidy_leaves_nothing_to_pay(self, operator, org_allocation):
        organisation, allocation = org_allocation
        start = date(2026, 9, 1)
        for issuer in (Issuer.CITY, Issuer.DISTRICT):
            ledger.grant_voucher(
                scheme(issuer=issuer, subsidy_ratio=Decimal("0.5")),
                organisation,
                amount=1000,
                by=operator,
                today=start,
            )
        card_hours(allocation, Decimal("0.01"))  # 0.085 -> 0.09 yuan: two halves of 0.045 round to 0.05 each
        ledger.settle_month(LAST_MONTH, today=TODAY)
        settlement = Settlement.objects.get()
        assert (settlement.cost, settlement.subsidy, settlement.payable) == (
            Decimal("0.09"),
            Decimal("0.09"),
            Decimal("0.00"),
        )

    def test_a_voucher_pays_what_it_has_left_and_no_more(self, operator, org_allocation):
        organisation, allocation = org_allocation
        voucher = ledger.grant_voucher(
            scheme(subsidy_ratio=Decimal("1")), organisation, amount="50", by=operator, today=date(2026, 9, 1)
        )
        card_hours(allocation, 10)  # 85.00 yuan
        ledger.settle_month(LAST_MONTH, today=TODAY)
        settlement = Settlement.objects.get()
        assert (settlement.subsidy, settlement.payable) == (Decimal("50.00"), Decimal("35.00"))
        assert voucher.balance() == Decimal("0.00")

    def test_earliest_expiry_is_used_first_within_a_scheme(self, operator, org_allocation):
        organisation, allocation = org_allocation
        city = scheme(subsidy_ratio=Decimal("1"), voucher_validity_days=400)
        later = ledger.grant_voucher(city, organisation, amount=100, by=operator, today=date(2026, 9, 1))
        city.voucher_validity_days = 90
        city.save()
        sooner = ledger.grant_voucher(city, organisation, amount=30, by=operator, today=date(2026, 9, 2))
        card_hours(allocation, 10)  # 85.00
        ledger.settle_month(LAST_MONTH, today=TODAY)
        assert sooner.balance() == Decimal("0.00")
        assert later.balance() == Decimal("45.00")

    def test_a_scheme_for_another_partition_pays_nothing(self, operator, org_allocation):
        organisation, allocation = org_allocation
        cpu = PartitionFactory(slug="cpu", tres="cpu", unit="core_hour")
        only_cpu = scheme()
        only_cpu.eligible_partitions.add(cpu)
        voucher = ledger.grant_voucher(
            only_cpu, organisation, amount=100, by=operator, today=date(2026, 9, 1)
        )
        card_hours(allocation, 10)
        ledger.settle_month(LAST_MONTH, today=TODAY)
        assert Settlement.objects.get().subsidy == Decimal("0.00")
        assert voucher.balance() == Decimal("100.00")

    def test_settling_twice_changes_nothing_and_an_open_month_is_refused(self, operator, org_allocation):
        organisation, allocation = org_allocation
        voucher = ledger.grant_voucher(
            scheme(), organisation, amount=1000, by=operator, today=date(2026, 9, 1)
        )
        card_hours(allocation, 10)
        ledger.settle_month(LAST_MONTH, today=TODAY)
        again = ledger.settle_month(LAST_MONTH, today=TODAY)
        assert (again.settled, again.already) == (0, 1)
        assert Settlement.objects.count() == 1 and voucher.entries.count() == 2
        with pytest.raises(DomainError, match="ended"):
            ledger.settle_month(date(2026, 11, 1), today=TODAY)

    def test_usage_of_other_months_is_not_settled_with_this_one(self, operator, org_allocation):
        _, allocation = org_allocation
        card_hours(allocation, 10, day=date(2026, 10, 31))
        card_hours(allocation, 7, day=date(2026, 11, 1), job_id="2")
        ledger.settle_month(LAST_MONTH, today=TODAY)
        assert Settlement.objects.get().units == Decimal("10.0000")

    def test_the_statement_adds_up(self, operator, org_allocation):
        organisation, allocation = org_allocation
        voucher = ledger.grant_voucher(
            scheme(), organisation, amount=1000, by=operator, today=date(2026, 9, 1)
        )
        card_hours(allocation, 10)
        ledger.settle_month(LAST_MONTH, today=TODAY)
        report = statements.statement(organisation, date(2026, 10, 17))
        assert (report.cost, report.subsidy, report.payable) == (
            Decimal("85.00"),
            Decimal("25.50"),
            Decimal("59.50"),
        )
        assert [r.amount for r in report.redemptions] == [Decimal("-25.50")]
        assert report.vouchers == [(voucher, Decimal("974.50"))]


@pytest.mark.django_db
class TestExpiryAndReversal:
    def test_what_is_left_expires_once_its_last_month_is_settled(self, operator, org_allocation):
        organisation, allocation = org_allocation
        short = scheme(voucher_validity_days=30)
        voucher = ledger.grant_voucher(short, organisation, amount=100, by=operator, today=date(2026, 10, 1))
        assert voucher.expires_on == date(2026, 10, 30)
        card_hours(allocation, 10)  # 85.00, 30 % = 25.50
        result = ledger.settle_month(LAST_MONTH, today=TODAY)
        assert result.expired == 1
        kinds = list(voucher.entries.order_by("pk").values_list("kind", "amount"))
        assert kinds == [
            (EntryKind.GRANT, Decimal("100.00")),
            (EntryKind.REDEMPTION, Decimal("-25.50")),
            (EntryKind.EXPIRY, Decimal("-74.50")),
        ]
        assert voucher.balance() == Decimal("0.00")
        assert AuditEvent.objects.filter(action="voucher.expire", target_id=str(voucher.pk)).exists()

    def test_a_reversal_takes_what_is_left_once_and_needs_a_reason(self, operator, org_allocation):
        organisation, _ = org_allocation
        voucher = ledger.grant_voucher(scheme(), organisation, amount=300, by=operator, today=TODAY)
        with pytest.raises(DomainError):
            ledger.reverse_voucher(voucher, by=operator, reason="  ")
        with pytest.raises(NotAllowed):
            ledger.reverse_voucher(voucher, by=UserFactory(), reason="no")
        ledger.reverse_voucher(voucher, by=operator, reason="Granted to the wrong organisation.")
        assert voucher.balance() == Decimal("0.00")
        with pytest.raises(Conflict):
            ledger.reverse_voucher(voucher, by=operator, reason="again")
        assert voucher.entries.count() == 2


@pytest.mark.django_db
def test_the_settle_task_refuses_a_malformed_month_and_settles_a_given_one(operator, org_allocation):
    organisation, allocation = org_allocation
    card_hours(allocation, 2)
    assert settle_usage_task("2026-13") == 0
    assert settle_usage_task("last month") == 0
    assert not Settlement.objects.exists()
    assert settle_usage_task("2026-10") == 1
    assert Settlement.objects.get().cost == Decimal("17.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_settlements_never_spend_a_voucher_twice():
    """Two allocations of one organisation settled at the same moment share a voucher that cannot pay both."""
    assert connection.vendor == "postgresql", "the test suite runs on PostgreSQL (scripts/test.sh)"
    operator = make_operator()
    owner = UserFactory()
    first = make_allocation(owner, amount=1000, username="alice")
    second = make_allocation(owner, first.organisation, amount=1000, username="bob")
    voucher = ledger.grant_voucher(
        scheme(subsidy_ratio=Decimal("1")),
        first.organisation,
        amount=100,
        by=operator,
        today=date(2026, 9, 1),
    )
    card_hours(first, 10, job_id="1")  # 85.00 each: together 170.00 against a balance of 100.00
    card_hours(second, 10, job_id="2")
    barrier = threading.Barrier(2)
    errors = []

    def settle(allocation_id):
        try:
            barrier.wait()
            ledger.settle_allocation_month(allocation_id, LAST_MONTH)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=settle, args=(a.pk,)) for a in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert voucher.balance() == Decimal("0.00")
    settlements = list(Settlement.objects.order_by("pk"))
    assert sum(s.subsidy for s in settlements) == Decimal("100.00")
    assert sorted(s.subsidy for s in settlements) == [Decimal("15.00"), Decimal("85.00")]
    assert all(s.cost == s.subsidy + s.payable for s in settlements)


def _small_enterprise(owner, **fields):
    return make_verified_organisation(owner, size=EnterpriseSize.SMALL, **fields)


@pytest.mark.django_db
class TestApplications:
    def test_a_small_enterprise_applies_and_an_operator_grants_a_smaller_amount(self, operator):
        owner = UserFactory()
        organisation = _small_enterprise(owner)
        small_only = scheme(small_enterprises_only=True)
        application = applications.apply_for_voucher(
            small_only, organisation, by=owner, amount="20000", statement="Fine-tune a triage model."
        )
        approved = applications.approve_voucher_application(application, by=operator, amount="15000")
        assert approved.status == "approved" and approved.voucher.balance() == Decimal("15000.00")
        assert approved.voucher.source == "application"
        # Approving again (a double click) grants nothing more.
        applications.approve_voucher_application(application, by=operator)
        assert Voucher.objects.count() == 1
        assert AuditEvent.objects.filter(action="voucher_application.approve").count() == 1

    def test_large_enterprises_and_non_managers_cannot_apply_to_a_small_enterprise_scheme(self, operator):
        owner = UserFactory()
        large = make_verified_organisation(owner, size=EnterpriseSize.LARGE)
        small_only = scheme(small_enterprises_only=True)
        with pytest.raises(Conflict, match="small and micro"):
            applications.apply_for_voucher(small_only, large, by=owner, amount=100, statement="x")
        small = _small_enterprise(UserFactory())
        with pytest.raises(NotAllowed):
            applications.apply_for_voucher(small_only, small, by=owner, amount=100, statement="x")
        assert not VoucherApplication.objects.exists()

    def test_a_rejection_needs_a_reason_and_mails_it(self, operator, django_capture_on_commit_callbacks):
        owner = UserFactory()
        organisation = _small_enterprise(owner)
        application = applications.apply_for_voucher(
            scheme(), organisation, by=owner, amount=100, statement="x"
        )
        with pytest.raises(DomainError):
            applications.reject_voucher_application(application, by=operator, reason=" ")
        with django_capture_on_commit_callbacks(execute=True):
            applications.reject_voucher_application(application, by=operator, reason="The budget is spent.")
        assert "The budget is spent." in mail.outbox[-1].body
        with pytest.raises(InvalidTransition):  # decided: no second decision
            applications.approve_voucher_application(application, by=operator)
        assert not Voucher.objects.exists()

    def test_one_open_application_per_scheme(self, operator):
        owner = UserFactory()
        organisation = _small_enterprise(owner)
        city = scheme()
        applications.apply_for_voucher(city, organisation, by=owner, amount=100, statement="x")
        with pytest.raises(Conflict, match="already"):
            applications.apply_for_voucher(city, organisation, by=owner, amount=200, statement="y")


@pytest.mark.django_db
def test_an_accepted_incubation_application_brings_its_programme_s_voucher(operator):
    incubation = scheme(for_incubated_projects=True, subsidy_ratio=Decimal("1"))
    programme = make_programme(voucher_amount=Decimal("30000"))
    application = accepted(call=make_call(programme))
    voucher = Voucher.objects.get(project=application.project)
    assert (voucher.scheme, voucher.amount, voucher.source) == (incubation, Decimal("30000.00"), "incubation")
    assert voucher.organisation == application.organisation
    assert list(applications.projects_waiting_for_vouchers()) == []


@pytest.mark.django_db
def test_without_a_scheme_the_project_waits_for_its_voucher(operator):
    programme = make_programme(voucher_amount=Decimal("30000"))
    application = accepted(call=make_call(programme))
    assert not Voucher.objects.exists()
    assert list(applications.projects_waiting_for_vouchers()) == [application.project]
