"""The alliance platform's pages and API endpoints for the benchmark (merged into bench/endpoints.py).

The directory holds ~100,000 members (bench/data_alliance.py). Facet counts and statistics are cached per state
of the directory, so the measured load shows the warm page; the first request of a state (after any change)
computes them: see ``solo ms`` of a run with ``--repeat`` and docs/alliance.md for the cold cost.
"""

from bench.data import PERSONAS
from bench.endpoints import LIST_GOAL, Url


def member_organisation() -> int:
    """The member persona's verified enterprise, an active council member of the alliance."""
    from alliance.models import DirectoryEntry  # bench modules are imported before django.setup()

    found = (
        DirectoryEntry.objects.listed()
        .filter(organisation__memberships__user__email=PERSONAS["member"].email)
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise LookupError(
            "the member persona's organisation is not in the directory: is alliance data loaded?"
        )
    return found


def member_need() -> int:
    from alliance.models import Need  # bench modules are imported before django.setup()

    found = (
        Need.objects.filter(organisation__memberships__user__email=PERSONAS["member"].email, status="open")
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise LookupError("the member persona's organisation has no open need: is alliance data loaded?")
    return found


ENDPOINTS: list[dict] = [
    {
        "name": "alliance directory",
        "path": Url("alliance:index"),
        "persona": None,
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
        "after_change": "directory",
    },
    {
        "name": "alliance directory search (zh)",
        "path": Url("alliance:index", query="?q=%E8%AE%A1%E7%AE%97%E6%9C%BA%E8%A7%86%E8%A7%89"),  # 计算机视觉
        "persona": None,
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "alliance directory search (en, rare)",
        "path": Url("alliance:index", query="?q=shenzhen+medical+technology"),
        "persona": None,
        "expect_text": "card-body",
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "alliance directory filtered",
        "path": Url("alliance:index", query="?city=%E6%B7%B1%E5%9C%B3&kind=enterprise&capability=nlp"),
        "persona": None,
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "alliance directory (member)",
        "path": Url("alliance:index"),
        "persona": "member",
        "expect_text": 'rel="next"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "alliance member profile",
        "path": Url("alliance:member_profile", member_organisation),
        "persona": None,
        "expect_text": "<h1",
    },
    {
        "name": "API alliance directory",
        "path": "/api/v1/alliance/directory/",
        "persona": None,
        "expect_text": '"next"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "API alliance directory search",
        "path": "/api/v1/alliance/directory/?q=%E8%AE%A1%E7%AE%97%E6%9C%BA%E8%A7%86%E8%A7%89&city=%E6%B7%B1%E5%9C%B3",
        "persona": None,
        "expect_text": '"results"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "API alliance directory facets",
        "path": "/api/v1/alliance/directory/facets/",
        "persona": None,
        "expect_text": '"capability"',
    },
    {
        "name": "API my alliance memberships (member)",
        "path": "/api/v1/alliance/memberships/",
        "persona": "member",
        "expect_text": '"results"',
        "goal_ratio": LIST_GOAL,
    },
    {
        "name": "alliance need with matches (member)",
        "path": Url("alliance:need_detail", member_need),
        "persona": "member",
        "expect_text": "<h1",
    },
]
