"""Thin tasks of the talent platform."""

from celery import shared_task

from talent.services.enrolment import expire_offers


@shared_task(acks_late=True)
def expire_offers_task() -> int:
    """Expire seat offers nobody answered in time and offer each seat to the next person waiting."""
    return expire_offers()
