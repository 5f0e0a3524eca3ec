"""The center's pages for applications: the staff list, screening steps, reviewers, decisions and rankings."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.access import require_operator
from core import rows
from core.exceptions import DomainError
from core.models import AuditEvent
from core.pagination import PAGE_SIZE, page_number, paginate
from core.roles import is_operator
from core.web import show_error
from projects import kept
from projects.forms import AssignForm, AutoAssignForm, DecisionForm, MessageForm
from projects.models import OPERATOR, Application, ApplicationStatus, Call
from projects.services import ranking, review, screening
from projects.views.common import act, filter_by_status, on_form, post_action, require_staff

HISTORY_SHOWN = 30
RANKING_COLUMNS = [
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


def application_history(application: Application):
    """The application's audit events (what happened to it, by whom)."""
    return AuditEvent.objects.filter(
        target_type__app_label="projects", target_type__model="application", target_id=str(application.pk)
    )


def _eligible_reviewers(application: Application):
    return (
        review.reviewers()
        .exclude(memberships__organisation_id=application.organisation_id)
        .exclude(review_assignments__application=application)
        .order_by("name", "email")
    )


def staff_panel(request, application: Application) -> dict:
    """What the application's page adds for operators and supervisors: reviews, steps, forms and history."""
    assignments = list(
        application.assignments.select_related("reviewer")
        .prefetch_related("scores__criterion")
        .order_by("id")
    )
    return {
        "assignments": assignments,
        "can_act": is_operator(request.user),
        "transitions": [
            {"name": step}
            for step, target in screening.STEPS.items()
            if application.can_move_as(target, role=OPERATOR)
        ],
        "can_request_information": application.status == ApplicationStatus.SCREENING,
        "can_assign": application.status in (ApplicationStatus.SCREENING, ApplicationStatus.IN_REVIEW),
        "can_decide": application.status in (ApplicationStatus.REVIEW_CLOSED, ApplicationStatus.WAITLISTED),
        "assign_form": AssignForm(people=_eligible_reviewers(application)),
        "information_form": MessageForm(),
        "history": application_history(application).order_by("-id")[:HISTORY_SHOWN],
    }


@login_required
def operator_applications(request):
    require_staff(request)
    applications = (
        Application.objects.submitted()
        .select_related("call", "organisation")
        # What the rows show, no more: building fewer fields is most of a long page's database cost.
        .only(
            "title",
            "status",
            "submitted_at",
            "call__title_zh",
            "call__title_en",
            "organisation__name_zh",
            "organisation__name_en",
        )
        .order_by("-submitted_at", "-id")
    )
    applications, status = filter_by_status(request, applications, ApplicationStatus.values)
    call_id = request.GET.get("call", "")
    if call_id.isdigit():
        applications = applications.filter(call_id=int(call_id))
    page = SimpleLazyObject(lambda: paginate(request, applications))
    return render(
        request,
        "projects/operator_applications.html",
        {
            "page": page,
            "rows": SimpleLazyObject(lambda: _application_rows(page.object_list)),
            "status": status,
            "statuses": [(s.value, s.label) for s in ApplicationStatus if s != ApplicationStatus.DRAFT],
            "calls": SimpleLazyObject(
                lambda: list(Call.objects.select_related("programme").order_by("-opens_at")[:50])
            ),
            "call_id": call_id,
            # The same for every member of staff (all see every application; the page acts on nothing):
            # kept while no application, call or organisation changes (projects/kept.py).
            "body_key": kept.APPLICATIONS.body_key(request),
        },
    )


def _application_rows(applications) -> list[dict]:
    """The page's applications as the strings their rows show (core.rows: the template only prints them)."""
    url_of = rows.UrlOf("projects:application_detail")
    return [
        {
            "pk": application.pk,
            "url": url_of(application.pk),
            "title": application.title,
            "organisation": application.organisation.display_name,
            "call": application.call.title,
            "submitted": rows.day(application.submitted_at, "SHORT_DATE_FORMAT") or "—",
            "badge": rows.project_badge(application.status),
            "status": application.get_status_display(),
        }
        for application in applications
    ]


def _operator_application(request, pk: int, *, queryset=Application.objects) -> Application:
    require_operator(request.user)
    return get_object_or_404(queryset, pk=pk)


@login_required
@require_POST
def application_transition(request, pk: int):
    application = _operator_application(request, pk)
    step = request.POST.get("transition", "")
    if step not in screening.STEPS:
        messages.error(request, _("Unknown action."))
        return redirect(application)
    return act(
        request, application, lambda: screening.operator_step(application, step, by=request.user), _("Done.")
    )


application_request_information = post_action(
    _operator_application,
    lambda application, user, data: screening.request_information(
        application, by=user, message=data["message"]
    ),
    gettext_lazy("The applicants are asked for more information by email."),
    form=MessageForm,
    invalid=gettext_lazy("Say what information the applicant should add."),
)

application_assign = post_action(
    _operator_application,
    lambda application, user, data: review.assign_reviewer(application, data["reviewer"], by=user),
    gettext_lazy("The reviewer is assigned and told by email."),
    form=lambda data, files: AssignForm(data, people=review.reviewers()),
    invalid=gettext_lazy("Choose a reviewer from the list."),
)


@login_required
def application_decide(request, pk: int):
    application = _operator_application(
        request, pk, queryset=Application.objects.select_related("call__programme", "organisation")
    )
    decision = request.POST.get("decision") or request.GET.get("decision") or ApplicationStatus.ACCEPTED
    defaults = {d: screening.default_determination(application, d) for d in screening.DEFAULT_DETERMINATIONS}
    if request.method == "POST":
        form = DecisionForm(request.POST)
        if form.is_valid() and on_form(
            form,
            lambda: screening.decide_application(
                application,
                by=request.user,
                decision=form.cleaned_data["decision"],
                message=form.cleaned_data["message"],
            ),
        ):
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
    require_staff(request)
    call = get_object_or_404(Call.objects.select_related("programme"), pk=pk)
    if request.GET.get("format") == "csv":
        return _ranking_csv(call)
    page = SimpleLazyObject(lambda: paginate(request, ranking.ranking_queryset(call)))
    can_act = is_operator(request.user)
    return render(
        request,
        "projects/call_ranking.html",
        {
            "call": call,
            "page": page,
            "rows": SimpleLazyObject(lambda: [ranking.ranking_row(a) for a in page.object_list]),
            "first_rank": (page_number(request) - 1) * PAGE_SIZE,
            "auto_form": AutoAssignForm(),
            "can_act": can_act,
            # The same for every operator (and, without the form, every supervisor): kept per call while
            # nothing it shows changes (projects/kept.py). The call is in the path, not the query: in the key.
            "body_key": f"{kept.RANKING.body_key(request)}:{call.pk}:{int(can_act)}",
        },
    )


def _ranking_csv(call: Call) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ranking-call-{call.pk}.csv"'
    response.write("\ufeff")  # so spreadsheet programs read the Chinese names as UTF-8
    writer = csv.writer(response)
    writer.writerow(RANKING_COLUMNS)
    rows = (ranking.ranking_row(a) for a in ranking.ranking_queryset(call).iterator(chunk_size=500))
    for rank, row in enumerate(rows, start=1):
        figures = [row.average, row.spread, row.lowest, row.highest]
        writer.writerow(
            [
                rank,
                row.application.pk,
                _csv_safe(row.application.title),
                _csv_safe(row.application.organisation.name_zh),
                row.application.status,
                *("" if value is None else value for value in figures),
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
    require_operator(request.user)
    call = get_object_or_404(Call, pk=pk)

    form = AutoAssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Ask for between 1 and 10 reviewers per application."))
        return redirect("projects:call_ranking", call.pk)
    try:
        made = review.auto_assign_reviewers(
            call, by=request.user, per_application=form.cleaned_data["per_application"]
        )
    except (ValidationError, DomainError) as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            ngettext("%(n)s reviewer assignment made.", "%(n)s reviewer assignments made.", made)
            % {"n": made},
        )
    return redirect("projects:call_ranking", call.pk)
