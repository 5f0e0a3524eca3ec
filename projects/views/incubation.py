"""Incubated projects' pages: the list, a project's page for its team, mentors and operators, and their
actions (status, mentors, milestones, progress reports, showcase consent)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.access import manages, require_operator
from accounts.models import Membership, User
from core.pagination import paginate
from core.roles import SiteRole, is_operator, sees_all_organisations
from core.web import parse_id
from projects import kept
from projects.forms import (
    MentorForm,
    MilestoneForm,
    MilestoneReviewForm,
    MilestoneSubmitForm,
    ProgressReportForm,
    ProjectStatusForm,
    ShowcaseForm,
)
from projects.models import INCUBATING_STATUSES, Milestone, Project, ProjectStatus
from projects.services import incubation as services
from projects.views.common import act, file_response, filter_by_status, post_action


@login_required
def project_list(request):
    projects = (
        Project.objects.for_user(request.user).select_related("organisation", "programme").order_by("-id")
    )
    projects, status = filter_by_status(request, projects, ProjectStatus.values)
    sees_all = sees_all_organisations(request.user)
    return render(
        request,
        "projects/project_list.html",
        {
            "page": SimpleLazyObject(lambda: paginate(request, projects)),
            "status": status,
            "statuses": ProjectStatus.choices,
            # Staff who see all see the same page: kept while no project, organisation or programme changes
            # (projects/kept.py). Members and mentors see their own projects: nothing is kept for them.
            "body_key": kept.PROJECTS.body_key(request) if sees_all else "",
        },
    )


def _project(request, pk: int) -> Project:
    return get_object_or_404(
        Project.objects.for_user(request.user).select_related("organisation", "programme", "application"),
        pk=pk,
    )


def _mentor_candidates(project: Project, mentors: list):
    return (
        User.objects.filter(groups__name__in=[SiteRole.REVIEWER, SiteRole.MENTOR], is_active=True)
        .exclude(memberships__organisation_id=project.organisation_id)
        .exclude(pk__in=[m.pk for m in mentors])
        .distinct()
        .order_by("name", "email")
    )


@login_required
def project_detail(request, pk: int):
    project = _project(request, pk)
    team = project.is_team_member(request.user)
    mentor = project.is_mentor(request.user)
    operator = is_operator(request.user)
    mentors = list(project.mentors.order_by("name", "email"))
    context = {
        "project": project,
        "is_team": team,
        "is_mentor": mentor,
        "can_manage": operator,
        "can_review_milestones": operator or mentor,
        "mentors": mentors,
        "benefits": list(project.benefits.all()),
        # The compute platform's side of the benefits: the vouchers issued and the quota requested for it.
        "vouchers": list(project.vouchers.with_balance().select_related("scheme")),
        "quota_requests": list(project.quota_requests.select_related("partition").order_by("-id")[:5]),
        "can_request_compute": team
        and project.status in INCUBATING_STATUSES
        and manages(request.user, project.organisation_id),
        "milestones": list(project.milestones.select_related("reviewed_by").all()),
        "reports": list(project.reports.select_related("submitted_by").all()[:20]),
        "team_members": list(
            Membership.objects.filter(organisation_id=project.organisation_id)
            .select_related("user")
            .order_by("role", "id")
        ),
        "milestone_form": MilestoneForm(),
        "submit_form": MilestoneSubmitForm(),
        "review_form": MilestoneReviewForm(),
        "report_form": ProgressReportForm(initial={"period_end": timezone.localdate()}),
        "showcase_form": ShowcaseForm(
            initial={"consent": project.publish_consent, "summary": project.showcase_summary}
        ),
        "is_ended": project.has_ended,
    }
    if operator:
        moves = sorted(project.allowed_moves)
        context["status_form"] = ProjectStatusForm(
            initial={"status": next(iter(Project.TRANSITIONS.get(project.status, [])), "")}
        )
        context["status_choices"] = moves
        context["mentor_form"] = MentorForm(people=_mentor_candidates(project, mentors))
    return render(request, "projects/project_detail.html", context)


def _operated_project(request, pk: int) -> Project:
    require_operator(request.user)
    return _project(request, pk)


project_status = post_action(
    _operated_project,
    lambda project, user, data: services.set_project_status(
        project, data["status"], by=user, reason=data["reason"]
    ),
    gettext_lazy("The project's status is changed."),
    form=ProjectStatusForm,
    invalid=gettext_lazy("Choose a project status."),
)


@login_required
@require_POST
def project_mentor(request, pk: int):
    project = _operated_project(request, pk)
    mentor_id = parse_id(request.POST.get("mentor", ""))
    mentor = User.objects.filter(pk=mentor_id).first() if mentor_id else None
    if mentor is None:
        messages.error(request, _("Choose a mentor from the list."))
        return redirect(project)
    if request.POST.get("remove"):
        return act(
            request,
            project,
            lambda: services.remove_mentor(project, mentor, by=request.user),
            _("The mentor is removed."),
        )
    return act(
        request,
        project,
        lambda: services.add_mentor(project, mentor, by=request.user),
        _("The mentor is added."),
    )


milestone_create = post_action(
    _project,
    lambda project, user, data: services.add_milestone(project, by=user, **data),
    gettext_lazy("The milestone is planned."),
    form=MilestoneForm,
    invalid=gettext_lazy("Give the milestone a title, a due date and a deliverable."),
)


def _milestone(request, pk: int) -> Milestone:
    return get_object_or_404(
        Milestone.objects.filter(project__in=Project.objects.for_user(request.user)).select_related(
            "project"
        ),
        pk=pk,
    )


milestone_submit = post_action(
    _milestone,
    lambda milestone, user, data: services.submit_milestone(
        milestone, by=user, evidence=data["evidence"], note=data["note"]
    ),
    gettext_lazy("The milestone is submitted to the mentors."),
    form=MilestoneSubmitForm,
    invalid=gettext_lazy("Check the evidence and the note."),
    back=lambda milestone: milestone.project,
)

milestone_review = post_action(
    _milestone,
    lambda milestone, user, data: services.review_milestone(
        milestone, by=user, accept=data["accept"], feedback=data["feedback"]
    ),
    gettext_lazy("The milestone is reviewed and the team told."),
    form=MilestoneReviewForm,
    invalid=gettext_lazy("Choose accept or request changes."),
    back=lambda milestone: milestone.project,
)


@login_required
@require_GET
def milestone_evidence(request, pk: int):
    milestone = _milestone(request, pk)
    if not milestone.evidence:
        raise Http404
    return file_response(milestone.evidence, milestone.evidence_name or "evidence.pdf")


report_create = post_action(
    _project,
    lambda project, user, data: services.submit_progress_report(project, by=user, **data),
    gettext_lazy("The progress report is filed."),
    form=ProgressReportForm,
    invalid=gettext_lazy("Give the period and the progress."),
)

project_showcase = post_action(
    _project,
    lambda project, user, data: services.set_showcase(
        project, by=user, consent=data["consent"], summary=data["summary"]
    ),
    gettext_lazy("Your showcase choice is saved."),
    form=ShowcaseForm,
    invalid=gettext_lazy("Check the public summary."),
)
