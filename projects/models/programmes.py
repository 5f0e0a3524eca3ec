"""Programmes of the incubation platform, their review criteria and their calls for applications."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organisation, OrganisationKind
from core.text import bilingual


class Theme(models.TextChoices):
    SMART_MEDICAL = "smart_medical", _("Smart medical care")
    SMART_TRANSPORT = "smart_transport", _("Smart transport")
    URBAN_BRAIN = "urban_brain", _("Urban brain")
    NETWORK_SECURITY = "network_security", _("Network security")
    OTHER = "other", pgettext_lazy("theme", "Other")


# The review criteria a new programme starts with (name in Chinese and English, weight, guidance): the demo
# programmes and the benchmark's use them.
REVIEW_CRITERIA = [
    ("创新性", "Innovation", Decimal("3"), "新颖程度与技术难度。"),
    ("可行性", "Feasibility", Decimal("2"), "团队、数据与计划是否可行。"),
    ("社会与产业价值", "Impact", Decimal("2"), "对城市和产业的价值。"),
    ("算力需求合理性", "Compute plan", Decimal("1"), "申请的卡时是否合理。"),
]


class Programme(models.Model):
    slug = models.SlugField(_("short name"), unique=True)
    theme = models.CharField(_("theme"), max_length=32, choices=Theme.choices)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description_zh = models.TextField(_("description (Chinese)"), max_length=10000)
    description_en = models.TextField(_("description (English)"), max_length=10000, blank=True)
    eligible_kinds = models.JSONField(
        _("eligible organisation types"),
        default=list,
        blank=True,
        help_text=_("Organisation types that may apply; empty means every type. Only verified ones apply."),
    )
    voucher_amount = models.DecimalField(
        _("compute voucher (CNY)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    offers_mentoring = models.BooleanField(_("mentoring"), default=True)
    offers_demo_day = models.BooleanField(_("demo day"), default=False)
    is_published = models.BooleanField(_("published"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(theme__in=Theme.values), name="programme_theme_valid"),
            models.CheckConstraint(condition=Q(voucher_amount__gte=0), name="programme_voucher_not_negative"),
        ]

    def __str__(self):
        return self.title

    @property
    def title(self) -> str:
        return bilingual(self.title_zh, self.title_en)

    @property
    def description(self) -> str:
        return bilingual(self.description_zh, self.description_en)

    def clean(self):
        kinds = self.eligible_kinds or []
        if not isinstance(kinds, list) or any(k not in OrganisationKind.values for k in kinds):
            raise ValidationError({"eligible_kinds": _("List organisation types from the known ones.")})

    def eligible_kind_labels(self) -> list[str]:
        return [
            str(OrganisationKind(k).label) for k in self.eligible_kinds or [] if k in OrganisationKind.values
        ]

    def is_eligible(self, organisation: Organisation) -> bool:
        if not organisation.is_verified:
            return False
        return not self.eligible_kinds or organisation.kind in self.eligible_kinds

    def benefit_labels(self) -> list[str]:
        labels = []
        if self.voucher_amount:
            labels.append(
                _("Compute vouchers worth %(amount)s CNY") % {"amount": f"{self.voucher_amount:,.0f}"}
            )
        if self.offers_mentoring:
            labels.append(str(_("Mentoring by experts")))
        if self.offers_demo_day:
            labels.append(str(_("A place at the demo day")))
        return labels


class Criterion(models.Model):
    """One review criterion of a programme, scored 0–5 (or N/A) and weighted."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="criteria")
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120, blank=True)
    guidance = models.TextField(_("guidance"), blank=True, max_length=2000)
    weight = models.DecimalField(
        _("weight"), max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("review criterion")
        verbose_name_plural = _("review criteria")
        ordering = ["programme", "position", "id"]
        constraints = [models.CheckConstraint(condition=Q(weight__gt=0), name="criterion_weight_positive")]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return bilingual(self.name_zh, self.name_en)


class CallQuerySet(models.QuerySet):
    def published(self) -> "CallQuerySet":
        return self.filter(programme__is_published=True)

    def open(self, now=None) -> "CallQuerySet":
        now = now or timezone.now()
        return self.published().filter(opens_at__lte=now, closes_at__gt=now)


class Call(models.Model):
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="calls"
    )
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    opens_at = models.DateTimeField(_("opens"))
    closes_at = models.DateTimeField(_("closes"))
    review_deadline = models.DateField(_("review deadline"))
    max_card_hours = models.PositiveIntegerField(
        _("most card-hours an application may ask for"), default=50000, validators=[MinValueValidator(1)]
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CallQuerySet.as_manager()

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-opens_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="call_closes_after_open"
            )
        ]
        indexes = [models.Index(fields=["opens_at", "closes_at"], name="call_window_idx")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("projects:call_detail", args=[self.pk])

    @property
    def title(self) -> str:
        return bilingual(self.title_zh, self.title_en)

    @property
    def is_open(self) -> bool:
        return self.opens_at <= timezone.now() < self.closes_at and self.programme.is_published
