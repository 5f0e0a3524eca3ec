"""A person's cluster identity, its SSH keys, the groups of allocation accounts, and the id counter."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A POSIX user name the cluster accepts everywhere (useradd's default rule, lower case only, 3 to 32).
IDENTITY_USERNAME_RE = re.compile(r"^[a-z][a-z0-9_-]{2,31}$")


def validate_identity_username(value: str) -> None:
    if not IDENTITY_USERNAME_RE.fullmatch(value or ""):
        raise ValidationError(
            _("Use 3 to 32 characters: lower-case letters, digits, “_” or “-”, starting with a letter."),
            code="username_format",
        )
    if value in settings.CLUSTER_RESERVED_USERNAMES or value.startswith(settings.CLUSTER_ACCOUNT_PREFIX):
        raise ValidationError(
            _("“%(value)s” is reserved."), params={"value": value}, code="username_reserved"
        )


class IdentityStatus(models.TextChoices):
    ACTIVE = "active", _("active")
    LOCKED = "locked", _("locked")


class LockReason(models.TextChoices):
    NONE = "", _("not locked")
    NO_ALLOCATION = "no_allocation", _("no allocation any more")
    SUSPENDED = "suspended", _("suspended by an operator")
    DELETED = "deleted", _("account deleted")


class ClusterIdentity(models.Model):
    """One person's POSIX identity at the center: the same user name and uid on every node, for ever.

    The row outlives the account (``user`` becomes null on deletion) so that the name and the uid, which own
    files on the cluster and appear in its accounting, are never given to anyone else.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cluster_identity",
    )
    username = models.CharField(
        _("user name"), max_length=32, unique=True, validators=[validate_identity_username]
    )
    uid = models.PositiveIntegerField(_("uid"), unique=True)
    home = models.CharField(_("home directory"), max_length=255)
    shell = models.CharField(_("login shell"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=IdentityStatus.choices, default=IdentityStatus.ACTIVE
    )
    lock_reason = models.CharField(
        _("why locked"), max_length=16, choices=LockReason.choices, default=LockReason.NONE, blank=True
    )
    # Set when the person loses their last allocation: the identity locks then, unless access comes back.
    lock_due_at = models.DateTimeField(_("locks at"), null=True, blank=True)
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Publishing to the directory: ``changed_at`` moves with every change the directory must see;
    # ``published_at`` is the last converge that succeeded (published when it is not older than changed_at).
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    publish_error = models.TextField(_("last publishing error"), blank=True)

    class Meta:
        verbose_name = _("cluster identity")
        verbose_name_plural = _("cluster identities")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="active", lock_reason="") | Q(status="locked") & ~Q(lock_reason=""),
                name="identity_lock_reason_iff_locked",
            ),
        ]
        indexes = [models.Index(fields=["status", "lock_due_at"], name="identity_lock_due_idx")]

    def __str__(self):
        return self.username

    @property
    def gid(self) -> int:
        """The person's own group has the uid's number."""
        return self.uid

    @property
    def is_locked(self) -> bool:
        return self.status == IdentityStatus.LOCKED

    @property
    def is_published(self) -> bool:
        return self.published_at is not None and self.published_at >= self.changed_at


class SshKeyQuerySet(models.QuerySet):
    def current(self, now=None) -> "SshKeyQuerySet":
        """Keys that are published: not removed, not expired."""
        now = now or timezone.now()
        return self.filter(removed_at__isnull=True).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class SshKey(models.Model):
    """A public key a person logs in with. Removing (or revoking) keeps the row for the history."""

    identity = models.ForeignKey(ClusterIdentity, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(_("name"), max_length=100)
    key_type = models.CharField(_("type"), max_length=64)  # ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, ...
    bits = models.PositiveIntegerField(_("bits"))
    # The key as published: "<type> <base64>" (a comment the person pasted is kept apart).
    public_key = models.TextField(_("public key"))
    comment = models.CharField(_("comment"), max_length=255, blank=True)
    fingerprint = models.CharField(_("fingerprint"), max_length=100)  # "SHA256:..." as ssh-keygen -l prints
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("removed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Set when an operator revoked the key (the owner removing it leaves this blank).
    revoke_reason = models.TextField(_("why revoked"), blank=True)
    # The last time a converge wrote the key into the directory (or took it out, once removed).
    published_at = models.DateTimeField(_("last published"), null=True, blank=True)

    objects = SshKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("SSH key")
        verbose_name_plural = _("SSH keys")
        constraints = [
            # One key is one person's: nobody may add a key someone (or they themselves) already has.
            models.UniqueConstraint(
                fields=["fingerprint"], condition=Q(removed_at__isnull=True), name="sshkey_unique_current"
            ),
        ]
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.name} ({self.fingerprint})"


class ClusterGroup(models.Model):
    """The POSIX group of one allocation account: its current members share the project's directory."""

    allocation = models.OneToOneField(
        "compute.Allocation", on_delete=models.PROTECT, related_name="cluster_group"
    )
    name = models.CharField(_("group name"), max_length=64, unique=True)
    gid = models.PositiveIntegerField(_("gid"), unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    class Meta:
        verbose_name = _("cluster group")
        verbose_name_plural = _("cluster groups")

    def __str__(self):
        return self.name


class IdCounter(models.Model):
    """The next free number of the uid/gid range (one row; taken under a row lock, never given twice)."""

    name = models.CharField(max_length=32, primary_key=True)
    next_value = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("id counter")
        verbose_name_plural = _("id counters")

    def __str__(self):
        return f"{self.name}: {self.next_value}"


class UsernameConflict(models.Model):
    """A hand-typed cluster user name from before identities that could not be kept (for an operator)."""

    username = models.CharField(_("user name"), max_length=32)
    people = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", verbose_name=_("people"))
    detail = models.TextField(_("what conflicts"))
    found_at = models.DateTimeField(_("found"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("user name conflict")
        verbose_name_plural = _("user name conflicts")

    def __str__(self):
        return self.username
