"""Members' needs (technology or talent) and interest between members in a match."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.access import manages
from accounts.models import Organisation, User
from alliance.models import DirectoryEntry, Interest, Need, NeedKind, NeedStatus, Solution, SolutionStatus
from alliance.services.inputs import clean_capabilities, clean_scenario, clean_text, require_current_member
from alliance.services.mail import notify_managers
from alliance.services.membership import require_alliance_manager
from core import audit
from core.exceptions import Conflict, DomainError
from core.states import save_transition

MAX_PEOPLE = 10_000


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
    require_alliance_manager(organisation, by)
    require_current_member(organisation)
    if kind not in NeedKind.values:
        raise ValidationError({"kind": [_("Choose a technology need or a talent need.")]})
    try:
        people = int(people or 0)
    except (TypeError, ValueError):
        raise ValidationError({"people": [_("Give the number of people as a whole number.")]}) from None
    if kind == NeedKind.TALENT:
        if not 1 <= people <= MAX_PEOPLE:
            raise ValidationError({"people": [_("A talent need is for 1 to 10,000 people.")]})
        skills = clean_text(skills, "skills", limit=300)
    else:
        people, skills = 0, clean_text(skills, "skills", limit=300, required=False)
    need = Need.objects.create(
        organisation=organisation,
        kind=kind,
        title=clean_text(title, "title", limit=200),
        description=clean_text(description, "description", limit=5000),
        scenario=clean_scenario(scenario),
        skills=skills,
        people=people,
        created_by=by,
    )
    need.capabilities.set(clean_capabilities(capabilities))
    audit.record(
        "need.post", need, actor=by, organisation=organisation, changes={"status": (None, need.status)}
    )
    return need


def _move_need(need: Need, *, by: User, action: str, to_open: bool) -> Need:
    need = Need.objects.select_for_update().select_related("organisation").get(pk=need.pk)
    require_alliance_manager(need.organisation, by)
    if to_open:
        require_current_member(need.organisation)
    old = need.reopen() if to_open else need.close()
    save_transition(need, old, by=by, action=action)
    return need


@transaction.atomic
def close_need(need: Need, *, by: User) -> Need:
    return _move_need(need, by=by, action="need.close", to_open=False)


@transaction.atomic
def reopen_need(need: Need, *, by: User) -> Need:
    return _move_need(need, by=by, action="need.reopen", to_open=True)


# --- interest -------------------------------------------------------------------------------------


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
    message = clean_text(message, "message", limit=2000, required=False)
    if need.status != NeedStatus.OPEN:
        raise Conflict(_("This need is closed."))
    if organisation.pk == need.organisation_id:
        raise DomainError(_("An organisation cannot answer its own need."))
    if manages(by, need.organisation):
        # The need's owner invites a suggested member.
        direction, counterpart, acting = Interest.Direction.INVITE, organisation, need.organisation
        if not DirectoryEntry.objects.listed().filter(pk=organisation.pk).exists():
            raise DomainError(_("Only listed alliance members can be invited."))
        if solution is not None and solution.organisation_id != organisation.pk:
            raise DomainError(_("This solution belongs to another organisation."))
    else:
        require_alliance_manager(organisation, by)
        require_current_member(organisation)
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
    notify_managers(
        other,
        "interest",
        path=need.get_absolute_url(),
        interest=interest,
        need=need,
        from_organisation=acting,
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
