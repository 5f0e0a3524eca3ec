"""The supervisors' reports and the public transparency figures, gathered from what the platforms registered
(``core.hooks.OVERSIGHT_REPORTS`` and ``core.hooks.OVERVIEW_FIGURES``; each platform's lives in its
``reports.py``, the shapes in core/reports.py)."""

from collections.abc import Callable
from datetime import date

from core import hooks
from core.reports import Report


def registered() -> dict[str, tuple[str, Callable[[date, date], Report]]]:
    """Every report by slug: ``(title, fn(start, end) -> Report)``, in the order the index lists them."""
    found: dict = {}
    for platform_reports in hooks.values(hooks.OVERSIGHT_REPORTS):
        found.update(platform_reports)
    return found


def build(slug: str, start: date, end: date) -> Report:
    report = registered()[slug][1](start, end)
    report.start, report.end = start, end
    return report


def transparency(today: date) -> dict:
    """Aggregates only: no name, no organisation, no amount of a single organisation."""
    figures: dict = {"year": today.year}
    for platform_figures in hooks.values(hooks.OVERVIEW_FIGURES):
        figures.update(platform_figures(today))
    return figures
