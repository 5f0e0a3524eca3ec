"""The supervision area (supervisors and operators, with MFA): the reports with charts and CSV/Excel export;
and the public transparency page (aggregates only)."""

import csv
import hashlib
from datetime import date
from io import BytesIO, StringIO

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.formats import localize
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from core import pagecache
from core.reports import DATA, MAX_PERIOD_DAYS
from core.roles import can_read_audit_trail
from portal import reports

# The transparency page's figures are made by a task (portal.tasks.refresh_transparency_task, every
# settings.TRANSPARENCY_REFRESH_MINUTES minutes on beat), never by a visitor: one of them counts every alliance
# membership (0.3 s at bench scale). They are kept well past the next refresh, so a visitor finds them even if a
# refresh is late; only an empty cache (a new deployment) has the first visitor make them.
TRANSPARENCY_KEEP_SECONDS = 6 * 3600


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end must not be before the start."))
            elif (end - start).days > MAX_PERIOD_DAYS:
                self.add_error("end", _("Choose a period of at most five years."))
        return cleaned


def _require_oversight(request) -> None:
    if not can_read_audit_trail(request.user):
        raise PermissionDenied(
            _("The supervision area is for the government's supervisors and the center's operators.")
        )


def _default_period(today: date) -> dict:
    return {"start": today.replace(month=1, day=1), "end": today}


@login_required
def oversight_index(request):
    _require_oversight(request)
    today = timezone.localdate()
    return render(
        request,
        "portal/oversight/index.html",
        {
            "reports": [(slug, title) for slug, (title, _builder) in reports.registered().items()],
            "period": _default_period(today),
        },
    )


@login_required
def report(request, slug):
    _require_oversight(request)
    available = reports.registered()
    if slug not in available:
        raise Http404(_("No such report."))
    today = timezone.localdate()
    form = PeriodForm(
        request.GET if "start" in request.GET or "end" in request.GET else None,
        initial=_default_period(today),
    )
    if form.is_bound and not form.is_valid():
        return render(
            request,
            "portal/oversight/report.html",
            {"form": form, "title": available[slug][0], "slug": slug},
            status=400,
        )
    period = form.cleaned_data if form.is_bound else _default_period(today)
    key = _report_key(slug, period["start"], period["end"])
    export = request.GET.get("format")
    if export == "csv":
        return _csv(_kept_report(key, slug, period)["report"])
    if export == "xlsx":
        kept = _kept_report(key, slug, period)
        # The workbook too is made once for everyone who exports the kept report (openpyxl takes milliseconds).
        workbook = cache.get(f"{key}:xlsx")
        if workbook is None:
            workbook = _workbook(kept["report"])
            cache.set(f"{key}:xlsx", workbook, pagecache.BODY_SECONDS)
        return _xlsx(kept["report"], workbook)
    # The page's body is kept too, per report state, period, minute, language and query (the form shows what
    # was typed): every reader of the supervision area sees the same body, and one seen this minute reads
    # neither the report nor its hundreds of rows again, however many rows it has.
    kept = SimpleLazyObject(lambda: _kept_report(key, slug, period))
    digest = hashlib.sha256(request.GET.urlencode().encode()).hexdigest()[:24]
    return render(
        request,
        "portal/oversight/report.html",
        {
            "form": form,
            "kept": kept,
            "title": available[slug][0],
            "slug": slug,
            "query": f"start={period['start']:%Y-%m-%d}&end={period['end']:%Y-%m-%d}",
            "body_key": f"{key}:{digest}",
        },
    )


def _report_key(slug: str, start: date, end: date) -> str:
    return (
        f"oversight:report:{slug}:{start:%Y%m%d}:{end:%Y%m%d}:{DATA.current()}:{pagecache.minute()}:"
        f"{get_language()}"
    )


def _kept_report(key: str, slug: str, period: dict) -> dict:
    """The report for a period with its table cells and chart ready, built once a minute at most per state of
    what it reads and language (``key``: core.reports.DATA): every supervisor and export of that minute shares
    it."""
    kept = cache.get(key)
    if kept is None:
        result = reports.build(slug, period["start"], period["end"]).settled()
        kept = {
            "report": result,
            "table_rows": _table_rows(result),
            "chart": _chart(result) if result.chart and result.rows else None,
            "as_of": timezone.now(),
        }
        cache.set(key, kept, pagecache.BODY_SECONDS)
    return kept


def _table_rows(result) -> list[str]:
    """Each row's cells as ready HTML, each labelled with its column for narrow screens (what ``{{ cell }}`` in
    a loop printed, for a fraction of the time: a report has hundreds of cells)."""
    columns = [str(column) for column in result.columns]
    return [
        format_html_join("", '<td data-label="{}">{}</td>', zip(columns, map(localize, row), strict=False))
        for row in result.rows
    ]


def _chart(result) -> dict:
    """The chart's geometry, each row's label and bars as ready SVG."""
    geometry = result.chart.geometry()
    geometry["svg_rows"] = [
        format_html(
            '<text x="0" y="{}" class="chart-label" dominant-baseline="middle">{}</text>{}',
            _number(row["text_y"]),
            Truncator(row["label"]).chars(34),
            format_html_join(
                "",
                '<svg x="38%" y="{}" width="60%" height="{}" overflow="visible"><rect class="chart-series-{}"'
                ' x="0" y="0" width="{}%" height="{}"><title>{}: {}</title></rect></svg>',
                (
                    (
                        _number(bar["y"]),
                        _number(bar["height"]),
                        bar["series"],
                        _number(bar["width"]),
                        _number(bar["height"]),
                        row["label"],
                        localize(bar["value"]),
                    )
                    for bar in row["bars"]
                ),
            ),
        )
        for row in geometry["rows"]
    ]
    return geometry


def _number(value) -> str:
    """A number as SVG wants it, whatever the language (the ``unlocalize`` filter)."""
    return str(localize(value, use_l10n=False))


def _filename(result, extension: str) -> str:
    return f"{result.slug}-{result.start:%Y%m%d}-{result.end:%Y%m%d}.{extension}"


def _csv(result) -> HttpResponse:
    buffer = StringIO()
    buffer.write("\ufeff")  # so that spreadsheet programs read the Chinese text as UTF-8
    writer = csv.writer(buffer)
    writer.writerow([str(c) for c in result.columns])
    for row in result.rows:
        writer.writerow(row)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(result, "csv")}"'
    return response


def _workbook(result) -> bytes:
    from openpyxl import Workbook  # heavy optional library, loaded only for an Excel export
    from openpyxl.styles import Font  # heavy optional library, loaded only for an Excel export

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = result.slug[:31]
    sheet.append([str(result.title)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([f"{result.start:%Y-%m-%d} – {result.end:%Y-%m-%d}"])
    sheet.append([])
    sheet.append([str(c) for c in result.columns])
    for cell in sheet[4]:
        cell.font = Font(bold=True)
    for row in result.rows:
        sheet.append(list(row))
    for index, column in enumerate(result.columns, start=1):
        sheet.column_dimensions[sheet.cell(row=4, column=index).column_letter].width = max(
            12, len(str(column)) + 4
        )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx(result, workbook: bytes) -> HttpResponse:
    response = HttpResponse(
        workbook, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(result, "xlsx")}"'
    return response


def transparency_figures(*, refresh: bool = False) -> dict:
    """The transparency page's figures in the current language as last made (``refresh``: made now), with when
    they were made and a stamp naming this making (the page's kept body follows it)."""
    key = f"transparency:figures:{get_language()}"
    kept = None if refresh else cache.get(key)
    if kept is None:
        today = timezone.localdate()
        kept = {
            "figures": reports.transparency(today),
            "made_at": timezone.now(),
            "made": get_random_string(12),
        }
        cache.set(key, kept, TRANSPARENCY_KEEP_SECONDS)
    return kept


def transparency(request):
    """Public: what the center does with public money and machines, in aggregates only. The figures and the
    page's body are made once per refresh (``transparency_figures``): a visit asks the database nothing."""
    kept = transparency_figures()
    return render(
        request,
        "portal/transparency.html",
        {
            "figures": kept["figures"],
            "made_at": kept["made_at"],
            "refresh_minutes": settings.TRANSPARENCY_REFRESH_MINUTES,
            "body_key": kept["made"],
            "body_seconds": TRANSPARENCY_KEEP_SECONDS,
        },
    )
