"""Expert review: choosing and assigning reviewers, their reviews, and reminders of reviews due."""

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import require_operator
from accounts.models import Membership, User
from core.exceptions import Conflict, DomainError
from core.mail import send_templated_mail
from core.roles import SiteRole, has_site_role
from core.states import save_transition
from projects.models import (
    Application,
    ApplicationStatus,
    AssignmentStatus,
    Call,
    CoApplicant,
    CriterionScore,
    Recommendation,
    ReviewAssignment,
    weighted_score,
)
from projects.services.access import is_member, lock_application, require_assigned_reviewer, site_url
from projects.services.screening import take_step

REVIEWERS_PER_APPLICATION = 2
# Reviews not submitted are reminded from this many days before the call's review deadline.
REMINDER_DAYS = 3


def reviewers() -> "list[User]":
    return User.objects.filter(groups__name=SiteRole.REVIEWER, is_active=True).distinct()


def conflict_reason(application: Application, reviewer: User) -> str | None:
    """Why a reviewer may not review an application, or None."""
    if not has_site_role(reviewer, SiteRole.REVIEWER):
        return _("%(person)s is not a reviewer.") % {"person": reviewer.get_full_name()}
    if is_member(application.organisation_id, reviewer):
        return _("%(person)s belongs to the applying organisation and may not review its application.") % {
            "person": reviewer.get_full_name()
        }
    if CoApplicant.objects.filter(application=application, user=reviewer).exists():
        return _("%(person)s is a co-applicant of this application.") % {"person": reviewer.get_full_name()}
    return None


@transaction.atomic
def assign_reviewer(application: Application, reviewer: User, *, by: User | None) -> ReviewAssignment:
    """Assign a reviewer by hand (or for auto-assignment); the first assignment starts the review."""
    if by is not None:
        require_operator(by)
    application = lock_application(application)
    if application.status not in (ApplicationStatus.SCREENING, ApplicationStatus.IN_REVIEW):
        raise Conflict(_("Reviewers are assigned during screening or review."))
    reason = conflict_reason(application, reviewer)
    if reason:
        raise Conflict(reason, code="conflict_of_interest")
    existing = ReviewAssignment.objects.filter(application=application, reviewer=reviewer).first()
    if existing is not None:
        if existing.status == AssignmentStatus.DECLINED:
            raise Conflict(_("This reviewer declined the application for a conflict of interest."))
        raise Conflict(_("This reviewer is already assigned."))
    if application.status == ApplicationStatus.SCREENING:
        take_step(application, "start_review", by=by)
    assignment = ReviewAssignment.objects.create(application=application, reviewer=reviewer, assigned_by=by)
    save_transition(
        assignment,
        None,
        by=by,
        action="review.assign",
        organisation=application.organisation,
        changes={"reviewer": (None, reviewer.email)},
    )
    send_templated_mail(
        "projects/email/review_assigned",
        to=[reviewer.email],
        context={
            "assignment": assignment,
            "application": application,
            "url": site_url(assignment.get_absolute_url()),
        },
    )
    return assignment


def auto_assign_reviewers(call: Call, *, by: User, per_application: int = REVIEWERS_PER_APPLICATION) -> int:
    """Give every application in screening or review of the call up to ``per_application`` reviewers,
    choosing the least loaded reviewers without a conflict. Returns how many assignments were made."""
    require_operator(by)
    if not 1 <= per_application <= 10:
        raise DomainError(_("Ask for between 1 and 10 reviewers per application."))
    people = list(reviewers())
    load = dict(
        ReviewAssignment.objects.open()
        .filter(reviewer__in=people)
        .values("reviewer")
        .annotate(n=Count("id"))
        .values_list("reviewer", "n")
    )
    made = 0
    applications = Application.objects.filter(
        call=call, status__in=[ApplicationStatus.SCREENING, ApplicationStatus.IN_REVIEW]
    ).order_by("id")
    for application in applications:
        taken = set(
            ReviewAssignment.objects.filter(application=application).values_list("reviewer_id", flat=True)
        )
        counting = ReviewAssignment.objects.counting().filter(application=application).count()
        excluded = set(
            Membership.objects.filter(organisation_id=application.organisation_id).values_list(
                "user_id", flat=True
            )
        ) | set(CoApplicant.objects.filter(application=application).values_list("user_id", flat=True))
        candidates = sorted(
            (p for p in people if p.pk not in taken and p.pk not in excluded),
            key=lambda p: (load.get(p.pk, 0), p.pk),
        )
        for reviewer in candidates[: max(per_application - counting, 0)]:
            assign_reviewer(application, reviewer, by=by)
            load[reviewer.pk] = load.get(reviewer.pk, 0) + 1
            made += 1
    return made


def _lock_own_assignment(assignment: ReviewAssignment, *, by: User) -> ReviewAssignment:
    assignment = (
        ReviewAssignment.objects.select_for_update(of=("self",))
        .select_related("application__call__programme", "application__organisation")
        .get(pk=assignment.pk)
    )
    require_assigned_reviewer(assignment, by)
    return assignment


@transaction.atomic
def decline_assignment(assignment: ReviewAssignment, *, by: User, conflict: str) -> ReviewAssignment:
    """The reviewer declares a conflict of interest and steps back from the application."""
    assignment = _lock_own_assignment(assignment, by=by)
    old = assignment.decline(conflict=conflict)
    save_transition(
        assignment,
        old,
        by=by,
        action="review.decline",
        organisation=assignment.application.organisation,
        reason=assignment.conflict_of_interest,
    )
    return assignment


def _parse_score(value) -> int | None:
    if value in (None, "", "na", "n/a", "N/A"):
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise ValueError
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= 5:
        raise ValueError
    return value


@transaction.atomic
def save_review(
    assignment: ReviewAssignment,
    *,
    by: User,
    scores: dict,
    recommendation: str = "",
    comments: str = "",
    submit: bool = False,
) -> ReviewAssignment:
    """Save the reviewer's scores (0–5 or N/A per criterion), recommendation and comments; submit when asked."""
    assignment = _lock_own_assignment(assignment, by=by)
    application = assignment.application
    if application.status != ApplicationStatus.IN_REVIEW:
        raise Conflict(_("The review of this application is not open."))
    if not assignment.is_open:
        raise Conflict(_("This review is already submitted or declined."))
    if recommendation and recommendation not in Recommendation.values:
        raise ValidationError({"recommendation": _("Choose yes, maybe or no.")})
    criteria = list(application.call.programme.criteria.all())
    known = {str(c.pk) for c in criteria}
    errors = {}
    parsed: dict[int, int | None] = {}
    for key, value in (scores or {}).items():
        if str(key) not in known:
            errors.setdefault("scores", []).append(_("Unknown criterion %(key)s.") % {"key": str(key)[:20]})
            continue
        try:
            parsed[int(key)] = _parse_score(value)
        except (ValueError, TypeError):
            errors.setdefault("scores", []).append(_("Scores are whole numbers from 0 to 5, or N/A."))
    if errors:
        raise ValidationError(errors)
    existing = {s.criterion_id: s for s in assignment.scores.all()}
    for criterion_id, score in parsed.items():
        row = existing.get(criterion_id)
        if row is None:
            existing[criterion_id] = CriterionScore.objects.create(
                assignment=assignment, criterion_id=criterion_id, score=score
            )
        elif row.score != score:
            row.score = score
            row.save(update_fields=["score"])
    assignment.recommendation = recommendation or ""
    assignment.comments = (comments or "").strip()[:10000]
    value = weighted_score([(c.weight, existing[c.pk].score if c.pk in existing else None) for c in criteria])
    if submit:
        unanswered = [c.name for c in criteria if c.pk not in existing]
        if unanswered:
            raise ValidationError(
                {
                    "scores": [
                        _("Score every criterion (or mark it N/A): %(names)s.")
                        % {"names": ", ".join(unanswered)}
                    ]
                }
            )
        if not assignment.recommendation:
            raise ValidationError(
                {"recommendation": [_("Give a recommendation before submitting the review.")]}
            )
        old = assignment.submit(weighted_score=value)
        action, changes = "review.submit", {"weighted_score": (None, str(value))}
    else:
        old = assignment.save_draft()
        assignment.weighted_score = value
        action, changes = "review.save_draft", {}
    if old == assignment.status:  # a draft saved again: nothing moved, nothing to audit
        assignment.save()
        return assignment
    save_transition(
        assignment,
        old,
        by=by,
        action=action,
        fields=["recommendation", "comments", "weighted_score"],
        organisation=application.organisation,
        changes=changes,
    )
    return assignment


def send_review_reminders(*, today: date | None = None, days_before: int | None = None) -> int:
    """Remind reviewers of reviews not submitted whose call's review deadline is within ``days_before`` days
    or past; at most one reminder per assignment per day. Returns how many were sent."""
    today = today or timezone.localdate()
    days = (
        getattr(settings, "PROJECT_REVIEW_REMINDER_DAYS", REMINDER_DAYS)
        if days_before is None
        else days_before
    )
    if not isinstance(days, int) or days < 0:
        raise DomainError(_("The reminder window is a number of days, zero or more."))
    start_of_today = timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time()))
    due = (
        ReviewAssignment.objects.open()
        .filter(
            application__status=ApplicationStatus.IN_REVIEW,
            application__call__review_deadline__lte=today + timedelta(days=days),
        )
        .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lt=start_of_today))
        .select_related("reviewer", "application__call")
    )
    sent = 0
    for assignment in due:
        with transaction.atomic():
            updated = (
                ReviewAssignment.objects.filter(pk=assignment.pk)
                .filter(Q(reminded_at__isnull=True) | Q(reminded_at__lt=start_of_today))
                .update(reminded_at=timezone.now())
            )
            if not updated:
                continue
            send_templated_mail(
                "projects/email/review_reminder",
                to=[assignment.reviewer.email],
                context={
                    "assignment": assignment,
                    "application": assignment.application,
                    "deadline": assignment.application.call.review_deadline,
                    "overdue": assignment.application.call.review_deadline < today,
                    "url": site_url(assignment.get_absolute_url()),
                },
            )
            sent += 1
    return sent
