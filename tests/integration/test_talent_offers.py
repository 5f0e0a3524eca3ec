"""Waitlist promotion and offer expiry through a real Celery worker on Redis."""

from datetime import timedelta

import pytest
from django.utils import timezone

from talent.models import Enrolment, EnrolmentStatus
from talent.services.enrolment import withdraw
from talent.tasks import expire_offers_task
from tests.integration.conftest import wait_for
from tests.talent.factories import fill, make_cohort

pytestmark = pytest.mark.integration


def test_expired_offer_passes_to_the_next_person_on_the_worker(celery_worker_process):
    cohort = make_cohort(capacity=1)
    (holder,) = fill(cohort, 1)
    first, second = fill(cohort, 2)
    withdraw(holder, by=holder.user)  # the seat is offered to the first person waiting
    first.refresh_from_db()
    assert first.status == EnrolmentStatus.OFFERED
    mail_dir = celery_worker_process["mail_dir"]
    assert wait_for(lambda: any(first.user.email in f.read_text() for f in mail_dir.iterdir())), (
        celery_worker_process["log"].read_text()[-3000:]
    )
    Enrolment.objects.filter(pk=first.pk).update(offer_expires_at=timezone.now() - timedelta(minutes=1))
    expire_offers_task.delay()

    def passed_on():
        first.refresh_from_db()
        second.refresh_from_db()
        return first.status == EnrolmentStatus.OFFER_EXPIRED and second.status == EnrolmentStatus.OFFERED

    assert wait_for(passed_on), celery_worker_process["log"].read_text()[-3000:]
    # The next person is told by email, delivered by the worker.
    assert wait_for(lambda: any(second.user.email in f.read_text() for f in mail_dir.iterdir()))
