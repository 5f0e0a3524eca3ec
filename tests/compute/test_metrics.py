"""The compute service's metrics on /metrics: provisioning lag, waiting allocations, cluster failures."""

from datetime import timedelta

import pytest

from compute.backends.fake import FakeBackend
from compute.models import Allocation
from compute.services.requests import approve_quota_request
from compute.tasks import sync_allocation_task
from tests.accounts.factories import an_operator
from tests.compute.factories import make_allocation, make_quota_request
from tests.metrics import sample, scrape

pytestmark = pytest.mark.django_db
LAG = "portal_allocation_provisioning_lag_seconds"


def test_provisioning_lag_counts_each_allocation_from_approval_to_active(client, settings, user):
    fast = make_allocation(user)
    slow = make_allocation(user)
    # The slow one was approved 10 minutes before it became active (the broker was down meanwhile).
    Allocation.objects.filter(pk=slow.pk).update(created_at=slow.provisioned_at - timedelta(minutes=10))
    Allocation.objects.filter(pk=fast.pk).update(created_at=fast.provisioned_at - timedelta(seconds=20))

    samples = scrape(client, settings)

    assert sample(samples, f"{LAG}_count") == 2
    assert sample(samples, f"{LAG}_bucket", le="60.0") == 1
    assert sample(samples, f"{LAG}_bucket", le="300.0") == 1
    assert sample(samples, f"{LAG}_bucket", le="900.0") == 2
    assert sample(samples, f"{LAG}_sum") == pytest.approx(620, abs=1)


def test_waiting_allocations_report_their_number_and_the_oldest_age(client, settings, user):
    request = make_quota_request(user)
    with _stopped_cluster():
        approve_quota_request(request, by=an_operator())
    allocation = request.created_allocation
    Allocation.objects.filter(pk=allocation.pk).update(
        status_changed_at=allocation.status_changed_at - timedelta(hours=2)
    )

    samples = scrape(client, settings)

    waiting = sample(samples, "portal_allocations_waiting", status="pending") + sample(
        samples, "portal_allocations_waiting", status="provisioning"
    )
    assert waiting == 1
    oldest = max(
        sample(samples, "portal_allocation_oldest_waiting_seconds", status=status)
        for status in ("pending", "provisioning")
    )
    assert 2 * 3600 <= oldest < 2 * 3600 + 60


def test_cluster_failures_are_counted_per_failed_attempt(client, settings, user):
    request = make_quota_request(user)
    with _stopped_cluster():
        approve_quota_request(request, by=an_operator())
    allocation = request.created_allocation
    task = "compute.tasks.sync_allocation_task"
    retried = {"task": task, "exception": "ClusterError", "outcome": "retry"}
    earlier = scrape(client, settings)
    before = sample(earlier, "portal_cluster_command_failures_total", task=task)

    FakeBackend.fail_next(1)
    # As a worker runs it: the ClusterError is retried (signalled), not raised to the caller.
    sync_allocation_task.apply(args=[allocation.pk], throw=False)

    samples = scrape(client, settings)
    assert sample(samples, "portal_cluster_command_failures_total", task=task) == before + 1
    assert sample(samples, "portal_celery_task_errors_total", **retried) == (
        sample(earlier, "portal_celery_task_errors_total", **retried) + 1
    )


class _stopped_cluster:
    """The cluster down while the approval's provisioning runs: the allocation stays waiting."""

    def __enter__(self):
        FakeBackend.stop()

    def __exit__(self, *exc_info):
        FakeBackend.start()
