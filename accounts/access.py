"""Who may act for an organisation: the one rule, used by every platform's services, views and API.

An organisation's owners and administrators manage it (its quota requests, applications, alliance profile,
members). A supervisor who is not also an operator changes nothing anywhere, even in an organisation they
belong to (the middleware refuses their writes too; services hold the same line for tasks and the shell).
"""

from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, MembershipRole, Organisation, User
from core.exceptions import NotAllowed
from core.roles import is_operator, is_read_only

NOT_A_MANAGER = _("Only the organisation's owners and administrators may do this.")


def managed_membership(user, organisation: Organisation | int) -> Membership | None:
    """The user's membership of the organisation when it lets them manage it; None otherwise."""
    if not getattr(user, "is_authenticated", False) or is_read_only(user):
        return None
    organisation_id = organisation if isinstance(organisation, int) else organisation.pk
    return Membership.objects.filter(
        organisation_id=organisation_id, user=user, role__in=MembershipRole.managing()
    ).first()


def manages(user, organisation: Organisation | int) -> bool:
    """May the user manage the organisation (``organisation`` or its id)?"""
    return managed_membership(user, organisation) is not None


def require_manager(organisation: Organisation | int, user: User, message=None) -> Membership:
    """The user's managing membership, or ``NotAllowed`` (a 403 on pages and in the API) with ``message``."""
    membership = managed_membership(user, organisation)
    if membership is None:
        raise NotAllowed(message or NOT_A_MANAGER)
    return membership


def require_operator(user, message=None) -> None:
    """Only the center's operators (never a read-only supervisor) may go on."""
    if not is_operator(user):
        raise NotAllowed(message or _("Only the center's operators may do this."))
