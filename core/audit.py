"""The one way the portal records a state change (who, when, what, before -> after), and the chain that makes
the trail tamper-evident.

Every event is appended by ``record``. After the transaction commits, ``seal_pending`` gives each new event its
place in the chain (``seq``), the hash of the event before it (``prev_hash``) and its own hash
(``entry_hash``, SHA-256 over what the event says happened and over ``prev_hash``). Sealing follows commit
order, not id order, so a long transaction can never slip an event in behind one already sealed.
``verify_chain`` walks the chain and reports the first broken link: an event whose content changed, or one
that no longer follows the event before it (one was removed or reordered).

The hash covers who (the user's id), when, the platform, the action, the target (type and id), the
organisation, the changes and the reason. It leaves out the two display copies, ``actor_label`` and
``target_label``: deleting an account pseudonymises them (the law requires it) and that must not break the
chain. Removing the newest events leaves a shorter chain that is still intact; keep the head that
``verify_audit_trail`` prints (the daily log line of the seal task) somewhere else to detect that.
"""

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC

from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction

from core import hooks
from core.models import AuditEvent


def _plain(value):
    if isinstance(value, models.Model):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return str(value)


def record(
    action: str,
    target: models.Model,
    *,
    actor=None,
    changes: dict[str, tuple[object, object]] | None = None,
    organisation=None,
    reason: str = "",
) -> AuditEvent:
    """Append an audit event. ``changes`` maps a field name to its ``(before, after)`` values."""
    if organisation is None and target.__class__.__name__ == "Organisation":
        organisation = target
    actor = actor if getattr(actor, "is_authenticated", False) else None
    event = AuditEvent.objects.create(
        actor=actor,
        actor_label=(actor.email or str(actor)) if actor else "system",
        platform=target._meta.app_label,
        action=action,
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        target_label=str(target)[:255],
        organisation=organisation,
        changes={
            k: {"from": _plain(before), "to": _plain(after)} for k, (before, after) in (changes or {}).items()
        },
        reason=reason or "",
    )
    _seal_after_commit()
    return event


def action_label(action: str) -> str:
    """What people read for an audit action: the label an app registered (``hooks.AUDIT_LABELS``)."""
    return str(_action_labels().get(action, action))


@functools.cache
def _action_labels() -> dict:
    labels = {}
    for app_labels in hooks.values(hooks.AUDIT_LABELS):
        for action, label in app_labels.items():
            labels.setdefault(action, label)
    return labels


# --- the tamper-evident chain --------------------------------------------------------------------------

GENESIS = "0" * 64  # the "previous hash" of the first event
_CHAIN_LOCK = 7_310_042  # pg_advisory_xact_lock key: one sealer at a time
logger = logging.getLogger(__name__)


def entry_digest(event: AuditEvent, *, seq: int, prev_hash: str) -> str:
    """SHA-256 of what the event says happened, its place in the chain and the hash before it."""
    target_type = ContentType.objects.get_for_id(event.target_type_id)
    payload = {
        "seq": seq,
        "prev": prev_hash,
        "id": event.pk,
        "at": event.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": event.actor_id,
        "platform": event.platform,
        "action": event.action,
        "target": [target_type.app_label, target_type.model, event.target_id],
        "organisation": event.organisation_id,
        "changes": event.changes,
        "reason": event.reason,
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _seal_after_commit() -> None:
    """Seal once after the current transaction commits, however many events it records."""
    conn = transaction.get_connection()
    if any(func is _seal_quietly for _sids, func, _robust in conn.run_on_commit):
        return
    transaction.on_commit(_seal_quietly, robust=True)


def _seal_quietly() -> None:
    # Robust: a failure here must not fail the request that recorded the event; the periodic seal task
    # catches up.
    seal_pending()


def seal_pending(*, batch: int = 5_000) -> int:
    """Give every committed, unsealed event its place in the chain; returns how many were sealed."""
    sealed = 0
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
            head = (
                AuditEvent.objects.filter(seq__isnull=False)
                .order_by("-seq")
                .values("seq", "entry_hash")
                .first()
            )
            seq, prev = (head["seq"], head["entry_hash"]) if head else (0, GENESIS)
            pending = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id")[:batch])
            for event in pending:
                seq += 1
                event.seq, event.prev_hash = seq, prev
                event.entry_hash = prev = entry_digest(event, seq=seq, prev_hash=event.prev_hash)
            AuditEvent.objects.bulk_update(pending, ["seq", "prev_hash", "entry_hash"])
        sealed += len(pending)
        if len(pending) < batch:
            return sealed


@dataclass
class ChainReport:
    checked: int = 0
    unsealed: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    broken: AuditEvent | None = None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify_chain(*, batch: int = 2_000) -> ChainReport:
    """Walk the sealed events in chain order; stop at the first broken link."""
    report = ChainReport(unsealed=AuditEvent.objects.filter(seq__isnull=True).count())
    prev, expected = GENESIS, 1
    for event in AuditEvent.objects.filter(seq__isnull=False).order_by("seq").iterator(chunk_size=batch):
        if event.seq != expected:
            report.broken, report.problem = event, f"the event at position {expected} is missing"
        elif event.prev_hash != prev:
            report.broken = event
            report.problem = "it does not follow the event before it (one was removed or reordered)"
        elif entry_digest(event, seq=event.seq, prev_hash=event.prev_hash) != event.entry_hash:
            report.broken, report.problem = event, "its content was changed after it was recorded"
        if report.broken is not None:
            return report
        prev, expected = event.entry_hash, expected + 1
        report.checked += 1
        report.head_seq, report.head_hash = event.seq, event.entry_hash
    return report
