"""The pages and API endpoints the benchmark measures: add yours here.

Each endpoint is a dict:

``name``
    short unique id, shown in the table and accepted by ``--only``.
``path``
    the URL path with its query string.
``persona``
    ``None`` for an anonymous visitor, else a key of ``bench.data.PERSONAS`` (signed in through allauth).
``expect_status``
    the status the endpoint must answer (default 200); a redirect to the login page means a bad session.
``expect_text``
    optional text the body must contain (checked once before measuring), e.g. a sign that the page is full.
``goal_ratio``
    optional: the lowest acceptable req/s as a fraction of the yardstick's; the table flags those below.
``yardstick``
    True for exactly one endpoint, the smallest Django view, that every other one is compared with.

PERFORMANCE.md asks list pages and list endpoints for at least a quarter of a one-SELECT view; that view makes
about 1,200 req/s against the yardstick's 2,900 here, so a quarter of it is about 0.10 of the yardstick.
"""

LIST_GOAL = 0.10

ENDPOINTS: list[dict] = [
    {"name": "minimal", "path": "/bench/minimal", "persona": None, "expect_text": "ok", "yardstick": True},
    {"name": "healthz", "path": "/healthz", "persona": None, "expect_text": '"status": "ok"'},
    {"name": "home", "path": "/", "persona": None},
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
]


def validate(endpoints: list[dict]) -> None:
    """Fail early on a typo in the list above."""
    from bench.data import PERSONAS

    allowed = {"name", "path", "persona", "expect_status", "expect_text", "goal_ratio", "yardstick"}
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
        if not endpoint["path"].startswith("/"):
            raise ValueError(f"{endpoint['name']}: the path must start with /")
        if endpoint.get("persona") not in (None, *PERSONAS):
            raise ValueError(f"{endpoint['name']}: unknown persona {endpoint['persona']!r}")
