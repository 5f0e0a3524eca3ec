"""Bulk enrolment from a CSV file (operators): each row enrols or withdraws one person, or says why not."""

import csv
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from core import audit
from core.exceptions import Conflict, DomainError
from core.roles import sees_all_organisations
from core.states import save_transition
from core.uploads import decode_csv
from talent.models import Cohort, CohortStatus, Enrolment, EnrolmentStatus
from talent.services.common import (
    lock_cohort,
    mail_learner,
    offer_hold,
    require_operator,
    save_new_enrolment,
    take_off,
)
from talent.services.eligibility import seats_left_in
from talent.services.enrolment import fill_free_seats

MAX_CSV_ROWS = 2000
MAX_CSV_BYTES = 1024 * 1024


@dataclass
class BulkRow:
    line: int
    email: str
    action: str
    outcome: str = ""
    ok: bool = False


def _parse_csv(data: bytes | str) -> list[tuple[int, str, str]]:
    try:
        data = decode_csv(data.encode() if isinstance(data, str) else data, max_bytes=MAX_CSV_BYTES)
    except ValidationError as error:
        raise DomainError(error.messages[0]) from None
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
    require_operator(by)
    rows = _parse_csv(data)
    cohort = lock_cohort(cohort)
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
        take_off(current, by=by, reason="bulk withdrawal", decided_by=by)
        mail_learner(current, "withdrawn_by_staff", reason="")
        if freed:
            fill_free_seats(cohort, actor=by)
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
        save_transition(current, old, by=by, action="enrolment.enrol", reason="bulk enrolment")
        mail_learner(current, "enrolled")
        return _("Enrolled (was %(status)s).") % {"status": EnrolmentStatus(old).label}
    enrolment = Enrolment(cohort=cohort, user=user, status=EnrolmentStatus.REQUESTED)
    enrolment.enrol(by=by)
    save_new_enrolment(enrolment, by=by, action="enrolment.enrol", reason="bulk enrolment")
    mail_learner(enrolment, "enrolled")
    return _("Enrolled.")
