"""{% load social_tags %}: whether the site offers any single sign-on provider (the account menu's "Linked
sign-ins" entry)."""

from django import template

from accounts import social

register = template.Library()


@register.simple_tag(takes_context=True)
def sso_offered(context) -> bool:
    request = context.get("request")
    return request is not None and social.providers_offered(request)
