import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts import services
from accounts.models import Invitation, Membership, Organisation, VerificationStatus
from tests.accounts.factories import UserFactory, add_member, make_organisation

pytestmark = pytest.mark.django_db

VALID_FORM = {
    "name_zh": "星河智能科技有限公司",
    "name_en": "Xinghe Intelligent Technology",
    "kind": "enterprise",
    "uscc": "91350100M000100Y43",
    "sector": "healthcare",
    "city": "福州",
    "website": "xinghe.example.cn",
    "description": "Medical imaging.",
}


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/",
        "/organisations/",
        "/organisations/new/",
        "/operator/verifications/",
        "/oversight/audit/",
    ],
)
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("url", ["/", "/compute/", "/projects/", "/alliance/", "/talent/", "/about/privacy/"])
def test_public_pages_are_open(client, url):
    assert client.get(url).status_code == 200


def test_create_organisation_from_the_form(client, user):
    client.force_login(user)
    response = client.post("/organisations/new/", VALID_FORM)
    org = Organisation.objects.get()
    assert response.status_code == 302 and response["Location"] == org.get_absolute_url()
    assert org.website == "https://xinghe.example.cn"
    assert Membership.objects.get(organisation=org).user == user
    page = client.get("/dashboard/").content.decode()
    assert "星河智能科技有限公司" in page or "Xinghe Intelligent Technology" in page


def test_a_wrong_credit_code_shows_the_error_next_to_the_field(client, user):
    client.force_login(user)
    response = client.post("/organisations/new/", {**VALID_FORM, "uscc": "91350100M000100Y44"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_uscc_error"' in html
    assert "check character" in html
    assert 'aria-invalid="true"' in html
    assert not Organisation.objects.exists()


def test_enterprise_needs_a_credit_code(client, user):
    client.force_login(user)
    response = client.post("/organisations/new/", {**VALID_FORM, "uscc": ""})
    assert response.status_code == 200
    assert "Enterprises must give their Unified Social Credit Code" in response.content.decode()
    assert not Organisation.objects.exists()


def test_logo_must_be_an_image(client, user):
    client.force_login(user)
    fake = SimpleUploadedFile("logo.png", b"this is not an image", content_type="image/png")
    response = client.post("/organisations/new/", {**VALID_FORM, "logo": fake})
    assert response.status_code == 200
    assert not Organisation.objects.exists()


def test_logo_size_is_limited(client, user, settings):
    settings.MAX_LOGO_BYTES = 1000
    buffer = io.BytesIO()
    Image.effect_noise((200, 200), 100).convert("RGB").save(buffer, "PNG")
    client.force_login(user)
    logo = SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")
    response = client.post("/organisations/new/", {**VALID_FORM, "logo": logo})
    assert response.status_code == 200
    assert "the largest allowed is" in response.content.decode()
    assert not Organisation.objects.exists()


def test_a_valid_logo_is_stored(client, user):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "navy").save(buffer, "PNG")
    client.force_login(user)
    logo = SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")
    client.post("/organisations/new/", {**VALID_FORM, "logo": logo})
    assert Organisation.objects.get().logo.name.endswith(".png")


def test_other_organisations_are_invisible(client, user):
    mine = make_organisation(user)
    theirs = make_organisation(UserFactory(), name_zh="别人的公司")
    client.force_login(user)
    assert client.get(mine.get_absolute_url()).status_code == 200
    for url in [
        theirs.get_absolute_url(),
        reverse("accounts:organisation_edit", args=[theirs.pk]),
    ]:
        assert client.get(url).status_code == 404
    assert client.post(reverse("accounts:organisation_submit", args=[theirs.pk])).status_code == 404
    response = client.post(
        reverse("accounts:organisation_invite", args=[theirs.pk]), {"email": "x@example.cn"}
    )
    assert response.status_code == 404
    assert not Invitation.objects.exists()
    listing = client.get("/organisations/").content.decode()
    assert "别人的公司" not in listing


def test_members_see_but_cannot_edit(client, user):
    org = make_organisation(user)
    member = UserFactory()
    add_member(org, member)
    client.force_login(member)
    page = client.get(org.get_absolute_url())
    assert page.status_code == 200
    assert "Invite a colleague" not in page.content.decode()
    assert client.get(reverse("accounts:organisation_edit", args=[org.pk])).status_code == 403
    assert client.post(reverse("accounts:organisation_edit", args=[org.pk]), VALID_FORM).status_code == 403


def test_edit_organisation(client, user):
    org = make_organisation(user, uscc="91350100M000100Y43")
    client.force_login(user)
    response = client.post(
        reverse("accounts:organisation_edit", args=[org.pk]), {**VALID_FORM, "city": "厦门", "uscc": org.uscc}
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.city == "厦门"


def test_invite_and_accept_through_the_pages(client, user, django_capture_on_commit_callbacks):
    org = make_organisation(user)
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:organisation_invite", args=[org.pk]),
            {"email": "col@example.cn", "role": "admin"},
        )
    invitation = Invitation.objects.get()
    assert mail.outbox[0].to == ["col@example.cn"]

    stranger = UserFactory(email="stranger@example.cn")
    client.force_login(stranger)
    response = client.get(invitation.get_absolute_url())
    assert response.status_code == 403
    assert org.name_zh not in response.content.decode()

    colleague = UserFactory(email="col@example.cn")
    client.force_login(colleague)
    assert client.get("/dashboard/").content.decode().count(invitation.token) == 1
    response = client.post(invitation.get_absolute_url(), {"answer": "accept"})
    assert response.status_code == 302
    assert Membership.objects.get(organisation=org, user=colleague).role == "admin"


def test_operator_verification_queue(client, user, operator, mfa, django_capture_on_commit_callbacks):
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    client.force_login(operator)
    # Staff without MFA are sent to set it up first.
    response = client.get("/operator/verifications/")
    assert response.status_code == 302 and "/accounts/2fa/totp/activate" in response["Location"]
    mfa(operator)
    page = client.get("/operator/verifications/").content.decode()
    assert org.name_zh in page
    response = client.post(reverse("accounts:verification_decide", args=[org.pk]), {"decision": "reject"})
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.PENDING  # no reason, no change
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:verification_decide", args=[org.pk]), {"decision": "verify"})
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.VERIFIED
    assert mail.outbox[-1].to == [user.email]


def test_non_operators_cannot_use_the_queue(client, user):
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    client.force_login(user)
    assert client.get("/operator/verifications/").status_code == 403
    assert (
        client.post(
            reverse("accounts:verification_decide", args=[org.pk]), {"decision": "verify"}
        ).status_code
        == 403
    )
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.PENDING


def test_last_owner_cannot_leave_through_the_page(client, user):
    make_organisation(user)
    client.force_login(user)
    membership = Membership.objects.get(user=user)
    response = client.post(reverse("accounts:membership_remove", args=[membership.pk]), follow=True)
    assert "at least one owner" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_signup_requires_email_verification(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "email": "new@example.cn",
                "name": "New Person",
                "password1": "a-long-enough-pass-42",
                "password2": "a-long-enough-pass-42",
            },
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.cn"]
    assert "/accounts/confirm-email/" in mail.outbox[0].body
    # Not verified yet: cannot sign in.
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": "new@example.cn", "password": "a-long-enough-pass-42"}
    )
    assert response.status_code == 302 and "confirm-email" in response["Location"]
    assert client.get("/dashboard/").status_code == 302
