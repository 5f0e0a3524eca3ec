"""The portal on a phone: no sideways scrolling, and the collapsed navigation opens."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.helpers import navbar, snap

PLATFORM_LINKS = ["Compute", "Incubation", "Alliance", "Training"]


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the viewport (0 when nothing scrolls sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("path", ["/", "/accounts/signup/", "/accounts/login/", "/compute/", "/talent/"])
def test_no_horizontal_overflow_on_a_phone(phone_page: Page, live_server, path):
    phone_page.goto(live_server.url + path)
    expect(phone_page.locator("main")).to_be_visible()
    assert horizontal_overflow(phone_page) <= 0, (
        f"{path} is wider than a 390 px phone screen by {horizontal_overflow(phone_page)} px"
    )


def test_navbar_toggler_opens_the_menu(phone_page: Page, live_server):
    phone_page.goto(live_server.url + "/")
    nav = navbar(phone_page)
    toggler = nav.get_by_role("button", name="Toggle navigation")
    expect(toggler).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "false")
    for text in PLATFORM_LINKS:
        expect(nav.get_by_role("link", name=text, exact=True)).to_be_hidden()

    toggler.tap()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    # Bootstrap marks the menu "show" once its opening transition has ended.
    menu = phone_page.locator("#" + toggler.get_attribute("aria-controls"))
    expect(menu).to_have_class(re.compile(r"\bshow\b"))
    for text in PLATFORM_LINKS:
        expect(nav.get_by_role("link", name=text, exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Sign up", exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="简体中文")).to_be_visible()
    # The open menu is still no wider than the screen.
    assert horizontal_overflow(phone_page) <= 0
    snap(phone_page, "mobile-menu-open", full_page=False)

    nav.get_by_role("link", name="Compute", exact=True).tap()
    expect(phone_page).to_have_url(live_server.url + "/compute/")
