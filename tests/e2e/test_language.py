"""The language switch in the navigation bar, in a real browser."""

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from tests.e2e.helpers import navbar, snap

# Texts of the anonymous navigation bar, as they appear in English.
BRAND = "AI Computing Center"
PLATFORM_LINKS = ["Compute", "Incubation", "Alliance", "Training"]
ACCOUNT_LINKS = ["Sign in", "Sign up"]


def switch_to_chinese(page: Page) -> None:
    navbar(page).get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")


def test_switch_to_simplified_chinese_and_back(page: Page, live_server):
    base = live_server.url
    page.goto(base + "/compute/")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")

    switch_to_chinese(page)
    # set_language sends the visitor back to the page they were on, and the choice sticks.
    expect(page).to_have_url(base + "/compute/")
    nav = navbar(page)
    expect(nav.get_by_role("button", name="English", exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="简体中文")).to_have_count(0)
    snap(page, "language-1-chinese")
    page.goto(base + "/")
    expect(html).to_have_attribute("lang", "zh-Hans")

    nav.get_by_role("button", name="English", exact=True).click()
    expect(html).to_have_attribute("lang", "en")
    expect(page).to_have_url(base + "/")
    expect(nav.get_by_role("button", name="简体中文")).to_be_visible()
    for text in [BRAND, *PLATFORM_LINKS, *ACCOUNT_LINKS]:
        expect(nav.get_by_role("link", name=text, exact=True)).to_be_visible()


def test_navigation_shows_the_chinese_catalogue(page: Page, live_server):
    """The navigation bar in Chinese shows the catalogue's translations: an untranslated text fails."""
    english = [BRAND, *PLATFORM_LINKS, *ACCOUNT_LINKS]
    with translation.override("zh-hans"):
        chinese = {text: translation.gettext(text) for text in english}

    # A missing translation is a real failure: the catalogue must translate every navigation text.
    untranslated = [text for text, translated in chinese.items() if translated == text]
    if untranslated:
        pytest.fail(
            "no Simplified Chinese translation (locale/zh_Hans/LC_MESSAGES/django.po, compiled with "
            f"compilemessages) for the navigation texts: {untranslated!r}",
            pytrace=False,
        )

    page.goto(live_server.url + "/")
    switch_to_chinese(page)
    nav = navbar(page)
    for text, translated in chinese.items():
        expect(nav.get_by_role("link", name=translated, exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name=text, exact=True)).to_have_count(0)
