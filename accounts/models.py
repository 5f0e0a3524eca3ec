import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.uscc import validate_uscc
from accounts.validators import validate_logo
from core.exceptions import InvalidTransition
from core.roles import sees_all_organisations


class UserManager(DjangoUserManager):
    use_in_migrations = True

    def with_consent(self, purpose: str):
        """People who currently consent to ``purpose``: anything relying on a consent starts here."""
        return self.filter(is_active=True, consents__purpose=purpose, consents__withdrawn_at__isnull=True)

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; the email address is the login."""

    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("back-office access"), default=False, help_text=_("Set by the operator and supervisor roles.")
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.name or self.email

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name or self.email.split("@")[0]


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


class Organisation(models.Model):
    VERIFICATION_TRANSITIONS = {
        VerificationStatus.UNVERIFIED: {VerificationStatus.PENDING},
        VerificationStatus.PENDING: {VerificationStatus.VERIFIED, VerificationStatus.REJECTED},
        VerificationStatus.REJECTED: {VerificationStatus.PENDING},
        # A verified organisation that changes its legal identity is checked again.
        VerificationStatus.VERIFIED: {VerificationStatus.UNVERIFIED},
    }
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
        if (get_language() or "en").startswith("zh") or not self.name_en:
            return self.name_zh
        return self.name_en

    @property
    def is_verified(self) -> bool:
        return self.verification_status == VerificationStatus.VERIFIED

    # --- verification status pipeline (changes the row, never saves: services save and audit) ---
    def _move_to(self, new_status: str) -> str:
        old = self.verification_status
        if new_status not in self.VERIFICATION_TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("An organisation cannot go from “%(old)s” to “%(new)s”.")
                % {"old": VerificationStatus(old).label, "new": VerificationStatus(new_status).label}
            )
        self.verification_status = new_status
        return old

    def submit_for_verification(self) -> str:
        old = self._move_to(VerificationStatus.PENDING)
        self.verification_reason = ""
        return old

    def verify(self, *, by) -> str:
        old = self._move_to(VerificationStatus.VERIFIED)
        self.verification_decided_by, self.verification_decided_at = by, timezone.now()
        self.verification_reason = ""
        return old

    def reject(self, *, by, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("A rejection needs a reason that the organisation can act on."))
        old = self._move_to(VerificationStatus.REJECTED)
        self.verification_decided_by, self.verification_decided_at = by, timezone.now()
        self.verification_reason = reason.strip()
        return old

    def reset_verification(self) -> str:
        old = self._move_to(VerificationStatus.UNVERIFIED)
        self.verification_decided_by, self.verification_decided_at = None, None
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


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


def _invitation_token() -> str:
    return secrets.token_urlsafe(32)


def _invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)


class InvitationQuerySet(models.QuerySet):
    def pending(self) -> "InvitationQuerySet":
        return self.filter(status=InvitationStatus.PENDING, expires_at__gt=timezone.now())

    def for_email(self, email: str) -> "InvitationQuerySet":
        return self.filter(email__iexact=email)

    def overdue(self) -> "InvitationQuerySet":
        return self.filter(status=InvitationStatus.PENDING, expires_at__lte=timezone.now())


class Invitation(models.Model):
    TRANSITIONS = {
        InvitationStatus.PENDING: {
            InvitationStatus.ACCEPTED,
            InvitationStatus.DECLINED,
            InvitationStatus.REVOKED,
            InvitationStatus.EXPIRED,
        },
    }

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(
        _("role"), max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )
    token = models.CharField(max_length=64, unique=True, default=_invitation_token, editable=False)
    status = models.CharField(
        _("status"), max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), default=_invitation_expiry)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=InvitationStatus.values), name="invitation_status_valid"
            ),
            models.CheckConstraint(condition=Q(role__in=MembershipRole.values), name="invitation_role_valid"),
            models.UniqueConstraint(
                Lower("email"),
                "organisation",
                condition=Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
        ]
        indexes = [models.Index(Lower("email"), "status", name="invitation_email_status_idx")]

    def __str__(self):
        return f"{self.email} → {self.organisation}"

    def get_absolute_url(self):
        return reverse("accounts:invitation_respond", args=[self.token])

    @property
    def is_expired(self) -> bool:
        return self.status == InvitationStatus.EXPIRED or (
            self.status == InvitationStatus.PENDING and self.expires_at <= timezone.now()
        )

    @property
    def is_open(self) -> bool:
        return self.status == InvitationStatus.PENDING and not self.is_expired

    def _move_to(self, new_status: str) -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("This invitation is already %(status)s.") % {"status": InvitationStatus(old).label.lower()}
            )
        if new_status in {InvitationStatus.ACCEPTED, InvitationStatus.DECLINED} and self.is_expired:
            raise InvalidTransition(
                _("This invitation has expired: ask the organisation to invite you again.")
            )
        self.status = new_status
        self.responded_at = timezone.now()
        return old

    def accept(self, *, user) -> str:
        old = self._move_to(InvitationStatus.ACCEPTED)
        self.accepted_by = user
        return old

    def decline(self) -> str:
        return self._move_to(InvitationStatus.DECLINED)

    def revoke(self) -> str:
        return self._move_to(InvitationStatus.REVOKED)

    def expire(self) -> str:
        return self._move_to(InvitationStatus.EXPIRED)


class ConsentPurpose(models.TextChoices):
    """What a person may agree to; each purpose is off until they switch it on."""

    MARKETING_EMAIL = "marketing_email", _("News and event invitations from the center by email")
    TALENT_POOL = "talent_pool", _("Show my certificates to verified alliance members in the talent pool")


class ConsentQuerySet(models.QuerySet):
    def active(self) -> "ConsentQuerySet":
        return self.filter(withdrawn_at__isnull=True)


class Consent(models.Model):
    """One consent as a dated fact: given at a time, withdrawn at a time (a new row if given again)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=32, choices=ConsentPurpose.choices)
    given_at = models.DateTimeField(_("given"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    notice_version = models.CharField(_("privacy notice version"), max_length=16)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-given_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_valid"
            ),
            models.UniqueConstraint(
                fields=["user", "purpose"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_purpose",
            ),
        ]

    def __str__(self):
        return f"{self.user_id}: {self.purpose}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None
