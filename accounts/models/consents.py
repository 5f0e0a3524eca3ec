"""Consents: what a person agreed to, as dated facts."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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
