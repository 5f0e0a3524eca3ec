"""The public directory: one row per member organisation with its published values."""

from datetime import date

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from alliance.models.membership import Tier
from alliance.models.profiles import CapabilityTag
from core.text import bilingual


class DirectoryEntryQuerySet(models.QuerySet):
    def listed(self, today: date | None = None) -> "DirectoryEntryQuerySet":
        """Entries of current members: the listing flag, and the dates (so a lapsed term drops out on the day,
        before the daily recheck)."""
        today = today or timezone.localdate()
        return self.filter(is_listed=True, member_from__lte=today, listed_until__gte=today)


class DirectoryEntry(models.Model):
    """One row per member organisation with its published, public values: what the directory lists and searches.

    Services keep it in sync (``alliance.services.directory.sync_entry``); nothing private is ever copied here.
    """

    organisation = models.OneToOneField(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="directory_entry",
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("type"), max_length=32)
    sector = models.CharField(_("sector"), max_length=32)
    city = models.CharField(_("city"), max_length=100)
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices)
    tier_rank = models.PositiveSmallIntegerField(default=0)
    member_since = models.DateField(_("member since"))
    member_from = models.DateField(_("listed from"))
    listed_until = models.DateField(_("listed until"))
    is_listed = models.BooleanField(_("listed"), default=False)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    logo = models.CharField(_("logo"), max_length=200, blank=True)
    capabilities = models.ManyToManyField(CapabilityTag, blank=True, related_name="directory_entries")
    search_document = models.TextField(_("search text"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = DirectoryEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("directory entry")
        verbose_name_plural = _("directory entries")
        ordering = ["tier_rank", "name_zh"]
        # The trigram index on search_document is PostgreSQL-only: migration 0002 creates it there.
        indexes = [
            models.Index(
                fields=["tier_rank", "name_zh"],
                condition=Q(is_listed=True),
                name="directory_listed_order_idx",
            ),
            # Facet counts read these alone (index-only scans on PostgreSQL): the value and the listing dates.
            *[
                models.Index(
                    fields=[name, "listed_until", "member_from"],
                    condition=Q(is_listed=True),
                    name=f"directory_{name}_facet_idx",
                )
                for name in ("kind", "sector", "city", "tier")
            ],
            models.Index(fields=["-updated_at"], name="directory_updated_idx"),
            models.Index(
                fields=["listed_until", "member_from", "organisation"],
                condition=Q(is_listed=True),
                name="directory_until_idx",
            ),
        ]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return reverse("alliance:member_profile", args=[self.organisation_id])

    @property
    def display_name(self) -> str:
        return bilingual(self.name_zh, self.name_en)
