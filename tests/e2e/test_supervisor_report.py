"""A supervisor opens a report in the supervision area, changes the period and exports it."""

from datetime import date

from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from tests.accounts.factories import UserFactory
from tests.compute.factories import make_allocation
from tests.compute.test_vouchers import card_hours
from tests.e2e.helpers import snap


def test_a_supervisor_opens_a_report_and_exports_it(make_page, live_server, supervisor, mfa, tmp_path):
    mfa(supervisor)
    allocation = make_allocation(UserFactory(), amount=400)
    card_hours(allocation, 12, day=date(2026, 10, 15))
    client = Client()
    client.force_login(supervisor)
    base = live_server.url
    page = make_page(accept_downloads=True)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base,
            }
        ]
    )

    page.goto(base + "/")
    page.get_by_role("button", name="Staff").click()
    page.get_by_role("link", name="Supervision and reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Supervision")
    page.get_by_role("link", name="Utilisation per partition").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Utilisation per partition")

    page.get_by_role("textbox", name="From").fill("2026-10-01")
    page.get_by_role("textbox", name="To").fill("2026-10-30")
    page.get_by_role("button", name="Show").click()
    table = page.get_by_role("table")
    expect(table).to_contain_text("npu")
    expect(table).to_contain_text("12.00")
    expect(page.get_by_role("img", name="Utilisation per partition")).to_be_visible()
    snap(page, "supervisor-report")

    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    download = info.value
    assert download.suggested_filename == "utilisation-20261001-20261030.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "Partition,Unit,Capacity,Used,Utilisation %"
    assert lines[1].startswith("npu,") and ",12.00," in lines[1]

    with page.expect_download() as info:
        page.get_by_role("link", name="Export Excel").click()
    assert info.value.suggested_filename.endswith(".xlsx")
