"""Authentication and refusals in the audit trail (issue 16, point 3)."""

import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache

from core.audit import seal_pending, verify_chain
from core.models import AuditEvent
from tests.accounts.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # de-duplication windows of earlier tests


def test_a_failed_sign_in_is_audited_without_the_password_and_the_chain_verifies(client, user):
    client.post("/accounts/login/", {"login": user.email, "password": "wrong-password-123"})
    client.post("/accounts/login/", {"login": "nobody@example.cn", "password": "wrong-password-123"})
    failed = AuditEvent.objects.filter(action="auth.sign_in_failed")
    mine = failed.get(target_type__model="user", target_id=str(user.pk))
    assert mine.actor is None and "127.0.0.1" in mine.reason
    assert failed.filter(reason__startswith="unknown account").count() == 1
    for event in failed:
        assert "wrong-password-123" not in f"{event.reason} {event.changes} {event.target_label}"
    seal_pending()
    assert verify_chain().intact


def test_failed_sign_ins_from_one_address_are_recorded_once_per_window(client, user):
    for _ in range(4):
        client.post("/accounts/login/", {"login": user.email, "password": "wrong-password-123"})
    assert AuditEvent.objects.filter(action="auth.sign_in_failed").count() == 1


def test_a_sign_in_is_audited(client, user):
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert AuditEvent.objects.filter(action="auth.sign_in", actor=user).count() == 1


def test_a_403_is_audited_once_per_window_and_the_chain_verifies(client, user):
    client.force_login(user)
    for _ in range(5):
        assert client.get("/oversight/audit/").status_code == 403
    refusals = AuditEvent.objects.filter(action="access.refused", actor=user)
    assert refusals.count() == 1
    assert "GET /oversight/audit/" in refusals.get().reason and "supervisors" in refusals.get().reason
    seal_pending()
    assert verify_chain().intact


def test_a_flood_of_refusals_on_many_paths_writes_a_bounded_number(client, user):
    client.force_login(user)
    for n in range(40):
        client.get(f"/oversight/audit/?n={n}")  # same path: one event
        client.post(f"/account/tokens/{n + 10**6}/revoke/")  # 404, not a refusal
        client.get("/operator/verifications/", {"page": n})
    assert AuditEvent.objects.filter(action="access.refused", actor=user).count() == 2


def test_a_password_change_is_audited(client, user):
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {
            "oldpassword": PASSWORD,
            "password1": "another-horse-9-battery",
            "password2": "another-horse-9-battery",
        },
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.password_changed", actor=user).exists()


def test_security_events_are_filterable_on_the_audit_page(client, supervisor, mfa):
    stranger = UserFactory()
    client.post("/accounts/login/", {"login": stranger.email, "password": "wrong-password-123"})
    mfa(supervisor)
    client.force_login(supervisor)
    page = client.get("/oversight/audit/", {"kind": "security"})
    assert page.status_code == 200
    actions = {event.action for event in page.context["page"]}
    assert "auth.sign_in_failed" in actions
    assert actions <= set(
        AuditEvent.objects.filter(action__startswith="auth.").values_list("action", flat=True)
    ) | {"access.refused", "api_token.create", "api_token.new_address", "api_token.revoke"}
    assert "Sign-in failed" in page.content.decode()


def test_a_recovery_code_sign_in_is_audited(client, user):
    TOTP.activate(user, generate_totp_secret())
    codes = RecoveryCodes.activate(user)
    code = codes.get_unused_codes()[0]
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.recovery_code_used", actor=user).exists()
    assert AuditEvent.objects.filter(action="auth.sign_in", actor=user).exists()
