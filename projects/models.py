"""Incubation: programmes and their calls, applications and their review, incubated projects.

Statuses are TextChoices backed by CheckConstraints; every status change goes through a guarded transition
method on the model (it checks the move and who may make it, sets related fields and does not save);
``projects.services`` saves, audits and mails.
"""

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organisation, OrganisationKind
from core.exceptions import InvalidTransition, NotAllowed
from core.roles import SiteRole, has_site_role, is_operator, sees_all_organisations

SCORE_MIN, SCORE_MAX = 0, 5


def _localised(zh: str, en: str) -> str:
    if (get_language() or "en").startswith("zh") or not en:
        return zh
    return en


# --- uploads ------------------------------------------------------------------------------------------


def attachment_path(instance, filename: str) -> str:
    """Nothing a person typed and nothing guessable: two random components; the name is kept on the row."""
    return f"projects/private/{uuid.uuid4().hex}/{uuid.uuid4().hex}.pdf"


def validate_pdf(upload) -> None:
    """A PDF by name, by its first bytes and within the size limit (settings.PROJECT_ATTACHMENT_MAX_BYTES)."""
    name = getattr(upload, "name", "") or ""
    if not name.lower().endswith(".pdf"):
        raise ValidationError(_("Upload a PDF file (its name must end in .pdf)."), code="extension")
    size = getattr(upload, "size", None)
    limit = settings.PROJECT_ATTACHMENT_MAX_BYTES
    if size is None or size > limit:
        raise ValidationError(
            _("The file is too large: at most %(mb)s MB.") % {"mb": round(limit / 1024 / 1024, 1)},
            code="size",
        )
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(5)
    upload.seek(position)
    if head != b"%PDF-":
        raise ValidationError(_("This file is not a PDF document."), code="not_pdf")


# --- programmes and calls ---------------------------------------------------------------------------


class Theme(models.TextChoices):
    SMART_MEDICAL = "smart_medical", _("Smart medical care")
    SMART_TRANSPORT = "smart_transport", _("Smart transport")
    URBAN_BRAIN = "urban_brain", _("Urban brain")
    NETWORK_SECURITY = "network_security", _("Network security")
    OTHER = "other", pgettext_lazy("theme", "Other")


class Programme(models.Model):
    slug = models.SlugField(_("short name"), unique=True)
    theme = models.CharField(_("theme"), max_length=32, choices=Theme.choices)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_zh = models.TextField(_("description (Chinese)"), max_length=10000)
    description_en = models.TextField(_("description (English)"), max_length=10000, blank=True)
    eligible_kinds = models.JSONField(
        _("eligible organisation types"),
        default=list,
        blank=True,
        help_text=_("Organisation types that may apply; empty means every type. Only verified ones apply."),
    )
    voucher_amount = models.DecimalField(
        _("compute voucher (CNY)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    offers_mentoring = models.BooleanField(_("mentoring"), default=True)
    offers_demo_day = models.BooleanField(_("demo day"), default=False)
    is_published = models.BooleanField(_("published"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(theme__in=Theme.values), name="programme_theme_valid"),
            models.CheckConstraint(condition=Q(voucher_amount__gte=0), name="programme_voucher_not_negative"),
        ]

    def __str__(self):
        return self.title

    @property
    def title(self) -> str:
        return _localised(self.title_zh, self.title_en)

    @property
    def description(self) -> str:
        return _localised(self.description_zh, self.description_en)

    def clean(self):
        kinds = self.eligible_kinds or []
        if not isinstance(kinds, list) or any(k not in OrganisationKind.values for k in kinds):
            raise ValidationError({"eligible_kinds": _("List organisation types from the known ones.")})

    def eligible_kind_labels(self) -> list[str]:
        return [
            str(OrganisationKind(k).label) for k in self.eligible_kinds or [] if k in OrganisationKind.values
        ]

    def is_eligible(self, organisation: Organisation) -> bool:
        if not organisation.is_verified:
            return False
        return not self.eligible_kinds or organisation.kind in self.eligible_kinds

    def benefit_labels(self) -> list[str]:
        labels = []
        if self.voucher_amount:
            labels.append(
                _("Compute vouchers worth %(amount)s CNY") % {"amount": f"{self.voucher_amount:,.0f}"}
            )
        if self.offers_mentoring:
            labels.append(str(_("Mentoring by experts")))
        if self.offers_demo_day:
            labels.append(str(_("A place at the demo day")))
        return labels


class Criterion(models.Model):
    """One review criterion of a programme, scored 0–5 (or N/A) and weighted."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="criteria")
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    guidance = models.TextField(_("guidance"), blank=True, max_length=2000)
    weight = models.DecimalField(
        _("weight"), max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("review criterion")
        verbose_name_plural = _("review criteria")
        ordering = ["programme", "position", "id"]
        constraints = [models.CheckConstraint(condition=Q(weight__gt=0), name="criterion_weight_positive")]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return _localised(self.name_zh, self.name_en)


class CallQuerySet(models.QuerySet):
    def published(self) -> "CallQuerySet":
        return self.filter(programme__is_published=True)

    def open(self, now=None) -> "CallQuerySet":
        now = now or timezone.now()
        return self.published().filter(opens_at__lte=now, closes_at__gt=now)


class Call(models.Model):
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="calls"
    )
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    opens_at = models.DateTimeField(_("opens"))
    closes_at = models.DateTimeField(_("closes"))
    review_deadline = models.DateField(_("review deadline"))
    max_card_hours = models.PositiveIntegerField(
        _("most card-hours an application may ask for"), default=50000, validators=[MinValueValidator(1)]
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="call_closes_after_open"
            )
        ]
        indexes = [models.Index(fields=["opens_at", "closes_at"], name="call_window_idx")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("projects:call_detail", args=[self.pk])

    @property
    def title(self) -> str:
        return _localised(self.title_zh, self.title_en)

    @property
    def is_open(self) -> bool:
        return self.opens_at <= timezone.now() < self.closes_at and self.programme.is_published


# --- applications -----------------------------------------------------------------------------------


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    SCREENING = "screening", _("Screening")
    MORE_INFO = "more_info", _("More information requested")
    IN_REVIEW = "in_review", _("In review")
    REVIEW_CLOSED = "review_closed", _("Review closed")
    ACCEPTED = "accepted", _("Accepted")
    WAITLISTED = "waitlisted", _("Waitlisted")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# What the applicant reads: the review's inner stages are one "under review" to them.
APPLICANT_STATUS_LABELS = {
    ApplicationStatus.DRAFT: _("Draft"),
    ApplicationStatus.SUBMITTED: _("Submitted"),
    ApplicationStatus.SCREENING: _("Under review"),
    ApplicationStatus.MORE_INFO: _("More information needed"),
    ApplicationStatus.IN_REVIEW: _("Under review"),
    ApplicationStatus.REVIEW_CLOSED: _("Under review"),
    ApplicationStatus.ACCEPTED: _("Accepted"),
    ApplicationStatus.WAITLISTED: _("On the waiting list"),
    ApplicationStatus.REJECTED: _("Not accepted"),
    ApplicationStatus.WITHDRAWN: _("Withdrawn"),
}

OPEN_STATUSES = (
    ApplicationStatus.DRAFT,
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.SCREENING,
    ApplicationStatus.MORE_INFO,
    ApplicationStatus.IN_REVIEW,
    ApplicationStatus.REVIEW_CLOSED,
    ApplicationStatus.WAITLISTED,
)
DECISIONS = (ApplicationStatus.ACCEPTED, ApplicationStatus.WAITLISTED, ApplicationStatus.REJECTED)

APPLICANT, OPERATOR = "applicant", "operator"


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    roles: frozenset[str]
    staff_label: Promise
    applicant_label: Promise


TRANSITIONS = {
    t.name: t
    for t in (
        Transition(
            "submit",
            (ApplicationStatus.DRAFT,),
            ApplicationStatus.SUBMITTED,
            frozenset({APPLICANT}),
            _("Application submitted"),
            _("You submitted the application"),
        ),
        Transition(
            "start_screening",
            (ApplicationStatus.SUBMITTED,),
            ApplicationStatus.SCREENING,
            frozenset({OPERATOR}),
            _("Screening started"),
            _("The center started checking the application"),
        ),
        Transition(
            "request_information",
            (ApplicationStatus.SCREENING,),
            ApplicationStatus.MORE_INFO,
            frozenset({OPERATOR}),
            _("More information requested"),
            _("The center asked for more information"),
        ),
        Transition(
            "resubmit",
            (ApplicationStatus.MORE_INFO,),
            ApplicationStatus.SCREENING,
            frozenset({APPLICANT}),
            _("Application resubmitted"),
            _("You sent the information asked for"),
        ),
        Transition(
            "start_review",
            (ApplicationStatus.SCREENING,),
            ApplicationStatus.IN_REVIEW,
            frozenset({OPERATOR}),
            _("Review started"),
            _("Experts are reviewing the application"),
        ),
        Transition(
            "close_review",
            (ApplicationStatus.IN_REVIEW,),
            ApplicationStatus.REVIEW_CLOSED,
            frozenset({OPERATOR}),
            _("Review closed"),
            _("The review has ended; a decision follows"),
        ),
        Transition(
            "accept",
            (ApplicationStatus.REVIEW_CLOSED, ApplicationStatus.WAITLISTED),
            ApplicationStatus.ACCEPTED,
            frozenset({OPERATOR}),
            _("Accepted"),
            _("The application was accepted"),
        ),
        Transition(
            "waitlist",
            (ApplicationStatus.REVIEW_CLOSED,),
            ApplicationStatus.WAITLISTED,
            frozenset({OPERATOR}),
            _("Waitlisted"),
            _("The application is on the waiting list"),
        ),
        Transition(
            "reject",
            (ApplicationStatus.REVIEW_CLOSED, ApplicationStatus.WAITLISTED),
            ApplicationStatus.REJECTED,
            frozenset({OPERATOR}),
            _("Rejected"),
            _("The application was not accepted"),
        ),
        Transition(
            "withdraw",
            OPEN_STATUSES,
            ApplicationStatus.WITHDRAWN,
            frozenset({APPLICANT}),
            _("Application withdrawn"),
            _("You withdrew the application"),
        ),
    )
}
DECISION_TRANSITIONS = {
    ApplicationStatus.ACCEPTED: "accept",
    ApplicationStatus.WAITLISTED: "waitlist",
    ApplicationStatus.REJECTED: "reject",
}


class ApplicationQuerySet(models.QuerySet):
    def for_user(self, user) -> "ApplicationQuerySet":
        """Applications of the user's organisations and those they are co-applicant of; all for staff."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
            | Exists(CoApplicant.objects.filter(application=OuterRef("pk"), user=user))
        )

    def of_applicant(self, user) -> "ApplicationQuerySet":
        """As ``for_user`` but without the staff shortcut: the user's own applications."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
            | Exists(CoApplicant.objects.filter(application=OuterRef("pk"), user=user))
        )

    def assigned_to(self, reviewer) -> "ApplicationQuerySet":
        return self.filter(
            Exists(
                ReviewAssignment.objects.filter(application=OuterRef("pk"), reviewer=reviewer).exclude(
                    status=AssignmentStatus.DECLINED
                )
            )
        )

    def submitted(self) -> "ApplicationQuerySet":
        return self.exclude(status__in=[ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN])


class Application(models.Model):
    EDITABLE = (ApplicationStatus.DRAFT, ApplicationStatus.MORE_INFO)
    CONTENT_FIELDS = (
        "title",
        "summary",
        "scenario",
        "team",
        "technical_approach",
        "data",
        "expected_outcomes",
        "compute_card_hours",
    )

    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.PROTECT, related_name="applications"
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="project_applications",
    )
    title = models.CharField(_("project title"), max_length=200)
    summary = models.TextField(_("summary"), max_length=2000, blank=True)
    scenario = models.TextField(_("application scenario"), max_length=5000, blank=True)
    team = models.TextField(_("team"), max_length=5000, blank=True)
    technical_approach = models.TextField(_("technical approach"), max_length=10000, blank=True)
    data = models.TextField(_("data"), max_length=5000, blank=True)
    expected_outcomes = models.TextField(_("expected outcomes"), max_length=5000, blank=True)
    compute_card_hours = models.PositiveIntegerField(
        _("compute needed (card-hours)"), default=0, validators=[MaxValueValidator(10**7)]
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
        db_index=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last saved"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    information_request = models.TextField(_("information requested"), blank=True)
    determination_message = models.TextField(_("determination message"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ApplicationStatus.values), name="application_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=DECISIONS) | ~Q(determination_message=""),
                name="application_decision_has_message",
            ),
            models.CheckConstraint(
                condition=~Q(status=ApplicationStatus.MORE_INFO) | ~Q(information_request=""),
                name="application_more_info_says_what",
            ),
        ]
        indexes = [
            models.Index(fields=["call", "status"], name="application_call_status_idx"),
            models.Index(fields=["organisation", "-id"], name="application_org_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    def get_absolute_url(self):
        return reverse("projects:application_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def applicant_status_label(self) -> str:
        return str(APPLICANT_STATUS_LABELS[self.status])

    def snapshot(self) -> dict:
        return {name: getattr(self, name) for name in self.CONTENT_FIELDS}

    def missing_fields(self) -> list[str]:
        """Fields a submission needs that are still empty (labels)."""
        required = ("title", "summary", "scenario", "team", "technical_approach", "expected_outcomes")
        missing = [
            str(self._meta.get_field(n).verbose_name) for n in required if not str(getattr(self, n)).strip()
        ]
        if not self.compute_card_hours:
            missing.append(str(self._meta.get_field("compute_card_hours").verbose_name))
        return missing

    def available_transitions(self, role: str) -> list[Transition]:
        return [t for t in TRANSITIONS.values() if self.status in t.sources and role in t.roles]

    def apply_transition(self, name: str, *, role: str) -> str:
        """Check the move from the current status and the role asking; set the status. Does not save."""
        transition = TRANSITIONS[name]
        if role not in transition.roles:
            raise NotAllowed(_("You may not do this to an application."))
        old = self.status
        if old not in transition.sources:
            raise InvalidTransition(
                _("An application cannot go from “%(old)s” to “%(new)s”.")
                % {"old": ApplicationStatus(old).label, "new": ApplicationStatus(transition.target).label}
            )
        self.status = transition.target
        return old

    def submit(self) -> str:
        old = self.apply_transition("submit", role=APPLICANT)
        self.submitted_at = timezone.now()
        return old

    def resubmit(self) -> str:
        old = self.apply_transition("resubmit", role=APPLICANT)
        self.submitted_at = timezone.now()
        return old

    def request_information(self, *, message: str) -> str:
        if not (message or "").strip():
            raise InvalidTransition(_("Say what information the applicant should add."))
        old = self.apply_transition("request_information", role=OPERATOR)
        self.information_request = message.strip()
        return old

    def decide(self, decision: str, *, by, message: str) -> str:
        if decision not in DECISION_TRANSITIONS:
            raise InvalidTransition(_("Choose accept, waitlist or reject."))
        if not (message or "").strip():
            raise InvalidTransition(_("Write the message the applicant receives."))
        old = self.apply_transition(DECISION_TRANSITIONS[decision], role=OPERATOR)
        self.determination_message = message.strip()
        self.decided_by, self.decided_at = by, timezone.now()
        return old


class CoApplicant(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="co_applicants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="co_applications",
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("invited"), auto_now_add=True)

    class Meta:
        verbose_name = _("co-applicant")
        verbose_name_plural = _("co-applicants")
        constraints = [models.UniqueConstraint(fields=["application", "user"], name="coapplicant_unique")]

    def __str__(self):
        return str(self.user)


class Attachment(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200, validators=[validate_pdf])
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["id"]

    def __str__(self):
        return self.original_name

    def get_absolute_url(self):
        return reverse("projects:attachment_download", args=[self.pk])


class ApplicationRevision(models.Model):
    """What was submitted, each time it was submitted: the fields and the attachment list."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(_("revision"))
    content = models.JSONField(_("content"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("submitted"), auto_now_add=True)

    class Meta:
        verbose_name = _("application revision")
        verbose_name_plural = _("application revisions")
        ordering = ["application", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="revision_unique_number")
        ]

    def __str__(self):
        return f"{self.application_id} r{self.number}"


# --- review -----------------------------------------------------------------------------------------


class AssignmentStatus(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned")
    DRAFT = "draft", _("Draft saved")
    SUBMITTED = "submitted", _("Review submitted")
    DECLINED = "declined", _("Declined (conflict of interest)")


class Recommendation(models.TextChoices):
    YES = "yes", _("Yes")
    MAYBE = "maybe", _("Maybe")
    NO = "no", _("No")


class ReviewAssignmentQuerySet(models.QuerySet):
    def for_reviewer(self, user) -> "ReviewAssignmentQuerySet":
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(reviewer=user)

    def open(self) -> "ReviewAssignmentQuerySet":
        return self.filter(status__in=[AssignmentStatus.ASSIGNED, AssignmentStatus.DRAFT])

    def counting(self) -> "ReviewAssignmentQuerySet":
        return self.exclude(status=AssignmentStatus.DECLINED)


class ReviewAssignment(models.Model):
    """A reviewer assigned to an application, and their review of it (scores, recommendation, comments)."""

    TRANSITIONS = {
        AssignmentStatus.ASSIGNED: {
            AssignmentStatus.DRAFT,
            AssignmentStatus.SUBMITTED,
            AssignmentStatus.DECLINED,
        },
        AssignmentStatus.DRAFT: {
            AssignmentStatus.DRAFT,
            AssignmentStatus.SUBMITTED,
            AssignmentStatus.DECLINED,
        },
    }

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="review_assignments",
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(_("assigned"), auto_now_add=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AssignmentStatus.choices,
        default=AssignmentStatus.ASSIGNED,
        db_index=True,
    )
    conflict_of_interest = models.TextField(_("conflict of interest"), blank=True)
    recommendation = models.CharField(
        _("recommendation"), max_length=8, choices=Recommendation.choices, blank=True
    )
    comments = models.TextField(_("comments"), max_length=10000, blank=True)
    weighted_score = models.DecimalField(
        _("weighted score"), max_digits=4, decimal_places=2, null=True, blank=True
    )
    saved_at = models.DateTimeField(_("last saved"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("last reminded"), null=True, blank=True)

    objects = ReviewAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("review assignment")
        verbose_name_plural = _("review assignments")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "reviewer"], name="assignment_unique_reviewer"),
            models.CheckConstraint(
                condition=Q(status__in=AssignmentStatus.values), name="assignment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(recommendation="") | Q(recommendation__in=Recommendation.values),
                name="assignment_recommendation_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status=AssignmentStatus.SUBMITTED) | ~Q(recommendation=""),
                name="assignment_submitted_has_recommendation",
            ),
            models.CheckConstraint(
                condition=~Q(status=AssignmentStatus.DECLINED) | ~Q(conflict_of_interest=""),
                name="assignment_declined_has_coi",
            ),
            models.CheckConstraint(
                condition=Q(weighted_score__isnull=True)
                | Q(weighted_score__gte=SCORE_MIN, weighted_score__lte=SCORE_MAX),
                name="assignment_score_in_scale",
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "status"], name="assignment_reviewer_idx")]

    def __str__(self):
        return f"{self.reviewer} → #{self.application_id}"

    def get_absolute_url(self):
        return reverse("projects:review_form", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in (AssignmentStatus.ASSIGNED, AssignmentStatus.DRAFT)

    def _move_to(self, new_status: str) -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("A review cannot go from “%(old)s” to “%(new)s”.")
                % {"old": AssignmentStatus(old).label, "new": AssignmentStatus(new_status).label}
            )
        self.status = new_status
        return old

    def save_draft(self) -> str:
        old = self._move_to(AssignmentStatus.DRAFT)
        self.saved_at = timezone.now()
        return old

    def submit(self, *, weighted_score) -> str:
        if not self.recommendation:
            raise InvalidTransition(_("Give a recommendation before submitting the review."))
        old = self._move_to(AssignmentStatus.SUBMITTED)
        self.weighted_score = weighted_score
        self.saved_at = self.submitted_at = timezone.now()
        return old

    def decline(self, *, conflict: str) -> str:
        if not (conflict or "").strip():
            raise InvalidTransition(_("Describe the conflict of interest."))
        old = self._move_to(AssignmentStatus.DECLINED)
        self.conflict_of_interest = conflict.strip()
        return old


class CriterionScore(models.Model):
    """One criterion's score in a review; no score (null) means not applicable."""

    assignment = models.ForeignKey(ReviewAssignment, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(
        _("score"),
        null=True,
        blank=True,
        validators=[MinValueValidator(SCORE_MIN), MaxValueValidator(SCORE_MAX)],
    )

    class Meta:
        verbose_name = _("criterion score")
        verbose_name_plural = _("criterion scores")
        constraints = [
            models.UniqueConstraint(fields=["assignment", "criterion"], name="score_unique_criterion"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=SCORE_MIN, score__lte=SCORE_MAX),
                name="score_in_scale",
            ),
        ]

    def __str__(self):
        return f"{self.criterion_id}: {'N/A' if self.score is None else self.score}"


def weighted_score(scores: list[tuple[Decimal, int | None]]) -> Decimal | None:
    """Sum of weight × score over the criteria that apply, divided by their weights; None if none apply."""
    applicable = [(Decimal(w), s) for w, s in scores if s is not None]
    total_weight = sum((w for w, _s in applicable), Decimal(0))
    if not total_weight:
        return None
    value = sum((w * s for w, s in applicable), Decimal(0)) / total_weight
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- incubated projects -----------------------------------------------------------------------------


class ProjectStatus(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    ACTIVE = "active", _("Active")
    AT_RISK = "at_risk", _("At risk")
    GRADUATED = "graduated", _("Graduated")
    TERMINATED = "terminated", _("Terminated")


# Statuses of a project still being incubated: the compute platform accepts quota requests for these.
INCUBATING_STATUSES = (ProjectStatus.ONBOARDING, ProjectStatus.ACTIVE, ProjectStatus.AT_RISK)


def is_mentor_candidate(user) -> bool:
    return has_site_role(user, SiteRole.REVIEWER) or has_site_role(user, SiteRole.MENTOR)


class ProjectQuerySet(models.QuerySet):
    def for_user(self, user) -> "ProjectQuerySet":
        """Projects of the user's organisations and those they mentor; all for operators and supervisors."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
            | Exists(Project.mentors.through.objects.filter(project=OuterRef("pk"), user=user))
        )

    def showcase(self) -> "ProjectQuerySet":
        return self.filter(status=ProjectStatus.GRADUATED, publish_consent=True)


class Project(models.Model):
    """An incubated project: what an accepted application becomes."""

    TRANSITIONS = {
        ProjectStatus.ONBOARDING: {ProjectStatus.ACTIVE, ProjectStatus.TERMINATED},
        ProjectStatus.ACTIVE: {ProjectStatus.AT_RISK, ProjectStatus.GRADUATED, ProjectStatus.TERMINATED},
        ProjectStatus.AT_RISK: {ProjectStatus.ACTIVE, ProjectStatus.TERMINATED},
    }

    application = models.OneToOneField(
        Application, verbose_name=_("application"), on_delete=models.PROTECT, related_name="project"
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="incubated_projects",
    )
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="projects"
    )
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ProjectStatus.choices,
        default=ProjectStatus.ONBOARDING,
        db_index=True,
    )
    status_reason = models.TextField(_("reason for the status"), blank=True)
    mentors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("mentors"), blank=True, related_name="mentored_projects"
    )
    publish_consent = models.BooleanField(
        _("the team agrees to publish the project"),
        default=False,
        help_text=_("Graduated projects appear in the public showcase only with the team's agreement."),
    )
    showcase_summary = models.TextField(_("showcase summary"), max_length=2000, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("incubated project")
        verbose_name_plural = _("incubated projects")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ProjectStatus.values), name="project_status_valid"),
            models.CheckConstraint(
                condition=~Q(status__in=[ProjectStatus.AT_RISK, ProjectStatus.TERMINATED])
                | ~Q(status_reason=""),
                name="project_risk_has_reason",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("projects:project_detail", args=[self.pk])

    def move_to(self, new_status: str, *, reason: str = "") -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("A project cannot go from “%(old)s” to “%(new)s”.")
                % {"old": ProjectStatus(old).label, "new": ProjectStatus(new_status).label}
            )
        if new_status in (ProjectStatus.AT_RISK, ProjectStatus.TERMINATED) and not (reason or "").strip():
            raise InvalidTransition(_("Give a reason for this status."))
        self.status = new_status
        self.status_reason = (reason or "").strip()
        if new_status in (ProjectStatus.GRADUATED, ProjectStatus.TERMINATED):
            self.ended_at = timezone.now()
        return old

    def is_team_member(self, user) -> bool:
        return Membership.objects.filter(organisation_id=self.organisation_id, user=user).exists()

    def is_mentor(self, user) -> bool:
        return self.mentors.filter(pk=user.pk).exists()

    def can_manage(self, user) -> bool:
        return is_operator(user)


class BenefitKind(models.TextChoices):
    COMPUTE_VOUCHER = "compute_voucher", _("Compute voucher")
    MENTORING = "mentoring", _("Mentoring")
    DEMO_DAY = "demo_day", _("Demo day")


class ProjectBenefit(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="benefits")
    kind = models.CharField(_("kind"), max_length=20, choices=BenefitKind.choices)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True)
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        verbose_name = _("project benefit")
        verbose_name_plural = _("project benefits")
        ordering = ["project", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=BenefitKind.values), name="benefit_kind_valid"),
            models.CheckConstraint(
                condition=~Q(kind=BenefitKind.COMPUTE_VOUCHER) | Q(amount__gt=0),
                name="benefit_voucher_has_amount",
            ),
            models.UniqueConstraint(fields=["project", "kind"], name="benefit_unique_kind"),
        ]

    def __str__(self):
        return self.get_kind_display()


class MilestoneStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")


class Milestone(models.Model):
    TRANSITIONS = {
        MilestoneStatus.PLANNED: {MilestoneStatus.SUBMITTED},
        MilestoneStatus.SUBMITTED: {MilestoneStatus.ACCEPTED, MilestoneStatus.CHANGES_REQUESTED},
        MilestoneStatus.CHANGES_REQUESTED: {MilestoneStatus.SUBMITTED},
    }

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("title"), max_length=200)
    due_date = models.DateField(_("due"))
    deliverable = models.TextField(_("deliverable"), max_length=2000)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=MilestoneStatus.choices,
        default=MilestoneStatus.PLANNED,
        db_index=True,
    )
    evidence = models.FileField(
        _("evidence"), upload_to=attachment_path, max_length=200, blank=True, validators=[validate_pdf]
    )
    evidence_name = models.CharField(_("evidence file name"), max_length=200, blank=True)
    evidence_note = models.TextField(_("note on the evidence"), max_length=2000, blank=True)
    feedback = models.TextField(_("feedback"), max_length=2000, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["project", "due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MilestoneStatus.values), name="milestone_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=MilestoneStatus.CHANGES_REQUESTED) | ~Q(feedback=""),
                name="milestone_changes_have_feedback",
            ),
        ]

    def __str__(self):
        return self.title

    def move_to(self, new_status: str) -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("A milestone cannot go from “%(old)s” to “%(new)s”.")
                % {"old": MilestoneStatus(old).label, "new": MilestoneStatus(new_status).label}
            )
        self.status = new_status
        return old

    @property
    def is_overdue(self) -> bool:
        return self.status in (MilestoneStatus.PLANNED, MilestoneStatus.CHANGES_REQUESTED) and (
            self.due_date < timezone.localdate()
        )


class ProgressReport(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reports")
    period_end = models.DateField(_("period ending"))
    progress = models.TextField(_("progress"), max_length=5000)
    next_steps = models.TextField(_("next steps"), max_length=5000, blank=True)
    risks = models.TextField(_("risks and help needed"), max_length=5000, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True)

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["project", "-period_end", "-id"]
        constraints = [models.UniqueConstraint(fields=["project", "period_end"], name="report_unique_period")]

    def __str__(self):
        return f"{self.project_id} {self.period_end}"
