"""The compute service's reports for supervisors and its figures on the public transparency page
(see core/reports.py; registered in compute/hooks.py)."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from statistics import median

from django.db.models import Count, DecimalField, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation, OrganisationKind, Sector
from compute.models import (
    Allocation,
    LedgerEntry,
    Partition,
    QuotaRequest,
    RequestStatus,
    Settlement,
    Voucher,
    VoucherScheme,
)
from compute.services.capacity import usage_between, usage_by_partition
from core.reports import ZERO, Chart, Report, days, percent, rounded
from core.text import bilingual


def _compute_by(attribute: str, labels: dict, start: date, end: date) -> list[list]:
    granted = (
        Allocation.objects.filter(start_date__lte=end, end_date__gte=start)
        .values("partition__slug", f"organisation__{attribute}")
        .annotate(granted=Sum("granted_amount"), organisations=Count("organisation", distinct=True))
    )
    used = usage_between(start, end, "allocation__partition__slug", f"allocation__organisation__{attribute}")
    table: dict[tuple, dict] = defaultdict(lambda: {"granted": ZERO, "used": ZERO, "organisations": 0})
    for row in granted:
        key = (row["partition__slug"], row[f"organisation__{attribute}"])
        table[key].update(granted=row["granted"] or ZERO, organisations=row["organisations"])
    for key, units in used.items():
        table[key]["used"] = units
    return [
        [
            partition,
            str(labels.get(value, value)),
            values["organisations"],
            rounded(values["granted"]),
            rounded(values["used"]),
            percent(values["used"], values["granted"]),
        ]
        for (partition, value), values in sorted(
            table.items(), key=lambda item: (item[0][0], str(item[0][1]))
        )
    ]


def _granted_and_used(slug: str, title: str, group_label: str, rows: list[list]) -> Report:
    return Report(
        slug,
        title,
        _(
            "Granted: the quota of allocations whose period overlaps the chosen one. Used: the usage recorded "
            "in the chosen period. In each partition's unit."
        ),
        [_("Partition"), group_label, _("Organisations"), _("Granted"), _("Used"), _("Used %")],
        rows,
        Chart([_("Granted"), _("Used")], [(f"{r[0]} · {r[1]}", [r[3], r[4]]) for r in rows]),
    )


def compute_by_sector(start: date, end: date) -> Report:
    rows = _compute_by("sector", dict(Sector.choices), start, end)
    return _granted_and_used("compute-by-sector", _("Compute granted and used by sector"), _("Sector"), rows)


def compute_by_kind(start: date, end: date) -> Report:
    rows = _compute_by("kind", dict(OrganisationKind.choices), start, end)
    return _granted_and_used(
        "compute-by-type",
        _("Compute granted and used by organisation type"),
        _("Organisation type"),
        rows,
    )


def utilisation(start: date, end: date) -> Report:
    period_days = Decimal(days(start, end))
    used = usage_by_partition(start, end)
    rows = []
    for partition in Partition.objects.order_by("slug"):
        capacity = rounded(partition.capacity_per_month * period_days / Decimal(30))
        amount = rounded(used.get(partition.pk) or ZERO)
        rows.append(
            [partition.slug, partition.get_unit_display(), capacity, amount, percent(amount, capacity)]
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
            rounded(sum(hours) / len(hours), "0.1"),
            rounded(median(hours), "0.1"),
            rounded(max(hours), "0.1"),
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
    spent = (
        LedgerEntry.objects.filter(kind="redemption", settlement__month__range=(start.replace(day=1), end))
        .values("voucher__scheme__name_zh", "voucher__scheme__name_en", "voucher__organisation__sector")
        .annotate(total=Sum("amount"), organisations=Count("voucher__organisation", distinct=True))
        .order_by("voucher__scheme__name_en", "voucher__organisation__sector")
    )
    sectors = dict(Sector.choices)
    rows = [
        [
            bilingual(row["voucher__scheme__name_zh"], row["voucher__scheme__name_en"]),
            str(sectors.get(row["voucher__organisation__sector"], row["voucher__organisation__sector"])),
            row["organisations"],
            rounded(-(row["total"] or ZERO)),
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


REPORTS = {
    "compute-by-sector": (gettext_lazy("Compute granted and used by sector"), compute_by_sector),
    "compute-by-type": (gettext_lazy("Compute granted and used by organisation type"), compute_by_kind),
    "utilisation": (gettext_lazy("Utilisation per partition"), utilisation),
    "decision-time": (gettext_lazy("Time from quota request to decision"), decision_time),
    "voucher-spend": (gettext_lazy("Compute voucher spend by scheme and sector"), voucher_spend),
}


# What these reports read: a save or deletion starts a new generation of the kept reports (core.reports.DATA);
# the usage refresh, which writes the daily and monthly sums in bulk, starts one itself (compute/usage.py).
READS = (Organisation, Allocation, Partition, QuotaRequest, Voucher, VoucherScheme, Settlement, LedgerEntry)


def transparency_figures(today: date) -> dict:
    """The last 30 days' use of each active partition; this year's organisations served and vouchers."""
    year_start = today.replace(month=1, day=1)
    last_30 = today - timedelta(days=29)
    used_30 = usage_by_partition(last_30, today)
    partitions = []
    for partition in Partition.objects.filter(is_active=True).order_by("slug"):
        used = used_30.get(partition.pk) or ZERO
        partitions.append(
            {
                "name": partition.display_name,
                "unit": partition.get_unit_display(),
                "capacity": rounded(partition.capacity_per_month, "1"),
                "used": rounded(used, "1"),
                "percent": percent(used, partition.capacity_per_month),
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
        "vouchers_granted": rounded(vouchers["amount"], "1"),
        "voucher_organisations": vouchers["organisations"],
        "vouchers_redeemed": rounded(-redeemed, "1"),
        "since": last_30,
    }
