"""Pages of the public compute service: requests, decisions, allocations, usage, capacity and drift.

Views parse input, call one service or QuerySet method and present the result; every rule lives in
``compute.services`` and the models. Objects of other organisations are found through ``for_user``
querysets, so they are 404 here.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership, MembershipRole, Organisation, User
from compute import services, usage
from compute.forms import DecisionForm, MemberFormSet, QuotaRequestForm, ReasonForm
from compute.models import (
    Allocation,
    AllocationMember,
    AllocationStatus,
    Partition,
    QuotaRequest,
    QuotaRequestMember,
    ReconcileRun,
    RequestKind,
    RequestStatus,
)
from core.exceptions import DomainError
from core.models import AuditEvent
from core.pagination import paginate, safe_next
from core.roles import is_operator, sees_all_organisations

MEMBERS_PREFIX = "members"
EMPTY_MEMBER_ROWS = 2
CHART_DAYS = 30
JOBS_SHOWN = 20

# What a reconcile finding means, in words an operator acts on.
FINDING_LABELS = {
    "missing_account": gettext_lazy("Account missing on the cluster"),
    "account_not_removed": gettext_lazy("Closed allocation still has an account"),
    "missing_user": gettext_lazy("Cluster user missing"),
    "unexpected_user": gettext_lazy("Unexpected cluster user"),
    "limit_changed": gettext_lazy("Limit differs"),
    "block_changed": gettext_lazy("Blocking differs"),
    "unknown_account": gettext_lazy("Account unknown to the portal"),
}


# --- who may do what -------------------------------------------------------------------------------


def _manages(user, organisation_id: int) -> bool:
    return Membership.objects.filter(
        organisation_id=organisation_id, user=user, role__in=MembershipRole.managing()
    ).exists()


def _require_manager(request, organisation_id: int) -> None:
    if not _manages(request.user, organisation_id):
        raise PermissionDenied(_("Only the organisation's owners and administrators may do this."))


def _require_operator(request) -> None:
    """Operators act; supervisors read the same pages but change nothing (403)."""
    if not is_operator(request.user):
        raise PermissionDenied(_("Only the center's operators may do this."))


def _require_staff(request) -> None:
    if not sees_all_organisations(request.user):
        raise PermissionDenied(_("This page is for the center's operators and supervisors."))


def _show_errors(request, error: Exception) -> None:
    """A refused action as messages: a domain error's text or a validation error's messages."""
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(error))


# --- public pages ----------------------------------------------------------------------------------


def index(request):
    """The platform's landing page: what it offers, the partitions and what to do next."""
    partitions = Partition.objects.filter(is_active=True).order_by("slug")
    context = {"partitions": partitions, "can_request": False, "member_only": False, "memberships": []}
    if request.user.is_authenticated:
        memberships = list(
            Membership.objects.filter(user=request.user).select_related("organisation").order_by("-id")
        )
        verified = [m for m in memberships if m.organisation.is_verified]
        context.update(
            memberships=memberships,
            can_request=any(m.can_manage for m in verified),
            member_only=bool(verified) and not any(m.can_manage for m in verified),
            is_staff=sees_all_organisations(request.user),
        )
    return render(request, "compute/index.html", context)


def partition_list(request):
    partitions = Partition.objects.order_by("-is_active", "slug")
    return render(request, "compute/partition_list.html", {"partitions": partitions})


# --- quota requests --------------------------------------------------------------------------------


@login_required
def request_list(request):
    requests = (
        QuotaRequest.objects.for_user(request.user)
        .select_related("organisation", "partition")
        .order_by("-id")
    )
    status = request.GET.get("status", "")
    if status in RequestStatus.values:
        requests = requests.filter(status=status)
    else:
        status = ""
    return render(
        request,
        "compute/request_list.html",
        {
            "page": paginate(request, requests),
            "status": status,
            "statuses": RequestStatus.choices,
            "sees_all": sees_all_organisations(request.user),
            "can_request": Organisation.objects.managed_by(request.user).verified().exists(),
        },
    )


def _member_formset(request, *, people, initial: list[dict], adding: bool):
    """The rows "person + cluster username"; "Add a person" re-shows the rows typed so far plus one."""
    if request.method == "POST" and adding:
        total = _int(request.POST.get(f"{MEMBERS_PREFIX}-TOTAL_FORMS"), default=0, upper=49)
        initial = [
            {
                "user": request.POST.get(f"{MEMBERS_PREFIX}-{i}-user", ""),
                "cluster_username": request.POST.get(f"{MEMBERS_PREFIX}-{i}-cluster_username", ""),
            }
            for i in range(total)
        ] + [{}]
        return MemberFormSet(prefix=MEMBERS_PREFIX, initial=initial, form_kwargs={"people": people})
    data = request.POST if request.method == "POST" else None
    return MemberFormSet(data, prefix=MEMBERS_PREFIX, initial=initial, form_kwargs={"people": people})


def _int(value, *, default: int, upper: int) -> int:
    try:
        return max(0, min(int(value), upper))
    except (TypeError, ValueError):
        return default


def _apply_errors(form, error: ValidationError) -> list[str]:
    """Put a service's errors next to the fields they concern; return those about the member rows."""
    member_errors = []
    by_field = error.message_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.messages}
    for field, field_messages in by_field.items():
        for message in field_messages:
            if field == "members":
                member_errors.append(message)
            elif field in form.fields:
                form.add_error(field, message)
            else:
                form.add_error(None, message)
    return member_errors


def _prefill(request, today: date) -> dict:
    """Initial values, from ``?kind=...&allocation=...`` links on an allocation's page."""
    initial = {"kind": RequestKind.NEW, "start_date": today, "end_date": today + timedelta(days=90)}
    kind = request.GET.get("kind", "")
    if kind in RequestKind.values:
        initial["kind"] = kind
    allocation = (
        Allocation.objects.managed_by(request.user)
        .exclude(status=AllocationStatus.CLOSED)
        .filter(pk=_int(request.GET.get("allocation"), default=0, upper=2**31 - 1))
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
    from projects.models import INCUBATING_STATUSES, Project

    return (
        Project.objects.filter(
            organisation__in=Organisation.objects.managed_by(request.user).verified(),
            status__in=INCUBATING_STATUSES,
            pk=_int(request.GET.get("project"), default=0, upper=2**31 - 1),
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
    estimate_url = reverse("compute:request_estimate")
    adding = "add_member" in request.POST
    today = timezone.localdate()
    if request.method == "POST" and adding:
        form = QuotaRequestForm(user=request.user, estimate_url=estimate_url, initial=request.POST.dict())
    else:
        form = QuotaRequestForm(
            request.POST if request.method == "POST" else None,
            user=request.user,
            estimate_url=estimate_url,
            initial=_prefill(request, today),
        )
    people = (
        User.objects.filter(memberships__organisation__in=organisations).distinct().order_by("name", "email")
    )
    members = _member_formset(
        request, people=people, initial=[{"user": request.user.pk}] + [{}] * EMPTY_MEMBER_ROWS, adding=adding
    )
    member_errors: list[str] = []
    if request.method == "POST" and not adding:
        form_ok, members_ok = form.is_valid(), members.is_valid()
        if form_ok and members_ok:
            data = form.cleaned_data
            kind = data["kind"]
            try:
                quota_request = services.create_quota_request(
                    data["organisation"],
                    by=request.user,
                    partition=data["partition"],
                    kind=kind,
                    amount=form.service_amount(),
                    start_date=data["start_date"],
                    end_date=data["end_date"],
                    purpose=data["purpose"],
                    justification=data["justification"],
                    # Only a new allocation takes its cluster users from the request.
                    members=[services.MemberAccess(u, name) for u, name in members.members()]
                    if kind == RequestKind.NEW
                    else [],
                    allocation=data.get("allocation"),
                    project=data.get("project"),
                )
            except ValidationError as error:
                member_errors = _apply_errors(form, error)
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    _("Request #%(id)s is saved as a draft. Check it, then submit it to the operators.")
                    % {"id": quota_request.pk},
                )
                return redirect(quota_request)
    return render(
        request,
        "compute/request_form.html",
        {
            "form": form,
            "members": members,
            "member_errors": member_errors,
            "estimate": _estimate_for(form),
        },
    )


def _estimate_for(form) -> dict | None:
    """The estimate shown when the form is first drawn (later ones come from ``request_estimate``)."""
    values = {name: form[name].value() for name in ("partition", "amount", "start_date", "end_date")}
    return _estimate(values)


def _estimate(values) -> dict | None:
    partition_id = _int(values.get("partition"), default=0, upper=2**31 - 1)
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
    result = services.estimate(partition, amount, start, end)
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


def _visible_request(request, pk) -> QuotaRequest:
    return get_object_or_404(
        QuotaRequest.objects.for_user(request.user).select_related(
            "organisation", "partition", "allocation", "created_by", "decided_by", "project"
        ),
        pk=pk,
    )


@login_required
def request_detail(request, pk):
    quota_request = _visible_request(request, pk)
    can_manage = _manages(request.user, quota_request.organisation_id)
    staff = sees_all_organisations(request.user)
    moves = QuotaRequest.TRANSITIONS.get(quota_request.status, set())
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
        "history": AuditEvent.objects.for_target(quota_request).select_related("actor", "target_type")[:50]
        if (can_manage or staff)
        else [],
        "grants_amount": quota_request.kind in (RequestKind.NEW, RequestKind.INCREASE),
    }
    if staff:
        context.update(
            usage_summary=services.organisation_usage_summary(quota_request.organisation),
            earlier_requests=QuotaRequest.objects.filter(organisation=quota_request.organisation)
            .exclude(pk=quota_request.pk)
            .select_related("partition")
            .order_by("-id")[:10],
            capacity_left=services.capacity_left(
                quota_request.partition, quota_request.start_date, quota_request.end_date
            ),
        )
    return render(request, "compute/request_detail.html", context)


@login_required
def request_edit(request, pk):
    quota_request = _visible_request(request, pk)
    _require_manager(request, quota_request.organisation_id)
    if not quota_request.is_editable:
        messages.error(request, _("Only drafts and requests sent back for changes can be edited."))
        return redirect(quota_request)
    estimate_url = reverse("compute:request_estimate")
    adding = "add_member" in request.POST
    form_kwargs = {"user": request.user, "estimate_url": estimate_url, "editing_kind": quota_request.kind}
    if request.method == "POST" and adding:
        form = QuotaRequestForm(initial=request.POST.dict(), **form_kwargs)
    else:
        form = QuotaRequestForm(
            request.POST if request.method == "POST" else None,
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
            **form_kwargs,
        )
    people = User.objects.filter(memberships__organisation=quota_request.organisation).order_by(
        "name", "email"
    )
    current = [
        {"user": m.user_id, "cluster_username": m.cluster_username}
        for m in quota_request.members.order_by("cluster_username")
    ]
    members = _member_formset(request, people=people, initial=current + [{}], adding=adding)
    member_errors: list[str] = []
    if request.method == "POST" and not adding:
        form_ok, members_ok = form.is_valid(), members.is_valid()
        if form_ok and members_ok:
            data = form.cleaned_data
            new = quota_request.kind == RequestKind.NEW
            try:
                services.update_quota_request(
                    quota_request,
                    by=request.user,
                    members=[services.MemberAccess(u, name) for u, name in members.members()]
                    if new
                    else None,
                    partition=data["partition"],
                    amount=form.service_amount(),
                    start_date=data["start_date"],
                    end_date=data["end_date"],
                    purpose=data["purpose"].strip(),
                    justification=data["justification"].strip(),
                    project=data.get("project"),
                )
            except ValidationError as error:
                member_errors = _apply_errors(form, error)
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Your changes are saved."))
                return redirect(quota_request)
    return render(
        request,
        "compute/request_form.html",
        {
            "form": form,
            "members": members,
            "member_errors": member_errors,
            "estimate": _estimate_for(form),
            "qr": quota_request,
        },
    )


@login_required
@require_POST
def request_submit(request, pk):
    quota_request = _visible_request(request, pk)
    _require_manager(request, quota_request.organisation_id)
    try:
        services.submit_quota_request(quota_request, by=request.user)
    except (ValidationError, DomainError) as error:
        messages.error(request, _("The request was not submitted:"))
        _show_errors(request, error)
    else:
        messages.success(
            request, _("Submitted. The operators will decide it; you will get an email with their decision.")
        )
    return redirect(quota_request)


@login_required
@require_POST
def request_withdraw(request, pk):
    quota_request = _visible_request(request, pk)
    _require_manager(request, quota_request.organisation_id)
    try:
        services.withdraw_quota_request(quota_request, by=request.user)
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("The request is withdrawn."))
    return redirect(quota_request)


@login_required
@require_POST
def request_decide(request, pk):
    _require_operator(request)
    quota_request = _visible_request(request, pk)
    back = safe_next(request, quota_request.get_absolute_url())
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
    label = {"id": quota_request.pk}
    try:
        if decision == DecisionForm.APPROVE:
            services.approve_quota_request(
                quota_request, by=request.user, granted_amount=form.cleaned_data["granted_amount"]
            )
            message = _("Request #%(id)s is approved.") % label
        elif decision == DecisionForm.CHANGES:
            services.request_quota_changes(quota_request, by=request.user, reason=reason)
            message = _("Request #%(id)s is sent back for changes.") % label
        else:
            services.reject_quota_request(quota_request, by=request.user, reason=reason)
            message = _("Request #%(id)s is rejected.") % label
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    else:
        messages.success(request, message)
    return redirect(back)


@login_required
def review_queue(request):
    """Submitted requests, oldest first, with what the operator needs to decide them in place."""
    _require_staff(request)
    requests = (
        QuotaRequest.objects.awaiting_decision()
        .select_related("organisation", "partition", "allocation", "created_by", "project")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=QuotaRequestMember.objects.select_related("user").order_by("cluster_username"),
            )
        )
        .order_by("submitted_at", "id")  # submitted requests always have submitted_at
    )
    page = paginate(request, requests, per_page=20)
    organisation_ids = {r.organisation_id for r in page.object_list}
    # The same sums as services.organisation_usage_summary, for every organisation of the page at once.
    usage_by_organisation = {
        row["organisation"]: row
        for row in Allocation.objects.filter(organisation__in=organisation_ids)
        .exclude(status=AllocationStatus.CLOSED)
        .values("organisation")
        .annotate(granted=Sum("granted_amount"), used=Sum("used_amount"))
    }
    history: dict[int, dict[str, int]] = {}
    for row in (
        QuotaRequest.objects.filter(organisation__in=organisation_ids)
        .values("organisation", "status")
        .annotate(n=Count("id"))
    ):
        history.setdefault(row["organisation"], {})[row["status"]] = row["n"]
    for quota_request in page.object_list:
        summary = usage_by_organisation.get(quota_request.organisation_id, {})
        granted, used = summary.get("granted") or Decimal(0), summary.get("used") or Decimal(0)
        counts = dict(history.get(quota_request.organisation_id, {}))
        counts[RequestStatus.SUBMITTED] = counts.get(RequestStatus.SUBMITTED, 1) - 1  # not this one
        quota_request.org_usage = {
            "granted": granted,
            "used": used,
            "percent": (used * 100 / granted).quantize(Decimal("0.1")) if granted else None,
        }
        quota_request.earlier = {
            "total": sum(counts.values()),
            "approved": counts.get(RequestStatus.APPROVED, 0),
            "rejected": counts.get(RequestStatus.REJECTED, 0),
            "changes_requested": counts.get(RequestStatus.CHANGES_REQUESTED, 0),
            "withdrawn": counts.get(RequestStatus.WITHDRAWN, 0),
            "open": counts.get(RequestStatus.SUBMITTED, 0) + counts.get(RequestStatus.DRAFT, 0),
        }
    return render(
        request,
        "compute/review_queue.html",
        {"page": page, "can_decide": is_operator(request.user)},
    )


# --- allocations -----------------------------------------------------------------------------------


@login_required
def allocation_list(request):
    allocations = (
        Allocation.objects.for_user(request.user).select_related("organisation", "partition").order_by("-id")
    )
    status = request.GET.get("status", "")
    if status in AllocationStatus.values:
        allocations = allocations.filter(status=status)
    else:
        status = ""
    page = paginate(request, allocations)
    for allocation in page.object_list:
        allocation.bar_width = min(allocation.used_percent, Decimal(100))
    return render(
        request,
        "compute/allocation_list.html",
        {
            "page": page,
            "status": status,
            "statuses": AllocationStatus.choices,
            "sees_all": sees_all_organisations(request.user),
        },
    )


def _visible_allocation(request, pk) -> Allocation:
    return get_object_or_404(
        Allocation.objects.for_user(request.user).select_related("organisation", "partition", "request"),
        pk=pk,
    )


def _status_context(request, allocation: Allocation) -> dict:
    return {
        "allocation": allocation,
        "bar_width": min(allocation.used_percent, Decimal(100)),
        "can_operate": is_operator(request.user),
    }


def _usage_chart(series: list[tuple]) -> dict:
    """Geometry of a bar chart of daily usage, drawn by the template as inline SVG."""
    width, height, gap = 600, 160, Decimal(2)
    peak = max((value for _day, value in series), default=Decimal(0))
    slot = Decimal(width) / max(len(series), 1)
    bars = []
    for i, (day, value) in enumerate(series):
        bar_height = (Decimal(value) / peak * height) if peak else Decimal(0)
        bars.append(
            {
                "day": day,
                "value": value,
                "x": round(slot * i + gap / 2, 2),
                "y": round(height - bar_height, 2),
                "width": round(slot - gap, 2),
                "height": round(bar_height, 2),
            }
        )
    busiest = max(series, key=lambda item: item[1], default=None)
    return {
        "bars": bars,
        "width": width,
        "height": height,
        "peak": peak,
        "total": sum((value for _day, value in series), Decimal(0)),
        "busiest": busiest if peak else None,
        "first": series[0][0] if series else None,
        "last": series[-1][0] if series else None,
    }


@login_required
def allocation_detail(request, pk):
    allocation = _visible_allocation(request, pk)
    can_manage = _manages(request.user, allocation.organisation_id)
    staff = sees_all_organisations(request.user)
    moves = Allocation.TRANSITIONS.get(allocation.status, set())
    context = _status_context(request, allocation)
    context.update(
        members=AllocationMember.objects.filter(allocation=allocation)
        .select_related("user")
        .order_by("cluster_username"),
        chart=_usage_chart(usage.daily_series(allocation, days=CHART_DAYS)),
        top_users=usage.top_users(allocation),
        # Newest first; as PostgreSQL sorts descending, a job without a submit time (none from sacct) comes
        # first. The same order as job_allocation_recent_idx.
        jobs=allocation.jobs.order_by("-submit_at", "-id")[:JOBS_SHOWN],
        can_manage=can_manage,
        is_staff=staff,
        can_change=can_manage and allocation.status != AllocationStatus.CLOSED,
        can_suspend=AllocationStatus.SUSPENDED in moves,
        can_resume=allocation.status == AllocationStatus.SUSPENDED,
        can_close=AllocationStatus.CLOSED in moves,
        change_requests=allocation.change_requests.order_by("-id")[:10],
        history=AuditEvent.objects.for_target(allocation).select_related("actor", "target_type")[:50]
        if (can_manage or staff)
        else [],
    )
    return render(request, "compute/allocation_detail.html", context)


@login_required
@require_GET
def allocation_status(request, pk):
    """htmx: the status block alone, polled every 2 s while the allocation is being set up."""
    allocation = _visible_allocation(request, pk)
    if not request.htmx:
        return redirect(allocation)
    return render(request, "compute/partials/allocation_status.html", _status_context(request, allocation))


@login_required
@require_POST
def allocation_retry(request, pk):
    _require_operator(request)
    allocation = _visible_allocation(request, pk)
    try:
        services.retry_sync(allocation, by=request.user)
    except DomainError as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("A new attempt to update the cluster has started."))
    return redirect(allocation)


def _allocation_action(request, pk, action):
    _require_operator(request)
    allocation = _visible_allocation(request, pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"].strip() if form.is_valid() else ""
    try:
        message = action(allocation, reason)
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    else:
        messages.success(request, message)
    return redirect(allocation)


@login_required
@require_POST
def allocation_suspend(request, pk):
    def suspend(allocation, reason):
        services.suspend_allocation(allocation, by=request.user, reason=reason)
        return _("The allocation is suspended: new jobs are refused, running jobs finish.")

    return _allocation_action(request, pk, suspend)


@login_required
@require_POST
def allocation_resume(request, pk):
    def resume(allocation, reason):
        services.resume_allocation(allocation, by=request.user)
        return _("The allocation is active again.")

    return _allocation_action(request, pk, resume)


@login_required
@require_POST
def allocation_close(request, pk):
    def close(allocation, reason):
        services.close_allocation(allocation, by=request.user, reason=reason)
        return _("The allocation is closed; its account is removed from the cluster once running jobs end.")

    return _allocation_action(request, pk, close)


# --- operator pages --------------------------------------------------------------------------------


def _month(request, today: date) -> date:
    """The first day of ``?month=YYYY-MM``; the current month (with a message) for anything else."""
    current = today.replace(day=1)
    raw = request.GET.get("month", "").strip()
    if not raw:
        return current
    try:
        chosen = datetime.strptime(raw, "%Y-%m").date()
    except ValueError:
        chosen = None
    if chosen is None or not 2000 <= chosen.year <= 2999:
        messages.warning(
            request,
            _("“%(value)s” is not a month like 2026-03: showing the current month.") % {"value": raw[:20]},
        )
        return current
    return chosen


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@login_required
def capacity(request):
    _require_staff(request)
    start = _month(request, timezone.localdate())
    end = _next_month(start)
    rows = [
        {
            "row": row,
            "granted_width": min(row.granted_percent, Decimal(100)),
            "used_width": min(row.used_percent, Decimal(100)),
        }
        for row in services.capacity_overview(start, end)
    ]
    return render(
        request,
        "compute/capacity.html",
        {
            "rows": rows,
            "month": start,
            "previous": (start - timedelta(days=1)).replace(day=1),
            "next": end,
        },
    )


@login_required
def reconcile_report(request):
    _require_staff(request)
    runs = list(ReconcileRun.objects.order_by("-id")[:20])
    latest = runs[0] if runs else None
    findings = [
        {**finding, "label": FINDING_LABELS.get(finding.get("kind"), finding.get("kind"))}
        for finding in (latest.findings if latest else [])
    ]
    return render(
        request,
        "compute/reconcile_report.html",
        {"latest": latest, "findings": findings, "runs": runs, "can_run": is_operator(request.user)},
    )


@login_required
@require_POST
def reconcile_run(request):
    _require_operator(request)
    run = usage.reconcile(by=request.user)
    if run.error:
        messages.error(request, _("The cluster could not be read: %(error)s") % {"error": run.error})
    elif run.drift_count:
        messages.warning(
            request,
            _("Reconcile found %(drift)s differences and repaired %(repaired)s.")
            % {"drift": run.drift_count, "repaired": run.repaired_count},
        )
    else:
        messages.success(request, _("Reconcile found no difference between the portal and the cluster."))
    return redirect("compute:reconcile_report")
