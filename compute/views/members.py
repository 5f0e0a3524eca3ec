"""The people of an allocation: who may submit jobs under its account. The organisation's managers (and the
operators) add, remove and cap them; everyone who sees the allocation sees who has access, and who had."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from compute import kept
from compute.access import kept_visible_allocation, visible_allocation
from compute.forms import AllocationMemberCapForm, AllocationMemberForm
from compute.models import Allocation, AllocationMember
from compute.services import members as members_services
from compute.views.common import perform
from core.exceptions import DomainError
from core.roles import is_operator, sees_all_organisations
from core.web import apply_errors, parse_id

PAST_SHOWN = 50


def _people_url(allocation: Allocation) -> str:
    return reverse("compute:allocation_people", args=[allocation.pk])


def _addable_people(allocation: Allocation):
    """Active members of the organisation who have no access to the allocation now."""
    return (
        User.objects.filter(memberships__organisation=allocation.organisation, is_active=True)
        .exclude(pk__in=allocation.members.current().filter(user__isnull=False).values("user"))
        .order_by("name", "email")
    )


def _people_page(
    request, allocation: Allocation, form: AllocationMemberForm | None = None, *, body_key: str = ""
):
    """The people page; ``form`` is the add form with a POST's errors. Asked with GET, a manager gets an empty
    one, made (like everything the body shows) only when the body is built, not when it is kept."""
    can_manage = SimpleLazyObject(lambda: members_services.may_manage_people(allocation, request.user))

    def add_form() -> AllocationMemberForm | None:
        shown = form
        if shown is None and can_manage:
            shown = AllocationMemberForm(people=_addable_people(allocation))
        if shown is not None:
            # Choosing a person shows the cluster user name they have, or the one they will get.
            shown.fields["user"].widget.attrs.update(
                {
                    "hx-get": reverse("compute:allocation_member_username", args=[allocation.pk]),
                    "hx-trigger": "change",
                    "hx-target": "#member-username",
                }
            )
        return shown

    return render(
        request,
        "compute/allocation_people.html",
        {
            "allocation": allocation,
            "current": SimpleLazyObject(
                lambda: allocation.members.current().select_related("user").order_by("cluster_username")
            ),
            "past": SimpleLazyObject(
                lambda: (
                    allocation.members.filter(removed_at__isnull=False)
                    .select_related("user")
                    .order_by("-removed_at")[:PAST_SHOWN]
                )
            ),
            "can_manage": can_manage,
            "can_change": SimpleLazyObject(
                lambda: bool(can_manage) and allocation.status not in members_services.ENDED
            ),
            "form": SimpleLazyObject(add_form),
            "body_key": body_key,
        },
    )


@login_required
@require_GET
def allocation_people(request, pk):
    # A kept body needs neither the organisation nor the partition: they are read when the body is made.
    allocation = kept_visible_allocation(request, pk)
    return _people_page(request, allocation, body_key=_people_key(request))


def _people_key(request) -> str:
    """The key of the people page's body (the page with an empty form; one with a form's errors is never kept):
    kept per state of the allocations and of the organisations' members (compute/kept.py), for staff alike,
    operators (who manage the people) apart from supervisors (who read), for anyone else alone."""
    if sees_all_organisations(request.user):
        key = f"{kept.ALLOCATIONS.body_key(request)}:staff:{int(is_operator(request.user))}"
    else:
        key = kept.ALLOCATIONS.personal_body_key(request)
    return f"{key}:{kept.ALLOCATION_PAGES.current()}"


@login_required
@require_GET
def allocation_member_username(request, pk):
    """htmx: the cluster user name of the person just chosen (theirs for ever), or the one they will get."""
    allocation = visible_allocation(request, pk)
    members_services.require_people_manager(allocation, request.user)
    if not request.htmx:
        return redirect("compute:allocation_people", pk=allocation.pk)
    person = _addable_people(allocation).filter(pk=parse_id(request.GET.get("user"))).first()
    existing = members_services.cluster_username_of(person) if person else None
    planned = members_services.planned_username(person) if person and not existing else None
    return render(
        request,
        "compute/partials/member_username.html",
        {"person": person, "existing": existing, "planned": planned},
    )


@login_required
@require_POST
def allocation_member_add(request, pk):
    allocation = visible_allocation(request, pk)
    members_services.require_people_manager(allocation, request.user)
    form = AllocationMemberForm(request.POST, people=_addable_people(allocation))
    if form.is_valid():
        data = form.cleaned_data
        try:
            member = members_services.add_allocation_member(
                allocation,
                by=request.user,
                user=data["user"],
                limit_amount=data["limit_amount"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("%(username)s can submit jobs under %(account)s within a minute; we have emailed them.")
                % {"username": member.cluster_username, "account": allocation.account_name},
            )
            return redirect(_people_url(allocation))
    return _people_page(request, allocation, form)


def _member(allocation: Allocation, member_pk) -> AllocationMember:
    return get_object_or_404(
        AllocationMember.objects.select_related("user"), pk=member_pk, allocation=allocation
    )


@login_required
@require_POST
def allocation_member_remove(request, pk, member_pk):
    allocation = visible_allocation(request, pk)
    members_services.require_people_manager(allocation, request.user)
    member = _member(allocation, member_pk)
    perform(
        request,
        lambda: members_services.remove_allocation_member(member, by=request.user),
        _("%(username)s no longer has access: running jobs finish, new ones are refused.")
        % {"username": member.cluster_username},
    )
    return redirect(_people_url(allocation))


@login_required
@require_POST
def allocation_member_cap(request, pk, member_pk):
    allocation = visible_allocation(request, pk)
    members_services.require_people_manager(allocation, request.user)
    member = _member(allocation, member_pk)
    form = AllocationMemberCapForm(request.POST)
    limit = form.cleaned_data["limit_amount"] if form.is_valid() else ""
    perform(
        request,
        lambda: members_services.cap_allocation_member(member, by=request.user, limit_amount=limit),
        _("The cap of %(username)s is saved.") % {"username": member.cluster_username}
        if limit
        else _("%(username)s has no cap.") % {"username": member.cluster_username},
    )
    return redirect(_people_url(allocation))
