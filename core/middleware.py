import time

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from core.roles import is_read_only, requires_mfa

# What staff without MFA may still open: signing in and out, setting MFA up or passing it again, a password
# reset, public assets and notices. The rest of allauth's pages (email, password change, sessions) and every
# page of the portal wait for MFA. The API is not listed because it is refused inside DRF instead
# (accounts.authentication): tokens are only known there, and an API client needs a 403, not a redirect.
OPEN_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/2fa/",
    "/accounts/reauthenticate/",
    "/accounts/password/reset/",
    "/accounts/confirm-email/",
    "/accounts/inactive/",
    "/static/",
    "/media/",
    "/i18n/",
    "/healthz",
    "/readyz",
    "/about/",
    "/api/",
    "/admin/logout",
)

# Why a staff request is refused; also the reason written to the audit trail.
STAFF_WITHOUT_MFA = "staff account without two-factor authentication"
SESSION_WITHOUT_MFA = "staff session has not passed two-factor authentication"


def session_skipped_mfa(request, user) -> bool:
    """A session signed in through allauth whose record of authentication steps has no MFA step.

    That happens when MFA was switched on after this session signed in (or from another browser): the
    session proves the password only. Sessions made without allauth (the test client's ``force_login``) carry
    no record and are not judged here; the back office's own login page is routed through allauth."""
    records = get_authentication_records(request, user)
    return bool(records) and not any(record.get("method") == "mfa" for record in records)


def _mfa_key(user_id) -> str:
    return f"mfa-enabled:v1:{user_id}"


def mfa_enabled(user) -> bool:
    """allauth's ``is_mfa_enabled``, kept between requests as the site roles are (SITE_ROLES_CACHE_SECONDS): every
    staff page asks it. Forgotten when one of the person's authenticators is saved or deleted
    (``forget_mfa_enabled``), so removing the last one refuses the next page."""
    seconds = settings.SITE_ROLES_CACHE_SECONDS
    found = cache.get(_mfa_key(user.pk)) if seconds > 0 else None
    if found is None:
        found = is_mfa_enabled(user)
        if seconds > 0:
            cache.set(_mfa_key(user.pk), found, seconds)
    return found


def forget_mfa_enabled(sender=None, instance=None, **kwargs) -> None:
    """``post_save`` / ``post_delete`` of an allauth ``Authenticator``: now, and again once committed (so that a
    request reading the old answer meanwhile cannot keep it)."""

    def forget():
        cache.delete(_mfa_key(instance.user_id))

    forget()
    transaction.on_commit(forget)


def staff_mfa_refusal(request, user, *, by_session: bool) -> str:
    """Why this staff member may not act yet ("" when they may): no authenticator, or a session without MFA."""
    if not requires_mfa(user):
        return ""
    if not mfa_enabled(user):
        return STAFF_WITHOUT_MFA
    if by_session and session_skipped_mfa(request, user):
        return SESSION_WITHOUT_MFA
    return ""


class StaffIdleTimeoutMiddleware:
    """Operators' and supervisors' sessions end after STAFF_SESSION_IDLE_MINUTES without a request.

    Their sessions can decide and read everything, so an unattended browser is a bigger risk than a member's.
    The time of the last request is kept in the session, written at most once a minute."""

    SESSION_KEY = "staff_last_request_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and requires_mfa(user):
            now, last = int(time.time()), request.session.get(self.SESSION_KEY)
            if last is not None and now - last > settings.STAFF_SESSION_IDLE_MINUTES * 60:
                logout(request)
                messages.info(
                    request,
                    _("You were signed out after %(minutes)d minutes without activity. Please sign in again.")
                    % {"minutes": settings.STAFF_SESSION_IDLE_MINUTES},
                )
            elif last is None or now - last >= 60:
                request.session[self.SESSION_KEY] = now
        return self.get_response(request)


class StaffMFAMiddleware:
    """Operators and supervisors act as staff only after they have enabled two-factor authentication, and
    only in a session that passed it.

    Until then every page but MFA set-up (or MFA re-authentication) sends them there, so no staff decision or
    back-office page is reachable with a password alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or path.startswith(OPEN_PREFIXES) or path == "/":
            return self.get_response(request)
        refusal = staff_mfa_refusal(request, user, by_session=True)
        if refusal == STAFF_WITHOUT_MFA:
            messages.warning(
                request,
                _(
                    "Staff must protect their account with two-factor authentication before using the back office."
                ),
            )
            return redirect(reverse("mfa_activate_totp") + "?next=" + path)
        if refusal == SESSION_WITHOUT_MFA:
            messages.warning(request, _("Confirm it is you with your authenticator app to go on."))
            return redirect(reverse("mfa_reauthenticate") + "?next=" + path)
        return self.get_response(request)


# What a supervisor may still change: their own account (sign-in, MFA, password, personal data and its
# deletion) and the language of the pages.
SUPERVISOR_WRITABLE_PREFIXES = ("/accounts/", "/account/", "/i18n/")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SupervisorReadOnlyMiddleware:
    """Supervisors read everything and change nothing: every unsafe request of a supervisor (who is not also
    an operator) is refused here, on pages, in the back office and in the API alike, whatever a view allows.

    API tokens are only known inside DRF, after the middleware: accounts.authentication holds token clients
    to the same rule."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in SAFE_METHODS and not request.path_info.startswith(
            SUPERVISOR_WRITABLE_PREFIXES
        ):
            user = self._user(request)
            if user is not None and is_read_only(user):
                message = _("Supervisors have read-only access: nothing can be changed with this account.")
                request.refusal_reason = "supervisors are read-only"
                if request.path_info.startswith("/api/"):
                    return JsonResponse({"detail": message}, status=403)
                raise PermissionDenied(message)
        return self.get_response(request)

    @staticmethod
    def _user(request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None
