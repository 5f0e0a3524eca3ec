"""People on an allocation: who may submit jobs under its account, and how much of it each may use.

Managers of the organisation (and the center's operators, as for every other change to an allocation) add and
remove cluster users and cap one person's share. A person who leaves the organisation, whose account is
deactivated or deleted, loses access to its allocations at once. Each change is audited on the allocation,
mailed to the person and converged to the cluster after commit: a person taken off is blocked while jobs of
theirs still run (they finish, new ones are refused), then their association is deleted.
"""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.models import Membership, Organisation, User
from compute.identities import services as identities
from compute.identities.models import LockReason
from compute.models import (
    Allocation,
    AllocationMember,
    AllocationStatus,
    QuotaRequest,
)
from compute.services.allocations import manager_emails, require_quota_manager, schedule_sync
from core import audit
from core.exceptions import Conflict
from core.mail import send_templated_mail
from core.roles import is_operator

# People can no longer be added or capped once the allocation has ended (an extension reopens it).
ENDED = (AllocationStatus.EXPIRED, AllocationStatus.CLOSED)

# Why someone lost access, as the audit trail records it and the mail explains it.
REMOVED_BY_MANAGER = "removed by a manager"
LEFT_ORGANISATION = "left the organisation"
ACCOUNT_DEACTIVATED = "account deactivated"
ACCOUNT_DELETED = "account deleted"


# --- checks ------------------------------------------------------------------------------------------


def require_people_manager(allocation: Allocation, user: User) -> None:
    """The rule of every other change to an allocation: its organisation's managers, and the operators."""
    if not is_operator(user):
        require_quota_manager(allocation.organisation, user)


def may_manage_people(allocation: Allocation, user: User) -> bool:
    """``require_people_manager`` as a yes or no, for the pages."""
    return is_operator(user) or access.manages(user, allocation.organisation_id)


def cluster_username_of(user: User) -> str | None:
    """The person's cluster user name: their identity's (one per person, for ever), or None."""
    identity = identities.identity_of(user)
    return identity.username if identity is not None else None


def planned_username(user: User, *, avoid: set[str] | frozenset[str] = frozenset()) -> str:
    """The user name the person has, or will get when their access starts (derived from their email)."""
    return cluster_username_of(user) or identities.suggest_username(user, avoid=avoid)


def cluster_username_problem(user: User, username: str | None = None) -> str | None:
    """Why ``user`` cannot be given cluster access now, or None: an identity suspended by an operator or of a
    deleted account. (Names are no longer typed: ``username`` is ignored, kept for older callers.)"""
    identity = identities.identity_of(user)
    if identity is not None and identity.lock_reason in (LockReason.SUSPENDED, LockReason.DELETED):
        return _(
            "The cluster identity of %(person)s is suspended by the center's operators; ask them before "
            "giving this person access."
        ) % {"person": user.email or str(user)}
    return None


def clean_limit(allocation: Allocation, value) -> Decimal | None:
    """A cap in the allocation's unit, more than zero and at most the grant; blank means no cap."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError(
            {"limit_amount": [_("Give the cap as a number, or leave it empty for no cap.")]}
        )
    if amount <= 0:
        raise ValidationError(
            {"limit_amount": [_("A cap must be more than zero; leave it empty for no cap.")]}
        )
    if amount > allocation.granted_amount:
        raise ValidationError(
            {
                "limit_amount": [
                    _("A cap cannot exceed the allocation's grant of %(granted)s %(unit)s.")
                    % {"granted": allocation.granted_amount, "unit": allocation.partition.get_unit_display()}
                ]
            }
        )
    if amount.as_tuple().exponent < -2:
        raise ValidationError({"limit_amount": [_("Use at most two decimal places.")]})
    return amount.quantize(Decimal("0.01"))


def _locked(allocation: Allocation) -> Allocation:
    return (
        Allocation.objects.select_for_update(of=("self",))
        .select_related("organisation", "partition")
        .get(pk=allocation.pk)
    )


def _require_not_ended(allocation: Allocation) -> None:
    if allocation.status in ENDED:
        raise Conflict(
            _(
                "This allocation has ended; its cluster users can no longer change. Request an extension first."
            )
        )


# --- changes -----------------------------------------------------------------------------------------


@transaction.atomic
def add_allocation_member(
    allocation: Allocation, *, by: User, user: User | None, limit_amount=None
) -> AllocationMember:
    """Give a member of the organisation access to the allocation's account on the cluster.

    The person is picked, never a name typed: they get (or keep) their one cluster identity, whose user name
    the allocation's member row copies. A bad input raises ``ValidationError`` by field and changes nothing.
    """
    allocation = _locked(allocation)
    require_people_manager(allocation, by)
    _require_not_ended(allocation)
    member = _add(allocation, user=user, limit_amount=limit_amount, by=by)
    _record_added(member, by=by)
    schedule_sync(allocation)
    return member


def _add(
    allocation: Allocation, *, user: User | None, limit_amount, by: User | None = None, preferred: str = ""
) -> AllocationMember:
    """Check and create one person's access (no audit, no mail, no sync: the callers do those)."""
    if user is None:
        raise ValidationError({"user": [_("Choose the person who gets access.")]})
    if not user.is_active:
        raise ValidationError({"user": [_("This person's account is deactivated.")]})
    if not Membership.objects.filter(organisation=allocation.organisation, user=user).exists():
        raise ValidationError(
            {
                "user": [
                    _("%(person)s is not a member of %(organisation)s.")
                    % {
                        "person": user.email or str(user),
                        "organisation": allocation.organisation.display_name,
                    }
                ]
            }
        )
    current = allocation.members.current().filter(user=user).first()
    if current is not None:
        raise ValidationError(
            {
                "user": [
                    _("%(person)s already has access, as “%(username)s”.")
                    % {"person": user.email or str(user), "username": current.cluster_username}
                ]
            }
        )
    problem = cluster_username_problem(user)
    if problem:
        raise ValidationError({"user": [problem]})
    limit = clean_limit(allocation, limit_amount)
    # The person's one identity (created now if this is their first access): its name is what Slurm sees.
    identity = identities.ensure_identity(user, by=by, preferred=preferred)
    member = AllocationMember.objects.create(
        allocation=allocation, user=user, cluster_username=identity.username, limit_amount=limit
    )
    identities.review_access(user)
    return member


def _record_added(member: AllocationMember, *, by: User | None, reason: str = "") -> None:
    allocation = member.allocation
    changes = {"cluster_user": (None, member.cluster_username)}
    if member.limit_amount is not None:
        changes["limit_amount"] = (None, str(member.limit_amount))
    audit.record(
        "allocation.add_cluster_user",
        allocation,
        actor=by,
        organisation=allocation.organisation,
        changes=changes,
        reason=reason,
    )
    _mail(member, "added")


def _current_member(allocation: Allocation, member: AllocationMember) -> AllocationMember:
    member = (
        AllocationMember.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=member.pk, allocation=allocation)
        .first()
    )
    if member is None or not member.is_current:
        raise Conflict(_("This person no longer has access to the allocation."))
    return member


@transaction.atomic
def remove_allocation_member(member: AllocationMember, *, by: User) -> AllocationMember:
    """Take a person off the allocation: their running jobs finish, new ones are refused.

    The last cluster user of a live allocation stays: without anyone the grant could not be used (close the
    allocation instead, or add someone first).
    """
    allocation = _locked(member.allocation)
    require_people_manager(allocation, by)
    if allocation.status == AllocationStatus.CLOSED:
        raise Conflict(_("This allocation is closed; its account is being removed from the cluster."))
    member = _current_member(allocation, member)
    if not allocation.members.current().exclude(pk=member.pk).exists():
        raise Conflict(
            _(
                "“%(username)s” is the last cluster user of this allocation. Add someone else first, or "
                "request an early close."
            )
            % {"username": member.cluster_username}
        )
    _withdraw(member, by=by, reason=REMOVED_BY_MANAGER, notify=True)
    schedule_sync(allocation)
    return member


@transaction.atomic
def cap_allocation_member(member: AllocationMember, *, by: User, limit_amount) -> AllocationMember:
    """Cap one person's share of the allocation (in its unit), or lift the cap with an empty value."""
    allocation = _locked(member.allocation)
    require_people_manager(allocation, by)
    _require_not_ended(allocation)
    member = _current_member(allocation, member)
    limit = clean_limit(allocation, limit_amount)
    if limit == member.limit_amount:
        return member
    old = member.limit_amount
    member.limit_amount = limit
    member.save(update_fields=["limit_amount"])
    audit.record(
        "allocation.cap_cluster_user" if limit is not None else "allocation.uncap_cluster_user",
        allocation,
        actor=by,
        organisation=allocation.organisation,
        changes={
            "limit_amount": (None if old is None else str(old), None if limit is None else str(limit)),
        },
        reason=member.cluster_username,
    )
    member.allocation = allocation
    _mail(member, "capped" if limit is not None else "uncapped", previous=old)
    schedule_sync(allocation)
    return member


def _withdraw(member: AllocationMember, *, by: User | None, reason: str, notify: bool) -> None:
    """Mark one person's access ended (the row stays, for the history), audit it and tell them."""
    allocation = member.allocation
    member.removed_at = timezone.now()
    member.save(update_fields=["removed_at"])
    # Their last allocation: the grace period before their login locks starts (the mail below says so).
    identities.review_access(member.user, notify=False)
    audit.record(
        "allocation.remove_cluster_user",
        allocation,
        actor=by,
        organisation=allocation.organisation,
        changes={"cluster_user": (member.cluster_username, None)},
        reason=reason,
    )
    if notify:
        _mail(member, "removed", reason=reason, identity=identities.identity_of(member.user))


@transaction.atomic
def withdraw_cluster_access(
    user: User, *, by: User | None, reason: str, organisation: Organisation | None = None, notify: bool = True
) -> int:
    """Take a person off every current allocation (of ``organisation``, or of all) and converge the cluster.

    No "last cluster user" rule here: someone who left, or whose account is off, must not keep access.
    Returns how many allocations they lost.
    """
    members = (
        AllocationMember.objects.current()
        .filter(user=user)
        .select_related("allocation__organisation", "allocation__partition", "user")
        .select_for_update(of=("self",))
    )
    if organisation is not None:
        members = members.filter(allocation__organisation=organisation)
    count = 0
    for member in members:
        _withdraw(member, by=by, reason=reason, notify=notify)
        schedule_sync(member.allocation)
        count += 1
    return count


def apply_request_members(request: QuotaRequest, *, by: User) -> list[AllocationMember]:
    """An approved increase or extension brings the people it names onto the allocation (those already on it
    stay as they are). Someone who can no longer be added (left the organisation since, username taken) is
    skipped, and the audit trail says why; the approval itself stands."""
    allocation = _locked(request.allocation)
    added = []
    for named in request.members.select_related("user").order_by("id"):
        if allocation.members.current().filter(user=named.user).exists():
            continue
        try:
            with transaction.atomic():
                member = _add(
                    allocation, user=named.user, limit_amount=None, by=by, preferred=named.cluster_username
                )
        except ValidationError as error:
            audit.record(
                "allocation.skip_cluster_user",
                allocation,
                actor=by,
                organisation=allocation.organisation,
                changes={"cluster_user": (None, named.cluster_username)},
                reason=" ".join(error.messages),
            )
            continue
        _record_added(member, by=by, reason=_("named on request #%(id)s") % {"id": request.pk})
        added.append(member)
    return added


# --- signal receivers --------------------------------------------------------------------------------


def on_member_left(sender, *, organisation, user, by=None, **kwargs) -> None:
    """Receiver of ``core.signals.member_left``: no access to the organisation's allocations any more."""
    withdraw_cluster_access(user, by=by, reason=LEFT_ORGANISATION, organisation=organisation)


def on_user_saved(sender, *, instance, created=False, **kwargs) -> None:
    """Receiver of the user model's ``post_save``: a deactivated account keeps no cluster access.

    Nothing to do for an active account, and nothing left for one already withdrawn (so saving an inactive
    account again, or the save that ends an account deletion, changes nothing)."""
    if created or instance.is_active:
        return
    withdraw_cluster_access(instance, by=None, reason=ACCOUNT_DEACTIVATED)


# --- mail --------------------------------------------------------------------------------------------


def _mail(member: AllocationMember, event: str, **extra) -> None:
    """Tell the person what changed for them, what to do now and whom to ask."""
    if member.user is None or not member.user.email:
        return
    allocation = member.allocation
    send_templated_mail(
        f"compute/email/cluster_access_{event}",
        to=[member.user.email],
        context={
            "member": member,
            "allocation": allocation,
            "partition": allocation.partition,
            "contacts": manager_emails(allocation.organisation),
            "login_url": settings.CLUSTER_LOGIN_INSTRUCTIONS_URL,
            "url": settings.SITE_URL + allocation.get_absolute_url(),
            **extra,
        },
    )
