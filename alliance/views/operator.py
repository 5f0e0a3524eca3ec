"""The operators' pages: what waits for a decision, all memberships, and members' talent needs."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from alliance.forms import DecisionForm
from alliance.models import (
    AllianceMembership,
    MembershipRenewal,
    MembershipStatus,
    ProfileRevision,
    RenewalStatus,
    RevisionStatus,
    Solution,
    SolutionStatus,
)
from alliance.services import needs as need_services
from alliance.views.common import filtered_by, require_staff
from core.pagination import paginate
from core.roles import is_operator


@login_required
def queue(request):
    """What waits for an operator: applications, renewals, profile changes and solutions."""
    require_staff(request)
    return render(
        request,
        "alliance/queue.html",
        {
            "applications": AllianceMembership.objects.awaiting_decision()
            .select_related("organisation", "applied_by")
            .order_by("applied_at")[:50],
            "renewals": MembershipRenewal.objects.filter(status=RenewalStatus.PENDING)
            .select_related("membership__organisation", "requested_by")
            .order_by("requested_at")[:50],
            "revisions": ProfileRevision.objects.filter(status=RevisionStatus.PENDING)
            .select_related("organisation", "submitted_by")
            .order_by("submitted_at")[:50],
            "solutions": Solution.objects.filter(status=SolutionStatus.PENDING)
            .select_related("organisation")
            .order_by("submitted_at")[:50],
            "is_operator": is_operator(request.user),
            "decision_form": DecisionForm(),
        },
    )


@login_required
def membership_list(request):
    require_staff(request)
    memberships, status = filtered_by(
        request,
        AllianceMembership.objects.select_related("organisation").order_by("-id"),
        "status",
        MembershipStatus.values,
    )
    return render(
        request,
        "alliance/membership_list.html",
        {"page": paginate(request, memberships), "status": status, "statuses": MembershipStatus.choices},
    )


@login_required
def talent_needs(request):
    """Open talent needs of members, for the talent platform's operators to plan training."""
    require_staff(request)
    needs = list(need_services.talent_needs_summary().prefetch_related("training_courses")[:500])
    by_skill: dict[str, dict] = {}
    for need in needs:
        for skill in [s.strip() for s in need.skills.replace("，", ",").split(",") if s.strip()] or ["—"]:
            row = by_skill.setdefault(skill.lower(), {"skill": skill, "people": 0, "organisations": set()})
            row["people"] += need.people
            row["organisations"].add(need.organisation.display_name)
    rows = sorted(by_skill.values(), key=lambda r: (-r["people"], r["skill"]))
    return render(request, "alliance/talent_needs.html", {"needs": needs, "rows": rows})
