"""What the talent services share: the cohort lock, the rules of who runs a cohort, the learner's mail and
the saving of an enrolment's moves."""

from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from accounts.access import require_operator as require_operator_role
from accounts.models import User
from core.exceptions import NotAllowed
from core.mail import send_templated_mail
from core.roles import is_operator, is_supervisor
from core.states import save_transition
from talent.models import Cohort, Enrolment


def offer_hold() -> timedelta:
    return timedelta(hours=int(getattr(settings, "TALENT_OFFER_HOLD_HOURS", 48)))


def lock_cohort(cohort: Cohort) -> Cohort:
    """The cohort, locked until the transaction ends: every change that takes or frees a seat starts here."""
    return Cohort.objects.select_for_update().select_related("course").get(pk=cohort.pk)


def require_runs(cohort: Cohort, user: User) -> None:
    """Instructors of the cohort and operators run it; supervisors read and change nothing."""
    if is_operator(user):
        return
    if is_supervisor(user):
        raise NotAllowed(_("Supervisors read everything and change nothing."))
    if not cohort.instructors.filter(pk=user.pk).exists():
        raise NotAllowed(_("Only the cohort's instructors and the center's operators may do this."))


def require_operator(user: User) -> None:
    require_operator_role(user, _("Only the center's operators manage the catalogue."))


def mail_learner(enrolment: Enrolment, template: str, **context) -> None:
    send_templated_mail(
        f"talent/email/{template}",
        to=[enrolment.user.email],
        context={
            "enrolment": enrolment,
            "cohort": enrolment.cohort,
            "course": enrolment.cohort.course,
            **context,
        },
    )


def save_new_enrolment(
    enrolment: Enrolment, *, by: User | None, action: str, reason: str = "", organisation=None
) -> Enrolment:
    """Insert an enrolment whose first status a transition method set, and audit its arrival."""
    enrolment.__dict__.pop("_touched", None)  # an insert writes every field
    enrolment.save()
    save_transition(enrolment, None, by=by, action=action, reason=reason, organisation=organisation)
    return enrolment


def take_off(enrolment: Enrolment, *, by: User, reason: str, decided_by: User | None = None) -> str:
    """Withdraw the person from the cohort as ``by`` (saved and audited); returns the status they left.

    ``decided_by`` is who took them off when it was not the person themselves."""
    old = enrolment.withdraw(by=decided_by, reason=reason)
    save_transition(enrolment, old, by=by, action="enrolment.withdraw", reason=reason)
    return old
