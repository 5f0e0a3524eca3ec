"""Security events: sign-ins and their failures, MFA, password and email changes, rate limits and refusals
(403), written to the audit trail; and what follows some of them (other sessions ended, a 429 with Retry-After).

The receivers are connected in accounts/hooks.py. Events that an outsider can provoke at will (failed sign-ins,
lock-outs, refusals, rate limits) are de-duplicated through the cache (``first_in_window``), so that a flood
writes a handful of rows, not one per request.
"""

import hashlib
import time

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.internal.flows.login import record_authentication
from allauth.account.internal.stagekit import get_pending_stage
from allauth.core import context
from allauth.core.internal.ratelimit import parse_rates
from allauth.mfa.models import Authenticator
from allauth.usersessions.internal import usersessionkit
from allauth.usersessions.internal.flows.sessions import end_other_sessions, end_sessions
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sites.models import Site
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from core import audit

# Actions of this module (and of accounts.tokens), for the audit trail's "sign-in and security" filter.
SECURITY_ACTIONS = (
    "auth.sign_in",
    "auth.sign_out",
    "auth.sign_in_failed",
    "auth.locked_out",
    "auth.rate_limited",
    "auth.mfa_failed",
    "auth.mfa_enabled",
    "auth.mfa_disabled",
    "auth.recovery_codes_reset",
    "auth.recovery_code_used",
    "auth.password_changed",
    "auth.password_reset",
    "auth.email_added",
    "auth.email_removed",
    "auth.email_changed",
    "auth.sessions_ended",
    "auth.phone_added",
    "auth.phone_changed",
    "auth.phone_verified",
    "auth.phone_removed",
    "api_token.create",
    "api_token.new_address",
    "api_token.revoke",
    "access.refused",
)
# A refused person (or address) writes at most this many refusal events per window, whatever the paths.
REFUSALS_PER_WINDOW = 20


def client_address(request) -> str:
    """The client's address as allauth sees it (ALLAUTH_TRUSTED_PROXY_COUNT), "" when there is none."""
    try:
        return get_account_adapter().get_client_ip(request)
    except PermissionDenied:
        return ""


def first_in_window(*parts) -> bool:
    """True the first time these parts are seen in the window (AUDIT_DEDUP_MINUTES), False after."""
    key = "security-event:" + hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return cache.add(key, 1, settings.AUDIT_DEDUP_MINUTES * 60)


def _site():
    return Site.objects.get_current()


def _record(action: str, request, *, user=None, actor=None, reason: str = "", changes=None) -> None:
    """One security event about ``user`` (or the site, when nobody is known), noting the client's address."""
    address = client_address(request) if request is not None else ""
    where = f"from {address}" if address else ""
    audit.record(
        action,
        user if user is not None else _site(),
        actor=actor,
        reason="; ".join(part for part in (reason, where) if part),
        changes=changes,
    )


# --- sign-in -----------------------------------------------------------------------------------------


def on_signed_in(sender, request, user, **kwargs):
    _record("auth.sign_in", request, user=user, actor=user)


def on_signed_out(sender, request, user, **kwargs):
    # A deleted account signs out after it was pseudonymised (the request's copy of the user still has the
    # old email): read the row again and record nothing for an account that is gone.
    if user is None or not user.is_authenticated:
        return
    user = get_user_model().objects.filter(pk=user.pk, is_active=True).first()
    if user is not None:
        _record("auth.sign_out", request, user=user, actor=user)


def on_sign_in_failed(sender, credentials, request=None, **kwargs):
    """A wrong password (never recorded: Django hands over the credentials with the password masked)."""
    login = str(credentials.get("email") or credentials.get("username") or "").strip().lower()
    user = get_user_model().objects.filter(email__iexact=login).first() if login else None
    address = client_address(request) if request is not None else ""
    if not first_in_window("sign_in_failed", user.pk if user else "unknown", address):
        return
    _record("auth.sign_in_failed", request, user=user, reason="" if user else "unknown account")


def on_mfa_failed(sender, request, user, **kwargs):
    if first_in_window("mfa_failed", user.pk, client_address(request)):
        _record("auth.mfa_failed", request, user=user)


def note_lock_out(request) -> None:
    """allauth refused a sign-in or MFA attempt because of too many failures: answer 429 and record it."""
    if request is None:
        return
    request.retry_after = retry_after_seconds("login_failed")
    user = _attempted_user(request)
    if first_in_window("locked_out", user.pk if user else "-", client_address(request)):
        _record("auth.locked_out", request, user=user, reason=request.path)


def _attempted_user(request):
    """The account someone is trying to sign in to: the email typed (password step) or the pending login
    (MFA step); None when it is not an account."""
    login = getattr(request, "attempted_login", "")
    if login:
        return get_user_model().objects.filter(email__iexact=login).first()
    pending = get_pending_stage(request)
    return pending.login.user if pending is not None else None


# --- MFA ---------------------------------------------------------------------------------------------


def on_authenticator_added(sender, request, user, authenticator, **kwargs):
    # Setting up TOTP proves the second factor: this session has passed MFA from now on.
    if authenticator.type == Authenticator.Type.TOTP:
        record_authentication(request, user, "mfa", type=authenticator.type, id=authenticator.pk)
    _record("auth.mfa_enabled", request, user=user, actor=user, changes={"type": (None, authenticator.type)})
    _end_other_sessions(request, user)


def on_authenticator_removed(sender, request, user, authenticator, **kwargs):
    _record("auth.mfa_disabled", request, user=user, actor=user, changes={"type": (authenticator.type, None)})
    _end_other_sessions(request, user)


def on_authenticator_reset(sender, request, user, authenticator, **kwargs):
    _record("auth.recovery_codes_reset", request, user=user, actor=user)
    _end_other_sessions(request, user)


def on_authenticator_used(sender, request, user, authenticator, **kwargs):
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        _record("auth.recovery_code_used", request, user=user, actor=user)


# --- password and email ------------------------------------------------------------------------------


def on_password_changed(sender, request, user, **kwargs):
    _record("auth.password_changed", request, user=user, actor=user)
    _end_other_sessions(request, user)


def on_password_reset(sender, request, user, **kwargs):
    _record("auth.password_reset", request, user=user, actor=user)
    _end_other_sessions(request, user)


def on_email_added(sender, request, user, email_address, **kwargs):
    _record(
        "auth.email_added", request, user=user, actor=user, changes={"email": (None, email_address.email)}
    )


def on_email_removed(sender, request, user, email_address, **kwargs):
    _record(
        "auth.email_removed", request, user=user, actor=user, changes={"email": (email_address.email, None)}
    )


def on_email_changed(sender, request, user, from_email_address, to_email_address, **kwargs):
    before = from_email_address.email if from_email_address else None
    _record(
        "auth.email_changed",
        request,
        user=user,
        actor=user,
        changes={"email": (before, to_email_address.email)},
    )


def end_user_sessions(request, sessions) -> bool:
    """End these sessions of the person asking; True when the current one was among them (now signed out)."""
    sessions = list(sessions)
    if not sessions:
        return False
    user, current = request.user, any(session.is_current() for session in sessions)
    addresses = ", ".join(sorted({session.ip for session in sessions}))
    _record(
        "auth.sessions_ended",
        request,
        user=user,
        actor=user,
        reason=f"{len(sessions)} session(s): {addresses}",
    )
    end_sessions(request, sessions)
    return current


def _end_other_sessions(request, user) -> None:
    """End every other session of the person (after their credentials changed): the other browsers sign in
    again, with the new password or second factor."""
    # allauth sends some of these signals after commit, where its notion of "the current request" (which
    # session is this one) may already be gone: set it for the call.
    with context.request_context(request):
        end_other_sessions(request, user)


# --- refusals and rate limits ------------------------------------------------------------------------


def note_refusal(request, *, user, reason: str) -> None:
    """Tell SecurityEventsMiddleware who was refused and why (DRF forgets the user when it refuses)."""
    http_request = getattr(request, "_request", request)
    http_request.refusal_user = user
    http_request.refusal_reason = reason


def audit_refusal(request, response) -> None:
    """A 403: one event per person (or address), path and reason per window, and a few per window at most."""
    user = getattr(request, "refusal_user", None) or getattr(request, "user", None)
    user = user if user is not None and user.is_authenticated else None
    reason = getattr(request, "refusal_reason", "") or _response_reason(response) or "forbidden"
    who = user.pk if user else client_address(request)
    if not first_in_window("refused", who, request.path, reason):
        return
    if cache.get_or_set(_count_key(who), 0, settings.AUDIT_DEDUP_MINUTES * 60) >= REFUSALS_PER_WINDOW:
        return
    cache.incr(_count_key(who))
    _record(
        "access.refused",
        request,
        user=user,
        actor=user,
        reason=f"{request.method} {request.path[:200]}: {reason[:200]}",
    )


def _count_key(who) -> str:
    return f"security-event:refusals:{who}"


def _response_reason(response) -> str:
    data = getattr(response, "data", None)  # a DRF response carries its error detail
    if isinstance(data, dict) and data.get("detail"):
        return str(data["detail"])
    return ""


# allauth's views behind each rate limit: the Retry-After of its 429 is the longest window of that limit.
RATE_LIMITED_VIEWS = {
    "account_login": "login",
    "account_signup": "signup",
    "account_reset_password": "reset_password",
    "account_reset_password_from_key": "reset_password_from_key",
    "account_change_password": "change_password",
    "account_set_password": "change_password",
    "account_email": "manage_email",
    "account_reauthenticate": "reauthenticate",
    "mfa_reauthenticate": "reauthenticate",
}


def retry_after_seconds(action: str) -> int:
    """The longest window of an allauth rate limit: by then every counted attempt has expired."""
    from allauth.account import app_settings  # read on each call: tests switch rate limits on and off

    rates = parse_rates(app_settings.RATE_LIMITS.get(action))
    return int(max((rate.duration for rate in rates), default=60))


def too_many_requests(request, exception=None):
    """allauth's 429 (ROOT_URLCONF.handler429): the portal's page, with Retry-After and an audit event."""
    match = getattr(request, "resolver_match", None)
    action = RATE_LIMITED_VIEWS.get(match.url_name if match else "", "login")
    seconds = retry_after_seconds(action)
    user = request.user if request.user.is_authenticated else None
    if first_in_window("rate_limited", action, user.pk if user else "-", client_address(request)):
        _record("auth.rate_limited", request, user=user, reason=action)
    response = render(request, "429.html", {"minutes": max(1, round(seconds / 60))}, status=429)
    response["Retry-After"] = str(seconds)
    return response


class UserSessionsMiddleware:
    """allauth.usersessions' activity tracking (address, browser, last seen) at most once a minute per session.

    allauth's own middleware reads and writes the session's row on every request; a minute is precise enough
    for "last seen" and saves every page and API call that cost."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.seen_here: dict[str, float] = {}

    def __call__(self, request):
        session, user = getattr(request, "session", None), getattr(request, "user", None)
        if session is not None and session.session_key and user is not None and user.is_authenticated:
            seen = "usersession-seen:" + hashlib.sha256(session.session_key.encode()).hexdigest()
            # This process saw the session less than a minute ago: no need to ask the shared cache either.
            now = time.monotonic()
            if now - self.seen_here.get(seen, -60.0) >= 60:
                if len(self.seen_here) > 10_000:
                    self.seen_here.clear()
                self.seen_here[seen] = now
                if cache.add(seen, 1, 60):
                    usersessionkit.track_activity(request, user=user, session=session)
        return self.get_response(request)


class SecurityEventsMiddleware:
    """Audits every 403 with who, where and why, and turns allauth's "too many attempts" form errors into
    429 answers with Retry-After (so clients and proxies see the limit, not a 200)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            audit_refusal(request, response)
        retry_after = getattr(request, "retry_after", None)
        if retry_after and response.status_code == 200:
            response.status_code = 429
        if response.status_code == 429 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(retry_after or retry_after_seconds("login"))
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, PermissionDenied) and not getattr(request, "refusal_reason", ""):
            request.refusal_reason = str(exception) or "permission denied"
