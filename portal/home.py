"""The home page's public figures (organisations served, by kind), made by a task, not by a visitor.

Counting the verified organisations takes 80-120 ms at bench scale 5 (half a million organisations): a visitor
must never wait for it. The figures are kept in the cache (``home_stats``); a saved or deleted organisation
schedules ``portal.tasks.refresh_home_stats_task`` once its transaction commits (once for a burst of changes),
and the transparency refresh on beat makes them anew too, which covers writes that send no signal. Only an empty
cache (a new deployment) has the first visitor count.
"""

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q

from accounts.models import Organisation, OrganisationKind
from core import outbox

KEY = "portal:home-stats"
KEEP_SECONDS = 6 * 3600
PENDING_KEY = "portal:home-stats:refresh-pending"
# Sent without a countdown: a worker holding a countdown (ETA) task when the Redis broker stops does not come
# back (kombu fails to restore the unacknowledged message; tests/integration/test_faults.py).
PENDING_SECONDS = 60


def home_stats(*, refresh: bool = False) -> dict:
    """The figures as last made (``refresh``: made now)."""
    stats = None if refresh else cache.get(KEY)
    if stats is None:
        stats = Organisation.objects.verified().aggregate(
            organisations=Count("id"),
            enterprises=Count("id", filter=Q(kind=OrganisationKind.ENTERPRISE)),
            universities_institutes=Count(
                "id", filter=Q(kind__in=[OrganisationKind.UNIVERSITY, OrganisationKind.RESEARCH_INSTITUTE])
            ),
        )
        cache.set(KEY, stats, KEEP_SECONDS)
    return stats


def organisation_changed(sender=None, **kwargs) -> None:
    """Receiver of an organisation's post_save and post_delete: refresh the figures after the commit."""
    from portal.tasks import refresh_home_stats_task  # noqa: PLC0415 - tasks import this module

    transaction.on_commit(
        lambda: outbox.send_best_effort(
            refresh_home_stats_task,
            once_key=PENDING_KEY,
            once_seconds=PENDING_SECONDS,
        )
    )
