"""Allocations: granted quota, held as an account on the cluster, and the people who use it."""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, OrganisationScopedQuerySet
from compute.backends.base import DesiredAccount
from compute.models.partitions import Partition, validate_cluster_username
from compute.models.requests import QuotaRequest
from core.states import StatusMachine


class AllocationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROVISIONING = "provisioning", _("Provisioning")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    EXHAUSTED = "exhausted", _("Exhausted")
    EXPIRED = "expired", _("Expired")
    CLOSED = "closed", _("Closed")


class AllocationQuerySet(OrganisationScopedQuerySet):
    def managed_by(self, user) -> "AllocationQuerySet":
        """Allocations of the organisations the user manages (owner or administrator)."""
        return self.filter(organisation__in=Organisation.objects.managed_by(user))

    def on_cluster(self) -> "AllocationQuerySet":
        """Allocations that hold (or should hold) an account on the cluster."""
        return self.exclude(status__in=[AllocationStatus.PENDING, AllocationStatus.CLOSED])

    def counting_against_capacity(self) -> "AllocationQuerySet":
        return self.exclude(status=AllocationStatus.CLOSED)


class Allocation(StatusMachine):
    TRANSITIONS = {
        AllocationStatus.PENDING: {AllocationStatus.PROVISIONING, AllocationStatus.CLOSED},
        AllocationStatus.PROVISIONING: {AllocationStatus.ACTIVE, AllocationStatus.CLOSED},
        AllocationStatus.ACTIVE: {
            AllocationStatus.SUSPENDED,
            AllocationStatus.EXHAUSTED,
            AllocationStatus.EXPIRED,
            AllocationStatus.CLOSED,
        },
        AllocationStatus.SUSPENDED: {
            AllocationStatus.ACTIVE,
            AllocationStatus.EXPIRED,
            AllocationStatus.CLOSED,
        },
        AllocationStatus.EXHAUSTED: {
            AllocationStatus.ACTIVE,
            AllocationStatus.EXPIRED,
            AllocationStatus.CLOSED,
        },
        AllocationStatus.EXPIRED: {AllocationStatus.ACTIVE, AllocationStatus.CLOSED},
    }
    # New jobs are refused in these states (GrpSubmitJobs=0); running ones finish.
    BLOCKED = (AllocationStatus.SUSPENDED, AllocationStatus.EXPIRED, AllocationStatus.CLOSED)
    STATUS_STAMP = "status_changed_at"
    TRANSITION_ERROR = _("An allocation cannot go from “%(old)s” to “%(new)s”.")

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="allocations"
    )
    partition = models.ForeignKey(
        Partition, verbose_name=_("partition"), on_delete=models.PROTECT, related_name="allocations"
    )
    request = models.OneToOneField(
        QuotaRequest,
        verbose_name=_("request"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="created_allocation",
    )
    account_name = models.CharField(_("cluster account"), max_length=64, unique=True, null=True, blank=True)
    granted_amount = models.DecimalField(_("granted"), max_digits=12, decimal_places=2)
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AllocationStatus.choices,
        default=AllocationStatus.PENDING,
        db_index=True,
    )
    status_changed_at = models.DateTimeField(_("status since"), default=timezone.now)
    provisioned_at = models.DateTimeField(_("provisioned"), null=True, blank=True)
    last_synced_at = models.DateTimeField(_("last synchronised"), null=True, blank=True)
    sync_error = models.TextField(_("last cluster error"), blank=True)
    sync_attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    used_amount = models.DecimalField(_("used"), max_digits=14, decimal_places=4, default=Decimal("0"))
    usage_updated_at = models.DateTimeField(_("usage updated"), null=True, blank=True)
    notified_80_at = models.DateTimeField(null=True, blank=True)
    notified_100_at = models.DateTimeField(null=True, blank=True)
    # Set by the first converge on or after the start date: until then the cluster holds the account blocked.
    opened_at = models.DateTimeField(_("opened on the cluster"), null=True, blank=True)
    # Usage counted before the move to Slurm's billing TRES (migration 0006): jobs started before
    # ``carried_at`` count as ``carried_amount``, and the cluster's limit is the grant minus it.
    carried_amount = models.DecimalField(
        _("usage carried over"), max_digits=14, decimal_places=4, default=Decimal("0")
    )
    carried_at = models.DateTimeField(_("usage carried over at"), null=True, blank=True)
    # The cluster's usage counter still holds the old jobs: the next converge resets it (once).
    usage_reset_pending = models.BooleanField(default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = AllocationQuerySet.as_manager()

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AllocationStatus.values), name="allocation_status_valid"
            ),
            models.CheckConstraint(condition=Q(granted_amount__gt=0), name="allocation_granted_positive"),
            models.CheckConstraint(
                condition=Q(end_date__gt=F("start_date")), name="allocation_end_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "-id"], name="allocation_org_idx"),
            models.Index(fields=["status", "end_date"], name="allocation_status_end_idx"),
        ]

    def __str__(self):
        return self.account_name or f"allocation #{self.pk}"

    def get_absolute_url(self):
        return reverse("compute:allocation_detail", args=[self.pk])

    @staticmethod
    def account_name_for(pk: int) -> str:
        """Deterministic and sanitised: the prefix and the allocation's id, nothing a person typed."""
        return f"{settings.CLUSTER_ACCOUNT_PREFIX}{pk:06d}"

    @property
    def remaining_amount(self) -> Decimal:
        return max(self.granted_amount - self.used_amount, Decimal("0"))

    @property
    def used_percent(self) -> Decimal:
        if not self.granted_amount:
            return Decimal("0")
        return (self.used_amount * 100 / self.granted_amount).quantize(Decimal("0.1"))

    @property
    def is_blocked(self) -> bool:
        return self.status in self.BLOCKED

    @property
    def is_in_flight(self) -> bool:
        """Still being set up on the cluster: its page keeps refreshing its status."""
        return self.status in (AllocationStatus.PENDING, AllocationStatus.PROVISIONING)

    def has_started(self, today: date | None = None) -> bool:
        return self.start_date <= (today or timezone.localdate())

    @property
    def not_started(self) -> bool:
        """Approved for a later start: held blocked on the cluster until it opens (its page says when)."""
        return self.opened_at is None and not self.has_started()

    def limit_minutes(self) -> int:
        """The cluster's limit: the grant less the usage carried over from before the billing TRES (the
        cluster's counter was reset then, so it counts only what came after)."""
        return max(self.partition.minutes(self.granted_amount - self.carried_amount), 0)

    def desired_account(self) -> DesiredAccount:
        """What the cluster should hold for this allocation. Its people come from ``members.all()``, so a
        caller converging many allocations prefetches them."""
        current = [m for m in self.members.all() if m.removed_at is None]
        return DesiredAccount(
            name=self.account_name,
            description=f"{self.organisation.name_zh} allocation {self.pk}"[:200],
            users=frozenset(m.cluster_username for m in current),
            user_limits={
                m.cluster_username: self.partition.minutes(m.limit_amount)
                for m in current
                if m.limit_amount is not None
            },
            limits={self.partition.tres: self.limit_minutes()},
            blocked=self.is_blocked or not self.has_started(),
            partition=self.partition.slurm_partition,
        )


class AllocationMemberQuerySet(models.QuerySet):
    def current(self) -> "AllocationMemberQuerySet":
        """The people who may use the allocation now (a removed person's row stays, for the history)."""
        return self.filter(removed_at__isnull=True)


class AllocationMember(models.Model):
    """One person's access to an allocation, from ``added_at`` until ``removed_at``.

    A removal keeps the row, so the allocation's page and its audit trail tell who had access when; coming back
    is a new row. ``limit_amount`` caps the person's share, in the allocation's unit (blank: no cap).
    """

    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cluster_username = models.CharField(
        _("cluster username"), max_length=32, validators=[validate_cluster_username]
    )
    limit_amount = models.DecimalField(
        _("cap"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The most this person may use of the allocation, in its unit; blank for no cap."),
    )
    added_at = models.DateTimeField(_("added"), default=timezone.now)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)

    objects = AllocationMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("cluster user")
        verbose_name_plural = _("cluster users")
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "cluster_username"],
                condition=Q(removed_at__isnull=True),
                name="allocmember_unique_current_username",
            ),
            models.UniqueConstraint(
                fields=["allocation", "user"],
                condition=Q(removed_at__isnull=True, user__isnull=False),
                name="allocmember_unique_current_person",
            ),
            models.CheckConstraint(
                condition=Q(limit_amount__isnull=True) | Q(limit_amount__gt=0),
                name="allocmember_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(removed_at__gte=F("added_at")),
                name="allocmember_removed_after_added",
            ),
        ]
        indexes = [models.Index(fields=["cluster_username"], name="allocmember_username_idx")]

    def __str__(self):
        return self.cluster_username

    @property
    def is_current(self) -> bool:
        return self.removed_at is None
