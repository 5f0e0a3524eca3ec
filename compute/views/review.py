"""The operators' review of quota requests: the queue of submitted requests and the decision on one."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch
from django.shortcuts import redirect, render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import access
from compute import kept
from compute.forms import DecisionForm
from compute.models import QuotaRequest, QuotaRequestMember, RequestStatus
from compute.services import capacity
from compute.services import requests as request_services
from compute.views.common import perform, require_staff
from compute.views.requests import visible_request
from core.pagination import paginate, safe_next
from core.roles import is_operator


@login_required
@require_POST
def request_decide(request, pk):
    access.require_operator(request.user)
    quota_request = visible_request(request, pk)
    back = safe_next(request, quota_request.get_absolute_url())
    form = DecisionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
    if decision == DecisionForm.APPROVE:
        service, options = (
            request_services.approve_quota_request,
            {"granted_amount": form.cleaned_data["granted_amount"]},
        )
        message = _("Request #%(id)s is approved.")
    elif decision == DecisionForm.CHANGES:
        service, options = request_services.request_quota_changes, {"reason": reason}
        message = _("Request #%(id)s is sent back for changes.")
    else:
        service, options = request_services.reject_quota_request, {"reason": reason}
        message = _("Request #%(id)s is rejected.")
    perform(
        request,
        lambda: service(quota_request, by=request.user, **options),
        message % {"id": quota_request.pk},
    )
    return redirect(back)


@login_required
def review_queue(request):
    """Submitted requests, oldest first, with what the operator needs to decide them in place."""
    require_staff(request)
    requests = (
        QuotaRequest.objects.awaiting_decision()
        .select_related("organisation", "partition", "allocation", "project")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=QuotaRequestMember.objects.select_related("user").order_by("cluster_username"),
            )
        )
        .order_by("submitted_at", "id")  # submitted requests always have submitted_at
    )

    def annotated_page():
        page = paginate(request, requests, per_page=20)
        organisation_ids = {r.organisation_id for r in page.object_list}
        usage_by_organisation = capacity.usage_summaries(organisation_ids)
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
        return page

    can_decide = is_operator(request.user)
    return render(
        request,
        "compute/review_queue.html",
        {
            "page": SimpleLazyObject(annotated_page),
            "can_decide": can_decide,
            # The same for every operator (and, without the forms, every supervisor): kept while nothing it
            # shows changes (compute/kept.py).
            "body_key": f"{kept.REVIEW.body_key(request)}:{int(can_decide)}",
        },
    )
