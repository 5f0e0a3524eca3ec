"""The algorithm catalogue's pages and API endpoints for the benchmark (merged into bench/endpoints.py); the
data is bench/data_templates.py (48 published templates of 60)."""

from bench.endpoints import LIST_GOAL, Url


def published_template() -> str:
    from compute.models import JobTemplate  # bench modules are imported before django.setup()

    slug = JobTemplate.objects.published().order_by("slug").values_list("slug", flat=True).first()
    if slug is None:
        raise LookupError("no published job template: is the catalogue loaded?")
    return slug


ENDPOINTS: list[dict] = [
    {
        "name": "job templates (member)",
        "path": Url("compute:job_template_list"),
        "persona": "member",
        "expect_text": "Benchmark template 1<",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "job templates, one kind (member)",
        "path": Url("compute:job_template_list", query="?kind=pytorch"),
        "persona": "member",
        "expect_text": "<article",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "job template page (member)",
        "path": Url("compute:job_template_detail", published_template),
        "persona": "member",
        "expect_text": "Learning rate",
    },
    {
        "name": "job templates (operator)",
        "path": Url("compute:job_template_operations"),
        "persona": "operator",
        "expect_text": "<tbody>",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api job templates (member)",
        "path": Url("api:job-template-list"),
        "persona": "member",
        "expect_text": '"parameters":[{',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api job template (member)",
        "path": Url("api:job-template-detail", published_template),
        "persona": "member",
        "expect_text": '"default_resources":{',
    },
]
