"""What the compute service holds about a person, for their data export; and their cluster access
when they delete their account."""

from accounts.privacy import personal_data_section
from compute.models import AllocationMember, QuotaRequest


@personal_data_section("compute")
def _compute(user):
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
