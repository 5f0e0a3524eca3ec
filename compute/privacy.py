"""What the compute service holds about a person, for their data export; and their cluster access
when they delete their account."""

from compute.models import AllocationMember, QuotaRequest
from compute.services.allocations import schedule_sync
from core import audit


def personal_data(user) -> dict:
    return {
        "cluster_access": [
            {
                "allocation": m.allocation.account_name,
                "organisation": m.allocation.organisation.name_zh,
                "cluster_username": m.cluster_username,
                "status": m.allocation.status,
            }
            for m in AllocationMember.objects.filter(user=user).select_related("allocation__organisation")
        ],
        "quota_requests_filed": [
            {
                "id": r.pk,
                "organisation": r.organisation.name_zh,
                "status": r.status,
                "created": r.created_at.isoformat(),
            }
            for r in QuotaRequest.objects.filter(created_by=user).select_related("organisation")
        ],
    }


def remove_cluster_access(sender, *, user, **kwargs) -> None:
    """Receiver of ``core.signals.account_deleting``: a deleted person keeps no cluster access. Their
    usernames come off every allocation, and the cluster is brought in line after commit."""
    for member in AllocationMember.objects.filter(user=user).select_related("allocation__organisation"):
        allocation = member.allocation
        audit.record(
            "allocation.remove_cluster_user",
            allocation,
            actor=user,
            organisation=allocation.organisation,
            changes={"cluster_user": (member.cluster_username, None)},
            reason="account deleted",
        )
        member.delete()
        schedule_sync(allocation)
