"""Applications to a call: their status pipeline, co-applicants, attachments and submitted revisions."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organisation
from core.exceptions import InvalidTransition
from core.roles import sees_all_organisations
from core.states import StatusMachine
from projects.models.fields import attachment_path, person, status_field, validate_pdf
from projects.models.programmes import Call


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

# Who makes a move: the applicants or the center's operators.
APPLICANT, OPERATOR = "applicant", "operator"

# Each role's moves (status -> the statuses that role may move it to); Application.TRANSITIONS joins them.
MOVES = {
    APPLICANT: {
        ApplicationStatus.DRAFT: {ApplicationStatus.SUBMITTED, ApplicationStatus.WITHDRAWN},
        ApplicationStatus.MORE_INFO: {ApplicationStatus.SCREENING, ApplicationStatus.WITHDRAWN},
        **{
            s: {ApplicationStatus.WITHDRAWN}
            for s in OPEN_STATUSES
            if s not in (ApplicationStatus.DRAFT, ApplicationStatus.MORE_INFO)
        },
    },
    OPERATOR: {
        ApplicationStatus.SUBMITTED: {ApplicationStatus.SCREENING},
        ApplicationStatus.SCREENING: {ApplicationStatus.MORE_INFO, ApplicationStatus.IN_REVIEW},
        ApplicationStatus.IN_REVIEW: {ApplicationStatus.REVIEW_CLOSED},
        ApplicationStatus.REVIEW_CLOSED: set(DECISIONS),
        ApplicationStatus.WAITLISTED: {ApplicationStatus.ACCEPTED, ApplicationStatus.REJECTED},
    },
}

# The audit action of each decision (application.accept, application.waitlist, application.reject).
DECISION_ACTIONS = {
    ApplicationStatus.ACCEPTED: "accept",
    ApplicationStatus.WAITLISTED: "waitlist",
    ApplicationStatus.REJECTED: "reject",
}

# The application's steps as its applicants read them in its timeline (by audit action; never who acted).
APPLICANT_STEPS = {
    "application.submit": _("You submitted the application"),
    "application.start_screening": _("The center started checking the application"),
    "application.request_information": _("The center asked for more information"),
    "application.resubmit": _("You sent the information asked for"),
    "application.start_review": _("Experts are reviewing the application"),
    "application.close_review": _("The review has ended; a decision follows"),
    "application.accept": _("The application was accepted"),
    "application.waitlist": _("The application is on the waiting list"),
    "application.reject": _("The application was not accepted"),
    "application.withdraw": _("You withdrew the application"),
}


class ApplicationQuerySet(models.QuerySet):
    def for_user(self, user) -> "ApplicationQuerySet":
        """Applications of the user's organisations and those they are co-applicant of; all for staff."""
        return self if sees_all_organisations(user) else self.of_applicant(user)

    def of_applicant(self, user) -> "ApplicationQuerySet":
        """As ``for_user`` but without the staff shortcut: the user's own applications."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
            | Exists(CoApplicant.objects.filter(application=OuterRef("pk"), user=user))
        )

    def assigned_to(self, reviewer) -> "ApplicationQuerySet":
        """Applications the reviewer is assigned to (and did not decline)."""
        # ReviewAssignment lives in models/review.py, which imports this module.
        assignments = self.model.assignments.rel.related_model.objects.counting()
        return self.filter(Exists(assignments.filter(application=OuterRef("pk"), reviewer=reviewer)))

    def submitted(self) -> "ApplicationQuerySet":
        return self.exclude(status__in=[ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN])


class Application(StatusMachine):
    TRANSITIONS = {
        status: MOVES[APPLICANT].get(status, set()) | MOVES[OPERATOR].get(status, set())
        for status in (*MOVES[APPLICANT], *MOVES[OPERATOR])
    }
    TRANSITION_ERROR = _("An application cannot go from “%(old)s” to “%(new)s”.")
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
    status = status_field(ApplicationStatus, ApplicationStatus.DRAFT)
    created_by = person(_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last saved"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    information_request = models.TextField(_("information requested"), blank=True)
    determination_message = models.TextField(_("determination message"), blank=True)
    decided_by = person(_("decided by"), blank=True)
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

    def can_move_as(self, new_status: str, *, role: str) -> bool:
        return new_status in MOVES[role].get(self.status, ())

    def move_as(self, new_status: str, *, role: str) -> str:
        """``move_to`` limited to the moves ``role`` (APPLICANT or OPERATOR) makes; does not save."""
        if not self.can_move_as(new_status, role=role):
            raise InvalidTransition(
                self.TRANSITION_ERROR % {"old": self.status_label(), "new": self.status_label(new_status)}
            )
        return self.move_to(new_status)

    def submit(self) -> str:
        """Submit a draft, or resubmit after a request for more information (back to screening)."""
        target = (
            ApplicationStatus.SUBMITTED
            if self.status == ApplicationStatus.DRAFT
            else ApplicationStatus.SCREENING
        )
        old = self.move_as(target, role=APPLICANT)
        self.submitted_at = timezone.now()
        self.touch("submitted_at")
        return old

    def withdraw(self) -> str:
        return self.move_as(ApplicationStatus.WITHDRAWN, role=APPLICANT)

    def request_information(self, *, message: str) -> str:
        if not (message or "").strip():
            raise InvalidTransition(_("Say what information the applicant should add."))
        old = self.move_as(ApplicationStatus.MORE_INFO, role=OPERATOR)
        self.information_request = message.strip()
        self.touch("information_request")
        return old

    def decide(self, decision: str, *, by, message: str) -> str:
        if decision not in DECISION_ACTIONS:
            raise InvalidTransition(_("Choose accept, waitlist or reject."))
        if not (message or "").strip():
            raise InvalidTransition(_("Write the message the applicant receives."))
        old = self.move_as(decision, role=OPERATOR)
        self.determination_message = message.strip()
        self.decided_by, self.decided_at = by, timezone.now()
        self.touch("determination_message", "decided_by", "decided_at")
        return old


class CoApplicant(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="co_applicants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="co_applications",
    )
    invited_by = person()
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
    uploaded_by = person()
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
    created_by = person()
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
