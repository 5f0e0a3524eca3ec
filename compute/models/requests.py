"""Quota requests: what an organisation asks for, and the operators' decision on it."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, OrganisationScopedQuerySet
from compute.models.partitions import Partition, validate_cluster_username
from core.states import Decided, reason_required_unless


class RequestKind(models.TextChoices):
    NEW = "new", _("New allocation")
    INCREASE = "increase", _("Increase")
    EXTENSION = "extension", _("Extension")
    EARLY_CLOSE = "early_close", _("Early close")


class RequestStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class QuotaRequestQuerySet(OrganisationScopedQuerySet):
    def awaiting_decision(self) -> "QuotaRequestQuerySet":
        return self.filter(status=RequestStatus.SUBMITTED)


class QuotaRequest(Decided):
    TRANSITIONS = {
        RequestStatus.DRAFT: {RequestStatus.SUBMITTED, RequestStatus.WITHDRAWN},
        RequestStatus.SUBMITTED: {
            RequestStatus.APPROVED,
            RequestStatus.REJECTED,
            RequestStatus.CHANGES_REQUESTED,
            RequestStatus.WITHDRAWN,
        },
        RequestStatus.CHANGES_REQUESTED: {RequestStatus.SUBMITTED, RequestStatus.WITHDRAWN},
    }
    EDITABLE = (RequestStatus.DRAFT, RequestStatus.CHANGES_REQUESTED)
    TRANSITION_ERROR = _("A request cannot go from “%(old)s” to “%(new)s”.")
    REASON_MISSING = _("A rejection needs a reason the organisation can act on.")

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="quota_requests"
    )
    partition = models.ForeignKey(
        Partition, verbose_name=_("partition"), on_delete=models.PROTECT, related_name="quota_requests"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=RequestKind.choices, default=RequestKind.NEW)
    allocation = models.ForeignKey(
        "Allocation",
        verbose_name=_("allocation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="change_requests",
        help_text=_("The allocation that an increase, extension or early close changes."),
    )
    project = models.ForeignKey(
        "projects.Project",
        verbose_name=_("incubated project"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quota_requests",
        help_text=_("The incubated project this compute serves, if any."),
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2, default=Decimal("0"))
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    purpose = models.CharField(_("purpose"), max_length=200)
    justification = models.TextField(_("justification"), max_length=5000)
    status = models.CharField(
        _("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    granted_amount = models.DecimalField(
        _("granted amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    objects = QuotaRequestQuerySet.as_manager()

    class Meta(Decided.Meta):
        verbose_name = _("quota request")
        verbose_name_plural = _("quota requests")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RequestStatus.values), name="quotarequest_status_valid"
            ),
            models.CheckConstraint(condition=Q(kind__in=RequestKind.values), name="quotarequest_kind_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quotarequest_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(end_date__gt=F("start_date")), name="quotarequest_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(kind="new", allocation__isnull=True)
                | (~Q(kind="new") & Q(allocation__isnull=False)),
                name="quotarequest_allocation_matches_kind",
            ),
            reason_required_unless(RequestStatus.REJECTED),
        ]
        indexes = [
            models.Index(fields=["organisation", "-id"], name="quotarequest_org_idx"),
            # The review queue: submitted requests, oldest first (a small part of a large table).
            models.Index(
                fields=["submitted_at", "id"], condition=Q(status="submitted"), name="quotarequest_queue_idx"
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} · {self.partition_id and self.partition}"

    def get_absolute_url(self):
        return reverse("compute:request_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    @property
    def cost_estimate(self) -> Decimal:
        return self.partition.cost(self.amount)

    def submit(self) -> str:
        old = self.move_to(RequestStatus.SUBMITTED)
        self.submitted_at = timezone.now()
        self.touch("submitted_at")
        return old

    def withdraw(self) -> str:
        return self.move_to(RequestStatus.WITHDRAWN)

    def approve(self, *, by, granted_amount: Decimal) -> str:
        # An approval gives no reason, and keeps the one of an earlier request for changes.
        old = self.move_to(RequestStatus.APPROVED)
        self.decided_by, self.decided_at, self.granted_amount = by, timezone.now(), granted_amount
        self.touch("decided_by", "decided_at", "granted_amount")
        return old

    def reject(self, *, by, reason: str) -> str:
        return self.decide(RequestStatus.REJECTED, by=by, reason=reason)

    def request_changes(self, *, by, reason: str) -> str:
        return self.decide(
            RequestStatus.CHANGES_REQUESTED,
            by=by,
            reason=reason,
            reason_required=True,
            missing_reason=_("Say what should change."),
        )


class QuotaRequestMember(models.Model):
    """A person of the organisation who gets cluster access under the requested allocation."""

    request = models.ForeignKey(QuotaRequest, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE)
    cluster_username = models.CharField(
        _("cluster username"), max_length=32, validators=[validate_cluster_username]
    )

    class Meta:
        verbose_name = _("requested cluster user")
        verbose_name_plural = _("requested cluster users")
        constraints = [
            models.UniqueConstraint(fields=["request", "cluster_username"], name="qrmember_unique_username"),
            models.UniqueConstraint(fields=["request", "user"], name="qrmember_unique_user"),
        ]

    def __str__(self):
        return self.cluster_username
