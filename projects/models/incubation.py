"""Incubated projects (what an accepted application becomes): benefits, milestones and progress reports."""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organisation, OrganisationScopedQuerySet
from core.exceptions import InvalidTransition
from core.roles import SiteRole, has_site_role, sees_all_organisations
from core.states import StatusMachine
from projects.models.applications import Application
from projects.models.fields import attachment_path, person, status_field, validate_pdf
from projects.models.programmes import Programme


class ProjectStatus(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    ACTIVE = "active", _("Active")
    AT_RISK = "at_risk", _("At risk")
    GRADUATED = "graduated", _("Graduated")
    TERMINATED = "terminated", _("Terminated")


# Statuses of a project still being incubated: the compute platform accepts quota requests for these.
INCUBATING_STATUSES = (ProjectStatus.ONBOARDING, ProjectStatus.ACTIVE, ProjectStatus.AT_RISK)


def is_mentor_candidate(user) -> bool:
    return has_site_role(user, SiteRole.REVIEWER) or has_site_role(user, SiteRole.MENTOR)


class ProjectQuerySet(OrganisationScopedQuerySet):
    def for_user(self, user) -> "ProjectQuerySet":
        """Projects of the user's organisations and those they mentor; all for operators and supervisors."""
        if sees_all_organisations(user) or not getattr(user, "is_authenticated", False):
            return super().for_user(user)
        return super().for_user(user) | self.filter(
            Exists(Project.mentors.through.objects.filter(project=OuterRef("pk"), user=user))
        )

    def showcase(self) -> "ProjectQuerySet":
        return self.filter(status=ProjectStatus.GRADUATED, publish_consent=True)


class Project(StatusMachine):
    """An incubated project: what an accepted application becomes."""

    TRANSITIONS = {
        ProjectStatus.ONBOARDING: {ProjectStatus.ACTIVE, ProjectStatus.TERMINATED},
        ProjectStatus.ACTIVE: {ProjectStatus.AT_RISK, ProjectStatus.GRADUATED, ProjectStatus.TERMINATED},
        ProjectStatus.AT_RISK: {ProjectStatus.ACTIVE, ProjectStatus.TERMINATED},
    }
    TRANSITION_ERROR = _("A project cannot go from “%(old)s” to “%(new)s”.")
    NEEDS_REASON = (ProjectStatus.AT_RISK, ProjectStatus.TERMINATED)
    ENDED = (ProjectStatus.GRADUATED, ProjectStatus.TERMINATED)

    application = models.OneToOneField(
        Application, verbose_name=_("application"), on_delete=models.PROTECT, related_name="project"
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="incubated_projects",
    )
    programme = models.ForeignKey(
        Programme, verbose_name=_("programme"), on_delete=models.PROTECT, related_name="projects"
    )
    title = models.CharField(_("title"), max_length=200)
    status = status_field(ProjectStatus, ProjectStatus.ONBOARDING)
    status_reason = models.TextField(_("reason for the status"), blank=True)
    mentors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("mentors"), blank=True, related_name="mentored_projects"
    )
    publish_consent = models.BooleanField(
        _("the team agrees to publish the project"),
        default=False,
        help_text=_("Graduated projects appear in the public showcase only with the team's agreement."),
    )
    showcase_summary = models.TextField(_("showcase summary"), max_length=2000, blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        verbose_name = _("incubated project")
        verbose_name_plural = _("incubated projects")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ProjectStatus.values), name="project_status_valid"),
            models.CheckConstraint(
                condition=~Q(status__in=[ProjectStatus.AT_RISK, ProjectStatus.TERMINATED])
                | ~Q(status_reason=""),
                name="project_risk_has_reason",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("projects:project_detail", args=[self.pk])

    @property
    def has_ended(self) -> bool:
        return self.status in self.ENDED

    def move_to(self, new_status: str, *, reason: str = "", same_is_fine: bool = False) -> str:
        """Move with the reason for the status (required for at risk and terminated); ending stamps ended_at."""
        reason = (reason or "").strip()
        if self.can_move_to(new_status) and new_status in self.NEEDS_REASON and not reason:
            raise InvalidTransition(_("Give a reason for this status."))
        old = super().move_to(new_status, same_is_fine=same_is_fine)
        self.status_reason = reason
        self.touch("status_reason")
        if new_status in self.ENDED:
            self.ended_at = timezone.now()
            self.touch("ended_at")
        return old

    def is_team_member(self, user) -> bool:
        return Membership.objects.filter(organisation_id=self.organisation_id, user=user).exists()

    def is_mentor(self, user) -> bool:
        return self.mentors.filter(pk=user.pk).exists()


class BenefitKind(models.TextChoices):
    COMPUTE_VOUCHER = "compute_voucher", _("Compute voucher")
    MENTORING = "mentoring", _("Mentoring")
    DEMO_DAY = "demo_day", _("Demo day")


class ProjectBenefit(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="benefits")
    kind = models.CharField(_("kind"), max_length=20, choices=BenefitKind.choices)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True)
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        verbose_name = _("project benefit")
        verbose_name_plural = _("project benefits")
        ordering = ["project", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=BenefitKind.values), name="benefit_kind_valid"),
            models.CheckConstraint(
                condition=~Q(kind=BenefitKind.COMPUTE_VOUCHER) | Q(amount__gt=0),
                name="benefit_voucher_has_amount",
            ),
            models.UniqueConstraint(fields=["project", "kind"], name="benefit_unique_kind"),
        ]

    def __str__(self):
        return self.get_kind_display()


class MilestoneStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")


class Milestone(StatusMachine):
    TRANSITIONS = {
        MilestoneStatus.PLANNED: {MilestoneStatus.SUBMITTED},
        MilestoneStatus.SUBMITTED: {MilestoneStatus.ACCEPTED, MilestoneStatus.CHANGES_REQUESTED},
        MilestoneStatus.CHANGES_REQUESTED: {MilestoneStatus.SUBMITTED},
    }
    TRANSITION_ERROR = _("A milestone cannot go from “%(old)s” to “%(new)s”.")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("title"), max_length=200)
    due_date = models.DateField(_("due"))
    deliverable = models.TextField(_("deliverable"), max_length=2000)
    status = status_field(MilestoneStatus, MilestoneStatus.PLANNED, max_length=20)
    evidence = models.FileField(
        _("evidence"), upload_to=attachment_path, max_length=200, blank=True, validators=[validate_pdf]
    )
    evidence_name = models.CharField(_("evidence file name"), max_length=200, blank=True)
    evidence_note = models.TextField(_("note on the evidence"), max_length=2000, blank=True)
    feedback = models.TextField(_("feedback"), max_length=2000, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    reviewed_by = person(blank=True)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["project", "due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=MilestoneStatus.values), name="milestone_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=MilestoneStatus.CHANGES_REQUESTED) | ~Q(feedback=""),
                name="milestone_changes_have_feedback",
            ),
        ]

    def __str__(self):
        return self.title

    def submit(self, *, note: str = "") -> str:
        old = self.move_to(MilestoneStatus.SUBMITTED)
        self.evidence_note = (note or "").strip()[:2000]
        self.submitted_at = timezone.now()
        self.touch("evidence_note", "submitted_at")
        return old

    def review(self, *, by, accept: bool, feedback: str = "") -> str:
        """Accept the milestone or ask for changes (with feedback, which the service requires)."""
        old = self.move_to(MilestoneStatus.ACCEPTED if accept else MilestoneStatus.CHANGES_REQUESTED)
        self.feedback, self.reviewed_by, self.reviewed_at = feedback, by, timezone.now()
        self.touch("feedback", "reviewed_by", "reviewed_at")
        return old

    @property
    def is_overdue(self) -> bool:
        return self.status in (MilestoneStatus.PLANNED, MilestoneStatus.CHANGES_REQUESTED) and (
            self.due_date < timezone.localdate()
        )


class ProgressReport(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reports")
    period_end = models.DateField(_("period ending"))
    progress = models.TextField(_("progress"), max_length=5000)
    next_steps = models.TextField(_("next steps"), max_length=5000, blank=True)
    risks = models.TextField(_("risks and help needed"), max_length=5000, blank=True)
    submitted_by = person()
    submitted_at = models.DateTimeField(_("submitted"), auto_now_add=True)

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["project", "-period_end", "-id"]
        constraints = [models.UniqueConstraint(fields=["project", "period_end"], name="report_unique_period")]

    def __str__(self):
        return f"{self.project_id} {self.period_end}"
