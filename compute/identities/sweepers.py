"""Stuck identity work for the kernel's sweeper: identities changed and not published to the directory."""

from datetime import datetime

from django.utils.translation import gettext_lazy as _

from compute.identities import services
from compute.identities.models import ClusterIdentity
from core import outbox, sweepers
from core.sweepers import StuckItem

LABEL = _("Cluster identity waiting to be published to the directory")


def stuck_identities(now: datetime) -> list[StuckItem]:
    cutoff = sweepers.stuck_before(now)
    identities = services.unpublished(cutoff).order_by("changed_at")[: sweepers.LIMIT]
    return [
        StuckItem(LABEL, identity, now - identity.changed_at, _republish(identity, now))
        for identity in identities
    ]


def _republish(identity: ClusterIdentity, now: datetime):
    # One message per identity and sweep: sweeps that pile up while the worker is down send it once.
    key = f"sweep:{services.PUBLISH_IDENTITY_TASK}:{identity.pk}:{now:%Y%m%dT%H%M}"
    return lambda: outbox.enqueue_task(services.PUBLISH_IDENTITY_TASK, args=[identity.pk], key=key)
