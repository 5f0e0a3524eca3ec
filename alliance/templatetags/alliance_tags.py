from urllib.parse import urlencode

from django import template

from alliance.models import AllianceMembership, Need, Solution

register = template.Library()


@register.simple_tag
def facet_url(params, name: str, value: str) -> str:
    """The directory's query string with one facet value switched on or off (and back to page 1)."""
    pairs = [(k, v) for k in params for v in params.getlist(k) if k != "page" and v]
    if name == "capability":
        if (name, value) in pairs:
            pairs = [p for p in pairs if p != (name, value)]
        else:
            pairs.append((name, value))
    else:
        selected = (name, value) in pairs
        pairs = [p for p in pairs if p[0] != name]
        if not selected:
            pairs.append((name, value))
    return "?" + urlencode(pairs) if pairs else "?"


@register.inclusion_tag("alliance/partials/dashboard_summary.html", takes_context=True)
def alliance_dashboard(context):
    """The signed-in person's alliance memberships and open needs (three queries)."""
    user = context["request"].user
    memberships = list(
        AllianceMembership.objects.for_user(user)
        .filter(organisation__memberships__user=user)
        .select_related("organisation")
        .order_by("-id")[:5]
    )
    return {
        "memberships": memberships,
        "needs": Need.objects.own(user).open().count(),
        "solutions": Solution.objects.own(user).count(),
    }
