"""Alliance objects made through the services (importable by other platforms' tests)."""

from accounts.models import Membership, MembershipRole
from alliance.models import AllianceMembership, CapabilityTag, NeedKind, Scenario, Tier
from alliance.services import membership as membership_services
from alliance.services import needs, profiles, solutions
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation


def manager_of(organisation):
    """An owner or administrator of the organisation (a new owner if it has none)."""
    membership = (
        Membership.objects.filter(organisation=organisation, role__in=MembershipRole.managing())
        .select_related("user")
        .order_by("id")
        .first()
    )
    if membership is not None:
        return membership.user
    user = UserFactory()
    Membership.objects.create(organisation=organisation, user=user, role=MembershipRole.OWNER)
    return user


def apply_for(organisation, *, tier=None, statement="We build AI applications for the city.", by=None):
    """A pending application (organisation must be verified)."""
    return membership_services.apply_for_membership(
        organisation, by=by or manager_of(organisation), tier=tier or Tier.MEMBER, statement=statement
    )


def make_alliance_member(organisation, *, operator=None, tier=None) -> AllianceMembership:
    """A current membership of a verified organisation, applied for and approved through the services."""
    membership = apply_for(organisation, tier=tier)
    operator = operator or make_operator()
    return membership_services.approve_membership(membership, by=operator)


def make_member_organisation(operator=None, *, tier=None, **fields):
    """A new verified organisation (a new owner's) that is a current alliance member."""
    organisation = make_verified_organisation(UserFactory(), **fields)
    make_alliance_member(organisation, operator=operator, tier=tier)
    return organisation


def make_capability(slug: str, name_zh: str | None = None, name_en: str | None = None):
    tag, _created = CapabilityTag.objects.get_or_create(
        slug=slug, defaults={"name_zh": name_zh or slug, "name_en": name_en or slug.replace("-", " ")}
    )
    return tag


def publish_profile(organisation, *, operator=None, capabilities=(), visibility=None, **values):
    """Propose profile values and have an operator approve them; set visibility at once."""
    owner = manager_of(organisation)
    if visibility:
        profiles.set_visibility(organisation, by=owner, visibility=visibility)
    revision = profiles.propose_profile_change(
        organisation, by=owner, values=values, capabilities=list(capabilities)
    )
    if revision is not None:
        profiles.approve_revision(revision, by=operator or make_operator())
    return profiles.get_profile(organisation)


def make_solution(organisation, *, operator=None, publish=True, **fields):
    values = {
        "title": "Medical imaging assistant",
        "scenario": Scenario.SMART_MEDICAL,
        "description": "Finds lung nodules in CT scans.",
        "outcome": "Used in three hospitals.",
        "capabilities": [],
        **fields,
    }
    solution = solutions.create_solution(organisation, by=manager_of(organisation), **values)
    if publish:
        solution = solutions.publish_solution(solution, by=operator or make_operator())
    return solution


def make_need(organisation, **fields):
    values = {
        "kind": NeedKind.TECHNOLOGY,
        "title": "Triage of CT scans",
        "description": "We need help reading CT scans faster.",
        "scenario": Scenario.SMART_MEDICAL,
        "capabilities": [],
        **fields,
    }
    return needs.post_need(organisation, by=manager_of(organisation), **values)
