"""A member of a verified enterprise applies to an open call and submits with the keyboard alone.

No clicks and no ``fill()``: Tab and Shift+Tab move, text is typed into whatever has the focus, Enter presses
links and buttons. Every Tab stop must show a focus ring (the checks of test_keyboard_quota_request.py).
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from playwright.sync_api import Page, expect

from projects.models import Application, ApplicationStatus
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.e2e.test_keyboard_quota_request import Keyboard, session_cookie
from tests.projects.factories import make_call

TEXTS = [
    ("summary", "Adaptive traffic lights for the old town."),
    ("scenario", "Forty junctions of the old town."),
    ("team", "Four engineers and a traffic planner."),
    ("technical_approach", "Reinforcement learning on a digital twin."),
    ("data", "Loop detector counts from the city."),
    ("expected_outcomes", "Ten per cent shorter waits."),
]


def test_apply_and_submit_with_the_keyboard_only(page: Page, live_server):
    owner = UserFactory(name="Xu Jun", email="xu.jun@example.cn")
    make_verified_organisation(owner, name_en="Old Town Mobility Co., Ltd.")
    call = make_call(title_en="2026 urban brain call")
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(owner), "url": live_server.url}]
    )
    page.goto(live_server.url + call.get_absolute_url(), wait_until="load")

    keys = Keyboard(page)
    keys.skip_to_main()
    keys.tab_to(
        lambda i: i["tag"] == "a" and i["text"] == "Start an application", "Tab to Start an application"
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("New application")

    keys = Keyboard(page)
    keys.skip_to_main()
    keys.tab_to_field("title")
    keys.type("Adaptive junctions")
    keys.tab_to_button("Save as draft")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit the application")
    application = Application.objects.get()
    assert application.status == ApplicationStatus.DRAFT

    keys = Keyboard(page)
    keys.skip_to_main()
    for name, text in TEXTS:
        keys.tab_to_field(name)
        keys.type(text)
    keys.tab_to_field("compute_card_hours")
    keys.replace("1500")
    status = page.locator("#autosave-status")
    expect(status).to_have_attribute("aria-live", "polite")
    keys.tab_to_button("Save")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/projects/applications/{application.pk}/(#main)?$"))
    application.refresh_from_db()
    assert (
        application.compute_card_hours == 1500 and application.data == "Loop detector counts from the city."
    )

    keys = Keyboard(page)
    keys.skip_to_main()
    keys.tab_to_button("Submit the application")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert").filter(has_text="The application is submitted")).to_be_visible()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert urlsplit(page.url).path == f"/projects/applications/{application.pk}/"
    expect(page.get_by_role("button", name="Submit the application")).to_have_count(0)
