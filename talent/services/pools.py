"""Organisation seat pools: seats an organisation reserves in a cohort and assigns to its own members."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import require_manager
from accounts.models import Membership, Organisation, User
from core import audit
from core.exceptions import Conflict, DomainError
from core.roles import sees_all_organisations
from talent.models import Cohort, CohortStatus, Enrolment, EnrolmentStatus, SeatPool
from talent.services.common import lock_cohort, mail_learner, save_new_enrolment, take_off
from talent.services.eligibility import seats_left_in
from talent.services.enrolment import fill_free_seats

NOT_A_MANAGER = gettext_lazy("Only the organisation's owners and administrators manage its seats.")


@transaction.atomic
def reserve_seats(cohort: Cohort, *, organisation: Organisation, seats: int, by: User) -> SeatPool:
    """Set how many seats an organisation holds in a cohort (more takes free seats; fewer gives back unused ones)."""
    cohort = lock_cohort(cohort)
    require_manager(organisation, by, NOT_A_MANAGER)
    if not organisation.is_verified:
        raise DomainError(_("Only verified organisations reserve seats."))
    if cohort.status != CohortStatus.PUBLISHED or cohort.window_state() != "open":
        raise DomainError(_("Seats are reserved while enrolment is open."))
    try:
        seats = int(seats)
    except (TypeError, ValueError):
        raise DomainError(_("Give the number of seats as a whole number.")) from None
    if seats < 0:
        raise DomainError(_("The number of seats cannot be negative."))
    pool = SeatPool.objects.select_for_update().filter(cohort=cohort, organisation=organisation).first()
    before = pool.seats if pool else 0
    used = pool.enrolments.holding_seat().count() if pool else 0
    if seats < used:
        raise Conflict(
            _("%(used)s of these seats are assigned; the pool cannot be smaller than that.") % {"used": used}
        )
    if seats - before > seats_left_in(cohort):
        raise Conflict(_("Only %(left)s seats are free in this cohort.") % {"left": seats_left_in(cohort)})
    if pool is None:
        pool = SeatPool.objects.create(cohort=cohort, organisation=organisation, seats=seats, created_by=by)
    else:
        pool.seats = seats
        pool.save(update_fields=["seats"])
    audit.record(
        "seat_pool.reserve", pool, actor=by, organisation=organisation, changes={"seats": (before, seats)}
    )
    if seats < before:
        fill_free_seats(cohort, actor=by)
    return pool


@transaction.atomic
def assign_pool_seat(pool: SeatPool, *, user: User, by: User) -> Enrolment:
    cohort = lock_cohort(pool.cohort)
    pool = SeatPool.objects.select_for_update().select_related("organisation").get(pk=pool.pk)
    require_manager(pool.organisation, by, NOT_A_MANAGER)
    if not Membership.objects.filter(organisation=pool.organisation, user=user).exists():
        raise DomainError(_("Seats of the organisation go to its own members."))
    if cohort.status != CohortStatus.PUBLISHED or cohort.ends_on < timezone.localdate():
        raise DomainError(_("This cohort does not take enrolments."))
    if sees_all_organisations(user) or cohort.instructors.filter(pk=user.pk).exists():
        raise DomainError(_("Staff and instructors do not take seats in cohorts."))
    if pool.enrolments.holding_seat().count() >= pool.seats:
        raise Conflict(_("All of the organisation's seats in this cohort are assigned."))
    current = Enrolment.objects.active().filter(cohort=cohort, user=user).select_for_update().first()
    if current is not None and current.holds_seat:
        raise Conflict(_("This person already has a seat in this cohort."))
    if current is not None:  # requested or waitlisted: the organisation seat replaces that
        take_off(current, by=by, reason="organisation seat assigned", decided_by=by)
    enrolment = Enrolment(cohort=cohort, user=user, status=EnrolmentStatus.REQUESTED, seat_pool=pool)
    enrolment.enrol(by=by)
    save_new_enrolment(enrolment, by=by, action="enrolment.assign_pool_seat", organisation=pool.organisation)
    mail_learner(enrolment, "enrolled")
    return enrolment
