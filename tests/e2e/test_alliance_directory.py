"""In Chromium: an organisation applies to the alliance, an operator approves, and anyone finds it in the public
directory by filtering, and opens its profile."""

from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from accounts.models import OrganisationKind, Sector
from alliance.models import AllianceMembership, MembershipStatus
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.alliance.factories import make_alliance_member
from tests.e2e.helpers import field


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def sign_in_as(page: Page, base: str, user) -> None:
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie(user), "url": base}]
    )


def test_apply_approve_find_in_directory_and_open_profile(make_page, live_server, mfa, transactional_db):
    base = live_server.url
    operator = mfa(make_operator())
    owner = UserFactory(name="Lin Hai")
    organisation = make_verified_organisation(
        owner,
        name_zh="海湾视觉科技有限公司",
        name_en="Bay Vision Technology Co., Ltd.",
        kind=OrganisationKind.ENTERPRISE,
        sector=Sector.HEALTHCARE,
        city="海湾",
    )
    # Other members, so the filters have something to narrow down.
    for name, city in (("滨海数据有限公司", "滨海"), ("临江智能有限公司", "临江")):
        make_alliance_member(
            make_verified_organisation(UserFactory(), name_zh=name, city=city), operator=operator
        )

    # The owner applies.
    owner_page = make_page()
    sign_in_as(owner_page, base, owner)
    owner_page.goto(base + "/alliance/join/")
    expect(owner_page.get_by_role("heading", level=1)).to_have_text("Apply to join the alliance")
    field(owner_page, "Tier").select_option("council")
    field(owner_page, "Statement").fill("We build medical imaging AI and share our data tools.")
    owner_page.get_by_role("button", name="Apply").click()
    expect(owner_page.get_by_text("The application is filed.")).to_be_visible()
    membership = AllianceMembership.objects.get(organisation=organisation)
    assert membership.status == MembershipStatus.PENDING

    # The operator approves from the queue.
    operator_page = make_page()
    sign_in_as(operator_page, base, operator)
    operator_page.goto(base + "/alliance/queue/")
    card = operator_page.get_by_role("article").filter(has_text="Bay Vision Technology")
    card.get_by_label("Approve").check()
    card.get_by_role("button", name="Record the decision").click()
    expect(operator_page.get_by_text("The membership is approved")).to_be_visible()
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE

    # A visitor finds it in the directory and narrows the list down to it with the filters.
    visitor = make_page()
    visitor.goto(base + "/alliance/")
    members = visitor.get_by_role("list", name="Members")
    expect(members.get_by_role("listitem")).to_have_count(3)
    visitor.get_by_role("navigation", name="City").get_by_role("link", name="海湾").click()
    expect(members.get_by_role("listitem")).to_have_count(1)
    visitor.get_by_role("navigation", name="Tier").get_by_role("link", name="Council member").click()
    expect(members.get_by_role("listitem")).to_have_count(1)
    expect(visitor.get_by_role("navigation", name="City").get_by_role("link", name="海湾")).to_have_attribute(
        "aria-current", "true"
    )
    # And by keyword, in English.
    visitor.goto(base + "/alliance/")
    visitor.get_by_label("Keywords").fill("bay vision")
    visitor.get_by_role("button", name="Search").click()
    expect(members.get_by_role("listitem")).to_have_count(1)
    members.get_by_role("link", name="海湾视觉科技有限公司").click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("海湾视觉科技有限公司")
    expect(visitor.get_by_text("Council member")).to_be_visible()
