"""Organisations, their verification by the center, and the people who belong to them (memberships)."""

from django.conf import settings
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.uscc import validate_uscc
from accounts.validators import validate_logo
from core.exceptions import InvalidTransition
from core.roles import sees_all_organisations
from core.states import StatusMachine
from core.text import bilingual


class OrganisationKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("Enterprise")
    UNIVERSITY = "university", _("University")
    RESEARCH_INSTITUTE = "research_institute", _("Research institute")
    GOVERNMENT = "government", _("Government body")
    OTHER = "other", _("Other")


class EnterpriseSize(models.TextChoices):
    """By the national classification of enterprises (工信部联企业〔2011〕300号)."""

    MICRO = "micro", _("Micro enterprise")
    SMALL = "small", _("Small enterprise")
    MEDIUM = "medium", _("Medium-sized enterprise")
    LARGE = "large", _("Large enterprise")

    @classmethod
    def small_or_micro(cls) -> tuple[str, str]:
        return (cls.MICRO, cls.SMALL)


class Sector(models.TextChoices):
    INFORMATION_TECHNOLOGY = "information_technology", _("Information technology")
    MANUFACTURING = "manufacturing", _("Manufacturing")
    HEALTHCARE = "healthcare", _("Healthcare")
    TRANSPORT = "transport", _("Transport and logistics")
    FINANCE = "finance", _("Finance")
    EDUCATION = "education", _("Education")
    ENERGY = "energy", _("Energy")
    PUBLIC_SERVICES = "public_services", _("Public services")
    AGRICULTURE = "agriculture", _("Agriculture")
    RESEARCH = "research", _("Scientific research")
    OTHER = "other", _("Other")


class VerificationStatus(models.TextChoices):
    UNVERIFIED = "unverified", _("Unverified")
    PENDING = "pending", _("Pending verification")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class OrganisationQuerySet(models.QuerySet):
    def for_user(self, user) -> "OrganisationQuerySet":
        """Organisations the user may see in full: their own, or all of them for operators and supervisors."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(Exists(Membership.objects.filter(organisation=OuterRef("pk"), user=user)))

    def managed_by(self, user) -> "OrganisationQuerySet":
        """Organisations whose profile, members and requests the user may manage (owner or admin)."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(
            Exists(
                Membership.objects.filter(
                    organisation=OuterRef("pk"), user=user, role__in=MembershipRole.managing()
                )
            )
        )

    def verified(self) -> "OrganisationQuerySet":
        return self.filter(verification_status=VerificationStatus.VERIFIED)

    def awaiting_verification(self) -> "OrganisationQuerySet":
        return self.filter(verification_status=VerificationStatus.PENDING)


class Organisation(StatusMachine):
    STATUS_FIELD = "verification_status"
    TRANSITION_ERROR = _("An organisation cannot go from “%(old)s” to “%(new)s”.")
    TRANSITIONS = {
        VerificationStatus.UNVERIFIED: {VerificationStatus.PENDING},
        VerificationStatus.PENDING: {VerificationStatus.VERIFIED, VerificationStatus.REJECTED},
        VerificationStatus.REJECTED: {VerificationStatus.PENDING},
        # A verified organisation that changes its legal identity is checked again.
        VerificationStatus.VERIFIED: {VerificationStatus.UNVERIFIED},
    }
    # The profile its managers edit (in this order on the form and in the API).
    PROFILE_FIELDS = (
        "name_zh",
        "name_en",
        "kind",
        "size",
        "uscc",
        "sector",
        "city",
        "website",
        "description",
        "logo",
    )
    # Changing one of these on a verified organisation sends it back to verification.
    IDENTITY_FIELDS = ("name_zh", "kind", "uscc", "size")

    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("type"), max_length=32, choices=OrganisationKind.choices)
    size = models.CharField(
        _("enterprise size"),
        max_length=16,
        choices=EnterpriseSize.choices,
        blank=True,
        help_text=_(
            "Enterprises only, by the national classification (工信部联企业〔2011〕300号). Checked at "
            "verification; small and micro enterprises may apply for compute vouchers."
        ),
    )
    sector = models.CharField(_("sector"), max_length=32, choices=Sector.choices)
    city = models.CharField(_("city"), max_length=100)
    website = models.URLField(_("website"), blank=True)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    logo = models.ImageField(
        _("logo"),
        upload_to="organisations/logos/%Y/",
        blank=True,
        validators=[FileExtensionValidator(["png", "jpg", "jpeg", "webp"]), validate_logo],
        help_text=_("PNG, JPEG or WebP, at most 1 MB."),
    )
    uscc = models.CharField(
        _("Unified Social Credit Code"),
        max_length=18,
        blank=True,
        validators=[validate_uscc],
        help_text=_("18 characters, required for enterprises (统一社会信用代码)."),
    )
    verification_status = models.CharField(
        _("verification status"),
        max_length=16,
        choices=VerificationStatus.choices,
        default=VerificationStatus.UNVERIFIED,
        db_index=True,
    )
    verification_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verification decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verification_decided_at = models.DateTimeField(_("verification decided at"), null=True, blank=True)
    verification_reason = models.TextField(_("verification reason"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["-id"]
        permissions = [("verify_organisation", _("Can decide organisation verification"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(verification_status__in=VerificationStatus.values),
                name="organisation_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=OrganisationKind.values), name="organisation_kind_valid"
            ),
            models.CheckConstraint(condition=Q(sector__in=Sector.values), name="organisation_sector_valid"),
            models.CheckConstraint(
                condition=~Q(kind=OrganisationKind.ENTERPRISE) | ~Q(uscc=""),
                name="organisation_enterprise_has_uscc",
            ),
            models.UniqueConstraint(
                fields=["uscc"],
                condition=~Q(uscc=""),
                name="organisation_uscc_unique",
                violation_error_message=_(
                    "An organisation with this Unified Social Credit Code is already registered."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(verification_status=VerificationStatus.REJECTED) | ~Q(verification_reason=""),
                name="organisation_rejection_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["kind", "sector"], name="organisation_kind_sector_idx")]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("accounts:organisation_detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        return bilingual(self.name_zh, self.name_en)

    @property
    def is_verified(self) -> bool:
        return self.verification_status == VerificationStatus.VERIFIED

    # --- verification status pipeline (changes the row, never saves: services save and audit) ---

    def _decided(self, new_status: str, *, by, reason: str = "") -> str:
        old = self.move_to(new_status)
        self.verification_decided_by, self.verification_decided_at = by, timezone.now()
        self.verification_reason = reason
        self.touch("verification_decided_by", "verification_decided_at", "verification_reason")
        return old

    def submit_for_verification(self) -> str:
        old = self.move_to(VerificationStatus.PENDING)
        self.verification_reason = ""
        self.touch("verification_reason")
        return old

    def verify(self, *, by) -> str:
        return self._decided(VerificationStatus.VERIFIED, by=by)

    def reject(self, *, by, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("A rejection needs a reason that the organisation can act on."))
        return self._decided(VerificationStatus.REJECTED, by=by, reason=reason.strip())

    def reset_verification(self) -> str:
        old = self.move_to(VerificationStatus.UNVERIFIED)
        self.verification_decided_by, self.verification_decided_at = None, None
        self.touch("verification_decided_by", "verification_decided_at")
        return old


class MembershipRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")
    MEMBER = "member", _("Member")

    @classmethod
    def managing(cls) -> list[str]:
        return [cls.OWNER, cls.ADMIN]


class OrganisationScopedQuerySet(models.QuerySet):
    """Rows that belong to an organisation (through ``organisation``): a person sees those of the
    organisations they are a member of; operators and supervisors see all."""

    def for_user(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
        )


class MembershipQuerySet(models.QuerySet):
    def for_user(self, user) -> "MembershipQuerySet":
        """Memberships of organisations the user can see."""
        return self.filter(organisation__in=Organisation.objects.for_user(user))

    def owners(self) -> "MembershipQuerySet":
        return self.filter(role=MembershipRole.OWNER)


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(
        _("role"), max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organisation_id", "role", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"], name="membership_unique_user_organisation"
            ),
            models.CheckConstraint(condition=Q(role__in=MembershipRole.values), name="membership_role_valid"),
        ]
        indexes = [models.Index(fields=["organisation", "role"], name="membership_org_role_idx")]

    def __str__(self):
        return f"{self.user} @ {self.organisation} ({self.get_role_display()})"

    @property
    def can_manage(self) -> bool:
        return self.role in MembershipRole.managing()
