"""What a supervisors' report is, for the apps that write them (``<app>/reports.py``) and the portal that shows
them: a table (columns and rows) with an optional bar chart, for a chosen period. The portal shows the same
table as a page, a CSV and an Excel file; every figure is an aggregate the database computes.

An app offers its reports through ``core.hooks.OVERSIGHT_REPORTS`` and its part of the public transparency
page through ``core.hooks.OVERVIEW_FIGURES``.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.functional import Promise

from core import pagecache

ZERO = Decimal("0")
MAX_PERIOD_DAYS = 366 * 5

# The state of what the reports read. A built report is kept for a minute per period and language
# (portal/oversight.py); a save or deletion of a model a report reads starts a new generation (each platform
# follows its models in its hooks.py), and so does the usage refresh, which writes in bulk. Changes that send
# no signal show within the minute.
DATA = pagecache.Generation("oversight-reports")


def _settled(value):
    """A translated text as the plain string of the current language (a lazy one would be translated again,
    in whatever language, wherever it is shown next)."""
    return str(value) if isinstance(value, Promise) else value


@dataclass
class Chart:
    """Bars for one numeric column per row label; drawn by the template as inline SVG."""

    series: list[str]  # names of the series (one colour each)
    bars: list[tuple[str, list[Decimal]]]  # (row label, one value per series)

    def geometry(self) -> dict:
        peak = max((v for _label, values in self.bars for v in values), default=ZERO) or Decimal(1)
        row_height, bar_height = 18 * len(self.series) + 10, 16
        rows = []
        for index, (label, values) in enumerate(self.bars):
            top = index * row_height
            rows.append(
                {
                    "label": label,
                    "y": top,
                    "text_y": top + row_height / 2,
                    "bars": [
                        {
                            "series": s,
                            "y": top + 4 + s * 18,
                            "height": bar_height,
                            "width": float(v / peak * 100),
                            "value": v,
                        }
                        for s, v in enumerate(values)
                    ],
                }
            )
        return {"rows": rows, "height": max(row_height * len(self.bars), 20), "series": self.series}


@dataclass
class Report:
    slug: str
    title: str
    description: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    chart: Chart | None = None
    start: date | None = None
    end: date | None = None

    def settled(self) -> "Report":
        """A copy whose texts are plain strings of the current language: what may be kept and shown later."""
        chart = self.chart
        if chart is not None:
            chart = Chart(
                [_settled(name) for name in chart.series],
                [(_settled(label), list(values)) for label, values in chart.bars],
            )
        return replace(
            self,
            title=_settled(self.title),
            description=_settled(self.description),
            columns=[_settled(column) for column in self.columns],
            rows=[[_settled(cell) for cell in row] for row in self.rows],
            chart=chart,
        )


def days(start: date, end: date) -> int:
    """The number of days of a period, both ends included."""
    return (end - start).days + 1


def rounded(value, places="0.01") -> Decimal:
    return Decimal(value or 0).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def percent(part, whole) -> Decimal:
    return rounded(Decimal(part) * 100 / Decimal(whole), "0.1") if whole else ZERO
