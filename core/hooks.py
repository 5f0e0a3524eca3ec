"""The one way an app offers something to the rest of the portal without anyone importing it.

Each app lists what it offers in its ``hooks.py`` (imported at start-up by ``core.apps.CoreConfig``)::

    from core import hooks

    @hooks.register(hooks.PERSONAL_DATA, name="enrolments")
    def enrolments(user): ...

and whoever composes the portal loops over ``hooks.get(NAME)``. A hook is a value (a function, a class, a
dict) with the keyword arguments it was registered with; ``order`` sorts them (lower first, then in the
order the apps are installed).
The hook names, and what each one's value is:
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# What an app holds about a person: ``fn(user) -> JSON-ready data``; ``name=`` is its section of the export.
PERSONAL_DATA = "personal_data"
# Audit action labels: a dict ``{"action": label}``.
AUDIT_LABELS = "audit_labels"
# Templates included by base.html: entries of the staff menu, of the signed-in person's menu, and panels of
# the dashboard (each gets the page's context, with ``user``). An app's entry in the main navigation is its
# config's ``menu_url`` and ``short_name`` (``core.apps.PlatformConfig``).
STAFF_MENU = "staff_menu"
USER_MENU = "user_menu"
DASHBOARD_PANELS = "dashboard_panels"
# Reports for supervisors: a dict ``{slug: (title, fn(start, end) -> core.reports.Report)}``; the supervision
# area lists them by ``order``, then as the dict lists them (slugs are their URLs, so they never change).
OVERSIGHT_REPORTS = "oversight_reports"
# Figures of the public transparency page (aggregates only, nothing about one person or organisation):
# ``fn(today) -> dict`` of the figures the page's template shows by name.
OVERVIEW_FIGURES = "overview_figures"
# Demo data: ``fn(people) -> None``, where ``people`` maps the demo's roles to users; ``order=`` decides who
# goes first (later seeders may use what earlier ones made).
DEMO_DATA = "demo_data"
# REST API routes: the dotted path of a URLconf module whose patterns are mounted under /api/v1/.
API_URLS = "api_urls"
# Prometheus metrics computed at scrape time from the database: ``fn() -> iterable of prometheus_client
# metric families``. ``core.metrics.Scrape`` calls them on every scrape of /metrics: keep each one to a
# query or two.
METRICS = "metrics"
# Readiness checks of /readyz: ``fn(timeout: float) -> dict[str, str]`` mapping a check's name (shown to
# anyone: no secrets, no addresses) to "ok" or "error: <why>"; each answers within ``timeout`` seconds
# and caches what is costly to ask (/readyz is anonymous).
READINESS_CHECKS = "readiness_checks"
# Notices of the demonstration banner shown on every page: ``fn() -> str`` (empty: nothing to say). The
# banner shows while any notice has something to say, for example compute's "the cluster is a fake".
DEMO_NOTICES = "demo_notices"
# Work that should have moved and did not: ``fn(now) -> list of core.sweepers.StuckItem`` (label, object,
# age, action), each older than ``core.sweepers.stuck_before(now)``; ``action()`` re-enqueues it. The
# sweeper task calls the actions; the health page lists the items with their age.
STUCK_WORK = "stuck_work"

_registry: dict[str, list["Hook"]] = defaultdict(list)


@dataclass(frozen=True)
class Hook:
    value: Any
    app: str
    order: int = 0
    options: dict = field(default_factory=dict)

    def __getattr__(self, name):
        try:
            return self.options[name]
        except KeyError:
            raise AttributeError(name) from None


def register(hook_name: str, value: Any = None, /, *, order: int = 0, **options) -> Callable | Any:
    """Register ``value`` under ``hook_name``; without a value, a decorator that registers the function."""

    def add(item):
        app = getattr(item, "__module__", None) or _caller_module()
        hook = Hook(value=item, app=app.split(".")[0], order=order, options=options)
        if hook not in _registry[hook_name]:
            _registry[hook_name].append(hook)
        return item

    if value is None:
        return add
    return add(value)


def _caller_module() -> str:
    import inspect  # only to name the app of a plain value (dicts, menu items); cheap, once at start-up

    frame = inspect.stack()[3]
    return frame.frame.f_globals.get("__name__", "?")


def get(name: str) -> list[Hook]:
    """The hooks registered under ``name``, sorted by their order, then as registered (INSTALLED_APPS order)."""
    return sorted(_registry.get(name, ()), key=lambda hook: hook.order)


def values(name: str) -> list:
    return [hook.value for hook in get(name)]
