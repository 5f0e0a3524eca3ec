"""Use cases of the alliance membership: apply, decide, suspend, withdraw, renew, and the daily recheck.

Profiles and the directory are in ``alliance.directory``; solutions, needs and matches in ``alliance.matching``.
"""

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, MembershipRole, Organisation, User
from alliance import directory
from alliance.models import AllianceMembership, MembershipRenewal, MembershipStatus, RenewalStatus, Tier
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.roles import is_operator, is_supervisor

# --- checks ------------------------------------------------------------------------------------------


def require_manager(organisation: Organisation, user: User) -> None:
    if is_supervisor(user) and not is_operator(user):
        raise NotAllowed(_("Supervisors read everything and change nothing."))
    if (
        not getattr(user, "is_authenticated", False)
        or not Membership.objects.filter(
            organisation=organisation, user=user, role__in=MembershipRole.managing()
        ).exists()
    ):
        raise NotAllowed(_("Only the organisation's owners and administrators act for it in the alliance."))


def require_operator(user: User) -> None:
    if not is_operator(user):
        raise NotAllowed(_("Only the center's operators decide this."))


def managers_emails(organisation_id: int) -> list[str]:
    return list(
        Membership.objects.filter(
            organisation_id=organisation_id, role__in=MembershipRole.managing(), user__is_active=True
        ).values_list("user__email", flat=True)
    )


def _notify(membership: AllianceMembership, template: str, **context) -> None:
    send_templated_mail(
        f"alliance/email/{template}",
        to=managers_emails(membership.organisation_id),
        context={
            "membership": membership,
            "organisation": membership.organisation,
            "url": settings.SITE_URL + membership.get_absolute_url(),
            **context,
        },
    )


def _locked(membership: AllianceMembership) -> AllianceMembership:
    return (
        AllianceMembership.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .get(pk=membership.pk)
    )


# --- membership --------------------------------------------------------------------------------------


@transaction.atomic
def apply_for_membership(
    organisation: Organisation, *, by: User, tier: str = Tier.MEMBER, statement: str
) -> AllianceMembership:
    """A verified organisation's owner or administrator applies to join with a tier and a statement."""
    require_manager(organisation, by)
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
    audit.record(
        "alliance_membership.apply",
        membership,
        actor=by,
        organisation=organisation,
        changes={"status": (None, membership.status), "tier": (None, tier)},
    )
    return membership


@transaction.atomic
def approve_membership(
    membership: AllianceMembership, *, by: User, start: date | None = None
) -> AllianceMembership:
    require_operator(by)
    membership = _locked(membership)
    if not membership.organisation.is_verified:
        raise Conflict(_("The organisation is no longer verified; it cannot become a member."))
    old = membership.approve(by=by, start=start or timezone.localdate())
    membership.save()
    audit.record(
        "alliance_membership.approve",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={
            "status": (old, membership.status),
            "start_date": (None, str(membership.start_date)),
            "end_date": (None, str(membership.end_date)),
        },
    )
    directory.sync_entry(membership.organisation_id)
    _notify(membership, "membership_decision")
    return membership


@transaction.atomic
def reject_membership(membership: AllianceMembership, *, by: User, reason: str) -> AllianceMembership:
    require_operator(by)
    membership = _locked(membership)
    old = membership.reject(by=by, reason=reason)
    membership.save()
    audit.record(
        "alliance_membership.reject",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"status": (old, membership.status)},
        reason=membership.decision_reason,
    )
    _notify(membership, "membership_decision")
    return membership


@transaction.atomic
def suspend_membership(membership: AllianceMembership, *, by: User, reason: str) -> AllianceMembership:
    require_operator(by)
    membership = _locked(membership)
    old = membership.suspend(reason=reason)
    membership.save()
    audit.record(
        "alliance_membership.suspend",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"status": (old, membership.status)},
        reason=membership.decision_reason,
    )
    directory.sync_entry(membership.organisation_id)
    _notify(membership, "membership_status")
    return membership


@transaction.atomic
def reinstate_membership(membership: AllianceMembership, *, by: User, reason: str = "") -> AllianceMembership:
    require_operator(by)
    membership = _locked(membership)
    old = membership.reinstate(today=timezone.localdate())
    membership.save()
    audit.record(
        "alliance_membership.reinstate",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"status": (old, membership.status)},
        reason=(reason or "").strip(),
    )
    directory.sync_entry(membership.organisation_id)
    _notify(membership, "membership_status")
    return membership


@transaction.atomic
def withdraw_membership(membership: AllianceMembership, *, by: User, reason: str = "") -> AllianceMembership:
    """The organisation leaves (or takes back its application); operators may record it too."""
    membership = _locked(membership)
    if not is_operator(by):
        require_manager(membership.organisation, by)
    old = membership.withdraw()
    membership.save()
    audit.record(
        "alliance_membership.withdraw",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"status": (old, membership.status)},
        reason=(reason or "").strip(),
    )
    directory.sync_entry(membership.organisation_id)
    return membership


@transaction.atomic
def change_tier(
    membership: AllianceMembership, *, by: User, tier: str, reason: str = ""
) -> AllianceMembership:
    require_operator(by)
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
        reason=(reason or "").strip(),
    )
    directory.sync_entry(membership.organisation_id)
    return membership


# --- renewal -----------------------------------------------------------------------------------------


@transaction.atomic
def request_renewal(membership: AllianceMembership, *, by: User, note: str = "") -> MembershipRenewal:
    membership = _locked(membership)
    require_manager(membership.organisation, by)
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


@transaction.atomic
def approve_renewal(renewal: MembershipRenewal, *, by: User) -> MembershipRenewal:
    require_operator(by)
    renewal = MembershipRenewal.objects.select_for_update(of=("self",)).get(pk=renewal.pk)
    membership = _locked(renewal.membership)
    old_status = membership.status
    old_end, new_end = membership.extend(today=timezone.localdate())
    renewal.approve(by=by, new_end_date=new_end)
    renewal.save()
    membership.save()
    audit.record(
        "alliance_membership.renew",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"end_date": (str(old_end), str(new_end)), "status": (old_status, membership.status)},
    )
    directory.sync_entry(membership.organisation_id)
    _notify(membership, "renewal_decision", renewal=renewal)
    return renewal


@transaction.atomic
def reject_renewal(renewal: MembershipRenewal, *, by: User, reason: str) -> MembershipRenewal:
    require_operator(by)
    renewal = MembershipRenewal.objects.select_for_update(of=("self",)).get(pk=renewal.pk)
    renewal.reject(by=by, reason=reason)
    renewal.save()
    membership = renewal.membership
    audit.record(
        "alliance_membership.reject_renewal",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"renewal": (RenewalStatus.PENDING, renewal.status)},
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
    membership = AllianceMembership.objects.select_for_update(of=("self",)).select_related("organisation")
    membership = membership.filter(pk=pk).first()
    if membership is None:
        return 0
    old = membership.status
    membership.recompute(today=today)
    if membership.status == old:
        return 0
    membership.save(update_fields=["status", "status_changed_at"])
    audit.record(
        f"alliance_membership.{membership.status}",
        membership,
        organisation=membership.organisation,
        changes={"status": (old, membership.status)},
        reason=_("Recomputed from the membership's dates."),
    )
    directory.sync_entry(membership.organisation_id)
    if membership.status in (MembershipStatus.GRACE, MembershipStatus.EXPIRED):
        _notify(membership, "membership_status")
    return 1


@transaction.atomic
def _remind_one(pk: int, today: date) -> int:
    membership = (
        AllianceMembership.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .filter(pk=pk)
        .first()
    )
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
