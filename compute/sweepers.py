"""Stuck compute work for the kernel's sweeper: allocations that should be on the cluster and are not.

An allocation waits ``pending`` until its provisioning message reaches a worker, and ``provisioning`` until
the cluster converged. Past ``core.sweepers.stuck_before`` either means the message was lost or the worker
died with it: the sweeper sends the sync again (converging twice grants nothing twice).
"""

from datetime import datetime

from django.utils.translation import gettext_lazy as _

from compute import tasks
from compute.models import Allocation, AllocationStatus
from core import outbox, sweepers
from core.sweepers import StuckItem

WAITING = {
    AllocationStatus.PENDING: _("Allocation waiting to be provisioned"),
    AllocationStatus.PROVISIONING: _("Allocation still provisioning"),
}


def stuck_allocations(now: datetime) -> list[StuckItem]:
    allocations = (
        Allocation.objects.filter(status__in=list(WAITING), status_changed_at__lte=sweepers.stuck_before(now))
        .select_related("organisation", "partition")
        .order_by("status_changed_at")[: sweepers.LIMIT]
    )
    return [
        StuckItem(
            WAITING[allocation.status],
            allocation,
            now - allocation.status_changed_at,
            _resync(allocation, now),
        )
        for allocation in allocations
    ]


def _resync(allocation: Allocation, now: datetime):
    # One message per allocation and sweep: sweeps that pile up while the worker is down send it once.
    key = f"sweep:{tasks.sync_allocation_task.name}:{allocation.pk}:{now:%Y%m%dT%H%M}"
    return lambda: outbox.enqueue_task(tasks.sync_allocation_task.name, args=[allocation.pk], key=key)
