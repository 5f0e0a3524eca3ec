"""The applicants' pages: their applications, drafting and submitting, co-applicants and attachments."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Organisation
from core import rows
from core.pagination import paginate
from core.roles import sees_all_organisations
from core.text import bilingual
from projects import kept
from projects.forms import ApplicationForm, AttachmentForm, CoApplicantForm
from projects.models import APPLICANT_STATUS_LABELS, APPLICANT_STEPS, Application, Attachment, Call, Project
from projects.services import applications as services
from projects.services.access import is_applicant
from projects.views.common import act, autosave, file_response, on_form, post_action
from projects.views.operator import application_history, staff_panel

# What a row of "My applications" shows (an application's content fields are long texts): read as plain values and
# made ready strings once, not model instances whose properties the template calls cell by cell.
LIST_FIELDS = (
    "title",
    "status",
    "call__title_zh",
    "call__title_en",
    "organisation__name_zh",
    "organisation__name_en",
)


@login_required
def application_list(request):
    applications = (
        Application.objects.of_applicant(request.user).order_by("-id").values_list("pk", *LIST_FIELDS)
    )

    def rows_page():
        page = paginate(request, applications)
        url_of = rows.UrlOf("projects:application_detail")
        labels = {status: str(label) for status, label in APPLICANT_STATUS_LABELS.items()}
        page.object_list = [
            {
                "url": url_of(pk),
                "title": title,
                "status": status,
                "status_label": labels.get(status, status),
                "call": bilingual(call_zh, call_en),
                "organisation": bilingual(name_zh, name_en),
            }
            for pk, title, status, call_zh, call_en, name_zh, name_en in page.object_list
        ]
        return page

    return render(
        request,
        "projects/application_list.html",
        # Kept for the applicant alone while no application, call or organisation changes and what they may
        # see (memberships, co-applications) is unchanged (projects/kept.py).
        {"page": SimpleLazyObject(rows_page), "body_key": kept.APPLICATIONS.personal_body_key(request)},
    )


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
        fields = {k: data[k] for k in Application.CONTENT_FIELDS if k in data}
        application = on_form(
            form,
            lambda: services.create_application(
                call, by=request.user, organisation=data["organisation"], **fields
            ),
        )
        if application is not None:
            messages.success(request, _("Your draft is saved. Complete it, add attachments, then submit it."))
            return redirect("projects:application_edit", application.pk)
    return render(request, "projects/application_form.html", {"call": call, "form": form})


def _applicant_application(request, pk: int) -> Application:
    return get_object_or_404(
        Application.objects.for_user(request.user).select_related("call__programme", "organisation"), pk=pk
    )


def _edit_url(application_id: int) -> str:
    return reverse("projects:application_edit", args=[application_id])


@login_required
def application_detail(request, pk: int):
    application = _applicant_application(request, pk)
    staff = sees_all_organisations(request.user)
    applicant = is_applicant(application, request.user)
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
        context.update(staff_panel(request, application))
    return render(request, "projects/application_detail.html", context)


def _applicant_timeline(application: Application) -> list[tuple]:
    """The application's steps in the applicant's words, without who made them."""
    events = application_history(application).order_by("id")[:100]
    return [(e.created_at, APPLICANT_STEPS[e.action]) for e in events if e.action in APPLICANT_STEPS]


def _content(data: dict) -> dict:
    return {k: data[k] for k in Application.CONTENT_FIELDS}


@login_required
def application_edit(request, pk: int):
    application = _applicant_application(request, pk)
    if not is_applicant(application, request.user):
        raise PermissionDenied(_("Only the applicants may change this application."))
    if not application.is_editable:
        messages.info(request, _("This application cannot be edited now."))
        return redirect(application)
    form = ApplicationForm(request.POST or None, instance=application)
    if (
        request.method == "POST"
        and form.is_valid()
        and on_form(
            form,
            lambda: services.update_application(application, by=request.user, **_content(form.cleaned_data)),
        )
    ):
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

    def save(data):
        return services.update_application(application, by=request.user, **_content(data)).updated_at

    form = ApplicationForm(request.POST, instance=application)
    return autosave(request, form, save, saved_at=application.updated_at)


application_submit = post_action(
    _applicant_application,
    lambda application, user: services.submit_application(application, by=user),
    gettext_lazy(
        "The application is submitted. The center will screen it; you will be told by email of each step."
    ),
)

application_withdraw = post_action(
    _applicant_application,
    lambda application, user: services.withdraw_application(application, by=user),
    gettext_lazy("The application is withdrawn."),
)

application_invite = post_action(
    _applicant_application,
    lambda application, user, data: services.invite_co_applicant(application, by=user, email=data["email"]),
    gettext_lazy("The co-applicant is added and told by email."),
    form=CoApplicantForm,
    invalid=gettext_lazy("Give a valid email address."),
    back=lambda application: _edit_url(application.pk),
)

attachment_upload = post_action(
    _applicant_application,
    lambda application, user, data: services.add_attachment(application, by=user, upload=data["file"]),
    gettext_lazy("The attachment is uploaded."),
    form=AttachmentForm,
    invalid=gettext_lazy("Choose a PDF file to upload."),
    back=lambda application: _edit_url(application.pk),
)


@login_required
@require_POST
def attachment_delete(request, pk: int):
    attachment = get_object_or_404(
        Attachment.objects.filter(application__in=Application.objects.for_user(request.user)), pk=pk
    )
    return act(
        request,
        None,
        lambda: services.remove_attachment(attachment, by=request.user),
        _("The attachment is removed."),
        to=_edit_url(attachment.application_id),
    )


@login_required
@require_GET
def attachment_download(request, pk: int):
    """Only applicants, staff and the application's assigned reviewers; always as a download."""
    visible = Application.objects.for_user(request.user) | Application.objects.assigned_to(request.user)
    attachment = get_object_or_404(Attachment.objects.filter(application__in=visible), pk=pk)
    return file_response(attachment.file, attachment.original_name)
