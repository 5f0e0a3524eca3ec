"""The operators' pages: capacity per partition and month, and the reconciliation with the cluster."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import access
from compute import usage
from compute.models import ReconcileRun, Unit
from compute.services import capacity as capacity_services
from compute.views.common import require_staff
from core.roles import is_operator

# What a reconcile finding means, in words an operator acts on.
FINDING_LABELS = {
    "missing_account": gettext_lazy("Account missing on the cluster"),
    "account_not_removed": gettext_lazy("Closed allocation still has an account"),
    "missing_user": gettext_lazy("Cluster user missing"),
    "unexpected_user": gettext_lazy("Unexpected cluster user"),
    "user_leaving": gettext_lazy("Cluster user leaving once their jobs end"),
    "partition_changed": gettext_lazy("Partition binding differs"),
    "user_limit_changed": gettext_lazy("Per-person cap differs"),
    "limit_changed": gettext_lazy("Limit differs"),
    "block_changed": gettext_lazy("Blocking differs"),
    "unknown_account": gettext_lazy("Account unknown to the portal"),
    "usage_differs": gettext_lazy("Usage differs from the scheduler's"),
}


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
    require_staff(request)
    start = _month(request, timezone.localdate())
    end = _next_month(start)
    rows = [
        {
            "row": row,
            "granted_width": min(row.granted_percent, Decimal(100)),
            "used_width": min(row.used_percent, Decimal(100)),
        }
        for row in capacity_services.capacity_overview(start, end)
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
    require_staff(request)
    runs = list(ReconcileRun.objects.order_by("-id")[:20])
    latest = runs[0] if runs else None
    findings = [
        {
            **finding,
            "label": FINDING_LABELS.get(finding.get("kind"), finding.get("kind")),
            "unit_label": Unit(finding["unit"]).label if finding.get("unit") in Unit.values else "",
        }
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
    access.require_operator(request.user)
    run = usage.reconcile(by=request.user)
    if run.error:
        messages.error(request, _("A cluster could not be read: %(error)s") % {"error": run.error})
    if run.drift_count:
        messages.warning(
            request,
            _("Reconcile found %(drift)s differences and repaired %(repaired)s.")
            % {"drift": run.drift_count, "repaired": run.repaired_count},
        )
    elif not run.error:
        messages.success(request, _("Reconcile found no difference between the portal and the cluster."))
    return redirect("compute:reconcile_report")
