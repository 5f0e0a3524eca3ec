from celery import shared_task

from accounts import carsi, onboarding, services


@shared_task(acks_late=True)
def expire_invitations_task() -> int:
    return services.expire_overdue_invitations()


@shared_task(
    acks_late=True, autoretry_for=(Exception,), retry_backoff=5, retry_backoff_max=300, max_retries=8
)
def send_onboarding_batch_task(batch_id: int) -> int:
    """Send a confirmed batch of invitations; each row goes out exactly once however often this runs."""
    return onboarding.send_batch(batch_id)


@shared_task(acks_late=True)
def purge_saml_assertions_task() -> int:
    """Forget the IDs of SAML assertions past their NotOnOrAfter (kept until then to refuse replays)."""
    return carsi.purge_expired_assertions()
