import pytest
from django.core import mail
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from accounts import services
from accounts.models import Invitation, Membership, Organisation, VerificationStatus
from accounts.tokens import create_api_token
from tests.accounts.factories import UserFactory, add_member, make_organisation

pytestmark = pytest.mark.django_db

PAYLOAD = {
    "name_zh": "城脉交通数据有限公司",
    "name_en": "Chengmai Transport Data",
    "kind": "enterprise",
    "uscc": "91110000802100433b",
    "sector": "transport",
    "city": "北京",
}


def test_anonymous_requests_are_refused(api_client):
    for url in ["/api/v1/me/", "/api/v1/organisations/", "/api/v1/memberships/", "/api/v1/invitations/"]:
        assert api_client.get(url).status_code in (401, 403)


def test_token_authentication(api_client, user):
    _token, secret = create_api_token(user, name="script", scope="read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["email"] == user.email
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api_client.get("/api/v1/me/").status_code == 401


def test_create_organisation(api_client, user):
    api_client.force_authenticate(user)
    response = api_client.post("/api/v1/organisations/", PAYLOAD, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["uscc"] == "91110000802100433B"
    assert body["my_role"] == "owner"
    assert body["verification_status"] == "unverified"
    assert Membership.objects.get(organisation_id=body["id"]).user == user


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"uscc": "91110000802100433C"}, "uscc"),
        ({"uscc": "123"}, "uscc"),
        ({"uscc": ""}, "uscc"),
        ({"kind": "bank"}, "kind"),
        ({"sector": 5}, "sector"),
        ({"name_zh": ""}, "name_zh"),
        ({"website": "not a url"}, "website"),
        ({"verification_status": "verified", "uscc": "bad"}, "uscc"),
    ],
)
def test_bad_input_gets_field_errors_and_creates_nothing(api_client, user, change, field):
    api_client.force_authenticate(user)
    response = api_client.post("/api/v1/organisations/", {**PAYLOAD, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Organisation.objects.exists()


def test_garbage_bodies_are_400_not_500(api_client, user):
    api_client.force_authenticate(user)
    response = api_client.post("/api/v1/organisations/", "{not json", content_type="application/json")
    assert response.status_code == 400
    response = api_client.post("/api/v1/organisations/", [1, 2, 3], format="json")
    assert response.status_code == 400


def test_status_cannot_be_set_through_the_api(api_client, user):
    api_client.force_authenticate(user)
    body = api_client.post(
        "/api/v1/organisations/", {**PAYLOAD, "verification_status": "verified"}, format="json"
    )
    assert body.json()["verification_status"] == "unverified"


def test_duplicate_credit_code_is_a_clear_error(api_client, user):
    make_organisation(UserFactory(), uscc="91110000802100433B")
    api_client.force_authenticate(user)
    response = api_client.post("/api/v1/organisations/", PAYLOAD, format="json")
    assert response.status_code in (400, 409)
    assert "Unified Social Credit Code" in str(response.json())
    assert Organisation.objects.count() == 1


def test_list_shows_only_my_organisations(api_client, user):
    mine = make_organisation(user)
    make_organisation(UserFactory())
    api_client.force_authenticate(user)
    response = api_client.get("/api/v1/organisations/")
    assert [o["id"] for o in response.json()["results"]] == [mine.pk]


def test_operators_and_supervisors_see_all(api_client, operator, supervisor, mfa):
    make_organisation(UserFactory())
    make_organisation(UserFactory())
    for person in (operator, supervisor):
        api_client.force_authenticate(mfa(person))
        assert len(api_client.get("/api/v1/organisations/").json()["results"]) == 2


def test_another_organisation_is_404(api_client, user):
    theirs = make_organisation(UserFactory())
    api_client.force_authenticate(user)
    assert api_client.get(f"/api/v1/organisations/{theirs.pk}/").status_code == 404
    assert (
        api_client.patch(f"/api/v1/organisations/{theirs.pk}/", {"city": "x"}, format="json").status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.city == "滨海"


def test_update_needs_owner_or_admin(api_client, user):
    org = make_organisation(user)
    member = UserFactory()
    add_member(org, member)
    api_client.force_authenticate(member)
    assert (
        api_client.patch(f"/api/v1/organisations/{org.pk}/", {"city": "上海"}, format="json").status_code
        == 403
    )
    api_client.force_authenticate(user)
    response = api_client.patch(f"/api/v1/organisations/{org.pk}/", {"city": "上海"}, format="json")
    assert response.status_code == 200 and response.json()["city"] == "上海"


def test_verification_through_the_api(api_client, user, operator, mfa):
    org = make_organisation(user)
    api_client.force_authenticate(user)
    assert api_client.post(f"/api/v1/organisations/{org.pk}/verify/").status_code == 403
    assert api_client.post(f"/api/v1/organisations/{org.pk}/submit-verification/").json()[
        "verification_status"
    ] == ("pending")
    # Twice is an illegal move: 409 with a message.
    again = api_client.post(f"/api/v1/organisations/{org.pk}/submit-verification/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"

    api_client.force_authenticate(mfa(operator))
    assert (
        api_client.post(f"/api/v1/organisations/{org.pk}/reject/", {"reason": ""}, format="json").status_code
        == 400
    )
    response = api_client.post(f"/api/v1/organisations/{org.pk}/verify/")
    assert response.status_code == 200 and response.json()["verification_status"] == "verified"
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.VERIFIED


def test_invitation_lifecycle(api_client, user, django_capture_on_commit_callbacks):
    org = make_organisation(user)
    other = make_organisation(UserFactory())
    api_client.force_authenticate(user)
    response = api_client.post(
        "/api/v1/invitations/", {"organisation": other.pk, "email": "a@example.cn"}, format="json"
    )
    assert response.status_code == 400 and "organisation" in response.json()
    assert (
        api_client.post(
            "/api/v1/invitations/", {"organisation": org.pk, "email": "nope"}, format="json"
        ).status_code
        == 400
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/invitations/",
            {"organisation": org.pk, "email": "a@example.cn", "role": "member"},
            format="json",
        )
    assert response.status_code == 201
    assert "token" not in response.json()
    assert mail.outbox[0].to == ["a@example.cn"]
    invitation_id = response.json()["id"]
    duplicate = api_client.post(
        "/api/v1/invitations/", {"organisation": org.pk, "email": "A@example.cn"}, format="json"
    )
    assert duplicate.status_code == 409

    invitee = UserFactory(email="a@example.cn")
    api_client.force_authenticate(invitee)
    assert [i["id"] for i in api_client.get("/api/v1/invitations/").json()["results"]] == [invitation_id]
    assert api_client.post(f"/api/v1/invitations/{invitation_id}/accept/").status_code == 200
    assert Membership.objects.filter(organisation=org, user=invitee).exists()

    outsider = UserFactory()
    api_client.force_authenticate(outsider)
    assert api_client.get(f"/api/v1/invitations/{invitation_id}/").status_code == 404


def test_memberships_api(api_client, user):
    org = make_organisation(user)
    member = UserFactory()
    m = add_member(org, member)
    make_organisation(UserFactory())
    api_client.force_authenticate(user)
    listed = api_client.get(f"/api/v1/memberships/?organisation={org.pk}").json()["results"]
    assert {row["user_email"] for row in listed} == {user.email, member.email}
    assert len(api_client.get("/api/v1/memberships/").json()["results"]) == 2  # nothing of the other org
    assert (
        api_client.patch(f"/api/v1/memberships/{m.pk}/", {"role": "king"}, format="json").status_code == 400
    )
    assert (
        api_client.patch(f"/api/v1/memberships/{m.pk}/", {"role": "admin"}, format="json").json()["role"]
        == "admin"
    )
    own = Membership.objects.get(organisation=org, user=user)
    response = api_client.delete(f"/api/v1/memberships/{own.pk}/")
    assert response.status_code == 409
    assert api_client.delete(f"/api/v1/memberships/{m.pk}/").status_code == 204
    assert not Membership.objects.filter(pk=m.pk).exists()


def test_schema_and_docs_are_served_locally(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in [
        "/api/v1/organisations/",
        "/api/v1/invitations/{id}/accept/",
        "/api/v1/memberships/",
        "/api/v1/me/",
    ]:
        assert path in text
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower() and "//unpkg" not in docs


def test_throttling_applies(api_client, user, settings):
    cache.clear()
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "user": "3/minute"}
    original = UserRateThrottle.THROTTLE_RATES
    UserRateThrottle.THROTTLE_RATES = rates
    try:
        api_client.force_authenticate(user)
        codes = [api_client.get("/api/v1/me/").status_code for _ in range(4)]
    finally:
        UserRateThrottle.THROTTLE_RATES = original
        cache.clear()
    assert codes == [200, 200, 200, 429]


def test_services_used_by_api_and_pages_agree(user, operator):
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    assert Organisation.objects.awaiting_verification().get() == org
    assert Invitation.objects.count() == 0
