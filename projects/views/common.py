"""What the incubation platform's pages share: who may open a page, acting on a POST, files, list filters."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from core.roles import SiteRole, has_site_role, sees_all_organisations
from core.web import apply_errors, show_error


def require_staff(request) -> None:
    if not sees_all_organisations(request.user):
        raise PermissionDenied(_("This page is for the center's operators and supervisors."))


def require_reviewer(request) -> None:
    if not has_site_role(request.user, SiteRole.REVIEWER):
        raise PermissionDenied(_("This page is for the center's expert reviewers."))


def act(request, target, call, success: str, *, to=None):
    """Run ``call`` (a service), say ``success`` or show why it was refused; then go to ``to`` (or ``target``)."""
    try:
        call()
    except (ValidationError, DomainError) as error:
        show_error(request, error)
    else:
        messages.success(request, success)
    return redirect(to or target)


def act_on_form(request, form, target, call, success: str, *, invalid: str, to=None):
    """``act`` with a bound form: ``call(cleaned_data)`` when the form is valid, else the message ``invalid``."""
    if not form.is_valid():
        messages.error(request, invalid)
        return redirect(to or target)
    return act(request, target, lambda: call(form.cleaned_data), success, to=to)


def on_form(form, call, *, errors=None):
    """What ``call`` (a service) returns, or None when it refused: then its refusal goes onto the form
    (``errors`` may reshape a validation error first)."""
    try:
        return call()
    except ValidationError as error:
        apply_errors(form, errors(error) if errors else error)
    except DomainError as error:
        form.add_error(None, str(error))
    return None


def autosave(request, form, save, *, saved_at, invalid: str = ""):
    """htmx: save as the person types (``save(cleaned_data)`` returns when it was saved); answers the
    "Saved at …" status, or why it was not saved."""
    error = ""
    if form.is_valid():
        try:
            saved_at = save(form.cleaned_data)
        except (ValidationError, DomainError) as exc:
            error = " ".join(getattr(exc, "messages", [str(exc)]))
    else:
        error = invalid or " ".join(str(m) for errors in form.errors.values() for m in errors)
    return render(request, "projects/partials/autosave_status.html", {"saved_at": saved_at, "error": error})


def post_action(find, call, success, *, form=None, invalid="", back=None):
    """A page action (POST only) on the object ``find(request, pk)``: with ``form`` (a form class, or a callable
    taking the data and files) bound to the request and valid, ``call(obj, user, cleaned_data)``, else
    ``call(obj, user)``; then back to ``back(obj)`` (or the object) with the outcome or ``invalid`` as a message."""

    @login_required
    @require_POST
    def view(request, pk: int):
        obj = find(request, pk)
        to = back(obj) if back else obj
        if form is None:
            return act(request, to, lambda: call(obj, request.user), success)
        bound = form(request.POST, request.FILES)
        return act_on_form(
            request, bound, to, lambda data: call(obj, request.user, data), success, invalid=invalid
        )

    return view


def filter_by_status(request, queryset, statuses) -> tuple:
    """The list filtered by the ``status`` query parameter when it is one of ``statuses`` (values)."""
    status = request.GET.get("status", "")
    if status in statuses:
        return queryset.filter(status=status), status
    return queryset, ""


def file_response(field, name: str):
    """A stored PDF as a download that no browser runs or caches."""
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=name, content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
