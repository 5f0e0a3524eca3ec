"""Pages of the incubation platform: calls, applications, screening and review, incubated projects.

Views parse input, call one service or QuerySet method and present the result. Objects a person may not
see are found through ``for_user`` querysets, so they are 404 here. Applicants never see who reviewed.
"""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership, MembershipRole, Organisation, User
from core.exceptions import DomainError
from core.models import AuditEvent
from core.pagination import PAGE_SIZE, paginate
from core.roles import SiteRole, has_site_role, is_operator, sees_all_organisations
from projects import services
from projects.forms import (
    ApplicationForm,
    AssignForm,
    AttachmentForm,
    AutoAssignForm,
    CoApplicantForm,
    DecisionForm,
    DeclineForm,
    MentorForm,
    MessageForm,
    MilestoneForm,
    MilestoneReviewForm,
    MilestoneSubmitForm,
    ProgressReportForm,
    ProjectStatusForm,
    ShowcaseForm,
)
from projects.models import (
    INCUBATING_STATUSES,
    OPERATOR,
    TRANSITIONS,
    Application,
    ApplicationStatus,
    Attachment,
    Call,
    Milestone,
    Project,
    ProjectStatus,
    ReviewAssignment,
)

HISTORY_SHOWN = 30


def _require_operator(request) -> None:
    if not is_operator(request.user):
        raise PermissionDenied(_("Only the center's operators may do this."))


def _require_staff(request) -> None:
    if not sees_all_organisations(request.user):
        raise PermissionDenied(_("This page is for the center's operators and supervisors."))


def _require_reviewer(request) -> None:
    if not has_site_role(request.user, SiteRole.REVIEWER):
        raise PermissionDenied(_("This page is for the center's expert reviewers."))


def _show_error(request, error: Exception) -> None:
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(error))


def _apply_errors(form, error: ValidationError) -> None:
    by_field = error.message_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.messages}
    for field, field_messages in by_field.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


# --- public pages -----------------------------------------------------------------------------------


def index(request):
    calls = list(Call.objects.open().select_related("programme").order_by("closes_at")[:6])
    showcase = list(
        Project.objects.showcase().select_related("organisation", "programme").order_by("-ended_at")[:3]
    )
    context = {"calls": calls, "showcase": showcase, "is_staff": sees_all_organisations(request.user)}
    if request.user.is_authenticated:
        context["my_applications"] = list(
            Application.objects.of_applicant(request.user).select_related("call").order_by("-id")[:5]
        )
        context["is_reviewer"] = has_site_role(request.user, SiteRole.REVIEWER)
    return render(request, "projects/index.html", context)


def call_list(request):
    calls = Call.objects.open().select_related("programme").order_by("closes_at", "id")
    return render(request, "projects/call_list.html", {"page": paginate(request, calls, per_page=20)})


def call_detail(request, pk: int):
    call = get_object_or_404(Call.objects.published().select_related("programme"), pk=pk)
    criteria = list(call.programme.criteria.all())
    organisations = []
    if request.user.is_authenticated:
        organisations = list(
            Organisation.objects.filter(memberships__user=request.user).verified().order_by("name_zh")
        )
    eligible = [o for o in organisations if call.programme.is_eligible(o)]
    return render(
        request,
        "projects/call_detail.html",
        {"call": call, "programme": call.programme, "criteria": criteria, "eligible": eligible},
    )


def showcase(request):
    projects = (
        Project.objects.showcase().select_related("organisation", "programme").order_by("-ended_at", "-id")
    )
    return render(request, "projects/showcase.html", {"page": paginate(request, projects, per_page=24)})


# --- applications (applicants) ----------------------------------------------------------------------


@login_required
def application_list(request):
    applications = (
        Application.objects.of_applicant(request.user)
        .select_related("call__programme", "organisation")
        .order_by("-id")
    )
    return render(request, "projects/application_list.html", {"page": paginate(request, applications)})


@login_required
def application_create(request, call_pk: int):
    call = get_object_or_404(Call.objects.published().select_related("programme"), pk=call_pk)
    organisations = Organisation.objects.filter(memberships__user=request.user).verified().order_by("name_zh")
    eligible_ids = [o.pk for o in organisations if call.programme.is_eligible(o)]
    if not call.is_open or not eligible_ids:
        return render(
            request,
            "projects/application_form.html",
            {"call": call, "cannot_apply": True, "call_closed": not call.is_open},
        )
    form = ApplicationForm(
        request.POST or None,
        organisations=Organisation.objects.filter(pk__in=eligible_ids).order_by("name_zh"),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            application = services.create_application(
                call,
                by=request.user,
                organisation=data["organisation"],
                **{k: data[k] for k in Application.CONTENT_FIELDS if k in data},
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Your draft is saved. Complete it, add attachments, then submit it."))
            return redirect("projects:application_edit", application.pk)
    return render(request, "projects/application_form.html", {"call": call, "form": form})


def _applicant_application(request, pk: int) -> Application:
    return get_object_or_404(
        Application.objects.for_user(request.user).select_related("call__programme", "organisation"), pk=pk
    )


@login_required
def application_detail(request, pk: int):
    application = _applicant_application(request, pk)
    staff = sees_all_organisations(request.user)
    applicant = services.is_applicant(application, request.user)
    context = {
        "application": application,
        "is_staff": staff,
        "is_applicant": applicant,
        "can_edit": applicant and application.is_editable,
        "can_submit": applicant and application.is_editable,
        "can_withdraw": applicant and application.is_open,
        "attachments": list(application.attachments.all()),
        "co_applicants": list(application.co_applicants.select_related("user")),
        "revisions": list(application.revisions.all()[:20]),
        "timeline": _applicant_timeline(application) if not staff else [],
        "project": Project.objects.filter(application=application).first(),
    }
    if staff:
        assignments = list(
            application.assignments.select_related("reviewer")
            .prefetch_related("scores__criterion")
            .order_by("id")
        )
        context.update(
            assignments=assignments,
            can_act=is_operator(request.user),
            transitions=[
                t
                for t in application.available_transitions(OPERATOR)
                if t.name in ("start_screening", "start_review", "close_review")
            ],
            can_request_information=application.status == ApplicationStatus.SCREENING,
            can_assign=application.status in (ApplicationStatus.SCREENING, ApplicationStatus.IN_REVIEW),
            can_decide=application.status in (ApplicationStatus.REVIEW_CLOSED, ApplicationStatus.WAITLISTED),
            assign_form=AssignForm(reviewers=_eligible_reviewers(application)),
            information_form=MessageForm(),
            history=AuditEvent.objects.filter(
                target_type__app_label="projects",
                target_type__model="application",
                target_id=str(application.pk),
            ).order_by("-id")[:HISTORY_SHOWN],
        )
    return render(request, "projects/application_detail.html", context)


def _applicant_timeline(application: Application) -> list[tuple]:
    """The application's steps in the applicant's words, without who made them."""
    events = AuditEvent.objects.filter(
        target_type__app_label="projects", target_type__model="application", target_id=str(application.pk)
    ).order_by("id")[:100]
    result = []
    for event in events:
        name = event.action.split(".", 1)[-1]
        if name in TRANSITIONS:
            result.append((event.created_at, TRANSITIONS[name].applicant_label))
    return result


def _eligible_reviewers(application: Application):
    return (
        services.reviewers()
        .exclude(memberships__organisation_id=application.organisation_id)
        .exclude(review_assignments__application=application)
        .order_by("name", "email")
    )


@login_required
def application_edit(request, pk: int):
    application = _applicant_application(request, pk)
    if not services.is_applicant(application, request.user):
        raise PermissionDenied(_("Only the applicants may change this application."))
    if not application.is_editable:
        messages.info(request, _("This application cannot be edited now."))
        return redirect(application)
    form = ApplicationForm(request.POST or None, instance=application)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_application(
                application, by=request.user, **{k: form.cleaned_data[k] for k in Application.CONTENT_FIELDS}
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved."))
            return redirect(application)
    return render(
        request,
        "projects/application_form.html",
        {
            "call": application.call,
            "form": form,
            "application": application,
            "attachments": list(application.attachments.all()),
            "attachment_form": AttachmentForm(),
            "co_applicant_form": CoApplicantForm(),
            "co_applicants": list(application.co_applicants.select_related("user")),
        },
    )


@login_required
@require_POST
def application_autosave(request, pk: int):
    """htmx: save the draft as the applicant types; answers the "Saved at …" status."""
    application = _applicant_application(request, pk)
    form = ApplicationForm(request.POST, instance=application)
    error = ""
    if form.is_valid():
        try:
            application = services.update_application(
                application, by=request.user, **{k: form.cleaned_data[k] for k in Application.CONTENT_FIELDS}
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except DomainError as exc:
            error = str(exc)
    else:
        error = " ".join(str(m) for errors in form.errors.values() for m in errors)
    return render(
        request,
        "projects/partials/autosave_status.html",
        {"saved_at": application.updated_at, "error": error},
    )


def _act(request, application, call, success: str):
    try:
        call()
    except (ValidationError, DomainError) as error:
        _show_error(request, error)
    else:
        messages.success(request, success)
    return redirect(application)


@login_required
@require_POST
def application_submit(request, pk: int):
    application = _applicant_application(request, pk)
    return _act(
        request,
        application,
        lambda: services.submit_application(application, by=request.user),
        _("The application is submitted. The center will screen it; you will be told by email of each step."),
    )


@login_required
@require_POST
def application_withdraw(request, pk: int):
    application = _applicant_application(request, pk)
    return _act(
        request,
        application,
        lambda: services.withdraw_application(application, by=request.user),
        _("The application is withdrawn."),
    )


@login_required
@require_POST
def application_invite(request, pk: int):
    application = _applicant_application(request, pk)
    form = CoApplicantForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a valid email address."))
        return redirect("projects:application_edit", application.pk)
    try:
        services.invite_co_applicant(application, by=request.user, email=form.cleaned_data["email"])
    except (ValidationError, DomainError) as error:
        _show_error(request, error)
    else:
        messages.success(request, _("The co-applicant is added and told by email."))
    return redirect("projects:application_edit", application.pk)


@login_required
@require_POST
def attachment_upload(request, pk: int):
    application = _applicant_application(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a PDF file to upload."))
    else:
        try:
            services.add_attachment(application, by=request.user, upload=form.cleaned_data["file"])
        except (ValidationError, DomainError) as error:
            _show_error(request, error)
        else:
            messages.success(request, _("The attachment is uploaded."))
    return redirect("projects:application_edit", application.pk)


@login_required
@require_POST
def attachment_delete(request, pk: int):
    attachment = get_object_or_404(
        Attachment.objects.filter(application__in=Application.objects.for_user(request.user)), pk=pk
    )
    try:
        services.remove_attachment(attachment, by=request.user)
    except (ValidationError, DomainError) as error:
        _show_error(request, error)
    else:
        messages.success(request, _("The attachment is removed."))
    return redirect("projects:application_edit", attachment.application_id)


def _file_response(field, name: str):
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=name, content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def attachment_download(request, pk: int):
    """Only applicants, staff and the application's assigned reviewers; always as a download."""
    visible = Application.objects.for_user(request.user) | Application.objects.assigned_to(request.user)
    attachment = get_object_or_404(Attachment.objects.filter(application__in=visible), pk=pk)
    return _file_response(attachment.file, attachment.original_name)


# --- operators --------------------------------------------------------------------------------------


@login_required
def operator_applications(request):
    _require_staff(request)
    applications = (
        Application.objects.submitted()
        .select_related("call", "organisation")
        .order_by("-submitted_at", "-id")
    )
    status = request.GET.get("status", "")
    if status in ApplicationStatus.values:
        applications = applications.filter(status=status)
    else:
        status = ""
    calls = list(Call.objects.select_related("programme").order_by("-opens_at")[:50])
    call_id = request.GET.get("call", "")
    if call_id.isdigit():
        applications = applications.filter(call_id=int(call_id))
    return render(
        request,
        "projects/operator_applications.html",
        {
            "page": paginate(request, applications),
            "status": status,
            "statuses": [(s.value, s.label) for s in ApplicationStatus if s != ApplicationStatus.DRAFT],
            "calls": calls,
            "call_id": call_id,
        },
    )


@login_required
@require_POST
def application_transition(request, pk: int):
    _require_operator(request)
    application = get_object_or_404(Application, pk=pk)
    name = request.POST.get("transition", "")
    actions = {
        "start_screening": services.start_screening,
        "start_review": services.start_review,
        "close_review": services.close_review,
    }
    if name not in actions:
        messages.error(request, _("Unknown action."))
        return redirect(application)
    return _act(request, application, lambda: actions[name](application, by=request.user), _("Done."))


@login_required
@require_POST
def application_request_information(request, pk: int):
    _require_operator(request)
    application = get_object_or_404(Application, pk=pk)
    form = MessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say what information the applicant should add."))
        return redirect(application)
    return _act(
        request,
        application,
        lambda: services.request_information(
            application, by=request.user, message=form.cleaned_data["message"]
        ),
        _("The applicants are asked for more information by email."),
    )


@login_required
@require_POST
def application_assign(request, pk: int):
    _require_operator(request)
    application = get_object_or_404(Application, pk=pk)
    form = AssignForm(request.POST, reviewers=services.reviewers())
    if not form.is_valid():
        messages.error(request, _("Choose a reviewer from the list."))
        return redirect(application)
    return _act(
        request,
        application,
        lambda: services.assign_reviewer(application, form.cleaned_data["reviewer"], by=request.user),
        _("The reviewer is assigned and told by email."),
    )


@login_required
def application_decide(request, pk: int):
    _require_operator(request)
    application = get_object_or_404(
        Application.objects.select_related("call__programme", "organisation"), pk=pk
    )
    decision = request.POST.get("decision") or request.GET.get("decision") or ApplicationStatus.ACCEPTED
    defaults = {d: services.default_determination(application, d) for d in services.DEFAULT_DETERMINATIONS}
    if request.method == "POST":
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                services.decide_application(
                    application,
                    by=request.user,
                    decision=form.cleaned_data["decision"],
                    message=form.cleaned_data["message"],
                )
            except (ValidationError, DomainError) as error:
                form.add_error(None, " ".join(getattr(error, "messages", [str(error)])))
            else:
                messages.success(request, _("The decision is recorded and sent to the applicants."))
                return redirect(application)
    else:
        form = DecisionForm(initial={"decision": decision, "message": defaults.get(decision, "")})
    return render(
        request,
        "projects/application_decide.html",
        {"application": application, "form": form, "defaults": defaults},
    )


@login_required
def call_ranking(request, pk: int):
    _require_staff(request)
    call = get_object_or_404(Call.objects.select_related("programme"), pk=pk)
    if request.GET.get("format") == "csv":
        return _ranking_csv(call)
    page = paginate(request, services.ranking_queryset(call))
    rows = [services.ranking_row(a) for a in page.object_list]
    return render(
        request,
        "projects/call_ranking.html",
        {
            "call": call,
            "page": page,
            "rows": rows,
            "first_rank": (page.number - 1) * PAGE_SIZE,
            "auto_form": AutoAssignForm(),
            "can_act": is_operator(request.user),
        },
    )


def _ranking_csv(call: Call) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ranking-call-{call.pk}.csv"'
    response.write("\ufeff")  # so spreadsheet programs read the Chinese names as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        [
            "rank",
            "application",
            "title",
            "organisation",
            "status",
            "average",
            "spread",
            "lowest",
            "highest",
            "reviews",
            "assigned",
            "yes",
            "maybe",
            "no",
        ]
    )
    rows = (services.ranking_row(a) for a in services.ranking_queryset(call).iterator(chunk_size=500))
    for rank, row in enumerate(rows, start=1):
        writer.writerow(
            [
                rank,
                row.application.pk,
                _csv_safe(row.application.title),
                _csv_safe(row.application.organisation.name_zh),
                row.application.status,
                row.average if row.average is not None else "",
                row.spread if row.spread is not None else "",
                row.lowest if row.lowest is not None else "",
                row.highest if row.highest is not None else "",
                row.reviews,
                row.assigned,
                row.yes,
                row.maybe,
                row.no,
            ]
        )
    return response


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; a quote keeps them text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
@require_POST
def call_auto_assign(request, pk: int):
    _require_operator(request)
    call = get_object_or_404(Call, pk=pk)
    form = AutoAssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Ask for between 1 and 10 reviewers per application."))
    else:
        try:
            made = services.auto_assign_reviewers(
                call, by=request.user, per_application=form.cleaned_data["per_application"]
            )
        except (ValidationError, DomainError) as error:
            _show_error(request, error)
        else:
            messages.success(
                request,
                ngettext("%(n)s reviewer assignment made.", "%(n)s reviewer assignments made.", made)
                % {"n": made},
            )
    return redirect("projects:call_ranking", call.pk)


# --- reviewers --------------------------------------------------------------------------------------


@login_required
def review_list(request):
    _require_reviewer(request)
    assignments = (
        ReviewAssignment.objects.for_reviewer(request.user)
        .select_related("application__call")
        .order_by("status", "-id")
    )
    return render(request, "projects/review_list.html", {"page": paginate(request, assignments)})


def _my_assignment(request, pk: int) -> ReviewAssignment:
    return get_object_or_404(
        ReviewAssignment.objects.for_reviewer(request.user).select_related(
            "application__call__programme", "application__organisation"
        ),
        pk=pk,
    )


def _review_form(assignment, data=None):
    from projects.forms import ReviewForm

    criteria = list(assignment.application.call.programme.criteria.all())
    initial = {"recommendation": assignment.recommendation, "comments": assignment.comments}
    for score in assignment.scores.all():
        initial[f"score_{score.criterion_id}"] = "na" if score.score is None else str(score.score)
    return ReviewForm(data, criteria=criteria, initial=initial)


@login_required
def review_form(request, pk: int):
    assignment = _my_assignment(request, pk)
    form = _review_form(assignment, request.POST or None)
    if request.method == "POST" and form.is_valid():
        submit = "submit" in request.POST
        try:
            services.save_review(
                assignment,
                by=request.user,
                scores=form.scores(),
                recommendation=form.cleaned_data["recommendation"],
                comments=form.cleaned_data["comments"],
                submit=submit,
            )
        except ValidationError as error:
            _apply_errors(form, _scores_to_fields(error))
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Your review is submitted. Thank you.") if submit else _("Draft saved.")
            )
            return redirect("projects:review_form", assignment.pk)
    application = assignment.application
    return render(
        request,
        "projects/review_form.html",
        {
            "assignment": assignment,
            "application": application,
            "form": form,
            "decline_form": DeclineForm(),
            "attachments": list(application.attachments.all()),
            "can_score": assignment.is_open and application.status == ApplicationStatus.IN_REVIEW,
        },
    )


def _scores_to_fields(error: ValidationError) -> ValidationError:
    if hasattr(error, "error_dict") and "scores" in error.error_dict:
        data = dict(error.message_dict)
        data[NON_FIELD_ERRORS] = data.pop("scores")
        return ValidationError(data)
    return error


@login_required
@require_POST
def review_autosave(request, pk: int):
    assignment = _my_assignment(request, pk)
    form = _review_form(assignment, request.POST)
    error = ""
    if form.is_valid():
        try:
            assignment = services.save_review(
                assignment,
                by=request.user,
                scores=form.scores(),
                recommendation=form.cleaned_data["recommendation"],
                comments=form.cleaned_data["comments"],
            )
        except (ValidationError, DomainError) as exc:
            error = " ".join(getattr(exc, "messages", [str(exc)]))
    else:
        error = _("Check the form.")
    return render(
        request, "projects/partials/autosave_status.html", {"saved_at": assignment.saved_at, "error": error}
    )


@login_required
@require_POST
def review_decline(request, pk: int):
    assignment = _my_assignment(request, pk)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Describe the conflict of interest."))
        return redirect("projects:review_form", assignment.pk)
    try:
        services.decline_assignment(assignment, by=request.user, conflict=form.cleaned_data["conflict"])
    except DomainError as error:
        _show_error(request, error)
        return redirect("projects:review_form", assignment.pk)
    messages.success(request, _("You declined this review; the operators will assign someone else."))
    return redirect("projects:review_list")


# --- incubated projects -----------------------------------------------------------------------------


@login_required
def project_list(request):
    projects = (
        Project.objects.for_user(request.user).select_related("organisation", "programme").order_by("-id")
    )
    status = request.GET.get("status", "")
    if status in ProjectStatus.values:
        projects = projects.filter(status=status)
    else:
        status = ""
    return render(
        request,
        "projects/project_list.html",
        {"page": paginate(request, projects), "status": status, "statuses": ProjectStatus.choices},
    )


def _project(request, pk: int) -> Project:
    return get_object_or_404(
        Project.objects.for_user(request.user).select_related("organisation", "programme", "application"),
        pk=pk,
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
        and Membership.objects.filter(
            organisation_id=project.organisation_id, user=request.user, role__in=MembershipRole.managing()
        ).exists(),
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
        "is_ended": project.status in (ProjectStatus.GRADUATED, ProjectStatus.TERMINATED),
    }
    if operator:
        context["status_form"] = ProjectStatusForm(
            initial={"status": next(iter(Project.TRANSITIONS.get(project.status, [])), "")}
        )
        context["status_choices"] = sorted(Project.TRANSITIONS.get(project.status, []))
        candidates = (
            User.objects.filter(groups__name__in=[SiteRole.REVIEWER, SiteRole.MENTOR], is_active=True)
            .exclude(memberships__organisation_id=project.organisation_id)
            .exclude(pk__in=[m.pk for m in mentors])
            .distinct()
            .order_by("name", "email")
        )
        context["mentor_form"] = MentorForm(mentors=candidates)
    return render(request, "projects/project_detail.html", context)


def _project_action(request, project, call, success):
    try:
        call()
    except ValidationError as error:
        _show_error(request, error)
    except DomainError as error:
        _show_error(request, error)
    else:
        messages.success(request, success)
    return redirect(project)


@login_required
@require_POST
def project_status(request, pk: int):
    _require_operator(request)
    project = _project(request, pk)
    form = ProjectStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a project status."))
        return redirect(project)
    return _project_action(
        request,
        project,
        lambda: services.set_project_status(
            project, form.cleaned_data["status"], by=request.user, reason=form.cleaned_data["reason"]
        ),
        _("The project's status is changed."),
    )


@login_required
@require_POST
def project_mentor(request, pk: int):
    _require_operator(request)
    project = _project(request, pk)
    value = request.POST.get("mentor", "")
    mentor = User.objects.filter(pk=int(value)).first() if value.isdigit() and len(value) < 12 else None
    if mentor is None:
        messages.error(request, _("Choose a mentor from the list."))
        return redirect(project)
    if request.POST.get("remove"):
        return _project_action(
            request,
            project,
            lambda: services.remove_mentor(project, mentor, by=request.user),
            _("The mentor is removed."),
        )
    return _project_action(
        request,
        project,
        lambda: services.add_mentor(project, mentor, by=request.user),
        _("The mentor is added."),
    )


@login_required
@require_POST
def milestone_create(request, pk: int):
    project = _project(request, pk)
    form = MilestoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the milestone a title, a due date and a deliverable."))
        return redirect(project)
    return _project_action(
        request,
        project,
        lambda: services.add_milestone(project, by=request.user, **form.cleaned_data),
        _("The milestone is planned."),
    )


def _milestone(request, pk: int) -> Milestone:
    return get_object_or_404(
        Milestone.objects.filter(project__in=Project.objects.for_user(request.user)).select_related(
            "project"
        ),
        pk=pk,
    )


@login_required
@require_POST
def milestone_submit(request, pk: int):
    milestone = _milestone(request, pk)
    form = MilestoneSubmitForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Check the evidence and the note."))
        return redirect(milestone.project)
    return _project_action(
        request,
        milestone.project,
        lambda: services.submit_milestone(
            milestone, by=request.user, evidence=form.cleaned_data["evidence"], note=form.cleaned_data["note"]
        ),
        _("The milestone is submitted to the mentors."),
    )


@login_required
@require_POST
def milestone_review(request, pk: int):
    milestone = _milestone(request, pk)
    form = MilestoneReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose accept or request changes."))
        return redirect(milestone.project)
    return _project_action(
        request,
        milestone.project,
        lambda: services.review_milestone(
            milestone,
            by=request.user,
            accept=form.cleaned_data["accept"],
            feedback=form.cleaned_data["feedback"],
        ),
        _("The milestone is reviewed and the team told."),
    )


@login_required
@require_GET
def milestone_evidence(request, pk: int):
    milestone = _milestone(request, pk)
    if not milestone.evidence:
        raise Http404
    return _file_response(milestone.evidence, milestone.evidence_name or "evidence.pdf")


@login_required
@require_POST
def report_create(request, pk: int):
    project = _project(request, pk)
    form = ProgressReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the period and the progress."))
        return redirect(project)
    return _project_action(
        request,
        project,
        lambda: services.submit_progress_report(project, by=request.user, **form.cleaned_data),
        _("The progress report is filed."),
    )


@login_required
@require_POST
def project_showcase(request, pk: int):
    project = _project(request, pk)
    form = ShowcaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the public summary."))
        return redirect(project)
    return _project_action(
        request,
        project,
        lambda: services.set_showcase(
            project,
            by=request.user,
            consent=form.cleaned_data["consent"],
            summary=form.cleaned_data["summary"],
        ),
        _("Your showcase choice is saved."),
    )
