"""Incubated projects: mentors, status, showcase consent, milestones and progress reports."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.access import require_operator
from accounts.models import User
from core import audit
from core.exceptions import Conflict, DomainError
from core.mail import send_templated_mail
from core.states import save_transition
from projects.models import Milestone, ProgressReport, Project, ProjectStatus, is_mentor_candidate
from projects.services.access import (
    is_member,
    require_mentor_or_operator,
    require_team,
    site_url,
    team_emails,
)
from projects.services.applications import checked_pdf, upload_name


def _lock_project(project: Project) -> Project:
    return Project.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=project.pk)


def _lock_milestone(milestone: Milestone) -> Milestone:
    return (
        Milestone.objects.select_for_update(of=("self",))
        .select_related("project__organisation")
        .get(pk=milestone.pk)
    )


def _audit(project: Project, action: str, *, by: User, changes: dict) -> None:
    """An audit record of a change to the project that is not a move of its status."""
    audit.record(action, project, actor=by, organisation=project.organisation, changes=changes)


def _refuse_ended(project: Project) -> None:
    if project.has_ended:
        raise Conflict(_("This project has ended."))


@transaction.atomic
def add_mentor(project: Project, mentor: User, *, by: User) -> Project:
    require_operator(by)
    project = _lock_project(project)
    if not is_mentor_candidate(mentor):
        raise DomainError(_("Mentors are people with the reviewer or mentor role."))
    if is_member(project.organisation_id, mentor):
        raise Conflict(_("A mentor cannot be a member of the project's own organisation."))
    if project.mentors.filter(pk=mentor.pk).exists():
        raise Conflict(_("This person already mentors the project."))
    project.mentors.add(mentor)
    _audit(project, "project.add_mentor", by=by, changes={"mentors": (None, mentor.email)})
    return project


@transaction.atomic
def remove_mentor(project: Project, mentor: User, *, by: User) -> Project:
    require_operator(by)
    project = _lock_project(project)
    project.mentors.remove(mentor)
    _audit(project, "project.remove_mentor", by=by, changes={"mentors": (mentor.email, None)})
    return project


@transaction.atomic
def set_project_status(project: Project, status: str, *, by: User, reason: str = "") -> Project:
    require_operator(by)
    project = _lock_project(project)
    if status not in ProjectStatus.values:
        raise DomainError(_("Choose a project status."))
    old = project.move_to(status, reason=reason)
    save_transition(project, old, by=by, action=f"project.{status}", reason=project.status_reason)
    return project


@transaction.atomic
def set_showcase(project: Project, *, by: User, consent: bool, summary: str = "") -> Project:
    project = _lock_project(project)
    require_team(project, by)
    before = project.publish_consent
    project.publish_consent, project.showcase_summary = bool(consent), (summary or "").strip()[:2000]
    project.save(update_fields=["publish_consent", "showcase_summary"])
    _audit(
        project,
        "project.showcase_consent",
        by=by,
        changes={"publish_consent": (before, project.publish_consent)},
    )
    return project


@transaction.atomic
def add_milestone(project: Project, *, by: User, title: str, due_date: date, deliverable: str) -> Milestone:
    project = _lock_project(project)
    require_mentor_or_operator(project, by)
    _refuse_ended(project)
    milestone = Milestone(
        project=project,
        title=(title or "").strip(),
        due_date=due_date,
        deliverable=(deliverable or "").strip(),
    )
    milestone.full_clean()
    milestone.save()
    save_transition(milestone, None, by=by, action="milestone.create", organisation=project.organisation)
    return milestone


@transaction.atomic
def submit_milestone(milestone: Milestone, *, by: User, evidence=None, note: str = "") -> Milestone:
    milestone = _lock_milestone(milestone)
    require_team(milestone.project, by)
    if evidence is None and not milestone.evidence:
        raise ValidationError({"evidence": _("Upload the evidence (a PDF).")})
    if evidence is not None:
        checked_pdf(evidence, field="evidence")
    old = milestone.submit(note=note)
    if evidence is not None:
        milestone.evidence_name = upload_name(evidence, "evidence.pdf")
        milestone.evidence.save("evidence.pdf", evidence, save=False)
    save_transition(
        milestone,
        old,
        by=by,
        action="milestone.submit",
        fields=["evidence", "evidence_name"],
        organisation=milestone.project.organisation,
    )
    return milestone


@transaction.atomic
def review_milestone(milestone: Milestone, *, by: User, accept: bool, feedback: str = "") -> Milestone:
    milestone = _lock_milestone(milestone)
    require_mentor_or_operator(milestone.project, by)
    feedback = (feedback or "").strip()
    if not accept and not feedback:
        raise ValidationError({"feedback": _("Say what should change.")})
    old = milestone.review(by=by, accept=accept, feedback=feedback)
    save_transition(
        milestone,
        old,
        by=by,
        action="milestone.accept" if accept else "milestone.request_changes",
        organisation=milestone.project.organisation,
        reason=feedback,
    )
    send_templated_mail(
        "projects/email/milestone_reviewed",
        to=team_emails(milestone.project.organisation_id),
        context={"milestone": milestone, "url": site_url(milestone.project.get_absolute_url())},
    )
    return milestone


@transaction.atomic
def submit_progress_report(
    project: Project, *, by: User, period_end: date, progress: str, next_steps: str = "", risks: str = ""
) -> ProgressReport:
    project = _lock_project(project)
    require_team(project, by)
    _refuse_ended(project)
    if ProgressReport.objects.filter(project=project, period_end=period_end).exists():
        raise ValidationError({"period_end": _("A report for this period is already filed.")})
    report = ProgressReport(
        project=project,
        period_end=period_end,
        progress=(progress or "").strip(),
        next_steps=(next_steps or "").strip(),
        risks=(risks or "").strip(),
        submitted_by=by,
    )
    report.full_clean()
    report.save()
    _audit(project, "project.progress_report", by=by, changes={"reports": (None, str(period_end))})
    return report
