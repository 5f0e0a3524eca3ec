from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from core.roles import is_read_only, requires_mfa

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


# What a supervisor may still change: their own account (sign-in, MFA, password, personal data and its
# deletion) and the language of the pages.
SUPERVISOR_WRITABLE_PREFIXES = ("/accounts/", "/account/", "/i18n/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SupervisorReadOnlyMiddleware:
    """Supervisors read everything and change nothing: every unsafe request of a supervisor (who is not also
    an operator) is refused here, on pages, in the back office and in the API alike, whatever a view allows.

    The API authenticates with tokens inside DRF, after the middleware; a token is looked up here too so that
    token clients are held to the same rule."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in SAFE_METHODS and not request.path_info.startswith(
            SUPERVISOR_WRITABLE_PREFIXES
        ):
            user = self._user(request)
            if user is not None and is_read_only(user):
                message = _("Supervisors have read-only access: nothing can be changed with this account.")
                if request.path_info.startswith("/api/"):
                    return JsonResponse({"detail": message}, status=403)
                raise PermissionDenied(message)
        return self.get_response(request)

    @staticmethod
    def _user(request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if request.path_info.startswith("/api/") and header.startswith("Token "):
            token = Token.objects.select_related("user").filter(key=header[6:].strip()[:40]).first()
            if token is not None and token.user.is_active:
                return token.user
        return None
