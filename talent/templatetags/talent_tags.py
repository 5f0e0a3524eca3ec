from django import template
from django.utils import timezone

from core.roles import SiteRole, has_site_role, is_operator
from talent.models import Certificate, Enrolment, EnrolmentStatus, Session
from talent.pool import searching_organisations

register = template.Library()

PANEL_ROWS = 5


@register.filter
def searches_talent_pool(user) -> bool:
    # Read once per request (the menu is on every page).
    cached = getattr(user, "_searches_talent_pool", None)
    if cached is None:
        cached = user._searches_talent_pool = bool(searching_organisations(user))
    return cached


@register.filter
def teaches_any(user) -> bool:
    return has_site_role(user, SiteRole.INSTRUCTOR) or is_operator(user)


@register.inclusion_tag("talent/partials/dashboard_panel_body.html")
def talent_panel(user):
    """The learner's training on the dashboard, in four queries whatever they hold."""
    if not getattr(user, "is_authenticated", False):
        return {"show": False}
    enrolments = list(
        Enrolment.objects.filter(user=user, status__in=EnrolmentStatus.active())
        .exclude(status__in=[EnrolmentStatus.COMPLETED, EnrolmentStatus.FAILED, EnrolmentStatus.NO_SHOW])
        .with_waitlist_position()
        .select_related("cohort__course")
        .order_by("cohort__starts_on", "id")[:PANEL_ROWS]
    )
    next_session = (
        Session.objects.filter(
            cohort__enrolments__user=user,
            cohort__enrolments__status=EnrolmentStatus.ENROLLED,
            ends_at__gte=timezone.now(),
        )
        .select_related("cohort__course")
        .order_by("starts_at")
        .first()
    )
    certificates = Certificate.objects.filter(enrolment__user=user).count()
    return {
        "show": True,
        "enrolments": enrolments,
        "next_session": next_session,
        "certificates": certificates,
        "teaches": teaches_any(user),
    }
