"""Billing units per partition unit: Slurm rounds a job's billing down to a whole number, so production weighs
a card as many billing units as it has cores per card and the portal divides back."""

import dataclasses
from decimal import Decimal

import pytest

from accounts.models import Membership, MembershipRole
from compute import usage
from compute.backends.base import QueuedJob
from compute.backends.fake import FakeBackend
from compute.models import Job
from compute.services import members as member_services
from tests.accounts.factories import UserFactory
from tests.compute.factories import PartitionFactory, give_identity, job_record, make_allocation

pytestmark = pytest.mark.django_db


@pytest.fixture
def partition():
    """An accelerator partition whose weights are CPU=1, GRES/npu=24: one card is 24 billing units."""
    return PartitionFactory(slug="npu-24", slurm_partition="npu", billing_per_unit=24)


def test_the_limit_on_the_cluster_is_in_billing_units(user, partition):
    allocation = make_allocation(user, partition=partition, amount=Decimal("10"))

    state = FakeBackend().read_account(allocation.account_name)

    assert state.limits == {"billing": 10 * 60 * 24}
    assert partition.amount(state.limits["billing"]) == Decimal("10")


def test_a_one_core_job_is_billed_its_share_of_a_card(user, partition):
    allocation = make_allocation(user, partition=partition, amount=Decimal("10"))
    one_core = dataclasses.replace(job_record(allocation, 1, minutes=120), tres={"billing": 1, "cpu": 1})
    two_cards = dataclasses.replace(
        job_record(allocation, 2, minutes=60), tres={"billing": 48, "gres/npu": 2}
    )
    FakeBackend().add_job(one_core)
    FakeBackend().add_job(two_cards)

    usage.ingest_usage(backend=FakeBackend())

    units = dict(Job.objects.values_list("job_id", "units"))
    assert units == {"1": Decimal("0.0833"), "2": Decimal("2.0000")}  # 1/24 card for 2 h; 2 cards for 1 h
    allocation.refresh_from_db()
    assert allocation.used_amount == Decimal("2.0833")


def test_the_scheduler_s_count_is_compared_in_the_partition_s_unit(user, partition):
    allocation = make_allocation(user, partition=partition, amount=Decimal("10"))
    FakeBackend().add_job(dataclasses.replace(job_record(allocation, 1, minutes=60), tres={"billing": 48}))
    usage.ingest_usage(backend=FakeBackend())

    assert [f for f in usage.reconcile().findings if f["kind"] == "usage_differs"] == []

    FakeBackend.set_usage_by_hand(allocation.account_name, {"billing": 5 * 60 * 24})  # 5 card-hours
    (finding,) = [f for f in usage.reconcile().findings if f["kind"] == "usage_differs"]
    assert (finding["expected"], finding["observed"], finding["difference"]) == ("2.00", "5.00", "3.00")


def test_a_person_s_cap_is_set_in_billing_units(user, partition, django_capture_on_commit_callbacks):
    allocation = make_allocation(user, partition=partition, amount=Decimal("10"))
    member = allocation.members.get()

    with django_capture_on_commit_callbacks(execute=True):
        member_services.cap_allocation_member(member, by=user, limit_amount=Decimal("2.5"))

    state = FakeBackend().read_account(allocation.account_name)
    assert state.user_limits == {member.cluster_username: int(Decimal("2.5") * 60 * 24)}


def test_reconcile_lets_a_leaving_person_s_jobs_end_then_removes_them(
    user, partition, django_capture_on_commit_callbacks
):
    allocation = make_allocation(user, partition=partition, amount=Decimal("10"))
    colleague = UserFactory()
    Membership.objects.create(
        organisation=allocation.organisation, user=colleague, role=MembershipRole.MEMBER
    )
    give_identity(colleague, "bob")
    with django_capture_on_commit_callbacks(execute=True):
        member_services.add_allocation_member(allocation, by=user, user=colleague)
    FakeBackend().add_queued_job(allocation.account_name, QueuedJob("9", "bob", "npu", "RUNNING", "None"))
    with django_capture_on_commit_callbacks(execute=True):
        member_services.remove_allocation_member(allocation.members.current().get(user=colleague), by=user)

    state = FakeBackend().read_account(allocation.account_name)
    assert (state.active_users, state.blocked_users) == (frozenset({"alice"}), frozenset({"bob"}))
    kinds = [f["kind"] for f in usage.reconcile().findings]
    assert kinds == ["user_leaving"]  # not an unexpected user: the portal let them go
    assert "bob" in FakeBackend().read_account(allocation.account_name).users  # the job still runs

    FakeBackend.finish_queued(allocation.account_name)
    assert [f["kind"] for f in usage.reconcile().findings] == ["user_leaving"]
    assert FakeBackend().read_account(allocation.account_name).users == frozenset({"alice"})
    assert usage.reconcile().findings == []
