"""Single sign-on through allauth's social providers: what the portal adds around them.

A provider is offered only where the site configured it (a SocialApp, or SOCIALACCOUNT_PROVIDERS with an app):
allauth mounts the login and callback URLs of every installed provider regardless, and answers one that has
no app with an uncaught ``SocialApp.DoesNotExist``. To a visitor that is simply a page that does not exist.
"""

from allauth.socialaccount.models import SocialApp
from django.http import Http404


class UnconfiguredProviderMiddleware:
    """Turn a sign-in URL of a provider the site has not configured into a 404 (never a server error)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, SocialApp.DoesNotExist):
            raise Http404("This sign-in provider is not configured for this site.")
        return None
