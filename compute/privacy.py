"""What the compute service holds about a person, for their data export; and their cluster access
when they delete their account."""

from compute.models import AllocationMember, QuotaRequest
from compute.services.members import ACCOUNT_DELETED, withdraw_cluster_access


def personal_data(user) -> dict:
    return {
        "cluster_access": [
            {
                "allocation": m.allocation.account_name,
                "organisation": m.allocation.organisation.name_zh,
                "cluster_username": m.cluster_username,
                "status": m.allocation.status,
                "added": m.added_at.isoformat(),
                "removed": m.removed_at.isoformat() if m.removed_at else None,
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
    """Receiver of ``core.signals.account_deleting``: a deleted person keeps no cluster access. Their access
    to every allocation ends (the rows stay, pseudonymous with the account, for the allocations' history) and
    the cluster is brought in line after commit. No mail: the person asked for the deletion."""
    withdraw_cluster_access(user, by=user, reason=ACCOUNT_DELETED, notify=False)
