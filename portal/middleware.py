from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.roles import requires_mfa

# What staff without MFA may still open: setting MFA up (allauth), signing out, public assets and notices.
# The API authenticates inside DRF (tokens), where StaffMFAPermission-style checks belong, not here.
OPEN_PREFIXES = (
    "/accounts/",
    "/static/",
    "/media/",
    "/i18n/",
    "/healthz",
    "/about/",
    "/api/",
    "/admin/logout",
)


class StaffMFAMiddleware:
    """Operators and supervisors act as staff only after they have enabled two-factor authentication.

    Until then every page but MFA set-up sends them there, so no staff decision or back-office page is
    reachable with a password alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not path.startswith(OPEN_PREFIXES)
            and path != "/"
            and requires_mfa(user)
            and not is_mfa_enabled(user)
        ):
            messages.warning(
                request,
                _(
                    "Staff must protect their account with two-factor authentication before using the back office."
                ),
            )
            return redirect(reverse("mfa_activate_totp") + "?next=" + path)
        return self.get_response(request)
