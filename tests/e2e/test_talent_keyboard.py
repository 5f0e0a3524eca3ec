"""A student finds a course and enrols with the keyboard alone (Tab, Shift+Tab and Enter; every stop shows a
focus ring), like tests/e2e/test_keyboard_quota_request.py."""

import io
import re

from django.conf import settings
from PIL import Image, ImageChops
from playwright.sync_api import Page, expect

from talent.models import Enrolment, EnrolmentStatus
from tests.accounts.factories import UserFactory
from tests.e2e.test_keyboard_quota_request import MIN_RING_PIXELS, Keyboard, session_cookie
from tests.talent.factories import make_cohort, make_course


class CatalogueKeyboard(Keyboard):
    """The same Tab checks; the catalogue's date filters are in ``#catalogue-filter`` (not the request form)."""

    FORM = "#catalogue-filter"

    def __init__(self, page: Page):
        self.page = page
        self.stops = []
        names = page.evaluate(
            f"() => Array.from(document.querySelectorAll('{self.FORM} input[type=date]'), el => el.name)"
        )
        self.unfocused = {name: page.locator(f"{self.FORM} [name={name}]").screenshot() for name in names}

    def assert_picker_button_ring(self, info: dict, where: str) -> None:
        assert info["visible"], f"{where}: the focused date field is not visible: {info}"
        before = self.unfocused.get(info["name"])
        assert before is not None, f"{where}: no picture of the unfocused field {info['name']!r}"
        now = self.page.locator(f"{self.FORM} [name={info['name']}]").screenshot()
        a, b = Image.open(io.BytesIO(before)).convert("RGB"), Image.open(io.BytesIO(now)).convert("RGB")
        changed = sum(ImageChops.difference(a, b).convert("L").histogram()[65:])
        assert changed >= MIN_RING_PIXELS, f"{where}: the calendar button of {info['name']!r} shows no focus"


def test_student_enrols_in_a_course_with_the_keyboard_only(page: Page, live_server):
    student = UserFactory(name="Sun Hao", email="sun.hao@example.cn")
    course = make_course(title_en="Machine learning on NPUs", slug="ml-npu", category="machine_learning")
    make_course(title_en="Prompt design", slug="prompt-design")
    cohort = make_cohort(course, capacity=10, name="Weekday mornings")
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(student), "url": live_server.url}]
    )
    page.goto(live_server.url + "/talent/", wait_until="load")
    expect(page.get_by_role("heading", level=1)).to_have_text("Training catalogue")

    # Search with the keyboard: type into the search field, Tab to the button, Enter.
    keys = CatalogueKeyboard(page)
    keys.skip_to_main()
    keys.tab_to_field("q")
    keys.type("NPU")
    keys.tab_to_button("Search")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Prompt design")).to_have_count(0)

    # Tab to the course, Enter; on the course page, Tab to the cohort's Enrol link, Enter.
    keys = CatalogueKeyboard(page)
    keys.skip_to_main()
    keys.tab_to(
        lambda info: info["tag"] == "a" and info["text"] == "Machine learning on NPUs", "Tab to the course"
    )
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Machine learning on NPUs")
    keys = CatalogueKeyboard(page)
    keys.skip_to_main()
    keys.tab_to(lambda info: info["tag"] == "a" and info["text"].startswith("Enrol"), "Tab to the Enrol link")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Weekday mornings")

    # On the cohort page the Enrol button; pass it, come back with Shift+Tab, press Enter.
    keys = CatalogueKeyboard(page)
    keys.skip_to_main()
    keys.tab_to_button("Enrol")
    keys.press("Tab", "Tab past the Enrol button")
    keys.tab_to_button("Enrol", key="Shift+Tab")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/talent/my/(#main)?$"))
    expect(page.get_by_role("alert").filter(has_text="You are enrolled")).to_be_visible()
    enrolment = Enrolment.objects.get(user=student)
    assert enrolment.cohort == cohort and enrolment.status == EnrolmentStatus.ENROLLED
    # The withdraw button of the new enrolment is reachable too, with a name that says which course.
    keys = CatalogueKeyboard(page)
    keys.skip_to_main()
    info = keys.tab_to(
        lambda info: info["tag"] == "button" and info["text"].startswith("Withdraw"), "Tab to Withdraw"
    )
    assert "Machine learning on NPUs" in page.evaluate("() => document.activeElement.textContent")
    assert info["visible"]
