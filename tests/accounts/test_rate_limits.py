"""Brute force and abuse (issue 16, point 5): limits per account and address, 429 with Retry-After, no
lock-out of the real person from elsewhere, and a password reset that never skips MFA."""

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.core.cache import cache
from django.test import Client

from accounts.authentication import AddressRateThrottle
from core.models import AuditEvent
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
WRONG = "wrong-password-123"
NEW_PASSWORD = "another-horse-9-battery"


@pytest.fixture(autouse=True)
def rate_limits(settings):
    """tests/conftest.py turns allauth's limits off for every test; these tests need them on."""
    cache.clear()
    settings.ACCOUNT_RATE_LIMITS = {
        "login": "30/m/ip",
        "login_failed": "10/m/ip,5/5m/key",
        "signup": "2/10m/ip",
        "reset_password": "10/m/ip,3/10m/key",
    }
    yield
    cache.clear()


def _sign_in(browser, user, password):
    return browser.post("/accounts/login/", {"login": user.email, "password": password})


def test_guessing_a_password_is_stopped_with_429_but_the_person_still_signs_in_elsewhere(user):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        assert _sign_in(attacker, user, WRONG).status_code == 200
    stopped = _sign_in(attacker, user, WRONG)
    assert stopped.status_code == 429 and stopped["Retry-After"] == "300"
    assert _sign_in(attacker, user, PASSWORD).status_code == 429  # even the right password, from there
    owner = Client(REMOTE_ADDR="198.51.100.7")
    assert _sign_in(owner, user, PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(action="auth.locked_out", target_id=str(user.pk)).count() == 1


def test_one_address_is_limited_across_accounts(user, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/m/ip,5/5m/key"}
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for person in UserFactory.create_batch(3):
        _sign_in(attacker, person, WRONG)
    assert _sign_in(attacker, user, WRONG).status_code == 429


def test_sign_up_is_limited_per_address_with_retry_after(client):
    for n in range(2):
        client.post("/accounts/signup/", {"email": f"new{n}@example.cn", "password1": "x", "password2": "y"})
    response = client.post(
        "/accounts/signup/", {"email": "new9@example.cn", "password1": "x", "password2": "y"}
    )
    assert response.status_code == 429 and response["Retry-After"] == "600"
    assert "Too many attempts" in response.content.decode()
    assert AuditEvent.objects.filter(action="auth.rate_limited", reason__startswith="signup").exists()


def test_password_reset_requests_are_limited_per_account(client, user):
    for _ in range(3):
        assert client.post("/accounts/password/reset/", {"email": user.email}).status_code == 302
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 429 and int(response["Retry-After"]) == 600


def test_mfa_codes_are_limited(client, user):
    TOTP.activate(user, generate_totp_secret())
    _sign_in(client, user, PASSWORD)
    for _ in range(5):
        client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert response.status_code == 429 and response.has_header("Retry-After")
    assert client.get("/dashboard/").status_code == 302  # never signed in


def test_the_api_answers_429_with_retry_after_per_address(api_client, user, monkeypatch):
    monkeypatch.setattr(AddressRateThrottle, "THROTTLE_RATES", {"address": "3/minute"})
    api_client.force_authenticate(user)
    for _ in range(3):
        assert api_client.get("/api/v1/me/").status_code == 200
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_a_password_reset_does_not_skip_mfa(client, user, django_capture_on_commit_callbacks):
    TOTP.activate(user, generate_totp_secret())
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mail.outbox[-1].body).group(1)
    form = client.get(link, follow=True)
    client.post(form.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get("/dashboard/").status_code == 302  # the reset signed nobody in
    response = _sign_in(client, user, NEW_PASSWORD)
    assert response.status_code == 302 and response.url.startswith("/accounts/2fa/authenticate/")
    assert client.get("/dashboard/").status_code == 302  # still not signed in without the code
    assert AuditEvent.objects.filter(action="auth.password_reset", target_id=str(user.pk)).exists()
