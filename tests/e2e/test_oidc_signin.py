"""People of an institute sign in through its OpenID Connect provider, in Chromium, against the local provider of
tests/sso/oidc_idp.mjs (the npm package oidc-provider): the provider's button on the sign-in page, its login
form, back in the portal signed in; an email the provider does not vouch for is refused; a provider that is down
gets a page that says so; an operator still gives a TOTP code after the provider's sign-in."""

import re
import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.socialaccount.models import SocialAccount
from playwright.sync_api import Page, expect

from accounts import services
from accounts.models import User
from tests.accounts.factories import UserFactory
from tests.e2e.helpers import navbar
from tests.sso import oidc
from tests.sso.oidc import PASSWORD, make_oidc_app

oidc_idp = oidc.oidc_idp  # the session's local OpenID provider (a fixture)

PROVIDER = "example-institute"
NAME = "Example Institute"


def choose_the_institute(page: Page, base: str) -> None:
    page.goto(base + "/accounts/login/")
    page.locator("a, button").filter(has_text=NAME).first.click()
    # allauth asks to confirm a sign-in started by a link (no state change on GET).
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if f"/accounts/oidc/{PROVIDER}/login/" in page.url:
        page.get_by_role("button", name="Continue").click()


def sign_in_at_the_institute(page: Page, base: str, login: str) -> None:
    choose_the_institute(page, base)
    expect(page.get_by_label("Login")).to_be_visible()
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in to Example Institute").click()


def test_a_person_signs_in_through_the_institute(make_page, live_server, oidc_idp):
    base = live_server.url
    make_oidc_app(oidc_idp, provider_id=PROVIDER, base_url=base, name=NAME)
    oidc_idp.set_person("alice", email="alice@inst.example.cn", email_verified=True, name="Alice Zhang")

    page = make_page()
    sign_in_at_the_institute(page, base, "alice")
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_be_visible()
    person = User.objects.get(email="alice@inst.example.cn")
    assert person.name == "Alice Zhang"
    assert SocialAccount.objects.get(user=person).uid == "alice"


def test_an_unverified_email_is_refused_and_a_provider_down_is_said_so(make_page, live_server, oidc_idp):
    base = live_server.url
    app = make_oidc_app(oidc_idp, provider_id=PROVIDER, base_url=base, name=NAME)
    oidc_idp.set_person("bob", email="bob@inst.example.cn", email_verified=False, name="Bob")

    page = make_page()
    sign_in_at_the_institute(page, base, "bob")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in not completed")
    expect(page.get_by_role("alert")).to_contain_text("did not confirm that the email address")
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_have_count(0)
    assert not User.objects.filter(email="bob@inst.example.cn").exists()

    # The provider goes away (its address now answers nothing).
    app.settings = {**app.settings, "server_url": "http://127.0.0.1:9"}
    app.save()
    other = make_page()
    choose_the_institute(other, base)
    expect(other.get_by_role("heading", level=1)).to_have_text("Sign-in not completed")
    expect(other.get_by_role("alert")).to_contain_text("cannot be reached")


def test_an_operator_still_gives_a_totp_code(make_page, live_server, oidc_idp):
    base = live_server.url
    make_oidc_app(oidc_idp, provider_id=PROVIDER, base_url=base, name=NAME)
    operator = UserFactory(email="kate@inst.example.cn")
    services.set_site_roles(operator, by=None, roles={"operator"})
    secret = generate_totp_secret()
    TOTP.activate(operator, secret)
    SocialAccount.objects.create(user=operator, provider=PROVIDER, uid="kate")
    oidc_idp.set_person("kate", email="kate@inst.example.cn", email_verified=True, name="Kate")

    page = make_page()
    sign_in_at_the_institute(page, base, "kate")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_have_count(0)
    code = format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="Sign In").click()
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_be_visible()
