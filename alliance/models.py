"""The industry alliance: memberships of organisations, their directory profiles, solutions, needs and matches."""

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, MembershipRole, Organisation
from core.exceptions import InvalidTransition
from core.roles import sees_all_organisations


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


class AllianceMembershipQuerySet(models.QuerySet):
    def for_user(self, user) -> "AllianceMembershipQuerySet":
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
        )

    def managed_by(self, user) -> "AllianceMembershipQuerySet":
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(
            Exists(
                Membership.objects.filter(
                    organisation=OuterRef("organisation"), user=user, role__in=MembershipRole.managing()
                )
            )
        )

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


class AllianceMembership(models.Model):
    """An organisation's membership of the alliance for a term; a new application makes a new row."""

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
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    status_changed_at = models.DateTimeField(_("status since"), default=timezone.now)
    reminder_sent_for = models.DateField(
        _("renewal reminder sent for the term ending"), null=True, blank=True
    )

    objects = AllianceMembershipQuerySet.as_manager()

    class Meta:
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
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_reason=""),
                name="alliancemembership_rejection_has_reason",
            ),
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

    def is_current(self, today: date | None = None) -> bool:
        return self.computed_status(today) in MembershipStatus.current()

    @property
    def listed_until(self) -> date | None:
        return self.end_date + timedelta(days=grace_days()) if self.end_date else None

    # --- transitions (change the row, never save: services save and audit) ---
    def _move_to(self, new_status: str) -> str:
        old = self.status
        if new_status == old:
            return old
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("A membership cannot go from “%(old)s” to “%(new)s”.")
                % {"old": MembershipStatus(old).label, "new": MembershipStatus(new_status).label}
            )
        self.status = new_status
        self.status_changed_at = timezone.now()
        return old

    def approve(self, *, by, start: date) -> str:
        if self.status != MembershipStatus.PENDING:
            raise InvalidTransition(_("Only a pending application can be approved."))
        self.start_date, self.end_date = start, term_end(start)
        old = self._move_to(status_for_dates(self.start_date, self.end_date, start))
        self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), ""
        return old

    def reject(self, *, by, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("A rejection needs a reason the organisation can act on."))
        old = self._move_to(MembershipStatus.REJECTED)
        self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), reason.strip()
        return old

    def suspend(self, *, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("Say why the membership is suspended."))
        old = self._move_to(MembershipStatus.SUSPENDED)
        self.decision_reason = reason.strip()
        return old

    def reinstate(self, *, today: date) -> str:
        if self.status != MembershipStatus.SUSPENDED:
            raise InvalidTransition(_("Only a suspended membership can be reinstated."))
        return self._move_to(status_for_dates(self.start_date, self.end_date, today))

    def withdraw(self) -> str:
        return self._move_to(MembershipStatus.WITHDRAWN)

    def recompute(self, *, today: date) -> str:
        """Bring a dated status up to date; manual states stay as they are."""
        if self.status not in MembershipStatus.dated():
            return self.status
        return self._move_to(status_for_dates(self.start_date, self.end_date, today))

    def extend(self, *, today: date) -> tuple[date, date]:
        """Renew for another year: from the current end (or today if it has lapsed)."""
        if self.status not in MembershipStatus.dated():
            raise InvalidTransition(_("Only an active, lapsing or expired membership can be renewed."))
        old_end = self.end_date
        base = max(old_end + timedelta(days=1), today) if old_end else today
        self.end_date = term_end(base)
        self._move_to(status_for_dates(self.start_date, self.end_date, today))
        return old_end, self.end_date


class RenewalStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class MembershipRenewal(models.Model):
    """An owner's or administrator's request to renew a membership for another term."""

    TRANSITIONS = {RenewalStatus.PENDING: {RenewalStatus.APPROVED, RenewalStatus.REJECTED}}

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
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    new_end_date = models.DateField(_("new end date"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership renewal")
        verbose_name_plural = _("membership renewals")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RenewalStatus.values), name="membershiprenewal_status_valid"
            ),
            models.UniqueConstraint(
                fields=["membership"], condition=Q(status="pending"), name="membershiprenewal_one_pending"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_reason=""),
                name="membershiprenewal_rejection_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.membership} · {self.get_status_display()}"

    def _move_to(self, new_status: str, *, by) -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(_("This renewal has already been decided."))
        self.status, self.decided_by, self.decided_at = new_status, by, timezone.now()
        return old

    def approve(self, *, by, new_end_date: date) -> str:
        old = self._move_to(RenewalStatus.APPROVED, by=by)
        self.new_end_date = new_end_date
        return old

    def reject(self, *, by, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("A rejection needs a reason the organisation can act on."))
        old = self._move_to(RenewalStatus.REJECTED, by=by)
        self.decision_reason = reason.strip()
        return old


# --- taxonomy, privacy and profiles -------------------------------------------------------------------


class CapabilityTag(models.Model):
    """One entry of the managed capability taxonomy (operators keep it in the back office)."""

    slug = models.SlugField(_("short name"), unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=60)
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("capability")
        verbose_name_plural = _("capabilities")
        ordering = ["slug"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized(self.name_zh, self.name_en)


class Scenario(models.TextChoices):
    SMART_MEDICAL = "smart_medical", _("Smart medical care")
    SMART_TRANSPORT = "smart_transport", _("Smart transport")
    URBAN_BRAIN = "urban_brain", _("Urban brain")
    NETWORK_SECURITY = "network_security", _("Network security")
    SMART_MANUFACTURING = "smart_manufacturing", _("Smart manufacturing")
    SMART_EDUCATION = "smart_education", _("Smart education")
    SMART_FINANCE = "smart_finance", _("Smart finance")
    OTHER = "other", _("Other")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Everyone")
    MEMBERS = "members", _("Alliance members only")
    PRIVATE = "private", _("Nobody outside the organisation")


# The profile fields an organisation publishes; each has its own visibility.
PROFILE_FIELDS = (
    "description",
    "logo",
    "website",
    "contact_name",
    "contact_email",
    "contact_phone",
    "capabilities",
)
DEFAULT_VISIBILITY = {
    "description": Visibility.PUBLIC,
    "logo": Visibility.PUBLIC,
    "website": Visibility.PUBLIC,
    "contact_name": Visibility.MEMBERS,
    "contact_email": Visibility.MEMBERS,
    "contact_phone": Visibility.PRIVATE,
    "capabilities": Visibility.PUBLIC,
}


def default_visibility() -> dict:
    return {k: str(v) for k, v in DEFAULT_VISIBILITY.items()}


class AllianceProfile(models.Model):
    """The published alliance profile of an organisation (changed only by approved revisions)."""

    organisation = models.OneToOneField(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="alliance_profile",
    )
    description = models.TextField(_("description"), blank=True, max_length=5000)
    logo = models.ImageField(_("logo"), upload_to="alliance/logos/%Y/", blank=True)
    website = models.URLField(_("website"), blank=True)
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    capabilities = models.ManyToManyField(
        CapabilityTag, verbose_name=_("capabilities"), blank=True, related_name="profiles"
    )
    visibility = models.JSONField(_("who sees each field"), default=default_visibility)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("alliance profile")
        verbose_name_plural = _("alliance profiles")

    def __str__(self):
        return str(self.organisation)

    def level(self, field: str) -> str:
        return (self.visibility or {}).get(field, DEFAULT_VISIBILITY[field])

    def shows(self, field: str, audience: str) -> bool:
        """Whether ``field`` is shown to an audience: "public", "members" or "own" (the organisation, staff)."""
        level = self.level(field)
        if audience == "own":
            return True
        if audience == "members":
            return level in (Visibility.PUBLIC, Visibility.MEMBERS)
        return level == Visibility.PUBLIC


class RevisionStatus(models.TextChoices):
    PENDING = "pending", _("Pending moderation")
    APPROVED = "approved", _("Published")
    REJECTED = "rejected", _("Rejected")
    SUPERSEDED = "superseded", _("Replaced by a later edit")


class ProfileRevisionQuerySet(models.QuerySet):
    def for_user(self, user) -> "ProfileRevisionQuerySet":
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
        )


class ProfileRevision(models.Model):
    """Proposed values of the public profile fields, waiting for an operator."""

    TRANSITIONS = {
        RevisionStatus.PENDING: {RevisionStatus.APPROVED, RevisionStatus.REJECTED, RevisionStatus.SUPERSEDED}
    }

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="alliance_revisions",
    )
    data = models.JSONField(_("proposed values"), default=dict)
    logo = models.ImageField(_("proposed logo"), upload_to="alliance/logos/%Y/", blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=RevisionStatus.choices, default=RevisionStatus.PENDING
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)

    objects = ProfileRevisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("profile revision")
        verbose_name_plural = _("profile revisions")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RevisionStatus.values), name="profilerevision_status_valid"
            ),
            models.UniqueConstraint(
                fields=["organisation"], condition=Q(status="pending"), name="profilerevision_one_pending"
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_reason=""),
                name="profilerevision_rejection_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.organisation_id and self.organisation} #{self.pk}"

    def _move_to(self, new_status: str, *, by=None) -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(_("This profile change has already been decided."))
        self.status, self.decided_by, self.decided_at = new_status, by, timezone.now()
        return old

    def approve(self, *, by) -> str:
        return self._move_to(RevisionStatus.APPROVED, by=by)

    def reject(self, *, by, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("A rejection needs a reason the organisation can act on."))
        old = self._move_to(RevisionStatus.REJECTED, by=by)
        self.decision_reason = reason.strip()
        return old

    def supersede(self) -> str:
        return self._move_to(RevisionStatus.SUPERSEDED)


# --- the directory ------------------------------------------------------------------------------------


class DirectoryEntryQuerySet(models.QuerySet):
    def listed(self, today: date | None = None) -> "DirectoryEntryQuerySet":
        """Entries of current members: the listing flag, and the dates (so a lapsed term drops out on the day,
        before the daily recheck)."""
        today = today or timezone.localdate()
        return self.filter(is_listed=True, member_from__lte=today, listed_until__gte=today)


class DirectoryEntry(models.Model):
    """One row per member organisation with its published, public values: what the directory lists and searches.

    Services keep it in sync (``alliance.directory.sync_entry``); nothing private is ever copied here.
    """

    organisation = models.OneToOneField(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="directory_entry",
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("type"), max_length=32)
    sector = models.CharField(_("sector"), max_length=32)
    city = models.CharField(_("city"), max_length=100)
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices)
    tier_rank = models.PositiveSmallIntegerField(default=0)
    member_since = models.DateField(_("member since"))
    member_from = models.DateField(_("listed from"))
    listed_until = models.DateField(_("listed until"))
    is_listed = models.BooleanField(_("listed"), default=False)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    logo = models.CharField(_("logo"), max_length=200, blank=True)
    capabilities = models.ManyToManyField(CapabilityTag, blank=True, related_name="directory_entries")
    search_document = models.TextField(_("search text"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = DirectoryEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("directory entry")
        verbose_name_plural = _("directory entries")
        ordering = ["tier_rank", "name_zh"]
        # The trigram index on search_document is PostgreSQL-only: migration 0002 creates it there.
        indexes = [
            models.Index(
                fields=["tier_rank", "name_zh"],
                condition=Q(is_listed=True),
                name="directory_listed_order_idx",
            ),
            # Facet counts read these alone (index-only scans on PostgreSQL): the value and the listing dates.
            *[
                models.Index(
                    fields=[name, "listed_until", "member_from"],
                    condition=Q(is_listed=True),
                    name=f"directory_{name}_facet_idx",
                )
                for name in ("kind", "sector", "city", "tier")
            ],
            models.Index(fields=["-updated_at"], name="directory_updated_idx"),
            models.Index(
                fields=["listed_until", "member_from", "organisation"],
                condition=Q(is_listed=True),
                name="directory_until_idx",
            ),
        ]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("alliance:member_profile", args=[self.organisation_id])

    @property
    def display_name(self) -> str:
        return localized(self.name_zh, self.name_en)


# --- solutions and needs ------------------------------------------------------------------------------


class SolutionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending moderation")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


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


class SolutionQuerySet(models.QuerySet):
    def published(self) -> "SolutionQuerySet":
        """Published solutions of organisations listed in the directory today."""
        return self.filter(
            status=SolutionStatus.PUBLISHED,
            organisation__in=DirectoryEntry.objects.listed().values("organisation"),
        )

    def for_user(self, user) -> "SolutionQuerySet":
        """What a person may open: published ones, and every solution of their own organisations."""
        if sees_all_organisations(user):
            return self
        visible = Q(pk__in=self.published().values("pk"))
        if getattr(user, "is_authenticated", False):
            visible |= Q(Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user)))
        return self.filter(visible)

    def own(self, user) -> "SolutionQuerySet":
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
        )


class Solution(models.Model):
    """A member's AI solution or case, published after moderation."""

    TRANSITIONS = {
        SolutionStatus.DRAFT: {SolutionStatus.PENDING, SolutionStatus.WITHDRAWN},
        SolutionStatus.PENDING: {SolutionStatus.PUBLISHED, SolutionStatus.REJECTED, SolutionStatus.WITHDRAWN},
        SolutionStatus.REJECTED: {SolutionStatus.PENDING, SolutionStatus.WITHDRAWN},
        SolutionStatus.PUBLISHED: {SolutionStatus.PENDING, SolutionStatus.WITHDRAWN},
        SolutionStatus.WITHDRAWN: {SolutionStatus.PENDING},
    }
    EDITABLE = (
        SolutionStatus.DRAFT,
        SolutionStatus.REJECTED,
        SolutionStatus.WITHDRAWN,
        SolutionStatus.PUBLISHED,
    )

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="alliance_solutions",
    )
    title = models.CharField(_("title"), max_length=200)
    scenario = models.CharField(_("scenario"), max_length=32, choices=Scenario.choices)
    description = models.TextField(_("description"), max_length=10000)
    outcome = models.TextField(_("outcome"), max_length=5000, blank=True)
    image = models.ImageField(_("image"), upload_to="alliance/solutions/%Y/", blank=True)
    capabilities = models.ManyToManyField(
        CapabilityTag, verbose_name=_("capabilities"), blank=True, related_name="solutions"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SolutionStatus.choices,
        default=SolutionStatus.DRAFT,
        db_index=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)

    objects = SolutionQuerySet.as_manager()

    class Meta:
        verbose_name = _("solution")
        verbose_name_plural = _("solutions")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SolutionStatus.values), name="solution_status_valid"
            ),
            models.CheckConstraint(condition=Q(scenario__in=Scenario.values), name="solution_scenario_valid"),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_reason=""), name="solution_rejection_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-id"], name="solution_org_idx"),
            models.Index(fields=["scenario"], condition=Q(status="published"), name="solution_published_idx"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("alliance:solution_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    def _move_to(self, new_status: str) -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("A solution cannot go from “%(old)s” to “%(new)s”.")
                % {"old": SolutionStatus(old).label, "new": SolutionStatus(new_status).label}
            )
        self.status = new_status
        return old

    def submit(self) -> str:
        old = self._move_to(SolutionStatus.PENDING)
        self.submitted_at = timezone.now()
        return old

    def publish(self, *, by) -> str:
        old = self._move_to(SolutionStatus.PUBLISHED)
        self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), ""
        return old

    def reject(self, *, by, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("A rejection needs a reason the organisation can act on."))
        old = self._move_to(SolutionStatus.REJECTED)
        self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), reason.strip()
        return old

    def withdraw(self) -> str:
        return self._move_to(SolutionStatus.WITHDRAWN)


class NeedKind(models.TextChoices):
    TECHNOLOGY = "technology", _("Technology need")
    TALENT = "talent", _("Talent need")


class NeedStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class NeedQuerySet(models.QuerySet):
    def for_user(self, user) -> "NeedQuerySet":
        """Open needs are for alliance members; an organisation sees all of its own; staff see all."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        own = Q(Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user)))
        if is_alliance_member(user):
            return self.filter(own | Q(status=NeedStatus.OPEN))
        return self.filter(own)

    def own(self, user) -> "NeedQuerySet":
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
        )

    def open(self) -> "NeedQuerySet":
        return self.filter(status=NeedStatus.OPEN)


class Need(models.Model):
    """A member's technology need (a problem looking for a solution) or talent need (skills and people)."""

    TRANSITIONS = {NeedStatus.OPEN: {NeedStatus.CLOSED}, NeedStatus.CLOSED: {NeedStatus.OPEN}}

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="alliance_needs"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NeedKind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=5000)
    scenario = models.CharField(_("scenario"), max_length=32, choices=Scenario.choices)
    capabilities = models.ManyToManyField(
        CapabilityTag, verbose_name=_("capabilities wanted"), blank=True, related_name="needs"
    )
    skills = models.CharField(_("skills"), max_length=300, blank=True)
    people = models.PositiveIntegerField(_("number of people"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=NeedStatus.choices, default=NeedStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("posted"), auto_now_add=True)

    objects = NeedQuerySet.as_manager()

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=NeedKind.values), name="need_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=NeedStatus.values), name="need_status_valid"),
            models.CheckConstraint(condition=Q(scenario__in=Scenario.values), name="need_scenario_valid"),
            models.CheckConstraint(
                condition=~Q(kind="talent") | Q(people__gte=1), name="need_talent_has_people"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind", "-id"], name="need_status_kind_idx"),
            models.Index(fields=["organisation", "-id"], name="need_org_idx"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("alliance:need_detail", args=[self.pk])

    def _move_to(self, new_status: str) -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(_("This need is already %(status)s.") % {"status": NeedStatus(old).label})
        self.status = new_status
        return old

    def close(self) -> str:
        return self._move_to(NeedStatus.CLOSED)

    def reopen(self) -> str:
        return self._move_to(NeedStatus.OPEN)


class InterestQuerySet(models.QuerySet):
    def for_user(self, user) -> "InterestQuerySet":
        """Interests where one of the person's organisations is one of the two sides."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        mine = Membership.objects.filter(user=user).values("organisation")
        return self.filter(Q(organisation__in=mine) | Q(need__organisation__in=mine))


class Interest(models.Model):
    """One side's interest in a match: a member offering itself (or a solution) for a need, or a need's owner
    inviting a suggested member."""

    class Direction(models.TextChoices):
        OFFER = "offer", _("Offered to the need")
        INVITE = "invite", _("Invited by the need's owner")

    need = models.ForeignKey(Need, verbose_name=_("need"), on_delete=models.CASCADE, related_name="interests")
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("matched organisation"),
        on_delete=models.CASCADE,
        related_name="alliance_interests",
    )
    solution = models.ForeignKey(
        Solution,
        verbose_name=_("solution"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    message = models.TextField(_("message"), max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("expressed"), auto_now_add=True)

    objects = InterestQuerySet.as_manager()

    class Meta:
        verbose_name = _("interest")
        verbose_name_plural = _("interests")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=["offer", "invite"]), name="interest_direction_valid"
            ),
            models.UniqueConstraint(
                fields=["need", "organisation", "direction"], name="interest_unique_per_side"
            ),
        ]

    def __str__(self):
        return f"{self.organisation_id and self.organisation} ↔ {self.need_id and self.need}"


def localized(zh: str, en: str) -> str:
    if (get_language() or "en").startswith("zh") or not en:
        return zh
    return en
