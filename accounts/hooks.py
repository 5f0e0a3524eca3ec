"""What people and organisations offer the rest of the portal (see core/hooks.py for what each hook means)."""

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.socialaccount import signals as social_signals
from allauth.socialaccount.models import SocialApp
from django.contrib.auth import signals as auth_signals
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _

from accounts import carsi, kept, onboarding, privacy, security, social
from accounts.models import (
    AdmissionRequest,
    Invitation,
    Membership,
    OnboardingBatch,
    OnboardingRow,
    Organisation,
    OrganisationDomain,
    User,
)
from core import chrome, hooks

hooks.register(
    hooks.AUDIT_LABELS,
    {
        "organisation.create": _("Organisation registered"),
        "organisation.update": _("Profile changed"),
        "organisation.submit_for_verification": _("Submitted for verification"),
        "organisation.verify": _("Verified"),
        "organisation.reject": _("Verification rejected"),
        "membership.create": _("Member joined"),
        "membership.change_role": _("Role changed"),
        "membership.remove": _("Member removed"),
        "membership.leave": _("Member left"),
        "invitation.create": _("Invitation sent"),
        "invitation.accept": _("Invitation accepted"),
        "invitation.decline": _("Invitation declined"),
        "invitation.revoke": _("Invitation withdrawn"),
        "invitation.expire": _("Invitation expired"),
        "user.set_site_roles": _("Site roles changed"),
        "user.export_personal_data": _("Personal data downloaded"),
        "user.delete": _("Account deleted"),
        "consent.give": _("Consent given"),
        "consent.withdraw": _("Consent withdrawn"),
        "auth.sign_in": _("Signed in"),
        "auth.sign_out": _("Signed out"),
        "auth.sign_in_failed": _("Sign-in failed"),
        "auth.locked_out": _("Sign-in locked for too many failures"),
        "auth.rate_limited": _("Too many attempts (rate limit)"),
        "auth.mfa_failed": _("Wrong two-factor code"),
        "auth.mfa_enabled": _("Two-factor authentication turned on"),
        "auth.mfa_disabled": _("Two-factor authentication turned off"),
        "auth.recovery_codes_reset": _("Recovery codes regenerated"),
        "auth.recovery_code_used": _("Signed in with a recovery code"),
        "auth.password_changed": _("Password changed"),
        "auth.password_reset": _("Password reset"),
        "auth.email_added": _("Email address added"),
        "auth.email_removed": _("Email address removed"),
        "auth.email_changed": _("Primary email address changed"),
        "auth.sessions_ended": _("Sessions ended"),
        "api_token.create": _("API token created"),
        "api_token.new_address": _("API token used from a new address"),
        "api_token.revoke": _("API token revoked"),
        "access.refused": _("Access refused"),
        # University sign-in (SAML, accounts/carsi.py)
        "membership.saml_affiliation_change": _("University affiliation changed"),
        "auth.saml_affiliation_ignored": _("University affiliation ignored (scope not allowed)"),
        "auth.saml_replayed": _("Replayed university sign-in refused"),
    },
)

# Security events (accounts/security.py): allauth's and Django's signals, each receiver once.
for signal, receiver in (
    (account_signals.user_logged_in, security.on_signed_in),
    (auth_signals.user_logged_out, security.on_signed_out),
    (auth_signals.user_login_failed, security.on_sign_in_failed),
    (account_signals.password_changed, security.on_password_changed),
    (account_signals.password_set, security.on_password_changed),
    (account_signals.password_reset, security.on_password_reset),
    (account_signals.email_added, security.on_email_added),
    (account_signals.email_removed, security.on_email_removed),
    (account_signals.email_changed, security.on_email_changed),
    (mfa_signals.authenticator_added, security.on_authenticator_added),
    (mfa_signals.authenticator_removed, security.on_authenticator_removed),
    (mfa_signals.authenticator_reset, security.on_authenticator_reset),
    (mfa_signals.authenticator_used, security.on_authenticator_used),
    (mfa_signals.authentication_failed, security.on_mfa_failed),
):
    signal.connect(receiver, dispatch_uid=f"accounts.security.{receiver.__name__}")

# Mobile numbers (accounts/phones.py): their audit events, and the account menu's entry (when SMS is on).
hooks.register(
    hooks.AUDIT_LABELS,
    {
        "auth.phone_added": _("Mobile number added"),
        "auth.phone_changed": _("Mobile number changed"),
        "auth.phone_verified": _("Mobile number verified"),
        "auth.phone_removed": _("Mobile number removed"),
    },
)
hooks.register(hooks.USER_MENU, "accounts/partials/menu_phone.html")

# University sign-in (SAML): memberships follow the affiliations the university asserts (accounts/carsi.py).
for signal, receiver in (
    (account_signals.user_logged_in, carsi.on_user_logged_in),
    (account_signals.user_signed_up, carsi.on_user_signed_up),
    (social_signals.social_account_added, carsi.on_social_account_added),
):
    signal.connect(receiver, dispatch_uid=f"accounts.carsi.{receiver.__name__}")
hooks.register(hooks.PERSONAL_DATA, carsi.personal_data, name="university_affiliations")

# Single sign-on in general (accounts/social.py): links and unlinks audited, organisations from OpenID claims.
for signal, receiver in (
    (account_signals.user_logged_in, social.on_user_logged_in),
    (account_signals.user_signed_up, social.on_user_signed_up),
    (social_signals.social_account_added, social.on_social_account_added),
    (social_signals.social_account_removed, social.on_social_account_removed),
):
    signal.connect(receiver, dispatch_uid=f"accounts.social.{receiver.__name__}")
hooks.register(hooks.PERSONAL_DATA, social.personal_data, name="linked_sign_ins")
hooks.register(hooks.USER_MENU, "accounts/partials/menu_sign_ins.html")
post_save.connect(social.forget_offered_providers, sender=SocialApp, dispatch_uid="sso-offered-saved")
post_delete.connect(social.forget_offered_providers, sender=SocialApp, dispatch_uid="sso-offered-deleted")
m2m_changed.connect(
    social.forget_offered_providers, sender=SocialApp.sites.through, dispatch_uid="sso-offered-sites"
)
hooks.register(
    hooks.AUDIT_LABELS,
    {
        "auth.sso_linked": _("Sign-in provider linked"),
        "auth.sso_unlinked": _("Sign-in provider unlinked"),
        "auth.sso_refused": _("Single sign-on refused"),
        "auth.sso_failed": _("Single sign-on failed"),
    },
)

hooks.register(hooks.PERSONAL_DATA, privacy.profile, name="profile")
hooks.register(hooks.PERSONAL_DATA, privacy.memberships, name="memberships")
hooks.register(hooks.PERSONAL_DATA, privacy.invitations, name="invitations")
hooks.register(hooks.PERSONAL_DATA, privacy.consents, name="consents")
hooks.register(hooks.PERSONAL_DATA, privacy.api_tokens, name="api_tokens")
hooks.register(hooks.PERSONAL_DATA, privacy.audit_trail_of_my_actions, name="audit_trail_of_my_actions")

hooks.register(hooks.API_URLS, "accounts.api_urls")

# Bulk onboarding and admission by domain (accounts/onboarding.py).
hooks.register(
    hooks.AUDIT_LABELS,
    {
        "onboarding_batch.create": _("Invitation list previewed"),
        "onboarding_batch.confirm": _("Invitation list confirmed"),
        "onboarding_batch.discard": _("Invitation list discarded"),
        "onboarding_batch.finish": _("Invitation list sent"),
        "onboarding_row.invite": _("Mobile invitation created"),
        "onboarding_row.resend": _("Invitation sent again"),
        "onboarding_row.revoke": _("Invitation withdrawn"),
        "onboarding_row.accept": _("Mobile invitation accepted"),
        "onboarding_row.expire": _("Mobile invitation expired"),
        "organisation_domain.add": _("Domain added"),
        "organisation_domain.send_proof": _("Domain verification link sent"),
        "organisation_domain.verify": _("Domain verified"),
        "organisation_domain.remove": _("Domain removed"),
        "admission.request": _("Asked to join"),
        "admission.approve": _("Request to join approved"),
        "admission.decline": _("Request to join declined"),
    },
)
hooks.register(hooks.DASHBOARD_PANELS, "accounts/onboarding/partials/dashboard_panel.html", order=5)
hooks.register(hooks.PERSONAL_DATA, onboarding.admission_requests_of, name="admission_requests")
hooks.register(hooks.STUCK_WORK, onboarding.stuck_batches)


def _forget_member_chrome(sender, instance, **kwargs):
    """Menu entries follow from memberships (the talent pool's, say): show a change on the next page."""
    chrome.forget(instance.user_id)


post_save.connect(_forget_member_chrome, sender=Membership, dispatch_uid="accounts.chrome_membership_saved")
post_delete.connect(
    _forget_member_chrome, sender=Membership, dispatch_uid="accounts.chrome_membership_deleted"
)

# The organisation lists are kept per state of the organisations (accounts/kept.py).
kept.ORGANISATIONS.follow(Organisation)

# Bulk onboarding's pages, kept per state of what they show (accounts/kept.py): a list's rows show their
# invitations' answers, the lists show the organisation's name, both show people's names.
kept.ONBOARDING.follow(OnboardingBatch, OnboardingRow, Invitation, Organisation)
kept.DOMAINS.follow(OrganisationDomain, AdmissionRequest)
post_save.connect(
    kept.forget_onboarding_person, sender=User, dispatch_uid="pagecache.accounts-onboarding.User.saved"
)
post_delete.connect(
    kept.forget_onboarding_person, sender=User, dispatch_uid="pagecache.accounts-onboarding.User.deleted"
)
