"""Expert review: reviewers assigned to applications, their scores per criterion and recommendation."""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.exceptions import InvalidTransition
from core.states import StatusMachine
from projects.models.applications import Application
from projects.models.fields import person, status_field
from projects.models.programmes import Criterion

SCORE_MIN, SCORE_MAX = 0, 5


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


class ReviewAssignment(StatusMachine):
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
    TRANSITION_ERROR = _("A review cannot go from “%(old)s” to “%(new)s”.")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        on_delete=models.PROTECT,
        related_name="review_assignments",
    )
    assigned_by = person(blank=True)
    assigned_at = models.DateTimeField(_("assigned"), auto_now_add=True)
    status = status_field(AssignmentStatus, AssignmentStatus.ASSIGNED)
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

    def save_draft(self) -> str:
        old = self.move_to(AssignmentStatus.DRAFT)
        self.saved_at = timezone.now()
        self.touch("saved_at")
        return old

    def submit(self, *, weighted_score) -> str:
        if not self.recommendation:
            raise InvalidTransition(_("Give a recommendation before submitting the review."))
        old = self.move_to(AssignmentStatus.SUBMITTED)
        self.weighted_score = weighted_score
        self.saved_at = self.submitted_at = timezone.now()
        self.touch("weighted_score", "saved_at", "submitted_at")
        return old

    def decline(self, *, conflict: str) -> str:
        if not (conflict or "").strip():
            raise InvalidTransition(_("Describe the conflict of interest."))
        old = self.move_to(AssignmentStatus.DECLINED)
        self.conflict_of_interest = conflict.strip()
        self.touch("conflict_of_interest")
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
