"""The cluster access pages: "My cluster access" (identity, user name, keys, allocations, ssh line), the
managers' view of their organisation's people and the operators' identity pages, with who may see what."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compute import kept
from compute.identities import keys
from compute.identities.models import ClusterIdentity, SshKey
from compute.models import AllocationMember
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, make_verified_organisation
from tests.compute.factories import make_allocation
from tests.compute.identity_helpers import make_identity, new_public_key, private_key, private_text

pytestmark = pytest.mark.django_db

PAGE = reverse("compute:cluster_access")
ADD = reverse("compute:ssh_key_add")


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.cn", name="Alice Wang")


@pytest.fixture
def identity(alice):
    return make_identity(alice, "alice")


def page_of(client, user) -> str:
    client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


# --- My cluster access -------------------------------------------------------------------------------


def test_signing_in_is_needed(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_menu_leads_to_the_page(client, alice):
    assert f'href="{PAGE}"' in page_of(client, alice)


def test_without_identity_the_page_offers_to_choose_a_user_name(client, alice):
    page = page_of(client, alice)
    assert "Choose your cluster user name" in page
    assert 'for="id_username"' in page and 'id="id_username_help"' in page
    assert reverse("compute:cluster_username_check") in page  # the live check
    assert "You may not submit jobs under any allocation yet" in page  # the empty state says what to do
    assert 'id="add-key-form"' not in page


def test_the_live_check_says_whether_a_name_is_free(client, alice):
    make_identity(UserFactory(), "taken")
    client.force_login(alice)
    check = reverse("compute:cluster_username_check")

    def answer(name):
        return client.get(check, {"username": name}, HTTP_HX_REQUEST="true").content.decode()

    assert "is free" in answer("alice")
    assert "is taken" in answer("taken")
    assert "reserved" in answer("root")
    assert "3 to 32 characters" in answer("Al")
    assert answer("").strip() == ""
    assert client.get(check, {"username": "x"}).status_code == 302  # not htmx: back to the page


def test_choosing_a_user_name_creates_the_identity(client, alice):
    client.force_login(alice)
    response = client.post(reverse("compute:cluster_username_claim"), {"username": "alice"})
    assert response.status_code == 302
    assert ClusterIdentity.objects.get(user=alice).username == "alice"


def test_a_bad_user_name_is_refused_on_the_page(client, alice):
    make_identity(UserFactory(), "taken")
    client.force_login(alice)
    for name in ["taken", "root", "A!"]:
        response = client.post(reverse("compute:cluster_username_claim"), {"username": name})
        assert response.status_code == 400
        assert 'aria-invalid="true"' in response.content.decode()
    assert not ClusterIdentity.objects.filter(user=alice).exists()


def test_the_page_shows_the_identity_login_line_and_allocations(client, alice, identity, settings, partition):
    settings.CLUSTER_LOGIN_HOST = "login.example.cn"
    settings.CLUSTER_LOGIN_PORT = 2222
    allocation = make_allocation(alice)
    AllocationMember.objects.filter(allocation=allocation, user=alice).delete()
    AllocationMember.objects.create(allocation=allocation, user=alice, cluster_username="alice")
    page = page_of(client, alice)
    assert "ssh -p 2222 alice@login.example.cn" in page
    assert str(identity.uid) in page and identity.home in page
    assert allocation.account_name in page and f"--partition={allocation.partition.slurm_partition}" in page
    assert "No key yet" in page and 'id="add-key-form"' in page
    for field in ("id_name", "id_public_key", "id_public_key_file", "id_expires_on"):
        assert f'for="{field}"' in page


def test_the_publishing_status_polls_until_published(client, alice, identity):
    page = page_of(client, alice)
    assert reverse("compute:cluster_access_status") in page and 'hx-trigger="every 2s"' in page
    identity.published_at = timezone.now()
    identity.save()
    status = client.get(reverse("compute:cluster_access_status"), HTTP_HX_REQUEST="true").content.decode()
    assert "Published to the cluster" in status and "hx-trigger" not in status


def test_adding_a_pasted_key(client, alice, identity, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD, {"name": "laptop", "public_key": new_public_key(), "expires_on": ""})
    assert response.status_code == 302
    key = SshKey.objects.get(identity=identity)
    assert key.name == "laptop" and key.expires_at is None
    page = client.get(PAGE).content.decode()
    assert key.fingerprint in page and reverse("compute:ssh_key_remove", args=[key.pk]) in page
    assert len(mail.outbox) == 1


def test_adding_an_uploaded_pub_file_with_an_expiry(client, alice, identity):
    client.force_login(alice)
    line = new_public_key("ecdsa384", comment="alice@server")
    day = timezone.localdate() + timezone.timedelta(days=30)
    upload = SimpleUploadedFile(
        "id_ecdsa.pub", (line + "\n").encode(), content_type="application/octet-stream"
    )
    response = client.post(
        ADD, {"name": "", "public_key": "", "public_key_file": upload, "expires_on": day.isoformat()}
    )
    assert response.status_code == 302
    key = SshKey.objects.get(identity=identity)
    assert key.name == "alice@server" and key.bits == 384
    assert timezone.localtime(key.expires_at).date() == day + timezone.timedelta(days=1)


def test_a_pasted_private_key_is_refused_and_never_shown_again(client, alice, identity):
    client.force_login(alice)
    secret = private_text(private_key("ed25519"))
    response = client.post(ADD, {"name": "oops", "public_key": secret})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Never share a private key" in page and 'id="id_public_key_error"' in page
    body = secret.splitlines()[1]
    assert body not in page and "PRIVATE KEY-----" not in page.replace("PRIVATE key", "")
    assert not SshKey.objects.exists()


def test_a_short_rsa_key_is_refused_next_to_its_field(client, alice, identity):
    client.force_login(alice)
    response = client.post(ADD, {"name": "old", "public_key": new_public_key("rsa", bits=2048)})
    page = response.content.decode()
    assert response.status_code == 400 and "at least 3072 bits" in page and 'id="id_public_key_error"' in page
    assert not SshKey.objects.exists()


def test_without_identity_a_key_cannot_be_added(client, alice):
    client.force_login(alice)
    response = client.post(ADD, {"name": "laptop", "public_key": new_public_key()}, follow=True)
    page = response.content.decode()
    assert "Choose your cluster user name first" in page and 'for="id_username"' in page
    assert not SshKey.objects.exists()


def test_removing_a_key_asks_first(client, alice, identity):
    key = keys.add_key(alice, new_public_key(), name="laptop")
    client.force_login(alice)
    url = reverse("compute:ssh_key_remove", args=[key.pk])
    confirm = client.get(url).content.decode()
    assert (
        "Remove the key “laptop”?" in confirm
        and key.fingerprint in confirm
        and 'id="remove-key-confirm"' in confirm
    )
    key.refresh_from_db()
    assert key.removed_at is None
    assert client.post(url).status_code == 302
    key.refresh_from_db()
    assert key.removed_at is not None and key.removed_by == alice


def test_another_persons_key_is_a_404(client, alice, identity):
    key = keys.add_key(alice, new_public_key(), name="laptop")
    client.force_login(UserFactory())
    url = reverse("compute:ssh_key_remove", args=[key.pk])
    assert client.get(url).status_code == 404 and client.post(url).status_code == 404
    key.refresh_from_db()
    assert key.removed_at is None


# --- managers ----------------------------------------------------------------------------------------


@pytest.fixture
def org(alice, partition):
    return make_verified_organisation(alice)


def test_a_manager_sees_the_organisations_identities(client, alice, identity, org):
    bob = add_member(org, UserFactory(email="bob@example.cn")).user
    make_identity(bob, "bobby")
    keys.add_key(bob, new_public_key(), name="bob's laptop")
    carol = add_member(org, UserFactory(email="carol@example.cn")).user
    assert f'href="{reverse("compute:organisation_identities", args=[org.pk])}"' in page_of(client, alice)
    page = client.get(reverse("compute:organisation_identities", args=[org.pk])).content.decode()
    assert "bobby" in page and "bob@example.cn" in page and carol.email in page and "none yet" in page


@pytest.mark.parametrize("who", ["other_manager", "member", "stranger"])
def test_others_get_a_404(client, alice, org, who):
    if who == "other_manager":
        person = UserFactory()
        make_verified_organisation(person)
    elif who == "member":
        person = add_member(org).user
    else:
        person = UserFactory()
    client.force_login(person)
    assert client.get(reverse("compute:organisation_identities", args=[org.pk])).status_code == 404


def test_the_managers_list_costs_the_same_queries_for_1_or_many_people(client, alice, identity, org):
    client.force_login(alice)
    url = reverse("compute:organisation_identities", args=[org.pk])
    allocation = make_allocation(alice, org)

    def count():
        kept.IDENTITIES.forget()  # the list built, not the kept page (compute/kept.py)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    count()
    few = count()
    for n in range(8):
        person = add_member(org, UserFactory()).user
        make_identity(person, f"many{n}")
        keys.add_key(person, new_public_key(), name="k")
        AllocationMember.objects.create(allocation=allocation, user=person, cluster_username=f"many{n}")
    many = count()
    assert many == few, (few, many)


# --- operators ---------------------------------------------------------------------------------------


def test_an_operator_finds_and_revokes_a_key(client, alice, identity, operator, mfa):
    key = keys.add_key(alice, new_public_key(), name="laptop")
    client.force_login(mfa(operator))
    found = client.get(reverse("compute:identity_list"), {"q": "alice"}).content.decode()
    assert reverse("compute:identity_detail", args=[identity.pk]) in found
    detail = client.get(reverse("compute:identity_detail", args=[identity.pk])).content.decode()
    assert key.fingerprint in detail and f'id="revoke-reason-{key.pk}"' in detail
    revoke = reverse("compute:ssh_key_revoke", args=[key.pk])
    client.post(revoke, {"reason": ""})
    key.refresh_from_db()
    assert key.removed_at is None  # a reason is required
    assert client.post(revoke, {"reason": "Leaked"}).status_code == 302
    key.refresh_from_db()
    assert key.revoke_reason == "Leaked" and AuditEvent.objects.filter(action="ssh_key.revoke").exists()


def test_people_who_are_not_operators_cannot_use_the_operator_pages(client, alice, identity):
    key = keys.add_key(alice, new_public_key(), name="laptop")
    client.force_login(alice)
    assert client.get(reverse("compute:identity_list")).status_code == 403
    assert client.get(reverse("compute:identity_detail", args=[identity.pk])).status_code == 403
    assert client.post(reverse("compute:ssh_key_revoke", args=[key.pk]), {"reason": "x"}).status_code == 403
    assert (
        client.post(reverse("compute:identity_suspend", args=[identity.pk]), {"reason": "x"}).status_code
        == 403
    )
    key.refresh_from_db()
    identity.refresh_from_db()
    assert key.removed_at is None and not identity.is_locked


def test_an_operator_suspends_and_unsuspends(client, alice, identity, operator, mfa):
    client.force_login(mfa(operator))
    client.post(reverse("compute:identity_suspend", args=[identity.pk]), {"reason": "Abuse report"})
    identity.refresh_from_db()
    assert identity.is_locked and identity.lock_reason == "suspended"
    client.post(reverse("compute:identity_unsuspend", args=[identity.pk]))
    identity.refresh_from_db()
    assert identity.lock_reason != "suspended"
