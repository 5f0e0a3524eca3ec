"""Pages of quota requests for the organisations: list, form with its live estimate, detail, submit, withdraw.

Objects of other organisations are found through ``for_user`` querysets, so they are 404 here.
"""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import access
from accounts.models import Membership, Organisation, User
from compute import kept
from compute.forms import MemberFormSet, QuotaRequestForm
from compute.models import Allocation, AllocationStatus, Partition, QuotaRequest, RequestKind, RequestStatus
from compute.services import capacity
from compute.services import requests as request_services
from compute.views.common import PERIOD_AND_PLACE_FIELDS, history, perform, standing
from core import pagecache, rows
from core.exceptions import DomainError
from core.pagination import paginate
from core.roles import is_operator, sees_all_organisations
from core.web import apply_errors, parse_id
from projects.models import INCUBATING_STATUSES, Project

MEMBERS_PREFIX = "members"
EMPTY_MEMBER_ROWS = 2


@login_required
def request_list(request):
    requests = (
        QuotaRequest.objects.for_user(request.user)
        .select_related("organisation", "partition")
        # What the rows show, no more: building fewer fields is most of a long page's database cost.
        .only(*LIST_FIELDS)
        .order_by("-id")
    )
    status = request.GET.get("status", "")
    if status in RequestStatus.values:
        requests = requests.filter(status=status)
    else:
        status = ""
    page = SimpleLazyObject(lambda: paginate(request, requests))
    sees_all = sees_all_organisations(request.user)
    # Staff who see all see the same page, kept while no request changes (compute/kept.py); anyone else their
    # own, also while what they may see is unchanged.
    body_key = kept.REQUESTS.body_key(request) if sees_all else kept.REQUESTS.personal_body_key(request)
    return render(
        request,
        "compute/request_list.html",
        {
            "page": page,
            "rows": SimpleLazyObject(lambda: _request_rows(page.object_list)),
            "status": status,
            "statuses": RequestStatus.choices,
            "sees_all": sees_all,
            # The button above the kept body follows the same key: the person's memberships start their
            # generation anew, an organisation's verification the requests' (REQUESTS follows Organisation).
            "can_request": SimpleLazyObject(
                lambda: pagecache.kept_value(
                    f"{body_key}:can-request",
                    lambda: Organisation.objects.managed_by(request.user).verified().exists(),
                )
            ),
            "body_key": body_key,
        },
    )


LIST_FIELDS = ("kind", "purpose", "status", "amount", *PERIOD_AND_PLACE_FIELDS)


def _request_rows(requests) -> list[dict]:
    """Each request of the page as the strings its row shows (core.rows: the template only prints them)."""
    url_of = rows.UrlOf("compute:request_detail")
    built = []
    for qr in requests:
        built.append(
            {
                "url": url_of(qr.pk),
                "name": f"#{qr.pk} · {qr.get_kind_display()}",
                "purpose": Truncator(qr.purpose).chars(60),
                "organisation": qr.organisation.display_name,
                "partition": qr.partition.display_name,
                "amount": f"{rows.amount(qr.amount)} {qr.partition.get_unit_display()}"
                if qr.kind in (RequestKind.NEW, RequestKind.INCREASE)
                else "—",
                "period": f"{rows.day(qr.start_date)} – {rows.day(qr.end_date)}",
                "badge": rows.status_badge(qr.status),
                "status": qr.get_status_display(),
            }
        )
    return built


def _member_formset(request, *, people, initial: list[dict], adding: bool):
    """The rows "person"; "Add a person" re-shows the rows chosen so far plus one."""
    if request.method == "POST" and adding:
        try:
            total = max(0, min(int(request.POST.get(f"{MEMBERS_PREFIX}-TOTAL_FORMS")), 49))
        except (TypeError, ValueError):
            total = 0
        initial = [{"user": request.POST.get(f"{MEMBERS_PREFIX}-{i}-user", "")} for i in range(total)] + [{}]
        return MemberFormSet(prefix=MEMBERS_PREFIX, initial=initial, form_kwargs={"people": people})
    data = request.POST if request.method == "POST" else None
    return MemberFormSet(data, prefix=MEMBERS_PREFIX, initial=initial, form_kwargs={"people": people})


def _prefill(request, today: date) -> dict:
    """Initial values, from ``?kind=...&allocation=...`` links on an allocation's page."""
    initial = {"kind": RequestKind.NEW, "start_date": today, "end_date": today + timedelta(days=90)}
    kind = request.GET.get("kind", "")
    if kind in RequestKind.values:
        initial["kind"] = kind
    allocation = (
        Allocation.objects.managed_by(request.user)
        .exclude(status=AllocationStatus.CLOSED)
        .filter(pk=parse_id(request.GET.get("allocation")))
        .first()
    )
    if allocation is not None and initial["kind"] != RequestKind.NEW:
        initial.update(
            organisation=allocation.organisation_id,
            allocation=allocation.pk,
            partition=allocation.partition_id,
            start_date=max(today, allocation.start_date),
            end_date=allocation.end_date if allocation.end_date > today else today + timedelta(days=30),
        )
        if initial["kind"] == RequestKind.EXTENSION:
            initial["start_date"] = max(today, allocation.end_date)
            initial["end_date"] = allocation.end_date + timedelta(days=90)
        elif initial["kind"] == RequestKind.EARLY_CLOSE:
            initial["start_date"] = today
    else:
        first = Organisation.objects.managed_by(request.user).verified().order_by("name_zh").first()
        initial["organisation"] = first.pk if first else None
        project = _prefill_project(request)
        if project is not None:
            # ``?project=<id>``: a request for an incubated project (linked from the project's page).
            initial.update(
                organisation=project.organisation_id, project=project.pk, purpose=project.title[:200]
            )
    return initial


def _prefill_project(request):
    return (
        Project.objects.filter(
            organisation__in=Organisation.objects.managed_by(request.user).verified(),
            status__in=INCUBATING_STATUSES,
            pk=parse_id(request.GET.get("project")),
        )
        .only("pk", "organisation_id", "title")
        .first()
    )


@login_required
def request_create(request):
    organisations = Organisation.objects.managed_by(request.user).verified()
    if not organisations.exists():
        memberships = Membership.objects.filter(user=request.user).select_related("organisation")
        return render(
            request, "compute/request_form.html", {"no_organisation": True, "memberships": memberships}
        )

    def save(form, members):
        data = form.cleaned_data
        kind = data["kind"]
        quota_request = request_services.create_quota_request(
            data["organisation"],
            by=request.user,
            partition=data["partition"],
            kind=kind,
            amount=form.service_amount(),
            start_date=data["start_date"],
            end_date=data["end_date"],
            purpose=data["purpose"],
            justification=data["justification"],
            # An early close gives nobody access; the other kinds bring the people they name.
            members=_member_access(members) if kind != RequestKind.EARLY_CLOSE else [],
            allocation=data.get("allocation"),
            project=data.get("project"),
        )
        message = _("Request #%(id)s is saved as a draft. Check it, then submit it to the operators.")
        return quota_request, message % {"id": quota_request.pk}

    people = (
        User.objects.filter(memberships__organisation__in=organisations).distinct().order_by("name", "email")
    )
    initial = _prefill(request, timezone.localdate())
    # A new allocation starts with the person filing it; a change to one names only who should be added.
    first_row = {"user": request.user.pk} if initial.get("kind", RequestKind.NEW) == RequestKind.NEW else {}
    return _request_form_page(
        request,
        initial=initial,
        people=people,
        member_rows=[first_row] + [{}] * EMPTY_MEMBER_ROWS,
        save=save,
    )


def _member_access(members) -> list[request_services.MemberAccess]:
    return [request_services.MemberAccess(user) for user in members.members()]


def _request_form_page(request, *, initial, people, member_rows, save, quota_request=None, **form_kwargs):
    """The request form (new or edited) with its cluster-user rows; ``save(form, members)`` files it and
    returns the request and the message to show. "Add a person" re-shows the form with one more row."""
    adding = "add_member" in request.POST
    posted = request.method == "POST"
    form_kwargs.update(user=request.user, estimate_url=reverse("compute:request_estimate"))
    if posted and adding:
        form = QuotaRequestForm(initial=request.POST.dict(), **form_kwargs)
    else:
        form = QuotaRequestForm(request.POST if posted else None, initial=initial, **form_kwargs)
    members = _member_formset(request, people=people, initial=member_rows, adding=adding)
    member_errors: list[str] = []
    if posted and not adding and all([form.is_valid(), members.is_valid()]):
        try:
            saved, message = save(form, members)
        except ValidationError as error:
            member_errors = apply_errors(form, error, elsewhere=(MEMBERS_PREFIX,)).get(MEMBERS_PREFIX, [])
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, message)
            return redirect(saved)
    context = {
        "form": form,
        "members": members,
        "member_errors": member_errors,
        "estimate": _estimate_for(form),
    }
    if quota_request is not None:
        context["qr"] = quota_request
    return render(request, "compute/request_form.html", context)


def _estimate_for(form) -> dict | None:
    """The estimate shown when the form is first drawn (later ones come from ``request_estimate``)."""
    values = {name: form[name].value() for name in ("partition", "amount", "start_date", "end_date")}
    return _estimate(values)


def _estimate(values) -> dict | None:
    partition_id = parse_id(values.get("partition"))
    partition = Partition.objects.filter(pk=partition_id).first() if partition_id else None
    if partition is None:
        return None
    start, end = _parse_date(values.get("start_date")), _parse_date(values.get("end_date"))
    try:
        amount = Decimal(str(values.get("amount") or "0"))
    except InvalidOperation:
        amount = Decimal("0")
    if not amount.is_finite() or amount.copy_abs() >= Decimal("1e12"):
        amount = Decimal("0")
    result = request_services.estimate(partition, amount, start, end)
    result.update(
        partition=partition,
        amount=amount,
        exceeds=result["left"] is not None and amount > result["left"],
        period_given=bool(start and end),
    )
    return result


def _parse_date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        return None


@login_required
@require_GET
def request_estimate(request):
    """htmx: the cost and the capacity left for what is typed in the request form so far.

    Opened directly (no htmx), it is a small calculator page of its own.
    """
    context = {"estimate": _estimate(request.GET)}
    if request.htmx:
        return render(request, "compute/partials/estimate.html", context)
    context.update(
        partitions=Partition.objects.filter(is_active=True).order_by("slug"),
        values={
            name: request.GET.get(name, "") for name in ("partition", "amount", "start_date", "end_date")
        },
    )
    return render(request, "compute/request_estimate.html", context)


def visible_request(request, pk) -> QuotaRequest:
    return get_object_or_404(
        QuotaRequest.objects.for_user(request.user).select_related(
            "organisation", "partition", "allocation", "created_by", "decided_by", "project"
        ),
        pk=pk,
    )


@login_required
def request_detail(request, pk):
    quota_request = visible_request(request, pk)
    can_manage, staff = standing(request, quota_request.organisation_id)
    moves = quota_request.allowed_moves
    context = {
        "qr": quota_request,
        "members": quota_request.members.select_related("user").order_by("cluster_username"),
        "created_allocation": Allocation.objects.filter(request=quota_request).first(),
        "can_manage": can_manage,
        "can_edit": can_manage and quota_request.is_editable,
        "can_submit": can_manage and RequestStatus.SUBMITTED in moves,
        "can_withdraw": can_manage and RequestStatus.WITHDRAWN in moves,
        "can_decide": is_operator(request.user) and quota_request.status == RequestStatus.SUBMITTED,
        "is_staff": staff,
        "history": history(quota_request, shown=can_manage or staff),
        "grants_amount": quota_request.kind in (RequestKind.NEW, RequestKind.INCREASE),
    }
    if staff:
        context.update(
            usage_summary=capacity.organisation_usage_summary(quota_request.organisation),
            earlier_requests=QuotaRequest.objects.filter(organisation=quota_request.organisation)
            .exclude(pk=quota_request.pk)
            .select_related("partition")
            .order_by("-id")[:10],
            capacity_left=capacity.capacity_left(
                quota_request.partition, quota_request.start_date, quota_request.end_date
            ),
        )
    return render(request, "compute/request_detail.html", context)


@login_required
def request_edit(request, pk):
    quota_request = visible_request(request, pk)
    access.require_manager(quota_request.organisation_id, request.user)
    if not quota_request.is_editable:
        messages.error(request, _("Only drafts and requests sent back for changes can be edited."))
        return redirect(quota_request)

    def save(form, members):
        data = form.cleaned_data
        request_services.update_quota_request(
            quota_request,
            by=request.user,
            members=_member_access(members) if quota_request.kind != RequestKind.EARLY_CLOSE else None,
            partition=data["partition"],
            amount=form.service_amount(),
            start_date=data["start_date"],
            end_date=data["end_date"],
            purpose=data["purpose"].strip(),
            justification=data["justification"].strip(),
            project=data.get("project"),
        )
        return quota_request, _("Your changes are saved.")

    people = User.objects.filter(memberships__organisation=quota_request.organisation).order_by(
        "name", "email"
    )
    current = [{"user": m.user_id} for m in quota_request.members.order_by("cluster_username")]
    return _request_form_page(
        request,
        initial={
            "partition": quota_request.partition_id,
            "amount": quota_request.amount
            if quota_request.kind in (RequestKind.NEW, RequestKind.INCREASE)
            else None,
            "start_date": quota_request.start_date,
            "end_date": quota_request.end_date,
            "purpose": quota_request.purpose,
            "justification": quota_request.justification,
            "project": quota_request.project_id,
        },
        people=people,
        member_rows=current + [{}],
        save=save,
        quota_request=quota_request,
        editing_kind=quota_request.kind,
    )


def _request_step(service, success: str, *, failure: str | None = None):
    """The page of one step of the organisation's own (submit, withdraw): POST, then back to the request."""

    @login_required
    @require_POST
    def view(request, pk):
        quota_request = visible_request(request, pk)
        access.require_manager(quota_request.organisation_id, request.user)
        perform(request, lambda: service(quota_request, by=request.user), success, failure=failure)
        return redirect(quota_request)

    return view


request_submit = _request_step(
    request_services.submit_quota_request,
    gettext_lazy("Submitted. The operators will decide it; you will get an email with their decision."),
    failure=gettext_lazy("The request was not submitted:"),
)
request_withdraw = _request_step(
    request_services.withdraw_quota_request, gettext_lazy("The request is withdrawn.")
)
