"""200 people enrol at once for 30 seats, for real, on PostgreSQL: exactly 30 get a seat, the rest wait in order."""

import threading

import pytest
from django.db import connection, connections

from talent.models import Enrolment, EnrolmentStatus
from talent.services.eligibility import seats_left_in
from talent.services.enrolment import enrol, waitlist_position
from tests.accounts.factories import UserFactory
from tests.talent.factories import make_cohort, make_instructor

PEOPLE = 200
SEATS = 30
THREADS = 40  # each with its own database connection (PostgreSQL allows 100 by default)


@pytest.mark.django_db(transaction=True)
def test_concurrent_enrolment_fills_exactly_the_capacity_and_waitlists_the_rest_in_order():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    teacher = make_instructor()
    cohort = make_cohort(capacity=SEATS, instructors=[teacher])
    people = [UserFactory() for _ in range(PEOPLE)]
    queue = list(reversed(people))
    lock = threading.Lock()
    start = threading.Barrier(THREADS)
    errors = []

    def work():
        try:
            start.wait()
            while True:
                with lock:
                    if not queue:
                        return
                    person = queue.pop()
                enrol(cohort, user=person)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    enrolments = list(Enrolment.objects.filter(cohort=cohort).order_by("id"))
    assert len(enrolments) == PEOPLE
    statuses = [e.status for e in enrolments]
    assert statuses.count(EnrolmentStatus.ENROLLED) == SEATS
    # First come, first served: rows were written under the cohort lock, so id order is arrival order.
    assert statuses == [EnrolmentStatus.ENROLLED] * SEATS + [EnrolmentStatus.WAITLISTED] * (PEOPLE - SEATS)
    waiting = [e for e in enrolments if e.status == EnrolmentStatus.WAITLISTED]
    assert [waitlist_position(e) for e in waiting] == list(range(1, PEOPLE - SEATS + 1))
    assert [e.waitlisted_at for e in waiting] == sorted(e.waitlisted_at for e in waiting)
    # The instructor holds no seat.
    assert seats_left_in(cohort) == 0
    assert not Enrolment.objects.filter(user=teacher).exists()
