"""A student signs up, finds a course, enrols and sees it on the dashboard; a second student meets a full
cohort, joins the waitlist and sees their place. Real Chromium against the live server."""

import re
from urllib.parse import urlsplit

from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import OrganisationKind, User
from talent.models import Enrolment, EnrolmentStatus
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.e2e.helpers import field, link_in, messages_to, navbar, sign_in, snap
from tests.talent.factories import make_cohort, make_course

EMAIL = "zhao.min@example.cn"
NAME = "Zhao Min"
PASSWORD = "quiet-river-lantern-58"


def test_student_signs_up_finds_a_course_enrols_and_a_second_is_waitlisted(page: Page, live_server):
    base = live_server.url
    course = make_course(title_en="Retrieval-augmented generation", slug="rag-e2e", category="large_models")
    make_course(
        title_en="Industrial vision",
        slug="vision-e2e",
        category="computer_vision",
        description_en="Defect detection on the production line.",
        description_zh="产线缺陷检测。",
    )
    make_cohort(course, capacity=1, name="Spring evenings", sessions=2)

    # --- sign up and confirm the address -----------------------------------------------------------------
    page.goto(base + "/")
    navbar(page).get_by_role("link", name="Sign up").click()
    field(page, "Email").fill(EMAIL)
    field(page, "Your name").fill(NAME)
    field(page, "Password").fill(PASSWORD)
    field(page, "Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_text("We have sent an email to you for verification")).to_be_visible()
    confirm_url = link_in(messages_to(EMAIL)[0].body, r"/accounts/confirm-email/[^/\s]+/$")
    page.goto(confirm_url)
    page.get_by_role("button", name="Confirm").click()
    expect(navbar(page).get_by_role("link", name="Dashboard")).to_be_visible()

    # --- find the course in the catalogue ----------------------------------------------------------------
    navbar(page).get_by_role("link", name="Training").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Training catalogue")
    field(page, "Search").fill("retrieval")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Industrial vision")).to_have_count(0)
    page.get_by_role("link", name="Retrieval-augmented generation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Retrieval-augmented generation")
    expect(page.get_by_text("1 of 1 seat left")).to_be_visible()
    snap(page, "talent-1-course")
    page.get_by_role("link", name=re.compile(r"^Enrol")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spring evenings")
    page.get_by_role("button", name="Enrol", exact=True).click()

    # --- my learning and the dashboard ------------------------------------------------------------------
    expect(page).to_have_url(re.compile(r"/talent/my/$"))
    expect(page.get_by_role("alert").filter(has_text="You are enrolled")).to_be_visible()
    enrolments = page.get_by_role("region", name="My enrolments")
    expect(enrolments.get_by_role("link", name="Retrieval-augmented generation")).to_be_visible()
    expect(enrolments.get_by_text("Enrolled", exact=True)).to_be_visible()
    snap(page, "talent-2-my-learning")
    student = User.objects.get(email=EMAIL)
    assert Enrolment.objects.get(user=student).status == EnrolmentStatus.ENROLLED
    assert any("You are enrolled" in m.subject for m in messages_to(EMAIL)), [m.subject for m in mail.outbox]
    navbar(page).get_by_role("link", name="Dashboard").click()
    panel = page.get_by_role("region", name="My training")
    expect(panel.get_by_role("link", name="Retrieval-augmented generation")).to_be_visible()
    expect(panel.get_by_text("Enrolled")).to_be_visible()

    # --- a second student: the cohort is full, so they wait and see their place -----------------------------
    page.context.clear_cookies()
    second = UserFactory(name="Qian Yu", email="qian.yu@example.cn")
    make_verified_organisation(second, kind=OrganisationKind.UNIVERSITY, name_zh="滨海测试大学")
    sign_in(page, base, second.email)
    page.goto(base + course.get_absolute_url())
    expect(page.get_by_text("Full (waitlist open)")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^Enrol"))).to_have_count(0)
    page.get_by_role("link", name=re.compile(r"^Join the waitlist")).click()
    expect(page.get_by_role("button", name="Enrol", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("alert").filter(has_text="number 1 on the waitlist")).to_be_visible()
    expect(page.get_by_test_id("waitlist-position")).to_have_text("Number 1 on the waitlist")
    snap(page, "talent-3-waitlisted")
    assert Enrolment.objects.get(user=second).status == EnrolmentStatus.WAITLISTED
    assert urlsplit(page.url).path == "/talent/my/"
