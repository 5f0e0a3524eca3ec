"""The supervisors' reports across the four platforms, for a chosen period, and the public transparency
figures. Each report is a table (columns and rows) with an optional bar chart; the same table is shown,
exported as CSV and as Excel. Every figure is an aggregate the database computes from the platforms' rows.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from django.db.models import Count, DecimalField, Q, Sum
from django.db.models.functions import Coalesce, ExtractYear
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OrganisationKind, Sector

ZERO = Decimal("0")
MAX_PERIOD_DAYS = 366 * 5


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


def _days(start: date, end: date) -> int:
    return (end - start).days + 1


def _round(value, places="0.01") -> Decimal:
    return Decimal(value or 0).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _percent(part, whole) -> Decimal:
    return _round(Decimal(part) * 100 / Decimal(whole), "0.1") if whole else ZERO


# --- compute ---------------------------------------------------------------------------------------------


def _compute_by(attribute: str, labels: dict, start: date, end: date) -> list[list]:
    from compute.models import Allocation, DailyUsage

    granted = (
        Allocation.objects.filter(start_date__lte=end, end_date__gte=start)
        .values("partition__slug", f"organisation__{attribute}")
        .annotate(granted=Sum("granted_amount"), organisations=Count("organisation", distinct=True))
    )
    used = (
        DailyUsage.objects.filter(day__range=(start, end))
        .values("allocation__partition__slug", f"allocation__organisation__{attribute}")
        .annotate(used=Sum("units"))
    )
    table: dict[tuple, dict] = defaultdict(lambda: {"granted": ZERO, "used": ZERO, "organisations": 0})
    for row in granted:
        key = (row["partition__slug"], row[f"organisation__{attribute}"])
        table[key].update(granted=row["granted"] or ZERO, organisations=row["organisations"])
    for row in used:
        key = (row["allocation__partition__slug"], row[f"allocation__organisation__{attribute}"])
        table[key]["used"] = row["used"] or ZERO
    return [
        [
            partition,
            str(labels.get(value, value)),
            values["organisations"],
            _round(values["granted"]),
            _round(values["used"]),
            _percent(values["used"], values["granted"]),
        ]
        for (partition, value), values in sorted(
            table.items(), key=lambda item: (item[0][0], str(item[0][1]))
        )
    ]


def compute_by_sector(start: date, end: date) -> Report:
    rows = _compute_by("sector", dict(Sector.choices), start, end)
    return Report(
        "compute-by-sector",
        _("Compute granted and used by sector"),
        _(
            "Granted: the quota of allocations whose period overlaps the chosen one. Used: the usage recorded "
            "in the chosen period. In each partition's unit."
        ),
        [_("Partition"), _("Sector"), _("Organisations"), _("Granted"), _("Used"), _("Used %")],
        rows,
        Chart([_("Granted"), _("Used")], [(f"{r[0]} · {r[1]}", [r[3], r[4]]) for r in rows]),
    )


def compute_by_kind(start: date, end: date) -> Report:
    rows = _compute_by("kind", dict(OrganisationKind.choices), start, end)
    return Report(
        "compute-by-type",
        _("Compute granted and used by organisation type"),
        _(
            "Granted: the quota of allocations whose period overlaps the chosen one. Used: the usage recorded "
            "in the chosen period. In each partition's unit."
        ),
        [_("Partition"), _("Organisation type"), _("Organisations"), _("Granted"), _("Used"), _("Used %")],
        rows,
        Chart([_("Granted"), _("Used")], [(f"{r[0]} · {r[1]}", [r[3], r[4]]) for r in rows]),
    )


def utilisation(start: date, end: date) -> Report:
    from compute.models import DailyUsage, Partition

    days = Decimal(_days(start, end))
    used = dict(
        DailyUsage.objects.filter(day__range=(start, end))
        .values("allocation__partition")
        .annotate(total=Sum("units"))
        .values_list("allocation__partition", "total")
    )
    rows = []
    for partition in Partition.objects.order_by("slug"):
        capacity = _round(partition.capacity_per_month * days / Decimal(30))
        amount = _round(used.get(partition.pk) or ZERO)
        rows.append(
            [partition.slug, partition.get_unit_display(), capacity, amount, _percent(amount, capacity)]
        )
    return Report(
        "utilisation",
        _("Utilisation per partition"),
        _("Capacity: the monthly capacity over the chosen days. Used: the usage recorded in them."),
        [_("Partition"), _("Unit"), _("Capacity"), _("Used"), _("Utilisation %")],
        rows,
        Chart([_("Utilisation %")], [(r[0], [r[4]]) for r in rows]),
    )


def decision_time(start: date, end: date) -> Report:
    from compute.models import QuotaRequest, RequestStatus

    decided = QuotaRequest.objects.filter(
        decided_at__date__range=(start, end), submitted_at__isnull=False
    ).values_list("status", "kind", "submitted_at", "decided_at")
    groups: dict[tuple, list[float]] = defaultdict(list)
    for status, kind, submitted, decided_at in decided:
        groups[(status, kind)].append((decided_at - submitted).total_seconds() / 3600)
    labels, kinds = dict(RequestStatus.choices), dict(QuotaRequest._meta.get_field("kind").choices)
    rows = [
        [
            str(labels.get(status, status)),
            str(kinds.get(kind, kind)),
            len(hours),
            _round(sum(hours) / len(hours), "0.1"),
            _round(median(hours), "0.1"),
            _round(max(hours), "0.1"),
        ]
        for (status, kind), hours in sorted(groups.items())
    ]
    return Report(
        "decision-time",
        _("Time from quota request to decision"),
        _("Requests decided in the chosen period: hours from submission to the operator's decision."),
        [_("Decision"), _("Kind"), _("Requests"), _("Average hours"), _("Median hours"), _("Longest hours")],
        rows,
        Chart([_("Median hours")], [(f"{r[0]} · {r[1]}", [r[4]]) for r in rows]),
    )


def voucher_spend(start: date, end: date) -> Report:
    from compute.models import LedgerEntry

    spent = (
        LedgerEntry.objects.filter(kind="redemption", settlement__month__range=(start.replace(day=1), end))
        .values("voucher__scheme__name_zh", "voucher__scheme__name_en", "voucher__organisation__sector")
        .annotate(total=Sum("amount"), organisations=Count("voucher__organisation", distinct=True))
        .order_by("voucher__scheme__name_en", "voucher__organisation__sector")
    )
    from django.utils.translation import get_language

    zh = (get_language() or "en").startswith("zh")
    sectors = dict(Sector.choices)
    rows = [
        [
            row["voucher__scheme__name_zh"] if zh else row["voucher__scheme__name_en"],
            str(sectors.get(row["voucher__organisation__sector"], row["voucher__organisation__sector"])),
            row["organisations"],
            _round(-(row["total"] or ZERO)),
        ]
        for row in spent
    ]
    by_scheme: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        by_scheme[row[0]] += row[3]
    return Report(
        "voucher-spend",
        _("Compute voucher spend by scheme and sector"),
        _("Amounts redeemed from vouchers for usage of the months in the chosen period (CNY)."),
        [_("Scheme"), _("Sector"), _("Organisations"), _("Redeemed (CNY)")],
        rows,
        Chart([_("Redeemed (CNY)")], [(name, [total]) for name, total in by_scheme.items()]),
    )


# --- incubation, training, alliance -------------------------------------------------------------------


def incubation_funnel(start: date, end: date) -> Report:
    from projects.models import Application, ApplicationStatus, Programme, ProjectStatus

    counts = {
        row["call__programme"]: row
        for row in Application.objects.filter(submitted_at__date__range=(start, end))
        .values("call__programme")
        .annotate(
            submitted=Count("pk"),
            accepted=Count("pk", filter=Q(status=ApplicationStatus.ACCEPTED)),
            graduated=Count("pk", filter=Q(project__status=ProjectStatus.GRADUATED)),
        )
    }
    rows = []
    for programme in Programme.objects.order_by("pk"):
        row = counts.get(programme.pk, {"submitted": 0, "accepted": 0, "graduated": 0})
        rows.append(
            [
                str(programme),
                row["submitted"],
                row["accepted"],
                row["graduated"],
                _percent(row["accepted"], row["submitted"]),
            ]
        )
    return Report(
        "incubation-funnel",
        _("Incubation funnel per programme"),
        _(
            "Applications submitted in the chosen period, how many of them were accepted and how many graduated."
        ),
        [_("Programme"), _("Applications"), _("Accepted"), _("Graduated"), _("Accepted %")],
        rows,
        Chart([_("Applications"), _("Accepted"), _("Graduated")], [(r[0], [r[1], r[2], r[3]]) for r in rows]),
    )


def training(start: date, end: date) -> Report:
    from talent.models import Certificate, Course, Enrolment, EnrolmentStatus

    enrolled = dict(
        Enrolment.objects.filter(enrolled_at__date__range=(start, end))
        .values("cohort__course")
        .annotate(n=Count("pk"))
        .values_list("cohort__course", "n")
    )
    completed = dict(
        Enrolment.objects.filter(status=EnrolmentStatus.COMPLETED, completed_at__date__range=(start, end))
        .values("cohort__course")
        .annotate(n=Count("pk"))
        .values_list("cohort__course", "n")
    )
    certified = dict(
        Certificate.objects.filter(issued_on__range=(start, end))
        .values("enrolment__cohort__course")
        .annotate(n=Count("pk"))
        .values_list("enrolment__cohort__course", "n")
    )
    rows = [
        [str(course), enrolled.get(course.pk, 0), completed.get(course.pk, 0), certified.get(course.pk, 0)]
        for course in Course.objects.order_by("pk")
        if course.pk in enrolled or course.pk in completed or course.pk in certified
    ]
    return Report(
        "training",
        _("Training enrolments, completions and certificates"),
        _("Per course: people enrolled, courses completed and certificates issued in the chosen period."),
        [_("Course"), _("Enrolled"), _("Completed"), _("Certificates")],
        rows,
        Chart([_("Enrolled"), _("Completed"), _("Certificates")], [(r[0], r[1:]) for r in rows]),
    )


def alliance_members(start: date, end: date) -> Report:
    from alliance.models import AllianceMembership, MembershipStatus

    kinds = dict(OrganisationKind.choices)
    joins = (
        AllianceMembership.objects.filter(start_date__isnull=False, start_date__lte=end)
        .exclude(status__in=[MembershipStatus.PENDING, MembershipStatus.REJECTED])
        .annotate(year=ExtractYear("start_date"))
        .values("year", "organisation__kind")
        .annotate(n=Count("organisation", distinct=True))
        .order_by("year", "organisation__kind")
    )
    current = dict(
        AllianceMembership.objects.current()
        .values("organisation__kind")
        .annotate(n=Count("organisation", distinct=True))
        .values_list("organisation__kind", "n")
    )
    rows = [
        [
            row["year"],
            str(kinds.get(row["organisation__kind"], row["organisation__kind"])),
            row["n"],
            current.get(row["organisation__kind"], 0),
        ]
        for row in joins
    ]
    per_year: dict[int, int] = defaultdict(int)
    for row in rows:
        per_year[row[0]] += row[2]
    return Report(
        "alliance",
        _("Alliance members by type and joins per year"),
        _(
            "Organisations that joined each year up to the end of the chosen period, by type, and current members."
        ),
        [_("Year"), _("Organisation type"), _("Joined"), _("Current members of this type")],
        rows,
        Chart([_("Joined")], [(str(year), [Decimal(n)]) for year, n in sorted(per_year.items())]),
    )


REPORTS = {
    "compute-by-sector": (gettext_lazy("Compute granted and used by sector"), compute_by_sector),
    "compute-by-type": (gettext_lazy("Compute granted and used by organisation type"), compute_by_kind),
    "utilisation": (gettext_lazy("Utilisation per partition"), utilisation),
    "decision-time": (gettext_lazy("Time from quota request to decision"), decision_time),
    "voucher-spend": (gettext_lazy("Compute voucher spend by scheme and sector"), voucher_spend),
    "incubation-funnel": (gettext_lazy("Incubation funnel per programme"), incubation_funnel),
    "training": (gettext_lazy("Training enrolments, completions and certificates"), training),
    "alliance": (gettext_lazy("Alliance members by type and joins per year"), alliance_members),
}


def build(slug: str, start: date, end: date) -> Report:
    report = REPORTS[slug][1](start, end)
    report.start, report.end = start, end
    return report


# --- the public transparency page ---------------------------------------------------------------------


def transparency(today: date) -> dict:
    """Aggregates only: no name, no organisation, no amount of a single organisation."""
    from alliance.models import AllianceMembership
    from compute.models import Allocation, DailyUsage, LedgerEntry, Partition, Voucher
    from projects.models import Project
    from talent.models import Certificate, Enrolment, EnrolmentStatus

    year_start = today.replace(month=1, day=1)
    last_30 = today - timedelta(days=29)
    partitions = []
    used_30 = dict(
        DailyUsage.objects.filter(day__range=(last_30, today))
        .values("allocation__partition")
        .annotate(total=Sum("units"))
        .values_list("allocation__partition", "total")
    )
    for partition in Partition.objects.filter(is_active=True).order_by("slug"):
        used = used_30.get(partition.pk) or ZERO
        partitions.append(
            {
                "name": partition.display_name,
                "unit": partition.get_unit_display(),
                "capacity": _round(partition.capacity_per_month, "1"),
                "used": _round(used, "1"),
                "percent": _percent(used, partition.capacity_per_month),
            }
        )
    money = DecimalField(max_digits=16, decimal_places=2)
    vouchers = Voucher.objects.filter(granted_on__gte=year_start).aggregate(
        amount=Coalesce(Sum("amount"), ZERO, output_field=money),
        organisations=Count("organisation", distinct=True),
    )
    redeemed = LedgerEntry.objects.filter(kind="redemption", created_at__date__gte=year_start).aggregate(
        total=Coalesce(Sum("amount"), ZERO, output_field=money)
    )["total"]
    return {
        "partitions": partitions,
        "organisations_served": Allocation.objects.filter(end_date__gte=year_start)
        .values("organisation")
        .distinct()
        .count(),
        "vouchers_granted": _round(vouchers["amount"], "1"),
        "voucher_organisations": vouchers["organisations"],
        "vouchers_redeemed": _round(-redeemed, "1"),
        "people_trained": Enrolment.objects.filter(
            status=EnrolmentStatus.COMPLETED, completed_at__date__gte=year_start
        )
        .values("user")
        .distinct()
        .count(),
        "certificates": Certificate.objects.filter(issued_on__gte=year_start).count(),
        "projects_incubated": Project.objects.count(),
        "alliance_members": AllianceMembership.objects.current().values("organisation").distinct().count(),
        "year": today.year,
        "since": last_30,
    }
