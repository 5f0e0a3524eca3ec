"""Bulk onboarding: a manager's list of people to invite (a batch and its rows), an organisation's mail
domains, and the requests to join of people whose verified address is on one of them.

A batch is a draft while its manager previews it (every row with its error, if any); confirming it turns the
good rows into invitations (an ``Invitation`` for an email address; the row itself is the invitation for a
mobile number, answered through its token) and a task sends them, one row per transaction.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.invitations import Invitation
from accounts.models.organisations import MembershipRole, Organisation


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("Preview")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Sent")
    DISCARDED = "discarded", _("Discarded")


class BatchSource(models.TextChoices):
    PASTE = "paste", _("Pasted list")
    CSV = "csv", _("CSV file")


class RowKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Mobile")


class RowStatus(models.TextChoices):
    INVALID = "invalid", _("Not sent: error")
    READY = "ready", _("Ready")
    QUEUED = "queued", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Sending failed")
    REVOKED = "revoked", _("Withdrawn")
    ACCEPTED = "accepted", _("Accepted")
    EXPIRED = "expired", _("Expired")

    @classmethod
    def open(cls) -> list[str]:
        """A row that still invites someone (what blocks a second invitation of the same number)."""
        return [cls.QUEUED, cls.SENT, cls.FAILED]


class RowError(models.TextChoices):
    NONE = "", _("No error")
    NO_CONTACT = "no_contact", _("No email address or mobile number.")
    BAD_EMAIL = "bad_email", _("Not a valid email address.")
    BAD_PHONE = "bad_phone", _("Not a valid mobile number.")
    UNKNOWN_ROLE = "unknown_role", _("Unknown role: use owner, admin or member.")
    OWNER_ROLE = "owner_role", _("Only an owner may invite another owner.")
    DUPLICATE = "duplicate", _("Appears earlier in the list.")
    MEMBER = "member", _("Already a member of this organisation.")
    INVITED = "invited", _("Already invited: the invitation is still open.")
    NAME_TOO_LONG = "name_too_long", _("The name is longer than 150 characters.")


def _token() -> str:
    return secrets.token_urlsafe(32)


class OnboardingBatchQuerySet(models.QuerySet):
    def of(self, organisation: Organisation) -> "OnboardingBatchQuerySet":
        return self.filter(organisation=organisation).exclude(status=BatchStatus.DISCARDED)


class OnboardingBatch(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="onboarding_batches",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField(_("source"), max_length=8, choices=BatchSource.choices)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.DRAFT
    )
    # The language of the manager who confirmed: the invitations are written in it.
    language = models.CharField(max_length=16, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    error_count = models.PositiveIntegerField(_("rows with errors"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = OnboardingBatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("onboarding batch")
        verbose_name_plural = _("onboarding batches")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=BatchStatus.values), name="onboarding_batch_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=BatchSource.values), name="onboarding_batch_source_valid"
            ),
        ]

    def __str__(self):
        return _("Invitations #%(id)s of %(organisation)s") % {
            "id": self.pk,
            "organisation": self.organisation,
        }

    def get_absolute_url(self):
        return reverse("accounts:onboarding_batch", args=[self.pk])

    @property
    def good_count(self) -> int:
        return self.row_count - self.error_count


class OnboardingRow(models.Model):
    batch = models.ForeignKey(OnboardingBatch, on_delete=models.CASCADE, related_name="rows")
    # Repeated from the batch: the constraint and the "already invited" check look rows up by organisation.
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    line = models.PositiveIntegerField(_("line"))
    raw = models.CharField(_("as given"), max_length=500, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=RowKind.choices, blank=True)
    email = models.EmailField(_("email address"), blank=True)
    phone = models.CharField(_("mobile number"), max_length=20, blank=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    role = models.CharField(
        _("role"), max_length=16, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )
    error = models.CharField(_("error"), max_length=16, choices=RowError.choices, blank=True, default="")
    # For a duplicate: the line it repeats.
    error_line = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=RowStatus.choices, default=RowStatus.READY)
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="onboarding_row"
    )
    # A mobile invitation is answered through this token (an email one through its Invitation's).
    token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    sent_count = models.PositiveSmallIntegerField(_("times sent"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.CharField(_("last sending error"), max_length=500, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("onboarding row")
        verbose_name_plural = _("onboarding rows")
        ordering = ["batch_id", "line", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RowStatus.values), name="onboarding_row_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(role__in=MembershipRole.values), name="onboarding_row_role_valid"
            ),
            models.CheckConstraint(condition=Q(error__in=RowError.values), name="onboarding_row_error_valid"),
            # A row with an error is never sent; a row sent has no error.
            models.CheckConstraint(
                condition=Q(error="") | Q(status=RowStatus.INVALID), name="onboarding_row_error_is_invalid"
            ),
            models.UniqueConstraint(
                "organisation",
                "phone",
                condition=Q(status__in=RowStatus.open()) & ~Q(phone=""),
                name="onboarding_row_one_open_per_phone",
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "status"], name="onboarding_batch_status_idx"),
            models.Index(fields=["organisation", "phone", "status"], name="onboarding_org_phone_idx"),
        ]

    def __str__(self):
        return f"{self.email or self.phone or self.raw} ({self.batch_id}:{self.line})"

    def get_absolute_url(self):
        """Where the invited person answers: the invitation's page (email) or the row's (mobile)."""
        if self.kind == RowKind.EMAIL and self.invitation_id:
            return reverse("accounts:invitation_respond", args=[self.invitation.token])
        return reverse("accounts:mobile_invitation_respond", args=[self.token])

    @property
    def contact(self) -> str:
        return self.email or self.phone

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def give_token(self) -> None:
        self.token = self.token or _token()
        self.expires_at = timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)


class DomainStatus(models.TextChoices):
    PENDING = "pending", _("Not verified")
    VERIFIED = "verified", _("Verified")


class DomainVerification(models.TextChoices):
    OPERATOR = "operator", _("By an operator")
    MAILBOX = "mailbox", _("By a link sent to an address on the domain")


class OrganisationDomain(models.Model):
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="domains"
    )
    domain = models.CharField(_("domain"), max_length=253)
    status = models.CharField(
        _("status"), max_length=16, choices=DomainStatus.choices, default=DomainStatus.PENDING
    )
    verified_by_method = models.CharField(
        _("verified"), max_length=16, choices=DomainVerification.choices, blank=True
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_address = models.EmailField(_("verified through"), blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("organisation domain")
        verbose_name_plural = _("organisation domains")
        ordering = ["domain"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DomainStatus.values), name="organisation_domain_status_valid"
            ),
            models.UniqueConstraint(fields=["organisation", "domain"], name="organisation_domain_unique"),
            # A domain admits people to one organisation only.
            models.UniqueConstraint(
                fields=["domain"], condition=Q(status="verified"), name="organisation_domain_verified_once"
            ),
        ]

    def __str__(self):
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.status == DomainStatus.VERIFIED


class AdmissionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a manager")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")


class AdmissionRequest(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="admission_requests",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField(_("verified address"))
    status = models.CharField(
        _("status"), max_length=16, choices=AdmissionStatus.choices, default=AdmissionStatus.PENDING
    )
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("request to join")
        verbose_name_plural = _("requests to join")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AdmissionStatus.values), name="admission_request_status_valid"
            ),
            models.UniqueConstraint(
                fields=["organisation", "user"],
                condition=Q(status="pending"),
                name="admission_request_one_pending",
            ),
        ]

    def __str__(self):
        return f"{self.email} → {self.organisation}"
