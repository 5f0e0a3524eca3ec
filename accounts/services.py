"""Use cases of people and organisations. Pages, the admin and the API all call these."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.access import require_manager
from accounts.models import (
    Invitation,
    InvitationStatus,
    Membership,
    MembershipRole,
    Organisation,
    User,
    VerificationStatus,
)
from core import audit, signals
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.roles import SiteRole, is_operator
from core.states import save_transition


def _managers_emails(organisation: Organisation) -> list[str]:
    return list(
        Membership.objects.filter(organisation=organisation, role__in=MembershipRole.managing())
        .select_related("user")
        .values_list("user__email", flat=True)
    )


def _save_checked(organisation: Organisation) -> None:
    organisation.full_clean()
    try:
        organisation.save()
    except IntegrityError as exc:  # a concurrent registration of the same code, after full_clean passed
        raise Conflict(
            _("An organisation with this Unified Social Credit Code is already registered.")
        ) from exc


@transaction.atomic
def create_organisation(*, by: User, **fields) -> Organisation:
    """Create an organisation with its creator as owner."""
    organisation = Organisation(
        created_by=by, **{k: v for k, v in fields.items() if k in Organisation.PROFILE_FIELDS}
    )
    _save_checked(organisation)
    membership = Membership.objects.create(user=by, organisation=organisation, role=MembershipRole.OWNER)
    audit.record(
        "organisation.create",
        organisation,
        actor=by,
        changes={"verification_status": (None, organisation.verification_status)},
    )
    audit.record(
        "membership.create",
        membership,
        actor=by,
        organisation=organisation,
        changes={"role": (None, membership.role)},
    )
    return organisation


@transaction.atomic
def update_organisation(organisation: Organisation, *, by: User, **fields) -> Organisation:
    """Change the profile; a verified organisation whose legal identity changes is verified again."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if not is_operator(by):
        require_manager(organisation, by)
    changes = {}
    for name, value in fields.items():
        if name not in Organisation.PROFILE_FIELDS:
            continue
        before = getattr(organisation, name)
        if name == "logo":
            value = "" if value is False else value  # False: the form's "clear" box
            if value is None or value == before:
                continue
            changes[name] = (before.name or None, getattr(value, "name", value) or None)
        elif value == before:
            continue
        else:
            changes[name] = (before, value)
        setattr(organisation, name, value)
    if not changes:
        return organisation
    identity_changed = any(f in changes for f in Organisation.IDENTITY_FIELDS)
    if identity_changed and organisation.verification_status == VerificationStatus.VERIFIED:
        changes["verification_status"] = (organisation.reset_verification(), organisation.verification_status)
    _save_checked(organisation)
    audit.record("organisation.update", organisation, actor=by, changes=changes)
    _refresh_directory(organisation)
    return organisation


def _refresh_directory(organisation: Organisation) -> None:
    """Tell whoever keeps a copy of the organisation's public facts (the alliance directory) at once."""
    signals.organisation_changed.send(sender=Organisation, organisation=organisation)


@transaction.atomic
def submit_organisation_for_verification(organisation: Organisation, *, by: User) -> Organisation:
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    require_manager(organisation, by)
    old = organisation.submit_for_verification()
    save_transition(
        organisation, old, by=by, action="organisation.submit_for_verification", fields=["updated_at"]
    )
    return organisation


def _require_verifier(user: User) -> None:
    if not (is_operator(user) and user.has_perm("accounts.verify_organisation")):
        raise NotAllowed(_("Only operators decide on organisation verification."))


@transaction.atomic
def verify_organisation(organisation: Organisation, *, by: User) -> Organisation:
    _require_verifier(by)
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    old = organisation.verify(by=by)
    save_transition(organisation, old, by=by, action="organisation.verify", fields=["updated_at"])
    _notify_verification_decision(organisation)
    _refresh_directory(organisation)
    return organisation


@transaction.atomic
def reject_organisation(organisation: Organisation, *, by: User, reason: str) -> Organisation:
    _require_verifier(by)
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    old = organisation.reject(by=by, reason=reason)
    save_transition(
        organisation,
        old,
        by=by,
        action="organisation.reject",
        fields=["updated_at"],
        reason=organisation.verification_reason,
    )
    _notify_verification_decision(organisation)
    return organisation


def _notify_verification_decision(organisation: Organisation) -> None:
    send_templated_mail(
        "accounts/email/verification_decision",
        to=_managers_emails(organisation),
        context={"organisation": organisation, "url": settings.SITE_URL + organisation.get_absolute_url()},
    )


# --- memberships --------------------------------------------------------------------------------------


@transaction.atomic
def invite_member(organisation: Organisation, *, by: User, email: str, role: str) -> Invitation:
    require_manager(organisation, by)
    email = User.objects.normalize_email(email).strip().lower()
    if role not in MembershipRole.values:
        raise DomainError(_("Choose a role: owner, administrator or member."))
    if role == MembershipRole.OWNER and not Membership.objects.owners().filter(
        organisation=organisation, user=by
    ):
        raise NotAllowed(_("Only an owner may invite another owner."))
    if Membership.objects.filter(organisation=organisation, user__email__iexact=email).exists():
        raise Conflict(_("%(email)s is already a member of this organisation.") % {"email": email})
    if Invitation.objects.pending().filter(organisation=organisation, email__iexact=email).exists():
        raise Conflict(_("%(email)s already has an open invitation to this organisation.") % {"email": email})
    # An invitation that expired but was not yet marked so must not block a new one.
    for stale in Invitation.objects.overdue().filter(organisation=organisation, email__iexact=email):
        _expire(stale)
    invitation = Invitation.objects.create(organisation=organisation, email=email, role=role, invited_by=by)
    audit.record(
        "invitation.create",
        invitation,
        actor=by,
        organisation=organisation,
        changes={"status": (None, invitation.status), "role": (None, role)},
    )
    send_templated_mail(
        "accounts/email/invitation",
        to=[email],
        context={
            "invitation": invitation,
            "inviter": by,
            "url": settings.SITE_URL + invitation.get_absolute_url(),
        },
    )
    return invitation


def accept_invitation(invitation: Invitation, *, user: User) -> Membership:
    invitation = Invitation.objects.get(pk=invitation.pk)
    if invitation.email.lower() != user.email.lower():
        raise NotAllowed(
            _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    if invitation.status == InvitationStatus.PENDING and invitation.is_expired:
        # Record the expiry (its own transaction), then refuse.
        with transaction.atomic():
            locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
            if locked.status == InvitationStatus.PENDING:
                _expire(locked)
        raise DomainError(_("This invitation has expired: ask the organisation to invite you again."))
    return _accept_invitation(invitation, user=user)


@transaction.atomic
def _accept_invitation(invitation: Invitation, *, user: User) -> Membership:
    invitation = Invitation.objects.select_for_update().select_related("organisation").get(pk=invitation.pk)
    old = invitation.accept(user=user)
    save_transition(invitation, old, by=user, action="invitation.accept")
    membership, created = Membership.objects.get_or_create(
        user=user, organisation=invitation.organisation, defaults={"role": invitation.role}
    )
    if created:
        audit.record(
            "membership.create",
            membership,
            actor=user,
            organisation=invitation.organisation,
            changes={"role": (None, membership.role)},
        )
    return membership


@transaction.atomic
def decline_invitation(invitation: Invitation, *, user: User) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.email.lower() != user.email.lower():
        raise NotAllowed(_("Only the person invited can decline this invitation."))
    old = invitation.decline()
    save_transition(invitation, old, by=user, action="invitation.decline")
    return invitation


@transaction.atomic
def revoke_invitation(invitation: Invitation, *, by: User) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    require_manager(invitation.organisation, by)
    old = invitation.revoke()
    save_transition(invitation, old, by=by, action="invitation.revoke")
    return invitation


def _expire(invitation: Invitation) -> None:
    save_transition(invitation, invitation.expire(), by=None, action="invitation.expire")


def expire_overdue_invitations(*, now=None) -> int:
    """Mark pending invitations past their expiry as expired (run hourly by Celery beat)."""
    count = 0
    for pk in Invitation.objects.overdue().values_list("pk", flat=True):
        with transaction.atomic():
            invitation = Invitation.objects.select_for_update().get(pk=pk)
            if invitation.status == InvitationStatus.PENDING:
                _expire(invitation)
                count += 1
    return count


def _lock_memberships(organisation: Organisation) -> None:
    # Serialise changes to one organisation's members so two owners leaving at once cannot leave none.
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()


def _ensure_an_owner_remains(organisation: Organisation, *, excluding: Membership) -> None:
    others = Membership.objects.owners().filter(organisation=organisation).exclude(pk=excluding.pk)
    if not others.exists():
        raise Conflict(_("An organisation must keep at least one owner: make someone else owner first."))


@transaction.atomic
def change_member_role(membership: Membership, *, by: User, role: str) -> Membership:
    _lock_memberships(membership.organisation)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    actor = require_manager(membership.organisation, by)
    if role not in MembershipRole.values:
        raise DomainError(_("Choose a role: owner, administrator or member."))
    if role == membership.role:
        return membership
    # Only owners make or unmake owners.
    if MembershipRole.OWNER in (role, membership.role) and actor.role != MembershipRole.OWNER:
        raise NotAllowed(_("Only an owner may give or take away the owner role."))
    if membership.role == MembershipRole.OWNER:
        _ensure_an_owner_remains(membership.organisation, excluding=membership)
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit.record(
        "membership.change_role",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"role": (old, role)},
    )
    return membership


@transaction.atomic
def remove_member(membership: Membership, *, by: User) -> None:
    """An owner/admin removes someone, or a member leaves (``by`` is the member)."""
    _lock_memberships(membership.organisation)
    membership = (
        Membership.objects.select_for_update().select_related("organisation", "user").get(pk=membership.pk)
    )
    leaving = membership.user_id == by.pk
    if not leaving:
        actor = require_manager(membership.organisation, by)
        if membership.role == MembershipRole.OWNER and actor.role != MembershipRole.OWNER:
            raise NotAllowed(_("Only an owner may remove another owner."))
    if membership.role == MembershipRole.OWNER:
        _ensure_an_owner_remains(membership.organisation, excluding=membership)
    audit.record(
        "membership.leave" if leaving else "membership.remove",
        membership,
        actor=by,
        organisation=membership.organisation,
        changes={"role": (membership.role, None)},
    )
    membership.delete()
    # Platforms that keep something per member (cluster access, seats) let go of it.
    signals.member_left.send(
        sender=Membership, organisation=membership.organisation, user=membership.user, by=by
    )


# --- site roles ------------------------------------------------------------------------------------


@transaction.atomic
def set_site_roles(user: User, *, by: User | None, roles: set[str]) -> User:
    """Give a person exactly these site roles; operators and supervisors get back-office access."""
    unknown = set(roles) - set(SiteRole.values)
    if unknown:
        raise DomainError(_("Unknown site role: %(roles)s") % {"roles": ", ".join(sorted(unknown))})
    before = sorted(user.groups.values_list("name", flat=True))
    groups = Group.objects.filter(name__in=roles)
    user.groups.set(groups)
    is_staff = user.is_superuser or bool(set(roles) & {SiteRole.OPERATOR, SiteRole.SUPERVISOR})
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    user.__dict__.pop("_site_roles_cache", None)
    after = sorted(roles)
    if before != after:
        audit.record("user.set_site_roles", user, actor=by, changes={"site_roles": (before, after)})
    return user


def dashboard_summary(user: User) -> dict:
    """What the signed-in dashboard shows: my organisations, my invitations, what needs my action."""
    memberships = list(
        Membership.objects.filter(user=user).select_related("organisation").order_by("organisation__name_zh")
    )
    invitations = list(
        Invitation.objects.pending().for_email(user.email).select_related("organisation", "invited_by")
    )
    actions = []
    for m in memberships:
        org = m.organisation
        if m.can_manage and org.verification_status in (
            VerificationStatus.UNVERIFIED,
            VerificationStatus.REJECTED,
        ):
            actions.append(("verify", org))
    pending_verifications = (
        Organisation.objects.awaiting_verification().count() if is_operator(user) else None
    )
    return {
        "memberships": memberships,
        "invitations": invitations,
        "actions": actions,
        "pending_verifications": pending_verifications,
    }
