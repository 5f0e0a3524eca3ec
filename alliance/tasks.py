"""Thin tasks of the alliance platform."""

from celery import shared_task

from alliance.services import membership


@shared_task(acks_late=True)
def recheck_memberships_task() -> dict:
    """Daily (Celery beat): recompute membership statuses from their dates and send renewal reminders."""
    return membership.recheck_memberships()
