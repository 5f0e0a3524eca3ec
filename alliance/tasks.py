"""Thin tasks of the alliance platform."""

from celery import shared_task
from django.core.cache import cache
from django.urls import reverse

from alliance import reports
from alliance.services import directory, membership
from core import pagecache


@shared_task(acks_late=True)
def recheck_memberships_task() -> dict:
    """Daily (Celery beat): recompute membership statuses from their dates and send renewal reminders."""
    return membership.recheck_memberships()


@shared_task(acks_late=True)
def warm_directory_task() -> str:
    """After a change of the directory, and nightly (Celery beat): compute the directory page's facets and
    statistics, render its first page for visitors and compute the supervisors' alliance report, before anyone
    asks (alliance.services.directory.warm, core.pagecache.render_for_visitors, alliance.reports.warm)."""
    cache.delete(directory.WARM_PENDING_KEY)  # a change from now on schedules another warm-up
    state = directory.warm()
    # The directory's first page as visitors see it, in each language: its body is kept for this state.
    pagecache.render_for_visitors(reverse("alliance:index"))
    reports.warm()
    return state
