"""Use cases of the talent platform: enrolment with capacity and waitlists, running cohorts, certificates.

Capacity is enforced under concurrency: every change that takes or frees a seat first locks the cohort row
(``select_for_update``), so concurrent enrolments are serialised and the seat count read under the lock is
the truth. Pages, the API, the admin and the tasks all call these functions.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    Membership,
    MembershipRole,
    Organisation,
    OrganisationKind,
    User,
    VerificationStatus,
)
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.roles import SiteRole, has_site_role, is_operator, is_supervisor, sees_all_organisations
from talent.models import (
    Access,
    Attendance,
    AttendanceMethod,
    Audience,
    Certificate,
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    NeedNotice,
    SeatPool,
    Session,
    random_code,
)

MAX_CSV_ROWS = 2000
MAX_CSV_BYTES = 1024 * 1024


def offer_hold() -> timedelta:
    return timedelta(hours=int(getattr(settings, "TALENT_OFFER_HOLD_HOURS", 48)))


# --- who may enrol -------------------------------------------------------------------------------------


@dataclass
class LearnerFacts:
    """What the audience rules need to know about a person, read once per request."""

    user: User | None
    is_student: bool = False
    is_member_employee: bool = False
    is_staff: bool = False
    is_instructor: bool = False
    member_organisation_ids: frozenset = field(default_factory=frozenset)

    @property
    def signed_in(self) -> bool:
        return self.user is not None


def current_alliance_organisation_ids(organisation_ids) -> set[int]:
    """Which of these organisations are current alliance members (active or in their grace period)."""
    from alliance.models import AllianceMembership

    return set(
        AllianceMembership.objects.current()
        .filter(organisation_id__in=list(organisation_ids))
        .values_list("organisation_id", flat=True)
    )


def learner_facts(user) -> LearnerFacts:
    if not getattr(user, "is_authenticated", False):
        return LearnerFacts(user=None)
    memberships = list(
        Membership.objects.filter(user=user).values_list(
            "organisation_id", "organisation__kind", "organisation__verification_status"
        )
    )
    organisation_ids = frozenset(m[0] for m in memberships)
    is_student = any(
        kind == OrganisationKind.UNIVERSITY and status == VerificationStatus.VERIFIED
        for _pk, kind, status in memberships
    )
    is_member_employee = bool(organisation_ids) and bool(current_alliance_organisation_ids(organisation_ids))
    return LearnerFacts(
        user=user,
        is_student=is_student,
        is_member_employee=is_member_employee,
        is_staff=sees_all_organisations(user),
        is_instructor=has_site_role(user, SiteRole.INSTRUCTOR),
        member_organisation_ids=organisation_ids,
    )


@dataclass(frozen=True)
class Verdict:
    """What the person may do on a cohort: ``action`` is enrol, request, waitlist or "" (with ``reason``)."""

    action: str
    reason: str = ""
    needs_code: bool = False

    @property
    def allowed(self) -> bool:
        return bool(self.action)


def audience_refusal(cohort: Cohort, facts: LearnerFacts) -> str:
    """Why the person is outside the cohort's audience ("" when they are inside it)."""
    if cohort.audience == Audience.STUDENTS and not facts.is_student:
        return _(
            "This cohort is for students only: members of a verified university on this portal. "
            "Join your university's organisation here (ask its administrator to invite you)."
        )
    if cohort.audience == Audience.MEMBER_EMPLOYEES and not facts.is_member_employee:
        return _(
            "This cohort is for employees of current alliance members. Your organisation must be a member of "
            "the industry alliance, and you a member of your organisation on this portal."
        )
    if cohort.audience == Audience.ALLOWLIST and not cohort.allowlisted(facts.user.email):
        return _("This cohort is by invitation: your email address is not on its list.")
    return ""


def eligibility(
    cohort: Cohort,
    facts: LearnerFacts,
    *,
    current: Enrolment | None = None,
    seats_left: int | None = None,
    now=None,
) -> Verdict:
    """Whether and how ``facts.user`` may enrol in ``cohort``; the reason is shown where "Enrol" would be."""
    if not facts.signed_in:
        return Verdict("", _("Sign in or create an account to enrol."))
    if current is not None and current.is_active:
        return Verdict(
            "",
            _("You are already in this cohort (%(status)s).") % {"status": current.get_status_display()},
        )
    if cohort.status != CohortStatus.PUBLISHED:
        return Verdict("", _("This cohort does not take enrolments."))
    if facts.is_staff:
        return Verdict("", _("Staff of the center do not take seats in cohorts."))
    if teaches(cohort, facts.user):
        return Verdict("", _("You teach this cohort; instructors do not take a seat."))
    window = cohort.window_state(now)
    if window == "not_yet":
        return Verdict(
            "",
            _("Enrolment opens on %(when)s.")
            % {"when": timezone.localtime(cohort.enrolment_opens_at).strftime("%Y-%m-%d %H:%M")},
        )
    if window == "closed":
        return Verdict("", _("Enrolment for this cohort has closed."))
    refusal = audience_refusal(cohort, facts)
    if refusal:
        return Verdict("", refusal)
    needs_code = cohort.access == Access.CODE
    if cohort.access == Access.APPROVAL:
        return Verdict("request", needs_code=False)
    if seats_left is None:
        seats_left = seats_left_in(cohort)
    if seats_left <= 0:
        return Verdict("waitlist", _("The cohort is full: you can join the waitlist."), needs_code=needs_code)
    return Verdict("enrol", needs_code=needs_code)


def teaches(cohort: Cohort, user) -> bool:
    """Whether the person is one of the cohort's instructors (uses prefetched instructors when present)."""
    prefetched = getattr(cohort, "_prefetched_objects_cache", {}).get("instructors")
    if prefetched is not None:
        return any(u.pk == user.pk for u in prefetched)
    return cohort.instructors.filter(pk=user.pk).exists()


def seats_left_in(cohort: Cohort) -> int:
    """General seats left (capacity minus organisation pools minus general seats held)."""
    return Cohort.objects.with_seats().values_list("seats_left", flat=True).get(pk=cohort.pk)


# --- enrolment -------------------------------------------------------------------------------------------


def _lock(cohort: Cohort) -> Cohort:
    return Cohort.objects.select_for_update().select_related("course").get(pk=cohort.pk)


def _record(action: str, enrolment: Enrolment, *, actor, old: str | None, reason: str = "", **extra) -> None:
    changes = {"status": (old, enrolment.status)}
    changes.update(extra)
    audit.record(action, enrolment, actor=actor, changes=changes, reason=reason)


def _mail(enrolment: Enrolment, template: str, **context) -> None:
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


@transaction.atomic
def enrol(cohort: Cohort, *, user: User, code: str = "") -> Enrolment:
    """Enrol a person (or put them on the waitlist, or file their request for approval).

    The cohort row is locked first: two people can never take the last seat together, and the waitlist
    order is the order in which people reached this point.
    """
    facts = learner_facts(user)  # about the person only: read before taking the cohort lock
    cohort = _lock(cohort)
    current = Enrolment.objects.active().filter(cohort=cohort, user=user).first()
    verdict = eligibility(cohort, facts, current=current)
    if not verdict.allowed:
        raise (Conflict if current is not None else DomainError)(verdict.reason)
    if verdict.needs_code and (code or "").strip().upper() != cohort.enrolment_code.strip().upper():
        raise DomainError(_("This enrolment code is not right. Check it with the person who gave it to you."))
    enrolment = Enrolment(cohort=cohort, user=user, status=EnrolmentStatus.REQUESTED)
    if verdict.action == "request":
        enrolment.save()
        _record("enrolment.request", enrolment, actor=user, old=None)
        _notify_instructors_of_request(enrolment)
        return enrolment
    if verdict.action == "enrol":
        enrolment.enrol()
        enrolment.save()
        _record("enrolment.enrol", enrolment, actor=user, old=None)
        _mail(enrolment, "enrolled")
    else:
        enrolment.put_on_waitlist()
        enrolment.save()
        _record("enrolment.waitlist", enrolment, actor=user, old=None)
        _mail(enrolment, "waitlisted", position=waitlist_position(enrolment))
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


def _require_runs(cohort: Cohort, user: User) -> None:
    """Instructors of the cohort and operators run it; supervisors read and change nothing."""
    if is_operator(user):
        return
    if is_supervisor(user):
        raise NotAllowed(_("Supervisors read everything and change nothing."))
    if not cohort.instructors.filter(pk=user.pk).exists():
        raise NotAllowed(_("Only the cohort's instructors and the center's operators may do this."))


def _require_operator(user: User) -> None:
    if not is_operator(user):
        raise NotAllowed(_("Only the center's operators manage the catalogue."))


def _fill_free_seats(cohort: Cohort, *, actor=None) -> list[Enrolment]:
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
        enrolment.save(update_fields=["status", "status_changed_at", "offer_expires_at"])
        _record("enrolment.offer", enrolment, actor=actor, old=old)
        _mail(enrolment, "offered")
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
    _lock(enrolment.cohort)
    enrolment = (
        Enrolment.objects.select_for_update().select_related("cohort__course", "user").get(pk=enrolment.pk)
    )
    if enrolment.status != EnrolmentStatus.OFFERED:
        raise Conflict(_("There is no open seat offer on this enrolment."))
    if enrolment.offer_expires_at <= now:
        return None
    old = enrolment.enrol()
    enrolment.save(update_fields=["status", "status_changed_at", "enrolled_at", "offer_expires_at"])
    _record("enrolment.accept_offer", enrolment, actor=by, old=old)
    _mail(enrolment, "enrolled")
    return enrolment


@transaction.atomic
def withdraw(enrolment: Enrolment, *, by: User, reason: str = "") -> Enrolment:
    """The person leaves (or declines an offer), or staff take them off; a freed seat goes to the waitlist."""
    cohort = _lock(enrolment.cohort)
    enrolment = Enrolment.objects.select_for_update().select_related("user").get(pk=enrolment.pk)
    if enrolment.user_id != by.pk:
        _require_runs(cohort, by)
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
    old = enrolment.withdraw(by=by if enrolment.user_id != by.pk else None, reason=reason)
    enrolment.save(update_fields=["status", "status_changed_at", "decided_by", "reason", "offer_expires_at"])
    _record("enrolment.withdraw", enrolment, actor=by, old=old, reason=reason)
    if enrolment.user_id != by.pk:
        _mail(enrolment, "withdrawn_by_staff", reason=reason)
    if freed:
        _fill_free_seats(cohort, actor=by)
    return enrolment


@transaction.atomic
def approve_request(enrolment: Enrolment, *, by: User) -> Enrolment:
    """Approve a request: a seat if there is one, else the waitlist (in the order of approval)."""
    cohort = _lock(enrolment.cohort)
    _require_runs(cohort, by)
    enrolment = Enrolment.objects.select_for_update().select_related("user").get(pk=enrolment.pk)
    if enrolment.status != EnrolmentStatus.REQUESTED:
        raise Conflict(_("This request has already been decided."))
    if seats_left_in(cohort) > 0:
        old = enrolment.enrol(by=by)
        enrolment.save()
        _record("enrolment.approve", enrolment, actor=by, old=old)
        _mail(enrolment, "enrolled")
    else:
        old = enrolment.put_on_waitlist()
        enrolment.decided_by = by
        enrolment.save()
        _record("enrolment.approve", enrolment, actor=by, old=old)
        _mail(enrolment, "waitlisted", position=waitlist_position(enrolment))
    return enrolment


@transaction.atomic
def decline_request(enrolment: Enrolment, *, by: User, reason: str) -> Enrolment:
    cohort = _lock(enrolment.cohort)
    _require_runs(cohort, by)
    enrolment = Enrolment.objects.select_for_update().select_related("user").get(pk=enrolment.pk)
    old = enrolment.decline(by=by, reason=reason)
    enrolment.save(update_fields=["status", "status_changed_at", "decided_by", "reason"])
    _record("enrolment.decline", enrolment, actor=by, old=old, reason=enrolment.reason)
    _mail(enrolment, "declined")
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
        enrolment.save(update_fields=["status", "status_changed_at"])
        _record("enrolment.offer_expire", enrolment, actor=None, old=old)
        _mail(enrolment, "offer_expired")
        expired += 1
    _fill_free_seats(cohort)
    return expired


# --- organisation seat pools --------------------------------------------------------------------------------


def _require_org_manager(organisation: Organisation, user: User) -> None:
    if not Membership.objects.filter(
        organisation=organisation, user=user, role__in=MembershipRole.managing()
    ).exists():
        raise NotAllowed(_("Only the organisation's owners and administrators manage its seats."))


@transaction.atomic
def reserve_seats(cohort: Cohort, *, organisation: Organisation, seats: int, by: User) -> SeatPool:
    """Set how many seats an organisation holds in a cohort (more takes free seats; fewer gives back unused ones)."""
    cohort = _lock(cohort)
    _require_org_manager(organisation, by)
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
        _fill_free_seats(cohort, actor=by)
    return pool


@transaction.atomic
def assign_pool_seat(pool: SeatPool, *, user: User, by: User) -> Enrolment:
    cohort = _lock(pool.cohort)
    pool = SeatPool.objects.select_for_update().select_related("organisation").get(pk=pool.pk)
    _require_org_manager(pool.organisation, by)
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
        old = current.withdraw(by=by, reason="organisation seat assigned")
        current.save(
            update_fields=["status", "status_changed_at", "decided_by", "reason", "offer_expires_at"]
        )
        _record("enrolment.withdraw", current, actor=by, old=old, reason="organisation seat assigned")
    enrolment = Enrolment(cohort=cohort, user=user, status=EnrolmentStatus.REQUESTED, seat_pool=pool)
    enrolment.enrol(by=by)
    enrolment.save()
    audit.record(
        "enrolment.assign_pool_seat",
        enrolment,
        actor=by,
        organisation=pool.organisation,
        changes={"status": (None, enrolment.status)},
    )
    _mail(enrolment, "enrolled")
    return enrolment


# --- bulk enrolment from CSV ---------------------------------------------------------------------------------


@dataclass
class BulkRow:
    line: int
    email: str
    action: str
    outcome: str = ""
    ok: bool = False


def _parse_csv(data: bytes | str) -> list[tuple[int, str, str]]:
    if isinstance(data, bytes):
        if len(data) > MAX_CSV_BYTES:
            raise DomainError(_("The file is larger than 1 MB; split it."))
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError(
                _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")
            ) from None
    if "\x00" in data:
        raise DomainError(_("The file is not a CSV text file."))
    try:
        rows = list(csv.reader(io.StringIO(data)))
    except csv.Error as error:
        raise DomainError(_("The file is not valid CSV: %(error)s") % {"error": error}) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise DomainError(_("The file is empty."))
    header = [cell.strip().lower() for cell in rows[0]]
    if "email" not in header or "action" not in header:
        raise DomainError(_("The first line must name the columns “email” and “action”."))
    if len(rows) - 1 > MAX_CSV_ROWS:
        raise DomainError(_("At most %(max)s rows at a time.") % {"max": MAX_CSV_ROWS})
    email_at, action_at = header.index("email"), header.index("action")
    parsed = []
    for number, row in enumerate(rows[1:], start=2):
        email = row[email_at].strip().lower() if len(row) > email_at else ""
        action = row[action_at].strip().lower() if len(row) > action_at else ""
        parsed.append((number, email, action))
    return parsed


@transaction.atomic
def bulk_enrol(cohort: Cohort, *, data: bytes | str, by: User) -> list[BulkRow]:
    """Enrol or withdraw people listed in a CSV (columns ``email``, ``action`` = enrol | withdraw).

    A malformed file changes nothing. Each row either happens completely or is rejected with its reason;
    operators place people directly (no audience, window or code checks) but never above capacity.
    """
    _require_operator(by)
    rows = _parse_csv(data)
    cohort = _lock(cohort)
    if cohort.status != CohortStatus.PUBLISHED:
        raise DomainError(_("Publish the cohort before enrolling people in it."))
    users = {
        u.email.lower(): u
        for u in User.objects.filter(email__in=[r[1] for r in rows if r[1]], is_active=True)
    }
    report, seen = [], set()
    for line, email, action in rows:
        row = BulkRow(line=line, email=email, action=action)
        report.append(row)
        if not email:
            row.outcome = _("No email address.")
            continue
        if email in seen:
            row.outcome = _("This address is listed twice; only its first row counts.")
            continue
        seen.add(email)
        if action not in ("enrol", "withdraw"):
            row.outcome = _("The action must be “enrol” or “withdraw”.")
            continue
        user = users.get(email)
        if user is None:
            row.outcome = _("No active account has this email address.")
            continue
        try:
            with transaction.atomic():
                row.outcome = _bulk_row(cohort, user=user, action=action, by=by)
                row.ok = True
        except DomainError as error:
            row.outcome = str(error)
    audit.record(
        "cohort.bulk_enrol",
        cohort,
        actor=by,
        changes={"rows": (None, len(report)), "done": (None, sum(r.ok for r in report))},
    )
    return report


def _bulk_row(cohort: Cohort, *, user: User, action: str, by: User) -> str:
    current = Enrolment.objects.active().filter(cohort=cohort, user=user).first()
    if action == "withdraw":
        if current is None:
            raise DomainError(_("Not in this cohort."))
        if not current.can_withdraw:
            raise Conflict(_("Already finished (%(status)s).") % {"status": current.get_status_display()})
        freed = current.holds_seat
        old = current.withdraw(by=by, reason="bulk withdrawal")
        current.save()
        _record("enrolment.withdraw", current, actor=by, old=old, reason="bulk withdrawal")
        _mail(current, "withdrawn_by_staff", reason="")
        if freed:
            _fill_free_seats(cohort, actor=by)
        return _("Withdrawn.")
    if sees_all_organisations(user) or cohort.instructors.filter(pk=user.pk).exists():
        raise DomainError(_("Staff and instructors do not take seats."))
    if current is not None and current.holds_seat:
        raise Conflict(_("Already has a seat (%(status)s).") % {"status": current.get_status_display()})
    if seats_left_in(cohort) <= 0:
        raise Conflict(_("The cohort is full."))
    if current is not None:  # requested or waitlisted
        old = current.enrol(by=by) if current.status == EnrolmentStatus.REQUESTED else None
        if old is None:
            old = current.offer(hold=offer_hold())
            current.enrol(by=by)
        current.save()
        _record("enrolment.enrol", current, actor=by, old=old, reason="bulk enrolment")
        _mail(current, "enrolled")
        return _("Enrolled (was %(status)s).") % {"status": EnrolmentStatus(old).label}
    enrolment = Enrolment(cohort=cohort, user=user, status=EnrolmentStatus.REQUESTED)
    enrolment.enrol(by=by)
    enrolment.save()
    _record("enrolment.enrol", enrolment, actor=by, old=None, reason="bulk enrolment")
    _mail(enrolment, "enrolled")
    return _("Enrolled.")


# --- attendance and assessment -----------------------------------------------------------------------------------


@transaction.atomic
def mark_attendance(session: Session, *, by: User, present: dict[int, bool]) -> int:
    """Record present/absent for enrolments of the session's cohort; returns how many marks changed."""
    _require_runs(session.cohort, by)
    enrolments = set(
        Enrolment.objects.filter(
            cohort_id=session.cohort_id, pk__in=list(present), status__in=EnrolmentStatus.holding_seat()
        ).values_list("pk", flat=True)
    )
    unknown = set(present) - enrolments
    if unknown:
        raise DomainError(_("Some of these people are not enrolled in this cohort."))
    existing = {a.enrolment_id: a for a in Attendance.objects.select_for_update().filter(session=session)}
    changed = 0
    now = timezone.now()
    for enrolment_id, is_present in present.items():
        mark = existing.get(enrolment_id)
        if mark is not None and mark.present == is_present:
            continue
        before = None if mark is None else mark.present
        if mark is None:
            mark = Attendance(session=session, enrolment_id=enrolment_id)
        mark.present, mark.method, mark.marked_by, mark.marked_at = (
            is_present,
            AttendanceMethod.INSTRUCTOR,
            by,
            now,
        )
        mark.save()
        changed += 1
        audit.record(
            "attendance.mark",
            mark,
            actor=by,
            changes={"present": (before, is_present)},
        )
    return changed


@transaction.atomic
def check_in(session: Session, *, user: User, code: str, now=None) -> Attendance:
    """A learner checks in with the session's code, which works only while the session runs."""
    now = now or timezone.now()
    enrolment = Enrolment.objects.filter(
        cohort_id=session.cohort_id, user=user, status=EnrolmentStatus.ENROLLED
    ).first()
    if enrolment is None:
        raise NotAllowed(_("Only people enrolled in this cohort check in."))
    if not session.checkin_open(now):
        opens, closes = session.checkin_window()
        if now < opens:
            raise DomainError(_("Check-in opens 15 minutes before the session starts."))
        raise DomainError(_("This session has ended; check-in is closed. Ask the instructor to mark you."))
    if not session.checkin_code or (code or "").strip().upper() != session.checkin_code:
        raise DomainError(_("This check-in code is not right. Read it again from the instructor's screen."))
    mark = Attendance.objects.select_for_update().filter(session=session, enrolment=enrolment).first()
    if mark is not None and mark.present:
        return mark
    before = None if mark is None else mark.present
    mark = mark or Attendance(session=session, enrolment=enrolment)
    mark.present, mark.method, mark.marked_by, mark.marked_at = True, AttendanceMethod.CHECKIN, user, now
    mark.save()
    audit.record("attendance.check_in", mark, actor=user, changes={"present": (before, True)})
    return mark


@transaction.atomic
def new_checkin_code(session: Session, *, by: User) -> Session:
    _require_runs(session.cohort, by)
    session = Session.objects.select_for_update().get(pk=session.pk)
    session.checkin_code = random_code(6)
    session.save(update_fields=["checkin_code"])
    audit.record("session.new_checkin_code", session, actor=by)
    return session


def _score(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        score = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(_("Give scores as numbers from 0 to 100.")) from None
    if not score.is_finite() or score < 0 or score > 100:
        raise DomainError(_("Give scores as numbers from 0 to 100."))
    if score.as_tuple().exponent < -2:
        raise DomainError(_("Use at most two decimal places in scores."))
    return score


@transaction.atomic
def set_scores(cohort: Cohort, *, by: User, scores: dict[int, object]) -> int:
    """Record scores (0–100, empty for none) of enrolments in the cohort; all or nothing."""
    _require_runs(cohort, by)
    parsed = {int(k): _score(v) for k, v in scores.items()}
    enrolments = {
        e.pk: e
        for e in Enrolment.objects.select_for_update().filter(
            cohort=cohort, pk__in=list(parsed), status=EnrolmentStatus.ENROLLED
        )
    }
    if set(parsed) - set(enrolments):
        raise DomainError(_("Scores are recorded only for people enrolled in this cohort."))
    changed = 0
    for pk, score in parsed.items():
        enrolment = enrolments[pk]
        if enrolment.score == score:
            continue
        before = enrolment.score
        enrolment.score = score
        enrolment.save(update_fields=["score"])
        audit.record("enrolment.score", enrolment, actor=by, changes={"score": (before, score)})
        changed += 1
    return changed


@dataclass(frozen=True)
class Progress:
    sessions_total: int
    sessions_present: int
    sessions_marked: int

    @property
    def attendance_percent(self) -> int:
        if not self.sessions_total:
            return 100
        return round(100 * self.sessions_present / self.sessions_total)


def progress_by_enrolment(cohort: Cohort) -> dict[int, Progress]:
    """Attendance per enrolment of a cohort, in two queries."""
    total = Session.objects.filter(cohort=cohort).count()
    rows = (
        Attendance.objects.filter(session__cohort=cohort)
        .values("enrolment_id")
        .annotate(present=Count("pk", filter=Q(present=True)), marked=Count("pk"))
    )
    return {r["enrolment_id"]: Progress(total, r["present"], r["marked"]) for r in rows}


def outcome_for(enrolment: Enrolment, cohort: Cohort, progress: Progress | None, total: int) -> str:
    progress = progress or Progress(total, 0, 0)
    if total and progress.sessions_present == 0:
        return EnrolmentStatus.NO_SHOW
    if progress.attendance_percent < cohort.min_attendance_percent:
        return EnrolmentStatus.FAILED
    if cohort.min_score is not None and (enrolment.score is None or enrolment.score < cohort.min_score):
        return EnrolmentStatus.FAILED
    return EnrolmentStatus.COMPLETED


@transaction.atomic
def complete_cohort(cohort: Cohort, *, by: User) -> dict[str, int]:
    """Apply the completion rule to every enrolled person, issue certificates, and finish the cohort."""
    cohort = _lock(cohort)
    _require_runs(cohort, by)
    if cohort.status != CohortStatus.PUBLISHED:
        raise Conflict(_("Only a running cohort can be completed."))
    if cohort.ends_on > timezone.localdate():
        raise Conflict(_("The cohort can be completed on or after its last day."))
    total = Session.objects.filter(cohort=cohort).count()
    progress = progress_by_enrolment(cohort)
    counts = {EnrolmentStatus.COMPLETED: 0, EnrolmentStatus.FAILED: 0, EnrolmentStatus.NO_SHOW: 0}
    for enrolment in (
        Enrolment.objects.select_for_update()
        .filter(cohort=cohort, status=EnrolmentStatus.ENROLLED)
        .select_related("user")
    ):
        outcome = outcome_for(enrolment, cohort, progress.get(enrolment.pk), total)
        old = enrolment.finish(outcome, by=by)
        enrolment.save(update_fields=["status", "status_changed_at", "decided_by", "completed_at"])
        _record("enrolment.finish", enrolment, actor=by, old=old)
        counts[outcome] += 1
        if outcome == EnrolmentStatus.COMPLETED:
            certificate = _issue_certificate(enrolment, cohort=cohort, by=by)
            _mail(enrolment, "certificate_issued", certificate=certificate)
    # Whoever still waits will not get a seat now.
    for enrolment in Enrolment.objects.select_for_update().filter(
        cohort=cohort,
        status__in=[EnrolmentStatus.REQUESTED, EnrolmentStatus.WAITLISTED, EnrolmentStatus.OFFERED],
    ):
        old = enrolment.withdraw(by=by, reason="cohort finished")
        enrolment.save(
            update_fields=["status", "status_changed_at", "decided_by", "reason", "offer_expires_at"]
        )
        _record("enrolment.withdraw", enrolment, actor=by, old=old, reason="cohort finished")
    old = cohort.move_to(CohortStatus.FINISHED)
    cohort.save(update_fields=["status"])
    audit.record("cohort.finish", cohort, actor=by, changes={"status": (old, cohort.status)})
    return {str(k): v for k, v in counts.items()}


def _issue_certificate(enrolment: Enrolment, *, cohort: Cohort, by: User) -> Certificate:
    course = cohort.course
    certificate = Certificate.objects.create(
        enrolment=enrolment,
        holder_name=enrolment.user.name or enrolment.user.email.split("@")[0],
        course_title_zh=course.title_zh,
        course_title_en=course.title_en,
        cohort_name=cohort.name,
        issued_on=timezone.localdate(),
    )
    audit.record("certificate.issue", certificate, actor=by, changes={"status": (None, certificate.status)})
    return certificate


@transaction.atomic
def revoke_certificate(certificate: Certificate, *, by: User, reason: str) -> Certificate:
    _require_operator(by)
    certificate = (
        Certificate.objects.select_for_update().select_related("enrolment__user").get(pk=certificate.pk)
    )
    old = certificate.revoke(by=by, reason=reason)
    certificate.save(update_fields=["status", "revoked_at", "revoked_by", "revoke_reason"])
    audit.record(
        "certificate.revoke",
        certificate,
        actor=by,
        changes={"status": (old, certificate.status)},
        reason=certificate.revoke_reason,
    )
    send_templated_mail(
        "talent/email/certificate_revoked",
        to=[certificate.enrolment.user.email],
        context={"certificate": certificate},
    )
    return certificate


# --- catalogue management (operators) ----------------------------------------------------------------------------


@transaction.atomic
def save_catalogue_object(instance, *, by: User, changed: list[str], m2m: dict | None = None):
    """Create or change a programme, course or session from an operator form (audited)."""
    _require_operator(by)
    created = instance.pk is None
    if isinstance(instance, Session) and created and not instance.checkin_code:
        instance.checkin_code = random_code(6)
    instance.full_clean()
    instance.save()
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)
    label = {"programme": "training_programme"}.get(instance._meta.model_name, instance._meta.model_name)
    audit.record(
        f"{label}.{'create' if created else 'update'}",
        instance,
        actor=by,
        changes={name: (None, str(getattr(instance, name, ""))) for name in changed},
    )
    if "answers_needs" in (m2m or {}):
        # Needs linked to a course whose cohort is already open are told now.
        for cohort in instance.cohorts.filter(
            status=CohortStatus.PUBLISHED, enrolment_closes_at__gt=timezone.now()
        ):
            notify_needs(cohort)
    return instance


@transaction.atomic
def save_cohort(cohort: Cohort, *, by: User, changed: list[str], instructors=None) -> Cohort:
    """Create or change a cohort; more seats go to the waitlist at once."""
    _require_operator(by)
    if cohort.pk:
        _lock(cohort)
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
    audit.record(
        "cohort.create" if created else "cohort.update",
        cohort,
        actor=by,
        changes={name: (None, str(getattr(cohort, name, ""))) for name in changed},
    )
    if not created:
        _fill_free_seats(cohort, actor=by)
    notify_needs(cohort)
    return cohort


@transaction.atomic
def set_cohort_status(cohort: Cohort, *, status: str, by: User, reason: str = "") -> Cohort:
    """Publish, unpublish or cancel a cohort (finishing is ``complete_cohort``)."""
    _require_operator(by)
    cohort = _lock(cohort)
    if status == CohortStatus.FINISHED:
        raise Conflict(
            _("Complete the cohort from its roster, so that outcomes and certificates are recorded.")
        )
    if status == CohortStatus.CANCELLED and not (reason or "").strip():
        raise DomainError(_("Say why the cohort is cancelled; the people enrolled are told."))
    old = cohort.move_to(status)
    cohort.save(update_fields=["status"])
    audit.record("cohort.status", cohort, actor=by, changes={"status": (old, cohort.status)}, reason=reason)
    if status == CohortStatus.CANCELLED:
        withdrawable = [s for s, moves in Enrolment.TRANSITIONS.items() if EnrolmentStatus.WITHDRAWN in moves]
        for enrolment in Enrolment.objects.filter(cohort=cohort, status__in=withdrawable).select_related(
            "user"
        ):
            previous = enrolment.withdraw(by=by, reason=reason)
            enrolment.save()
            _record("enrolment.withdraw", enrolment, actor=by, old=previous, reason=reason)
            _mail(enrolment, "cohort_cancelled", reason=reason)
    elif status == CohortStatus.PUBLISHED:
        _fill_free_seats(cohort, actor=by)
        notify_needs(cohort)
    return cohort


def notify_needs(cohort: Cohort) -> int:
    """Tell the alliance members whose open talent needs the cohort's course answers that it opened (once
    per need and cohort); returns how many were told."""
    from alliance.models import NeedStatus

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
