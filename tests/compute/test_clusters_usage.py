"""Reconcile compares each allocation's usage in the portal with what the scheduler counts against its limit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from compute import usage
from compute.backends.fake import FakeBackend
from compute.models import Allocation
from core.roles import is_operator
from tests.compute.factories import job_record, make_allocation

pytestmark = pytest.mark.django_db


@pytest.fixture
def allocation(user):
    """100 card-hours with 2 card-hours used and ingested; the scheduler agrees."""
    allocation = make_allocation(user, amount=Decimal("100"))
    FakeBackend().add_job(job_record(allocation, 1, cards=2, minutes=60))
    usage.ingest_usage(backend=FakeBackend())
    allocation.refresh_from_db()
    assert allocation.used_amount == Decimal("2")
    return allocation


def usage_findings(run) -> list[dict]:
    return [f for f in run.findings if f["kind"] == "usage_differs"]


def test_the_scheduler_agreeing_with_the_portal_is_no_finding(allocation):
    run = usage.reconcile()

    assert (run.error, run.findings) == ("", [])


def test_a_difference_is_reported_with_both_figures_and_mailed_to_the_operators(
    allocation, operator, user, django_capture_on_commit_callbacks
):
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 600})  # 10 card-hours

    with django_capture_on_commit_callbacks(execute=True):
        run = usage.reconcile()

    assert usage_findings(run) == [
        {
            "kind": "usage_differs",
            "cluster": "fake",
            "account": allocation.account_name,
            "allocation": allocation.pk,
            "expected": "2.00",  # the portal
            "observed": "10.00",  # the scheduler
            "difference": "8.00",
            "unit": "card_hour",
            "repaired": False,
        }
    ]
    [message] = mail.outbox
    assert operator.email in message.to and user.email not in message.to
    assert all(is_operator(person) for person in User.objects.filter(email__in=message.to))
    assert "Usage differs between the portal and the cluster for 1 allocation" in message.subject
    body = message.body
    assert f"{allocation.account_name} on cluster fake: portal 2.00, scheduler 10.00, difference 8.00" in body
    assert "http://testserver/compute/operator/reconcile/" in body


def test_a_difference_is_mailed_once_and_stays_on_the_drift_page(
    allocation, operator, django_capture_on_commit_callbacks
):
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 600})
    with django_capture_on_commit_callbacks(execute=True):
        usage.reconcile()
    with django_capture_on_commit_callbacks(execute=True):
        again = usage.reconcile()

    assert len(usage_findings(again)) == 1
    assert len(mail.outbox) == 1


def test_usage_reset_on_the_scheduler_is_a_negative_difference(allocation):
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 0})  # sacctmgr ... set RawUsage=0

    [finding] = usage_findings(usage.reconcile())

    assert (finding["expected"], finding["observed"], finding["difference"]) == ("2.00", "0.00", "-2.00")


@pytest.mark.parametrize(
    ("minutes", "reported"),
    [
        (2 * 60 + 54, False),  # 0.9 card-hour more: under the one-unit tolerance
        (3 * 60 + 6, True),  # 1.1 card-hours more
        (54, True),  # 1.1 card-hours less
    ],
)
def test_a_difference_within_the_tolerance_is_not_reported(allocation, minutes, reported):
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": minutes})

    assert bool(usage_findings(usage.reconcile())) is reported


def test_the_percent_tolerance_applies_to_large_figures(user, settings):
    settings.USAGE_DRIFT_TOLERANCE_PERCENT = 2
    allocation = make_allocation(user, amount=Decimal("1000"))
    FakeBackend().add_job(job_record(allocation, 1, cards=100, minutes=300))  # 500 card-hours
    usage.ingest_usage(backend=FakeBackend())

    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 509 * 60})  # 1.8 % more
    assert usage_findings(usage.reconcile()) == []
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 512 * 60})  # 2.4 % more
    assert usage_findings(usage.reconcile())[0]["difference"] == "12.00"


def test_what_running_jobs_used_since_the_last_ingest_is_allowed_for(user):
    allocation = make_allocation(user, amount=Decimal("100"))
    # Running for 90 minutes on 4 cards; the portal ingested it after 30 minutes: 2 card-hours.
    FakeBackend().add_job(
        job_record(allocation, 1, cards=4, minutes=30, state="RUNNING", ago=timedelta(minutes=90))
    )
    usage.ingest_usage(backend=FakeBackend())
    # The scheduler has counted the 90 minutes: 6 card-hours, 4 of them not ingested yet.
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 6 * 60})
    assert usage_findings(usage.reconcile()) == []
    # More than the running job can explain is reported.
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 8 * 60})
    assert usage_findings(usage.reconcile())[0]["difference"] == "6.00"


def test_an_account_missing_on_the_cluster_has_no_usage_to_compare(user):
    allocation = make_allocation(user, amount=Decimal("100"))
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 600})
    FakeBackend().remove_account(allocation.account_name)  # gone from the cluster: reported as missing

    run = usage.reconcile(repair=False)

    assert [f["kind"] for f in run.findings] == ["missing_account"]


def test_the_drift_page_shows_the_figures(client, allocation, operator, mfa):
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 600})
    usage.reconcile()
    client.force_login(mfa(operator))

    html = client.get(reverse("compute:reconcile_report")).content.decode()

    assert "Usage differs from the scheduler&#x27;s" in html
    assert "<code>2.00</code> card-hour" in html and "<code>10.00</code> card-hour" in html
    assert "difference 8.00 card-hour" in html
    assert "reported only" in html


def test_the_api_gives_the_figures_to_operators_and_supervisors(
    api_client, allocation, operator, supervisor, mfa
):
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 600})
    usage.reconcile()

    api_client.force_authenticate(mfa(supervisor))
    [run] = api_client.get("/api/v1/reconcile-runs/").json()["results"]

    [finding] = [f for f in run["findings"] if f["kind"] == "usage_differs"]
    assert (finding["cluster"], finding["expected"], finding["observed"], finding["difference"]) == (
        "fake",
        "2.00",
        "10.00",
        "8.00",
    )
    assert finding["unit"] == "card_hour"


def test_usage_carried_over_from_before_the_billing_units_counts_on_both_sides(allocation):
    # The move to billing units carried 5 card-hours over and reset the scheduler's counter (migration 0006).
    Allocation.objects.filter(pk=allocation.pk).update(carried_amount=Decimal("5"), carried_at=timezone.now())
    usage.refresh_allocation_usage([allocation.pk])
    allocation.refresh_from_db()
    assert allocation.used_amount == Decimal("5")  # the job before the move is in the carried amount
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 0})

    assert usage_findings(usage.reconcile()) == []
    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 120})  # 2 card-hours since the move
    [finding] = usage_findings(usage.reconcile())
    assert (finding["expected"], finding["observed"], finding["difference"]) == ("5.00", "7.00", "2.00")
