"""The models of jobs from the browser: the algorithm catalogue (``JobTemplate``) and what the portal submitted
to the cluster on a person's behalf (``Submission``).

Operators keep templates of batch scripts for the frameworks and applications the center supports, each with
named, typed parameters (written ``${name}`` in the script) and default resources; published templates form the
catalogue people start jobs from. What a template's parameters may be, and how values are put into its script
safely, is compute/jobs/catalogue.py; the model checks one template on its own (``clean``).

The scheduler is the truth about a job's state; a ``Submission`` is the portal's own record: who asked, under
which allocation, from which template with which parameters, the script exactly as it was sent, and the
cancellation if any. It makes submissions auditable and rate-limitable, and keeps a finished job's output paths
after the scheduler has forgotten the job.
"""

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import localize
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.states import StatusMachine
from core.text import bilingual


class JobKind(models.TextChoices):
    PYTORCH = "pytorch", _("PyTorch")
    MINDSPORE = "mindspore", _("MindSpore")
    TENSORFLOW = "tensorflow", _("TensorFlow")
    INFERENCE = "inference", _("Inference server")
    CPU_BATCH = "cpu_batch", _("CPU batch processing")
    OTHER = "other", _("Other")


class TemplateStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class JobTemplateQuerySet(models.QuerySet):
    def published(self) -> "JobTemplateQuerySet":
        return self.filter(status=TemplateStatus.PUBLISHED)

    def for_user(self, user) -> "JobTemplateQuerySet":
        """The templates ``user`` may see: operators and supervisors every one, anyone signed in the
        published ones, nobody else any."""
        from core.roles import sees_all_organisations

        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self.all()
        return self.published()


class JobTemplate(StatusMachine):
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        TemplateStatus.DRAFT: {TemplateStatus.PUBLISHED, TemplateStatus.RETIRED},
        TemplateStatus.PUBLISHED: {TemplateStatus.RETIRED},
        TemplateStatus.RETIRED: {TemplateStatus.PUBLISHED},
    }
    TRANSITION_ERROR = _("The template cannot go from “%(old)s” to “%(new)s”.")

    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=120)
    name_zh = models.CharField(_("name (Chinese)"), max_length=120)
    summary_en = models.CharField(_("summary (English)"), max_length=300, blank=True)
    summary_zh = models.CharField(_("summary (Chinese)"), max_length=300, blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    kind = models.CharField(_("framework or application"), max_length=16, choices=JobKind.choices)
    partitions = models.ManyToManyField(
        "compute.Partition", verbose_name=_("partitions it fits"), related_name="job_templates", blank=True
    )
    script = models.TextField(
        _("batch script"), help_text=_("Starts with “#!/bin/bash”; parameters are written ${name}.")
    )
    parameters = models.JSONField(_("parameters"), default=list, blank=True)
    nodes = models.PositiveIntegerField(_("nodes"), default=1)
    cards_per_node = models.PositiveIntegerField(_("accelerator cards per node"), default=0)
    cpus_per_node = models.PositiveIntegerField(_("CPU cores per node"), default=1)
    memory_gb = models.PositiveIntegerField(_("memory per node (GB)"), default=4)
    time_limit_minutes = models.PositiveIntegerField(_("time limit (minutes)"), default=60)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=TemplateStatus.choices,
        default=TemplateStatus.DRAFT,
        db_index=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    objects = JobTemplateQuerySet.as_manager()

    class Meta:
        verbose_name = _("job template")
        verbose_name_plural = _("job templates")
        ordering = ["kind", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TemplateStatus.values), name="jobtemplate_status_valid"
            ),
            models.CheckConstraint(condition=Q(kind__in=JobKind.values), name="jobtemplate_kind_valid"),
            models.CheckConstraint(condition=Q(nodes__gte=1), name="jobtemplate_nodes_positive"),
            models.CheckConstraint(condition=Q(cpus_per_node__gte=1), name="jobtemplate_cpus_positive"),
            models.CheckConstraint(condition=Q(memory_gb__gte=1), name="jobtemplate_memory_positive"),
            models.CheckConstraint(
                condition=Q(time_limit_minutes__gte=1), name="jobtemplate_time_limit_positive"
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return bilingual(self.name_zh, self.name_en)

    @property
    def summary(self) -> str:
        return bilingual(self.summary_zh, self.summary_en)

    @property
    def description(self) -> str:
        return bilingual(self.description_zh, self.description_en)

    @property
    def resources_text(self) -> str:
        """ "1 node, 8 cards per node, 32 CPU cores, 256 GB memory, 120 minutes", in the reader's language."""
        parts = [
            ngettext("%(nodes)s node", "%(nodes)s nodes", self.nodes) % {"nodes": localize(self.nodes)},
        ]
        if self.cards_per_node:
            parts.append(
                ngettext("%(cards)s card per node", "%(cards)s cards per node", self.cards_per_node)
                % {"cards": localize(self.cards_per_node)}
            )
        parts.append(
            ngettext("%(cpus)s CPU core", "%(cpus)s CPU cores", self.cpus_per_node)
            % {"cpus": localize(self.cpus_per_node)}
        )
        parts.append(gettext("%(memory)s GB memory") % {"memory": localize(self.memory_gb)})
        parts.append(
            ngettext("%(minutes)s minute", "%(minutes)s minutes", self.time_limit_minutes)
            % {"minutes": localize(self.time_limit_minutes)}
        )
        return ", ".join(parts)

    @property
    def is_published(self) -> bool:
        return self.status == TemplateStatus.PUBLISHED

    def default_resources(self) -> dict[str, int]:
        """The resources a job from this template asks for unless the person changes them (the job form's
        field names)."""
        return {
            "nodes": self.nodes,
            "cards_per_node": self.cards_per_node,
            "cpus_per_node": self.cpus_per_node,
            "memory_gb": self.memory_gb,
            "time_limit_minutes": self.time_limit_minutes,
        }

    def clean(self):
        from compute.jobs.catalogue import check_template

        super().clean()
        check_template(self)

    # --- moves (nothing here saves; compute/jobs/catalogue.py saves and audits) ---

    def publish(self) -> str:
        return self.move_to(TemplateStatus.PUBLISHED)

    def retire(self) -> str:
        return self.move_to(TemplateStatus.RETIRED)


class SubmissionQuerySet(models.QuerySet):
    def since(self, moment) -> "SubmissionQuerySet":
        return self.filter(submitted_at__gte=moment)


class Submission(models.Model):
    allocation = models.ForeignKey(
        "compute.Allocation",
        verbose_name=_("allocation"),
        on_delete=models.PROTECT,
        related_name="submissions",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The cluster user it ran as (the person's identity at the time; kept if the account is deleted).
    cluster_user = models.CharField(_("cluster user"), max_length=32)
    uid = models.PositiveIntegerField(_("uid"))
    template = models.ForeignKey(
        "compute.JobTemplate",
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submissions",
    )
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    script = models.TextField(_("script"))
    cluster = models.CharField(_("cluster"), max_length=64)
    job_id = models.CharField(_("job id"), max_length=32)
    name = models.CharField(_("job name"), max_length=100)
    partition = models.CharField(_("partition"), max_length=64)
    nodes = models.PositiveIntegerField(_("nodes"), default=1)
    cards_per_node = models.PositiveIntegerField(_("accelerator cards per node"), default=0)
    cpus_per_node = models.PositiveIntegerField(_("CPU cores per node"), default=1)
    memory_gb = models.PositiveIntegerField(_("memory per node (GB)"), default=1)
    time_limit_minutes = models.PositiveIntegerField(_("time limit (minutes)"))
    estimated_amount = models.DecimalField(
        _("most it can use"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    working_directory = models.CharField(_("working directory"), max_length=1024)
    stdout_path = models.CharField(_("standard output"), max_length=1024)
    stderr_path = models.CharField(_("standard error"), max_length=1024)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now, db_index=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cancelled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=500, blank=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        verbose_name = _("job submission")
        verbose_name_plural = _("job submissions")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "job_id"], name="submission_unique_job"),
            models.CheckConstraint(condition=Q(nodes__gte=1), name="submission_nodes_positive"),
            models.CheckConstraint(
                condition=Q(time_limit_minutes__gte=1), name="submission_time_limit_positive"
            ),
        ]
        indexes = [models.Index(fields=["submitted_by", "submitted_at"], name="submission_by_person")]

    def __str__(self):
        return f"{self.cluster}/{self.job_id} {self.name}"
