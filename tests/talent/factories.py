"""Objects of the talent platform for tests, made through the services where there is one."""

import itertools
from datetime import timedelta

from django.utils import timezone

from accounts import services as account_services
from talent.models import Access, Audience, Cohort, CohortStatus, Course, Programme, Session
from talent.services.enrolment import enrol
from tests.accounts.factories import UserFactory, make_operator

_numbers = itertools.count(1)


def make_instructor(**kwargs):
    user = UserFactory(**kwargs)
    return account_services.set_site_roles(user, by=None, roles={"instructor"})


def make_course(*, programme=None, published=True, **fields) -> Course:
    n = next(_numbers)
    defaults = {
        "slug": f"course-{n}",
        "title_zh": f"大模型应用开发{n}",
        "title_en": f"Large-model applications {n}",
        "description_zh": "从提示工程到检索增强生成。",
        "description_en": "From prompting to retrieval-augmented generation.",
        "category": "large_models",
        "level": "intermediate",
        "syllabus": "Prompting\nRAG\nEvaluation",
        "is_published": published,
        "programme": programme,
    }
    defaults.update(fields)
    return Course.objects.create(**defaults)


def make_programme(**fields) -> Programme:
    n = next(_numbers)
    defaults = {
        "slug": f"programme-{n}",
        "title_zh": f"AI工程师{n}",
        "title_en": f"AI engineer {n}",
        "is_published": True,
    }
    defaults.update(fields)
    return Programme.objects.create(**defaults)


def make_cohort(
    course=None,
    *,
    capacity=30,
    audience=Audience.OPEN,
    access=Access.OPEN,
    status=CohortStatus.PUBLISHED,
    instructors=(),
    sessions=0,
    starts_in_days=14,
    length_days=5,
    **fields,
) -> Cohort:
    now = timezone.now()
    today = timezone.localdate()
    course = course or make_course()
    defaults = {
        "name": f"Cohort {next(_numbers)}",
        "starts_on": today + timedelta(days=starts_in_days),
        "ends_on": today + timedelta(days=starts_in_days + length_days),
        "capacity": capacity,
        "enrolment_opens_at": now - timedelta(days=1),
        "enrolment_closes_at": now + timedelta(days=max(starts_in_days, 1)),
        "audience": audience,
        "access": access,
        "enrolment_code": "LEARN2027" if access == Access.CODE else "",
        "min_attendance_percent": 50,
        "status": status,
    }
    defaults.update(fields)
    cohort = Cohort.objects.create(course=course, **defaults)
    if instructors:
        cohort.instructors.set(instructors)
    start = timezone.make_aware(
        timezone.datetime.combine(cohort.starts_on, timezone.datetime.min.time())
    ) + timedelta(hours=9)
    for i in range(sessions):
        Session.objects.create(
            cohort=cohort,
            title=f"Session {i + 1}",
            starts_at=start + timedelta(days=i),
            ends_at=start + timedelta(days=i, hours=3),
            place="Training room 1",
            checkin_code=f"CODE{i + 1:02d}",
        )
    return cohort


def make_live_session(cohort, *, code: str = "ABC123", **fields) -> Session:
    """A session of the cohort running now, so that check-in is open."""
    now = timezone.now()
    defaults = {
        "title": "Live",
        "starts_at": now - timedelta(minutes=10),
        "ends_at": now + timedelta(hours=2),
        "place": "Room 2",
    }
    defaults.update(fields)
    return Session.objects.create(cohort=cohort, checkin_code=code, **defaults)


def fill(cohort, count: int) -> list:
    """``count`` learners enrolled through the service."""
    return [enrol(cohort, user=UserFactory()) for _ in range(count)]


def operator():
    return make_operator()
