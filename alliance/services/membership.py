"""Use cases of the alliance membership: apply, decide, suspend, reinstate, withdraw, change tier, renew, and the
daily recheck.

Profiles are in ``alliance.services.profiles``, the directory in ``alliance.services.directory``; solutions,
needs and matches in ``alliance.services.solutions``, ``needs`` and ``matching``.
"""

from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import require_manager, require_operator
from accounts.models import Organisation, User
from alliance.models import AllianceMembership, MembershipRenewal, MembershipStatus, RenewalStatus, Tier
from alliance.services import directory
from alliance.services.mail import notify_managers
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.roles import is_operator
from core.states import save_transition

# What the checks say to someone who may not do it (the alliance's own wording).
NOT_A_MANAGER = gettext_lazy("Only the organisation's owners and administrators act for it in the alliance.")
NOT_AN_OPERATOR = gettext_lazy("Only the center's operators decide this.")


def require_alliance_manager(organisation: Organisation | int, user: User) -> None:
    require_manager(organisation, user, NOT_A_MANAGER)


def require_alliance_operator(user: User) -> None:
    require_operator(user, NOT_AN_OPERATOR)


def operator_move(obj, move, *, lock, by: User, action: str, reason: str = ""):
    """An operator's move of ``obj``: refused to others, made on the row ``lock`` locks, saved and audited."""
    require_alliance_operator(by)
    obj = lock(obj)
    old = move(obj)
    save_transition(obj, old, by=by, action=action, reason=(reason or "").strip())
    return obj


def _notify(membership: AllianceMembership, template: str, **context) -> None:
    notify_managers(
        membership.organisation_id,
        template,
        path=membership.get_absolute_url(),
        membership=membership,
        organisation=membership.organisation,
        **context,
    )


def _locked(membership: AllianceMembership | int) -> AllianceMembership | None:
    pk = getattr(membership, "pk", membership)
    return (
        AllianceMembership.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .filter(pk=pk)
        .first()
    )


def _reason(reason: str) -> str:
    return (reason or "").strip()


# --- membership --------------------------------------------------------------------------------------


@transaction.atomic
def apply_for_membership(
    organisation: Organisation, *, by: User, tier: str = Tier.MEMBER, statement: str
) -> AllianceMembership:
    """A verified organisation's owner or administrator applies to join with a tier and a statement."""
    require_alliance_manager(organisation, by)
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if not organisation.is_verified:
        raise NotAllowed(
            _("Only verified organisations join the alliance. Submit yours for verification first.")
        )
    if tier not in Tier.values:
        raise DomainError(_("Choose one of the alliance's tiers."))
    statement = (statement or "").strip()
    if not statement:
        raise DomainError(_("Say in a few sentences why the organisation joins and what it brings."))
    if len(statement) > 5000:
        raise DomainError(_("The statement is at most 5,000 characters."))
    if AllianceMembership.objects.filter(organisation=organisation).open().exists():
        raise Conflict(_("This organisation already has an open application or membership."))
    membership = AllianceMembership.objects.create(
        organisation=organisation, tier=tier, statement=statement, applied_by=by
    )
    save_transition(
        membership, None, by=by, action="alliance_membership.apply", changes={"tier": (None, tier)}
    )
    return membership


@transaction.atomic
def approve_membership(
    membership: AllianceMembership, *, by: User, start: date | None = None
) -> AllianceMembership:
    require_alliance_operator(by)
    membership = _locked(membership)
    if not membership.organisation.is_verified:
        raise Conflict(_("The organisation is no longer verified; it cannot become a member."))
    old = membership.approve(by=by, start=start or timezone.localdate())
    save_transition(
        membership,
        old,
        by=by,
        action="alliance_membership.approve",
        changes={
            "start_date": (None, str(membership.start_date)),
            "end_date": (None, str(membership.end_date)),
        },
    )
    directory.sync_entry(membership.organisation_id)
    _notify(membership, "membership_decision")
    return membership


@transaction.atomic
def reject_membership(membership: AllianceMembership, *, by: User, reason: str) -> AllianceMembership:
    membership = operator_move(
        membership,
        lambda m: m.reject(by=by, reason=reason),
        lock=_locked,
        by=by,
        action="alliance_membership.reject",
        reason=reason,
    )
    _notify(membership, "membership_decision")
    return membership


def _change_status(membership: AllianceMembership, move, *, by: User, action: str, reason: str):
    """An operator suspends or reinstates a membership: the directory and the organisation follow."""
    membership = operator_move(membership, move, lock=_locked, by=by, action=action, reason=reason)
    directory.sync_entry(membership.organisation_id)
    _notify(membership, "membership_status")
    return membership


@transaction.atomic
def suspend_membership(membership: AllianceMembership, *, by: User, reason: str) -> AllianceMembership:
    return _change_status(
        membership,
        lambda m: m.suspend(reason=reason),
        by=by,
        action="alliance_membership.suspend",
        reason=reason,
    )


@transaction.atomic
def reinstate_membership(membership: AllianceMembership, *, by: User, reason: str = "") -> AllianceMembership:
    today = timezone.localdate()
    return _change_status(
        membership,
        lambda m: m.reinstate(today=today),
        by=by,
        action="alliance_membership.reinstate",
        reason=reason,
    )


@transaction.atomic
def withdraw_membership(membership: AllianceMembership, *, by: User, reason: str = "") -> AllianceMembership:
    """The organisation leaves (or takes back its application); operators may record it too."""
    membership = _locked(membership)
    if not is_operator(by):
        require_alliance_manager(membership.organisation, by)
    old = membership.withdraw()
    save_transition(membership, old, by=by, action="alliance_membership.withdraw", reason=_reason(reason))
    directory.sync_entry(membership.organisation_id)
    return membership


@transaction.atomic
def change_tier(
    membership: AllianceMembership, *, by: User, tier: str, reason: str = ""
) -> AllianceMembership:
    require_alliance_operator(by)
    membership = _locked(membership)
    if tier not in Tier.values:
        raise DomainError(_("Choose one of the alliance's tiers."))
    if tier == membership.tier:
        return membership
    old = membership.tier
    membership.tier = tier
    membership.save(update_fields=["tier"])
    audit.record(
        "alliance_membership.change_tier",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"tier": (old, tier)},
        reason=_reason(reason),
    )
    directory.sync_entry(membership.organisation_id)
    return membership


# --- renewal (audited on the membership it renews) ---------------------------------------------------


@transaction.atomic
def request_renewal(membership: AllianceMembership, *, by: User, note: str = "") -> MembershipRenewal:
    membership = _locked(membership)
    require_alliance_manager(membership.organisation, by)
    if membership.computed_status() not in MembershipStatus.current():
        raise Conflict(_("Only an active membership or one in its grace period can be renewed; apply again."))
    if membership.renewals.filter(status=RenewalStatus.PENDING).exists():
        raise Conflict(_("A renewal of this membership is already waiting for a decision."))
    note = (note or "").strip()
    if len(note) > 2000:
        raise DomainError(_("The note is at most 2,000 characters."))
    renewal = MembershipRenewal.objects.create(membership=membership, requested_by=by, note=note)
    audit.record(
        "alliance_membership.request_renewal",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"renewal": (None, renewal.status)},
    )
    return renewal


def _locked_renewal(renewal: MembershipRenewal) -> MembershipRenewal:
    return MembershipRenewal.objects.select_for_update(of=("self",)).get(pk=renewal.pk)


@transaction.atomic
def approve_renewal(renewal: MembershipRenewal, *, by: User) -> MembershipRenewal:
    require_alliance_operator(by)
    renewal = _locked_renewal(renewal)
    membership = _locked(renewal.membership_id)
    old_status = membership.status
    old_end, new_end = membership.extend(today=timezone.localdate())
    renewal.approve(by=by, new_end_date=new_end)
    renewal.save()
    save_transition(
        membership,
        old_status,
        by=by,
        action="alliance_membership.renew",
        changes={"end_date": (str(old_end), str(new_end))},
    )
    directory.sync_entry(membership.organisation_id)
    _notify(membership, "renewal_decision", renewal=renewal)
    return renewal


@transaction.atomic
def reject_renewal(renewal: MembershipRenewal, *, by: User, reason: str) -> MembershipRenewal:
    require_alliance_operator(by)
    renewal = _locked_renewal(renewal)
    old = renewal.reject(by=by, reason=reason)
    renewal.save()
    membership = renewal.membership
    audit.record(
        "alliance_membership.reject_renewal",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"renewal": (old, renewal.status)},
        reason=renewal.decision_reason,
    )
    _notify(membership, "renewal_decision", renewal=renewal)
    return renewal


# --- daily recheck -----------------------------------------------------------------------------------


def recheck_memberships(today: date | None = None) -> dict[str, int]:
    """Recompute the stored status of every dated membership whose dates moved it on, and send renewal
    reminders once per term. Safe to run any number of times a day."""
    today = today or timezone.localdate()
    changed = 0
    for pk in list(AllianceMembership.objects.stale(today).values_list("pk", flat=True)):
        changed += _recheck_one(pk, today)
    reminded = 0
    for pk in list(AllianceMembership.objects.due_for_reminder(today).values_list("pk", flat=True)):
        reminded += _remind_one(pk, today)
    resynced = directory.resync_changed_entries()
    return {"changed": changed, "reminded": reminded, "resynced": resynced}


@transaction.atomic
def _recheck_one(pk: int, today: date) -> int:
    membership = _locked(pk)
    if membership is None:
        return 0
    old = membership.recompute(today=today)
    if membership.status == old:
        return 0
    save_transition(
        membership,
        old,
        by=None,
        action=f"alliance_membership.{membership.status}",
        reason=_("Recomputed from the membership's dates."),
    )
    directory.sync_entry(membership.organisation_id)
    if membership.status in (MembershipStatus.GRACE, MembershipStatus.EXPIRED):
        _notify(membership, "membership_status")
    return 1


@transaction.atomic
def _remind_one(pk: int, today: date) -> int:
    membership = _locked(pk)
    if membership is None or membership.reminder_sent_for == membership.end_date:
        return 0
    membership.reminder_sent_for = membership.end_date
    membership.save(update_fields=["reminder_sent_for"])
    audit.record(
        "alliance_membership.remind_renewal",
        membership,
        organisation=membership.organisation,
        changes={"reminder_sent_for": (None, str(membership.end_date))},
    )
    _notify(membership, "renewal_reminder", days_left=(membership.end_date - today).days)
    return 1
