"""Training: programmes group courses; a course runs as cohorts with sessions; people enrol in cohorts.

Enrolment statuses and their allowed moves are in ``Enrolment.TRANSITIONS``; the transition methods check the
move and set the related fields but never save (``talent.services`` saves, audits and mails).
"""

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
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.exceptions import InvalidTransition
from core.roles import sees_all_organisations

# A learner may check in this long before a session starts (people arrive early); never after it ends.
CHECKIN_EARLY_MINUTES = 15
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from a projector


def random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def _bilingual(zh: str, en: str) -> str:
    if (get_language() or "en").startswith("zh"):
        return zh or en
    return en or zh


class Level(models.TextChoices):
    BEGINNER = "beginner", _("Beginner")
    INTERMEDIATE = "intermediate", _("Intermediate")
    ADVANCED = "advanced", _("Advanced")


class Category(models.TextChoices):
    FOUNDATIONS = "foundations", _("AI foundations")
    MACHINE_LEARNING = "machine_learning", _("Machine learning")
    LARGE_MODELS = "large_models", _("Large models")
    COMPUTER_VISION = "computer_vision", _("Computer vision")
    HPC = "hpc", _("Computing and HPC")
    APPLICATIONS = "applications", _("Industry applications")
    OTHER = "other", _("Other")


class Audience(models.TextChoices):
    OPEN = "open", _("Everyone with an account")
    STUDENTS = "students", _("Students only")
    MEMBER_EMPLOYEES = "member_employees", _("Employees of alliance members")
    ALLOWLIST = "allowlist", _("Invited email addresses")


class Access(models.TextChoices):
    OPEN = "open", _("Open enrolment")
    APPROVAL = "approval", _("Approval by the instructor")
    CODE = "code", _("Enrolment code")


class CohortStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    FINISHED = "finished", _("Finished")
    CANCELLED = "cancelled", _("Cancelled")


class EnrolmentStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting approval")
    WAITLISTED = "waitlisted", _("On the waitlist")
    OFFERED = "offered", _("Seat offered")
    ENROLLED = "enrolled", _("Enrolled")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Not passed")
    NO_SHOW = "no_show", _("Did not attend")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DECLINED = "declined", _("Request declined")
    OFFER_EXPIRED = "offer_expired", _("Offer expired")

    @classmethod
    def holding_seat(cls) -> list[str]:
        """Statuses that occupy one of the cohort's seats."""
        return [cls.OFFERED, cls.ENROLLED, cls.COMPLETED, cls.FAILED, cls.NO_SHOW]

    @classmethod
    def active(cls) -> list[str]:
        """Statuses in which the person is still part of the cohort (one such enrolment per person)."""
        return [cls.REQUESTED, cls.WAITLISTED, *cls.holding_seat()]


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REVOKED = "revoked", _("Revoked")


# --- catalogue ----------------------------------------------------------------------------------------


class Programme(models.Model):
    """A group of courses towards one goal, e.g. "AI engineer"."""

    slug = models.SlugField(_("short name"), unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    description_zh = models.TextField(_("description (Chinese)"), blank=True, max_length=5000)
    description_en = models.TextField(_("description (English)"), blank=True, max_length=5000)
    is_published = models.BooleanField(_("published"), default=False)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["slug"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("talent:programme_detail", args=[self.slug])

    @property
    def title(self) -> str:
        return _bilingual(self.title_zh, self.title_en)

    @property
    def description(self) -> str:
        return _bilingual(self.description_zh, self.description_en)


class CourseQuerySet(models.QuerySet):
    def published(self) -> "CourseQuerySet":
        return self.filter(is_published=True)

    def for_user(self, user) -> "CourseQuerySet":
        """Published courses for everyone; operators and supervisors also see drafts."""
        if sees_all_organisations(user):
            return self
        return self.published()


class Course(models.Model):
    programme = models.ForeignKey(
        Programme,
        verbose_name=_("programme"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="courses",
    )
    slug = models.SlugField(_("short name"), unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    description_zh = models.TextField(_("description (Chinese)"), max_length=10000)
    description_en = models.TextField(_("description (English)"), max_length=10000)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, default=Level.BEGINNER)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    prerequisites = models.TextField(_("prerequisites"), blank=True, max_length=5000)
    syllabus = models.TextField(
        _("syllabus"), blank=True, max_length=20000, help_text=_("One topic per line.")
    )
    instructors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("instructors"),
        blank=True,
        related_name="talent_courses",
        help_text=_("People with the instructor role who teach this course."),
    )
    cover_image = models.ImageField(
        _("cover image"), upload_to="talent/covers/%Y/", blank=True, help_text=_("PNG or JPEG, landscape.")
    )
    is_published = models.BooleanField(_("published"), default=False)
    answers_needs = models.ManyToManyField(
        "alliance.Need",
        verbose_name=_("answers alliance talent needs"),
        blank=True,
        related_name="training_courses",
        limit_choices_to={"kind": "talent"},
        help_text=_("Alliance members who posted these needs are told when a cohort of the course opens."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CourseQuerySet.as_manager()

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=Q(level__in=Level.values), name="course_level_valid"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="course_category_valid"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("talent:course_detail", args=[self.slug])

    @property
    def title(self) -> str:
        return _bilingual(self.title_zh, self.title_en)

    @property
    def description(self) -> str:
        return _bilingual(self.description_zh, self.description_en)

    @property
    def syllabus_lines(self) -> list[str]:
        return [line.strip() for line in self.syllabus.splitlines() if line.strip()]


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
        from core.roles import is_operator

        if not getattr(user, "is_authenticated", False):
            return self.none()
        if is_operator(user):
            return self
        return self.filter(instructors=user)

    def upcoming(self, today=None) -> "CohortQuerySet":
        return self.filter(ends_on__gte=today or timezone.localdate())

    def with_seats(self) -> "CohortQuerySet":
        """Annotate ``seats_taken`` (general seats), ``seats_reserved`` (organisation pools) and ``seats_left``."""
        taken = (
            Enrolment.objects.filter(
                cohort=OuterRef("pk"), status__in=EnrolmentStatus.holding_seat(), seat_pool__isnull=True
            )
            .order_by()
            .values("cohort")
            .annotate(n=Count("pk"))
            .values("n")
        )
        reserved = (
            SeatPool.objects.filter(cohort=OuterRef("pk"))
            .order_by()
            .values("cohort")
            .annotate(n=Sum("seats"))
            .values("n")
        )
        return self.annotate(
            seats_taken=Coalesce(Subquery(taken), Value(0)),
            seats_reserved=Coalesce(Subquery(reserved), Value(0)),
        ).annotate(seats_left=Greatest(F("capacity") - F("seats_reserved") - F("seats_taken"), Value(0)))


class Cohort(models.Model):
    """One offering of a course: dates, sessions, capacity, who may enrol and how."""

    STATUS_TRANSITIONS = {
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
    min_score = models.DecimalField(
        _("minimum score"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Out of 100. Leave empty when the cohort has no assessment."),
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

    def move_to(self, new_status: str) -> str:
        old = self.status
        if new_status not in self.STATUS_TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("A cohort cannot go from “%(old)s” to “%(new)s”.")
                % {"old": CohortStatus(old).label, "new": CohortStatus(new_status).label}
            )
        self.status = new_status
        return old


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


class SeatPool(models.Model):
    """Seats an organisation reserves in a cohort for its own people and assigns itself."""

    cohort = models.ForeignKey(
        Cohort, verbose_name=_("cohort"), on_delete=models.CASCADE, related_name="seat_pools"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="seat_pools",
    )
    seats = models.PositiveIntegerField(_("seats reserved"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reserved by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("seat pool")
        verbose_name_plural = _("seat pools")
        constraints = [
            models.UniqueConstraint(fields=["cohort", "organisation"], name="seatpool_one_per_organisation"),
            models.CheckConstraint(condition=Q(seats__gte=0), name="seatpool_seats_not_negative"),
        ]

    def __str__(self):
        return f"{self.organisation} · {self.cohort} · {self.seats}"


class EnrolmentQuerySet(models.QuerySet):
    def for_user(self, user) -> "EnrolmentQuerySet":
        """One's own enrolments; instructors also those of their cohorts; operators and supervisors all."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(Q(user=user) | Q(cohort__in=Cohort.objects.filter(instructors=user)))

    def active(self) -> "EnrolmentQuerySet":
        return self.filter(status__in=EnrolmentStatus.active())

    def holding_seat(self) -> "EnrolmentQuerySet":
        return self.filter(status__in=EnrolmentStatus.holding_seat())

    def waitlist(self) -> "EnrolmentQuerySet":
        return self.filter(status=EnrolmentStatus.WAITLISTED).order_by("waitlisted_at", "id")

    def with_waitlist_position(self) -> "EnrolmentQuerySet":
        ahead = Enrolment.objects.filter(cohort=OuterRef("cohort"), status=EnrolmentStatus.WAITLISTED).filter(
            Q(waitlisted_at__lt=OuterRef("waitlisted_at"))
            | Q(waitlisted_at=OuterRef("waitlisted_at"), id__lt=OuterRef("id"))
        )
        count = ahead.order_by().values("cohort").annotate(n=Count("pk")).values("n")
        return self.annotate(waitlist_ahead=Coalesce(Subquery(count), Value(0)))


class Enrolment(models.Model):
    TRANSITIONS = {
        EnrolmentStatus.REQUESTED: {
            EnrolmentStatus.ENROLLED,
            EnrolmentStatus.WAITLISTED,
            EnrolmentStatus.DECLINED,
            EnrolmentStatus.WITHDRAWN,
        },
        EnrolmentStatus.WAITLISTED: {EnrolmentStatus.OFFERED, EnrolmentStatus.WITHDRAWN},
        EnrolmentStatus.OFFERED: {
            EnrolmentStatus.ENROLLED,
            EnrolmentStatus.OFFER_EXPIRED,
            EnrolmentStatus.WITHDRAWN,
        },
        EnrolmentStatus.ENROLLED: {
            EnrolmentStatus.COMPLETED,
            EnrolmentStatus.FAILED,
            EnrolmentStatus.NO_SHOW,
            EnrolmentStatus.WITHDRAWN,
        },
    }

    cohort = models.ForeignKey(
        Cohort, verbose_name=_("cohort"), on_delete=models.PROTECT, related_name="enrolments"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("learner"),
        on_delete=models.PROTECT,
        related_name="enrolments",
    )
    status = models.CharField(_("status"), max_length=16, choices=EnrolmentStatus.choices, db_index=True)
    seat_pool = models.ForeignKey(
        SeatPool,
        verbose_name=_("organisation seat"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="enrolments",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    status_changed_at = models.DateTimeField(_("status since"), default=timezone.now)
    waitlisted_at = models.DateTimeField(_("joined the waitlist"), null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offer expires"), null=True, blank=True)
    enrolled_at = models.DateTimeField(_("enrolled"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True, max_length=2000)
    score = models.DecimalField(
        _("score"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    completed_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = EnrolmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EnrolmentStatus.values), name="enrolment_status_valid"
            ),
            models.UniqueConstraint(
                fields=["cohort", "user"],
                condition=Q(status__in=EnrolmentStatus.active()),
                name="enrolment_one_active_per_person",
                violation_error_message=_("This person is already enrolled in this cohort."),
            ),
            models.CheckConstraint(
                condition=~Q(status="offered") | Q(offer_expires_at__isnull=False),
                name="enrolment_offer_has_expiry",
            ),
            models.CheckConstraint(
                condition=~Q(status="waitlisted") | Q(waitlisted_at__isnull=False),
                name="enrolment_waitlist_has_time",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(score__gte=0) & Q(score__lte=100)),
                name="enrolment_score_range",
            ),
        ]
        indexes = [
            models.Index(fields=["cohort", "status"], name="enrolment_cohort_status_idx"),
            models.Index(fields=["user", "-id"], name="enrolment_user_idx"),
            models.Index(
                fields=["offer_expires_at"], condition=Q(status="offered"), name="enrolment_open_offers_idx"
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.cohort_id and self.cohort}"

    @property
    def holds_seat(self) -> bool:
        return self.status in EnrolmentStatus.holding_seat()

    @property
    def is_active(self) -> bool:
        return self.status in EnrolmentStatus.active()

    @property
    def can_withdraw(self) -> bool:
        return EnrolmentStatus.WITHDRAWN in self.TRANSITIONS.get(self.status, set())

    def _move_to(self, new_status: str, *, by=None) -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("An enrolment cannot go from “%(old)s” to “%(new)s”.")
                % {"old": EnrolmentStatus(old).label, "new": EnrolmentStatus(new_status).label}
            )
        self.status = new_status
        self.status_changed_at = timezone.now()
        if by is not None:
            self.decided_by = by
        return old

    def enrol(self, *, by=None) -> str:
        old = self._move_to(EnrolmentStatus.ENROLLED, by=by)
        self.enrolled_at = timezone.now()
        self.offer_expires_at = None
        return old

    def put_on_waitlist(self) -> str:
        old = self._move_to(EnrolmentStatus.WAITLISTED)
        self.waitlisted_at = timezone.now()
        return old

    def offer(self, *, hold: timedelta) -> str:
        old = self._move_to(EnrolmentStatus.OFFERED)
        self.offer_expires_at = timezone.now() + hold
        return old

    def expire_offer(self, *, now=None) -> str:
        if self.offer_expires_at and self.offer_expires_at > (now or timezone.now()):
            raise InvalidTransition(_("This offer is still open."))
        return self._move_to(EnrolmentStatus.OFFER_EXPIRED)

    def decline(self, *, by, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("Say why the request is declined."))
        old = self._move_to(EnrolmentStatus.DECLINED, by=by)
        self.reason = reason.strip()
        return old

    def withdraw(self, *, by=None, reason: str = "") -> str:
        old = self._move_to(EnrolmentStatus.WITHDRAWN, by=by)
        self.reason = (reason or "").strip()
        self.offer_expires_at = None
        return old

    def finish(self, new_status: str, *, by) -> str:
        if new_status not in (EnrolmentStatus.COMPLETED, EnrolmentStatus.FAILED, EnrolmentStatus.NO_SHOW):
            raise InvalidTransition(_("A cohort ends with completed, not passed or did not attend."))
        old = self._move_to(new_status, by=by)
        self.completed_at = timezone.now()
        return old


class AttendanceMethod(models.TextChoices):
    INSTRUCTOR = "instructor", _("Marked by the instructor")
    CHECKIN = "checkin", _("Checked in with the code")


class Attendance(models.Model):
    session = models.ForeignKey(
        Session, verbose_name=_("session"), on_delete=models.CASCADE, related_name="attendance"
    )
    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.CASCADE, related_name="attendance"
    )
    present = models.BooleanField(_("present"))
    method = models.CharField(_("how"), max_length=16, choices=AttendanceMethod.choices)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marked_at = models.DateTimeField(_("marked"), default=timezone.now)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(fields=["session", "enrolment"], name="attendance_once_per_session"),
            models.CheckConstraint(
                condition=Q(method__in=AttendanceMethod.values), name="attendance_method_valid"
            ),
        ]

    def __str__(self):
        return f"{self.enrolment_id} @ {self.session_id}: {self.present}"


class CertificateQuerySet(models.QuerySet):
    def for_user(self, user) -> "CertificateQuerySet":
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(
            Q(enrolment__user=user) | Q(enrolment__cohort__in=Cohort.objects.filter(instructors=user))
        )


def new_certificate_code() -> str:
    return f"AICC-{random_code(4)}-{random_code(4)}-{random_code(4)}"


class Certificate(models.Model):
    """Proof of completion. The holder's name and the course are copied at issue, so that the public page
    says what was certified even when the course is renamed; a deleted account leaves a pseudonym."""

    enrolment = models.OneToOneField(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT, related_name="certificate"
    )
    code = models.CharField(_("code"), max_length=32, unique=True, default=new_certificate_code)
    holder_name = models.CharField(_("holder"), max_length=150)
    course_title_zh = models.CharField(_("course (Chinese)"), max_length=200)
    course_title_en = models.CharField(_("course (English)"), max_length=200)
    cohort_name = models.CharField(_("cohort"), max_length=100)
    issued_on = models.DateField(_("issued on"))
    status = models.CharField(
        _("status"), max_length=16, choices=CertificateStatus.choices, default=CertificateStatus.VALID
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.TextField(_("reason for revoking"), blank=True, max_length=2000)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CertificateStatus.values), name="certificate_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="revoked") | (~Q(revoke_reason="") & Q(revoked_at__isnull=False)),
                name="certificate_revocation_has_reason",
            ),
        ]

    def __str__(self):
        return self.code

    def get_absolute_url(self):
        return reverse("certificate_verify", args=[self.code])

    @property
    def course_title(self) -> str:
        return _bilingual(self.course_title_zh, self.course_title_en)

    @property
    def is_valid(self) -> bool:
        return self.status == CertificateStatus.VALID

    def revoke(self, *, by, reason: str) -> str:
        if self.status != CertificateStatus.VALID:
            raise InvalidTransition(_("This certificate is already revoked."))
        if not (reason or "").strip():
            raise InvalidTransition(_("Say why the certificate is revoked; the verification page shows it."))
        old = self.status
        self.status = CertificateStatus.REVOKED
        self.revoked_at, self.revoked_by, self.revoke_reason = timezone.now(), by, reason.strip()
        return old


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
