"""Solutions, needs, matchmaking and interest between members."""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation, User
from alliance import directory
from alliance.models import (
    AllianceMembership,
    CapabilityTag,
    DirectoryEntry,
    Interest,
    Need,
    NeedKind,
    Scenario,
    Solution,
    SolutionStatus,
)
from alliance.profiles import MAX_CAPABILITIES, validate_image
from alliance.services import managers_emails, require_manager, require_operator
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_PEOPLE = 10_000
MATCHES_SHOWN = 10
CANDIDATES = 30


def _require_current_member(organisation: Organisation) -> None:
    if not AllianceMembership.objects.current().filter(organisation=organisation).exists():
        raise NotAllowed(_("Only current alliance members publish solutions and needs."))


def _capabilities(values) -> list[CapabilityTag]:
    ids = sorted({int(getattr(v, "pk", v)) for v in values or []})
    if len(ids) > MAX_CAPABILITIES:
        raise ValidationError(
            {"capabilities": [_("Choose at most %(n)d capabilities.") % {"n": MAX_CAPABILITIES}]}
        )
    tags = list(CapabilityTag.objects.filter(pk__in=ids, is_active=True))
    if len(tags) != len(ids):
        raise ValidationError({"capabilities": [_("Choose capabilities from the list.")]})
    return tags


def _text(value, name: str, *, limit: int, required: bool = True) -> str:
    value = str(value or "").strip()
    if required and not value:
        raise ValidationError({name: [_("This field is required.")]})
    if len(value) > limit:
        raise ValidationError({name: [_("At most %(n)d characters.") % {"n": limit}]})
    return value


def _scenario(value) -> str:
    if value not in Scenario.values:
        raise ValidationError({"scenario": [_("Choose a scenario from the list.")]})
    return value


# --- solutions ---------------------------------------------------------------------------------------


@transaction.atomic
def create_solution(
    organisation: Organisation,
    *,
    by: User,
    title: str,
    scenario: str,
    description: str,
    outcome: str = "",
    capabilities=(),
    image=None,
    submit: bool = True,
) -> Solution:
    require_manager(organisation, by)
    _require_current_member(organisation)
    solution = Solution(
        organisation=organisation,
        title=_text(title, "title", limit=200),
        scenario=_scenario(scenario),
        description=_text(description, "description", limit=10000),
        outcome=_text(outcome, "outcome", limit=5000, required=False),
        created_by=by,
    )
    tags = _capabilities(capabilities)
    if image is not None:
        try:
            validate_image(image, max_bytes=MAX_IMAGE_BYTES)
        except ValidationError as error:
            raise ValidationError({"image": error.messages}) from None
        solution.image.save(image.name, image, save=False)
    if submit:
        solution.submit()
    solution.save()
    solution.capabilities.set(tags)
    audit.record(
        "solution.create",
        solution,
        actor=by,
        organisation=organisation,
        changes={"status": (None, solution.status)},
    )
    return solution


@transaction.atomic
def update_solution(solution: Solution, *, by: User, capabilities=None, image=None, **values) -> Solution:
    """Edit a solution; a published one goes back to moderation and leaves the directory until approved."""
    solution = Solution.objects.select_for_update().select_related("organisation").get(pk=solution.pk)
    require_manager(solution.organisation, by)
    if not solution.is_editable:
        raise Conflict(_("A solution waiting for moderation cannot be edited; withdraw it first."))
    changes = {}
    limits = {"title": 200, "description": 10000, "outcome": 5000}
    for name, value in values.items():
        if name in limits:
            value = _text(value, name, limit=limits[name], required=name != "outcome")
        elif name == "scenario":
            value = _scenario(value)
        else:
            continue
        if getattr(solution, name) != value:
            changes[name] = (getattr(solution, name), value)
            setattr(solution, name, value)
    if image is not None:
        try:
            validate_image(image, max_bytes=MAX_IMAGE_BYTES)
        except ValidationError as error:
            raise ValidationError({"image": error.messages}) from None
        solution.image.save(image.name, image, save=False)
        changes["image"] = (None, solution.image.name)
    if capabilities is not None:
        tags = _capabilities(capabilities)
        before = sorted(t.slug for t in solution.capabilities.all())
        if before != sorted(t.slug for t in tags):
            changes["capabilities"] = (before, sorted(t.slug for t in tags))
            solution.capabilities.set(tags)
    if not changes:
        return solution
    was_published = solution.status == SolutionStatus.PUBLISHED
    old = solution.submit()
    changes["status"] = (old, solution.status)
    solution.save()
    audit.record("solution.update", solution, actor=by, organisation=solution.organisation, changes=changes)
    if was_published:
        directory.sync_entry(solution.organisation_id)
    return solution


@transaction.atomic
def submit_solution(solution: Solution, *, by: User) -> Solution:
    solution = Solution.objects.select_for_update().select_related("organisation").get(pk=solution.pk)
    require_manager(solution.organisation, by)
    _require_current_member(solution.organisation)
    old = solution.submit()
    solution.save(update_fields=["status", "submitted_at"])
    audit.record(
        "solution.submit",
        solution,
        actor=by,
        organisation=solution.organisation,
        changes={"status": (old, solution.status)},
    )
    return solution


@transaction.atomic
def withdraw_solution(solution: Solution, *, by: User) -> Solution:
    solution = Solution.objects.select_for_update().select_related("organisation").get(pk=solution.pk)
    require_manager(solution.organisation, by)
    old = solution.withdraw()
    solution.save(update_fields=["status"])
    audit.record(
        "solution.withdraw",
        solution,
        actor=by,
        organisation=solution.organisation,
        changes={"status": (old, solution.status)},
    )
    directory.sync_entry(solution.organisation_id)
    return solution


def _notify_solution(solution: Solution) -> None:
    send_templated_mail(
        "alliance/email/solution_decision",
        to=managers_emails(solution.organisation_id),
        context={"solution": solution, "url": settings.SITE_URL + solution.get_absolute_url()},
    )


@transaction.atomic
def publish_solution(solution: Solution, *, by: User) -> Solution:
    require_operator(by)
    solution = Solution.objects.select_for_update().select_related("organisation").get(pk=solution.pk)
    old = solution.publish(by=by)
    solution.save()
    audit.record(
        "solution.publish",
        solution,
        actor=by,
        organisation=solution.organisation,
        changes={"status": (old, solution.status)},
    )
    directory.sync_entry(solution.organisation_id)
    _notify_solution(solution)
    return solution


@transaction.atomic
def reject_solution(solution: Solution, *, by: User, reason: str) -> Solution:
    require_operator(by)
    solution = Solution.objects.select_for_update().select_related("organisation").get(pk=solution.pk)
    old = solution.reject(by=by, reason=reason)
    solution.save()
    audit.record(
        "solution.reject",
        solution,
        actor=by,
        organisation=solution.organisation,
        changes={"status": (old, solution.status)},
        reason=solution.decision_reason,
    )
    _notify_solution(solution)
    return solution


# --- needs -------------------------------------------------------------------------------------------


@transaction.atomic
def post_need(
    organisation: Organisation,
    *,
    by: User,
    kind: str,
    title: str,
    description: str,
    scenario: str,
    capabilities=(),
    skills: str = "",
    people=0,
) -> Need:
    require_manager(organisation, by)
    _require_current_member(organisation)
    if kind not in NeedKind.values:
        raise ValidationError({"kind": [_("Choose a technology need or a talent need.")]})
    try:
        people = int(people or 0)
    except (TypeError, ValueError):
        raise ValidationError({"people": [_("Give the number of people as a whole number.")]}) from None
    if kind == NeedKind.TALENT:
        if not 1 <= people <= MAX_PEOPLE:
            raise ValidationError({"people": [_("A talent need is for 1 to 10,000 people.")]})
        skills = _text(skills, "skills", limit=300)
    else:
        people, skills = 0, _text(skills, "skills", limit=300, required=False)
    need = Need.objects.create(
        organisation=organisation,
        kind=kind,
        title=_text(title, "title", limit=200),
        description=_text(description, "description", limit=5000),
        scenario=_scenario(scenario),
        skills=skills,
        people=people,
        created_by=by,
    )
    need.capabilities.set(_capabilities(capabilities))
    audit.record(
        "need.post", need, actor=by, organisation=organisation, changes={"status": (None, need.status)}
    )
    return need


@transaction.atomic
def close_need(need: Need, *, by: User) -> Need:
    need = Need.objects.select_for_update().select_related("organisation").get(pk=need.pk)
    require_manager(need.organisation, by)
    old = need.close()
    need.save(update_fields=["status"])
    audit.record(
        "need.close", need, actor=by, organisation=need.organisation, changes={"status": (old, need.status)}
    )
    return need


@transaction.atomic
def reopen_need(need: Need, *, by: User) -> Need:
    need = Need.objects.select_for_update().select_related("organisation").get(pk=need.pk)
    require_manager(need.organisation, by)
    _require_current_member(need.organisation)
    old = need.reopen()
    need.save(update_fields=["status"])
    audit.record(
        "need.reopen", need, actor=by, organisation=need.organisation, changes={"status": (old, need.status)}
    )
    return need


# --- matchmaking -------------------------------------------------------------------------------------


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


# --- interest ----------------------------------------------------------------------------------------


@transaction.atomic
def express_interest(
    need: Need,
    *,
    by: User,
    organisation: Organisation,
    solution: Solution | None = None,
    message: str = "",
) -> Interest:
    """Interest in a match: a member offers itself (or one of its solutions) for another member's need, or the
    need's owner invites a suggested member. The other side's owners and administrators get an email."""
    need = Need.objects.select_related("organisation").get(pk=need.pk)
    message = _text(message, "message", limit=2000, required=False)
    if need.status != "open":
        raise Conflict(_("This need is closed."))
    if organisation.pk == need.organisation_id:
        raise DomainError(_("An organisation cannot answer its own need."))
    if Membership.objects.filter(
        organisation=need.organisation, user=by, role__in=["owner", "admin"]
    ).exists():
        # The need's owner invites a suggested member.
        direction, counterpart, acting = Interest.Direction.INVITE, organisation, need.organisation
        if not DirectoryEntry.objects.listed().filter(pk=organisation.pk).exists():
            raise DomainError(_("Only listed alliance members can be invited."))
        if solution is not None and solution.organisation_id != organisation.pk:
            raise DomainError(_("This solution belongs to another organisation."))
    else:
        require_manager(organisation, by)
        _require_current_member(organisation)
        direction, counterpart, acting = Interest.Direction.OFFER, organisation, organisation
        if solution is not None and solution.organisation_id != organisation.pk:
            raise DomainError(_("Offer one of your own organisation's solutions."))
    if solution is not None and solution.status != SolutionStatus.PUBLISHED:
        raise DomainError(_("Only published solutions can be offered."))
    try:
        with transaction.atomic():
            interest = Interest.objects.create(
                need=need,
                organisation=counterpart,
                solution=solution,
                direction=direction,
                message=message,
                created_by=by,
            )
    except IntegrityError:
        raise Conflict(_("This interest has already been expressed.")) from None
    audit.record(
        "interest.express",
        interest,
        actor=by,
        organisation=acting,
        changes={"direction": (None, direction), "need": (None, need.pk)},
    )
    other = need.organisation_id if direction == Interest.Direction.OFFER else counterpart.pk
    send_templated_mail(
        "alliance/email/interest",
        to=managers_emails(other),
        context={
            "interest": interest,
            "need": need,
            "from_organisation": acting,
            "url": settings.SITE_URL + need.get_absolute_url(),
        },
    )
    return interest


def talent_needs_summary():
    """Open talent needs for the talent platform's operators: skills × people × organisations."""
    return (
        Need.objects.open()
        .filter(kind=NeedKind.TALENT)
        .select_related("organisation")
        .order_by("skills", "-people", "id")
    )


def require_talent_planner(user) -> None:
    """Talent needs are for the center's operators (who also run the talent platform) and supervisors."""
    from core.roles import sees_all_organisations

    if not sees_all_organisations(user):
        raise NotAllowed(_("This page is for the center's operators and supervisors."))
