"""The training platform's report for supervisors and its figures on the public transparency page
(see core/reports.py; registered in talent/hooks.py)."""

from datetime import date

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.reports import Chart, Report
from talent.models import Certificate, Course, Enrolment, EnrolmentStatus


def _per_course(rows, course_field: str) -> dict[int, int]:
    return dict(rows.values(course_field).annotate(n=Count("pk")).values_list(course_field, "n"))


def training(start: date, end: date) -> Report:
    enrolled = _per_course(Enrolment.objects.filter(enrolled_at__date__range=(start, end)), "cohort__course")
    completed = _per_course(
        Enrolment.objects.filter(status=EnrolmentStatus.COMPLETED, completed_at__date__range=(start, end)),
        "cohort__course",
    )
    certified = _per_course(
        Certificate.objects.filter(issued_on__range=(start, end)), "enrolment__cohort__course"
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


# What the report reads: a save or deletion starts a new generation of the kept reports (core.reports.DATA).
READS = (Enrolment, Certificate, Course)

REPORTS = {"training": (gettext_lazy("Training enrolments, completions and certificates"), training)}


def transparency_figures(today: date) -> dict:
    """People who completed a course this year, and certificates issued this year."""
    year_start = today.replace(month=1, day=1)
    return {
        "people_trained": Enrolment.objects.filter(
            status=EnrolmentStatus.COMPLETED, completed_at__date__gte=year_start
        )
        .values("user")
        .distinct()
        .count(),
        "certificates": Certificate.objects.filter(issued_on__gte=year_start).count(),
    }
