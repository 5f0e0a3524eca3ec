"""The cluster access API: the caller's identity, their SSH keys (list, add, read, remove; operators revoke),
the managers' read-only identities, the schema, and bad payloads that change nothing and never 500."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compute import kept
from compute.identities import keys
from compute.identities.models import SshKey
from compute.models import AllocationMember
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, make_verified_organisation
from tests.compute.factories import make_allocation
from tests.compute.identity_helpers import make_identity, new_public_key, private_key, private_text

pytestmark = pytest.mark.django_db

ACCESS = "/api/v1/cluster-access/"
KEYS = "/api/v1/ssh-keys/"
IDENTITIES = "/api/v1/cluster-identities/"


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.cn")


@pytest.fixture
def identity(alice):
    return make_identity(alice, "alice")


@pytest.fixture
def as_alice(api_client, alice):
    api_client.force_authenticate(alice)
    return api_client


def snapshot():
    return (
        list(SshKey.objects.order_by("id").values_list("id", "fingerprint", "removed_at")),
        AuditEvent.objects.count(),
        len(mail.outbox),
    )


def test_anonymous_callers_are_refused(api_client):
    for url in (ACCESS, KEYS, IDENTITIES):
        assert api_client.get(url).status_code == 401


def test_cluster_access_without_identity(as_alice, settings):
    settings.CLUSTER_LOGIN_HOST = "login.example.cn"
    body = as_alice.get(ACCESS).json()
    assert body["identity"] is None and body["allocations"] == []
    assert body["login"] == {"host": "login.example.cn", "port": settings.CLUSTER_LOGIN_PORT, "ssh": ""}


def test_cluster_access_with_identity_and_allocation(as_alice, alice, identity, settings, partition):
    settings.CLUSTER_LOGIN_HOST = "login.example.cn"
    settings.CLUSTER_LOGIN_PORT = 2222
    allocation = make_allocation(alice)
    AllocationMember.objects.filter(allocation=allocation, user=alice).delete()
    AllocationMember.objects.create(allocation=allocation, user=alice, cluster_username="alice")
    body = as_alice.get(ACCESS).json()
    assert body["identity"]["username"] == "alice" and body["identity"]["uid"] == identity.uid
    assert body["identity"]["gid"] == identity.uid and isinstance(body["identity"]["is_published"], bool)
    assert body["login"]["ssh"] == "ssh -p 2222 alice@login.example.cn"
    (row,) = body["allocations"]
    assert row["account"] == allocation.account_name
    assert row["slurm_partition"] == allocation.partition.slurm_partition


def test_adding_listing_reading_and_removing_a_key(
    as_alice, alice, identity, django_capture_on_commit_callbacks
):
    line = new_public_key(comment="alice@laptop")
    with django_capture_on_commit_callbacks(execute=True):
        response = as_alice.post(KEYS, {"public_key": line, "name": "laptop"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    key = SshKey.objects.get()
    assert created["fingerprint"] == key.fingerprint and created["is_current"] is True
    assert created["public_key"] == " ".join(line.split()[:2]) and created["comment"] == "alice@laptop"
    assert as_alice.get(KEYS).json()["results"][0]["id"] == key.pk
    assert as_alice.get(f"{KEYS}{key.pk}/").json()["name"] == "laptop"
    with django_capture_on_commit_callbacks(execute=True):
        assert as_alice.delete(f"{KEYS}{key.pk}/").status_code == 204
    key.refresh_from_db()
    assert key.removed_at is not None and len(mail.outbox) == 2
    assert as_alice.get(KEYS, {"current": "true"}).json()["results"] == []
    assert as_alice.get(KEYS, {"current": "false"}).json()["results"][0]["id"] == key.pk
    assert as_alice.delete(f"{KEYS}{key.pk}/").status_code == 409


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "public_key"),
        ({"public_key": ""}, "public_key"),
        ({"public_key": 12}, "public_key"),
        ({"public_key": ["a"]}, "public_key"),
        ({"public_key": "garbage", "name": "x"}, "public_key"),
        ({"public_key": "RSA2048", "name": "x"}, "public_key"),
        ({"public_key": "PRIVATE", "name": "x"}, "public_key"),
        ({"public_key": "ED", "name": "x" * 101}, "name"),
        ({"public_key": "ED", "name": "x", "expires_at": "yesterday"}, "expires_at"),
        ({"public_key": "ED", "name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"public_key": "x" * 20_000}, "public_key"),
        ({"public_key": "ssh-ed25519 AAAA\x00"}, "public_key"),
        ({"public_key": "ED", "name": "a\x00b"}, "name"),
    ],
)
def test_bad_payloads_are_400_and_change_nothing(as_alice, identity, payload, field):
    fill = {
        "RSA2048": new_public_key("rsa", bits=2048),
        "PRIVATE": private_text(private_key()),
        "ED": new_public_key(),
    }
    payload = {k: fill.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    before = snapshot()
    response = as_alice.post(KEYS, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert snapshot() == before


def test_a_private_key_gets_the_never_share_message(as_alice, identity):
    response = as_alice.post(KEYS, {"public_key": private_text(private_key("rsa"))}, format="json")
    assert "Never share a private key" in response.json()["public_key"][0]


def test_a_malformed_body_is_a_400(as_alice, identity):
    response = as_alice.generic("POST", KEYS, "{not json", content_type="application/json")
    assert response.status_code == 400 and not SshKey.objects.exists()


def test_without_identity_adding_is_a_409(as_alice):
    response = as_alice.post(KEYS, {"public_key": new_public_key(), "name": "x"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "no_identity"


def test_a_duplicate_and_another_persons_key_are_400(as_alice, alice, identity, api_client):
    line = new_public_key()
    assert as_alice.post(KEYS, {"public_key": line, "name": "a"}, format="json").status_code == 201
    assert as_alice.post(KEYS, {"public_key": line, "name": "b"}, format="json").status_code == 400
    bob = UserFactory()
    make_identity(bob, "bob")
    api_client.force_authenticate(bob)
    response = api_client.post(KEYS, {"public_key": line, "name": "b"}, format="json")
    assert response.status_code == 400 and "another person" in response.json()["public_key"][0]
    assert SshKey.objects.count() == 1


def test_other_peoples_keys_are_invisible(api_client, alice, identity):
    key = keys.add_key(alice, new_public_key(), name="laptop")
    bob = UserFactory()
    make_identity(bob, "bob")
    api_client.force_authenticate(bob)
    assert api_client.get(KEYS).json()["results"] == []
    assert api_client.get(f"{KEYS}{key.pk}/").status_code == 404
    assert api_client.delete(f"{KEYS}{key.pk}/").status_code == 404
    assert api_client.post(f"{KEYS}{key.pk}/revoke/", {"reason": "x"}, format="json").status_code == 403
    key.refresh_from_db()
    assert key.removed_at is None


def test_an_operator_sees_all_keys_and_revokes_one(api_client, alice, identity, operator, mfa):
    key = keys.add_key(alice, new_public_key(), name="laptop")
    api_client.force_authenticate(mfa(operator))
    assert [row["id"] for row in api_client.get(KEYS).json()["results"]] == [key.pk]
    before = snapshot()
    assert api_client.post(f"{KEYS}{key.pk}/revoke/", {}, format="json").status_code == 400
    assert api_client.post(f"{KEYS}{key.pk}/revoke/", {"reason": "  "}, format="json").status_code == 400
    assert snapshot() == before
    response = api_client.post(f"{KEYS}{key.pk}/revoke/", {"reason": "Leaked"}, format="json")
    assert response.status_code == 200 and response.json()["revoke_reason"] == "Leaked"
    assert response.json()["is_current"] is False


def test_bad_query_parameters_are_400(as_alice, identity):
    assert as_alice.get(KEYS, {"current": "maybe"}).status_code == 400
    assert as_alice.get(IDENTITIES, {"organisation": "x"}).status_code == 400
    assert as_alice.get(KEYS, {"page_size": "0"}).status_code == 400


# --- managers ----------------------------------------------------------------------------------------


@pytest.fixture
def org(alice, partition):
    return make_verified_organisation(alice)


def test_a_manager_reads_the_identities_of_the_organisation(as_alice, alice, identity, org):
    bob = add_member(org, UserFactory(email="bob@example.cn")).user
    bob_identity = make_identity(bob, "bobby")
    keys.add_key(bob, new_public_key(), name="k")
    make_identity(UserFactory(), "stranger")
    rows = as_alice.get(IDENTITIES).json()["results"]
    assert {row["username"] for row in rows} == {"alice", "bobby"}
    bob_row = as_alice.get(f"{IDENTITIES}{bob_identity.pk}/").json()
    assert bob_row["key_count"] == 1 and bob_row["user_email"] == "bob@example.cn"
    assert {
        row["username"] for row in as_alice.get(IDENTITIES, {"organisation": org.pk}).json()["results"]
    } == {
        "alice",
        "bobby",
    }
    assert as_alice.post(IDENTITIES, {}, format="json").status_code == 405


def test_another_organisations_manager_sees_none_of_them(api_client, alice, identity, org):
    bob = add_member(org).user
    bob_identity = make_identity(bob, "bobby")
    other = UserFactory()
    make_verified_organisation(other)
    api_client.force_authenticate(other)
    assert api_client.get(IDENTITIES).json()["results"] == []
    assert api_client.get(f"{IDENTITIES}{bob_identity.pk}/").status_code == 404
    assert api_client.get(IDENTITIES, {"organisation": org.pk}).status_code == 400


def test_a_plain_member_sees_no_identities(api_client, alice, identity, org):
    member = add_member(org).user
    make_identity(member, "plain")
    api_client.force_authenticate(member)
    assert api_client.get(IDENTITIES).json()["results"] == []


@pytest.mark.parametrize("url", [KEYS, IDENTITIES])
def test_lists_cost_the_same_queries_for_1_or_many_rows(api_client, alice, identity, org, url):
    api_client.force_authenticate(alice)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert api_client.get(url).status_code == 200
        return len(queries)

    keys.add_key(alice, new_public_key(), name="first")
    count()
    kept.IDENTITIES.forget()  # the list's pages are kept until an identity changes: measure one built anew
    few = count()
    for n in range(6):
        keys.add_key(alice, new_public_key(), name=f"k{n}")
        person = add_member(org).user
        make_identity(person, f"many{n}")
        keys.add_key(person, new_public_key(), name="k")
    assert count() == few


def test_the_schema_documents_the_operations_and_their_errors(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert "get" in paths["/api/v1/cluster-access/"]
    assert {"get", "post"} <= set(paths["/api/v1/ssh-keys/"])
    assert {"get", "delete"} <= set(paths["/api/v1/ssh-keys/{id}/"])
    assert "400" in paths["/api/v1/ssh-keys/"]["post"]["responses"]
    assert "409" in paths["/api/v1/ssh-keys/"]["post"]["responses"]
    assert "post" in paths["/api/v1/ssh-keys/{id}/revoke/"]
    assert "get" in paths["/api/v1/cluster-identities/"]
