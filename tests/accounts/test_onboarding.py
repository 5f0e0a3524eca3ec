"""Bulk onboarding: reading lists, the preview, confirming, sending exactly once, resend, withdraw, pages."""

import codecs
import random
import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import onboarding, services
from accounts.models import (
    BatchStatus,
    Invitation,
    InvitationStatus,
    Membership,
    MembershipRole,
    OnboardingBatch,
    OnboardingRow,
    RowError,
    RowKind,
    RowStatus,
)
from accounts.models.phones import PhoneNumber
from accounts.sms import SmsError
from core import sweepers
from core.exceptions import Conflict, DomainError, NotAllowed
from core.models import AuditEvent, OutboxMessage
from tests.accounts.factories import UserFactory, add_member, make_organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_sent(monkeypatch):
    """The SMS gateway boundary: every text the portal hands over, in order (accounts.sms.send_text)."""
    sent = []

    def send_text(number, template, params):
        sent.append((number, template, dict(params)))

    monkeypatch.setattr("accounts.sms.send_text", send_text)
    return sent


@pytest.fixture
def owner():
    return UserFactory(name="Zhang Min")


@pytest.fixture
def organisation(owner):
    return make_organisation(owner, name_en="Harbour Robotics Ltd.")


def mails_to() -> dict[str, int]:
    """How many invitation mails each address has in the outbox (written in the sending transaction)."""
    counts = {}
    for payload in OutboxMessage.objects.filter(kind="mail").values_list("payload", flat=True):
        for address in payload["to"]:
            counts[address] = counts.get(address, 0) + 1
    return counts


def phone(n: int) -> str:
    return f"+86139{n:08d}"


# --- reading a list ----------------------------------------------------------------------------------


def test_a_pasted_list_with_roles_names_and_a_header():
    rows = onboarding.parse_list(
        "email, role, name\nli.lei@example.cn, admin, 李雷\n\n139 0000 0001，成员，韩梅梅\nwang@example.cn\n"
    )
    assert [
        (r["line"], r["kind"], r["email"] or r["phone"], r["role"], r["name"], r["error"]) for r in rows
    ] == [
        (2, RowKind.EMAIL, "li.lei@example.cn", MembershipRole.ADMIN, "李雷", ""),
        (4, RowKind.PHONE, "+8613900000001", MembershipRole.MEMBER, "韩梅梅", ""),
        (5, RowKind.EMAIL, "wang@example.cn", MembershipRole.MEMBER, "", ""),
    ]


def test_a_list_without_header_pasted_from_a_spreadsheet_uses_tabs():
    rows = onboarding.parse_list("a@example.cn\towner\tA\nb@example.cn\tchief\tB\n")
    assert [(r["role"], r["error"]) for r in rows] == [
        (MembershipRole.OWNER, ""),
        (MembershipRole.MEMBER, RowError.UNKNOWN_ROLE),
    ]


def test_each_kind_of_bad_row_has_its_error():
    rows = onboarding.parse_list(
        "not-an-address@\n12345\n,admin\nx@example.cn,boss\ny@example.cn\nY@Example.cn\n+86 139 0000 0002\n13900000002\n"
    )
    assert [(r["line"], r["error"], r["error_line"]) for r in rows] == [
        (1, RowError.BAD_EMAIL, None),
        (2, RowError.BAD_PHONE, None),
        (3, RowError.NO_CONTACT, None),
        (4, RowError.UNKNOWN_ROLE, None),
        (5, "", None),
        (6, RowError.DUPLICATE, 5),
        (7, "", None),
        (8, RowError.DUPLICATE, 7),
    ]


def test_files_in_utf8_with_a_bom_and_in_gbk_are_read():
    text = "邮箱,角色,姓名\nzhou@example.cn,管理员,周杰\n"
    assert onboarding.decode_upload(codecs.BOM_UTF8 + text.encode("utf-8")) == text
    assert onboarding.decode_upload(text.encode("gbk")) == text
    assert onboarding.parse_list(onboarding.decode_upload(text.encode("gbk")))[0]["name"] == "周杰"


def test_unreadable_empty_and_oversized_lists_are_refused_with_a_reason():
    with pytest.raises(DomainError, match="could not be read"):
        onboarding.decode_upload(b"\xff\xfe\x00\x00\xff" * 10)
    with pytest.raises(DomainError, match="larger than 1 MB"):
        onboarding.decode_upload(b"a" * (onboarding.MAX_BYTES + 1))
    with pytest.raises(DomainError, match="empty"):
        onboarding.parse_list("\n \n")
    with pytest.raises(DomainError, match="more than 5000 rows"):
        onboarding.parse_list("\n".join(f"p{i}@example.cn" for i in range(5001)))
    assert len(onboarding.parse_list("email\n" + "\n".join(f"p{i}@example.cn" for i in range(5000)))) == 5000


# --- the 1,000-row file: preview, confirm, send exactly once ------------------------------------------


def _thousand_row_file(organisation, owner):
    """A CSV of 1,000 people of whom exactly the expected ones are bad; returns (bytes, bad {line: error})."""
    members = [add_member(organisation).user for _ in range(10)]
    invited = [f"invited{i}@example.cn" for i in range(10)]
    for address in invited:
        services.invite_member(organisation, by=owner, email=address, role=MembershipRole.MEMBER)
    member_with_phone = add_member(organisation).user
    PhoneNumber.objects.create(user=member_with_phone, number=phone(5000), verified=True)
    lines, bad = ["email,role,name"], {}
    for i in range(1000):
        line = i + 2
        if i % 100 == 1:
            lines.append(f"bad{i}@@example.cn,member,Bad"), bad.update({line: RowError.BAD_EMAIL})
        elif i % 100 == 2:
            lines.append(f"12{i},member,Bad"), bad.update({line: RowError.BAD_PHONE})
        elif i % 100 == 3:
            lines.append(f"role{i}@example.cn,chief,Bad"), bad.update({line: RowError.UNKNOWN_ROLE})
        elif i % 100 == 4:
            lines.append(lines[-4]), bad.update({line: RowError.DUPLICATE})  # repeats the row i % 100 == 0
        elif i % 100 == 5:
            lines.append(f"{members[i // 100].email},member,Member"), bad.update({line: RowError.MEMBER})
        elif i % 100 == 6:
            lines.append(f"{invited[i // 100]},member,Invited"), bad.update({line: RowError.INVITED})
        elif i == 7:
            lines.append(f"{phone(5000)},member,Member by phone"), bad.update({line: RowError.MEMBER})
        elif i % 3 == 0:
            lines.append(f"{phone(i)},member,手机用户{i}")
        else:
            lines.append(f"colleague{i}@example.cn,{random.choice(['admin', 'member', '成员'])},同事{i}")
    return ("\n".join(lines) + "\n").encode("gbk"), bad


def test_a_thousand_row_csv_previews_exactly_its_bad_rows_then_sends_each_good_row_once(
    client, owner, organisation, sms_sent, django_capture_on_commit_callbacks
):
    data, bad = _thousand_row_file(organisation, owner)
    client.force_login(owner)
    upload = SimpleUploadedFile("people.csv", data, content_type="text/csv")
    response = client.post(f"/organisations/{organisation.pk}/onboarding/", {"file": upload})
    batch = OnboardingBatch.objects.get()
    assert response.status_code == 302 and response.url == f"/onboarding/{batch.pk}/"
    assert batch.status == BatchStatus.DRAFT and batch.row_count == 1000 and batch.error_count == len(bad)
    shown = dict(batch.rows.filter(status=RowStatus.INVALID).values_list("line", "error"))
    assert shown == bad
    assert not Invitation.objects.filter(
        email__startswith="colleague"
    ).exists()  # nothing sent before confirming
    assert sms_sent == [] and "colleague10@example.cn" not in mails_to()

    page = client.get(f"/onboarding/{batch.pk}/?show=errors").content.decode()
    assert "Not a valid email address." in page and "Appears earlier in the list." in page
    assert (
        f"{1000 - len(bad)} people will be invited." in client.get(batch.get_absolute_url()).content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/onboarding/{batch.pk}/confirm/")
    assert response.status_code == 302
    batch.refresh_from_db()
    good = batch.rows.exclude(status=RowStatus.INVALID)
    good_emails = set(good.filter(kind=RowKind.EMAIL).values_list("email", flat=True))
    good_phones = set(good.filter(kind=RowKind.PHONE).values_list("phone", flat=True))
    assert len(good_emails) + len(good_phones) == 1000 - len(bad)
    # The task ran (through the outbox, after the commit): every good row sent, once.
    assert batch.status == BatchStatus.DONE
    assert set(good.values_list("status", flat=True)) == {RowStatus.SENT}
    sent_mails = mails_to()
    assert {a for a in sent_mails if a.startswith("colleague")} == good_emails
    assert all(sent_mails[a] == 1 for a in good_emails)
    assert sorted(number for number, _t, _p in sms_sent) == sorted(good_phones)
    assert {template for _n, template, _p in sms_sent} == {"invitation"}
    row = good.filter(kind=RowKind.PHONE).first()
    assert any(p["link"].endswith(f"/invitations/mobile/{row.token}/") for _n, _t, p in sms_sent)
    assert Invitation.objects.filter(organisation=organisation, status=InvitationStatus.PENDING).count() == (
        len(good_emails) + 10
    )

    # Run twice: nothing goes out again.
    assert onboarding.send_batch(batch.pk) == 0
    assert mails_to() == sent_mails and len(sms_sent) == len(good_phones)
    # The manager is told it is done; the audit trail has the confirmation.
    assert AuditEvent.objects.filter(action="onboarding_batch.confirm", target_id=str(batch.pk)).exists()
    assert AuditEvent.objects.filter(action="onboarding_batch.finish", target_id=str(batch.pk)).count() == 1


def _confirmed(organisation, owner, text):
    batch = onboarding.preview_batch(organisation, by=owner, text=text)
    # Confirm without running the task: the tests below run it themselves.
    with mock.patch("accounts.onboarding._enqueue_sending"):
        return onboarding.confirm_batch(batch, by=owner)


def test_a_task_that_dies_half_way_and_is_retried_sends_each_row_exactly_once(
    owner, organisation, monkeypatch
):
    batch = _confirmed(organisation, owner, "\n".join(phone(i) for i in range(10)))
    sent = []

    def dies_at_the_sixth(number, template, params):
        if len(sent) == 5:
            raise ConnectionResetError("worker lost")
        sent.append(number)

    monkeypatch.setattr("accounts.sms.send_text", dies_at_the_sixth)
    with pytest.raises(ConnectionResetError):
        onboarding.send_batch(batch.pk)
    assert batch.rows.filter(status=RowStatus.SENT).count() == 5
    assert batch.rows.filter(status=RowStatus.QUEUED).count() == 5
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SENDING

    monkeypatch.setattr("accounts.sms.send_text", lambda number, template, params: sent.append(number))
    assert onboarding.send_batch(batch.pk) == 5
    assert onboarding.send_batch(batch.pk) == 0
    assert sorted(sent) == [phone(i) for i in range(10)]  # each number exactly once
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE


def test_a_row_the_gateway_refuses_fails_and_can_be_sent_again(owner, organisation, monkeypatch, sms_sent):
    batch = _confirmed(organisation, owner, f"{phone(1)}\n{phone(2)}\nok@example.cn")

    def refuses_one(number, template, params):
        if number == phone(2):
            raise SmsError("isv.MOBILE_NUMBER_ILLEGAL", code="isv.MOBILE_NUMBER_ILLEGAL")
        sms_sent.append((number, template, params))

    monkeypatch.setattr("accounts.sms.send_text", refuses_one)
    onboarding.send_batch(batch.pk)
    failed = batch.rows.get(phone=phone(2))
    assert failed.status == RowStatus.FAILED and "MOBILE_NUMBER_ILLEGAL" in failed.last_error
    assert onboarding.batch_counts(batch)["sent"] == 2

    monkeypatch.setattr("accounts.sms.send_text", lambda n, t, p: sms_sent.append((n, t, p)))
    assert onboarding.resend(batch, by=owner) == 1  # all failed ones
    onboarding.send_batch(batch.pk)
    failed.refresh_from_db()
    assert failed.status == RowStatus.SENT and failed.sent_count == 1
    assert [n for n, _t, _p in sms_sent] == [phone(1), phone(2)]
    assert AuditEvent.objects.filter(action="onboarding_row.resend", target_id=str(failed.pk)).exists()

    # One row sent again on request: a second mail to that address.
    mail_row = batch.rows.get(email="ok@example.cn")
    assert onboarding.resend(batch, by=owner, row_id=mail_row.pk) == 1
    onboarding.send_batch(batch.pk)
    assert mails_to()["ok@example.cn"] == 2


def test_withdraw_one_or_all_open_invitations(owner, organisation, sms_sent):
    batch = _confirmed(organisation, owner, "a@example.cn\nb@example.cn\n" + phone(3))
    onboarding.send_batch(batch.pk)
    row_a = batch.rows.get(email="a@example.cn")
    assert onboarding.revoke(batch, by=owner, row_id=row_a.pk) == 1
    row_a.refresh_from_db()
    assert row_a.status == RowStatus.REVOKED and row_a.invitation.status == InvitationStatus.REVOKED
    with pytest.raises(Conflict):
        onboarding.revoke(batch, by=owner, row_id=row_a.pk)
    assert onboarding.revoke(batch, by=owner) == 2
    assert set(batch.rows.values_list("status", flat=True)) == {RowStatus.REVOKED}
    assert Invitation.objects.filter(status=InvitationStatus.PENDING).count() == 0
    assert AuditEvent.objects.filter(action="onboarding_row.revoke").count() == 3
    # A withdrawn row is not sent even if it was still waiting.
    assert onboarding.send_batch(batch.pk) == 0


def test_a_withdrawn_row_still_waiting_is_never_sent(owner, organisation, sms_sent):
    batch = _confirmed(organisation, owner, phone(4))
    onboarding.revoke(batch, by=owner)
    assert onboarding.send_batch(batch.pk) == 0 and sms_sent == []


def test_confirm_checks_again_and_only_an_owner_invites_owners(owner, organisation, sms_sent):
    admin = add_member(organisation, role=MembershipRole.ADMIN).user
    batch = onboarding.preview_batch(organisation, by=admin, text="boss@example.cn,owner\nlate@example.cn\n")
    assert dict(batch.rows.values_list("email", "error")) == {
        "boss@example.cn": RowError.OWNER_ROLE,
        "late@example.cn": "",
    }
    # Someone invites late@ on their own between the preview and the confirmation.
    services.invite_member(organisation, by=owner, email="late@example.cn", role=MembershipRole.MEMBER)
    onboarding.confirm_batch(batch, by=admin)
    batch.refresh_from_db()
    assert batch.rows.get(email="late@example.cn").error == RowError.INVITED
    assert batch.status == BatchStatus.DONE and batch.error_count == 2
    with pytest.raises(Conflict):
        onboarding.confirm_batch(batch, by=admin)


def test_a_mobile_invitation_is_accepted_by_the_person_with_that_verified_number(
    client, owner, organisation, sms_sent
):
    batch = _confirmed(organisation, owner, f"{phone(5)},admin,Wu")
    onboarding.send_batch(batch.pk)
    row = batch.rows.get()
    url = f"/invitations/mobile/{row.token}/"
    assert sms_sent[0][2]["link"] == "http://testserver" + url

    stranger = UserFactory()
    client.force_login(stranger)
    response = client.get(url)
    assert response.status_code == 403 and organisation.display_name not in response.content.decode()
    assert client.post(url).status_code == 403

    invited = UserFactory()
    PhoneNumber.objects.create(user=invited, number=phone(5), verified=False)
    client.force_login(invited)
    assert client.get(url).status_code == 403  # not verified yet
    PhoneNumber.objects.filter(user=invited).update(verified=True)
    assert organisation.display_name in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302 and response.url == organisation.get_absolute_url()
    assert Membership.objects.get(organisation=organisation, user=invited).role == MembershipRole.ADMIN
    row.refresh_from_db()
    assert row.status == RowStatus.ACCEPTED and row.accepted_by == invited
    assert onboarding.batch_counts(batch)["accepted"] == 1
    assert AuditEvent.objects.filter(action="onboarding_row.accept", target_id=str(row.pk)).exists()
    with pytest.raises(Conflict):
        onboarding.accept_mobile_invitation(row, user=invited)


# --- pages and permissions ---------------------------------------------------------------------------


def test_only_the_organisations_managers_see_the_pages_operators_look(
    client, owner, organisation, operator, mfa
):
    batch = onboarding.preview_batch(organisation, by=owner, text="a@example.cn")
    pages = [
        f"/organisations/{organisation.pk}/onboarding/",
        f"/onboarding/{batch.pk}/",
        f"/organisations/{organisation.pk}/domains/",
    ]
    member = add_member(organisation).user
    other_manager = UserFactory()
    make_organisation(other_manager)
    for person in (member, other_manager):
        client.force_login(person)
        for url in pages:
            assert client.get(url).status_code == 404, (person, url)
        assert client.post(f"/onboarding/{batch.pk}/confirm/").status_code == 404
        assert (
            client.post(f"/organisations/{organisation.pk}/onboarding/", {"text": "x@example.cn"}).status_code
            == 404
        )
    client.force_login(owner)
    for url in pages:
        assert client.get(url).status_code == 200, url
    client.force_login(mfa(operator))
    for url in pages:
        assert client.get(url).status_code == 200, url
    assert client.post(f"/onboarding/{batch.pk}/confirm/").status_code == 404  # operators look, never send
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DRAFT
    client.logout()
    assert client.get(pages[0]).status_code == 302


def test_the_form_refuses_an_empty_list_and_both_inputs(client, owner, organisation):
    client.force_login(owner)
    url = f"/organisations/{organisation.pk}/onboarding/"
    assert "Paste a list or upload a CSV file." in client.post(url, {"text": " "}).content.decode()
    upload = SimpleUploadedFile("a.csv", b"a@example.cn", content_type="text/csv")
    response = client.post(url, {"text": "b@example.cn", "file": upload})
    assert "Paste a list or upload a file, not both." in response.content.decode()
    big = SimpleUploadedFile("big.csv", b"a" * (onboarding.MAX_BYTES + 1), content_type="text/csv")
    assert "larger than 1 MB" in client.post(url, {"file": big}).content.decode()
    assert not OnboardingBatch.objects.exists()


def test_discard_sends_nothing(client, owner, organisation, sms_sent):
    batch = onboarding.preview_batch(organisation, by=owner, text="a@example.cn")
    client.force_login(owner)
    assert client.post(f"/onboarding/{batch.pk}/discard/").status_code == 302
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DISCARDED
    assert client.get(f"/onboarding/{batch.pk}/").status_code == 404
    assert not Invitation.objects.exists()


def test_progress_polls_while_sending_and_stops_when_done(client, owner, organisation, sms_sent):
    batch = _confirmed(organisation, owner, "a@example.cn\nb@example.cn")
    client.force_login(owner)
    url = f"/onboarding/{batch.pk}/progress/"
    assert client.get(url).status_code == 302  # not htmx: the page itself
    block = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in block and "0 of 2 handled." in block
    # Bounded: after the limit it stops and asks for a reload.
    block = client.get(url + f"?poll={999}", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in block and "stopped updating" in block
    onboarding.send_batch(batch.pk)
    block = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in block and "2 of 2 handled." in block and "Done" in block


def test_managers_only_act_through_the_service(owner, organisation):
    member = add_member(organisation).user
    with pytest.raises(NotAllowed):
        onboarding.preview_batch(organisation, by=member, text="a@example.cn")


@pytest.mark.parametrize("size", [1, 30])
def test_the_batch_list_keeps_a_constant_number_of_queries(client, owner, organisation, size):
    for i in range(size):
        onboarding.preview_batch(organisation, by=owner, text=f"p{i}@example.cn\nq{i}@example.cn")
    client.force_login(owner)
    url = f"/organisations/{organisation.pk}/onboarding/"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    assert len(queries) <= 8, [q["sql"] for q in queries]


@pytest.mark.parametrize("size", [1, 100])
def test_the_batch_page_keeps_a_constant_number_of_queries(client, owner, organisation, sms_sent, size):
    batch = _confirmed(organisation, owner, "\n".join(f"p{i}@example.cn" for i in range(size)) + "\nbad@")
    onboarding.send_batch(batch.pk)
    client.force_login(owner)
    url = f"/onboarding/{batch.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    assert page.status_code == 200 and "p0@example.cn" in page.content.decode()
    assert len(queries) <= 8, [q["sql"] for q in queries]


def test_rows_are_stored_with_the_organisation_for_the_open_number_constraint(owner, organisation, sms_sent):
    _confirmed(organisation, owner, phone(7))
    again = onboarding.preview_batch(organisation, by=owner, text=phone(7))
    assert again.rows.get().error == RowError.INVITED
    assert OnboardingRow.objects.filter(phone=phone(7), status=RowStatus.QUEUED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_the_task_at_the_same_time_send_each_row_once(monkeypatch):
    owner = UserFactory()
    organisation = make_organisation(owner)
    batch = _confirmed(organisation, owner, "\n".join(phone(i) for i in range(40)))
    sent, lock = [], threading.Lock()

    def slow_gateway(number, template, params):
        time.sleep(0.005)
        with lock:
            sent.append(number)

    monkeypatch.setattr("accounts.sms.send_text", slow_gateway)

    def run():
        try:
            onboarding.send_batch(batch.pk)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(sent) == [phone(i) for i in range(40)]
    assert batch.rows.filter(status=RowStatus.SENT, sent_count=1).count() == 40
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE
    assert AuditEvent.objects.filter(action="onboarding_batch.finish", target_id=str(batch.pk)).count() == 1


def test_a_malformed_row_id_changes_nothing(client, owner, organisation, sms_sent):
    batch = _confirmed(organisation, owner, "a@example.cn\nb@example.cn")
    onboarding.send_batch(batch.pk)
    client.force_login(owner)
    for action in ("revoke", "resend"):
        assert client.post(f"/onboarding/{batch.pk}/{action}/", {"row": "x"}).status_code == 404
        assert client.post(f"/onboarding/{batch.pk}/{action}/", {"row": "9" * 30}).status_code == 404
    assert set(batch.rows.values_list("status", flat=True)) == {RowStatus.SENT}
    # A row of another list is not found through this one.
    other = _confirmed(organisation, owner, "c@example.cn")
    onboarding.send_batch(other.pk)
    response = client.post(f"/onboarding/{batch.pk}/revoke/", {"row": other.rows.get().pk}, follow=True)
    assert "This invitation is no longer open." in response.content.decode()
    assert other.rows.get().status == RowStatus.SENT
    # Through the page: withdraw one, then all.
    row = batch.rows.get(email="a@example.cn")
    response = client.post(f"/onboarding/{batch.pk}/revoke/", {"row": row.pk}, follow=True)
    assert "1 invitation withdrawn." in response.content.decode()
    response = client.post(f"/onboarding/{batch.pk}/revoke/", follow=True)
    assert "1 invitation withdrawn." in response.content.decode()
    assert set(batch.rows.values_list("status", flat=True)) == {RowStatus.REVOKED}


def test_a_list_left_waiting_is_swept_and_sent(owner, organisation, sms_sent, settings):
    batch = _confirmed(organisation, owner, phone(8))  # confirmed, but its task never ran
    assert onboarding.stuck_batches(timezone.now()) == []
    later = timezone.now() + timedelta(minutes=settings.STUCK_AFTER_MINUTES + 1)
    (item,) = [i for i in sweepers.stuck_work(later) if i.object == batch]
    assert item.label == "Invitation list not sent"
    item.action()  # enqueued through the outbox; run it as the worker would
    onboarding.send_batch(batch.pk)
    assert [number for number, _t, _p in sms_sent] == [phone(8)]
    assert onboarding.stuck_batches(later) == []
