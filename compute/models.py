import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, MembershipRole, Organisation
from compute.backends.base import DesiredAccount
from core.exceptions import InvalidTransition
from core.roles import sees_all_organisations

# POSIX login names as Slurm accepts them (sacctmgr lowercases; we refuse rather than surprise).
CLUSTER_USERNAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
MINUTES_PER_HOUR = 60


def validate_cluster_username(value: str) -> None:
    if not CLUSTER_USERNAME_RE.match(value or ""):
        raise ValidationError(
            _(
                "“%(value)s” is not a valid cluster username: use 1 to 32 lower-case letters, digits, “_” or “-”, "
                "starting with a letter or “_”."
            ),
            code="cluster_username",
            params={"value": value},
        )


class Unit(models.TextChoices):
    CARD_HOUR = "card_hour", _("card-hour")
    CORE_HOUR = "core_hour", _("core-hour")


class Partition(models.Model):
    """A pool of the cluster that quota is granted on, with what it meters and what it costs."""

    slug = models.SlugField(_("short name"), unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    cluster = models.CharField(_("Slurm cluster"), max_length=64)
    slurm_partition = models.CharField(_("Slurm partition"), max_length=64)
    tres = models.CharField(
        _("metered TRES"),
        max_length=32,
        help_text=_("The Slurm TRES that quota limits, e.g. gres/npu or cpu."),
    )
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices)
    capacity_per_month = models.DecimalField(
        _("capacity per month"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("1"))]
    )
    price_per_unit = models.DecimalField(
        _("price per unit (CNY)"),
        max_digits=10,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
    )
    overcommit_ratio = models.DecimalField(
        _("over-commit ratio"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("1"))],
        help_text=_("How far granted quota may exceed capacity, e.g. 1.20 for 20 per cent over."),
    )
    min_request = models.DecimalField(
        _("smallest request"), max_digits=12, decimal_places=2, default=Decimal("1")
    )
    max_request = models.DecimalField(_("largest request"), max_digits=12, decimal_places=2)
    is_active = models.BooleanField(_("open for requests"), default=True)

    class Meta:
        verbose_name = _("partition")
        verbose_name_plural = _("partitions")
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=Q(unit__in=Unit.values), name="partition_unit_valid"),
            models.CheckConstraint(
                condition=Q(max_request__gte=F("min_request")), name="partition_bounds_ordered"
            ),
            models.CheckConstraint(condition=Q(min_request__gt=0), name="partition_min_positive"),
            models.CheckConstraint(
                condition=Q(overcommit_ratio__gte=1), name="partition_overcommit_at_least_one"
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_zh if (get_language() or "en").startswith("zh") else self.name_en

    def minutes(self, amount: Decimal) -> int:
        """Slurm TRES-minutes for an amount in the partition's unit (a card-hour is 60 gres/npu minutes)."""
        return int((Decimal(amount) * MINUTES_PER_HOUR).to_integral_value(rounding=ROUND_HALF_UP))

    def cost(self, amount: Decimal) -> Decimal:
        return (Decimal(amount) * self.price_per_unit).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def capacity_for(self, start: date, end: date) -> Decimal:
        """How much may be granted over a period: monthly capacity, prorated by days, times over-commit."""
        days = Decimal((end - start).days)
        return (self.capacity_per_month * days / Decimal(30) * self.overcommit_ratio).quantize(
            Decimal("0.01")
        )


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


class QuotaRequestQuerySet(models.QuerySet):
    def for_user(self, user) -> "QuotaRequestQuerySet":
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
        )

    def awaiting_decision(self) -> "QuotaRequestQuerySet":
        return self.filter(status=RequestStatus.SUBMITTED)


class QuotaRequest(models.Model):
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
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    granted_amount = models.DecimalField(
        _("granted amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    objects = QuotaRequestQuerySet.as_manager()

    class Meta:
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
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_reason=""),
                name="quotarequest_rejection_has_reason",
            ),
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

    def _move_to(self, new_status: str) -> str:
        old = self.status
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("A request cannot go from “%(old)s” to “%(new)s”.")
                % {"old": RequestStatus(old).label, "new": RequestStatus(new_status).label}
            )
        self.status = new_status
        return old

    def submit(self) -> str:
        old = self._move_to(RequestStatus.SUBMITTED)
        self.submitted_at = timezone.now()
        return old

    def withdraw(self) -> str:
        return self._move_to(RequestStatus.WITHDRAWN)

    def approve(self, *, by, granted_amount: Decimal) -> str:
        old = self._move_to(RequestStatus.APPROVED)
        self.decided_by, self.decided_at, self.granted_amount = by, timezone.now(), granted_amount
        return old

    def reject(self, *, by, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("A rejection needs a reason the organisation can act on."))
        old = self._move_to(RequestStatus.REJECTED)
        self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), reason.strip()
        return old

    def request_changes(self, *, by, reason: str) -> str:
        if not (reason or "").strip():
            raise InvalidTransition(_("Say what should change."))
        old = self._move_to(RequestStatus.CHANGES_REQUESTED)
        self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), reason.strip()
        return old


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


class AllocationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROVISIONING = "provisioning", _("Provisioning")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    EXHAUSTED = "exhausted", _("Exhausted")
    EXPIRED = "expired", _("Expired")
    CLOSED = "closed", _("Closed")


class AllocationQuerySet(models.QuerySet):
    def for_user(self, user) -> "AllocationQuerySet":
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        return self.filter(
            Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))
        )

    def managed_by(self, user) -> "AllocationQuerySet":
        return self.filter(
            Exists(
                Membership.objects.filter(
                    organisation=OuterRef("organisation"), user=user, role__in=MembershipRole.managing()
                )
            )
        )

    def on_cluster(self) -> "AllocationQuerySet":
        """Allocations that hold (or should hold) an account on the cluster."""
        return self.exclude(status__in=[AllocationStatus.PENDING, AllocationStatus.CLOSED])

    def counting_against_capacity(self) -> "AllocationQuerySet":
        return self.exclude(status=AllocationStatus.CLOSED)


class Allocation(models.Model):
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

    def desired_account(self, usernames: frozenset[str]) -> DesiredAccount:
        return DesiredAccount(
            name=self.account_name,
            description=f"{self.organisation.name_zh} allocation {self.pk}"[:200],
            users=usernames,
            limits={self.partition.tres: self.partition.minutes(self.granted_amount)},
            blocked=self.is_blocked,
            partition=self.partition.slurm_partition,
        )

    def move_to(self, new_status: str) -> str:
        old = self.status
        if new_status == old:
            return old
        if new_status not in self.TRANSITIONS.get(old, set()):
            raise InvalidTransition(
                _("An allocation cannot go from “%(old)s” to “%(new)s”.")
                % {"old": AllocationStatus(old).label, "new": AllocationStatus(new_status).label}
            )
        self.status = new_status
        self.status_changed_at = timezone.now()
        return old


class AllocationMember(models.Model):
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

    class Meta:
        verbose_name = _("cluster user")
        verbose_name_plural = _("cluster users")
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "cluster_username"], name="allocmember_unique_username"
            )
        ]

    def __str__(self):
        return self.cluster_username


class Job(models.Model):
    """One job from the cluster's accounting, stored once (cluster + job id) and updated until it ends."""

    cluster = models.CharField(max_length=64)
    job_id = models.CharField(max_length=32)
    allocation = models.ForeignKey(
        Allocation,
        verbose_name=_("allocation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        db_index=False,  # job_allocation_recent_idx starts with it; one index less to maintain on ingest
    )
    account = models.CharField(_("account"), max_length=64)
    cluster_user = models.CharField(_("cluster user"), max_length=32)
    partition = models.CharField(_("partition"), max_length=64)
    state = models.CharField(_("state"), max_length=32)
    submit_at = models.DateTimeField(null=True, blank=True)
    start_at = models.DateTimeField(_("started"), null=True, blank=True)
    end_at = models.DateTimeField(_("ended"), null=True, blank=True)
    elapsed_seconds = models.PositiveBigIntegerField(_("elapsed seconds"), default=0)
    tres = models.JSONField(default=dict)
    units = models.DecimalField(_("used"), max_digits=14, decimal_places=4, default=Decimal("0"))

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["cluster", "job_id"], name="job_unique_per_cluster")]
        indexes = [
            # An allocation's jobs, newest first, as the allocation page lists them.
            models.Index(fields=["allocation", "-submit_at", "-id"], name="job_allocation_recent_idx"),
            models.Index(fields=["account"], name="job_account_idx"),
        ]

    def __str__(self):
        return f"{self.cluster}:{self.job_id}"


class DailyUsage(models.Model):
    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="daily_usage")
    day = models.DateField(_("day"))
    units = models.DecimalField(_("used"), max_digits=14, decimal_places=4)
    jobs = models.PositiveIntegerField(_("jobs"), default=0)

    class Meta:
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")
        ordering = ["allocation", "day"]
        constraints = [models.UniqueConstraint(fields=["allocation", "day"], name="dailyusage_unique_day")]

    def __str__(self):
        return f"{self.allocation_id} {self.day}: {self.units}"


class ReconcileRun(models.Model):
    """One comparison of the portal with the cluster: what drifted and what was repaired."""

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    findings = models.JSONField(_("findings"), default=list)

    class Meta:
        verbose_name = _("reconcile run")
        verbose_name_plural = _("reconcile runs")
        ordering = ["-id"]

    def __str__(self):
        return f"reconcile {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def drift_count(self) -> int:
        return len(self.findings)

    @property
    def repaired_count(self) -> int:
        return sum(1 for f in self.findings if f.get("repaired"))


# The vouchers' models live in their own module; importing them here registers them with the app.
from compute.voucher_models import (  # noqa: E402, F401
    EntryKind,
    Issuer,
    LedgerEntry,
    Settlement,
    Voucher,
    VoucherApplication,
    VoucherApplicationStatus,
    VoucherScheme,
    VoucherSource,
)
