"""Pages of allocations: list, detail with usage, and the operators' suspend, resume, close and retry."""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.utils.crypto import get_random_string
from django.utils.formats import localize
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import access
from compute import kept, usage
from compute.access import kept_visible_allocation, visible_allocation
from compute.forms import ReasonForm
from compute.jobs import queue as job_queue
from compute.models import Allocation, AllocationMember, AllocationStatus
from compute.services import allocations as allocation_services
from compute.services import pending
from compute.views.common import PERIOD_AND_PLACE_FIELDS, history, perform
from core import rows
from core.pagination import paginate
from core.roles import is_operator, sees_all_organisations

CHART_DAYS = 30
JOBS_SHOWN = 20


@login_required
def allocation_list(request):
    allocations = (
        Allocation.objects.for_user(request.user)
        .select_related("organisation", "partition")
        # What the rows show, no more: building fewer fields is most of a long page's database cost.
        .only(*LIST_FIELDS)
        .order_by("-id")
    )
    status = request.GET.get("status", "")
    if status in AllocationStatus.values:
        allocations = allocations.filter(status=status)
    else:
        status = ""
    page = SimpleLazyObject(lambda: paginate(request, allocations))
    sees_all = sees_all_organisations(request.user)
    return render(
        request,
        "compute/allocation_list.html",
        {
            "page": page,
            "rows": SimpleLazyObject(lambda: _allocation_rows(page.object_list)),
            "status": status,
            "statuses": AllocationStatus.choices,
            "sees_all": sees_all,
            # Staff who see all see the same page, kept while no allocation changes (compute/kept.py); anyone
            # else their own, also while what they may see is unchanged.
            "body_key": kept.ALLOCATIONS.body_key(request)
            if sees_all
            else kept.ALLOCATIONS.personal_body_key(request),
        },
    )


LIST_FIELDS = ("account_name", "status", "used_amount", "granted_amount", *PERIOD_AND_PLACE_FIELDS)


def _allocation_rows(allocations) -> list[dict]:
    """Each allocation of the page as the strings its row shows (core.rows: the template only prints them)."""
    url_of = rows.UrlOf("compute:allocation_detail")
    built = []
    for allocation in allocations:
        percent = allocation.used_percent
        built.append(
            {
                "url": url_of(allocation.pk),
                "name": str(allocation),
                "organisation": allocation.organisation.display_name,
                "partition": allocation.partition.display_name,
                "usage": _("%(used)s of %(granted)s %(unit)s (%(percent)s %%)")
                % {
                    "used": rows.amount(allocation.used_amount),
                    "granted": rows.amount(allocation.granted_amount),
                    "unit": allocation.partition.get_unit_display(),
                    "percent": localize(percent),
                },
                "bar": (" bg-danger" if percent >= 100 else " bg-warning" if percent >= 80 else "")
                + " "
                + rows.bar_class(min(percent, Decimal(100))),
                "period": f"{rows.day(allocation.start_date)} – {rows.day(allocation.end_date)}",
                "badge": rows.status_badge(allocation.status),
                "status": allocation.get_status_display(),
            }
        )
    return built


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
    # A kept body needs neither the organisation nor the partition: they are read when the body is made.
    allocation = kept_visible_allocation(request, pk)
    staff = sees_all_organisations(request.user)
    can_operate = is_operator(request.user)
    # Whether the person manages the organisation is in a member's own key (their memberships' generation):
    # asked only when the body is built. Staff share a body, so theirs is asked now and put in the key.
    can_manage = (
        access.manages(request.user, allocation.organisation_id)
        if staff
        else SimpleLazyObject(lambda: access.manages(request.user, allocation.organisation_id))
    )
    moves = allocation.allowed_moves
    # The scheduler's queue now, asked when the body is made (not when it is kept).
    queue = SimpleLazyObject(lambda: pending.queued_jobs(allocation))
    context = _status_context(request, allocation)
    context.update(
        # Lazy, like everything else the body shows: a kept body does not even build its queries.
        members=SimpleLazyObject(
            lambda: (
                AllocationMember.objects.current()
                .filter(allocation=allocation)
                .select_related("user")
                .order_by("cluster_username")
            )
        ),
        chart=SimpleLazyObject(lambda: _usage_chart(usage.daily_series(allocation, days=CHART_DAYS))),
        top_users=SimpleLazyObject(lambda: usage.top_users(allocation)),
        # Newest first; as PostgreSQL sorts descending, a job without a submit time (none from sacct) comes
        # first. The same order as job_allocation_recent_idx.
        jobs=SimpleLazyObject(lambda: allocation.jobs.order_by("-submit_at", "-id")[:JOBS_SHOWN]),
        can_manage=can_manage,
        is_staff=staff,
        can_change=SimpleLazyObject(
            lambda: bool(can_manage) and allocation.status != AllocationStatus.CLOSED
        ),
        can_suspend=AllocationStatus.SUSPENDED in moves,
        can_resume=allocation.status == AllocationStatus.SUSPENDED,
        can_close=AllocationStatus.CLOSED in moves,
        change_requests=SimpleLazyObject(lambda: allocation.change_requests.order_by("-id")[:10]),
        history=SimpleLazyObject(lambda: history(allocation, shown=bool(can_manage) or staff)),
        queue=queue,
        body_key=_body_key(
            request, allocation, queue, staff=staff, can_operate=can_operate, can_manage=can_manage
        ),
    )
    return render(request, "compute/allocation_detail.html", context)


def _body_key(request, allocation: Allocation, queue, *, staff: bool, can_operate: bool, can_manage) -> str:
    """The key of the allocation page's body, kept per state of the allocations (compute/kept.py: ALLOCATIONS)
    and of its change requests and audit trail (ALLOCATION_PAGES): for staff alike, apart by what their role
    lets them do (operators act, supervisors read; a member of staff may also manage the organisation), for
    anyone else alone.

    The body shows the scheduler's queue, which is live: as on the jobs pages (compute/jobs/queue.py), an
    answer of the scheduler is shown for JOB_QUEUE_CACHE_SECONDS. Once read it is named (a random name kept
    that long) and the body made from it is kept under that name; a job submitted or cancelled from the portal
    (queue.SHOWN) ends it sooner. Nothing is kept when the cluster did not answer (the next request asks
    again), nor while the allocation is being set up (its status block polls itself)."""
    if allocation.is_in_flight:
        return ""
    if staff:
        key = f"{kept.ALLOCATIONS.body_key(request)}:staff:{int(can_operate)}{int(can_manage)}"
    else:
        key = kept.ALLOCATIONS.personal_body_key(request)
    key = f"{key}:{kept.ALLOCATION_PAGES.current()}"
    answer_key = f"pagecache:allocation-queue:{key}"
    found = cache.get_many([answer_key, job_queue.SHOWN.key])
    answer, shown = found.get(answer_key), found.get(job_queue.SHOWN.key)
    if not isinstance(answer, dict) or shown is None or answer.get("shown") != shown:
        if queue.error:  # asks the scheduler now
            return ""
        answer = {"name": get_random_string(12), "shown": shown or job_queue.SHOWN.current()}
        cache.set(answer_key, answer, settings.JOB_QUEUE_CACHE_SECONDS)
    return f"{key}:queue:{answer['name']}"


@login_required
@require_GET
def allocation_status(request, pk):
    """htmx: the status block alone, polled every 2 s while the allocation is being set up."""
    allocation = visible_allocation(request, pk)
    if not request.htmx:
        return redirect(allocation)
    return render(request, "compute/partials/allocation_status.html", _status_context(request, allocation))


def _allocation_action(service, success: str, *, with_reason: bool = True):
    """The page of an operator's action on an allocation, ``service(allocation, by=..., [reason=...])``:
    POST, then back to the allocation."""

    @login_required
    @require_POST
    def view(request, pk):
        access.require_operator(request.user)
        allocation = visible_allocation(request, pk)
        options = {}
        if with_reason:
            form = ReasonForm(request.POST)
            options["reason"] = form.cleaned_data["reason"].strip() if form.is_valid() else ""
        perform(request, lambda: service(allocation, by=request.user, **options), success)
        return redirect(allocation)

    return view


allocation_retry = _allocation_action(
    allocation_services.retry_sync,
    gettext_lazy("A new attempt to update the cluster has started."),
    with_reason=False,
)
allocation_suspend = _allocation_action(
    allocation_services.suspend_allocation,
    gettext_lazy("The allocation is suspended: new jobs are refused, running jobs finish."),
)
allocation_resume = _allocation_action(
    allocation_services.resume_allocation, gettext_lazy("The allocation is active again."), with_reason=False
)
allocation_close = _allocation_action(
    allocation_services.close_allocation,
    gettext_lazy("The allocation is closed; its account is removed from the cluster once running jobs end."),
)
