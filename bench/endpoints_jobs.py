"""Jobs from the browser for the benchmark (merged into bench/endpoints.py): "My jobs" with 200 jobs in the
(fake) scheduler's queue (bench/data_queue.py), the organisation's and the operators' views, the API, the job
form and a job's page. The scheduler's answer is cached briefly and shared per organisation
(JOB_QUEUE_CACHE_SECONDS), and so is the page made from it for one viewer (compute/jobs/queue.py: shown): the list
pages measure that, and "my jobs" also the first look after a submission (the answer and pages forgotten)."""

from bench.data_queue import N_JOBS
from bench.endpoints import LIST_GOAL, Url


def queued_job_cluster() -> str:
    from compute.models import Allocation  # bench modules are imported before django.setup()

    allocation = Allocation.objects.filter(account_name__isnull=False).select_related("partition").first()
    return allocation.partition.cluster if allocation else "aicc"


def first_queued_job() -> str:
    return "900001"  # the member's own (bench/data_queue.py)


ENDPOINTS: list[dict] = [
    {
        "name": f"my jobs, {N_JOBS} queued (member)",
        "path": Url("compute:job_list"),
        "persona": "member",
        "expect_text": "train-1",
        "goal_ratio": LIST_GOAL,
        "after_change": "queue",
    },
    {
        "name": "organisation jobs (member)",
        "path": Url("compute:job_list", query="?scope=organisation"),
        "persona": "member",
        "expect_text": "colleague",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "all jobs (operator)",
        "path": Url("compute:job_list", query="?scope=all"),
        "persona": "operator",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api jobs (member)",
        "path": Url("api:job-list"),
        "persona": "member",
        "expect_text": '"jobs"',
        "goal_ratio": LIST_GOAL,
    },
    {"name": "new job form (member)", "path": Url("compute:job_submit"), "persona": "member"},
    {
        "name": "job page (member)",
        "path": Url("compute:job_detail", queued_job_cluster, first_queued_job),
        "persona": "member",
        "expect_text": "train-1",
    },
]
