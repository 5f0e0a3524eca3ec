"""Prometheus metrics of the public compute service (registered in compute/hooks.py, exposed by /metrics).

Cluster command failures are counted where they happen, in the worker that ran the task (from Celery's retry
and failure signals, so the backends stay free of metrics). Provisioning lag and waiting allocations are
computed at scrape time from the allocations themselves: an allocation is created when its request is approved
and stamped ``provisioned_at`` when it becomes active, so the database already holds every lag, whichever
worker provisioned it.
"""

from collections.abc import Iterable
from datetime import timedelta

from celery import signals
from django.db.models import Count, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from compute.backends.base import ClusterError
from compute.models import Allocation, AllocationStatus
from core.metrics import retry_cause

# Approval to active: seconds when the cluster answers, hours when it is down or a person must step in.
LAG_BUCKETS = (60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600)
WAITING = (AllocationStatus.PENDING, AllocationStatus.PROVISIONING)

CLUSTER_FAILURES = Counter(
    "portal_cluster_command_failures_total",
    "Cluster operations that failed with a ClusterError in a task run (each attempt counts), by task.",
    ["task"],
)


@signals.task_retry.connect(dispatch_uid="compute.metrics.task_retry")
def _cluster_error_retried(sender=None, reason=None, **kwargs) -> None:
    if isinstance(retry_cause(reason), ClusterError):
        CLUSTER_FAILURES.labels(task=getattr(sender, "name", "?")).inc()


@signals.task_failure.connect(dispatch_uid="compute.metrics.task_failure")
def _cluster_error_failed(sender=None, exception=None, **kwargs) -> None:
    if isinstance(exception, ClusterError):
        CLUSTER_FAILURES.labels(task=getattr(sender, "name", "?")).inc()


def provisioning_lag() -> Iterable[Metric]:
    """A cumulative histogram of approval-to-active over every allocation ever provisioned (one query)."""
    lag = ExpressionWrapper(F("provisioned_at") - F("created_at"), output_field=DurationField())
    buckets = {
        f"le_{i}": Count("pk", filter=Q(lag__lte=timedelta(seconds=bound)))
        for i, bound in enumerate(LAG_BUCKETS)
    }
    figures = (
        Allocation.objects.filter(provisioned_at__isnull=False)
        .annotate(lag=lag)
        .aggregate(total=Count("pk"), lag_sum=Sum("lag"), **buckets)
    )
    family = HistogramMetricFamily(
        "portal_allocation_provisioning_lag_seconds",
        "Time from a quota request's approval (its allocation created) to the allocation active on the cluster.",
        buckets=[
            *((str(float(bound)), figures[f"le_{i}"]) for i, bound in enumerate(LAG_BUCKETS)),
            ("+Inf", figures["total"]),
        ],
        sum_value=(figures["lag_sum"] or timedelta()).total_seconds(),
    )
    yield family


def waiting_allocations() -> Iterable[Metric]:
    """How many allocations wait in ``pending`` or ``provisioning`` and for how long the oldest has (one query)."""
    rows = {
        row["status"]: row
        for row in Allocation.objects.filter(status__in=WAITING)
        .values("status")
        .annotate(count=Count("pk"), since=Min("status_changed_at"))
        .order_by()
    }
    now = timezone.now()
    count = GaugeMetricFamily(
        "portal_allocations_waiting", "Allocations waiting to be provisioned, by status.", labels=["status"]
    )
    oldest = GaugeMetricFamily(
        "portal_allocation_oldest_waiting_seconds",
        "How long the allocation longest in this status has been waiting (0 when none is).",
        labels=["status"],
    )
    for status in WAITING:
        row = rows.get(status)
        count.add_metric([status], row["count"] if row else 0)
        oldest.add_metric([status], (now - row["since"]).total_seconds() if row else 0)
    yield count
    yield oldest
