"""First use of the portal in a real browser: sign up, confirm the address, register an organisation."""

import re
from urllib.parse import urlsplit

from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import Membership, MembershipRole, Organisation, User
from tests.e2e.helpers import field, link_in, messages_to, navbar, sign_in, snap

EMAIL = "li.wei@example.cn"
NAME = "Li Wei"
PASSWORD = "blue-harbour-lantern-47"
VALID_USCC = "91350100M000100Y43"
INVALID_USCC = "91350100M000100Y44"  # same code with a wrong check character
NAME_ZH = "滨海智算科技有限公司"
NAME_EN = "Binhai Intelligent Computing Technology Co., Ltd."


def fill_organisation_form(page: Page, uscc: str) -> None:
    field(page, "Name (Chinese)").fill(NAME_ZH)
    field(page, "Name (English)").fill(NAME_EN)
    field(page, "Type").select_option(label="Enterprise")
    field(page, "Unified Social Credit Code").fill(uscc)
    field(page, "Sector").select_option(label="Information technology")
    field(page, "City").fill("滨海")


def test_sign_up_confirm_and_register_an_organisation(page: Page, live_server):
    base = live_server.url

    # A visitor finds the sign-up link in the navigation bar.
    page.goto(base + "/")
    navbar(page).get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(base + "/accounts/signup/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")

    field(page, "Email").fill(EMAIL)
    field(page, "Your name").fill(NAME)
    field(page, "Password").fill(PASSWORD)
    field(page, "Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()

    expect(page.get_by_text("We have sent an email to you for verification")).to_be_visible()
    snap(page, "signup-1-verification-sent")
    # Not signed in before the address is confirmed.
    expect(navbar(page).get_by_role("link", name="Sign in")).to_be_visible()

    # The confirmation mail went out (through Celery, after the commit) and holds the link.
    sent = messages_to(EMAIL)
    assert len(sent) == 1, [(m.to, m.subject) for m in mail.outbox]
    confirm_url = link_in(sent[0].body, r"/accounts/confirm-email/[^/\s]+/$")
    assert urlsplit(confirm_url).netloc == urlsplit(base).netloc, confirm_url

    # Opening the link only shows a button (ACCOUNT_CONFIRM_EMAIL_ON_GET is off); confirming signs in.
    page.goto(confirm_url)
    snap(page, "signup-2-confirm-email")
    page.get_by_role("button", name="Confirm").click()
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_be_visible()
    expect(navbar(page).get_by_role("button", name=NAME)).to_be_visible()
    user = User.objects.get(email=EMAIL)
    assert user.name == NAME
    assert user.emailaddress_set.get(email=EMAIL).verified

    navbar(page).get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(base + "/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {NAME}")
    expect(page.get_by_text("You do not belong to any organisation yet.")).to_be_visible()
    snap(page, "signup-3-empty-dashboard")
    page.get_by_role("link", name="Register an organisation").first.click()
    expect(page).to_have_url(base + "/organisations/new/")

    fill_organisation_form(page, VALID_USCC)
    snap(page, "signup-4-organisation-form")
    page.get_by_role("button", name="Register").click()

    organisation = Organisation.objects.get(uscc=VALID_USCC)
    expect(page).to_have_url(base + organisation.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME_EN)
    expect(page.get_by_text(f"{NAME_EN} is registered.")).to_be_visible()
    expect(page.get_by_text(NAME_ZH).first).to_be_visible()
    snap(page, "signup-5-organisation")

    page.goto(base + "/dashboard/")
    my_organisations = page.get_by_role("region", name="My organisations")
    expect(my_organisations.get_by_role("link", name=NAME_EN)).to_be_visible()
    expect(my_organisations).to_contain_text("Owner")
    snap(page, "signup-6-dashboard")

    assert organisation.name_zh == NAME_ZH
    assert organisation.name_en == NAME_EN
    assert organisation.kind == "enterprise"
    assert organisation.verification_status == "unverified"
    membership = Membership.objects.get(organisation=organisation)
    assert membership.user == user
    assert membership.role == MembershipRole.OWNER


def test_invalid_credit_code_is_refused_on_the_form(page: Page, live_server, user):
    base = live_server.url
    sign_in(page, base, user.email)

    page.goto(base + "/organisations/new/")
    fill_organisation_form(page, INVALID_USCC)
    page.get_by_role("button", name="Register").click()

    # The form comes back with the error tied to the credit-code field, and the values kept.
    expect(page).to_have_url(base + "/organisations/new/")
    uscc_input = field(page, "Unified Social Credit Code")
    expect(uscc_input).to_have_value(INVALID_USCC)
    expect(uscc_input).to_have_attribute("aria-invalid", "true")
    error = page.locator("#id_uscc_error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("check character")
    expect(uscc_input).to_have_attribute("aria-describedby", re.compile(r"\bid_uscc_error\b"))
    expect(field(page, "Name (Chinese)")).to_have_value(NAME_ZH)
    snap(page, "signup-7-invalid-uscc")

    assert not Organisation.objects.exists()
    assert not Membership.objects.filter(user=user).exists()
