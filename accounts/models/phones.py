"""Mobile numbers: one per person, in E.164, unique across the site, verified by an SMS code."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PhoneNumber(models.Model):
    """A person's mobile number (allauth's phone support reads and writes it through accounts.adapter).

    A row of its own rather than columns on User: most people have no number, the unique index then covers
    only those who do, erasing the number is deleting the row, and the user table (read on every request)
    stays as it is."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="phone_number",
        verbose_name=_("person"),
    )
    number = models.CharField(
        _("mobile number"), max_length=16, unique=True, help_text=_("E.164, e.g. +8613812345678")
    )
    verified = models.BooleanField(_("verified"), default=False)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("mobile number")
        verbose_name_plural = _("mobile numbers")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(number__regex=r"^\+[1-9][0-9]{6,14}$"), name="phone_e164"
            )
        ]

    def __str__(self):
        return self.number
