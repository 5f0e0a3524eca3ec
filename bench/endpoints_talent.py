"""The talent platform's pages and API endpoints for the benchmark (merged into bench/endpoints.py).

The enrol action is a POST and the harness measures GETs: ``measure_enrol`` below drives the enrol service
itself from concurrent threads against the loaded database (each thread its own connection), on a cohort made
for the purpose and removed afterwards, and reports enrolments per second and that capacity held.
"""

from bench.endpoints import LIST_GOAL, Url


def busiest_upcoming_cohort() -> int:
    """The published upcoming cohort with the most people waiting (full, with a waitlist)."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from talent.models import Cohort

    found = (
        Cohort.objects.published()
        .filter(starts_on__gt=timezone.localdate())
        .annotate(n=Count("enrolments", filter=Q(enrolments__status="waitlisted")))
        .order_by("-n", "id")
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise LookupError("no upcoming cohort: is talent data loaded?")
    return found


def busiest_course() -> str:
    from talent.models import Cohort

    return Cohort.objects.select_related("course").get(pk=busiest_upcoming_cohort()).course.slug


ENDPOINTS: list[dict] = [
    {
        "name": "training catalogue",
        "path": Url("talent:index"),
        "persona": None,
        "expect_text": 'rel="next"',  # 80 courses, 20 a page
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "training catalogue, seats left",
        "path": Url("talent:index", query="?seats=on&category=large_models"),
        "persona": None,
        "expect_text": "<article",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "training catalogue (member)",
        "path": Url("talent:index"),
        "persona": "member",
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "training course page (member)",
        "path": Url("talent:course_detail", busiest_course),
        "persona": "member",
        "expect_text": "Seats left",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "training cohort page with enrol form (member)",
        "path": Url("talent:cohort_detail", busiest_upcoming_cohort),
        "persona": "member",
        "expect_text": "Enrolment",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "training my learning (member)",
        "path": Url("talent:my_enrolments"),
        "persona": "member",
        "expect_text": "<tbody>",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "training manage cohorts (operator)",
        "path": Url("talent:manage"),
        "persona": "operator",
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "training roster (operator)",
        "path": Url("talent:roster", busiest_upcoming_cohort),
        "persona": "operator",
        "expect_text": "<tbody>",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api training courses",
        "path": Url("api:talent-course-list"),
        "persona": None,
        "expect_text": '"next":"http',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api my enrolments (member)",
        "path": Url("api:talent-my-enrolment-list"),
        "persona": "member",
        "expect_text": '"results":[{',
        "goal_ratio": LIST_GOAL,
    },
]


def measure_enrol(*, people: int = 400, seats: int = 100, threads: int = 16) -> dict:
    """Enrol ``people`` users into a fresh cohort of ``seats`` seats from ``threads`` threads; returns rates.

    Run it from ``manage.py shell`` against the benchmark database:
    ``from bench.endpoints_talent import measure_enrol; print(measure_enrol())``.
    """
    import threading
    import time
    from datetime import timedelta

    from django.db import connections
    from django.utils import timezone

    from accounts.models import User
    from talent import services
    from talent.models import Cohort, Course, Enrolment

    course = Course.objects.published().order_by("id").first()
    now = timezone.now()
    cohort = Cohort.objects.create(
        course=course,
        name="bench enrol",
        starts_on=timezone.localdate() + timedelta(days=30),
        ends_on=timezone.localdate() + timedelta(days=31),
        capacity=seats,
        enrolment_opens_at=now - timedelta(days=1),
        enrolment_closes_at=now + timedelta(days=29),
        status="published",
    )
    users = list(User.objects.filter(is_active=True, is_staff=False).order_by("-id")[:people])
    queue, lock, errors = list(users), threading.Lock(), []

    def work():
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    person = queue.pop()
                services.enrol(cohort, user=person)
        except Exception as error:
            errors.append(repr(error))
        finally:
            connections.close_all()

    started = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    enrolled = Enrolment.objects.filter(cohort=cohort, status="enrolled").count()
    waiting = Enrolment.objects.filter(cohort=cohort, status="waitlisted").count()
    from portal.models import AuditEvent

    AuditEvent.objects.filter(
        target_type__model="enrolment",
        target_id__in=[
            str(pk) for pk in Enrolment.objects.filter(cohort=cohort).values_list("pk", flat=True)
        ],
    ).delete()
    Enrolment.objects.filter(cohort=cohort).delete()
    cohort.delete()
    return {
        "people": len(users),
        "seconds": round(seconds, 2),
        "enrolments_per_second": round(len(users) / seconds, 1),
        "enrolled": enrolled,
        "waitlisted": waiting,
        "capacity_held": enrolled == min(seats, len(users)),
        "errors": errors[:5],
    }
