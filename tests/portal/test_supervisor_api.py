"""Supervisors read the whole API and change nothing, on every endpoint of every platform, found from the
routers themselves (an endpoint added later is covered without editing this test)."""

import pytest
from django.test import Client
from django.urls import Resolver404, URLResolver, get_resolver, resolve
from rest_framework.routers import SimpleRouter

import portal.api_urls
from accounts.tokens import create_api_token
from core.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)
UNSAFE = ("post", "put", "patch", "delete")


def _routers():
    """Every DRF router mounted under /api/v1/ (the portal's and each platform's)."""
    found = [portal.api_urls.router]
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and str(entry.pattern) == "api/v1/":
            for sub in entry.url_patterns:
                module = getattr(sub, "urlconf_module", None)
                router = getattr(module, "router", None)
                if isinstance(router, SimpleRouter) and router not in found:
                    found.append(router)
    return found


def _model_of(viewset):
    serializer = getattr(viewset, "serializer_class", None)
    model = getattr(getattr(serializer, "Meta", None), "model", None)
    if model is None and getattr(viewset, "queryset", None) is not None:
        model = viewset.queryset.model
    return model


def _endpoints():
    """(url, methods it answers) for the list, the detail and every extra action of every viewset."""
    endpoints = []
    for router in _routers():
        for prefix, viewset, _basename in router.registry:
            base = f"/api/v1/{prefix}/"
            endpoints.append((base, viewset, None))
            model = _model_of(viewset)
            obj = model.objects.order_by("pk").first() if model is not None else None
            detail = f"{base}{obj.pk}/" if obj is not None else None
            if detail:
                endpoints.append((detail, viewset, None))
            for action in viewset.get_extra_actions():
                if action.detail and not detail:
                    continue
                root = detail if action.detail else base
                endpoints.append((f"{root}{action.url_path}/", viewset, action))
    # A URL this enumeration cannot fill in (an action's path with its own parameter, a list route a viewset
    # does not have) reaches no view: it changes nothing, and a token client gets a plain 404 there.
    return [endpoint for endpoint in endpoints if _reaches_a_view(endpoint[0])]


def _reaches_a_view(url: str) -> bool:
    try:
        resolve(url)
    except Resolver404:
        return False
    return True


def test_supervisors_change_nothing_through_any_api_endpoint(api_client, supervisor, mfa):
    from tests.e2e.test_accessibility import build_world  # loads Playwright: only this test needs it

    build_world()
    mfa(supervisor)
    # As API clients do: a token; and as the browsable pages do: a session.
    # A read-and-write token, so that the supervisors' rule (not the token's scope) is what refuses.
    _token, secret = create_api_token(supervisor, name="check", scope="write")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    session = Client()
    session.force_login(supervisor)
    endpoints = _endpoints()
    assert len(endpoints) > 30, endpoints  # the routers were found
    # Refusals are audited (and a token's first address); nothing else may be.
    security_events = ("access.refused", "api_token.new_address")
    before = AuditEvent.objects.exclude(action__in=security_events).count()
    tried, problems = 0, []
    for url, _viewset, _action in endpoints:
        for method in UNSAFE:
            for name, client in (("token", api_client), ("session", session)):
                if client is api_client:
                    response = getattr(client, method)(url, {}, format="json")
                else:
                    response = getattr(client, method)(url, "{}", content_type="application/json")
                tried += 1
                if response.status_code not in (401, 403, 405):
                    problems.append(f"{method.upper()} {url} ({name}) -> {response.status_code}")
        read = api_client.get(url)
        if read.status_code >= 500:
            problems.append(f"GET {url} -> {read.status_code}")
    assert not problems, "\n".join(problems)
    assert AuditEvent.objects.exclude(action__in=security_events).count() == before
    assert AuditEvent.objects.filter(action="access.refused", actor=supervisor).exists()
    print(f"\nsupervisor API check: {tried} writes refused on {len(endpoints)} endpoints")
