"""The incubation platform's pages and API endpoints for the benchmark (merged into bench/endpoints.py)."""

from django.db.models import Count

from bench.endpoints import LIST_GOAL, Url


def big_call() -> int:
    """The open call with the most applications (its ranking is page 1 of many)."""
    from projects.models import Call  # bench modules are imported before django.setup()

    found = (
        Call.objects.open()
        .annotate(n=Count("applications"))
        .order_by("-n", "id")
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise LookupError("no open call: is projects data loaded?")
    return found


ENDPOINTS: list[dict] = [
    {
        "name": "incubation open calls",
        "path": Url("projects:call_list"),
        "persona": None,
        "expect_text": "card-title",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "incubation call page",
        "path": Url("projects:call_detail", big_call),
        "persona": None,
        "expect_text": "<table",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "incubation ranking (operator)",
        "path": Url("projects:call_ranking", big_call),
        "persona": "operator",
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "incubation applications (operator)",
        "path": Url("projects:operator_applications"),
        "persona": "operator",
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "incubation my applications (member)",
        "path": Url("projects:application_list"),
        "persona": "member",
        "expect_text": "<tbody>",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "incubated projects (operator)",
        "path": Url("projects:project_list"),
        "persona": "operator",
        "expect_text": "<tbody>",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api incubation calls",
        "path": Url("api:incubation-call-list"),
        "persona": None,
        "expect_text": '"results":[{',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api incubation applications (operator)",
        "path": Url("api:incubation-application-list"),
        "persona": "operator",
        "expect_text": '"next":"http',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api incubation applications (member)",
        "path": Url("api:incubation-application-list"),
        "persona": "member",
        "expect_text": '"results":[{',
        "goal_ratio": LIST_GOAL,
    },
]
