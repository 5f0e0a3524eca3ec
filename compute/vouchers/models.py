"""Compute vouchers (算力券): schemes, vouchers granted to organisations, the ledger, monthly settlements.

A voucher's balance is the sum of its ledger entries and nothing else: a grant adds, a redemption (the
subsidised part of a settled month), an expiry or a reversal takes away. Services in ``compute/vouchers/services/``
write the entries under a row lock on the voucher, so a balance never goes below zero. Imported by
``compute/models/__init__.py``.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, OrganisationKind, OrganisationScopedQuerySet
from core.states import Decided
from core.text import bilingual

CENT = Decimal("0.01")


class Issuer(models.TextChoices):
    CITY = "city", _("City")
    DISTRICT = "district", _("District")


# The terms of a scheme, in the order the operators' form shows them (the API shows all but the budget).
SCHEME_TERMS = [
    "name_zh",
    "name_en",
    "issuer",
    "issuer_name",
    "subsidy_ratio",
    "cap_per_organisation",
    "total_budget",
    "valid_from",
    "valid_until",
    "voucher_validity_days",
    "eligible_kinds",
    "eligible_partitions",
    "small_enterprises_only",
    "for_incubated_projects",
    "is_active",
]


class VoucherSchemeQuerySet(models.QuerySet):
    def open_on(self, day: date) -> "VoucherSchemeQuerySet":
        return self.filter(is_active=True, valid_from__lte=day, valid_until__gte=day)


class VoucherScheme(models.Model):
    """A subsidy programme set by operators: who pays (issuer), how much of the cost, for whom, until when."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    issuer = models.CharField(_("issuer"), max_length=16, choices=Issuer.choices)
    issuer_name = models.CharField(
        _("issuing authority"), max_length=200, help_text=_("For example 滨海市数据管理局.")
    )
    subsidy_ratio = models.DecimalField(
        _("subsidy ratio"),
        max_digits=4,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0.001")), MaxValueValidator(Decimal("1"))],
        help_text=_("The share of the cost the scheme pays, e.g. 0.300 for 30 per cent."),
    )
    cap_per_organisation = models.DecimalField(
        _("cap per organisation (CNY)"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(CENT)],
        help_text=_("The most one organisation may be granted under this scheme in total."),
    )
    total_budget = models.DecimalField(
        _("total budget (CNY)"), max_digits=16, decimal_places=2, validators=[MinValueValidator(CENT)]
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    voucher_validity_days = models.PositiveIntegerField(
        _("voucher validity (days)"),
        default=365,
        validators=[MinValueValidator(1)],
        help_text=_("How long a voucher lasts from its grant; never beyond the scheme's end."),
    )
    eligible_kinds = models.JSONField(
        _("eligible organisation types"),
        default=list,
        blank=True,
        help_text=_("Empty: every type."),
    )
    eligible_partitions = models.ManyToManyField(
        "compute.Partition",
        verbose_name=_("eligible partitions"),
        blank=True,
        related_name="voucher_schemes",
        help_text=_("Empty: every partition."),
    )
    small_enterprises_only = models.BooleanField(
        _("small and micro enterprises only"),
        default=False,
        help_text=_("Only enterprises of micro or small size may apply."),
    )
    for_incubated_projects = models.BooleanField(
        _("granted to incubated projects"),
        default=False,
        help_text=_("Vouchers that incubation programmes grant on acceptance come from this scheme."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = VoucherSchemeQuerySet.as_manager()

    class Meta:
        verbose_name = _("voucher scheme")
        verbose_name_plural = _("voucher schemes")
        ordering = ["-valid_until", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(issuer__in=Issuer.values), name="voucherscheme_issuer_valid"),
            models.CheckConstraint(
                condition=Q(subsidy_ratio__gt=0, subsidy_ratio__lte=1), name="voucherscheme_ratio_range"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")), name="voucherscheme_period_ordered"
            ),
            models.CheckConstraint(condition=Q(total_budget__gt=0), name="voucherscheme_budget_positive"),
            models.CheckConstraint(
                condition=Q(cap_per_organisation__gt=0), name="voucherscheme_cap_positive"
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return bilingual(self.name_zh, self.name_en)

    def admits_kind(self, kind: str) -> bool:
        return not self.eligible_kinds or kind in self.eligible_kinds

    def eligible_kind_labels(self) -> list[str]:
        labels = dict(OrganisationKind.choices)
        return [str(labels.get(k, k)) for k in self.eligible_kinds]


class VoucherSource(models.TextChoices):
    APPLICATION = "application", _("Application decided by an operator")
    INCUBATION = "incubation", _("Incubation programme benefit")
    OPERATOR = "operator", _("Granted by an operator")


class VoucherQuerySet(OrganisationScopedQuerySet):
    def with_balance(self) -> "VoucherQuerySet":
        return self.annotate(
            balance_amount=Coalesce(Sum("entries__amount"), Decimal("0"), output_field=models.DecimalField())
        )

    def usable_on(self, day: date) -> "VoucherQuerySet":
        return self.filter(granted_on__lte=day, expires_on__gte=day)


class Voucher(models.Model):
    """Compute money granted to one organisation under a scheme. Its balance lives in the ledger."""

    scheme = models.ForeignKey(
        VoucherScheme, verbose_name=_("scheme"), on_delete=models.PROTECT, related_name="vouchers"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="vouchers"
    )
    code = models.CharField(_("voucher number"), max_length=32, unique=True)
    amount = models.DecimalField(
        _("amount granted (CNY)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(CENT)]
    )
    granted_on = models.DateField(_("granted on"))
    expires_on = models.DateField(_("expires on"))
    source = models.CharField(_("source"), max_length=16, choices=VoucherSource.choices)
    project = models.ForeignKey(
        "projects.Project",
        verbose_name=_("incubated project"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = VoucherQuerySet.as_manager()

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["expires_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="voucher_amount_positive"),
            models.CheckConstraint(
                condition=Q(expires_on__gte=models.F("granted_on")), name="voucher_period_ordered"
            ),
            models.CheckConstraint(condition=Q(source__in=VoucherSource.values), name="voucher_source_valid"),
            # One incubation benefit per project and scheme: acceptance cannot grant twice.
            models.UniqueConstraint(
                fields=["project", "scheme"],
                condition=Q(project__isnull=False),
                name="voucher_once_per_project_scheme",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "expires_on"], name="voucher_org_expiry_idx")]

    def __str__(self):
        return self.code

    def balance(self) -> Decimal:
        """From the ledger: the sum of the voucher's entries."""
        annotated = getattr(self, "balance_amount", None)
        if annotated is None:
            annotated = self.entries.aggregate(total=Coalesce(Sum("amount"), Decimal("0")))["total"]
        return Decimal(annotated).quantize(CENT)  # SQLite sums decimals with extra digits

    def is_expired(self, today: date | None = None) -> bool:
        return (today or timezone.localdate()) > self.expires_on


class EntryKind(models.TextChoices):
    GRANT = "grant", _("Grant")
    REDEMPTION = "redemption", _("Redemption")
    EXPIRY = "expiry", _("Expiry")
    REVERSAL = "reversal", _("Reversal")


class LedgerEntry(models.Model):
    """One movement of a voucher's money. Append-only; the sign follows the kind."""

    voucher = models.ForeignKey(
        Voucher, verbose_name=_("voucher"), on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=14, decimal_places=2)
    settlement = models.ForeignKey(
        "compute.Settlement",
        verbose_name=_("settlement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="redemptions",
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EntryKind.values), name="ledgerentry_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind="grant", amount__gt=0)
                | Q(kind__in=["redemption", "expiry", "reversal"], amount__lt=0),
                name="ledgerentry_sign_follows_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="redemption", settlement__isnull=False)
                | (~Q(kind="redemption") & Q(settlement__isnull=True)),
                name="ledgerentry_redemption_has_settlement",
            ),
        ]
        indexes = [models.Index(fields=["voucher", "created_at"], name="ledger_voucher_time_idx")]

    def __str__(self):
        return f"{self.voucher_id} {self.kind} {self.amount}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("ledger entries are append-only")


class Settlement(models.Model):
    """One allocation's usage of one month, priced and split into the subsidised and the payable part."""

    allocation = models.ForeignKey(
        "compute.Allocation",
        verbose_name=_("allocation"),
        on_delete=models.PROTECT,
        related_name="settlements",
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="settlements"
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month settled."))
    units = models.DecimalField(_("used"), max_digits=14, decimal_places=4)
    jobs = models.PositiveIntegerField(_("jobs"), default=0)
    price_per_unit = models.DecimalField(_("price per unit (CNY)"), max_digits=10, decimal_places=4)
    cost = models.DecimalField(_("cost (CNY)"), max_digits=14, decimal_places=2)
    subsidy = models.DecimalField(_("covered by vouchers (CNY)"), max_digits=14, decimal_places=2)
    payable = models.DecimalField(_("payable (CNY)"), max_digits=14, decimal_places=2)
    settled_at = models.DateTimeField(_("settled"), default=timezone.now)

    objects = OrganisationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-month", "allocation_id"]
        constraints = [
            models.UniqueConstraint(fields=["allocation", "month"], name="settlement_once_per_month"),
            models.CheckConstraint(
                condition=Q(cost__gte=0, subsidy__gte=0, payable__gte=0), name="settlement_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(cost=models.F("subsidy") + models.F("payable")), name="settlement_parts_add_up"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "-month"], name="settlement_org_month_idx")]

    def __str__(self):
        return f"{self.allocation_id} {self.month:%Y-%m}"


class VoucherApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class VoucherApplication(Decided):
    """A small enterprise asks for a voucher under a scheme; an operator decides."""

    TRANSITIONS = {
        VoucherApplicationStatus.SUBMITTED: {
            VoucherApplicationStatus.APPROVED,
            VoucherApplicationStatus.REJECTED,
            VoucherApplicationStatus.WITHDRAWN,
        },
    }
    TRANSITION_ERROR = _("A voucher application that is “%(old)s” cannot become “%(new)s”.")
    REASON_MISSING = _("Give a reason for the rejection: the organisation needs to know why.")

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="voucher_applications",
    )
    scheme = models.ForeignKey(
        VoucherScheme, verbose_name=_("scheme"), on_delete=models.PROTECT, related_name="applications"
    )
    amount = models.DecimalField(
        _("amount asked for (CNY)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(CENT)]
    )
    statement = models.TextField(
        _("what the compute is for"),
        max_length=3000,
        help_text=_("The work the vouchers would pay for, and how much compute it needs."),
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=VoucherApplicationStatus.choices,
        default=VoucherApplicationStatus.SUBMITTED,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("applied by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("applied"), auto_now_add=True)
    # decided_by, decided_at and decision_reason come from Decided.
    voucher = models.OneToOneField(
        Voucher,
        verbose_name=_("voucher"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="application",
    )

    objects = OrganisationScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("voucher application")
        verbose_name_plural = _("voucher applications")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=VoucherApplicationStatus.values),
                name="voucherapplication_status_valid",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="voucherapplication_amount_positive"),
            # Decided's own constraint says the same with status__in; this wording is the one in the database.
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(decision_reason=""),
                name="voucherapplication_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(voucher__isnull=False),
                name="voucherapplication_approval_has_voucher",
            ),
            # One open application per organisation and scheme.
            models.UniqueConstraint(
                fields=["organisation", "scheme"],
                condition=Q(status="submitted"),
                name="voucherapplication_one_open_per_scheme",
            ),
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(status="submitted"), name="voucherapp_queue_idx")
        ]

    def __str__(self):
        return f"#{self.pk} {self.organisation} {self.amount}"

    def approve(self, *, by, voucher, reason: str = "") -> str:
        old = self.decide(VoucherApplicationStatus.APPROVED, by=by, reason=reason)
        self.voucher = voucher
        self.touch("voucher")
        return old

    def reject(self, *, by, reason: str) -> str:
        return self.decide(VoucherApplicationStatus.REJECTED, by=by, reason=reason)

    def withdraw(self) -> str:
        return self.move_to(VoucherApplicationStatus.WITHDRAWN)
