"""The catalogue (operators): programmes, courses, sessions and cohorts, their status, and the alliance
members told when a course answering their talent need opens."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, MembershipRole, User
from alliance.models import NeedStatus
from core import audit
from core.exceptions import Conflict, DomainError
from core.mail import send_templated_mail
from core.roles import SiteRole, has_site_role
from core.states import save_transition
from talent.models import Cohort, CohortStatus, Enrolment, NeedNotice, Session, random_code
from talent.services.common import lock_cohort, mail_learner, require_operator, take_off
from talent.services.enrolment import fill_free_seats


@transaction.atomic
def save_catalogue_object(instance, *, by: User, changed: list[str], m2m: dict | None = None):
    """Create or change a programme, course or session from an operator form (audited)."""
    require_operator(by)
    created = instance.pk is None
    if isinstance(instance, Session) and created and not instance.checkin_code:
        instance.checkin_code = random_code(6)
    instance.full_clean()
    instance.save()
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)
    label = {"programme": "training_programme"}.get(instance._meta.model_name, instance._meta.model_name)
    _audit_saved(instance, label, created=created, changed=changed, by=by)
    if "answers_needs" in (m2m or {}):
        # Needs linked to a course whose cohort is already open are told now.
        for cohort in instance.cohorts.filter(
            status=CohortStatus.PUBLISHED, enrolment_closes_at__gt=timezone.now()
        ):
            notify_needs(cohort)
    return instance


def _audit_saved(instance, label: str, *, created: bool, changed: list[str], by: User) -> None:
    audit.record(
        f"{label}.{'create' if created else 'update'}",
        instance,
        actor=by,
        changes={name: (None, str(getattr(instance, name, ""))) for name in changed},
    )


@transaction.atomic
def save_cohort(cohort: Cohort, *, by: User, changed: list[str], instructors=None) -> Cohort:
    """Create or change a cohort; more seats go to the waitlist at once."""
    require_operator(by)
    if cohort.pk:
        lock_cohort(cohort)
    if instructors is not None:
        not_instructors = [u for u in instructors if not has_site_role(u, SiteRole.INSTRUCTOR)]
        if not_instructors:
            raise DomainError(
                _("%(people)s do not have the instructor role.")
                % {"people": ", ".join(u.email for u in not_instructors)}
            )
    created = cohort.pk is None
    cohort.full_clean()
    cohort.save()
    if instructors is not None:
        cohort.instructors.set(instructors)
    _audit_saved(cohort, "cohort", created=created, changed=changed, by=by)
    if not created:
        fill_free_seats(cohort, actor=by)
    notify_needs(cohort)
    return cohort


@transaction.atomic
def set_cohort_status(cohort: Cohort, *, status: str, by: User, reason: str = "") -> Cohort:
    """Publish, unpublish or cancel a cohort (finishing is ``complete_cohort``)."""
    require_operator(by)
    cohort = lock_cohort(cohort)
    if status == CohortStatus.FINISHED:
        raise Conflict(
            _("Complete the cohort from its roster, so that outcomes and certificates are recorded.")
        )
    if status == CohortStatus.CANCELLED and not (reason or "").strip():
        raise DomainError(_("Say why the cohort is cancelled; the people enrolled are told."))
    old = cohort.move_to(status)
    save_transition(cohort, old, by=by, action="cohort.status", reason=reason)
    if status == CohortStatus.CANCELLED:
        for enrolment in Enrolment.objects.withdrawable().filter(cohort=cohort).select_related("user"):
            take_off(enrolment, by=by, reason=reason, decided_by=by)
            mail_learner(enrolment, "cohort_cancelled", reason=reason)
    elif status == CohortStatus.PUBLISHED:
        fill_free_seats(cohort, actor=by)
        notify_needs(cohort)
    return cohort


def notify_needs(cohort: Cohort) -> int:
    """Tell the alliance members whose open talent needs the cohort's course answers that it opened (once
    per need and cohort); returns how many were told."""
    if cohort.status != CohortStatus.PUBLISHED:
        return 0
    told = 0
    for need in cohort.course.answers_needs.filter(status=NeedStatus.OPEN).select_related("organisation"):
        notice, created = NeedNotice.objects.get_or_create(need=need, cohort=cohort)
        if not created:
            continue
        audit.record(
            "need.training_offered",
            need,
            organisation=need.organisation,
            changes={"cohort": (None, str(cohort))},
        )
        managers = Membership.objects.filter(
            organisation=need.organisation, role__in=MembershipRole.managing()
        ).values_list("user__email", flat=True)
        send_templated_mail(
            "talent/email/need_answered",
            to=list(managers),
            context={
                "need": need,
                "cohort": cohort,
                "course": cohort.course,
                "url": settings.SITE_URL + cohort.get_absolute_url(),
            },
        )
        told += 1
    return told
