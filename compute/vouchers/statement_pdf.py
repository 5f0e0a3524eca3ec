"""An organisation's monthly compute statement as a PDF (reportlab), in the active language."""

from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"  # a CID font every PDF reader has: Chinese and Latin text without embedding a file


def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _money(value) -> str:
    return f"{value:,.2f}"


PDF_JOBS = 500  # the rest are in the statement's CSV


def render_statement(report, jobs=()) -> bytes:
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=20, spaceAfter=4)
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13)
    heading = ParagraphStyle("heading", fontName=font, fontSize=11.5, leading=15, spaceBefore=8, spaceAfter=4)
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=_("Compute statement %(month)s") % {"month": f"{report.month:%Y-%m}"},
    )
    style = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("FONTSIZE", (0, 0), (-1, -1), 8.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#adb5bd")),
            ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
    )
    story = [
        Paragraph(_("Compute statement %(month)s") % {"month": f"{report.month:%Y-%m}"}, title),
        Paragraph(report.organisation.display_name, body),
        Paragraph(_("Produced %(when)s") % {"when": f"{timezone.localtime():%Y-%m-%d %H:%M}"}, body),
        Spacer(1, 4 * mm),
        Paragraph(_("Usage and cost"), heading),
    ]
    rows = [
        [_("Allocation"), _("Used"), _("Jobs"), _("Price (CNY)"), _("Cost"), _("Vouchers paid"), _("You pay")]
    ]
    for s in report.settlements:
        rows.append(
            [
                s.allocation.account_name or str(s.allocation_id),
                f"{s.units:,.2f} {s.allocation.partition.get_unit_display()}",
                str(s.jobs),
                f"{s.price_per_unit:,.4f}",
                _money(s.cost),
                _money(s.subsidy),
                _money(s.payable),
            ]
        )
    rows.append([_("Total"), "", "", "", _money(report.cost), _money(report.subsidy), _money(report.payable)])
    story.append(Table(rows, style=style, repeatRows=1))
    jobs = list(jobs[: PDF_JOBS + 1])
    if jobs:
        story.append(Paragraph(_("Jobs"), heading))
        rows = [[_("Job"), _("Allocation"), _("Cluster user"), _("Started"), _("Used"), _("Cost")]]
        for job in jobs[:PDF_JOBS]:
            partition = job.allocation.partition
            rows.append(
                [
                    job.job_id,
                    job.allocation.account_name,
                    job.cluster_user,
                    f"{timezone.localtime(job.start_at):%Y-%m-%d %H:%M}" if job.start_at else "",
                    f"{job.units:,.2f}",
                    _money(partition.cost(job.units)),
                ]
            )
        story.append(Table(rows, style=style, repeatRows=1))
        if len(jobs) > PDF_JOBS:
            story.append(
                Paragraph(
                    _("The first %(n)s jobs are listed; the statement's CSV on the portal has all of them.")
                    % {"n": PDF_JOBS},
                    body,
                )
            )
    if report.redemptions:
        story.append(Paragraph(_("Redeemed from vouchers"), heading))
        rows = [[_("Voucher"), _("Scheme"), _("Allocation"), _("Amount (CNY)")]]
        for entry in report.redemptions:
            rows.append(
                [
                    entry.voucher.code,
                    entry.voucher.scheme.display_name,
                    entry.settlement.allocation.account_name or str(entry.settlement.allocation_id),
                    _money(-entry.amount),
                ]
            )
        story.append(Table(rows, style=style, repeatRows=1))
    if report.vouchers:
        story.append(Paragraph(_("Voucher balances"), heading))
        rows = [[_("Voucher"), _("Scheme"), _("Expires"), _("Granted"), _("Balance now")]]
        for voucher, balance in report.vouchers:
            rows.append(
                [
                    voucher.code,
                    voucher.scheme.display_name,
                    f"{voucher.expires_on:%Y-%m-%d}",
                    _money(voucher.amount),
                    _money(balance),
                ]
            )
        story.append(Table(rows, style=style, repeatRows=1))
    doc.build(story)
    return buffer.getvalue()
