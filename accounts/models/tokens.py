"""API tokens: named, scoped, expiring credentials for programs, of which the portal keeps only a hash."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.roles import is_operator

# Every token starts with this, so a leaked one is recognisable (secret scanners, logs) for what it is.
TOKEN_PREFIX = "aicc_"
# How much of a token the portal keeps in clear to tell tokens apart: the prefix and 8 random characters.
DISPLAY_LENGTH = len(TOKEN_PREFIX) + 8


def token_digest(token: str) -> str:
    """SHA-256 of the whole token: what the database keeps and looks tokens up by.

    A token carries 256 random bits, so a fast hash is enough (a slow password hash protects guessable
    secrets); a stolen table gives no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


class ApiTokenQuerySet(models.QuerySet):
    def for_user(self, user) -> "ApiTokenQuerySet":
        """Everyone sees their own tokens; operators see everybody's (to revoke them), never the secrets."""
        if is_operator(user):
            return self
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(user=user)

    def active(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    """One API token of a person. The secret itself is shown once, at creation, and never stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    display_prefix = models.CharField(_("starts with"), max_length=DISPLAY_LENGTH)
    digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(_("access"), max_length=8, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)
    # Addresses the token has been used from (newest last, capped): a new one is an audit event.
    seen_addresses = models.JSONField(default=list, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=TokenScope.values), name="apitoken_scope_valid"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="apitoken_expires"
            ),
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=Q(revoked_at__isnull=True),
                name="apitoken_unique_live_name",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.display_prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE
