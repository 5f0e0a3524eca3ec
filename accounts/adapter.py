from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.utils.translation import gettext as _

from accounts import phones, sms
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
        request.attempted_login = credentials.get("email") or credentials.get("phone") or ""
        return super().pre_authenticate(request, **credentials)

    def validation_error(self, code, *args):
        if code in LOCK_OUT_CODES:
            note_lock_out(self.request)
        return super().validation_error(code, *args)

    # --- mobile numbers (allauth's phone support; accounts.phones keeps them, accounts.sms sends the codes) ---

    def get_login_stages(self):
        """allauth's stages, with email verification skipped for people known only by a mobile number."""
        stages = super().get_login_stages()
        allauth_stage = "allauth.account.stages.EmailVerificationStage"
        return [
            "accounts.phones.EmailVerificationStage" if path == allauth_stage else path for path in stages
        ]

    def phone_form_field(self, **kwargs):
        return phones.PhoneField(**kwargs)

    def get_phone(self, user):
        return phones.get_phone(user)

    def get_user_by_phone(self, phone):
        return phones.user_by_phone(phone)

    def set_phone(self, user, phone, verified):
        phones.set_phone(user, phone, verified=verified, request=self.request)

    def set_phone_verified(self, user, phone):
        phones.set_phone_verified(user, phone, request=self.request)

    def send_verification_code_sms(self, user, phone, code, **kwargs):
        """Every SMS code goes out here: a sign-in code (allauth passes ``reauthentication``) or a code that
        confirms a number. The per-number, per-address and per-day limits are counted here, atomically; a code
        refused by a limit or by the gateway is not sent and the person is told why."""
        request = self.request
        if "reauthentication" not in kwargs:
            owner = phones.user_by_phone(phone)
            if owner is not None and owner.pk != user.pk:
                # Someone typed a number that is another person's: allauth goes on as if a code went out (so
                # the page tells nothing), but its owner is not texted on a stranger's request.
                return
        if getattr(request, "sms_quota_counted", None) != phone:  # the sign-up view counted it already
            wait = phones.consume_code_quota(phone, client_address(request) if request is not None else "")
            if wait:
                if request is not None:
                    request.retry_after = wait
                    messages.error(request, phones.quota_message(wait))
                return
        if "reauthentication" in kwargs:
            template, timeout = "login_code", account_settings.LOGIN_BY_CODE_TIMEOUT
        else:
            template, timeout = "verify_code", account_settings.PHONE_VERIFICATION_TIMEOUT
        try:
            sms.send_text(phone, template, {"code": code, "minutes": str(max(1, round(timeout / 60)))})
        except sms.SmsError:
            if request is not None:
                messages.error(
                    request,
                    _(
                        "The text message could not be sent. Try again in a few minutes, or sign in another way; "
                        "if it keeps failing, contact the center."
                    ),
                )
