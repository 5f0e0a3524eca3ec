"""Reminders before an allocation ends: one row per reminder sent, so each goes once."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compute.models.allocations import Allocation


class EndReminder(models.Model):
    """The reminder ``days_before`` the allocation's ``end_date`` was sent.

    Keyed by the end date as it was: an extension moves the end, and the new end gets its own reminders.
    """

    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="end_reminders")
    end_date = models.DateField(_("end"))
    days_before = models.PositiveSmallIntegerField(_("days before the end"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("end reminder")
        verbose_name_plural = _("end reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["allocation", "end_date", "days_before"], name="endreminder_once_per_end"
            )
        ]

    def __str__(self):
        return f"{self.allocation} {self.end_date} -{self.days_before}d"
