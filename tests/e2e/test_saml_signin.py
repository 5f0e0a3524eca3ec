"""A university's people sign in through its SAML identity provider (CARSI), in Chromium, against the local
identity provider of tests/sso/saml_idp.py: the university's button on the sign-in page, the university's login
form, back in the portal signed in and a member of the university; a captured answer replayed is refused; an
operator still has to give a TOTP code after the university's sign-in."""

import html
import re
import time
from urllib.parse import parse_qs

import requests
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import Page, expect

from accounts import services
from accounts.models import Membership, MembershipRole, OrganisationKind, SamlAssertion, User
from tests.accounts.factories import UserFactory, make_organisation
from tests.e2e.helpers import navbar
from tests.sso import saml
from tests.sso.saml import PASSWORD, make_university_app

saml_idp = saml.saml_idp  # the session's local identity provider (a fixture)

SLUG = "example-university"
UNIVERSITY = "Example University"


def set_up_university(idp, base: str):
    university = make_organisation(
        UserFactory(), kind=OrganisationKind.UNIVERSITY, name_zh="示例大学", name_en=UNIVERSITY
    )
    app = make_university_app(idp, slug=SLUG, organisation=university.pk, name=UNIVERSITY)
    metadata = requests.get(f"{base}/accounts/saml/{SLUG}/metadata/", timeout=10)
    assert metadata.status_code == 200, metadata.text[:500]
    idp.register_service_provider(f"{SLUG}-{base.split('//')[1]}", metadata.content)
    return university, app


def sign_in_at_the_university(page: Page, base: str, user: str) -> dict:
    """From the portal's sign-in page through the university's form; returns what the browser posted back."""
    page.goto(base + "/accounts/login/")
    page.locator("a, button").filter(has_text=UNIVERSITY).first.click()
    # allauth asks to confirm a sign-in started by a link (no state change on GET), unless the button posts.
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if f"/accounts/saml/{SLUG}/login/" in page.url:
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Sign In Via {UNIVERSITY}")
        page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("User name")).to_be_visible()
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_request(
        lambda r: r.method == "POST" and r.url.endswith(f"/accounts/saml/{SLUG}/acs/")
    ) as posted:
        page.get_by_role("button", name="Sign in").click()
    return {key: values[0] for key, values in parse_qs(posted.value.post_data).items()}


def test_a_student_signs_in_through_the_university_and_a_replay_is_refused(make_page, live_server, saml_idp):
    base = live_server.url
    university, _app = set_up_university(saml_idp, base)
    saml_idp.set_person("alice", affiliations=["student@example.edu.cn"], name="Alice Zhang")

    page = make_page()
    answer = sign_in_at_the_university(page, base, "alice")
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_be_visible()
    person = User.objects.get(email="alice@example.edu.cn")
    membership = Membership.objects.get(user=person, organisation=university)
    assert membership.role == MembershipRole.MEMBER
    assert membership.saml_source.affiliations == ["student@example.edu.cn"]
    expect(page.get_by_role("main").get_by_text(UNIVERSITY).first).to_be_visible()

    # Someone who captured the answer posts it again from another browser.
    thief = make_page()
    fields = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value, quote=True)}">'
        for name, value in answer.items()
    )
    thief.goto(base + "/accounts/login/")
    thief.set_content(
        f'<form method="post" action="{base}/accounts/saml/{SLUG}/acs/">{fields}<button>Send</button></form>'
    )
    thief.get_by_role("button", name="Send").click()
    expect(thief.get_by_role("heading", level=1)).to_have_text("University sign-in refused")
    expect(thief.get_by_role("alert")).to_contain_text("already used")
    expect(navbar(thief).get_by_role("link", name="Dashboard")).to_have_count(0)
    assert SamlAssertion.objects.count() == 1


def test_an_operator_still_gives_a_totp_code_after_the_university_sign_in(make_page, live_server, saml_idp):
    base = live_server.url
    university, app = set_up_university(saml_idp, base)
    operator = UserFactory(email="kate@example.edu.cn")
    services.set_site_roles(operator, by=None, roles={"operator"})
    secret = generate_totp_secret()
    TOTP.activate(operator, secret)
    SocialAccount.objects.create(user=operator, provider=app.provider_id, uid="kate@example.edu.cn")
    saml_idp.set_person("kate", affiliations=["staff@example.edu.cn"])

    page = make_page()
    sign_in_at_the_university(page, base, "kate")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_have_count(0)
    code = format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="Sign In").click()
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_be_visible()
    assert Membership.objects.get(user=operator, organisation=university).saml_source.affiliations == [
        "staff@example.edu.cn"
    ]
