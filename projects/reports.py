"""The incubation platform's report for supervisors and its figure on the public transparency page
(see core/reports.py; registered in projects/hooks.py)."""

from datetime import date

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.reports import Chart, Report, percent
from projects.models import Application, ApplicationStatus, Programme, Project, ProjectStatus


def incubation_funnel(start: date, end: date) -> Report:
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
                percent(row["accepted"], row["submitted"]),
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


# What the report reads: a save or deletion starts a new generation of the kept reports (core.reports.DATA).
READS = (Application, Programme, Project)

REPORTS = {"incubation-funnel": (gettext_lazy("Incubation funnel per programme"), incubation_funnel)}


def transparency_figures(today: date) -> dict:
    return {"projects_incubated": Project.objects.count()}
