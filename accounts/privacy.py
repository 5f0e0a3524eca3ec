"""Personal-information rights (PIPL): consents, a copy of one's data, deletion of one's account.

Each app lists what it holds about a person as a ``core.hooks.PERSONAL_DATA`` hook; the export covers every
one of them. Deleting an account sends ``core.signals.account_deleting``, on which each platform lets go of
what it holds.
"""

import io
import json
import zipfile

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    ApiToken,
    Consent,
    ConsentPurpose,
    Invitation,
    Membership,
    MembershipRole,
    PhoneNumber,
    User,
)
from core import audit, hooks, signals
from core.exceptions import Conflict, DomainError
from core.models import AuditEvent

PRIVACY_NOTICE_VERSION = "2026-11"


def _iso(value):
    return value.isoformat() if value else None


def profile(user: User):

    return {
        "email": user.email,
        "name": user.name,
        "date_joined": _iso(user.date_joined),
        "last_login": _iso(user.last_login),
        "email_addresses": [
            {"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=user)
        ],
        "mobile_numbers": [
            {
                "number": p.number,
                "verified": p.verified,
                "added": _iso(p.created_at),
                "verified_at": _iso(p.verified_at),
            }
            for p in PhoneNumber.objects.filter(user=user)
        ],
        "two_factor_methods": sorted(Authenticator.objects.filter(user=user).values_list("type", flat=True)),
        "site_roles": sorted(user.groups.values_list("name", flat=True)),
    }


def memberships(user: User):
    return [
        {
            "organisation": m.organisation.name_zh,
            "organisation_id": m.organisation_id,
            "role": m.role,
            "since": _iso(m.created_at),
        }
        for m in Membership.objects.filter(user=user).select_related("organisation")
    ]


def invitations(user: User):
    return [
        {
            "organisation": i.organisation.name_zh,
            "role": i.role,
            "status": i.status,
            "sent": _iso(i.created_at),
            "answered": _iso(i.responded_at),
        }
        for i in Invitation.objects.for_email(user.email).select_related("organisation")
    ]


def consents(user: User):
    return [
        {
            "purpose": c.purpose,
            "given": _iso(c.given_at),
            "withdrawn": _iso(c.withdrawn_at),
            "notice": c.notice_version,
        }
        for c in Consent.objects.filter(user=user)
    ]


def api_tokens(user: User):
    """What the portal knows of the person's API tokens (never the secrets: it does not have them)."""
    return [
        {
            "name": t.name,
            "starts_with": t.display_prefix,
            "scope": t.scope,
            "created": _iso(t.created_at),
            "expires": _iso(t.expires_at),
            "revoked": _iso(t.revoked_at),
            "last_used": _iso(t.last_used_at),
            "used_from": t.seen_addresses,
        }
        for t in ApiToken.objects.filter(user=user)
    ]


def audit_trail_of_my_actions(user: User):
    return [
        {
            "when": _iso(e.created_at),
            "action": e.action,
            "object": e.target_label,
            "changes": e.changes,
            "reason": e.reason,
        }
        for e in AuditEvent.objects.filter(actor=user).order_by("id").iterator()
    ]


def collect_personal_data(user: User) -> dict:
    data = {"generated_at": timezone.now().isoformat(), "privacy_notice_version": PRIVACY_NOTICE_VERSION}
    for hook in hooks.get(hooks.PERSONAL_DATA):
        data[hook.name] = hook.value(user)
    return data


def export_archive(user: User) -> bytes:
    """A ZIP with one JSON file per section and a short README, for the person to download."""
    data = collect_personal_data(user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "README.txt",
            "Personal data held by the AI Computing Center portal about "
            f"{user.email or user}, generated {data['generated_at']}.\n"
            "Each .json file is one part of it (UTF-8 JSON). all.json holds everything in one file.\n",
        )
        for name, value in data.items():
            if isinstance(value, list | dict):
                archive.writestr(f"{name}.json", json.dumps(value, ensure_ascii=False, indent=2))
        archive.writestr("all.json", json.dumps(data, ensure_ascii=False, indent=2))
    audit.record("user.export_personal_data", user, actor=user)
    return buffer.getvalue()


# --- consents ------------------------------------------------------------------------------------


def has_consent(user, purpose: str) -> bool:
    return (
        bool(getattr(user, "is_authenticated", False))
        and Consent.objects.active().filter(user=user, purpose=purpose).exists()
    )


@transaction.atomic
def set_consent(user: User, *, purpose: str, given: bool) -> Consent | None:
    """Give or withdraw one consent; each change is a dated fact and is audited."""
    if purpose not in ConsentPurpose.values:
        raise DomainError(_("Unknown purpose of consent."))
    User.objects.select_for_update().filter(pk=user.pk).first()  # one change at a time per person
    active = Consent.objects.active().filter(user=user, purpose=purpose).first()
    if given and active is None:
        consent = Consent.objects.create(user=user, purpose=purpose, notice_version=PRIVACY_NOTICE_VERSION)
        audit.record("consent.give", user, actor=user, changes={purpose: (False, True)})
        return consent
    if not given and active is not None:
        active.withdrawn_at = timezone.now()
        active.save(update_fields=["withdrawn_at"])
        audit.record("consent.withdraw", user, actor=user, changes={purpose: (True, False)})
        return active
    return active


# --- deletion ------------------------------------------------------------------------------------


def pseudonym(user: User) -> str:
    return f"deleted-user-{user.pk}"


@transaction.atomic
def delete_account(user: User) -> None:
    """Erase a person's personal data; keep, pseudonymised, what audit and public records need.

    The user row stays (inactive, no password, no email) so that decisions and audit entries keep
    pointing at the same, now anonymous, actor.
    """
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise DomainError(_("This account is already deleted."))
    sole = [
        m.organisation
        for m in Membership.objects.filter(user=user, role=MembershipRole.OWNER).select_related(
            "organisation"
        )
        if not Membership.objects.filter(organisation=m.organisation, role=MembershipRole.OWNER)
        .exclude(user=user)
        .exists()
    ]
    if sole:
        raise Conflict(
            _(
                "You are the only owner of %(orgs)s. Make someone else owner (or leave) before deleting your account."
            )
            % {"orgs": ", ".join(o.display_name for o in sole)}
        )

    old_email, label = user.email, pseudonym(user)
    for membership in Membership.objects.filter(user=user).select_related("organisation"):
        audit.record(
            "membership.leave",
            membership,
            actor=user,
            organisation=membership.organisation,
            changes={"role": (membership.role, None)},
            reason="account deleted",
        )
        membership.delete()
    for invitation in Invitation.objects.pending().for_email(old_email):
        invitation.decline()
        invitation.save(update_fields=["status", "responded_at"])
    Invitation.objects.for_email(old_email).update(email=f"{label}@invalid")
    Consent.objects.active().filter(user=user).update(withdrawn_at=timezone.now())
    # Each platform lets go of what it holds (cluster access, open cohorts, ...) while the person still exists.
    signals.account_deleting.send(sender=User, user=user, by=user)
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    ApiToken.objects.filter(user=user).delete()
    PhoneNumber.objects.filter(user=user).delete()  # the number is free for its next owner
    SocialAccount.objects.filter(user=user).delete()  # linked sign-ins: what the providers said about them
    # Sessions are signed blobs: end every session of this person.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
    # Audit entries stay (they are public accountability) but no longer name the person.
    AuditEvent.objects.filter(actor=user).update(actor_label=label)
    AuditEvent.objects.filter(target_type__model="user", target_id=str(user.pk)).update(target_label=label)
    if old_email:
        AuditEvent.objects.filter(target_label__contains=old_email).update(target_label=label)
    user.email = f"{label}@invalid"
    user.name = ""
    user.is_active = False
    user.is_staff = False
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    audit.record("user.delete", user, actor=user, reason="deleted at the person's request")
