"""Sign-up with a mobile number and an SMS code (the sign-in by number is allauth's "sign-in code" page)."""

from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.login_by_code import LoginCodeVerificationProcess
from allauth.account.internal.flows.signup import complete_signup
from allauth.core.exceptions import RateLimited
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from accounts import phones, sms
from accounts.models import PhoneNumber
from accounts.phone_forms import PhoneSignupForm
from accounts.security import client_address


@never_cache
def signup_by_phone(request):
    """Name and number; a code goes to the number, and the account exists for signing in once it is entered
    (allauth's phone verification stage). A number that already belongs to someone gets a sign-in code
    instead, with the same answer, so that the page does not tell who has an account."""
    if not sms.is_configured() or not get_adapter(request).is_open_for_signup(request):
        raise Http404
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = PhoneSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["phone"]
        wait = phones.consume_code_quota(number, client_address(request))
        if wait:
            request.retry_after = wait  # accounts.security.SecurityEventsMiddleware answers 429
            form.add_error("phone", phones.quota_message(wait))
        else:
            request.sms_quota_counted = number  # accounts.adapter does not count this code again
            owner = PhoneNumber.objects.filter(number=number, verified=True, user__is_active=True).first()
            try:
                if owner is not None:
                    LoginCodeVerificationProcess.initiate(request=request, user=owner.user, phone=number)
                    return redirect("account_confirm_login_code")
                user = phones.create_phone_user(number=number, name=form.cleaned_data["name"])
                return complete_signup(request, user=user)
            except ValidationError as exc:
                form.add_error("phone", exc)
            except RateLimited:
                request.retry_after = 60
                form.add_error("phone", phones.quota_message(60))
    return render(request, "accounts/signup_phone.html", {"form": form})
