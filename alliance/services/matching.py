"""Matchmaking: the published solutions and listed members suggested for a need, each with its reasons."""

from dataclasses import dataclass, field

from django.db.models import Case, Count, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from alliance.models import DirectoryEntry, Need, Solution, SolutionStatus
from alliance.services import directory

MATCHES_SHOWN = 10
CANDIDATES = 30


@dataclass
class Match:
    kind: str  # "solution" or "organisation"
    organisation_id: int
    organisation_name: str
    score: int
    reasons: list[str] = field(default_factory=list)
    solution: Solution | None = None
    entry: DirectoryEntry | None = None


def _words(text: str) -> set[str]:
    return {w for w in text.lower().replace(",", " ").replace("，", " ").split() if len(w) > 2}


def matches_for(need: Need, *, limit: int = MATCHES_SHOWN) -> list[Match]:
    """Published solutions and listed members for a need, ranked; each with the reason it is suggested.

    Scoring: the same scenario counts 3, each wanted capability the solution (or member) has counts 2, a
    word of the need's title found in a solution's title counts 1. The database ranks by scenario and
    capabilities and returns the best few ids (GROUP BY on the small through tables, no DISTINCT over wide rows);
    the title words reorder those in Python. The ranking is cached per state of the directory (publishing or
    withdrawing a solution changes it); five queries whatever the data size.
    """
    wanted = {t.pk: t for t in need.capabilities.all()}
    key = f"{need.pk} {need.scenario} {sorted(wanted)}"
    ranked_ids, top = directory.cached_for_state("matches", key, lambda: _ranked(need, wanted))
    candidates = (
        Solution.objects.filter(pk__in=ranked_ids)
        .select_related("organisation")
        .prefetch_related("capabilities")
    )
    title_words = _words(need.title)
    matches: list[Match] = []
    for solution in candidates:
        score, reasons = 0, []
        if solution.scenario == need.scenario:
            score += 3
            reasons.append(_("same scenario: %(s)s") % {"s": solution.get_scenario_display()})
        shared = [t for t in solution.capabilities.all() if t.pk in wanted]
        if shared:
            score += 2 * len(shared)
            reasons.append(_("capabilities: %(c)s") % {"c": ", ".join(t.display_name for t in shared)})
        common = title_words & _words(solution.title)
        if common:
            score += len(common)
            reasons.append(_("words in common: %(w)s") % {"w": ", ".join(sorted(common))})
        matches.append(
            Match(
                "solution",
                solution.organisation_id,
                str(solution.organisation),
                score,
                reasons,
                solution=solution,
            )
        )
    if top:
        entries = DirectoryEntry.objects.filter(pk__in=[pk for pk, _n in top]).prefetch_related(
            "capabilities"
        )
        for entry in entries:
            shared = [t for t in entry.capabilities.all() if t.pk in wanted]
            matches.append(
                Match(
                    "organisation",
                    entry.pk,
                    entry.display_name,
                    2 * len(shared),
                    [_("capabilities: %(c)s") % {"c": ", ".join(t.display_name for t in shared)}],
                    entry=entry,
                )
            )
    matches.sort(key=lambda m: (-m.score, m.kind != "solution", m.organisation_name))
    return matches[:limit]


def _ranked(need: Need, wanted: dict) -> tuple[list[int], list[tuple[int, int]]]:
    """Ids of the best candidate solutions, and (entry id, shared capabilities) of the best members."""
    listed = DirectoryEntry.objects.listed().filter(pk=OuterRef("organisation_id"))
    through = Solution.capabilities.through
    shared_count = Subquery(
        through.objects.filter(solution_id=OuterRef("pk"), capabilitytag_id__in=list(wanted))
        .order_by()
        .values("solution_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    ranked_ids = list(
        Solution.objects.filter(status=SolutionStatus.PUBLISHED)
        .exclude(organisation_id=need.organisation_id)
        .filter(
            Q(scenario=need.scenario)
            | Q(Exists(through.objects.filter(solution_id=OuterRef("pk"), capabilitytag_id__in=list(wanted))))
        )
        .filter(Exists(listed))
        .annotate(
            score=Case(When(scenario=need.scenario, then=Value(3)), default=Value(0))
            + 2 * Coalesce(shared_count, Value(0))
        )
        .order_by("-score", "-id")
        .values_list("pk", flat=True)[:CANDIDATES]
    )
    top = []
    if wanted:
        entry_through = DirectoryEntry.capabilities.through
        top = list(
            entry_through.objects.filter(
                capabilitytag_id__in=list(wanted),
                directoryentry_id__in=DirectoryEntry.objects.listed()
                .exclude(pk=need.organisation_id)
                .values("pk"),
            )
            .order_by()
            .values_list("directoryentry_id")
            .annotate(n=Count("pk"))
            .order_by("-n", "directoryentry_id")[:CANDIDATES]
        )
    return ranked_ids, top
