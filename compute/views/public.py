"""The compute service's public pages: what it offers, and the partitions."""

from django.shortcuts import render

from accounts.models import Membership
from compute.models import Partition
from core.roles import sees_all_organisations


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
