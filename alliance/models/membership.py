"""Memberships of organisations in the alliance, their terms and their renewals."""

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organisation, OrganisationScopedQuerySet
from core.exceptions import InvalidTransition
from core.states import Decided

# What a rejection of an organisation's application, renewal, profile change or solution says without a reason.
REASON_FOR_ORGANISATION = _("A rejection needs a reason the organisation can act on.")


def rejection_has_reason(model: str) -> models.CheckConstraint:
    """``Decided``'s "a rejection has a reason", in the form the alliance's migrations created it."""
    return models.CheckConstraint(
        condition=~Q(status="rejected") | ~Q(decision_reason=""), name=f"{model}_rejection_has_reason"
    )


def request_constraints(model: str, statuses: list[str], *, one_pending_per: str) -> list:
    """A request decided by operators: a known status, at most one pending, a reason for a rejection."""
    return [
        models.CheckConstraint(condition=Q(status__in=statuses), name=f"{model}_status_valid"),
        models.UniqueConstraint(
            fields=[one_pending_per], condition=Q(status="pending"), name=f"{model}_one_pending"
        ),
        rejection_has_reason(model),
    ]


def grace_days() -> int:
    return max(int(settings.ALLIANCE_GRACE_DAYS), 0)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def term_end(start: date) -> date:
    """A term runs one year: from 1 March 2026 to 28 February 2027 inclusive."""
    return add_years(start, 1) - timedelta(days=1)


class Tier(models.TextChoices):
    COUNCIL = "council", _("Council member")
    MEMBER = "member", _("Member")
    OBSERVER = "observer", _("Observer")


class MembershipStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    REJECTED = "rejected", _("Rejected")
    ACTIVE = "active", _("Active")
    GRACE = "grace", _("In grace period")
    EXPIRED = "expired", _("Expired")
    SUSPENDED = "suspended", _("Suspended")
    WITHDRAWN = "withdrawn", _("Withdrawn")

    @classmethod
    def dated(cls) -> list[str]:
        """The states worked out from the term's dates (the others are set by people)."""
        return [cls.ACTIVE, cls.GRACE, cls.EXPIRED]

    @classmethod
    def current(cls) -> list[str]:
        return [cls.ACTIVE, cls.GRACE]

    @classmethod
    def open(cls) -> list[str]:
        """States that block a second application of the same organisation."""
        return [cls.PENDING, cls.ACTIVE, cls.GRACE, cls.SUSPENDED]


def status_for_dates(start: date | None, end: date | None, today: date) -> str:
    """Active within the term, in grace for ALLIANCE_GRACE_DAYS after it, expired after that."""
    if start is None or end is None:
        return MembershipStatus.EXPIRED
    if today <= end:
        return MembershipStatus.ACTIVE
    if today <= end + timedelta(days=grace_days()):
        return MembershipStatus.GRACE
    return MembershipStatus.EXPIRED


class AllianceMembershipQuerySet(OrganisationScopedQuerySet):
    def current(self, today: date | None = None) -> "AllianceMembershipQuerySet":
        """Memberships that count today: active or in grace, worked out from the dates (not only the stored
        status, which the daily recheck brings up to date)."""
        today = today or timezone.localdate()
        return self.filter(
            status__in=MembershipStatus.dated(),
            start_date__lte=today,
            end_date__gte=today - timedelta(days=grace_days()),
        )

    def awaiting_decision(self) -> "AllianceMembershipQuerySet":
        return self.filter(status=MembershipStatus.PENDING)

    def open(self) -> "AllianceMembershipQuerySet":
        return self.filter(status__in=MembershipStatus.open())

    def stale(self, today: date | None = None) -> "AllianceMembershipQuerySet":
        """Dated memberships whose stored status no longer matches their dates."""
        today = today or timezone.localdate()
        grace_start = today - timedelta(days=grace_days())
        active = Q(end_date__gte=today)
        grace = Q(end_date__lt=today, end_date__gte=grace_start)
        expired = Q(end_date__lt=grace_start)
        return self.filter(status__in=MembershipStatus.dated()).filter(
            (Q(status=MembershipStatus.ACTIVE) & ~active)
            | (Q(status=MembershipStatus.GRACE) & ~grace)
            | (Q(status=MembershipStatus.EXPIRED) & ~expired)
        )

    def due_for_reminder(self, today: date | None = None) -> "AllianceMembershipQuerySet":
        today = today or timezone.localdate()
        horizon = today + timedelta(days=int(settings.ALLIANCE_RENEWAL_REMINDER_DAYS))
        return (
            self.current(today)
            .filter(end_date__gte=today, end_date__lte=horizon)
            .exclude(reminder_sent_for=models.F("end_date"))
        )


class AllianceMembership(Decided):
    """An organisation's membership of the alliance for a term; a new application makes a new row."""

    STATUS_STAMP = "status_changed_at"
    TRANSITION_ERROR = _("A membership cannot go from “%(old)s” to “%(new)s”.")
    REASON_MISSING = REASON_FOR_ORGANISATION

    TRANSITIONS = {
        MembershipStatus.PENDING: {
            MembershipStatus.ACTIVE,
            MembershipStatus.REJECTED,
            MembershipStatus.WITHDRAWN,
        },
        MembershipStatus.ACTIVE: {
            MembershipStatus.GRACE,
            MembershipStatus.EXPIRED,
            MembershipStatus.SUSPENDED,
            MembershipStatus.WITHDRAWN,
        },
        MembershipStatus.GRACE: {
            MembershipStatus.ACTIVE,
            MembershipStatus.EXPIRED,
            MembershipStatus.SUSPENDED,
            MembershipStatus.WITHDRAWN,
        },
        MembershipStatus.EXPIRED: {MembershipStatus.ACTIVE, MembershipStatus.GRACE},
        MembershipStatus.SUSPENDED: {
            MembershipStatus.ACTIVE,
            MembershipStatus.GRACE,
            MembershipStatus.EXPIRED,
            MembershipStatus.WITHDRAWN,
        },
    }

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="alliance_memberships",
    )
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, default=Tier.MEMBER)
    statement = models.TextField(_("statement"), max_length=5000)
    status = models.CharField(
        _("status"), max_length=16, choices=MembershipStatus.choices, default=MembershipStatus.PENDING
    )
    start_date = models.DateField(_("member since"), null=True, blank=True)
    end_date = models.DateField(_("term ends"), null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applied by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    applied_at = models.DateTimeField(_("applied"), default=timezone.now)
    status_changed_at = models.DateTimeField(_("status since"), default=timezone.now)
    reminder_sent_for = models.DateField(
        _("renewal reminder sent for the term ending"), null=True, blank=True
    )

    objects = AllianceMembershipQuerySet.as_manager()

    class Meta(Decided.Meta):
        verbose_name = _("alliance membership")
        verbose_name_plural = _("alliance memberships")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MembershipStatus.values), name="alliancemembership_status_valid"
            ),
            models.CheckConstraint(condition=Q(tier__in=Tier.values), name="alliancemembership_tier_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "rejected", "withdrawn"])
                | Q(start_date__isnull=False, end_date__isnull=False),
                name="alliancemembership_member_has_term",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="alliancemembership_end_after_start",
            ),
            rejection_has_reason("alliancemembership"),
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(status__in=["pending", "active", "grace", "suspended"]),
                name="alliancemembership_one_open_per_org",
                violation_error_message=_("This organisation already has an open alliance membership."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "end_date"], name="alliancemembership_status_idx"),
            models.Index(fields=["organisation", "-id"], name="alliancemembership_org_idx"),
        ]

    def __str__(self):
        return f"{self.organisation_id and self.organisation} · {self.get_tier_display()}"

    def get_absolute_url(self):
        return reverse("alliance:membership_detail", args=[self.pk])

    def computed_status(self, today: date | None = None) -> str:
        """The status today: the stored manual state, or the one the dates give."""
        if self.status not in MembershipStatus.dated():
            return self.status
        return status_for_dates(self.start_date, self.end_date, today or timezone.localdate())

    @property
    def listed_until(self) -> date | None:
        return self.end_date + timedelta(days=grace_days()) if self.end_date else None

    # --- transitions (change the row, never save: services save and audit) ---

    def move_to(self, new_status: str, *, same_is_fine: bool = True) -> str:
        """A membership already in the status it is moved to stays as it is (the daily recheck relies on it)."""
        return super().move_to(new_status, same_is_fine=same_is_fine)

    def approve(self, *, by, start: date) -> str:
        if self.status != MembershipStatus.PENDING:
            raise InvalidTransition(_("Only a pending application can be approved."))
        self.start_date, self.end_date = start, term_end(start)
        self.touch("start_date", "end_date")
        return self.decide(status_for_dates(self.start_date, self.end_date, start), by=by)

    def reject(self, *, by, reason: str) -> str:
        return self.decide(MembershipStatus.REJECTED, by=by, reason=reason)

    def suspend(self, *, reason: str) -> str:
        reason = (reason or "").strip()
        if not reason:
            raise InvalidTransition(_("Say why the membership is suspended."))
        old = self.move_to(MembershipStatus.SUSPENDED)
        self.decision_reason = reason
        self.touch("decision_reason")
        return old

    def reinstate(self, *, today: date) -> str:
        if self.status != MembershipStatus.SUSPENDED:
            raise InvalidTransition(_("Only a suspended membership can be reinstated."))
        return self.move_to(status_for_dates(self.start_date, self.end_date, today))

    def withdraw(self) -> str:
        return self.move_to(MembershipStatus.WITHDRAWN)

    def recompute(self, *, today: date) -> str:
        """Bring a dated status up to date; manual states stay as they are."""
        if self.status not in MembershipStatus.dated():
            return self.status
        return self.move_to(status_for_dates(self.start_date, self.end_date, today))

    def extend(self, *, today: date) -> tuple[date, date]:
        """Renew for another year: from the current end (or today if it has lapsed)."""
        if self.status not in MembershipStatus.dated():
            raise InvalidTransition(_("Only an active, lapsing or expired membership can be renewed."))
        old_end = self.end_date
        base = max(old_end + timedelta(days=1), today) if old_end else today
        self.end_date = term_end(base)
        self.touch("end_date")
        self.move_to(status_for_dates(self.start_date, self.end_date, today))
        return old_end, self.end_date


class RenewalStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class MembershipRenewal(Decided):
    """An owner's or administrator's request to renew a membership for another term."""

    TRANSITIONS = {RenewalStatus.PENDING: {RenewalStatus.APPROVED, RenewalStatus.REJECTED}}
    TRANSITION_ERROR = _("This renewal has already been decided.")
    REASON_MISSING = REASON_FOR_ORGANISATION

    membership = models.ForeignKey(
        AllianceMembership, verbose_name=_("membership"), on_delete=models.CASCADE, related_name="renewals"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RenewalStatus.choices, default=RenewalStatus.PENDING
    )
    note = models.TextField(_("note"), blank=True, max_length=2000)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    new_end_date = models.DateField(_("new end date"), null=True, blank=True)

    class Meta(Decided.Meta):
        verbose_name = _("membership renewal")
        verbose_name_plural = _("membership renewals")
        ordering = ["-id"]
        constraints = request_constraints(
            "membershiprenewal", RenewalStatus.values, one_pending_per="membership"
        )

    def __str__(self):
        return f"{self.membership} · {self.get_status_display()}"

    def approve(self, *, by, new_end_date: date) -> str:
        old = self.decide(RenewalStatus.APPROVED, by=by)
        self.new_end_date = new_end_date
        self.touch("new_end_date")
        return old

    def reject(self, *, by, reason: str) -> str:
        return self.decide(RenewalStatus.REJECTED, by=by, reason=reason)


def _in_current_member_organisations(user):
    return Membership.objects.filter(
        user=user,
        organisation__in=AllianceMembership.objects.current().values("organisation"),
    )


def is_alliance_member(user) -> bool:
    """Whether the person belongs to an organisation that is a current alliance member."""
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(user, "_alliance_member_cache", None)
    if cached is None:
        cached = _in_current_member_organisations(user).exists()
        user._alliance_member_cache = cached
    return cached
