"""Small steps shared by the browser tests."""

import os
import re
from pathlib import Path

from django.core import mail
from playwright.sync_api import Page, expect

from tests.accounts.factories import PASSWORD

SNAPSHOT_DIR = Path(__file__).resolve().parents[2] / "var" / "e2e-screenshots"


def snap(page: Page, name: str, full_page: bool = True) -> None:
    """With E2E_SNAPSHOTS=1, save a full-page screenshot to var/e2e-screenshots/ to look at by eye."""
    if os.environ.get("E2E_SNAPSHOTS") == "1":
        SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SNAPSHOT_DIR / f"{name}.png"), full_page=full_page)


def field(page: Page, label: str):
    """The control labelled exactly ``label`` (labels of required fields end in an aria-hidden "*")."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}(\s*\*)?$"))


def navbar(page: Page):
    """The main navigation bar (found by its place in the page header, so in any language)."""
    return page.get_by_role("banner").get_by_role("navigation")


def submit_sign_in_form(page: Page, email: str, password: str = PASSWORD) -> None:
    """Fill and send the login form the page shows, and wait until signed in."""
    field(page, "Email").fill(email)
    field(page, "Password").fill(password)
    page.get_by_role("button", name="Sign In").click()
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_be_visible()


def sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form."""
    page.goto(base_url + "/accounts/login/")
    submit_sign_in_form(page, email, password)


def messages_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def link_in(body: str, path_pattern: str) -> str:
    """The one absolute URL in ``body`` whose path matches ``path_pattern``."""
    urls = re.findall(r"https?://[^\s\"'<>]+", body)
    matching = [url for url in urls if re.search(path_pattern, url)]
    assert len(matching) == 1, f"expected one link matching {path_pattern!r} in the mail, got {urls!r}"
    return matching[0]
