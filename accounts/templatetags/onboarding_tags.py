from django import template

from accounts import onboarding

register = template.Library()


@register.inclusion_tag("accounts/onboarding/partials/join_offers.html")
def join_offers(user):
    """The organisations the person may ask to join, on the dashboard (two queries, none without a
    verified address)."""
    return {"offers": onboarding.join_offers(user)[:5]}
