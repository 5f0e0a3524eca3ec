"""The outbox: mails and tasks that must follow a change are written in the change's own transaction.

Why: work sent to the broker "on commit" is lost when the broker is down at that moment, and an error raised
there turns a decision that was taken into an error page. Here the side effect is a row
(``core.models.OutboxMessage``) that commits or rolls back with the change. After the commit one best-effort
attempt delivers it at once (it never raises into the request); whatever is left, the relay
(``core.tasks.relay_outbox_task`` on Celery beat) retries with backoff until the broker or the mail server
answers.

Each row is delivered once: the delivery locks it, re-checks ``delivered_at`` and marks it delivered in the
same transaction as it hands the task to the broker (or the mail to the mail server). A key names the side
effect: enqueueing the same key twice writes one row.
"""

import logging
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.module_loading import import_string

from core import mail
from core.models import OutboxKind, OutboxMessage

logger = logging.getLogger(__name__)

# The Celery task that delivers one mail row on a worker (core.tasks imports this module, so by name).
MAIL_TASK = "core.tasks.deliver_outbox_mail_task"
KEEP_DELIVERED = timedelta(days=30)


def enqueue_task(
    name: str, *, args: list | tuple = (), kwargs: dict | None = None, key: str = ""
) -> OutboxMessage:
    """Run the Celery task ``name`` (its dotted name) with JSON arguments once the transaction commits."""
    return _enqueue(OutboxKind.TASK, name, {"args": list(args), "kwargs": kwargs or {}}, key)


def send_best_effort(
    task, *, args: list | tuple = (), countdown: float = 0, once_key: str = "", once_seconds: int = 60
) -> bool:
    """Hand ``task`` to the broker now, for work whose loss costs only time (a warm-up that a later change or
    beat repeats), so no outbox row: when the broker does not answer it is logged and dropped, never raised into
    the request or the commit that asked for it. With ``once_key``, a burst of changes sends one task: nothing is
    sent while the key is in the cache (the task deletes it when it starts; ``once_seconds`` bounds it), and a
    send that failed deletes it, so the next change tries again. Returns whether it was handed over."""
    if once_key and not cache.add(once_key, 1, once_seconds):
        return False
    try:
        _publish(task, args=list(args), countdown=countdown)
    except Exception:  # noqa: BLE001 - any broker failure: the work is repeated later, the change stands
        logger.warning(
            "outbox: could not hand %s to the broker; it runs again later", task.name, exc_info=True
        )
        if once_key:
            cache.delete(once_key)
        return False
    return True


def enqueue_mail(message: dict, *, key: str = "") -> OutboxMessage:
    """Send a mail (``core.mail.serialize_message``'s dict) once the transaction commits."""
    return _enqueue(OutboxKind.MAIL, "", message, key)


def _enqueue(kind: str, name: str, payload: dict, key: str) -> OutboxMessage:
    now = timezone.now()
    message, created = OutboxMessage.objects.get_or_create(
        key=key or f"{kind}:{uuid.uuid4().hex}",
        defaults={
            "kind": kind,
            "name": name,
            "payload": payload,
            # The attempt on commit normally delivers it first; the relay steps in only after this.
            "next_attempt_at": now + retry_delay(0),
        },
    )
    if created:
        transaction.on_commit(partial(_attempt_now, message.pk, kind))
    return message


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff from OUTBOX_RETRY_SECONDS, capped at OUTBOX_RETRY_MAX_SECONDS."""
    seconds = settings.OUTBOX_RETRY_SECONDS * 2 ** min(attempts, 20)
    return timedelta(seconds=min(seconds, settings.OUTBOX_RETRY_MAX_SECONDS))


def _attempt_now(pk: int, kind: str) -> None:
    """The best-effort attempt right after the commit. It never raises: the relay retries what is left."""
    try:
        if kind == OutboxKind.MAIL:
            # A worker talks to the mail server, not the request.
            _publish(import_string(MAIL_TASK), args=[pk])
        else:
            deliver(pk)
    except Exception as error:  # noqa: BLE001 - whatever failed, the row waits for the relay
        logger.warning("outbox message %s not handed over yet: %r", pk, error)


def deliver(pk: int) -> bool:
    """Deliver one message unless it was delivered already or another process is delivering it.

    Returns whether it went out now. A failure is recorded on the row (attempts, error, next attempt).
    """
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, delivered_at__isnull=True)
            .first()
        )
        if message is None:
            return False
        message.attempts += 1
        try:
            _hand_over(message)
        except Exception as error:  # noqa: BLE001 - the broker's, the mail server's or the task's failure
            message.last_error = f"{type(error).__name__}: {error}"[:2000]
            message.next_attempt_at = timezone.now() + retry_delay(message.attempts)
            message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            logger.warning(
                "outbox message %s (%s) failed, attempt %s: %r", pk, message, message.attempts, error
            )
            return False
        message.delivered_at = timezone.now()
        if message.kind == OutboxKind.MAIL:
            # Its body may hold a sign-in or password-reset link: once sent, only who and what are kept.
            message.payload = {
                "subject": message.payload.get("subject", ""),
                "to": message.payload.get("to", []),
            }
        message.save(update_fields=["attempts", "delivered_at", "payload"])
        return True


def _hand_over(message: OutboxMessage) -> None:
    if message.kind == OutboxKind.MAIL:
        mail.deliver(message.payload)
    else:
        payload = message.payload
        _publish(
            import_string(message.name), args=payload.get("args") or [], kwargs=payload.get("kwargs") or {}
        )


def _publish(task, *, args: list, kwargs: dict | None = None, countdown: float | None = None) -> None:
    """Send to the broker once, failing at once when it is down (kombu would retry for seconds, in a request)."""
    options = {**(task.app.conf.broker_transport_options or {}), "max_retries": 0}
    with task.app.connection_for_write(transport_options=options) as connection:
        task.apply_async(
            args=args, kwargs=kwargs or {}, retry=False, connection=connection, countdown=countdown
        )


def relay(*, now=None, limit: int = 500) -> int:
    """Deliver the messages whose next attempt is due, oldest first; returns how many went out.

    Delivered messages are kept KEEP_DELIVERED long (their keys keep repeats out), then deleted."""
    now = now or timezone.now()
    OutboxMessage.objects.filter(delivered_at__lt=now - KEEP_DELIVERED).delete()
    due = OutboxMessage.objects.due(now).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    delivered = 0
    for pk in list(due):
        try:
            delivered += deliver(pk)
        except Exception:  # noqa: BLE001 - one message that breaks its transaction must not stop the others
            logger.exception("outbox message %s could not be delivered", pk)
    return delivered


def retry_now(message: OutboxMessage) -> None:
    """Make an undelivered message due at once (the sweeper and operators use it)."""
    OutboxMessage.objects.undelivered().filter(pk=message.pk).update(next_attempt_at=timezone.now())
    transaction.on_commit(partial(_attempt_now, message.pk, message.kind))


def backlog() -> tuple[int, float | None]:
    """How many messages wait to be delivered, and the age in seconds of the oldest (None when none wait)."""
    figures = OutboxMessage.objects.undelivered().aggregate(count=Count("id"), oldest=Min("created_at"))
    if not figures["count"]:
        return 0, None
    return figures["count"], (timezone.now() - figures["oldest"]).total_seconds()
