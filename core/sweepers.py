"""Sweepers: find work that should have moved and did not, and send it again.

A lost message, a worker killed at the wrong moment or a broker that was down can leave work behind that
nothing would pick up again. Each app registers a ``STUCK_WORK`` hook that names its stuck items; the
kernel adds the outbox's own undelivered messages. ``sweep`` (on beat) re-enqueues them all; the health
page (``portal.health``) shows them to operators with their age.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import hooks, outbox
from core.models import OutboxMessage

logger = logging.getLogger(__name__)

# At most this many items of one kind are listed and swept at a time: the oldest first.
LIMIT = 200


class StuckItem(NamedTuple):
    label: str  # what kind of work, for people ("Allocation not provisioned")
    object: Any  # the object waiting (its str() is shown)
    age: timedelta  # how long it has waited
    action: Callable[[], Any]  # sends the work again


def stuck_before(now: datetime) -> datetime:
    """Work older than this, and still not done, is stuck."""
    return now - timedelta(minutes=settings.STUCK_AFTER_MINUTES)


def stuck_work(now: datetime | None = None) -> list[StuckItem]:
    """Every stuck item, the oldest first."""
    now = now or timezone.now()
    items = list(_undelivered_messages(now))
    for find in hooks.values(hooks.STUCK_WORK):
        items.extend(find(now))
    return sorted(items, key=lambda item: item.age, reverse=True)


def sweep(now: datetime | None = None) -> int:
    """Re-enqueue every stuck item, each in its own transaction; returns how many were sent again."""
    sent = 0
    for item in stuck_work(now):
        try:
            with transaction.atomic():
                item.action()
        except Exception:  # one item that fails must not hold back the others
            logger.exception("sweeper: could not re-enqueue %s %s", item.label, item.object)
            continue
        sent += 1
    if sent:
        logger.warning("sweeper: re-enqueued %s stuck item(s)", sent)
    return sent


def _undelivered_messages(now: datetime) -> list[StuckItem]:
    messages = OutboxMessage.objects.undelivered().filter(created_at__lte=stuck_before(now)).order_by("id")
    return [
        StuckItem(
            _("Outbox message not delivered"),
            message,
            now - message.created_at,
            partial(outbox.retry_now, message),
        )
        for message in messages[:LIMIT]
    ]
