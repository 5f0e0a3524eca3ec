"""The capability taxonomy, and organisations' alliance profiles with who sees each field and moderated edits."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, OrganisationScopedQuerySet
from alliance.models.membership import REASON_FOR_ORGANISATION, request_constraints
from core.states import Decided
from core.text import bilingual


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
        return bilingual(self.name_zh, self.name_en)


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


class ProfileRevisionQuerySet(OrganisationScopedQuerySet):
    pass


class ProfileRevision(Decided):
    """Proposed values of the public profile fields, waiting for an operator."""

    TRANSITION_ERROR = _("This profile change has already been decided.")
    REASON_MISSING = REASON_FOR_ORGANISATION

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

    objects = ProfileRevisionQuerySet.as_manager()

    class Meta(Decided.Meta):
        verbose_name = _("profile revision")
        verbose_name_plural = _("profile revisions")
        ordering = ["-id"]
        constraints = request_constraints(
            "profilerevision", RevisionStatus.values, one_pending_per="organisation"
        )

    def __str__(self):
        return f"{self.organisation_id and self.organisation} #{self.pk}"

    def approve(self, *, by) -> str:
        return self.decide(RevisionStatus.APPROVED, by=by)

    def reject(self, *, by, reason: str) -> str:
        return self.decide(RevisionStatus.REJECTED, by=by, reason=reason)

    def supersede(self) -> str:
        return self.decide(RevisionStatus.SUPERSEDED, by=None)
