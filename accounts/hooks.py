"""What people and organisations offer the rest of the portal (see core/hooks.py for what each hook means)."""

from django.utils.translation import gettext_lazy as _

from accounts import privacy
from core import hooks

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
    },
)

hooks.register(hooks.PERSONAL_DATA, privacy.profile, name="profile")
hooks.register(hooks.PERSONAL_DATA, privacy.memberships, name="memberships")
hooks.register(hooks.PERSONAL_DATA, privacy.invitations, name="invitations")
hooks.register(hooks.PERSONAL_DATA, privacy.consents, name="consents")
hooks.register(hooks.PERSONAL_DATA, privacy.audit_trail_of_my_actions, name="audit_trail_of_my_actions")

hooks.register(hooks.API_URLS, "accounts.api_urls")
