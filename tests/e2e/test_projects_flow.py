"""Incubation end to end in Chromium: a verified enterprise applies to an open call and submits; an operator
assigns a reviewer; the reviewer scores it; the operator accepts it; the applicant sees the decision."""

import re

from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from playwright.sync_api import Page, expect

from projects.models import Application, ApplicationStatus, AssignmentStatus, ReviewAssignment
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.e2e.test_keyboard_quota_request import session_cookie
from tests.projects.factories import make_call, make_reviewer


def signed_in(make_page, live_server, user) -> Page:
    page = make_page()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(user), "url": live_server.url}]
    )
    return page


def test_apply_review_accept_and_see_the_decision(make_page, live_server):
    owner = UserFactory(name="Huang Lei", email="huang.lei@example.cn")
    make_verified_organisation(owner, name_en="Harbour Vision Co., Ltd.")
    make_call(title_en="2026 smart medical call")
    operator = make_operator(name="Wang Fang", email="wang.fang@example.cn")
    TOTP.activate(operator, generate_totp_secret())
    reviewer = make_reviewer(name="Zhou Min", email="zhou.min@example.cn")

    # --- the applicant ---------------------------------------------------------------------------------
    applicant = signed_in(make_page, live_server, owner)
    applicant.goto(live_server.url + "/projects/calls/")
    applicant.get_by_role("link", name="2026 smart medical call").click()
    applicant.get_by_role("link", name="Start an application").click()
    applicant.get_by_label(re.compile(r"^Project title")).fill("Lung nodule screening")
    applicant.get_by_role("button", name="Save as draft").click()
    expect(applicant.get_by_role("heading", level=1)).to_have_text("Edit the application")
    for label, text in [
        ("Summary", "Flags lung nodules on CT scans."),
        ("Application scenario", "Radiology departments."),
        ("Team", "Five engineers, two radiologists."),
        ("Technical approach", "3D CNN with active learning."),
        ("Data", "Anonymised CT scans."),
        ("Expected outcomes", "Pilot in two hospitals."),
    ]:
        applicant.get_by_label(label, exact=True).fill(text)
    applicant.get_by_label("Compute needed (card-hours)").fill("2000")
    expect(applicant.locator("#autosave-status")).to_contain_text("Saved at")
    applicant.get_by_role("button", name="Save", exact=True).click()
    applicant.get_by_role("button", name="Submit the application").click()
    expect(applicant.get_by_role("alert").filter(has_text="The application is submitted")).to_be_visible()
    application = Application.objects.get()
    assert application.status == ApplicationStatus.SUBMITTED

    # --- the operator screens and assigns the reviewer ---------------------------------------------------
    staff = signed_in(make_page, live_server, operator)
    staff.goto(live_server.url + "/projects/operator/applications/")
    staff.get_by_role("link", name="Lung nodule screening").click()
    staff.get_by_role("button", name="Start screening").click()
    staff.get_by_label(re.compile(r"^Reviewer")).select_option(label=f"Zhou Min <{reviewer.email}>")
    staff.get_by_role("button", name="Assign the reviewer").click()
    expect(staff.get_by_role("alert").filter(has_text="The reviewer is assigned")).to_be_visible()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.IN_REVIEW

    # --- the reviewer scores it -------------------------------------------------------------------------
    expert = signed_in(make_page, live_server, reviewer)
    expert.goto(live_server.url + "/projects/reviews/")
    expert.get_by_role("link", name="Lung nodule screening").click()
    for name, score in (("Innovation", "5"), ("Feasibility", "4"), ("Impact", "na")):
        expert.get_by_label(re.compile(rf"^{name} \(weight")).select_option(score)
    expert.get_by_label("Recommendation").select_option("yes")
    expert.get_by_label("Comments").fill("Strong clinical partners.")
    expert.get_by_role("button", name="Submit the review").click()
    expect(expert.get_by_role("alert").filter(has_text="Your review is submitted")).to_be_visible()
    assignment = ReviewAssignment.objects.get()
    assert assignment.status == AssignmentStatus.SUBMITTED and str(assignment.weighted_score) == "4.60"

    # --- the operator closes the review and accepts -----------------------------------------------------
    staff.reload()
    expect(staff.get_by_text("4.60")).to_be_visible()
    staff.get_by_role("button", name="Close the review").click()
    staff.get_by_role("link", name="Record the decision").click()
    staff.get_by_label("Accepted").check()
    staff.get_by_label("Message to the applicant").fill("Welcome to the programme! Onboarding starts Monday.")
    staff.get_by_role("button", name="Record and send").click()
    expect(staff.get_by_role("alert").filter(has_text="The decision is recorded")).to_be_visible()

    # --- the applicant sees the decision (and never the reviewer) -----------------------------------------
    applicant.goto(live_server.url + f"/projects/applications/{application.pk}/")
    decision = applicant.get_by_role("region", name=re.compile("Decision"))
    expect(decision).to_contain_text("Accepted")
    expect(decision).to_contain_text("Welcome to the programme! Onboarding starts Monday.")
    assert "Zhou Min" not in applicant.content()
    applicant.get_by_role("link", name="Open the incubated project").click()
    expect(applicant.get_by_role("heading", level=1)).to_have_text("Lung nodule screening")
    expect(applicant.get_by_text("Compute voucher: CNY 50,000.00")).to_be_visible()
