"""Use cases of the incubation platform: applications, screening, review, decisions, incubated projects.

Pages, the admin, the API and the tasks call these functions. Every state change is audited; mail is
queued after commit by ``core.mail``.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg, Count, F, Max, Min, Q, StdDev
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership, Organisation, User
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.roles import SiteRole, has_site_role, is_operator, is_supervisor
from projects.models import (
    APPLICANT,
    DECISION_TRANSITIONS,
    OPERATOR,
    TRANSITIONS,
    Application,
    ApplicationRevision,
    ApplicationStatus,
    AssignmentStatus,
    Attachment,
    Call,
    CoApplicant,
    CriterionScore,
    Milestone,
    MilestoneStatus,
    ProgressReport,
    Project,
    ProjectStatus,
    Recommendation,
    ReviewAssignment,
    is_mentor_candidate,
    validate_pdf,
    weighted_score,
)

REVIEWERS_PER_APPLICATION = 2
MAX_CO_APPLICANTS = 10
MAX_ATTACHMENTS = 10
# Reviews not submitted are reminded from this many days before the call's review deadline.
REMINDER_DAYS = 3

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


# --- checks ---------------------------------------------------------------------------------------


def _refuse_supervisor(user: User) -> None:
    if is_supervisor(user) and not is_operator(user):
        raise NotAllowed(_("Supervisors read everything and change nothing."))


def _require_operator(user: User) -> None:
    if not is_operator(user):
        raise NotAllowed(_("Only the center's operators may do this."))


def is_applicant(application: Application, user: User) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return (
        Membership.objects.filter(organisation_id=application.organisation_id, user=user).exists()
        or CoApplicant.objects.filter(application=application, user=user).exists()
    )


def _require_applicant(application: Application, user: User) -> None:
    _refuse_supervisor(user)
    if not is_applicant(application, user):
        raise NotAllowed(_("Only the applicants may change this application."))


def _lock(application: Application) -> Application:
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("call__programme", "organisation")
        .get(pk=application.pk)
    )


def _record(application: Application, action: str, *, by, old: str | None, reason: str = "", **extra) -> None:
    audit.record(
        action,
        application,
        actor=by,
        organisation=application.organisation,
        changes={"status": (old, application.status), **extra},
        reason=reason,
    )


def _applicant_emails(application: Application) -> list[str]:
    members = Membership.objects.filter(organisation_id=application.organisation_id).values_list(
        "user__email", flat=True
    )
    co = CoApplicant.objects.filter(application=application).values_list("user__email", flat=True)
    return list(members) + list(co)


def _url(path: str) -> str:
    return settings.SITE_URL + path


# --- drafting and submitting ----------------------------------------------------------------------


def _clean_fields(fields: dict, *, call: Call) -> dict:
    cleaned = {}
    for name in Application.CONTENT_FIELDS:
        if name not in fields:
            continue
        value = fields[name]
        if name == "compute_card_hours":
            try:
                value = int(value or 0)
            except (TypeError, ValueError):
                raise ValidationError({name: _("Give the card-hours as a whole number.")}) from None
            if value < 0:
                raise ValidationError({name: _("The card-hours cannot be negative.")})
            if value > call.max_card_hours:
                raise ValidationError(
                    {name: _("This call funds at most %(max)s card-hours.") % {"max": call.max_card_hours}}
                )
        else:
            value = str(value or "").strip()
        cleaned[name] = value
    return cleaned


@transaction.atomic
def create_application(call: Call, *, by: User, organisation: Organisation, **fields) -> Application:
    """A draft application of the organisation to an open call (every field may still be empty but the title)."""
    _refuse_supervisor(by)
    if not Membership.objects.filter(organisation=organisation, user=by).exists():
        raise NotAllowed(_("You can apply only for an organisation you belong to."))
    if not organisation.is_verified:
        raise NotAllowed(_("Only verified organisations apply. Submit yours for verification first."))
    if not call.is_open:
        raise Conflict(_("This call is not open for applications."))
    if not call.programme.is_eligible(organisation):
        raise NotAllowed(
            _("This programme is open to: %(kinds)s.")
            % {"kinds": ", ".join(call.programme.eligible_kind_labels())}
        )
    values = _clean_fields(fields, call=call)
    if not values.get("title"):
        raise ValidationError({"title": _("Give the project a title.")})
    application = Application(call=call, organisation=organisation, created_by=by, **values)
    application.full_clean()
    application.save()
    _record(application, "application.create", by=by, old=None)
    return application


@transaction.atomic
def update_application(application: Application, *, by: User, **fields) -> Application:
    """Save the content of a draft (or of an application sent back for more information)."""
    application = _lock(application)
    _require_applicant(application, by)
    if not application.is_editable:
        raise Conflict(
            _("After submission an application can be edited only when the center asks for more information.")
        )
    values = _clean_fields(fields, call=application.call)
    if "title" in values and not values["title"]:
        raise ValidationError({"title": _("Give the project a title.")})
    changed = [name for name, value in values.items() if getattr(application, name) != value]
    for name in changed:
        setattr(application, name, values[name])
    application.full_clean()
    application.save()
    if changed and application.status != ApplicationStatus.DRAFT:
        audit.record(
            "application.update",
            application,
            actor=by,
            organisation=application.organisation,
            changes={"fields": (None, sorted(changed))},
        )
    return application


def _snapshot(application: Application, *, by: User) -> ApplicationRevision:
    number = (application.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    content = {
        **application.snapshot(),
        "attachments": [
            {"id": a.pk, "name": a.original_name, "size": a.size} for a in application.attachments.all()
        ],
    }
    return ApplicationRevision.objects.create(
        application=application, number=number, content=content, created_by=by
    )


@transaction.atomic
def submit_application(application: Application, *, by: User) -> Application:
    """Submit a draft, or resubmit after a request for information; either way a revision is kept."""
    application = _lock(application)
    _require_applicant(application, by)
    missing = application.missing_fields()
    if application.is_editable and missing:
        raise ValidationError(_("Fill in before submitting: %(fields)s.") % {"fields": ", ".join(missing)})
    if application.status == ApplicationStatus.DRAFT:
        if not application.call.is_open:
            raise Conflict(_("This call has closed; the application can no longer be submitted."))
        old = application.submit()
        action = "application.submit"
    else:
        old = application.resubmit()
        action = "application.resubmit"
    application.save(update_fields=["status", "submitted_at"])
    revision = _snapshot(application, by=by)
    _record(application, action, by=by, old=old, revision=(None, revision.number))
    return application


@transaction.atomic
def withdraw_application(application: Application, *, by: User, reason: str = "") -> Application:
    application = _lock(application)
    _require_applicant(application, by)
    old = application.apply_transition("withdraw", role=APPLICANT)
    application.save(update_fields=["status"])
    _record(application, "application.withdraw", by=by, old=old, reason=reason.strip())
    return application


@transaction.atomic
def invite_co_applicant(application: Application, *, by: User, email: str) -> CoApplicant:
    application = _lock(application)
    _require_applicant(application, by)
    if not application.is_open:
        raise Conflict(_("This application is closed."))
    email = (email or "").strip().lower()
    person = User.objects.filter(email__iexact=email, is_active=True).first()
    if person is None:
        raise ValidationError(
            {
                "email": _(
                    "Nobody has an account with this address. Ask them to sign up first, then invite them."
                )
            }
        )
    if is_applicant(application, person):
        raise ValidationError({"email": _("This person is already an applicant.")})
    if application.co_applicants.count() >= MAX_CO_APPLICANTS:
        raise ValidationError(
            {"email": _("An application has at most %(n)s co-applicants.") % {"n": MAX_CO_APPLICANTS}}
        )
    co = CoApplicant.objects.create(application=application, user=person, invited_by=by)
    audit.record(
        "application.invite_co_applicant",
        application,
        actor=by,
        organisation=application.organisation,
        changes={"co_applicants": (None, person.email)},
    )
    send_templated_mail(
        "projects/email/co_applicant",
        to=[person.email],
        context={"application": application, "by": by, "url": _url(application.get_absolute_url())},
    )
    return co


@transaction.atomic
def add_attachment(application: Application, *, by: User, upload) -> Attachment:
    application = _lock(application)
    _require_applicant(application, by)
    if not application.is_editable:
        raise Conflict(_("Attachments can be changed only while the application is editable."))
    if application.attachments.count() >= MAX_ATTACHMENTS:
        raise ValidationError({"file": _("At most %(n)s attachments.") % {"n": MAX_ATTACHMENTS}})
    try:
        validate_pdf(upload)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from None
    name = (getattr(upload, "name", "") or "document.pdf").replace("/", "_").replace("\\", "_")[-150:]
    attachment = Attachment(application=application, original_name=name, size=upload.size, uploaded_by=by)
    attachment.file.save("upload.pdf", upload, save=False)
    attachment.save()
    audit.record(
        "application.add_attachment",
        application,
        actor=by,
        organisation=application.organisation,
        changes={"attachments": (None, name)},
    )
    return attachment


@transaction.atomic
def remove_attachment(attachment: Attachment, *, by: User) -> None:
    application = _lock(attachment.application)
    _require_applicant(application, by)
    if not application.is_editable:
        raise Conflict(_("Attachments can be changed only while the application is editable."))
    name = attachment.original_name
    # The file stays in storage: an earlier revision may list it.
    attachment.delete()
    audit.record(
        "application.remove_attachment",
        application,
        actor=by,
        organisation=application.organisation,
        changes={"attachments": (name, None)},
    )


# --- screening and decisions ------------------------------------------------------------------------


def _operator_transition(application: Application, name: str, *, by: User, reason: str = "") -> Application:
    _require_operator(by)
    application = _lock(application)
    old = application.apply_transition(name, role=OPERATOR)
    application.save(update_fields=["status"])
    _record(application, f"application.{name}", by=by, old=old, reason=reason)
    return application


@transaction.atomic
def start_screening(application: Application, *, by: User) -> Application:
    return _operator_transition(application, "start_screening", by=by)


@transaction.atomic
def start_review(application: Application, *, by: User) -> Application:
    return _operator_transition(application, "start_review", by=by)


@transaction.atomic
def close_review(application: Application, *, by: User) -> Application:
    return _operator_transition(application, "close_review", by=by)


@transaction.atomic
def request_information(application: Application, *, by: User, message: str) -> Application:
    _require_operator(by)
    application = _lock(application)
    old = application.request_information(message=message)
    application.save(update_fields=["status", "information_request"])
    _record(
        application, "application.request_information", by=by, old=old, reason=application.information_request
    )
    send_templated_mail(
        "projects/email/information_request",
        to=_applicant_emails(application),
        context={"application": application, "url": _url(application.get_absolute_url())},
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
    _require_operator(by)
    application = _lock(application)
    if decision not in DECISION_TRANSITIONS:
        raise DomainError(_("Choose accept, waitlist or reject."))
    message = (message or "").strip() or default_determination(application, decision)
    old = application.decide(decision, by=by, message=message)
    application.save(update_fields=["status", "determination_message", "decided_by", "decided_at"])
    _record(application, f"application.{DECISION_TRANSITIONS[decision]}", by=by, old=old)
    project = None
    if decision == ApplicationStatus.ACCEPTED:
        project = _start_project(application, by=by)
    send_templated_mail(
        "projects/email/determination",
        to=_applicant_emails(application),
        context={
            "application": application,
            "project": project,
            "url": _url(application.get_absolute_url()),
        },
    )
    return application


def _start_project(application: Application, *, by: User) -> Project:
    from projects.benefits import on_project_accepted

    project = Project.objects.create(
        application=application,
        organisation=application.organisation,
        programme=application.call.programme,
        title=application.title,
    )
    audit.record(
        "project.create",
        project,
        actor=by,
        organisation=project.organisation,
        changes={"status": (None, project.status)},
    )
    on_project_accepted(project, by=by)
    return project


# --- reviewers --------------------------------------------------------------------------------------


def reviewers() -> "list[User]":
    return User.objects.filter(groups__name=SiteRole.REVIEWER, is_active=True).distinct()


def conflict_reason(application: Application, reviewer: User) -> str | None:
    """Why a reviewer may not review an application, or None."""
    if not has_site_role(reviewer, SiteRole.REVIEWER):
        return _("%(person)s is not a reviewer.") % {"person": reviewer.get_full_name()}
    if Membership.objects.filter(organisation_id=application.organisation_id, user=reviewer).exists():
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
        _require_operator(by)
    application = _lock(application)
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
        old = application.apply_transition("start_review", role=OPERATOR)
        application.save(update_fields=["status"])
        _record(application, "application.start_review", by=by, old=old)
    assignment = ReviewAssignment.objects.create(application=application, reviewer=reviewer, assigned_by=by)
    audit.record(
        "review.assign",
        assignment,
        actor=by,
        organisation=application.organisation,
        changes={"status": (None, assignment.status), "reviewer": (None, reviewer.email)},
    )
    send_templated_mail(
        "projects/email/review_assigned",
        to=[reviewer.email],
        context={
            "assignment": assignment,
            "application": application,
            "url": _url(assignment.get_absolute_url()),
        },
    )
    return assignment


def auto_assign_reviewers(call: Call, *, by: User, per_application: int = REVIEWERS_PER_APPLICATION) -> int:
    """Give every application in screening or review of the call up to ``per_application`` reviewers,
    choosing the least loaded reviewers without a conflict. Returns how many assignments were made."""
    _require_operator(by)
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


@transaction.atomic
def decline_assignment(assignment: ReviewAssignment, *, by: User, conflict: str) -> ReviewAssignment:
    """The reviewer declares a conflict of interest and steps back from the application."""
    assignment = (
        ReviewAssignment.objects.select_for_update(of=("self",))
        .select_related("application__organisation")
        .get(pk=assignment.pk)
    )
    if assignment.reviewer_id != by.pk:
        raise NotAllowed(_("Only the assigned reviewer may do this."))
    old = assignment.decline(conflict=conflict)
    assignment.save(update_fields=["status", "conflict_of_interest"])
    audit.record(
        "review.decline",
        assignment,
        actor=by,
        organisation=assignment.application.organisation,
        changes={"status": (old, assignment.status)},
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
    assignment = (
        ReviewAssignment.objects.select_for_update(of=("self",))
        .select_related("application__call__programme", "application__organisation")
        .get(pk=assignment.pk)
    )
    if assignment.reviewer_id != by.pk:
        raise NotAllowed(_("Only the assigned reviewer may do this."))
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
        assignment.save()
        audit.record(
            "review.submit",
            assignment,
            actor=by,
            organisation=application.organisation,
            changes={"status": (old, assignment.status), "weighted_score": (None, str(value))},
        )
    else:
        old = assignment.save_draft()
        assignment.weighted_score = value
        assignment.save()
        if old != assignment.status:
            audit.record(
                "review.save_draft",
                assignment,
                actor=by,
                organisation=application.organisation,
                changes={"status": (old, assignment.status)},
            )
    return assignment


@dataclass(frozen=True)
class RankingRow:
    application: Application
    average: Decimal | None
    spread: Decimal | None
    lowest: Decimal | None
    highest: Decimal | None
    reviews: int
    assigned: int
    yes: int
    maybe: int
    no: int


def ranking_queryset(call: Call):
    """Submitted applications of a call with their reviews' average weighted score, spread (standard
    deviation), lowest and highest score, counts and recommendations; best average first (one query)."""
    submitted = Q(assignments__status=AssignmentStatus.SUBMITTED)
    return (
        Application.objects.filter(call=call)
        .submitted()
        .select_related("organisation")
        .annotate(
            average=Avg("assignments__weighted_score", filter=submitted),
            spread=StdDev("assignments__weighted_score", filter=submitted),
            lowest=Min("assignments__weighted_score", filter=submitted),
            highest=Max("assignments__weighted_score", filter=submitted),
            reviews=Count("assignments", filter=submitted),
            assigned=Count("assignments", filter=~Q(assignments__status=AssignmentStatus.DECLINED)),
            yes=Count("assignments", filter=submitted & Q(assignments__recommendation=Recommendation.YES)),
            maybe=Count(
                "assignments", filter=submitted & Q(assignments__recommendation=Recommendation.MAYBE)
            ),
            no=Count("assignments", filter=submitted & Q(assignments__recommendation=Recommendation.NO)),
        )
        .order_by(F("average").desc(nulls_last=True), "id")
    )


def _two_places(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def ranking_row(application: Application) -> RankingRow:
    return RankingRow(
        application=application,
        average=_two_places(application.average),
        spread=_two_places(application.spread),
        lowest=_two_places(application.lowest),
        highest=_two_places(application.highest),
        reviews=application.reviews,
        assigned=application.assigned,
        yes=application.yes,
        maybe=application.maybe,
        no=application.no,
    )


def ranking(call: Call) -> list[RankingRow]:
    return [ranking_row(a) for a in ranking_queryset(call)]


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
                    "url": _url(assignment.get_absolute_url()),
                },
            )
            sent += 1
    return sent


# --- incubated projects -----------------------------------------------------------------------------


def _lock_project(project: Project) -> Project:
    return Project.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=project.pk)


def _require_team(project: Project, user: User) -> None:
    _refuse_supervisor(user)
    if not project.is_team_member(user):
        raise NotAllowed(_("Only the project's team may do this."))


def _require_mentor_or_operator(project: Project, user: User) -> None:
    if is_operator(user):
        return
    if not project.is_mentor(user):
        raise NotAllowed(_("Only the project's mentors and the center's operators may do this."))


@transaction.atomic
def add_mentor(project: Project, mentor: User, *, by: User) -> Project:
    _require_operator(by)
    project = _lock_project(project)
    if not is_mentor_candidate(mentor):
        raise DomainError(_("Mentors are people with the reviewer or mentor role."))
    if Membership.objects.filter(organisation_id=project.organisation_id, user=mentor).exists():
        raise Conflict(_("A mentor cannot be a member of the project's own organisation."))
    if project.mentors.filter(pk=mentor.pk).exists():
        raise Conflict(_("This person already mentors the project."))
    project.mentors.add(mentor)
    audit.record(
        "project.add_mentor",
        project,
        actor=by,
        organisation=project.organisation,
        changes={"mentors": (None, mentor.email)},
    )
    return project


@transaction.atomic
def remove_mentor(project: Project, mentor: User, *, by: User) -> Project:
    _require_operator(by)
    project = _lock_project(project)
    project.mentors.remove(mentor)
    audit.record(
        "project.remove_mentor",
        project,
        actor=by,
        organisation=project.organisation,
        changes={"mentors": (mentor.email, None)},
    )
    return project


@transaction.atomic
def set_project_status(project: Project, status: str, *, by: User, reason: str = "") -> Project:
    _require_operator(by)
    project = _lock_project(project)
    if status not in ProjectStatus.values:
        raise DomainError(_("Choose a project status."))
    old = project.move_to(status, reason=reason)
    project.save(update_fields=["status", "status_reason", "ended_at"])
    audit.record(
        f"project.{status}",
        project,
        actor=by,
        organisation=project.organisation,
        changes={"status": (old, status)},
        reason=project.status_reason,
    )
    return project


@transaction.atomic
def set_showcase(project: Project, *, by: User, consent: bool, summary: str = "") -> Project:
    project = _lock_project(project)
    _require_team(project, by)
    before = project.publish_consent
    project.publish_consent, project.showcase_summary = bool(consent), (summary or "").strip()[:2000]
    project.save(update_fields=["publish_consent", "showcase_summary"])
    audit.record(
        "project.showcase_consent",
        project,
        actor=by,
        organisation=project.organisation,
        changes={"publish_consent": (before, project.publish_consent)},
    )
    return project


@transaction.atomic
def add_milestone(project: Project, *, by: User, title: str, due_date: date, deliverable: str) -> Milestone:
    project = _lock_project(project)
    _require_mentor_or_operator(project, by)
    if project.status in (ProjectStatus.GRADUATED, ProjectStatus.TERMINATED):
        raise Conflict(_("This project has ended."))
    milestone = Milestone(
        project=project,
        title=(title or "").strip(),
        due_date=due_date,
        deliverable=(deliverable or "").strip(),
    )
    milestone.full_clean()
    milestone.save()
    audit.record(
        "milestone.create",
        milestone,
        actor=by,
        organisation=project.organisation,
        changes={"status": (None, milestone.status)},
    )
    return milestone


@transaction.atomic
def submit_milestone(milestone: Milestone, *, by: User, evidence=None, note: str = "") -> Milestone:
    milestone = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("project__organisation")
        .get(pk=milestone.pk)
    )
    _require_team(milestone.project, by)
    if evidence is None and not milestone.evidence:
        raise ValidationError({"evidence": _("Upload the evidence (a PDF).")})
    if evidence is not None:
        try:
            validate_pdf(evidence)
        except ValidationError as error:
            raise ValidationError({"evidence": error.messages}) from None
    old = milestone.move_to(MilestoneStatus.SUBMITTED)
    if evidence is not None:
        milestone.evidence_name = (getattr(evidence, "name", "") or "evidence.pdf").replace("/", "_")[-150:]
        milestone.evidence.save("evidence.pdf", evidence, save=False)
    milestone.evidence_note = (note or "").strip()[:2000]
    milestone.submitted_at = timezone.now()
    milestone.save()
    audit.record(
        "milestone.submit",
        milestone,
        actor=by,
        organisation=milestone.project.organisation,
        changes={"status": (old, milestone.status)},
    )
    return milestone


@transaction.atomic
def review_milestone(milestone: Milestone, *, by: User, accept: bool, feedback: str = "") -> Milestone:
    milestone = (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("project__organisation")
        .get(pk=milestone.pk)
    )
    _require_mentor_or_operator(milestone.project, by)
    feedback = (feedback or "").strip()
    if not accept and not feedback:
        raise ValidationError({"feedback": _("Say what should change.")})
    old = milestone.move_to(MilestoneStatus.ACCEPTED if accept else MilestoneStatus.CHANGES_REQUESTED)
    milestone.feedback, milestone.reviewed_by, milestone.reviewed_at = feedback, by, timezone.now()
    milestone.save()
    audit.record(
        "milestone.accept" if accept else "milestone.request_changes",
        milestone,
        actor=by,
        organisation=milestone.project.organisation,
        changes={"status": (old, milestone.status)},
        reason=feedback,
    )
    emails = Membership.objects.filter(organisation_id=milestone.project.organisation_id).values_list(
        "user__email", flat=True
    )
    send_templated_mail(
        "projects/email/milestone_reviewed",
        to=list(emails),
        context={"milestone": milestone, "url": _url(milestone.project.get_absolute_url())},
    )
    return milestone


@transaction.atomic
def submit_progress_report(
    project: Project, *, by: User, period_end: date, progress: str, next_steps: str = "", risks: str = ""
) -> ProgressReport:
    project = _lock_project(project)
    _require_team(project, by)
    if project.status in (ProjectStatus.GRADUATED, ProjectStatus.TERMINATED):
        raise Conflict(_("This project has ended."))
    if ProgressReport.objects.filter(project=project, period_end=period_end).exists():
        raise ValidationError({"period_end": _("A report for this period is already filed.")})
    report = ProgressReport(
        project=project,
        period_end=period_end,
        progress=(progress or "").strip(),
        next_steps=(next_steps or "").strip(),
        risks=(risks or "").strip(),
        submitted_by=by,
    )
    report.full_clean()
    report.save()
    audit.record(
        "project.progress_report",
        project,
        actor=by,
        organisation=project.organisation,
        changes={"reports": (None, str(period_end))},
    )
    return report


def transition_labels() -> dict[str, tuple[str, str]]:
    """For documentation and pages: each transition's staff-facing and applicant-facing label."""
    return {name: (str(t.staff_label), str(t.applicant_label)) for name, t in TRANSITIONS.items()}
