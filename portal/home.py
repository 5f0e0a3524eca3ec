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
DELAY_SECONDS = 2


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

    def enqueue():
        if cache.add(PENDING_KEY, 1, DELAY_SECONDS * 30) and not outbox.send_best_effort(
            refresh_home_stats_task, countdown=DELAY_SECONDS
        ):
            cache.delete(PENDING_KEY)  # not sent: the next change tries again

    transaction.on_commit(enqueue)
