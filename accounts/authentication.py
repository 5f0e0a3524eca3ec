"""How the API knows who is asking, and the refusals that hold on every API operation.

Both authentication classes refuse (403) staff without MFA, read-only tokens on unsafe methods and supervisors'
writes by token. These checks live in authentication rather than only in a permission class because many
viewsets set their own ``permission_classes`` (which replaces the defaults) while none changes the
authentication classes; ``StaffMFARequired`` is a default permission class as well, for requests whose user
is set without authentication (the test client's ``force_authenticate``).
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import authentication, exceptions, permissions, throttling

from core.middleware import STAFF_WITHOUT_MFA, staff_mfa_refusal
from core.roles import is_read_only


def _note_refusal(request, user, reason: str) -> None:
    from accounts.security import note_refusal  # DRF imports this module while the models load

    note_refusal(request, user=user, reason=reason)


def _refuse(request, user, reason: str, message: str):
    _note_refusal(request, user, reason)
    raise exceptions.PermissionDenied(message)


def _check_staff_mfa(request, user, *, by_session: bool) -> None:
    reason = staff_mfa_refusal(request._request, user, by_session=by_session)
    if reason == STAFF_WITHOUT_MFA:
        _refuse(
            request, user, reason, _("Staff must turn on two-factor authentication before using the API.")
        )
    if reason:
        _refuse(request, user, reason, _("Confirm your sign-in with two-factor authentication first."))


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <secret>`` with one of the person's live API tokens."""

    keyword = "Token"

    def authenticate(self, request):
        from accounts import security, tokens  # DRF imports this module while the models load

        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as: Authorization: Token <your token>."))
        try:
            secret = parts[1].decode()
        except UnicodeError as error:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from error
        token = tokens.find_active_token(secret)
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The token is not valid, has expired or was revoked."))
        user = token.user
        _check_staff_mfa(request, user, by_session=False)
        unsafe = request.method not in permissions.SAFE_METHODS
        if unsafe and not token.can_write:
            _refuse(
                request, user, "read-only token", _("This token is read-only: it cannot change anything.")
            )
        if unsafe and is_read_only(user):
            _refuse(
                request,
                user,
                "supervisors are read-only",
                _("Supervisors have read-only access: nothing can be changed with this account."),
            )
        tokens.note_token_use(token, address=security.client_address(request._request))
        return user, token

    def authenticate_header(self, request):
        return self.keyword


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser's session (with its CSRF check), refused to staff who have not passed MFA."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            _check_staff_mfa(request, result[0], by_session=True)
        return result


class StaffMFARequired(permissions.BasePermission):
    """Operators and supervisors use the API only with MFA switched on."""

    message = gettext_lazy("Staff must turn on two-factor authentication before using the API.")

    def has_permission(self, request, view):
        user = request.user
        reason = staff_mfa_refusal(request._request, user, by_session=False) if user.is_authenticated else ""
        if reason:
            _note_refusal(request, user, reason)
            return False
        return True


class AddressRateThrottle(throttling.SimpleRateThrottle):
    """Every API request counts against its client address, signed in or not ("address" rate): one address
    cannot spread a flood over many accounts or tokens. UserRateThrottle limits each account on its own."""

    scope = "address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
