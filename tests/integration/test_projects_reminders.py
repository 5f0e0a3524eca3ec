"""The daily review-reminder task goes through Redis to a real worker, which records and mails the reminder."""

import email
import email.policy
from datetime import timedelta

import pytest
from django.utils import timezone

from projects.models import ReviewAssignment
from projects.tasks import send_review_reminders_task
from tests.integration.conftest import wait_for
from tests.projects.factories import in_review, make_call

pytestmark = pytest.mark.integration


def test_reminder_task_on_the_worker_reminds_once(celery_worker_process):
    call = make_call(review_deadline=timezone.localdate() + timedelta(days=1))
    _application, assignment = in_review(call=call)
    mail_dir = celery_worker_process["mail_dir"]

    send_review_reminders_task.delay()

    def reminded():
        return ReviewAssignment.objects.filter(pk=assignment.pk, reminded_at__isnull=False).exists()

    assert wait_for(reminded), celery_worker_process["log"].read_text()[-3000:]

    def reminder_mail():
        found = []
        for path in mail_dir.iterdir():
            for chunk in path.read_text().split("-" * 79):
                message = email.message_from_string(chunk.strip(), policy=email.policy.default)
                if "Reminder: review" in str(message["subject"] or ""):
                    found.append(message)
        return found

    messages = wait_for(reminder_mail)
    assert messages, celery_worker_process["log"].read_text()[-3000:]
    assert messages[0]["to"] == assignment.reviewer.email
    # The same day, a second run sends nothing more.
    send_review_reminders_task.delay()
    first = ReviewAssignment.objects.get(pk=assignment.pk).reminded_at
    wait_for(lambda: False, timeout=3)
    assert ReviewAssignment.objects.get(pk=assignment.pk).reminded_at == first
    assert len(reminder_mail()) == 1
