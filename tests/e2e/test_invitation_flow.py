"""An owner invites a colleague by email; the colleague follows the mailed link and joins."""

from urllib.parse import quote

from django.core import mail
from playwright.sync_api import expect

from accounts.models import Invitation, InvitationStatus, Membership, MembershipRole
from tests.accounts.factories import UserFactory, make_organisation
from tests.e2e.helpers import link_in, messages_to, sign_in, snap, submit_sign_in_form


def test_owner_invites_a_colleague_who_accepts(make_page, live_server, settings):
    base = live_server.url
    settings.SITE_URL = base  # links in mails point at the live server
    owner = UserFactory(name="Zhang Min")
    colleague = UserFactory(name="Chen Jing")
    organisation = make_organisation(owner, name_en="Harbour Robotics Ltd.", name_zh="海港机器人有限公司")
    mail.outbox.clear()

    # The owner invites the colleague from the organisation page.
    owner_page = make_page()
    sign_in(owner_page, base, owner.email)
    owner_page.goto(base + organisation.get_absolute_url())
    invite = owner_page.get_by_role("region", name="Invite a colleague")
    invite.get_by_label("Email address").fill(colleague.email)
    invite.get_by_label("Role").select_option(label="Member")
    invite.get_by_role("button", name="Send invitation").click()
    expect(owner_page.get_by_text(f"Invitation sent to {colleague.email}.")).to_be_visible()
    expect(owner_page.get_by_role("region", name="Invite a colleague")).to_contain_text(colleague.email)
    snap(owner_page, "invitation-1-sent")

    invitation = Invitation.objects.get(organisation=organisation, email=colleague.email)
    sent = messages_to(colleague.email)
    assert len(sent) == 1, [(m.to, m.subject) for m in mail.outbox]
    assert "Harbour Robotics Ltd." in sent[0].subject
    url = link_in(sent[0].body, r"/invitations/[^/\s]+/$")
    assert url == base + f"/invitations/{invitation.token}/"

    # The colleague, signed out, opens the link: sign in first, then land on the invitation.
    colleague_page = make_page()
    colleague_page.goto(url)
    expect(colleague_page).to_have_url(
        base + "/accounts/login/?next=" + quote(f"/invitations/{invitation.token}/", safe="/")
    )
    submit_sign_in_form(colleague_page, colleague.email)
    expect(colleague_page).to_have_url(url)
    expect(colleague_page.get_by_role("heading", level=1)).to_have_text("Join Harbour Robotics Ltd.")
    expect(colleague_page.get_by_text("Zhang Min invites you to join as Member.")).to_be_visible()
    snap(colleague_page, "invitation-2-respond")
    colleague_page.get_by_role("button", name="Accept").click()

    expect(colleague_page).to_have_url(base + organisation.get_absolute_url())
    expect(colleague_page.get_by_text("You are now a member of “Harbour Robotics Ltd.”.")).to_be_visible()
    members = colleague_page.get_by_role("region", name="Members")
    expect(members).to_contain_text("Chen Jing")
    expect(members).to_contain_text("Zhang Min")
    # A member does not manage the organisation.
    expect(colleague_page.get_by_role("region", name="Invite a colleague")).to_have_count(0)
    snap(colleague_page, "invitation-3-joined")

    colleague_page.goto(base + "/dashboard/")
    my_organisations = colleague_page.get_by_role("region", name="My organisations")
    expect(my_organisations.get_by_role("link", name="Harbour Robotics Ltd.")).to_be_visible()
    expect(my_organisations).to_contain_text("Member")

    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.accepted_by == colleague
    membership = Membership.objects.get(organisation=organisation, user=colleague)
    assert membership.role == MembershipRole.MEMBER

    # The owner sees the new member, and the invitation is no longer open.
    owner_page.reload()
    expect(owner_page.get_by_role("region", name="Members")).to_contain_text("Chen Jing")
    expect(owner_page.get_by_role("button", name="Withdraw")).to_have_count(0)
