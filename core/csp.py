"""Browser hardening: the Content-Security-Policy and Permissions-Policy of every answer.

A small middleware rather than django-csp: the policy is one fixed string with no per-view variations and no
nonces (no page needs an inline script or style: scripts are files under ``static/``, styles are classes), so
a library would add a dependency and a settings vocabulary for what fits in these few lines. The directives
are in ``settings.CONTENT_SECURITY_POLICY`` and ``settings.PERMISSIONS_POLICY``; ``docs/security.md`` says why
each is there.
"""

from django.conf import settings


def format_policy(directives: dict[str, list[str]]) -> str:
    """``{"default-src": ["'self'"]}`` as ``default-src 'self'``: the header's own syntax."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


class SecurityHeadersMiddleware:
    """Adds the two policies to every answer that has not set its own (a view may narrow them further)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.csp = format_policy(settings.CONTENT_SECURITY_POLICY)
        self.permissions = ", ".join(
            f"{feature}=({' '.join(allowed)})" for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.csp)
        response.headers.setdefault("Permissions-Policy", self.permissions)
        return response
