"""What the talent platform holds about a person (for their data export), and what happens to it when they
delete their account: open enrolments end, issued certificates stay verifiable under a pseudonym."""

from django.db import transaction

from accounts.privacy import pseudonym
from core.exceptions import DomainError
from talent.models import Attendance, Certificate, Enrolment
from talent.services.enrolment import withdraw


def _iso(value):
    return value.isoformat() if value else None


def personal_data(user) -> dict:
    enrolments = list(Enrolment.objects.filter(user=user).select_related("cohort__course").order_by("id"))
    return {
        "enrolments": [
            {
                "course": e.cohort.course.title_zh,
                "cohort": e.cohort.name,
                "status": e.status,
                "created": _iso(e.created_at),
                "enrolled": _iso(e.enrolled_at),
                "finished": _iso(e.completed_at),
                "score": str(e.score) if e.score is not None else None,
                "reason": e.reason,
            }
            for e in enrolments
        ],
        "attendance": [
            {
                "course": a.session.cohort.course.title_zh,
                "session": a.session.title,
                "starts": _iso(a.session.starts_at),
                "present": a.present,
                "how": a.method,
            }
            for a in Attendance.objects.filter(enrolment__user=user).select_related("session__cohort__course")
        ],
        "certificates": [
            {
                "code": c.code,
                "holder": c.holder_name,
                "course": c.course_title_zh,
                "issued_on": _iso(c.issued_on),
                "status": c.status,
                "revoke_reason": c.revoke_reason,
            }
            for c in Certificate.objects.filter(enrolment__user=user)
        ],
    }


def is_deleted_account(user) -> bool:
    return not user.is_active and (user.email or "").endswith("@invalid")


@transaction.atomic
def forget_learner(sender=None, *, user, **kwargs) -> None:
    """Receiver of ``core.signals.account_deleting``: leave every open cohort (freeing seats for the waitlist)
    and keep issued certificates verifiable, but under the account's pseudonym instead of the person's name."""
    for enrolment in Enrolment.objects.withdrawable().filter(user=user).select_related("cohort"):
        try:
            withdraw(enrolment, by=user, reason="account deleted")
        except DomainError:  # a cohort that already ended keeps its record
            continue
    Certificate.objects.filter(enrolment__user=user).update(holder_name=pseudonym(user))
