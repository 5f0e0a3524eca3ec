"""Thin tasks of the incubation platform."""

from celery import shared_task

from projects.services import review


@shared_task(acks_late=True)
def send_review_reminders_task() -> int:
    """Daily (beat): remind reviewers of reviews due soon or overdue, at most once a day per assignment."""
    return review.send_review_reminders()
