"""Bulk onboarding's pages kept per state of what they show (accounts/kept.py): the invitation lists, a list's
rows and the domains and requests to join. Asked again they read none of the rows they show; a change through
the services is on the next page; a list being sent is never kept; an audience (the organisation's managers,
the staff who only look, operators with their own forms) never gets another's body, and anyone else is refused
whatever is kept."""

import re
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import kept, onboarding, services
from accounts.models import BatchStatus, Invitation, MembershipRole, OnboardingBatch, OrganisationDomain
from tests.accounts.factories import UserFactory, add_member, make_organisation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]

# The tables of what the pages show.
LIST_ROWS = ("accounts_onboardingrow", "accounts_invitation")
LISTS = ("accounts_onboardingbatch", "accounts_onboardingrow")
DOMAIN_ROWS = ("accounts_organisationdomain", "accounts_admissionrequest")
# What a list's page looks up before its body: the list, its organisation and the reader's membership (kept for
# the reader while none of them changed).
LOOKUP = ("accounts_onboardingbatch", "accounts_organisation", "accounts_membership")


@pytest.fixture
def owner():
    return UserFactory(name="Zhang Min", email="zhang.min@harbour.example.cn")


@pytest.fixture
def organisation(owner):
    return make_organisation(owner, name_en="Harbour Robotics Ltd.")


@pytest.fixture
def sms_sent(monkeypatch):
    sent = []
    monkeypatch.setattr("accounts.sms.send_text", lambda number, template, params: sent.append(number))
    return sent


def _get(client, url, tables, **headers) -> tuple[str, list[str]]:
    """The page's <main> and the queries it asked of ``tables``."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200, url
    html = response.content.decode()
    asked = [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in tables)]
    return html[html.index("<main") : html.index("</main>")], asked


def _token(body: str) -> str:
    """The CSRF token of the first form in the page's body (not the header's)."""
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)


def _untokened(body: str) -> str:
    """The body without its CSRF tokens (masked anew for every response)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)


def _row(page: str, contact: str) -> str:
    """The table row of a list's page that shows ``contact``."""
    return next(row for row in page.split("<tr") if f"<td>{contact}</td>" in row)


def _cells(page: str) -> list[str]:
    """The figures of the first (the newest) list: rows, errors, sent, failed."""
    return re.findall(r'<td class="text-end">(\d+)</td>', page)[:4]


def _lists(organisation) -> str:
    return f"/organisations/{organisation.pk}/onboarding/"


def _domains(organisation) -> str:
    return f"/organisations/{organisation.pk}/domains/"


def _confirmed(batch, owner):
    """Confirm without sending: the list is then being sent until the test runs the task."""
    with mock.patch("accounts.onboarding._enqueue_sending"):
        return onboarding.confirm_batch(batch, by=owner)


def test_the_invitation_lists_are_kept_until_a_list_changes(client, owner, organisation, sms_sent):
    onboarding.preview_batch(organisation, by=owner, text="a@example.cn\nb@example.cn\nbad@", file_name="")
    admin = add_member(organisation, role=MembershipRole.ADMIN).user
    client.force_login(owner)
    page, _queries = _get(client, _lists(organisation), LISTS)
    assert '<td class="text-end">3</td>' in page and "Zhang Min" in page
    again, queries = _get(client, _lists(organisation), LISTS + LOOKUP)
    assert queries == [] and _untokened(again) == _untokened(page)
    # Another manager of the organisation shares the body (with their own token).
    other = Client()
    other.force_login(admin)
    shared, queries = _get(other, _lists(organisation), LISTS)
    assert queries == [] and "Zhang Min" in shared
    # A new list (its rows written in bulk) is on the next page.
    onboarding.preview_batch(organisation, by=owner, text="\n".join(f"p{i}@example.cn" for i in range(7)))
    page, _queries = _get(client, _lists(organisation), LISTS)
    assert _cells(page) == ["7", "0", "0", "0"]
    # Sent: the sent column counts the rows.
    batch = OnboardingBatch.objects.get(row_count=7)
    _confirmed(batch, owner)
    onboarding.send_batch(batch.pk)
    page, _queries = _get(client, _lists(organisation), LISTS)
    assert _cells(page) == ["7", "0", "7", "0"]
    # The name of who made the list, and the organisation's, as they are now.
    owner.name = "Zhang Wei"
    owner.save(update_fields=["name"])
    page, _queries = _get(client, _lists(organisation), LISTS)
    assert "Zhang Wei" in page and "Zhang Min" not in page
    organisation.name_en = "Harbour Robotics Group"
    organisation.save(update_fields=["name_en"])
    page, _queries = _get(client, _lists(organisation), LISTS)
    assert "Invite colleagues to Harbour Robotics Group" in page
    # A sign-in (its time saved on the person) keeps the body.
    owner.save(update_fields=["last_login"])
    _page, queries = _get(client, _lists(organisation), LISTS)
    assert queries == []
    # A discarded list is gone from the next page.
    draft = OnboardingBatch.objects.get(row_count=3)
    onboarding.discard_batch(draft, by=owner)
    page, _queries = _get(client, _lists(organisation), LISTS)
    assert '<td class="text-end">3</td>' not in page


def test_a_lists_rows_are_kept_but_never_while_it_is_being_sent(client, owner, organisation, sms_sent):
    invited = UserFactory(email="a@example.cn")
    batch = onboarding.preview_batch(organisation, by=owner, text="a@example.cn\n+8613900000001\nbad@")
    url = batch.get_absolute_url()
    client.force_login(owner)
    page, _queries = _get(client, url, LIST_ROWS)
    assert "a@example.cn" in page and "2 people will be invited." in page
    again, queries = _get(client, url, LIST_ROWS + LOOKUP)
    assert queries == [] and _untokened(again) == _untokened(page)  # nor the list and the reader's rights
    # Each filter is a page of its own.
    errors, _queries = _get(client, f"{url}?show=errors", LIST_ROWS)
    assert "bad@" in errors and "a@example.cn" not in errors
    # Confirmed and waiting to be sent: the progress is live, so the page is built on every request.
    _confirmed(batch, owner)
    page, _queries = _get(client, url, LIST_ROWS)
    assert 'hx-trigger="every 2s"' in page and "0 of 2 handled." in page
    page, queries = _get(client, url, LIST_ROWS)
    assert queries and "0 of 2 handled." in page
    assert _get(client, url, ("accounts_onboardingbatch",))[1]  # the list itself too, for its status
    # Sent (the task saves row by row): done, and kept again.
    onboarding.send_batch(batch.pk)
    page, _queries = _get(client, url, LIST_ROWS)
    assert "2 of 2 handled." in page and "hx-trigger" not in page
    _page, queries = _get(client, url, LIST_ROWS)
    assert queries == []
    # The invited person answers: the row shows their answer on the next page.
    invitation = Invitation.objects.get(email="a@example.cn")
    services.accept_invitation(invitation, user=invited)
    page, _queries = _get(client, url, LIST_ROWS)
    assert "Accepted" in _row(page, "a@example.cn")
    # Withdrawn through the page's own form.
    row = batch.rows.get(phone="+8613900000001")
    assert client.post(f"/onboarding/{batch.pk}/revoke/", {"row": row.pk}).status_code == 302
    page, _queries = _get(client, url, LIST_ROWS)
    assert "Withdrawn" in _row(page, "+8613900000001")


def test_a_row_found_invalid_as_it_is_sent_shows_on_the_next_page(client, owner, organisation, sms_sent):
    batch = _confirmed(onboarding.preview_batch(organisation, by=owner, text="late@example.cn"), owner)
    client.force_login(owner)
    page, _queries = _get(client, _lists(organisation), LISTS)
    assert _cells(page) == ["1", "0", "0", "0"]
    # The person joins another way before the list is sent: their row is marked, the list counts the error.
    add_member(organisation, user=UserFactory(email="late@example.cn"))
    onboarding.send_batch(batch.pk)
    page, _queries = _get(client, _lists(organisation), LISTS)
    assert _cells(page) == ["1", "1", "0", "0"]
    page, _queries = _get(client, batch.get_absolute_url(), LIST_ROWS)
    assert "Already a member of this organisation." in page


def test_audiences_never_share_a_body_and_others_are_refused(
    client, owner, organisation, operator, supervisor, mfa
):
    batch = onboarding.preview_batch(organisation, by=owner, text="a@example.cn")
    onboarding.add_domain(organisation, by=owner, domain="harbour.example.cn")
    pages = [_lists(organisation), batch.get_absolute_url(), _domains(organisation)]
    confirm = f"/onboarding/{batch.pk}/confirm/"
    client.force_login(owner)
    for url in pages:
        page, _queries = _get(client, url, ())
        assert "csrfmiddlewaretoken" in page, url
    assert confirm in _get(client, pages[1], ())[0]
    assert "Verify (operator)" not in _get(client, pages[2], ())[0]
    # Staff who only look get no form, though the managers' bodies are kept; operators verify domains.
    looker = Client()
    looker.force_login(mfa(supervisor))
    for url in pages:
        page, _queries = _get(looker, url, ())
        assert "csrfmiddlewaretoken" not in page, url
    looker.force_login(mfa(operator))
    for url in pages[:2]:
        page, _queries = _get(looker, url, ())
        assert "csrfmiddlewaretoken" not in page and confirm not in page, url
    page, _queries = _get(looker, pages[2], ())
    assert "Verify (operator)" in page and "Send link" not in page
    # The supervisor's body is not the operator's.
    looker.force_login(supervisor)
    page, queries = _get(looker, pages[2], DOMAIN_ROWS)
    assert queries == [] and "Verify (operator)" not in page
    # A member, a manager of another organisation, someone signed out: refused, whatever is kept.
    other_manager = UserFactory()
    make_organisation(other_manager)
    for person in (add_member(organisation).user, other_manager):
        looker.force_login(person)
        for url in pages:
            assert looker.get(url).status_code == 404, (person, url)
    looker.logout()
    assert looker.get(pages[0]).status_code == 302
    # A manager who is no longer one is refused at once.
    admin = add_member(organisation, role=MembershipRole.ADMIN)
    looker.force_login(admin.user)
    assert [looker.get(url).status_code for url in pages[:2] * 2] == [200, 200, 200, 200]
    admin.role = MembershipRole.MEMBER
    admin.save(update_fields=["role"])
    assert [looker.get(url).status_code for url in pages[:2]] == [404, 404]


def test_each_language_has_its_own_body(client, owner, organisation):
    onboarding.preview_batch(organisation, by=owner, text="a@example.cn")
    client.force_login(owner)
    english, _queries = _get(client, _lists(organisation), LISTS, HTTP_ACCEPT_LANGUAGE="en")
    chinese, _queries = _get(client, _lists(organisation), LISTS, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "Earlier lists" in english and "以往名单" in chinese and "Earlier lists" not in chinese


def test_the_domains_page_is_kept_until_a_domain_or_a_request_changes(client, owner, organisation, operator):
    client.force_login(owner)
    page, _queries = _get(client, _domains(organisation), DOMAIN_ROWS)
    assert "No domains yet." in page
    entry = onboarding.add_domain(organisation, by=owner, domain="harbour.example.cn")
    page, _queries = _get(client, _domains(organisation), DOMAIN_ROWS)
    assert "harbour.example.cn" in page and "Send link" in page
    again, queries = _get(client, _domains(organisation), DOMAIN_ROWS)
    assert queries == [] and _untokened(again) == _untokened(page)
    onboarding.verify_domain_by_operator(entry, by=operator)
    page, _queries = _get(client, _domains(organisation), DOMAIN_ROWS)
    assert "Send link" not in page and "By an operator" in page
    person = UserFactory(name="Li Lei", email="li.lei@harbour.example.cn")
    admission = onboarding.request_admission(organisation, user=person)
    page, _queries = _get(client, _domains(organisation), DOMAIN_ROWS)
    assert "li.lei@harbour.example.cn" in page and "Li Lei" in page
    person.name = "Li Lei (IT office)"
    person.save(update_fields=["name"])
    page, _queries = _get(client, _domains(organisation), DOMAIN_ROWS)
    assert "Li Lei (IT office)" in page
    onboarding.decide_admission(admission, by=owner, approve=False)
    page, _queries = _get(client, _domains(organisation), DOMAIN_ROWS)
    assert "li.lei@harbour.example.cn" not in page and "No one is waiting." in page
    onboarding.remove_domain(entry, by=owner)
    page, _queries = _get(client, _domains(organisation), DOMAIN_ROWS)
    assert "No domains yet." in page


def test_a_form_in_a_kept_body_carries_each_managers_own_token(owner, organisation, sms_sent):
    batch = onboarding.preview_batch(organisation, by=owner, text="a@example.cn")
    admin = add_member(organisation, role=MembershipRole.ADMIN).user
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(owner)
    second.force_login(admin)
    first.get(batch.get_absolute_url())
    first.get(_domains(organisation))
    page, queries = _get(second, batch.get_absolute_url(), LIST_ROWS)  # the body the owner's request kept
    assert queries == []
    with mock.patch("accounts.onboarding._enqueue_sending"):
        response = second.post(f"/onboarding/{batch.pk}/confirm/", {"csrfmiddlewaretoken": _token(page)})
    assert response.status_code == 302
    assert OnboardingBatch.objects.get(pk=batch.pk).status == BatchStatus.SENDING
    page, queries = _get(second, _domains(organisation), DOMAIN_ROWS)
    assert queries == []
    response = second.post(
        f"/organisations/{organisation.pk}/domains/add/",
        {"domain": "harbour.example.cn", "csrfmiddlewaretoken": _token(page)},
    )
    assert (
        response.status_code == 302 and OrganisationDomain.objects.filter(organisation=organisation).exists()
    )


def test_a_list_refused_with_errors_is_never_kept(client, owner, organisation):
    onboarding.preview_batch(organisation, by=owner, text="a@example.cn")
    client.force_login(owner)
    client.get(_lists(organisation))
    refused = client.post(_lists(organisation), {"text": " "}).content.decode()
    assert "Paste a list or upload a CSV file." in refused and "a@example.cn" not in refused
    page, queries = _get(client, _lists(organisation), LISTS)
    assert queries == [] and "Paste a list or upload a CSV file." not in page


@pytest.mark.parametrize("size", [1, 30])
def test_building_the_lists_takes_a_constant_number_of_queries(client, owner, organisation, size):
    for i in range(size):
        onboarding.preview_batch(organisation, by=owner, text=f"p{i}@example.cn\nq{i}@example.cn")
    client.force_login(owner)
    client.get(_lists(organisation))
    kept.ONBOARDING.forget()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(_lists(organisation)).status_code == 200
    assert len(queries) <= 8, [q["sql"] for q in queries]


@pytest.mark.parametrize("size", [1, 100])
def test_building_a_lists_rows_takes_a_constant_number_of_queries(
    client, owner, organisation, sms_sent, size
):
    batch = _confirmed(
        onboarding.preview_batch(
            organisation, by=owner, text="\n".join(f"p{i}@example.cn" for i in range(size)) + "\nbad@"
        ),
        owner,
    )
    onboarding.send_batch(batch.pk)
    client.force_login(owner)
    client.get(batch.get_absolute_url())
    kept.ONBOARDING.forget()
    with CaptureQueriesContext(connection) as queries:
        page = client.get(batch.get_absolute_url())
    assert page.status_code == 200 and "p0@example.cn" in page.content.decode()
    assert len(queries) <= 8, [q["sql"] for q in queries]
