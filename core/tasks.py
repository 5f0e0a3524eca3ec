from celery import shared_task

from core import audit, mail


@shared_task(
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
    acks_late=True,
)
def send_email_task(self, message: dict) -> int:
    """Deliver a queued message; network errors (SMTP down) are retried with backoff."""
    if not isinstance(message, dict) or not message.get("to") and not message.get("bcc"):
        return 0
    return mail.deliver(message)


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
