"""Cohorts (one offering of a course: dates, seats, who may enrol and how) and their sessions."""

import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.roles import is_operator, is_supervisor, sees_all_organisations
from core.states import StatusMachine
from talent.models.catalogue import Course
from talent.models.choices import Access, Audience, CohortStatus, EnrolmentStatus

# A learner may check in this long before a session starts (people arrive early); never after it ends.
CHECKIN_EARLY_MINUTES = 15
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from a projector


def random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def percent_field(verbose_name, **kwargs) -> models.DecimalField:
    """A score out of 100 with two decimals (empty when there is none)."""
    return models.DecimalField(
        verbose_name,
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        **kwargs,
    )


class CohortQuerySet(models.QuerySet):
    def published(self) -> "CohortQuerySet":
        return self.filter(status=CohortStatus.PUBLISHED, course__is_published=True)

    def visible_to(self, user) -> "CohortQuerySet":
        """Cohorts a person may look at: published ones, plus their own teaching; staff see all."""
        if sees_all_organisations(user):
            return self
        visible = Q(status__in=[CohortStatus.PUBLISHED, CohortStatus.FINISHED], course__is_published=True)
        if getattr(user, "is_authenticated", False):
            visible |= Q(instructors=user)
        return self.filter(visible).distinct()

    def taught_by(self, user) -> "CohortQuerySet":
        """Cohorts the person runs; operators run any cohort (supervisors read them through visible_to)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if is_operator(user):
            return self
        return self.filter(instructors=user)

    def readable_by_teacher(self, user) -> "CohortQuerySet":
        """Cohorts on the person's teaching pages: those they run, and every cohort for supervisors."""
        return self if is_supervisor(user) else self.taught_by(user)

    def upcoming(self, today=None) -> "CohortQuerySet":
        return self.filter(ends_on__gte=today or timezone.localdate())

    def with_seats(self) -> "CohortQuerySet":
        """Annotate ``seats_taken`` (general seats), ``seats_reserved`` (organisation pools) and ``seats_left``."""
        # Enrolment and SeatPool live in talent.models.enrolment, which imports this module.
        enrolment_model = self.model._meta.get_field("enrolments").related_model
        pool_model = self.model._meta.get_field("seat_pools").related_model
        taken = (
            enrolment_model.objects.holding_seat()
            .filter(cohort=OuterRef("pk"), seat_pool__isnull=True)
            .order_by()
            .values("cohort")
            .annotate(n=Count("pk"))
            .values("n")
        )
        reserved = (
            pool_model.objects.filter(cohort=OuterRef("pk"))
            .order_by()
            .values("cohort")
            .annotate(n=Sum("seats"))
            .values("n")
        )
        return self.annotate(
            seats_taken=Coalesce(Subquery(taken), Value(0)),
            seats_reserved=Coalesce(Subquery(reserved), Value(0)),
        ).annotate(seats_left=Greatest(F("capacity") - F("seats_reserved") - F("seats_taken"), Value(0)))

    def with_waiting(self) -> "CohortQuerySet":
        """Annotate ``waiting``: people on the waiting list.

        A correlated count, like the seats: PostgreSQL works it out for the rows of the page only, where a
        join with GROUP BY would aggregate every cohort's enrolments before the LIMIT (950 ms at bench scale).
        """
        enrolment_model = self.model._meta.get_field("enrolments").related_model
        waiting = (
            enrolment_model.objects.filter(cohort=OuterRef("pk"), status=EnrolmentStatus.WAITLISTED)
            .order_by()
            .values("cohort")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.annotate(waiting=Coalesce(Subquery(waiting), Value(0)))


class Cohort(StatusMachine):
    """One offering of a course: dates, sessions, capacity, who may enrol and how."""

    TRANSITION_ERROR = _("A cohort cannot go from “%(old)s” to “%(new)s”.")
    TRANSITIONS = {
        CohortStatus.DRAFT: {CohortStatus.PUBLISHED, CohortStatus.CANCELLED},
        CohortStatus.PUBLISHED: {CohortStatus.FINISHED, CohortStatus.CANCELLED, CohortStatus.DRAFT},
    }

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="cohorts"
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("For example “Spring 2027, evenings”."))
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    capacity = models.PositiveIntegerField(
        _("seats"), validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )
    enrolment_opens_at = models.DateTimeField(_("enrolment opens"))
    enrolment_closes_at = models.DateTimeField(_("enrolment closes"))
    audience = models.CharField(
        _("who may enrol"), max_length=20, choices=Audience.choices, default=Audience.OPEN
    )
    allowlist = models.TextField(
        _("invited email addresses"),
        blank=True,
        max_length=50000,
        help_text=_("One address per line; used when only invited addresses may enrol."),
    )
    access = models.CharField(_("how to enrol"), max_length=16, choices=Access.choices, default=Access.OPEN)
    enrolment_code = models.CharField(
        _("enrolment code"), max_length=32, blank=True, help_text=_("Given to the people who may enrol.")
    )
    min_attendance_percent = models.PositiveSmallIntegerField(
        _("minimum attendance (%)"), default=80, validators=[MaxValueValidator(100)]
    )
    min_score = percent_field(
        _("minimum score"), help_text=_("Out of 100. Leave empty when the cohort has no assessment.")
    )
    instructors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("instructors"),
        blank=True,
        related_name="talent_cohorts",
        help_text=_("They run the cohort and never take a seat."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CohortStatus.choices, default=CohortStatus.DRAFT, db_index=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CohortQuerySet.as_manager()

    class Meta:
        verbose_name = _("cohort")
        verbose_name_plural = _("cohorts")
        ordering = ["starts_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=CohortStatus.values), name="cohort_status_valid"),
            models.CheckConstraint(condition=Q(audience__in=Audience.values), name="cohort_audience_valid"),
            models.CheckConstraint(condition=Q(access__in=Access.values), name="cohort_access_valid"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="cohort_ends_after_start"),
            models.CheckConstraint(
                condition=Q(enrolment_closes_at__gt=F("enrolment_opens_at")), name="cohort_window_ordered"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="cohort_capacity_positive"),
            models.CheckConstraint(
                condition=~Q(access="code") | ~Q(enrolment_code=""), name="cohort_code_access_has_code"
            ),
            models.CheckConstraint(
                condition=Q(min_attendance_percent__lte=100), name="cohort_attendance_percent_range"
            ),
        ]
        indexes = [models.Index(fields=["course", "starts_on"], name="cohort_course_start_idx")]

    def __str__(self):
        return f"{self.course} · {self.name}"

    def get_absolute_url(self):
        return reverse("talent:cohort_detail", args=[self.pk])

    @property
    def is_enrolment_open(self) -> bool:
        return self.window_state() == "open"

    def window_state(self, now=None) -> str:
        now = now or timezone.now()
        if now < self.enrolment_opens_at:
            return "not_yet"
        if now >= self.enrolment_closes_at:
            return "closed"
        return "open"

    def allowlisted(self, email: str) -> bool:
        wanted = (email or "").strip().lower()
        return bool(wanted) and wanted in {
            line.strip().lower() for line in self.allowlist.splitlines() if line.strip()
        }


class Session(models.Model):
    """One meeting of a cohort; learners check in with its code while it runs."""

    cohort = models.ForeignKey(
        Cohort, verbose_name=_("cohort"), on_delete=models.CASCADE, related_name="sessions"
    )
    title = models.CharField(_("topic"), max_length=200)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    online_url = models.URLField(_("online link"), blank=True)
    checkin_code = models.CharField(_("check-in code"), max_length=8, default="", blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"),
            models.CheckConstraint(
                condition=~Q(place="") | ~Q(online_url=""), name="session_has_place_or_link"
            ),
        ]

    def __str__(self):
        return f"{self.title} ({timezone.localtime(self.starts_at):%Y-%m-%d %H:%M})"

    def checkin_window(self) -> tuple:
        return self.starts_at - timedelta(minutes=CHECKIN_EARLY_MINUTES), self.ends_at

    def checkin_open(self, now=None) -> bool:
        now = now or timezone.now()
        opens, closes = self.checkin_window()
        return opens <= now < closes


class NeedNotice(models.Model):
    """An alliance member was told that a cohort answering its talent need opened (once per need and cohort)."""

    need = models.ForeignKey(
        "alliance.Need", verbose_name=_("need"), on_delete=models.CASCADE, related_name="training_notices"
    )
    cohort = models.ForeignKey(
        Cohort, verbose_name=_("cohort"), on_delete=models.CASCADE, related_name="need_notices"
    )
    sent_at = models.DateTimeField(_("told"), auto_now_add=True)

    class Meta:
        verbose_name = _("talent need notice")
        verbose_name_plural = _("talent need notices")
        constraints = [models.UniqueConstraint(fields=["need", "cohort"], name="neednotice_once_per_cohort")]

    def __str__(self):
        return f"{self.need_id} / {self.cohort_id}"
