"""allauth's sign-in, sign-up and sign-in-code forms as the portal uses them (settings.ACCOUNT_FORMS), and the
form of the sign-up by mobile number.

Mobile numbers are always an allauth login method (so that its phone pages exist), but the portal offers them
only when the site sends text messages (settings.SMS_BACKEND): otherwise these forms look and behave as the
email-only ones did.
"""

from allauth.account import forms as allauth_forms
from allauth.account.fields import EmailField
from allauth.core import context
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import phones, sms
from accounts.security import client_address


class LoginForm(allauth_forms.LoginForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if sms.is_configured():
            login = self.fields["login"]
            login.label = gettext_lazy("Email or mobile number")
            login.widget.attrs.update({"placeholder": "", "autocomplete": "username"})
        else:
            self.fields["login"] = EmailField()

    def clean_login(self):
        login = super().clean_login()
        if "@" not in login and sms.is_configured():
            try:
                return phones.normalize_phone(login)
            except ValidationError:
                return login  # allauth answers "wrong number or password" without telling which
        return login


class SignupForm(allauth_forms.SignupForm):
    """The sign-up by email: a mobile number is added afterwards on the account page, or people sign up with
    the number alone (accounts.phone_views.signup_by_phone)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("phone", None)


class RequestLoginCodeForm(allauth_forms.RequestLoginCodeForm):
    """Sign-in codes go by text message only (no passwordless sign-in by email)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("email", None)
        self.fields["phone"].required = True

    def clean(self):
        if not sms.is_configured():
            raise ValidationError(
                _("This site does not send text messages: sign in with your email address.")
            )
        cleaned = super().clean()
        phone = cleaned.get("phone")
        if phone:
            wait = phones.code_quota_exhausted(phone, client_address(context.request))
            if wait:
                context.request.retry_after = wait
                self.add_error("phone", phones.quota_message(wait))
        return cleaned


class PhoneSignupForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Your name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = phones.PhoneField()
