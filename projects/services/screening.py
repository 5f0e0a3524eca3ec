"""The operators' steps on an application: screening, asking for information, the review's start and end,
and the decision (acceptance starts the incubated project)."""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import require_operator
from accounts.models import User
from core.exceptions import DomainError
from core.mail import send_templated_mail
from core.states import save_transition
from projects.benefits import on_project_accepted
from projects.models import DECISION_ACTIONS, OPERATOR, Application, ApplicationStatus, Project
from projects.services.access import applicant_emails, lock_application, site_url

# The operators' steps that pages offer as buttons (name -> where the application goes).
STEPS = {
    "start_screening": ApplicationStatus.SCREENING,
    "start_review": ApplicationStatus.IN_REVIEW,
    "close_review": ApplicationStatus.REVIEW_CLOSED,
}

DEFAULT_DETERMINATIONS = {
    ApplicationStatus.ACCEPTED: gettext_lazy(
        "Congratulations: your application “{title}” has been accepted into the programme “{programme}”. "
        "Your incubated project is set up on the portal, where you will find your mentors, milestones and "
        "benefits. The center will contact you about onboarding."
    ),
    ApplicationStatus.WAITLISTED: gettext_lazy(
        "Thank you for your application “{title}” to the programme “{programme}”. The experts rated it well, "
        "but the places are taken for now: it is on the waiting list, and we will tell you if a place opens."
    ),
    ApplicationStatus.REJECTED: gettext_lazy(
        "Thank you for your application “{title}” to the programme “{programme}”. After review by the experts "
        "it was not accepted this time. We encourage you to apply again to a later call."
    ),
}


def take_step(application: Application, step: str, *, by: User | None) -> Application:
    """One of the ``STEPS`` on a locked application (inside the caller's transaction), audited."""
    old = application.move_as(STEPS[step], role=OPERATOR)
    save_transition(application, old, by=by, action=f"application.{step}")
    return application


@transaction.atomic
def operator_step(application: Application, step: str, *, by: User) -> Application:
    require_operator(by)
    return take_step(lock_application(application), step, by=by)


def start_screening(application: Application, *, by: User) -> Application:
    return operator_step(application, "start_screening", by=by)


def start_review(application: Application, *, by: User) -> Application:
    return operator_step(application, "start_review", by=by)


def close_review(application: Application, *, by: User) -> Application:
    return operator_step(application, "close_review", by=by)


@transaction.atomic
def request_information(application: Application, *, by: User, message: str) -> Application:
    require_operator(by)
    application = lock_application(application)
    old = application.request_information(message=message)
    save_transition(
        application,
        old,
        by=by,
        action="application.request_information",
        reason=application.information_request,
    )
    send_templated_mail(
        "projects/email/information_request",
        to=applicant_emails(application),
        context={"application": application, "url": site_url(application.get_absolute_url())},
    )
    return application


def default_determination(application: Application, decision: str) -> str:
    template = DEFAULT_DETERMINATIONS.get(decision)
    if template is None:
        return ""
    return str(template).format(title=application.title, programme=application.call.programme.title)


@transaction.atomic
def decide_application(
    application: Application, *, by: User, decision: str, message: str = ""
) -> Application:
    """Accept, waitlist or reject with a message to the applicants; acceptance starts the incubated project."""
    require_operator(by)
    application = lock_application(application)
    if decision not in DECISION_ACTIONS:
        raise DomainError(_("Choose accept, waitlist or reject."))
    message = (message or "").strip() or default_determination(application, decision)
    old = application.decide(decision, by=by, message=message)
    save_transition(application, old, by=by, action=f"application.{DECISION_ACTIONS[decision]}")
    project = None
    if decision == ApplicationStatus.ACCEPTED:
        project = _start_project(application, by=by)
    send_templated_mail(
        "projects/email/determination",
        to=applicant_emails(application),
        context={
            "application": application,
            "project": project,
            "url": site_url(application.get_absolute_url()),
        },
    )
    return application


def _start_project(application: Application, *, by: User) -> Project:
    project = Project.objects.create(
        application=application,
        organisation=application.organisation,
        programme=application.call.programme,
        title=application.title,
    )
    save_transition(project, None, by=by, action="project.create")
    on_project_accepted(project, by=by)
    return project
