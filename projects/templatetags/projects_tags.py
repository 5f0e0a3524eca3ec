from django import template
from django.db.models import Count, Q

from core.roles import SiteRole, has_site_role, is_operator
from projects.models import OPEN_STATUSES, Application, ApplicationStatus, Call, Project, ReviewAssignment

register = template.Library()


@register.filter
def is_project_reviewer(user) -> bool:
    return has_site_role(user, SiteRole.REVIEWER)


@register.simple_tag
def projects_dashboard(user) -> dict:
    """The dashboard panel's numbers, in a constant number of queries."""
    mine = Application.objects.of_applicant(user).aggregate(
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        more_info=Count("id", filter=Q(status=ApplicationStatus.MORE_INFO)),
    )
    panel = {
        "applications": mine["open"],
        "more_info": mine["more_info"],
        "reviews_open": ReviewAssignment.objects.for_reviewer(user).open().count()
        if has_site_role(user, SiteRole.REVIEWER)
        else 0,
        "projects": Project.objects.for_user(user).count(),
        "open_calls": Call.objects.open().count(),
        "to_screen": Application.objects.filter(status=ApplicationStatus.SUBMITTED).count()
        if is_operator(user)
        else None,
    }
    return panel
