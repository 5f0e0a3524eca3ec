"""Dates kept on the cluster: an allocation approved for a later start is held blocked until its start
date and opened by the beat task; the end date blocks it; an extension moves the end on the cluster too."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compute.backends.fake import FakeBackend
from compute.models import Allocation, AllocationStatus, RequestKind
from compute.services import allocations as allocation_services
from compute.services import requests as request_services
from compute.tasks import sync_due_allocations_task
from core.models import AuditEvent
from tests.accounts.factories import an_operator
from tests.compute.factories import make_allocation

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def clock(monkeypatch):
    """Moves the portal's "today" (``timezone.localdate()``) without sleeping: ``clock(day)``."""
    original = timezone.localdate

    def move(day):
        monkeypatch.setattr(
            timezone, "localdate", lambda value=None, tz=None: day if value is None else original(value, tz)
        )

    return move


def later_allocation(user, *, starts_in=10, days=40):
    return make_allocation(
        user,
        start_date=TODAY() + timedelta(days=starts_in),
        end_date=TODAY() + timedelta(days=starts_in + days),
    )


def test_a_future_start_is_provisioned_blocked(user):
    allocation = later_allocation(user)
    state = FakeBackend().read_account(allocation.account_name)
    assert allocation.status == AllocationStatus.ACTIVE and allocation.provisioned_at
    assert state is not None and state.blocked
    assert state.users == {"alice"}  # people and limits are ready, only new jobs are refused
    assert allocation.opened_at is None and allocation.not_started
    assert allocation.desired_account().blocked


def test_an_allocation_starting_today_opens_at_once_without_an_open_event(user):
    allocation = make_allocation(user)
    assert not FakeBackend().read_account(allocation.account_name).blocked
    assert allocation.opened_at is not None and not allocation.not_started
    assert not AuditEvent.objects.filter(action="allocation.open").exists()


def test_the_beat_task_opens_it_on_its_start_date_once(user, clock):
    allocation = later_allocation(user, starts_in=10)
    assert sync_due_allocations_task.delay().get() == 0  # not yet
    assert FakeBackend().read_account(allocation.account_name).blocked

    clock(allocation.start_date)
    assert sync_due_allocations_task.delay().get() == 1
    allocation.refresh_from_db()
    assert not FakeBackend().read_account(allocation.account_name).blocked
    assert allocation.opened_at is not None and not allocation.not_started
    event = AuditEvent.objects.get(action="allocation.open", target_id=str(allocation.pk))
    assert event.changes == {"start_date": {"from": None, "to": str(allocation.start_date)}}

    assert sync_due_allocations_task.delay().get() == 0  # opened: nothing left to do, nothing recorded
    assert AuditEvent.objects.filter(action="allocation.open").count() == 1


def test_a_late_run_still_opens_it(user, clock):
    allocation = later_allocation(user, starts_in=3)
    clock(allocation.start_date + timedelta(days=2))  # the beat did not run for two days
    assert allocation_services.sync_due_allocations() == 1
    assert not FakeBackend().read_account(allocation.account_name).blocked


def test_a_cluster_that_does_not_answer_is_tried_again_by_the_next_run(user, clock):
    allocation = later_allocation(user, starts_in=1)
    clock(allocation.start_date)
    FakeBackend.fail_next(1)
    assert allocation_services.sync_due_allocations() == 0
    allocation.refresh_from_db()
    assert allocation.opened_at is None and allocation.sync_error
    assert FakeBackend().read_account(allocation.account_name).blocked
    assert allocation_services.sync_due_allocations() == 1
    assert not FakeBackend().read_account(allocation.account_name).blocked


def test_a_suspended_allocation_opens_on_paper_but_stays_blocked(user, clock):
    allocation = later_allocation(user, starts_in=1)
    allocation_services.suspend_allocation(allocation, by=an_operator(), reason="unpaid invoice")
    clock(allocation.start_date)
    allocation_services.sync_due_allocations()
    allocation.refresh_from_db()
    assert allocation.opened_at is not None
    assert FakeBackend().read_account(allocation.account_name).blocked  # suspended all the same


def test_the_end_date_blocks_it(user, clock, django_capture_on_commit_callbacks):
    allocation = make_allocation(user, end_date=TODAY() + timedelta(days=5))
    clock(allocation.end_date)
    with django_capture_on_commit_callbacks(execute=True):
        assert allocation_services.expire_due_allocations() == 1
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.EXPIRED
    assert FakeBackend().read_account(allocation.account_name).blocked


def extend(allocation, user, end_date):
    request = request_services.create_quota_request(
        allocation.organisation,
        by=user,
        kind=RequestKind.EXTENSION,
        allocation=allocation,
        partition=allocation.partition,
        amount=1,
        start_date=max(TODAY(), allocation.end_date),
        end_date=end_date,
        purpose="More time",
        justification="The training run needs another month.",
        members=[],
    )
    request_services.submit_quota_request(request, by=user)
    request_services.approve_quota_request(request, by=an_operator())
    allocation.refresh_from_db()
    return allocation


def test_an_extension_moves_the_end_on_the_cluster(user, clock, django_capture_on_commit_callbacks):
    allocation = make_allocation(user, end_date=TODAY() + timedelta(days=5))
    new_end = allocation.end_date + timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        allocation = extend(allocation, user, new_end)
    assert allocation.end_date == new_end
    clock(TODAY() + timedelta(days=5))
    assert allocation_services.expire_due_allocations() == 0  # the old end no longer blocks it
    assert not FakeBackend().read_account(allocation.account_name).blocked


def test_an_expired_allocation_reopens_when_extended(user, django_capture_on_commit_callbacks):
    allocation = make_allocation(user, end_date=TODAY() + timedelta(days=5))
    with django_capture_on_commit_callbacks(execute=True):
        allocation_services.expire_due_allocations(today=allocation.end_date)
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.EXPIRED
    assert FakeBackend().read_account(allocation.account_name).blocked

    with django_capture_on_commit_callbacks(execute=True):
        allocation = extend(allocation, user, allocation.end_date + timedelta(days=30))
    assert allocation.status == AllocationStatus.ACTIVE
    assert not FakeBackend().read_account(allocation.account_name).blocked  # the sync ran on approval
    change = AuditEvent.objects.filter(action="allocation.change", target_id=str(allocation.pk)).latest("pk")
    assert change.changes["status"] == {"from": "expired", "to": "active"}


def test_the_page_says_when_it_starts(client, user):
    allocation = later_allocation(user, starts_in=10)
    client.force_login(user)
    page = client.get(allocation.get_absolute_url()).content.decode()
    assert "Starts on" in page
    Allocation.objects.filter(pk=allocation.pk).update(start_date=TODAY())
    allocation_services.sync_due_allocations()
    assert "Starts on" not in client.get(allocation.get_absolute_url()).content.decode()
