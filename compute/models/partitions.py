"""Partitions: the pools of the cluster that quota is granted on, and the cluster usernames on them."""

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.text import bilingual

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
        default="billing",
        help_text=_(
            "The Slurm TRES that quota limits and usage counts: billing, weighted per partition by "
            "TRESBillingWeights."
        ),
    )
    billing_per_unit = models.PositiveIntegerField(
        _("billing units per unit"),
        default=1,
        validators=[MinValueValidator(1)],
        help_text=_(
            "How many of Slurm's billing units make one unit of this partition: the weight of one card (or "
            "core) in the partition's TRESBillingWeights. Slurm rounds a job's billing down to a whole "
            "number, so on an accelerator node with 192 cores and 8 cards the weights are CPU=1, GRES/npu=24 "
            "and this is 24: a job on one core is billed 1/24 card instead of nothing."
        ),
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
    # What one job may ask for on this partition (its nodes' shape and Slurm's MaxTime): the job form checks
    # against these before anything reaches Slurm.
    max_nodes = models.PositiveIntegerField(
        _("most nodes per job"), default=1, validators=[MinValueValidator(1)]
    )
    cards_per_node = models.PositiveIntegerField(
        _("accelerator cards per node"), default=0, help_text=_("0 for a partition without accelerators.")
    )
    cores_per_node = models.PositiveIntegerField(
        _("CPU cores per node"), default=1, validators=[MinValueValidator(1)]
    )
    memory_per_node_gb = models.PositiveIntegerField(
        _("memory per node (GB)"), default=1, validators=[MinValueValidator(1)]
    )
    max_time_minutes = models.PositiveIntegerField(
        _("longest job (minutes)"),
        default=24 * 60,
        validators=[MinValueValidator(1)],
        help_text=_("The partition's MaxTime in Slurm."),
    )

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
            models.CheckConstraint(
                condition=Q(billing_per_unit__gte=1), name="partition_billing_per_unit_positive"
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return bilingual(self.name_zh, self.name_en)

    def minutes(self, amount: Decimal) -> int:
        """Slurm billing-minutes for an amount in the partition's unit (with one card weighing 24, a card-hour
        is 60 x 24 billing-minutes)."""
        minutes = Decimal(amount) * MINUTES_PER_HOUR * self.billing_per_unit
        return int(minutes.to_integral_value(rounding=ROUND_HALF_UP))

    def amount(self, minutes: int | Decimal) -> Decimal:
        """The partition's units in an amount of billing-minutes (the inverse of ``minutes``)."""
        return Decimal(minutes) / (MINUTES_PER_HOUR * self.billing_per_unit)

    def cost(self, amount: Decimal) -> Decimal:
        return (Decimal(amount) * self.price_per_unit).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def capacity_for(self, start: date, end: date) -> Decimal:
        """How much may be granted over a period: monthly capacity, prorated by days, times over-commit."""
        days = Decimal((end - start).days)
        return (self.capacity_per_month * days / Decimal(30) * self.overcommit_ratio).quantize(
            Decimal("0.01")
        )
