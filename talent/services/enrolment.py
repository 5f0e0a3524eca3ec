"""Enrolment: enrol, request and approval, the waitlist and seat offers, withdrawal.

Every change that takes or frees a seat holds the cohort's row lock (``lock_cohort``), so two people never
take the last seat together and the waitlist order is the order in which people reached the lock.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.states import save_transition
from talent.models import Cohort, CohortStatus, Enrolment, EnrolmentStatus
from talent.services.common import (
    lock_cohort,
    mail_learner,
    offer_hold,
    require_runs,
    save_new_enrolment,
    take_off,
)
from talent.services.eligibility import eligibility, learner_facts, seats_left_in


@transaction.atomic
def enrol(cohort: Cohort, *, user: User, code: str = "") -> Enrolment:
    """Enrol a person (or put them on the waitlist, or file their request for approval).

    The cohort row is locked first: two people can never take the last seat together, and the waitlist
    order is the order in which people reached this point.
    """
    facts = learner_facts(user)  # about the person only: read before taking the cohort lock
    cohort = lock_cohort(cohort)
    current = Enrolment.objects.active().filter(cohort=cohort, user=user).first()
    verdict = eligibility(cohort, facts, current=current)
    if not verdict.allowed:
        raise (Conflict if current is not None else DomainError)(verdict.reason)
    if verdict.needs_code and (code or "").strip().upper() != cohort.enrolment_code.strip().upper():
        raise DomainError(_("This enrolment code is not right. Check it with the person who gave it to you."))
    enrolment = Enrolment(cohort=cohort, user=user, status=EnrolmentStatus.REQUESTED)
    if verdict.action == "request":
        save_new_enrolment(enrolment, by=user, action="enrolment.request")
        _notify_instructors_of_request(enrolment)
        return enrolment
    if verdict.action == "enrol":
        enrolment.enrol()
        save_new_enrolment(enrolment, by=user, action="enrolment.enrol")
        mail_learner(enrolment, "enrolled")
    else:
        enrolment.put_on_waitlist()
        save_new_enrolment(enrolment, by=user, action="enrolment.waitlist")
        mail_learner(enrolment, "waitlisted", position=waitlist_position(enrolment))
    return enrolment


def _notify_instructors_of_request(enrolment: Enrolment) -> None:
    emails = list(enrolment.cohort.instructors.values_list("email", flat=True))
    if emails:
        send_templated_mail(
            "talent/email/request_received",
            to=emails,
            context={"enrolment": enrolment, "cohort": enrolment.cohort, "course": enrolment.cohort.course},
        )


def waitlist_position(enrolment: Enrolment) -> int | None:
    if enrolment.status != EnrolmentStatus.WAITLISTED:
        return None
    ahead = (
        Enrolment.objects.filter(cohort_id=enrolment.cohort_id, status=EnrolmentStatus.WAITLISTED)
        .filter(
            Q(waitlisted_at__lt=enrolment.waitlisted_at)
            | Q(waitlisted_at=enrolment.waitlisted_at, id__lt=enrolment.id)
        )
        .count()
    )
    return ahead + 1


def fill_free_seats(cohort: Cohort, *, actor=None) -> list[Enrolment]:
    """Offer free general seats to the waitlist in order. The caller holds the cohort lock."""
    if cohort.status != CohortStatus.PUBLISHED or cohort.ends_on < timezone.localdate():
        return []  # nobody is offered a seat in a cohort that is over
    free = seats_left_in(cohort)
    offered = []
    if free <= 0:
        return offered
    for enrolment in (
        Enrolment.objects.waitlist()
        .filter(cohort=cohort, seat_pool__isnull=True)
        .select_related("user")[:free]
    ):
        old = enrolment.offer(hold=offer_hold())
        save_transition(enrolment, old, by=actor, action="enrolment.offer")
        mail_learner(enrolment, "offered")
        offered.append(enrolment)
    return offered


def accept_offer(enrolment: Enrolment, *, by: User) -> Enrolment:
    """Take the seat held for the person. A late answer expires the offer (and passes the seat on) first."""
    if enrolment.user_id != by.pk:
        raise NotAllowed(_("Only the person offered the seat may accept it."))
    now = timezone.now()
    accepted = _accept_offer(enrolment, by=by, now=now)
    if accepted is None:
        _expire_offers_of(enrolment.cohort_id, now=now)
        raise Conflict(_("This offer has expired and the seat went to the next person on the waitlist."))
    return accepted


@transaction.atomic
def _accept_offer(enrolment: Enrolment, *, by: User, now) -> Enrolment | None:
    lock_cohort(enrolment.cohort)
    enrolment = (
        Enrolment.objects.select_for_update().select_related("cohort__course", "user").get(pk=enrolment.pk)
    )
    if enrolment.status != EnrolmentStatus.OFFERED:
        raise Conflict(_("There is no open seat offer on this enrolment."))
    if enrolment.offer_expires_at <= now:
        return None
    old = enrolment.enrol()
    save_transition(enrolment, old, by=by, action="enrolment.accept_offer")
    mail_learner(enrolment, "enrolled")
    return enrolment


@transaction.atomic
def withdraw(enrolment: Enrolment, *, by: User, reason: str = "") -> Enrolment:
    """The person leaves (or declines an offer), or staff take them off; a freed seat goes to the waitlist."""
    cohort = lock_cohort(enrolment.cohort)
    enrolment = Enrolment.objects.select_for_update().select_related("user").get(pk=enrolment.pk)
    if enrolment.user_id != by.pk:
        require_runs(cohort, by)
        if not (reason or "").strip():
            raise DomainError(_("Say why this person is taken off the cohort."))
    if not enrolment.can_withdraw:
        raise Conflict(
            _("You cannot withdraw from an enrolment that is “%(status)s”.")
            % {"status": enrolment.get_status_display()}
        )
    if enrolment.status == EnrolmentStatus.ENROLLED and cohort.ends_on < timezone.localdate():
        raise Conflict(_("This cohort has ended; ask the instructor to record its outcome instead."))
    freed = enrolment.holds_seat
    take_off(enrolment, by=by, reason=reason, decided_by=by if enrolment.user_id != by.pk else None)
    if enrolment.user_id != by.pk:
        mail_learner(enrolment, "withdrawn_by_staff", reason=reason)
    if freed:
        fill_free_seats(cohort, actor=by)
    return enrolment


@transaction.atomic
def approve_request(enrolment: Enrolment, *, by: User) -> Enrolment:
    """Approve a request: a seat if there is one, else the waitlist (in the order of approval)."""
    cohort = lock_cohort(enrolment.cohort)
    require_runs(cohort, by)
    enrolment = Enrolment.objects.select_for_update().select_related("user").get(pk=enrolment.pk)
    if enrolment.status != EnrolmentStatus.REQUESTED:
        raise Conflict(_("This request has already been decided."))
    if seats_left_in(cohort) > 0:
        old = enrolment.enrol(by=by)
        save_transition(enrolment, old, by=by, action="enrolment.approve")
        mail_learner(enrolment, "enrolled")
    else:
        old = enrolment.put_on_waitlist()
        enrolment.decided_by = by
        save_transition(enrolment, old, by=by, action="enrolment.approve", fields=["decided_by"])
        mail_learner(enrolment, "waitlisted", position=waitlist_position(enrolment))
    return enrolment


@transaction.atomic
def decline_request(enrolment: Enrolment, *, by: User, reason: str) -> Enrolment:
    cohort = lock_cohort(enrolment.cohort)
    require_runs(cohort, by)
    enrolment = Enrolment.objects.select_for_update().select_related("user").get(pk=enrolment.pk)
    old = enrolment.decline(by=by, reason=reason)
    save_transition(enrolment, old, by=by, action="enrolment.decline", reason=enrolment.reason)
    mail_learner(enrolment, "declined")
    return enrolment


def expire_offers(*, now=None) -> int:
    """Expire unanswered offers and pass each seat to the next person (one cohort lock at a time)."""
    now = now or timezone.now()
    count = 0
    due = (
        Enrolment.objects.filter(status=EnrolmentStatus.OFFERED, offer_expires_at__lte=now)
        .order_by("cohort_id")
        .values_list("cohort_id", flat=True)
        .distinct()
    )
    for cohort_id in list(due):
        count += _expire_offers_of(cohort_id, now=now)
    return count


@transaction.atomic
def _expire_offers_of(cohort_id: int, *, now) -> int:
    cohort = Cohort.objects.select_for_update().select_related("course").filter(pk=cohort_id).first()
    if cohort is None:
        return 0
    expired = 0
    for enrolment in Enrolment.objects.select_for_update().filter(
        cohort=cohort, status=EnrolmentStatus.OFFERED, offer_expires_at__lte=now
    ):
        old = enrolment.expire_offer(now=now)
        save_transition(enrolment, old, by=None, action="enrolment.offer_expire")
        mail_learner(enrolment, "offer_expired")
        expired += 1
    fill_free_seats(cohort)
    return expired
