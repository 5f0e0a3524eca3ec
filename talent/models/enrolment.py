"""Enrolments (a person's place in a cohort, with its status pipeline), organisation seat pools and
attendance.

Enrolment statuses and their allowed moves are in ``Enrolment.TRANSITIONS``; the transition methods check the
move and set the related fields but never save (``talent.services`` saves, audits and mails).
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.exceptions import InvalidTransition
from core.roles import sees_all_organisations
from core.states import StatusMachine
from talent.models.choices import AttendanceMethod, EnrolmentStatus
from talent.models.cohorts import Cohort, Session, percent_field


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


class LearnerRecordQuerySet(models.QuerySet):
    """Rows about a learner in a cohort, reached through ``LEARNER`` and ``COHORT`` (field paths)."""

    LEARNER = "user"
    COHORT = "cohort"

    def for_user(self, user):
        """One's own rows; instructors also those of their cohorts; operators and supervisors all."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(
            Q(**{self.LEARNER: user}) | Q(**{f"{self.COHORT}__in": Cohort.objects.filter(instructors=user)})
        )


class EnrolmentQuerySet(LearnerRecordQuerySet):
    def active(self) -> "EnrolmentQuerySet":
        return self.filter(status__in=EnrolmentStatus.active())

    def withdrawable(self) -> "EnrolmentQuerySet":
        """Enrolments the person may still leave (or be taken off)."""
        return self.filter(
            status__in=[s for s, moves in Enrolment.TRANSITIONS.items() if EnrolmentStatus.WITHDRAWN in moves]
        )

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


class Enrolment(StatusMachine):
    TRANSITION_ERROR = _("An enrolment cannot go from “%(old)s” to “%(new)s”.")
    STATUS_STAMP = "status_changed_at"
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
    score = percent_field(_("score"))
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
        return self.can_move_to(EnrolmentStatus.WITHDRAWN)

    def _move_to(self, new_status: str, *, by=None) -> str:
        old = self.move_to(new_status)
        if by is not None:
            self.decided_by = by
            self.touch("decided_by")
        return old

    def enrol(self, *, by=None) -> str:
        old = self._move_to(EnrolmentStatus.ENROLLED, by=by)
        self.enrolled_at = timezone.now()
        self.offer_expires_at = None
        self.touch("enrolled_at", "offer_expires_at")
        return old

    def put_on_waitlist(self) -> str:
        old = self._move_to(EnrolmentStatus.WAITLISTED)
        self.waitlisted_at = timezone.now()
        self.touch("waitlisted_at")
        return old

    def offer(self, *, hold: timedelta) -> str:
        old = self._move_to(EnrolmentStatus.OFFERED)
        self.offer_expires_at = timezone.now() + hold
        self.touch("offer_expires_at")
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
        self.touch("reason")
        return old

    def withdraw(self, *, by=None, reason: str = "") -> str:
        old = self._move_to(EnrolmentStatus.WITHDRAWN, by=by)
        self.reason = (reason or "").strip()
        self.offer_expires_at = None
        self.touch("reason", "offer_expires_at")
        return old

    def finish(self, new_status: str, *, by) -> str:
        if new_status not in (EnrolmentStatus.COMPLETED, EnrolmentStatus.FAILED, EnrolmentStatus.NO_SHOW):
            raise InvalidTransition(_("A cohort ends with completed, not passed or did not attend."))
        old = self._move_to(new_status, by=by)
        self.completed_at = timezone.now()
        self.touch("completed_at")
        return old


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
