"""The pages and API endpoints the benchmark measures: add yours here.

Each endpoint is a dict:

``name``
    short unique id, shown in the table and accepted by ``--only``.
``path``
    the URL path with its query string, or a :class:`Url`: a URL name that ``django.urls.reverse`` resolves
    once Django is set up and the data loaded (its arguments may be functions that look ids up in the data).
``persona``
    ``None`` for an anonymous visitor, else a key of ``bench.data.PERSONAS`` (signed in through allauth).
``expect_status``
    the status the endpoint must answer (default 200); a redirect to the login page means a bad session.
``expect_text``
    optional text the body must contain (checked once before measuring), e.g. a sign that the page is full.
``goal_ratio``
    optional: the lowest acceptable req/s as a fraction of the yardstick's; the table flags those below.
``after_change``
    optional: a key of ``bench.changes.CHANGES``; after the endpoint is measured, the harness makes that change
    and times the server's first answer after it (nothing may be slow when cold).
``yardstick``
    True for exactly one endpoint, the smallest Django view, that every other one is compared with.

PERFORMANCE.md asks list pages and list endpoints for at least a quarter of a one-SELECT view; that view makes
about 1,200 req/s against the yardstick's 2,900 here, so a quarter of it is about 0.10 of the yardstick.
"""

LIST_GOAL = 0.10
# Issue #17's goals for the rest: detail (and form) pages 0.08; public pages 0.20; and for every endpoint no more
# than SOLO_MS_GOAL alone and no single query above QUERY_MS_GOAL (``bench/run.py --check``).
DETAIL_GOAL = 0.08
PUBLIC_GOAL = 0.20
SOLO_MS_GOAL = 50.0
QUERY_MS_GOAL = 20.0


def goal_ratio(endpoint: dict) -> float:
    """The endpoint's goal: its own ``goal_ratio`` (lists), else the detail pages'; a visitor's page (not the
    API) at least the public pages' goal."""
    goal = endpoint.get("goal_ratio") or DETAIL_GOAL
    path = endpoint["path"] if isinstance(endpoint["path"], str) else ""
    if endpoint.get("persona") is None and not path.startswith("/api/") and not endpoint.get("api"):
        goal = max(goal, PUBLIC_GOAL)
    return goal


class Url:
    """A path found with ``reverse(name, args=...)`` after the data is loaded, plus ``query``. Arguments that
    are callables are called then: they look ids up in the loaded data (see the functions below)."""

    def __init__(self, name: str, *args, query: str = ""):
        self.name, self.args, self.query = name, args, query

    def resolve(self) -> str:
        from django.urls import reverse

        args = [arg() if callable(arg) else arg for arg in self.args]
        return reverse(self.name, args=args) + self.query

    def __repr__(self) -> str:
        return f"Url({self.name!r}{''.join(f', {a!r}' for a in self.args)})"


def resolve_path(endpoint: dict) -> str:
    """The endpoint's path; raises ``LookupError`` with a readable reason when it cannot be found."""
    from django.urls import NoReverseMatch

    path = endpoint["path"]
    if isinstance(path, str):
        return path
    try:
        return path.resolve()
    except NoReverseMatch as error:
        raise LookupError(f"no URL named {path.name!r} (yet?): {error}") from None


# --- ids of the loaded data, looked up when the paths are resolved ---------------------------------


def first_id(ids, missing: str) -> int:
    """The first of ``ids`` (a values_list query), or a LookupError saying which loaded data is missing."""
    found = ids.first()
    if found is None:
        raise LookupError(missing)
    return found


def member_allocation() -> int:
    """The member persona's active allocation that has run the most jobs."""
    from django.db.models import Count

    from bench.data import PERSONAS  # noqa: PLC0415 - loaded after django.setup() in main()
    from compute.models import Allocation  # noqa: PLC0415 - bench modules load before django.setup()

    found = (
        Allocation.objects.filter(
            organisation__memberships__user__email=PERSONAS["member"].email, status="active"
        )
        .annotate(n=Count("jobs"))
        .order_by("-n", "id")
        .values_list("pk", flat=True)
    )
    return first_id(found, "the member persona has no active allocation: is compute data loaded?")


def busiest_allocation() -> int:
    """The allocation with the most jobs (the heaviest usage chart, top users and job list)."""
    from django.db.models import Count

    from compute.models import Job  # noqa: PLC0415 - bench modules load before django.setup()

    found = (
        Job.objects.filter(allocation__isnull=False)
        .values("allocation_id")
        .annotate(n=Count("id"))
        .order_by("-n", "allocation_id")
        .values_list("allocation_id", flat=True)
    )
    return first_id(found, "no allocation has jobs: is compute data loaded?")


def member_managed_organisation() -> int:
    """An organisation the member persona manages (owner or administrator)."""
    from accounts.models import Membership, MembershipRole  # noqa: PLC0415 - bench modules load before django.setup()
    from bench.data import PERSONAS  # noqa: PLC0415 - loaded after django.setup() in main()

    found = (
        Membership.objects.filter(user__email=PERSONAS["member"].email, role__in=MembershipRole.managing())
        .order_by("organisation_id")
        .values_list("organisation_id", flat=True)
    )
    return first_id(found, "the member persona manages no organisation: is the data loaded?")


def member_owned_organisation() -> int:
    """The verified enterprise the member persona owns (it manages its invitations and domains)."""
    from accounts.models import Membership  # noqa: PLC0415 - bench modules load before django.setup()
    from bench.data import PERSONAS  # noqa: PLC0415 - loaded after django.setup() in main()

    found = Membership.objects.filter(user__email=PERSONAS["member"].email, role="owner").values_list(
        "organisation_id", flat=True
    )
    return first_id(found, "the member persona owns no organisation: is the accounts data loaded?")


def member_onboarding_batch() -> int:
    """A 1,000-row invitation list of the persona's organisation in preview (made once through the service:
    the loaded data has none; a preview sends nothing)."""
    from accounts import onboarding  # noqa: PLC0415 - bench modules load before django.setup()
    from accounts.models import Membership, OnboardingBatch  # noqa: PLC0415
    from bench.data import PERSONAS  # noqa: PLC0415 - loaded after django.setup() in main()

    organisation_id = member_owned_organisation()
    batch = OnboardingBatch.objects.filter(organisation_id=organisation_id, file_name="bench.csv").first()
    if batch is None:
        owner = Membership.objects.select_related("user", "organisation").get(
            organisation_id=organisation_id, user__email=PERSONAS["member"].email
        )
        text = "\n".join(f"bench{i}@example.cn,member,Bench {i}" for i in range(990)) + "\nbad@\n" * 10
        batch = onboarding.preview_batch(
            owner.organisation, by=owner.user, text=text, source="csv", file_name="bench.csv"
        )
    return batch.pk


ENDPOINTS: list[dict] = [
    {"name": "minimal", "path": "/bench/minimal", "persona": None, "expect_text": "ok", "yardstick": True},
    {"name": "healthz", "path": "/healthz", "persona": None, "expect_text": '"status": "ok"'},
    {"name": "home", "path": "/", "persona": None, "after_change": "organisation"},
    {
        "name": "organisations (operator)",
        "path": "/organisations/",
        "persona": "operator",
        # All 10,000 organisations: page 1 of many, so the next-page link is there.
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "organisations (member)",
        "path": "/organisations/",
        "persona": "member",
        "expect_text": "My organisations",
        "goal_ratio": LIST_GOAL,
        "after_change": "membership",
    },
    {
        "name": "api organisations (operator)",
        "path": "/api/v1/organisations/",
        "persona": "operator",
        "expect_text": '"next":"http',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api organisations (member)",
        "path": "/api/v1/organisations/",
        "persona": "member",
        "expect_text": '"my_role":"owner"',
        "goal_ratio": LIST_GOAL,
    },
    # --- compute: ~5,000 requests, ~2,000 allocations, ~200,000 jobs (bench/data_compute.py) ---
    {
        "name": "requests (operator)",
        "path": Url("compute:request_list"),
        "persona": "operator",
        "expect_text": 'rel="next"',  # all requests: page 1 of many
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "requests (member)",
        "path": Url("compute:request_list"),
        "persona": "member",
        "expect_text": "<tbody>",  # the persona's organisations have requests
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "review queue (operator)",
        "path": Url("compute:review_queue"),
        "persona": "operator",
        "expect_text": 'rel="next"',  # hundreds of submitted requests, 20 a page
        "goal_ratio": LIST_GOAL,
        "after_change": "request",
    },
    {
        "name": "allocations (operator)",
        "path": Url("compute:allocation_list"),
        "persona": "operator",
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
        "after_change": "allocation",
    },
    {
        "name": "allocations (member)",
        "path": Url("compute:allocation_list"),
        "persona": "member",
        "expect_text": "<tbody>",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "allocation (member)",
        "path": Url("compute:allocation_detail", member_allocation),
        "persona": "member",
        "expect_text": "list-group-numbered",  # the top users: the allocation has jobs
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "allocation (operator)",
        "path": Url("compute:allocation_detail", busiest_allocation),
        "persona": "operator",
        "expect_text": "list-group-numbered",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api quota requests (operator)",
        "path": Url("api:quota-request-list"),
        "persona": "operator",
        "expect_text": '"next":"http',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api quota requests (member)",
        "path": Url("api:quota-request-list"),
        "persona": "member",
        "expect_text": '"results":[{',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api allocations (operator)",
        "path": Url("api:allocation-list"),
        "persona": "operator",
        "expect_text": '"next":"http',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "allocation people (member)",
        "path": Url("compute:allocation_people", member_allocation),
        "persona": "member",
        "expect_text": 'id="people-policy"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api allocation members (member)",
        "path": Url("api:allocation-members", member_allocation),
        "persona": "member",
        "expect_text": '"cluster_username"',
        "goal_ratio": LIST_GOAL,
    },
    # bulk onboarding and admission by domain (accounts/onboarding.py)
    {
        "name": "invitation lists (member)",
        "path": Url("accounts:onboarding_batches", member_owned_organisation),
        "persona": "member",
        "expect_text": "Invite many people",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "invitation list 1,000 rows (member)",
        "path": Url("accounts:onboarding_batch", member_onboarding_batch),
        "persona": "member",
        "expect_text": "bench0@example.cn",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "invitation list errors (member)",
        "path": Url("accounts:onboarding_batch", member_onboarding_batch, query="?show=errors"),
        "persona": "member",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "domains and requests to join (member)",
        "path": Url("accounts:onboarding_domains", member_owned_organisation),
        "persona": "member",
        "goal_ratio": LIST_GOAL,
    },
    {"name": "organisations to join (member)", "path": Url("accounts:onboarding_join"), "persona": "member"},
    # cluster access (compute/identities/): the person's own page and keys, the managers' and operators' lists
    {
        "name": "my cluster access (member)",
        "path": Url("compute:cluster_access"),
        "persona": "member",
        "expect_text": 'id="allocations-heading"',
    },
    {
        "name": "organisation cluster access (member)",
        "path": Url("compute:organisation_identities", member_managed_organisation),
        "persona": "member",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "cluster identities (operator)",
        "path": Url("compute:identity_list"),
        "persona": "operator",
        "goal_ratio": LIST_GOAL,
    },
    {"name": "api cluster access (member)", "path": Url("api:cluster-access"), "persona": "member"},
    {
        "name": "api ssh keys (member)",
        "path": Url("api:ssh-key-list"),
        "persona": "member",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "api cluster identities (member)",
        "path": Url("api:cluster-identity-list"),
        "persona": "member",
        "goal_ratio": LIST_GOAL,
    },
    {"name": "readyz", "path": "/readyz", "persona": None, "expect_text": '"status"'},
    {"name": "health (operator)", "path": Url("health"), "persona": "operator", "goal_ratio": LIST_GOAL},
    {
        "name": "api tokens (member)",
        "path": Url("accounts:api_tokens"),
        "persona": "member",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "sessions (member)",
        "path": Url("usersessions_list"),
        "persona": "member",
        "goal_ratio": LIST_GOAL,
    },
    {"name": "mobile number (member)", "path": Url("account_change_phone"), "persona": "member"},
    {"name": "sign in by text message (visitor)", "path": Url("account_request_login_code"), "persona": None},
    # --- vouchers, reports and the transparency page (aggregates over the compute data) ---
    {"name": "vouchers (member)", "path": Url("compute:voucher_index"), "persona": "member"},
    {
        "name": "voucher operations (operator)",
        "path": Url("compute:voucher_operations"),
        "persona": "operator",
    },
    {
        "name": "report compute by sector (operator)",
        "path": Url("oversight_report", "compute-by-sector"),
        "persona": "operator",
        "expect_text": "<table",
    },
    {
        "name": "report utilisation (operator)",
        "path": Url("oversight_report", "utilisation"),
        "persona": "operator",
    },
    # The other reports of every platform (the default period: the year so far), and the exports.
    *(
        {"name": f"report {slug} (operator)", "path": Url("oversight_report", slug), "persona": "operator"}
        for slug in (
            "compute-by-type",
            "decision-time",
            "voucher-spend",
            "incubation-funnel",
            "training",
            "alliance",
        )
    ),
    {
        "name": "report compute by sector, CSV (operator)",
        "path": Url("oversight_report", "compute-by-sector", query="?format=csv"),
        "persona": "operator",
    },
    {
        "name": "report compute by sector, Excel (operator)",
        "path": Url("oversight_report", "compute-by-sector", query="?format=xlsx"),
        "persona": "operator",
    },
    {
        "name": "transparency (visitor)",
        "path": Url("transparency"),
        "persona": None,
        "after_change": "transparency",
    },
    {
        "name": "api allocations (member)",
        "path": Url("api:allocation-list"),
        "persona": "member",
        "expect_text": '"results":[{',
        "goal_ratio": LIST_GOAL,
    },
]


def _platform_endpoints() -> list[dict]:
    """Each platform lists its own endpoints in bench/endpoints_<app>.py."""
    from bench import (  # noqa: PLC0415 - they import this module (cycle)
        endpoints_alliance,
        endpoints_jobs,
        endpoints_projects,
        endpoints_talent,
        endpoints_templates,
    )

    return [
        *endpoints_projects.ENDPOINTS,
        *endpoints_alliance.ENDPOINTS,
        *endpoints_talent.ENDPOINTS,
        *endpoints_templates.ENDPOINTS,
        *endpoints_jobs.ENDPOINTS,
    ]


ENDPOINTS += _platform_endpoints()


def validate(endpoints: list[dict]) -> None:
    """Fail early on a typo in the list above."""
    from bench.changes import CHANGES  # noqa: PLC0415
    from bench.data import PERSONAS  # noqa: PLC0415 - loaded after django.setup() in main()

    allowed = {
        "name",
        "path",
        "persona",
        "expect_status",
        "expect_text",
        "goal_ratio",
        "yardstick",
        "after_change",
    }
    names = [e["name"] for e in endpoints]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate endpoint names: {sorted(duplicates)}")
    if sum(bool(e.get("yardstick")) for e in endpoints) != 1:
        raise ValueError("exactly one endpoint must be the yardstick")
    for endpoint in endpoints:
        unknown = set(endpoint) - allowed
        if unknown:
            raise ValueError(f"{endpoint['name']}: unknown keys {sorted(unknown)}")
        path = endpoint["path"]
        if not isinstance(path, Url) and not (isinstance(path, str) and path.startswith("/")):
            raise ValueError(f"{endpoint['name']}: the path must start with / or be a Url")
        if endpoint.get("after_change") and endpoint["after_change"] not in CHANGES:
            raise ValueError(f"{endpoint['name']}: unknown change {endpoint['after_change']!r}")
        if endpoint.get("persona") not in (None, *PERSONAS):
            raise ValueError(f"{endpoint['name']}: unknown persona {endpoint['persona']!r}")
