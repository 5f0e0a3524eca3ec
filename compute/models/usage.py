"""What the cluster reports back: jobs, usage per day, and reconciliations of the portal with the cluster."""

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compute.models.allocations import Allocation


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
        # Periods of all allocations (the reports' days before and after whole months, capacity by partition).
        indexes = [models.Index(fields=["day"], name="dailyusage_day")]

    def __str__(self):
        return f"{self.allocation_id} {self.day}: {self.units}"


class MonthlyUsage(models.Model):
    """An allocation's daily usage summed per calendar month, kept with it by the usage refresh
    (compute/usage.py): reports over long periods read a row per month instead of one per day."""

    allocation = models.ForeignKey(Allocation, on_delete=models.CASCADE, related_name="monthly_usage")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    units = models.DecimalField(_("used"), max_digits=16, decimal_places=4)
    jobs = models.PositiveIntegerField(_("jobs"), default=0)

    class Meta:
        verbose_name = _("monthly usage")
        verbose_name_plural = _("monthly usage")
        ordering = ["allocation", "month"]
        constraints = [
            models.UniqueConstraint(fields=["allocation", "month"], name="monthlyusage_unique_month")
        ]
        indexes = [models.Index(fields=["month"], name="monthlyusage_month")]

    def __str__(self):
        return f"{self.allocation_id} {self.month:%Y-%m}: {self.units}"


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
