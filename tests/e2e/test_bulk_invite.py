"""An owner pastes a list of colleagues, sees the rows with errors in the preview, confirms, and watches the
invitations go out until the progress says done."""

from django.core import mail
from playwright.sync_api import expect

from accounts.models import OnboardingBatch, RowStatus
from accounts.sms.file import read_messages
from tests.accounts.factories import UserFactory, add_member, make_organisation
from tests.e2e.helpers import messages_to, sign_in, snap


def test_owner_pastes_a_list_previews_the_errors_confirms_and_sees_it_done(
    make_page, live_server, settings, tmp_path
):
    base = live_server.url
    settings.SITE_URL = base
    owner = UserFactory(name="Zhang Min")
    organisation = make_organisation(owner, name_en="Harbour Robotics Ltd.", name_zh="海港机器人有限公司")
    already = add_member(organisation).user
    mail.outbox.clear()

    page = make_page()
    sign_in(page, base, owner.email)
    # Texts go to H5's file backend (set after signing in: with SMS on, the sign-in form offers numbers too).
    settings.SMS_BACKEND = "accounts.sms.file.FileSmsBackend"
    settings.SMS_BACKEND_OPTIONS = {"directory": str(tmp_path / "sms")}
    page.goto(base + organisation.get_absolute_url())
    page.get_by_role("link", name="Invite many people").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invite many people")
    expect(page.get_by_text("No lists yet.")).to_be_visible()

    page.get_by_label("Paste a list").fill(
        "email,role,name\n"
        "li.lei@example.cn,admin,李雷\n"
        "han.meimei@example.cn,member,韩梅梅\n"
        "139 0013 8000,member,王芳\n"
        "not-an-address@\n"
        f"{already.email}\n"
        "li.lei@example.cn\n"
        "zhao@example.cn,chief\n"
    )
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check the list")
    expect(page.get_by_text("3 people will be invited.")).to_be_visible()
    expect(page.get_by_text("4 rows have errors and will not be sent.")).to_be_visible()
    rows = page.get_by_role("table", name="Rows of the list")
    expect(rows.get_by_role("row", name="Not a valid email address.")).to_have_count(1)
    expect(rows.get_by_role("row", name="Already a member of this organisation.")).to_have_count(1)
    expect(rows.get_by_role("row", name="Appears earlier in the list. (line 2)")).to_have_count(1)
    expect(rows.get_by_role("row", name="Unknown role: use owner, admin or member.")).to_have_count(1)
    assert messages_to("li.lei@example.cn") == []  # nothing sent before confirming
    snap(page, "bulk-invite-1-preview")

    page.get_by_role("button", name="Send 3 invitations").click()
    expect(page.get_by_text("Confirmed: the invitations are being sent.")).to_be_visible()
    progress = page.get_by_role("region", name="Progress")
    expect(progress).to_contain_text("3 of 3 handled.")
    expect(progress).to_contain_text("Done: every invitation has been handled.")
    expect(progress).not_to_have_attribute("hx-trigger", "every 2s")
    snap(page, "bulk-invite-2-done")

    batch = OnboardingBatch.objects.get()
    assert set(batch.rows.exclude(status=RowStatus.INVALID).values_list("status", flat=True)) == {
        RowStatus.SENT
    }
    assert len(messages_to("li.lei@example.cn")) == 1 and len(messages_to("han.meimei@example.cn")) == 1
    texts = read_messages(tmp_path / "sms")
    assert [m["to"] for m in texts] == ["+8613900138000"]
    assert "/invitations/mobile/" in texts[0]["text"]

    # The organisation's list of lists shows it.
    page.get_by_role("link", name="Invite many people").first.click()
    expect(page.get_by_role("table", name="Invitation lists")).to_contain_text("Sent")
