"""Invitations to join an organisation, answered by the person invited (or revoked, or expired)."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.organisations import MembershipRole, Organisation
from core.exceptions import InvalidTransition
from core.states import StatusMachine


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

    def for_email(self, email: str | None) -> "InvitationQuerySet":
        if not email:  # people without an address (signed up by mobile number) have no email invitations
            return self.none()
        return self.filter(email__iexact=email)

    def overdue(self) -> "InvitationQuerySet":
        return self.filter(status=InvitationStatus.PENDING, expires_at__lte=timezone.now())


class Invitation(StatusMachine):
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

    def move_to(self, new_status: str, *, same_is_fine: bool = False) -> str:
        """Every answer is final and stamped; an expired invitation can no longer be answered."""
        if not self.can_move_to(new_status):
            raise InvalidTransition(
                _("This invitation is already %(status)s.") % {"status": self.status_label().lower()}
            )
        if new_status in {InvitationStatus.ACCEPTED, InvitationStatus.DECLINED} and self.is_expired:
            raise InvalidTransition(
                _("This invitation has expired: ask the organisation to invite you again.")
            )
        old = super().move_to(new_status)
        self.responded_at = timezone.now()
        self.touch("responded_at")
        return old

    def accept(self, *, user) -> str:
        old = self.move_to(InvitationStatus.ACCEPTED)
        self.accepted_by = user
        self.touch("accepted_by")
        return old

    def decline(self) -> str:
        return self.move_to(InvitationStatus.DECLINED)

    def revoke(self) -> str:
        return self.move_to(InvitationStatus.REVOKED)

    def expire(self) -> str:
        return self.move_to(InvitationStatus.EXPIRED)
