"""Thin tasks: take ids, call one service, retry cluster failures with backoff."""

import logging
from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from compute import usage
from compute.backends.base import ClusterError
from compute.identities.directory.base import DirectoryError
from compute.services import allocations, reminders
from core.exceptions import DomainError

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(ClusterError, DirectoryError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=12,
)
def sync_allocation_task(self, allocation_id: int) -> None:
    """Converge the cluster to one allocation. Idempotent: a retry or a second delivery grants nothing twice."""
    if not isinstance(allocation_id, int) or allocation_id <= 0:
        logger.warning("sync_allocation_task: ignored bad allocation id %r", allocation_id)
        return
    allocations.sync_allocation(allocation_id)


@shared_task(acks_late=True)
def ingest_usage_task() -> int:
    """Every cluster's accounting; one that cannot be read is logged and caught up by the next run (the
    look-back spans many runs), without holding the others back."""
    return usage.ingest_usage().jobs


@shared_task(acks_late=True)
def reconcile_task() -> int:
    return usage.reconcile().drift_count


@shared_task(acks_late=True)
def expire_allocations_task() -> int:
    return allocations.expire_due_allocations()


@shared_task(acks_late=True)
def sync_due_allocations_task() -> int:
    """Open allocations whose start date has come (and do a pending usage reset): every few minutes."""
    return allocations.sync_due_allocations()


@shared_task(acks_late=True)
def send_end_reminders_task() -> int:
    """Mail the reminders due before allocations end (30, 7 and 1 days); idempotent, so run hourly."""
    return reminders.send_end_reminders()


@shared_task(acks_late=True)
def settle_usage_task(month: str | None = None) -> int:
    """Settle a month's usage against the vouchers (default: the month before this one); idempotent.

    ``month``: "YYYY-MM" to settle (or re-run) another ended month."""
    from compute.vouchers.services import ledger as vouchers  # it imports this module (cycle)

    if month is None:
        day = timezone.localdate().replace(day=1) - timedelta(days=1)
    else:
        try:
            year, number = (int(part) for part in str(month).split("-"))
            day = date(year, number, 1)
        except (TypeError, ValueError):
            logger.warning("settle_usage_task: %r is not a month (YYYY-MM); nothing done", month)
            return 0
    try:
        return vouchers.settle_month(day).settled
    except DomainError as error:
        logger.warning("settle_usage_task: %s", error.message)
        return 0
