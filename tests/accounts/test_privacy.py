import io
import json
import zipfile

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from accounts import privacy, services
from accounts.models import ApiToken, Consent, ConsentPurpose, Invitation, Membership, MembershipRole, User
from accounts.tokens import create_api_token
from compute.backends.fake import FakeBackend
from core.exceptions import Conflict
from core.models import AuditEvent
from tests.accounts.factories import PASSWORD, UserFactory, add_member, make_organisation
from tests.compute.factories import make_allocation

pytestmark = pytest.mark.django_db


def test_consent_is_a_dated_revocable_fact(user):
    assert not privacy.has_consent(user, ConsentPurpose.TALENT_POOL)
    assert not User.objects.with_consent(ConsentPurpose.TALENT_POOL).exists()
    privacy.set_consent(user, purpose=ConsentPurpose.TALENT_POOL, given=True)
    privacy.set_consent(user, purpose=ConsentPurpose.TALENT_POOL, given=True)  # no second row
    assert privacy.has_consent(user, ConsentPurpose.TALENT_POOL)
    assert list(User.objects.with_consent(ConsentPurpose.TALENT_POOL)) == [user]
    privacy.set_consent(user, purpose=ConsentPurpose.TALENT_POOL, given=False)
    assert not privacy.has_consent(user, ConsentPurpose.TALENT_POOL)
    assert not User.objects.with_consent(ConsentPurpose.TALENT_POOL).exists()
    privacy.set_consent(user, purpose=ConsentPurpose.TALENT_POOL, given=True)
    rows = list(Consent.objects.filter(user=user).order_by("given_at"))
    assert len(rows) == 2 and rows[0].withdrawn_at is not None and rows[1].withdrawn_at is None
    assert [e.action for e in AuditEvent.objects.filter(target_id=str(user.pk)).order_by("id")] == [
        "consent.give",
        "consent.withdraw",
        "consent.give",
    ]


def test_consent_page(client, user):
    client.force_login(user)
    response = client.post("/account/privacy/", {ConsentPurpose.MARKETING_EMAIL: "on"})
    assert response.status_code == 302
    assert privacy.has_consent(user, ConsentPurpose.MARKETING_EMAIL)
    assert not privacy.has_consent(user, ConsentPurpose.TALENT_POOL)
    client.post("/account/privacy/", {})
    assert not privacy.has_consent(user, ConsentPurpose.MARKETING_EMAIL)


def test_export_contains_what_the_portal_holds(client, user):
    org = make_organisation(user, name_zh="导出测试公司")
    services.invite_member(org, by=user, email="friend@example.cn", role="member")
    other = make_organisation(UserFactory())
    services.invite_member(other, by=other.memberships.get().user, email=user.email, role="member")
    privacy.set_consent(user, purpose=ConsentPurpose.TALENT_POOL, given=True)
    client.force_login(user)
    response = client.get("/account/privacy/export/")
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert {"README.txt", "profile.json", "memberships.json", "consents.json", "all.json"} <= set(
        archive.namelist()
    )
    data = json.loads(archive.read("all.json"))
    assert data["profile"]["email"] == user.email
    assert data["memberships"][0]["organisation"] == "导出测试公司"
    assert data["memberships"][0]["role"] == "owner"
    assert [c["purpose"] for c in data["consents"]] == ["talent_pool"]
    assert [i["organisation"] for i in data["invitations"]] == [other.name_zh]
    assert "invitation.create" in {e["action"] for e in data["audit_trail_of_my_actions"]}
    # Nothing about other people: the invitation this user sent is their action, not the friend's data.
    assert "friend@example.cn" not in json.dumps(data["profile"])


def test_export_needs_login(client):
    assert client.get("/account/privacy/export/").status_code == 302


def test_delete_account_erases_and_pseudonymises(client, user, mfa):
    org = make_organisation(user)
    successor = UserFactory()
    add_member(org, successor, role=MembershipRole.OWNER)
    services.invite_member(org, by=user, email="x@example.cn", role="member")
    other = make_organisation(UserFactory())
    services.invite_member(other, by=other.memberships.get().user, email=user.email, role="member")
    privacy.set_consent(user, purpose=ConsentPurpose.MARKETING_EMAIL, given=True)
    create_api_token(user, name="script", scope="read")
    mfa(user)
    email = user.email
    client.force_login(user)
    response = client.post("/account/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302

    user.refresh_from_db()
    assert not user.is_active and not user.has_usable_password()
    assert user.email == f"deleted-user-{user.pk}@invalid" and user.name == ""
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not Authenticator.objects.filter(user=user).exists()
    assert not ApiToken.objects.filter(user=user).exists()
    assert not Membership.objects.filter(user=user).exists()
    assert not privacy.has_consent(user, ConsentPurpose.MARKETING_EMAIL)
    assert Invitation.objects.filter(organisation=other).get().status == "declined"
    # The audit trail keeps the decisions but no longer names the person.
    assert AuditEvent.objects.filter(actor=user).count() >= 3
    assert not AuditEvent.objects.filter(actor_label=email).exists()
    assert not AuditEvent.objects.filter(target_label__contains=email).exists()
    assert AuditEvent.objects.filter(action="user.delete", target_id=str(user.pk)).exists()
    # Signed out, and the old credentials no longer work.
    assert client.get("/dashboard/").status_code == 302
    assert not client.login(email=email, password=PASSWORD)


def test_delete_needs_the_password_and_changes_nothing_otherwise(client, user):
    client.force_login(user)
    response = client.post("/account/delete/", {"password": "wrong", "confirm": "on"})
    assert response.status_code == 200
    assert "The password is not correct" in response.content.decode()
    user.refresh_from_db()
    assert user.is_active


def test_sole_owner_must_hand_over_first(user):
    make_organisation(user, name_zh="唯一所有者公司")
    with pytest.raises(Conflict) as info:
        privacy.delete_account(user)
    assert "唯一所有者公司" in str(info.value) or "Test Organisation" in str(info.value)
    user.refresh_from_db()
    assert user.is_active


def test_deletion_removes_cluster_access_and_export_lists_it(
    client, user, django_capture_on_commit_callbacks
):
    allocation = make_allocation(user, username="leaver")
    colleague = UserFactory()
    add_member(allocation.organisation, colleague, role=MembershipRole.OWNER)
    client.force_login(user)
    data = json.loads(
        zipfile.ZipFile(io.BytesIO(client.get("/account/privacy/export/").content)).read("all.json")
    )
    assert data["compute"]["cluster_access"][0]["cluster_username"] == "leaver"
    with django_capture_on_commit_callbacks(execute=True):
        privacy.delete_account(user)
    assert not allocation.members.current().exists()
    assert allocation.members.get().removed_at is not None  # the allocation's history keeps who had access
    assert FakeBackend().read_account(allocation.account_name).users == frozenset()
