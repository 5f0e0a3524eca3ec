"""A call's applications ranked by their reviews (the ranking page and its CSV)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, F, Max, Min, Q, StdDev

from projects.models import Application, AssignmentStatus, Call, Recommendation


@dataclass(frozen=True)
class RankingRow:
    application: Application
    average: Decimal | None
    spread: Decimal | None
    lowest: Decimal | None
    highest: Decimal | None
    reviews: int
    assigned: int
    yes: int
    maybe: int
    no: int


def ranking_queryset(call: Call):
    """Submitted applications of a call with their reviews' average weighted score, spread (standard
    deviation), lowest and highest score, counts and recommendations; best average first (one query)."""
    submitted = Q(assignments__status=AssignmentStatus.SUBMITTED)
    return (
        Application.objects.filter(call=call)
        .submitted()
        .select_related("organisation")
        .annotate(
            average=Avg("assignments__weighted_score", filter=submitted),
            spread=StdDev("assignments__weighted_score", filter=submitted),
            lowest=Min("assignments__weighted_score", filter=submitted),
            highest=Max("assignments__weighted_score", filter=submitted),
            reviews=Count("assignments", filter=submitted),
            assigned=Count("assignments", filter=~Q(assignments__status=AssignmentStatus.DECLINED)),
            yes=Count("assignments", filter=submitted & Q(assignments__recommendation=Recommendation.YES)),
            maybe=Count(
                "assignments", filter=submitted & Q(assignments__recommendation=Recommendation.MAYBE)
            ),
            no=Count("assignments", filter=submitted & Q(assignments__recommendation=Recommendation.NO)),
        )
        .order_by(F("average").desc(nulls_last=True), "id")
    )


def _two_places(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def ranking_row(application: Application) -> RankingRow:
    return RankingRow(
        application=application,
        average=_two_places(application.average),
        spread=_two_places(application.spread),
        lowest=_two_places(application.lowest),
        highest=_two_places(application.highest),
        reviews=application.reviews,
        assigned=application.assigned,
        yes=application.yes,
        maybe=application.maybe,
        no=application.no,
    )


def ranking(call: Call) -> list[RankingRow]:
    return [ranking_row(a) for a in ranking_queryset(call)]
