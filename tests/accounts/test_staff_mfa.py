"""Staff MFA on every channel (issue 16, point 1): pages, the API by session and by token, token minting."""

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, VerificationStatus
from accounts.models.tokens import DISPLAY_LENGTH, token_digest
from accounts.tokens import create_api_token
from core.exceptions import NotAllowed
from core.models import AuditEvent
from tests.accounts.factories import PASSWORD, UserFactory, make_organisation

pytestmark = pytest.mark.django_db
ORGANISATIONS = "/api/v1/organisations/"


@pytest.fixture
def submitted(user):
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    return org


def _token_minted_before_mfa(person) -> str:
    """A token that exists although its owner has no MFA (made before the rule, or by an administrator)."""
    secret = "aicc_" + "x" * 43
    now = timezone.now()
    ApiToken.objects.create(
        user=person,
        name="old",
        scope="write",
        display_prefix=secret[:DISPLAY_LENGTH],
        digest=token_digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=30),
    )
    return secret


def test_operator_without_mfa_is_refused_by_session_on_read_and_write(client, operator, submitted):
    client.force_login(operator)
    read = client.get(ORGANISATIONS)
    write = client.post(f"{ORGANISATIONS}{submitted.pk}/verify/")
    assert read.status_code == 403 and "two-factor" in read.json()["detail"]
    assert write.status_code == 403
    submitted.refresh_from_db()
    assert submitted.verification_status == VerificationStatus.PENDING


def test_operator_without_mfa_is_refused_by_token_on_read_and_write(api_client, operator, submitted):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {_token_minted_before_mfa(operator)}")
    assert api_client.get(ORGANISATIONS).status_code == 403
    assert api_client.post(f"{ORGANISATIONS}{submitted.pk}/verify/").status_code == 403
    submitted.refresh_from_db()
    assert submitted.verification_status == VerificationStatus.PENDING
    refusal = AuditEvent.objects.filter(action="access.refused", actor=operator).first()
    assert refusal is not None and "two-factor" in refusal.reason


def test_supervisor_without_mfa_cannot_read_by_token(api_client, supervisor, submitted):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {_token_minted_before_mfa(supervisor)}")
    assert api_client.get(f"{ORGANISATIONS}{submitted.pk}/").status_code == 403


def test_operator_with_mfa_acts_by_session_and_token(client, api_client, operator, mfa, submitted):
    mfa(operator)
    client.force_login(operator)
    assert client.get(ORGANISATIONS).status_code == 200
    _token, secret = create_api_token(operator, name="script", scope="write")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert api_client.post(f"{ORGANISATIONS}{submitted.pk}/verify/").status_code == 200
    submitted.refresh_from_db()
    assert submitted.verification_status == VerificationStatus.VERIFIED


def test_staff_without_mfa_cannot_mint_tokens(client, operator):
    with pytest.raises(NotAllowed):
        create_api_token(operator, name="script", scope="read")
    client.force_login(operator)
    response = client.get("/account/tokens/new/")
    assert response.status_code == 302 and response.url.startswith("/accounts/2fa/totp/activate/")
    assert not ApiToken.objects.exists()


def test_staff_without_mfa_reach_only_mfa_setup_under_accounts(client, operator):
    client.force_login(operator)
    assert client.get("/accounts/email/").url.startswith("/accounts/2fa/totp/activate/")
    assert client.get("/accounts/sessions/").url.startswith("/accounts/2fa/totp/activate/")
    # Setting MFA up stays open (allauth asks for the password again first).
    setup = client.get("/accounts/2fa/totp/activate/")
    assert setup.url.startswith("/accounts/reauthenticate/")
    assert client.get(setup.url).status_code == 200


def test_a_staff_session_that_skipped_mfa_is_refused(client, operator):
    """Signed in with the password alone, then MFA was switched on elsewhere: this session never passed it."""
    client.post("/accounts/login/", {"login": operator.email, "password": PASSWORD})
    TOTP.activate(operator, generate_totp_secret())
    api = client.get(ORGANISATIONS)
    assert api.status_code == 403 and "two-factor" in api.json()["detail"]
    page = client.get("/dashboard/")
    assert page.status_code == 302 and page.url.startswith("/accounts/2fa/reauthenticate/")


def test_a_member_without_mfa_uses_the_api(client):
    client.force_login(UserFactory())
    assert client.get(ORGANISATIONS).status_code == 200


def test_the_back_office_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_whether_staff_have_an_authenticator_is_kept_until_one_is_added_or_removed(
    client, operator, settings
):
    settings.SITE_ROLES_CACHE_SECONDS = 600  # kept as with a shared cache (production)
    client.force_login(operator)
    page = reverse("compute:allocation_list")
    assert client.get(page).url.startswith(reverse("mfa_activate_totp"))  # no authenticator yet
    TOTP.activate(operator, generate_totp_secret())  # a save: the next page knows
    assert client.get(page).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    assert not [q for q in queries.captured_queries if "mfa_authenticator" in q["sql"]]
    Authenticator.objects.filter(user=operator).get().delete()  # removed: refused on the next page
    assert client.get(page).url.startswith(reverse("mfa_activate_totp"))
