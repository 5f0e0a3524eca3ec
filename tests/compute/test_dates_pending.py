"""A pending job's reason in words on the allocation's page, from the reasons Slurm gives."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compute.backends.base import QueuedJob
from compute.backends.fake import FakeBackend
from compute.models import Allocation, AllocationMember, AllocationStatus, Partition, Unit
from compute.services import pending
from tests.compute.factories import make_allocation

TODAY = timezone.localdate


def an_allocation(*, status=AllocationStatus.ACTIVE, start=None, opened=True, used="10", unit=Unit.CARD_HOUR):
    """An unsaved allocation: ``explain`` reads its status, dates and usage only."""
    return Allocation(
        partition=Partition(unit=unit),
        status=status,
        granted_amount=Decimal("100"),
        used_amount=Decimal(used),
        start_date=start or TODAY() - timedelta(days=1),
        end_date=TODAY() + timedelta(days=30),
        opened_at=timezone.now() if opened else None,
    )


@pytest.mark.parametrize(
    ("code", "allocation", "capped", "kind", "words"),
    [
        ("AssocGrpBillingMinutes", an_allocation(used="100"), False, pending.QUOTA_USED_UP, "quota used up"),
        ("AssocGrpCPUMinutes", an_allocation(used="100"), False, pending.QUOTA_USED_UP, "quota used up"),
        ("AssocGrpGRESMinutes", an_allocation(used="100"), True, pending.QUOTA_USED_UP, "quota used up"),
        (
            "AssocGrpBillingMinutes",
            an_allocation(),
            True,
            pending.SHARE_USED_UP,
            "this person's share is used up",
        ),
        ("AssocGrpBillingMinutes", an_allocation(), False, pending.QUOTA_USED_UP, "quota used up"),
        (
            "AssocGrpSubmitJobsLimit",
            an_allocation(start=TODAY() + timedelta(days=3), opened=False),
            False,
            pending.NOT_STARTED,
            "allocation not started",
        ),
        (
            "AssocGrpJobsLimit",
            an_allocation(start=TODAY() + timedelta(days=3), opened=False),
            False,
            pending.NOT_STARTED,
            "allocation not started",
        ),
        (
            "AssocMaxJobsLimit",
            an_allocation(status=AllocationStatus.SUSPENDED),
            False,
            pending.SUSPENDED,
            "suspended by an operator",
        ),
        (
            "AssocMaxSubmitJobLimit",
            an_allocation(status=AllocationStatus.EXPIRED),
            False,
            pending.ENDED,
            "allocation ended",
        ),
        ("AssocGrpJobsLimit", an_allocation(), False, pending.OTHER, "other"),
        ("Resources", an_allocation(), False, pending.WAITING_RESOURCES, "waiting for free cards"),
        (
            "Resources",
            an_allocation(unit=Unit.CORE_HOUR),
            False,
            pending.WAITING_RESOURCES,
            "waiting for free cores",
        ),
        ("Priority", an_allocation(), False, pending.WAITING_PRIORITY, "waiting in line"),
        ("None", an_allocation(), False, pending.RUNNING, "running"),
        ("Dependency", an_allocation(), False, pending.OTHER, "other"),
        ("ReqNodeNotAvail, UnavailableNodes:cn1", an_allocation(), False, pending.OTHER, "other"),
    ],
)
def test_reason_codes_in_words(code, allocation, capped, kind, words):
    reason = pending.explain(code, allocation, capped=capped)
    assert (reason.kind, reason.words, reason.code) == (kind, words, code)


def _queue(allocation, count):
    cluster = FakeBackend()
    for n in range(count):
        cluster.add_queued_job(
            allocation.account_name,
            QueuedJob(str(100 + n), "alice", "npu", "PENDING", "AssocGrpBillingMinutes"),
        )


@pytest.mark.django_db
def test_the_page_lists_queued_jobs_with_their_reason(client, user):
    allocation = make_allocation(user)
    Allocation.objects.filter(pk=allocation.pk).update(used_amount=Decimal("100"))
    _queue(allocation, 1)
    FakeBackend().add_queued_job(
        allocation.account_name, QueuedJob("200", "alice", "npu", "PENDING", "BeginTime")
    )
    client.force_login(user)
    page = client.get(allocation.get_absolute_url()).content.decode()
    assert "<code>100</code>" in page and "quota used up" in page
    assert "other: <code>BeginTime</code>" in page


@pytest.mark.django_db
def test_a_capped_person_sees_their_share_is_used_up(client, user):
    allocation = make_allocation(user)
    AllocationMember.objects.filter(allocation=allocation).update(limit_amount=Decimal("5"))
    _queue(allocation, 1)
    client.force_login(user)
    assert "this person&#x27;s share is used up" in client.get(allocation.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_a_cluster_that_does_not_answer_does_not_break_the_page(client, user):
    allocation = make_allocation(user)
    client.force_login(user)
    FakeBackend.stop()
    try:
        response = client.get(allocation.get_absolute_url())
    finally:
        FakeBackend.start()
    assert response.status_code == 200
    assert "The cluster did not answer" in response.content.decode()


@pytest.mark.django_db
def test_the_page_keeps_a_constant_number_of_queries(client, user, settings):
    # The queue's part of the page is made anew from each answer of the scheduler (none kept here).
    settings.JOB_QUEUE_CACHE_SECONDS = 0
    allocation = make_allocation(user)
    client.force_login(user)
    _queue(allocation, 1)
    client.get(allocation.get_absolute_url())  # the first request of a session looks up more (once)
    with CaptureQueriesContext(connection) as few:
        assert client.get(allocation.get_absolute_url()).status_code == 200
    _queue(allocation, 30)
    with CaptureQueriesContext(connection) as many:
        page = client.get(allocation.get_absolute_url()).content.decode()
    assert "<code>129</code>" in page
    assert len(many) == len(few)
