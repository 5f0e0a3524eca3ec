"""Running a cohort: attendance (marked or checked in), scores, and completion with its outcomes."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.states import save_transition
from talent.models import (
    Attendance,
    AttendanceMethod,
    Cohort,
    CohortStatus,
    Enrolment,
    EnrolmentStatus,
    Session,
    random_code,
)
from talent.services.certificates import issue_certificate
from talent.services.common import lock_cohort, mail_learner, require_runs, take_off


@transaction.atomic
def mark_attendance(session: Session, *, by: User, present: dict[int, bool]) -> int:
    """Record present/absent for enrolments of the session's cohort; returns how many marks changed."""
    require_runs(session.cohort, by)
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
        _save_mark(
            mark,
            session,
            enrolment_id,
            present=is_present,
            method=AttendanceMethod.INSTRUCTOR,
            by=by,
            now=now,
        )
        changed += 1
    return changed


def _save_mark(mark, session, enrolment_id, *, present: bool, method: str, by: User, now) -> Attendance:
    """Save a present/absent mark (a new one when ``mark`` is None) and audit the change."""
    before = None if mark is None else mark.present
    mark = mark or Attendance(session=session, enrolment_id=enrolment_id)
    mark.present, mark.method, mark.marked_by, mark.marked_at = present, method, by, now
    mark.save()
    action = "attendance.check_in" if method == AttendanceMethod.CHECKIN else "attendance.mark"
    audit.record(action, mark, actor=by, changes={"present": (before, present)})
    return mark


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
    return _save_mark(
        mark, session, enrolment.pk, present=True, method=AttendanceMethod.CHECKIN, by=user, now=now
    )


@transaction.atomic
def new_checkin_code(session: Session, *, by: User) -> Session:
    require_runs(session.cohort, by)
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
    require_runs(cohort, by)
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
    cohort = lock_cohort(cohort)
    require_runs(cohort, by)
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
        save_transition(enrolment, old, by=by, action="enrolment.finish")
        counts[outcome] += 1
        if outcome == EnrolmentStatus.COMPLETED:
            certificate = issue_certificate(enrolment, cohort=cohort, by=by)
            mail_learner(enrolment, "certificate_issued", certificate=certificate)
    # Whoever still waits will not get a seat now.
    for enrolment in Enrolment.objects.select_for_update().filter(
        cohort=cohort,
        status__in=[EnrolmentStatus.REQUESTED, EnrolmentStatus.WAITLISTED, EnrolmentStatus.OFFERED],
    ):
        take_off(enrolment, by=by, reason="cohort finished", decided_by=by)
    old = cohort.move_to(CohortStatus.FINISHED)
    save_transition(cohort, old, by=by, action="cohort.finish")
    return {str(k): v for k, v in counts.items()}
