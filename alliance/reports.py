"""The alliance's report for supervisors and its figure on the public transparency page
(see core/reports.py; registered in alliance/hooks.py)."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Organisation, OrganisationKind
from alliance.models import AllianceMembership, MembershipStatus
from alliance.services import directory
from core import pagecache
from core.reports import Chart, Report

# The report counts distinct organisations over every membership (100,000 at bench scale, joined to their
# organisations: 200 ms). Its figures are kept per state of the alliance (a save of a membership or an
# organisation starts a new generation; so does a change of the directory's entries, directory.STATE), day and
# end of the period, and the default period's (the year so far) are computed by the directory's warm-up task
# after each change and nightly, not by the first supervisor who looks.
FIGURES = pagecache.Generation("alliance-report")
FIGURES_SECONDS = 26 * 3600


def figures(end: date) -> dict:
    """Organisations that joined per year and type up to ``end``, and current members per type."""
    key = f"alliance:report:{FIGURES.current()}:{directory.generation()}:{timezone.localdate()}:{end}"
    found = cache.get(key)
    if found is None:
        found = _count(end)
        cache.set(key, found, FIGURES_SECONDS)
    return found


def warm() -> None:
    """The default period's figures (up to today), before any supervisor asks."""
    figures(timezone.localdate())


def _count(end: date) -> dict:
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
    return {
        "joins": [(row["year"], row["organisation__kind"], row["n"]) for row in joins],
        "current": current,
    }


def alliance_members(start: date, end: date) -> Report:
    kinds = dict(OrganisationKind.choices)
    counted = figures(end)
    rows = [
        [year, str(kinds.get(kind, kind)), joined, counted["current"].get(kind, 0)]
        for year, kind, joined in counted["joins"]
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


# What the report reads: a save or deletion starts a new generation of the kept reports (core.reports.DATA).
READS = (AllianceMembership, Organisation)

REPORTS = {"alliance": (gettext_lazy("Alliance members by type and joins per year"), alliance_members)}


def transparency_figures(today: date) -> dict:
    return {
        "alliance_members": AllianceMembership.objects.current().values("organisation").distinct().count()
    }
