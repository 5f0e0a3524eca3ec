"""{% load phone_tags %}: whether the site sends text messages (mobile numbers offered), and numbers as people
write them."""

from django import template

from accounts import phones, sms

register = template.Library()


@register.simple_tag
def sms_enabled() -> bool:
    return sms.is_configured()


@register.filter
def phone_display(number: str) -> str:
    return phones.display_phone(number) if number else ""
