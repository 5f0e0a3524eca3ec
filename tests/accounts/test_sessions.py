"""Sessions (issue 16, point 4): people see and end theirs; credential changes and idleness end them too."""

import time

import pytest
from allauth.mfa.totp.internal.auth import hotp_value, yield_hotp_counters_from_time
from allauth.usersessions.models import UserSession
from django.test import Client

from core.middleware import StaffIdleTimeoutMiddleware
from core.models import AuditEvent
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "another-horse-9-battery"


def _browser(user, address: str, agent: str) -> Client:
    browser = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    assert browser.post("/accounts/login/", {"login": user.email, "password": PASSWORD}).status_code == 302
    return browser


def _reauthenticate(browser: Client) -> None:
    assert browser.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302


def _signed_in(browser: Client) -> bool:
    return browser.get("/dashboard/").status_code == 200


def test_a_person_sees_their_sessions_and_ending_one_signs_that_browser_out(user):
    laptop = _browser(user, "10.1.1.1", "Firefox on the laptop")
    phone = _browser(user, "10.2.2.2", "Safari on the phone")
    page = laptop.get("/accounts/sessions/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "10.2.2.2" in content and "Safari on the phone" in content and "This browser" in content
    phone_session = UserSession.objects.get(user=user, ip="10.2.2.2")
    asked = laptop.post("/account/sessions/end/", {"session": phone_session.pk})
    assert asked.status_code == 302 and asked.url.startswith("/accounts/reauthenticate/")
    assert _signed_in(phone)  # nothing ended before the password was given again
    _reauthenticate(laptop)
    response = laptop.post("/account/sessions/end/", {"session": phone_session.pk})
    assert response.status_code == 302
    assert not _signed_in(phone)
    assert _signed_in(laptop)
    assert AuditEvent.objects.filter(action="auth.sessions_ended", actor=user).exists()


def test_ending_all_other_sessions_keeps_this_one(user):
    laptop = _browser(user, "10.1.1.1", "laptop")
    phone = _browser(user, "10.2.2.2", "phone")
    tablet = _browser(user, "10.3.3.3", "tablet")
    _reauthenticate(laptop)
    laptop.post("/account/sessions/end/", {"session": "others"})
    assert _signed_in(laptop) and not _signed_in(phone) and not _signed_in(tablet)


def test_someone_elses_session_cannot_be_ended(user, client):
    phone = _browser(user, "10.2.2.2", "phone")
    other = client
    other.force_login(UserFactory())
    _reauthenticate(other)
    session = UserSession.objects.get(user=user)
    assert other.post("/account/sessions/end/", {"session": session.pk}).status_code == 404
    assert other.post("/account/sessions/end/", {"session": "nonsense"}).status_code == 404
    assert _signed_in(phone)


def test_a_password_change_ends_the_other_sessions(user):
    laptop = _browser(user, "10.1.1.1", "laptop")
    phone = _browser(user, "10.2.2.2", "phone")
    laptop.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert _signed_in(laptop) and not _signed_in(phone)
    assert list(UserSession.objects.filter(user=user).values_list("ip", flat=True)) == ["10.1.1.1"]


def test_an_mfa_reset_ends_the_other_sessions(user, django_capture_on_commit_callbacks):
    laptop = _browser(user, "10.1.1.1", "laptop")
    phone = _browser(user, "10.2.2.2", "phone")
    _reauthenticate(laptop)
    activate = laptop.get("/accounts/2fa/totp/activate/")
    secret = activate.context["form"].secret
    code = str(hotp_value(secret, next(yield_hotp_counters_from_time()))).zfill(6)
    with django_capture_on_commit_callbacks(execute=True):  # allauth announces the new factor on commit
        response = laptop.post("/accounts/2fa/totp/activate/", {"code": code})
    assert response.status_code == 302, response.context["form"].errors
    assert _signed_in(laptop) and not _signed_in(phone)
    assert AuditEvent.objects.filter(action="auth.mfa_enabled", actor=user).exists()


def test_staff_sessions_end_when_idle(client, operator, mfa, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 30
    client.force_login(mfa(operator))
    assert client.get("/dashboard/").status_code == 200
    session = client.session
    session[StaffIdleTimeoutMiddleware.SESSION_KEY] = int(time.time()) - 31 * 60
    session.save()
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_members_are_not_held_to_the_staff_timeout(client, user, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 30
    client.force_login(user)
    session = client.session
    session[StaffIdleTimeoutMiddleware.SESSION_KEY] = int(time.time()) - 31 * 60
    session.save()
    assert client.get("/dashboard/").status_code == 200


def test_activity_is_recorded_at_most_once_a_minute(user, monkeypatch):
    from django.core.cache import cache

    import accounts.security

    clock = [1000.0]
    monkeypatch.setattr(accounts.security.time, "monotonic", lambda: clock[0])
    browser = _browser(user, "10.3.3.3", "Firefox")
    session = UserSession.objects.get(user=user, ip="10.3.3.3")
    assert _signed_in(browser)
    UserSession.objects.filter(pk=session.pk).update(ip="10.9.9.9")  # a row the tracking would rewrite
    clock[0] += 30
    browser.defaults["REMOTE_ADDR"] = "10.4.4.4"
    assert _signed_in(browser)
    assert UserSession.objects.get(pk=session.pk).ip == "10.9.9.9"  # within the minute: not written
    clock[0] += 31
    cache.clear()  # the shared cache's minute is over too
    assert _signed_in(browser)
    assert UserSession.objects.get(pk=session.pk).ip == "10.4.4.4"  # a minute later: written again
