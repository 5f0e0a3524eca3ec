"""The alliance's report for supervisors and its figure on the public transparency page
(see core/reports.py; registered in alliance/hooks.py)."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OrganisationKind
from alliance.models import AllianceMembership, MembershipStatus
from core.reports import Chart, Report


def alliance_members(start: date, end: date) -> Report:
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


REPORTS = {"alliance": (gettext_lazy("Alliance members by type and joins per year"), alliance_members)}


def transparency_figures(today: date) -> dict:
    return {
        "alliance_members": AllianceMembership.objects.current().values("organisation").distinct().count()
    }
