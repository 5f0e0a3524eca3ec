"""API tokens (issue 16, point 2): named, hashed, expiring, scoped, revocable, with their use recorded."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import create_api_token, retire_legacy_tokens, revoke_api_token
from core.exceptions import Conflict, DomainError
from core.models import AuditEvent
from tests.accounts.factories import PASSWORD, UserFactory, make_operator

pytestmark = pytest.mark.django_db
ME = "/api/v1/me/"
ORGANISATIONS = "/api/v1/organisations/"


def _use(api_client, secret, **extra):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {secret}", **extra)
    return api_client


def _reauthenticate(client):
    assert client.post("/accounts/reauthenticate/", {"password": PASSWORD}).status_code == 302


def test_creating_a_token_asks_for_the_password_again_and_shows_the_secret_once(client, user):
    client.force_login(user)
    first = client.get("/account/tokens/new/")
    assert first.status_code == 302 and first.url.startswith("/accounts/reauthenticate/")
    _reauthenticate(client)
    response = client.post("/account/tokens/new/", {"name": "nightly export", "scope": "read", "days": "30"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret in response.content.decode()
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.scope) == ("nightly export", "read")
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    # Not recoverable: no column holds the secret, only its SHA-256 and a short prefix.
    stored = [str(value) for value in ApiToken.objects.filter(pk=token.pk).values().get().values()]
    assert not any(secret in value for value in stored)
    assert token.display_prefix == secret[:13] and len(secret) > 40
    listing = client.get("/account/tokens/").content.decode()
    assert token.display_prefix in listing and secret not in listing
    assert AuditEvent.objects.filter(action="api_token.create", target_id=str(token.pk)).exists()


def test_a_person_has_several_named_tokens(user):
    create_api_token(user, name="one", scope="read")
    create_api_token(user, name="two", scope="write")
    with pytest.raises(Conflict):
        create_api_token(user, name="one", scope="read")
    assert ApiToken.objects.filter(user=user).count() == 2


def test_expiry_is_capped(client, user, settings):
    settings.API_TOKEN_MAX_DAYS = 60
    with pytest.raises(DomainError):
        create_api_token(user, name="long", scope="read", days=61)
    client.force_login(user)
    _reauthenticate(client)
    response = client.post("/account/tokens/new/", {"name": "long", "scope": "read", "days": "61"})
    assert response.status_code == 200 and "days" in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_a_read_only_token_cannot_post(api_client, user):
    _token, secret = create_api_token(user, name="reader", scope="read")
    client = _use(api_client, secret)
    assert client.get(ME).status_code == 200
    response = client.post(ORGANISATIONS, {"name_zh": "测试"}, format="json")
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    assert not user.memberships.exists()


def test_a_write_token_may_post(api_client, user):
    _token, secret = create_api_token(user, name="writer", scope="write")
    response = _use(api_client, secret).post(ORGANISATIONS, {"name_zh": ""}, format="json")
    assert response.status_code == 400  # past authentication: the payload is what is wrong


def test_expired_and_revoked_tokens_are_refused(api_client, user):
    expired, expired_secret = create_api_token(user, name="old", scope="read")
    ApiToken.objects.filter(pk=expired.pk).update(
        created_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert _use(api_client, expired_secret).get(ME).status_code == 401
    revoked, revoked_secret = create_api_token(user, name="gone", scope="read")
    assert _use(api_client, revoked_secret).get(ME).status_code == 200
    revoke_api_token(revoked, by=user)
    assert _use(api_client, revoked_secret).get(ME).status_code == 401
    assert _use(api_client, "aicc_not-a-token").get(ME).status_code == 401


def test_last_use_and_new_addresses_are_recorded(api_client, user):
    token, secret = create_api_token(user, name="script", scope="read")
    _use(api_client, secret, REMOTE_ADDR="10.0.0.1").get(ME)
    _use(api_client, secret, REMOTE_ADDR="10.0.0.1").get(ME)
    _use(api_client, secret, REMOTE_ADDR="10.0.0.2").get(ME)
    token.refresh_from_db()
    assert token.last_used_ip == "10.0.0.2" and token.last_used_at is not None
    events = AuditEvent.objects.filter(action="api_token.new_address", target_id=str(token.pk))
    assert sorted(e.changes["address"]["to"] for e in events) == ["10.0.0.1", "10.0.0.2"]


def test_owner_revokes_on_the_page(client, user):
    token, _secret = create_api_token(user, name="script", scope="read")
    client.force_login(user)
    response = client.post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == user
    assert AuditEvent.objects.filter(action="api_token.revoke", target_id=str(token.pk)).exists()
    assert not mail.outbox  # the owner did it: no need to tell them


def test_someone_else_cannot_see_or_revoke_a_token(client, user):
    token, _secret = create_api_token(user, name="script", scope="read")
    client.force_login(UserFactory())
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert client.get("/operator/tokens/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_an_operator_revokes_anyones_token_and_the_owner_is_told(
    client, user, mfa, django_capture_on_commit_callbacks
):
    token, _secret = create_api_token(user, name="leaked", scope="write")
    operator = mfa(make_operator())
    client.force_login(operator)
    listing = client.get("/operator/tokens/")
    assert listing.status_code == 200 and "leaked" in listing.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/account/tokens/{token.pk}/revoke/", {"next": "/operator/tokens/"})
    token.refresh_from_db()
    assert token.revoked_by == operator
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert "leaked" in mail.outbox[0].subject and "create a new token" in mail.outbox[0].body


def test_operator_token_list_has_constant_queries(client, mfa, django_assert_max_num_queries):
    operator = mfa(make_operator())
    client.force_login(operator)
    client.get("/operator/tokens/")
    for size in (2, 12):
        while ApiToken.objects.count() < size:
            create_api_token(UserFactory(), name="script", scope="read")
        with django_assert_max_num_queries(12):
            assert client.get("/operator/tokens/").status_code == 200


def test_old_plain_text_tokens_are_dropped_and_their_owners_told(user, django_capture_on_commit_callbacks):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, user_id bigint)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES ('abc', now(), %s)", [user.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert retire_legacy_tokens(connection) == 1
    assert "authtoken_token" not in connection.introspection.table_names()
    assert [m.to for m in mail.outbox] == [[user.email]]
    assert "no longer works" in mail.outbox[0].subject
    assert retire_legacy_tokens(connection) == 0  # nothing left to do on a second run
