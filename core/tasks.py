from celery import shared_task

from core import audit, outbox, pagecache, sweepers


@shared_task(acks_late=True)
def deliver_outbox_mail_task(message_id: int) -> bool:
    """Deliver one mail of the outbox; a refusal stays on the row and the relay retries it."""
    if not isinstance(message_id, int) or message_id <= 0:
        return False
    return outbox.deliver(message_id)


@shared_task(acks_late=True)
def relay_outbox_task() -> int:
    """Deliver what is due in the outbox (on beat every OUTBOX_RELAY_SECONDS)."""
    return outbox.relay()


@shared_task(acks_late=True)
def sweep_stuck_work_task() -> int:
    """Re-enqueue work that should have moved and did not (on beat every STUCK_SWEEP_MINUTES)."""
    return sweepers.sweep()


@shared_task
def seal_audit_trail_task() -> int:
    """Seal events whose after-commit seal did not run (a crashed process); log the chain's head."""
    sealed = audit.seal_pending()
    head = (
        audit.AuditEvent.objects.filter(seq__isnull=False)
        .order_by("-seq")
        .values("seq", "entry_hash")
        .first()
    )
    if head:
        audit.logger.info("audit chain head: position %s hash %s", head["seq"], head["entry_hash"])
    return sealed


@shared_task
def warm_kept_pages_task(name: str | None = None) -> int:
    """Render again the kept pages read lately (core/pagecache.py: warm): those of generation ``name`` after it
    changed, every listed generation's when called without one (on beat each minute)."""
    if name is not None and not isinstance(name, str):
        return 0
    return pagecache.warm(None if name is None else [name])
