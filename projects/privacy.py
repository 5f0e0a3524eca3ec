"""What the incubation platform holds about a person, for their personal-data export."""

from projects.models import Application, CoApplicant, ReviewAssignment


def personal_data(user) -> dict:
    return {
        "applications_created": [
            {"id": a.pk, "title": a.title, "status": a.status, "created": a.created_at.isoformat()}
            for a in Application.objects.filter(created_by=user)
        ],
        "co_applications": [
            {"application": c.application_id, "invited": c.created_at.isoformat()}
            for c in CoApplicant.objects.filter(user=user)
        ],
        "review_assignments": [
            {
                "application": r.application_id,
                "status": r.status,
                "recommendation": r.recommendation,
                "comments": r.comments,
                "conflict_of_interest": r.conflict_of_interest,
            }
            for r in ReviewAssignment.objects.filter(reviewer=user)
        ],
    }
