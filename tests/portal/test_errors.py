import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.views import defaults

pytestmark = pytest.mark.django_db


def test_custom_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "Skip to main content" in html  # our layout, not Django's


def test_custom_500_page_needs_no_database_or_context():
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_custom_403_page_explains(client, user):
    client.force_login(user)
    response = client.get("/operator/verifications/")
    assert response.status_code == 403
    assert "This page is for the center" in response.content.decode()


def test_login_attempts_are_rate_limited(client, user, settings):
    cache.clear()
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,3/m/key"}
    for _ in range(3):
        response = client.post("/accounts/login/", {"login": user.email, "password": "wrong-password"})
        assert "Too many failed login attempts" not in response.content.decode()
    # The limit now holds even for the right password: a brute force cannot find it by luck.
    response = client.post("/accounts/login/", {"login": user.email, "password": "correct-horse-battery-9"})
    cache.clear()
    assert response.status_code == 429 and int(response["Retry-After"]) == 60
    assert "Too many failed login attempts" in response.content.decode()
