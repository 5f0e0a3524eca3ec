"""What the alliance platform holds about a person, for their personal-data export."""

from alliance.models import AllianceMembership, Interest, Need, Solution


def personal_data(user) -> dict:
    return {
        "membership_applications": [
            {
                "id": m.pk,
                "organisation": m.organisation.name_zh,
                "status": m.status,
                "applied": m.applied_at.isoformat(),
            }
            for m in AllianceMembership.objects.filter(applied_by=user).select_related("organisation")
        ],
        "solutions_created": [
            {"id": s.pk, "title": s.title, "status": s.status}
            for s in Solution.objects.filter(created_by=user)
        ],
        "needs_posted": [
            {"id": n.pk, "title": n.title, "status": n.status} for n in Need.objects.filter(created_by=user)
        ],
        "interests_expressed": [
            {"id": i.pk, "need": i.need_id, "message": i.message}
            for i in Interest.objects.filter(created_by=user)
        ],
    }
