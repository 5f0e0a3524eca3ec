"""Who may act on an application or an incubated project (the services' checks)."""

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from core.exceptions import NotAllowed
from core.roles import is_operator, is_supervisor
from projects.models import Application, CoApplicant, Project


def refuse_supervisor(user: User) -> None:
    if is_supervisor(user) and not is_operator(user):
        raise NotAllowed(_("Supervisors read everything and change nothing."))


def is_member(organisation_id: int, user: User) -> bool:
    return Membership.objects.filter(organisation_id=organisation_id, user=user).exists()


def is_applicant(application: Application, user: User) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        is_member(application.organisation_id, user)
        or CoApplicant.objects.filter(application=application, user=user).exists()
    )


def require_applicant(application: Application, user: User) -> None:
    refuse_supervisor(user)
    if not is_applicant(application, user):
        raise NotAllowed(_("Only the applicants may change this application."))


def require_team(project: Project, user: User) -> None:
    refuse_supervisor(user)
    if not project.is_team_member(user):
        raise NotAllowed(_("Only the project's team may do this."))


def require_mentor_or_operator(project: Project, user: User) -> None:
    if not is_operator(user) and not project.is_mentor(user):
        raise NotAllowed(_("Only the project's mentors and the center's operators may do this."))


def require_assigned_reviewer(assignment, user: User) -> None:
    if assignment.reviewer_id != user.pk:
        raise NotAllowed(_("Only the assigned reviewer may do this."))


def lock_application(application: Application) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("call__programme", "organisation")
        .get(pk=application.pk)
    )


def team_emails(organisation_id: int) -> list[str]:
    return list(
        Membership.objects.filter(organisation_id=organisation_id).values_list("user__email", flat=True)
    )


def applicant_emails(application: Application) -> list[str]:
    co = CoApplicant.objects.filter(application=application).values_list("user__email", flat=True)
    return team_emails(application.organisation_id) + list(co)


def site_url(path: str) -> str:
    return settings.SITE_URL + path
