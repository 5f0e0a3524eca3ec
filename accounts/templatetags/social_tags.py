"""{% load social_tags %}: whether the site offers any single sign-on provider (the account menu's "Linked
sign-ins" entry)."""

from django import template

from accounts import social

register = template.Library()


@register.simple_tag(takes_context=True)
def sso_offered(context) -> bool:
    request = context.get("request")
    return request is not None and social.providers_offered(request)


@register.simple_tag
def sign_in_summary(user) -> dict:
    """The ways ``user`` can sign in, for "Linked sign-ins": email addresses, the mobile number, a password,
    a second factor."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    from accounts import phones, sms

    phone = phones.get_phone(user)
    return {
        "emails": list(EmailAddress.objects.filter(user=user).order_by("-primary", "email")),
        "phone": phone[0] if phone else "",
        "phone_verified": bool(phone and phone[1]),
        "sms": sms.is_configured(),
        "password": user.has_usable_password(),
        "mfa": Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists(),
    }
