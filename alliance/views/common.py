"""What the alliance's pages share: whose organisations a person acts for, and one way to decide a request."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from accounts.models import Organisation
from alliance.forms import DecisionForm
from alliance.models import AllianceMembership
from core.exceptions import DomainError, NotAllowed
from core.roles import sees_all_organisations
from core.web import apply_errors, show_error


def require_staff(request) -> None:
    if not sees_all_organisations(request.user):
        raise NotAllowed(_("This page is for the center's operators and supervisors."))


def managed_organisations(user):
    return Organisation.objects.managed_by(user).order_by("name_zh")


def member_organisations(user):
    """The organisations the person manages that are current alliance members."""
    return managed_organisations(user).filter(
        pk__in=AllianceMembership.objects.current().values("organisation")
    )


def filtered_by(request, queryset, field: str, choices):
    """``queryset`` narrowed to the query parameter ``field`` when it is one of ``choices``, and the value given."""
    value = request.GET.get(field, "")
    return (queryset.filter(**{field: value}) if value in choices else queryset), value


def attempt(request, action, success: str) -> bool:
    """Run ``action()``: the success message, or the refusal's messages on the next page."""
    try:
        action()
    except (ValidationError, DomainError) as error:
        show_error(request, error)
        return False
    messages.success(request, success)
    return True


def decide(request, obj, *, back: str, approve, reject, approved: str, rejected: str):
    """An operator's approve-or-reject form posted for ``obj``: ``approve(obj, by=...)`` or
    ``reject(obj, by=..., reason=...)``, then back to ``back``."""
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
    elif form.cleaned_data["decision"] == DecisionForm.APPROVE:
        attempt(request, lambda: approve(obj, by=request.user), approved)
    else:
        reason = form.cleaned_data["reason"]
        attempt(request, lambda: reject(obj, by=request.user, reason=reason), rejected)
    return redirect(back)


def submit(form, action) -> tuple[bool, object]:
    """``(True, action())``, or ``(False, None)`` with the refusal's errors put on the form."""
    try:
        return True, action()
    except ValidationError as error:
        apply_errors(form, error)
    except DomainError as error:
        form.add_error(None, str(error))
    return False, None
