from datetime import timedelta
from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from compute.backends.base import ClusterError, JobRecord
from compute.backends.fake import FakeBackend
from compute.identities.models import ClusterIdentity
from compute.models import Allocation, AllocationStatus, QuotaRequest, RequestKind, RequestStatus
from compute.services import allocations as allocation_services
from compute.services import capacity as capacity_services
from compute.services import requests as request_services
from compute.tasks import sync_allocation_task
from core.exceptions import DomainError, InvalidTransition, NotAllowed
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, make_organisation, make_verified_organisation
from tests.compute.factories import (
    PartitionFactory,
    give_identity,
    make_allocation,
    make_quota_request,
    request_fields,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def request_kwargs(owner, **overrides):
    """A request over the next 30 days (the partition's monthly capacity)."""
    return request_fields(owner, **{"end_date": TODAY() + timedelta(days=30), **overrides})


# --- filing requests ---------------------------------------------------------------------------------


def test_draft_submit_and_audit(user):
    org = make_verified_organisation(user)
    request = request_services.create_quota_request(org, by=user, **request_kwargs(user))
    assert request.status == RequestStatus.DRAFT
    assert request.cost_estimate == Decimal("850.00")
    request_services.submit_quota_request(request, by=user)
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED and request.submitted_at
    actions = list(
        AuditEvent.objects.filter(
            target_id=str(request.pk), platform="compute", action__startswith="quota_request."
        ).values_list("action", flat=True)
    )
    assert sorted(actions) == ["quota_request.create", "quota_request.submit"]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("-5")}, "amount"),
        ({"amount": Decimal("1e9")}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": Decimal("1.234")}, "amount"),
        ({"end_date": TODAY() - timedelta(days=1)}, "end_date"),
        ({"start_date": TODAY() - timedelta(days=3), "end_date": TODAY() + timedelta(days=3)}, "start_date"),
        ({"end_date": TODAY() + timedelta(days=400)}, "end_date"),
        ({"members": []}, "members"),
        ({"amount": Decimal("4000"), "end_date": TODAY() + timedelta(days=3)}, "amount"),  # over capacity
    ],
)
def test_bad_requests_are_refused_and_nothing_is_created(user, override, field):
    org = make_verified_organisation(user)
    with pytest.raises(ValidationError) as info:
        request_services.create_quota_request(org, by=user, **request_kwargs(user, **override))
    assert field in info.value.message_dict
    assert not QuotaRequest.objects.exists()


@pytest.mark.parametrize("username", ["Root", "9lives", "a" * 33, "bad name", "ü", "", "x;rm"])
def test_a_typed_cluster_username_is_ignored_the_identity_is_copied(user, username):
    org = make_verified_organisation(user)
    give_identity(user, "alice")
    request = request_services.create_quota_request(
        org, by=user, **request_kwargs(user, members=[request_services.MemberAccess(user, username)])
    )
    assert list(request.members.values_list("cluster_username", flat=True)) == ["alice"]


def test_members_must_belong_and_get_distinct_usernames(user):
    org = make_verified_organisation(user)
    stranger = UserFactory()
    first = add_member(org, UserFactory(email="same@example.cn")).user
    second = add_member(org, UserFactory(email="same@other.cn")).user
    with pytest.raises(ValidationError):
        request_services.create_quota_request(
            org, by=user, **request_kwargs(user, members=[request_services.MemberAccess(stranger)])
        )
    assert not QuotaRequest.objects.exists()
    request = request_services.create_quota_request(
        org,
        by=user,
        **request_kwargs(
            user, members=[request_services.MemberAccess(first), request_services.MemberAccess(second)]
        ),
    )
    # Two people whose addresses give the same name get distinct ones; nobody has an identity yet.
    assert sorted(request.members.values_list("cluster_username", flat=True)) == ["same", "same1"]
    assert not ClusterIdentity.objects.filter(user__in=[first, second]).exists()


def test_only_verified_organisations_and_their_managers(user):
    unverified = make_organisation(user)
    with pytest.raises(NotAllowed):
        request_services.create_quota_request(unverified, by=user, **request_kwargs(user))
    org = make_verified_organisation(user)
    member = UserFactory()
    add_member(org, member)
    with pytest.raises(NotAllowed):
        request_services.create_quota_request(org, by=member, **request_kwargs(member))
    assert not QuotaRequest.objects.exists()


def test_changes_requested_then_resubmitted(user, operator):
    request = make_quota_request(user)
    with pytest.raises(InvalidTransition):
        request_services.request_quota_changes(request, by=operator, reason="")
    request_services.request_quota_changes(request, by=operator, reason="Explain the model size.")
    request_services.update_quota_request(request, by=user, justification="A 7B model, 8 cards, two weeks.")
    request_services.submit_quota_request(request, by=user)
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED
    assert request.justification.startswith("A 7B model")


def test_withdraw(user):
    request = make_quota_request(user)
    request_services.withdraw_quota_request(request, by=user)
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN
    with pytest.raises(InvalidTransition):
        request_services.submit_quota_request(request, by=user)


# --- decisions and the cluster -------------------------------------------------------------------------


def test_approval_provisions_the_cluster_once(user, operator, django_capture_on_commit_callbacks):
    request = make_quota_request(user, amount=Decimal("100"))
    with django_capture_on_commit_callbacks(execute=True):
        request_services.approve_quota_request(request, by=operator, granted_amount=Decimal("80"))
    allocation = Allocation.objects.get()
    assert allocation.status == AllocationStatus.ACTIVE  # the eager task converged the fake cluster
    assert allocation.account_name == f"aicc_{allocation.pk:06d}"
    state = FakeBackend().read_account(allocation.account_name)
    assert state.users == frozenset({"alice"}) and state.limits == {"billing": 4800} and not state.blocked
    # Running the task again changes nothing on the cluster.
    assert FakeBackend().converge(allocation.desired_account()) == []
    allocation_services.sync_allocation(allocation.pk, backend=FakeBackend())
    assert FakeBackend().read_account(allocation.account_name) == state
    # Decision mail with what to do next.
    decision = [m for m in mail.outbox if "approved" in m.subject]
    assert decision and decision[0].to == [user.email] and "80" in decision[0].body
    # A second approval of the same request is refused; still one allocation.
    with pytest.raises(InvalidTransition):
        request_services.approve_quota_request(request, by=operator)
    assert Allocation.objects.count() == 1


def test_operator_may_grant_less_never_more(user, operator):
    request = make_quota_request(user, amount=Decimal("100"))
    for bad in (Decimal("101"), Decimal("0"), Decimal("-1"), "abc", Decimal("1.001")):
        with pytest.raises(ValidationError) as info:
            request_services.approve_quota_request(request, by=operator, granted_amount=bad)
        assert "granted_amount" in info.value.message_dict
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED


def test_rejection_needs_reason_and_members_cannot_decide(user, operator):
    request = make_quota_request(user)
    with pytest.raises(NotAllowed):
        request_services.approve_quota_request(request, by=user)
    with pytest.raises(InvalidTransition):
        request_services.reject_quota_request(request, by=operator, reason="  ")
    request_services.reject_quota_request(
        request, by=operator, reason="Capacity reserved for the incubation programme."
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    assert not Allocation.objects.exists()


def test_cluster_down_is_recorded_retried_and_converges(user, operator):
    request = make_quota_request(user)
    request_services.approve_quota_request(request, by=operator)
    allocation = request.created_allocation
    FakeBackend.fail_next(2)
    for _ in range(2):
        with pytest.raises(ClusterError):
            allocation_services.sync_allocation(allocation.pk, backend=FakeBackend())
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.PROVISIONING
    assert "not reachable" in allocation.sync_error and allocation.sync_attempts == 2
    allocation_services.sync_allocation(allocation.pk, backend=FakeBackend())
    allocation.refresh_from_db()
    assert (
        allocation.status == AllocationStatus.ACTIVE
        and allocation.sync_error == ""
        and allocation.sync_attempts == 0
    )


def test_sync_task_retries_cluster_errors(user, operator, settings):

    request = make_quota_request(user)
    request_services.approve_quota_request(request, by=operator)
    allocation = request.created_allocation

    FakeBackend.fail_next(1)
    # The cluster error is retried (autoretry with backoff), recorded on the allocation meanwhile.
    with pytest.raises(Retry):
        sync_allocation_task.apply(args=[allocation.pk])
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.PROVISIONING and allocation.sync_error
    sync_allocation_task.apply(args=[allocation.pk])
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.ACTIVE
    assert FakeBackend().read_account(allocation.account_name) is not None


def test_sync_task_ignores_bad_arguments(db):

    sync_allocation_task.apply(args=["not-an-id"])
    sync_allocation_task.apply(args=[999999])
    assert FakeBackend.calls == []


def test_increase_extension_and_early_close(user, operator, django_capture_on_commit_callbacks):
    allocation = make_allocation(user, amount=Decimal("100"))
    org = allocation.organisation
    with django_capture_on_commit_callbacks(execute=True):
        inc = request_services.create_quota_request(
            org,
            by=user,
            **request_kwargs(
                user, kind=RequestKind.INCREASE, allocation=allocation, amount=Decimal("50"), members=[]
            ),
        )
        request_services.submit_quota_request(inc, by=user)
        request_services.approve_quota_request(inc, by=operator)
    allocation.refresh_from_db()
    assert allocation.granted_amount == Decimal("150")
    assert FakeBackend().read_account(allocation.account_name).limits == {"billing": 9000}

    new_end = allocation.end_date + timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        ext = request_services.create_quota_request(
            org,
            by=user,
            **request_kwargs(
                user,
                kind=RequestKind.EXTENSION,
                allocation=allocation,
                amount=0,
                end_date=new_end,
                members=[],
            ),
        )
        request_services.submit_quota_request(ext, by=user)
        request_services.approve_quota_request(ext, by=operator)
    allocation.refresh_from_db()
    assert allocation.end_date == new_end

    with django_capture_on_commit_callbacks(execute=True):
        close = request_services.create_quota_request(
            org,
            by=user,
            **request_kwargs(user, kind=RequestKind.EARLY_CLOSE, allocation=allocation, amount=0, members=[]),
        )
        request_services.submit_quota_request(close, by=user)
        request_services.approve_quota_request(close, by=operator)
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.CLOSED
    assert FakeBackend().read_account(allocation.account_name) is None


def test_suspend_blocks_new_jobs_and_resume_unblocks(user, operator, django_capture_on_commit_callbacks):
    allocation = make_allocation(user)
    with pytest.raises(DomainError):
        allocation_services.suspend_allocation(allocation, by=operator, reason="")
    with pytest.raises(NotAllowed):
        allocation_services.suspend_allocation(allocation, by=user, reason="x")
    with django_capture_on_commit_callbacks(execute=True):
        allocation_services.suspend_allocation(allocation, by=operator, reason="Unpaid invoice")
    assert FakeBackend().read_account(allocation.account_name).blocked
    with django_capture_on_commit_callbacks(execute=True):
        allocation_services.resume_allocation(allocation, by=operator)
    assert not FakeBackend().read_account(allocation.account_name).blocked
    statuses = list(
        AuditEvent.objects.filter(
            target_id=str(allocation.pk), action__in=["allocation.suspended", "allocation.active"]
        )
        .order_by("id")
        .values_list("action", "changes")
    )
    assert statuses == [
        ("allocation.suspended", {"status": {"from": "active", "to": "suspended"}}),
        ("allocation.active", {"status": {"from": "suspended", "to": "active"}}),
    ]


def test_close_waits_for_running_jobs(user, operator, django_capture_on_commit_callbacks):

    allocation = make_allocation(user)
    FakeBackend().add_job(
        JobRecord(
            "77",
            "fake",
            allocation.account_name,
            "alice",
            "debug",
            "RUNNING",
            None,
            timezone.now(),
            None,
            60,
            {"billing": 1, "gres/npu": 1},
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        allocation_services.close_allocation(allocation, by=user)
    state = FakeBackend().read_account(allocation.account_name)
    assert state is not None and state.blocked  # blocked, not deleted: the running job finishes
    FakeBackend.reset()
    FakeBackend().converge(allocation.desired_account())
    allocation_services.sync_allocation(allocation.pk, backend=FakeBackend())
    assert FakeBackend().read_account(allocation.account_name) is None


def test_expiry_is_checked_daily_through_the_close_service(
    user, operator, settings, django_capture_on_commit_callbacks
):
    allocation = make_allocation(user)
    Allocation.objects.filter(pk=allocation.pk).update(
        start_date=TODAY() - timedelta(days=30), end_date=TODAY() - timedelta(days=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert allocation_services.expire_due_allocations() == 1
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.EXPIRED
    assert FakeBackend().read_account(allocation.account_name).blocked
    later = TODAY() + timedelta(days=settings.ALLOCATION_CLOSE_AFTER_DAYS)
    with django_capture_on_commit_callbacks(execute=True):
        allocation_services.expire_due_allocations(today=later)
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.CLOSED
    assert FakeBackend().read_account(allocation.account_name) is None


def test_capacity_left_counts_overlapping_grants(user):
    partition = PartitionFactory(capacity_per_month=3000)
    start, end = TODAY(), TODAY() + timedelta(days=30)
    assert capacity_services.capacity_left(partition, start, end) == Decimal("3000.00")
    make_allocation(user, partition=partition, amount=Decimal("1000"), start_date=start, end_date=end)
    assert capacity_services.capacity_left(partition, start, end) == Decimal("2000.00")
    overview = {c.partition.pk: c for c in capacity_services.capacity_overview(start, end)}
    assert overview[partition.pk].granted == Decimal("1000.00")


def test_approval_rechecks_capacity(user, operator):
    partition = PartitionFactory(capacity_per_month=Decimal("3000"), max_request=Decimal("3000"))
    month = {"start_date": TODAY(), "end_date": TODAY() + timedelta(days=30)}  # capacity 3000 for it
    first = make_quota_request(user, partition=partition, amount=Decimal("2000"), username="a1", **month)
    second = make_quota_request(
        UserFactory(), partition=partition, amount=Decimal("2000"), username="b1", **month
    )
    request_services.approve_quota_request(first, by=operator)
    with pytest.raises(ValidationError) as info:
        request_services.approve_quota_request(second, by=operator)
    assert "granted_amount" in info.value.message_dict
    request_services.approve_quota_request(second, by=operator, granted_amount=Decimal("900"))
    assert Allocation.objects.count() == 2


def test_supervisors_change_nothing_even_in_their_own_organisation(supervisor):
    with pytest.raises(NotAllowed):
        make_quota_request(supervisor)
    assert not QuotaRequest.objects.exists()


def test_the_same_person_twice_is_a_field_error(user):
    org = make_verified_organisation(user)
    with pytest.raises(ValidationError) as info:
        request_services.create_quota_request(
            org,
            by=user,
            **request_kwargs(
                user,
                members=[
                    request_services.MemberAccess(user),
                    request_services.MemberAccess(user),
                ],
            ),
        )
    assert "members" in info.value.message_dict


# --- the pipelines keep their wording (core.states underneath) -----------------------------------------


def test_request_moves_and_decisions_keep_their_messages(user, operator):
    request = make_quota_request(user)
    with pytest.raises(InvalidTransition, match="A rejection needs a reason the organisation can act on."):
        request_services.reject_quota_request(request, by=operator, reason="  ")
    with pytest.raises(InvalidTransition, match="Say what should change."):
        request_services.request_quota_changes(request, by=operator, reason="")
    request_services.withdraw_quota_request(request, by=user)
    with pytest.raises(InvalidTransition, match="A request cannot go from “Withdrawn” to “Submitted”."):
        request_services.submit_quota_request(request, by=user)


def test_a_rejection_without_reason_is_refused_by_the_database(user):
    request = make_quota_request(user)
    with pytest.raises(IntegrityError), transaction.atomic():
        QuotaRequest.objects.filter(pk=request.pk).update(status=RequestStatus.REJECTED)


def test_allocation_moves_stamp_their_time_and_keep_their_message(user, operator):
    allocation = make_allocation(user)
    before = allocation.status_changed_at
    allocation = allocation_services.suspend_allocation(allocation, by=operator, reason="Unpaid invoice")
    assert allocation.status == AllocationStatus.SUSPENDED and allocation.status_changed_at > before
    event = AuditEvent.objects.filter(action="allocation.suspended").get()
    assert (
        event.changes["status"] == {"from": "active", "to": "suspended"} and event.reason == "Unpaid invoice"
    )
    allocation_services.close_allocation(allocation, by=operator)
    with pytest.raises(InvalidTransition, match="An allocation cannot go from “Closed” to “Suspended”."):
        allocation_services.suspend_allocation(allocation, by=operator, reason="Again")
