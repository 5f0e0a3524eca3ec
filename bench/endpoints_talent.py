"""The talent platform's pages and API endpoints for the benchmark (merged into bench/endpoints.py).

The enrol action is a POST and the harness measures GETs: bench/enrol.py drives the enrol service
itself from concurrent threads against the loaded database (each thread its own connection), on a cohort made
for the purpose and removed afterwards, and reports enrolments per second and that capacity held.
"""

from django.db.models import Count, Q
from django.utils import timezone

from bench.endpoints import LIST_GOAL, Url


def busiest_upcoming_cohort() -> int:
    """The published upcoming cohort with the most people waiting (full, with a waitlist)."""
    from talent.models import Cohort  # bench modules are imported before django.setup()

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
    from talent.models import Cohort  # bench modules are imported before django.setup()

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
