from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from accounts.security import client_address, note_lock_out

# allauth's error codes for "too many failed attempts" (password at sign-in, MFA codes).
LOCK_OUT_CODES = {"too_many_login_attempts", "rate_limited"}


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return settings.ACCOUNT_ALLOW_SIGNUP

    def _get_login_attempts_cache_key(self, request, **credentials):
        """Count failed sign-ins per account *and address* (ASVS 6.3.1): someone guessing from elsewhere
        cannot lock the real person out, while each address is also limited across accounts
        ("login_failed" in ACCOUNT_RATE_LIMITS). A successful password reset clears the same key."""
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}:{client_address(request)}"

    def pre_authenticate(self, request, **credentials):
        # Who is being guessed at, for the lock-out's audit event (validation_error is not told).
        request.attempted_login = credentials.get("email", "")
        return super().pre_authenticate(request, **credentials)

    def validation_error(self, code, *args):
        if code in LOCK_OUT_CODES:
            note_lock_out(self.request)
        return super().validation_error(code, *args)
