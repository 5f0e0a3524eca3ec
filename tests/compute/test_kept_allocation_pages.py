"""An allocation's page, its people page and the API's list of its people, kept for their audience
(compute/kept.py): asked again they read none of the rows they show, a change is on the next page, the live
queue is shown no longer than the scheduler's answer is kept, and nobody gets a body made for someone else."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import MembershipRole
from compute.backends.base import QueuedJob
from compute.backends.fake import FakeBackend
from compute.jobs import queue as job_queue
from compute.models import Allocation, AllocationStatus, RequestKind
from compute.services import allocations as allocation_services
from compute.services import members as members_services
from compute.services import requests as request_services
from compute.usage import ingest_jobs
from core import audit
from tests.accounts.factories import UserFactory, add_member, make_operator, make_verified_organisation
from tests.compute.factories import (
    give_identity,
    job_record,
    make_allocation,
    make_quota_request,
    request_fields,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]

# What the pages show besides the allocation itself: a kept body reads none of it.
SHOWN_TABLES = (
    "compute_job",
    "compute_dailyusage",
    "compute_allocationmember",
    "compute_quotarequest",
    "portal_auditevent",
)


def _get(client, url) -> tuple[str, list[str]]:
    """The page and the tables of what it shows that answering it read (besides finding the allocation for
    the person asking, every time)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    read = [
        table
        for q in queries.captured_queries
        if not q["sql"].startswith('SELECT "compute_allocation"."id"')
        for table in SHOWN_TABLES
        if f'"{table}"' in q["sql"]
    ]
    return response.content.decode(), read


def _untokened(html: str) -> str:
    """The page without its CSRF tokens (masked anew for every answer)."""
    return re.sub(r"[A-Za-z0-9]{64}", "", html)


def _body(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def _token(html: str) -> str:
    """The CSRF token of the first form in the page's body (not the header's)."""
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _body(html)).group(1)


@pytest.fixture
def org(user, partition):
    return make_verified_organisation(user)


@pytest.fixture
def allocation(user, org):
    return make_allocation(user, org)


def _queue(allocation, job_id: str) -> None:
    FakeBackend().add_queued_job(
        allocation.account_name, QueuedJob(job_id, "alice", "npu", "PENDING", "Priority")
    )


# --- the allocation's page -----------------------------------------------------------------------------


def test_the_page_is_kept_until_its_jobs_usage_people_or_history_change(client, user, org, allocation):
    client.force_login(user)
    url = allocation.get_absolute_url()
    page, _read = _get(client, url)
    assert "Nobody has used this allocation yet." in page
    again, read = _get(client, url)
    assert read == [] and _untokened(again) == _untokened(page)
    # Jobs arrive through the ingest's bulk writes (and the usage refresh): on the next page.
    ingest_jobs([job_record(allocation, 7001, cards=2, user="alice")])
    page, _read = _get(client, url)
    assert "<code>7001</code>" in page and "Nobody has used this allocation yet." not in page
    # A new cluster user (a save) is on the next page.
    bob = add_member(org, UserFactory(name="Bob Li")).user
    give_identity(bob, "bob")
    members_services.add_allocation_member(allocation, by=user, user=bob)
    assert "<code>bob</code>" in _get(client, url)[0]
    # An entry of the audit trail that changes no allocation row (a reminder sent, say) too.
    audit.record("allocation.end_reminder", allocation, actor=None)
    assert "End reminder sent" in _get(client, url)[0]


def test_the_allocation_is_found_for_its_reader_once_until_it_or_what_they_may_see_changes(
    client, org, allocation
):
    from accounts.models import Membership

    colleague = add_member(org, UserFactory()).user
    client.force_login(colleague)
    urls = (allocation.get_absolute_url(), reverse("compute:allocation_people", args=[allocation.pk]))
    for url in urls:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert not [q for q in queries.captured_queries if '"compute_allocation"' in q["sql"]]
    # A suspension (a save) is on the next page.
    allocation.status = AllocationStatus.SUSPENDED
    allocation.save()
    assert "Suspended" in client.get(urls[0]).content.decode()
    # Someone who leaves the organisation no longer finds it, at once.
    Membership.objects.filter(user=colleague).delete()
    assert [client.get(url).status_code for url in urls] == [404, 404]


def test_a_change_request_is_on_the_next_page(client, user, allocation):
    client.force_login(user)
    url = allocation.get_absolute_url()
    assert 'id="changes-heading"' not in _get(client, url)[0]
    change = request_services.create_quota_request(
        allocation.organisation,
        by=user,
        **request_fields(
            user,
            kind=RequestKind.INCREASE,
            allocation=allocation,
            partition=allocation.partition,
            amount=Decimal("50"),
            members=[],
        ),
    )
    page, _read = _get(client, url)
    assert 'id="changes-heading"' in page and reverse("compute:request_detail", args=[change.pk]) in page


def test_a_change_made_without_a_signal_by_the_provisioning_shows_at_once(client, user, allocation):
    client.force_login(user)
    url = allocation.get_absolute_url()
    _get(client, url)
    FakeBackend.fail_next()
    with pytest.raises(Exception):  # noqa: B017, PT011 - the cluster error, retried by the task
        allocation_services.sync_allocation(allocation.pk, backend=FakeBackend())
    assert "The cluster could not be updated" in _get(client, url)[0]


def test_an_allocation_being_set_up_is_never_kept(client, user, org):
    request = make_quota_request(user, org)
    request_services.approve_quota_request(request, by=make_operator(), granted_amount=None)
    allocation = Allocation.objects.get(request=request)
    assert allocation.is_in_flight
    client.force_login(user)
    url = allocation.get_absolute_url()
    assert 'hx-trigger="every 2s"' in _get(client, url)[0]
    # Moved on without a signal: the next page is made anew, with the status of now.
    Allocation.objects.filter(pk=allocation.pk).update(status=AllocationStatus.PROVISIONING)
    page, read = _get(client, url)
    assert read != [] and 'hx-trigger="every 2s"' in page


def test_operators_supervisors_managers_and_members_each_get_their_own_page(
    user, org, allocation, operator, supervisor, mfa
):
    plain = add_member(org, role=MembershipRole.MEMBER).user
    outsider = UserFactory()
    make_verified_organisation(outsider)
    mfa(operator), mfa(supervisor)
    url = allocation.get_absolute_url()
    pages = {}
    for person in (operator, supervisor, user, plain):
        client = Client()
        client.force_login(person)
        pages[person.pk] = _body(client.get(url).content.decode())
    assert "Operator actions" in pages[operator.pk] and "Operator actions" not in pages[supervisor.pk]
    assert 'id="history-heading"' in pages[supervisor.pk]
    assert "Need a change?" in pages[user.pk] and "Need a change?" not in pages[plain.pk]
    assert 'id="history-heading"' in pages[user.pk] and 'id="history-heading"' not in pages[plain.pk]
    # Kept for each of them, the page is still not found for someone of another organisation.
    client = Client()
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_a_kept_page_carries_each_operators_own_csrf_token(allocation, operator, mfa):
    other = make_operator()
    mfa(operator), mfa(other)
    url = allocation.get_absolute_url()
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(operator)
    second.force_login(other)
    assert "Operator actions" in first.get(url).content.decode()
    page, read = _get(second, url)  # the body the first operator's request kept
    assert read == []
    suspended = second.post(
        reverse("compute:allocation_suspend", args=[allocation.pk]),
        {"reason": "Maintenance of the cards.", "csrfmiddlewaretoken": _token(page)},
    )
    assert suspended.status_code == 302
    assert Allocation.objects.get(pk=allocation.pk).status == AllocationStatus.SUSPENDED
    # Suspended: the next page (for either of them) offers to resume.
    assert reverse("compute:allocation_resume", args=[allocation.pk]) in first.get(url).content.decode()


def test_the_queue_is_shown_while_the_schedulers_answer_is_fresh(client, user, allocation):
    client.force_login(user)
    url = allocation.get_absolute_url()
    _queue(allocation, "501")
    assert "<code>501</code>" in _get(client, url)[0]
    _queue(allocation, "502")
    assert "<code>502</code>" not in _get(client, url)[0]  # the answer read a moment ago
    # A job submitted or cancelled from the portal ends the answer: the next page asks the scheduler again.
    job_queue.forget(allocation.partition.cluster, allocation.organisation_id)
    assert "<code>502</code>" in _get(client, url)[0]


def test_the_queue_is_read_again_after_the_answer_expires(client, user, allocation, settings):
    settings.JOB_QUEUE_CACHE_SECONDS = 0  # every answer expires at once
    client.force_login(user)
    url = allocation.get_absolute_url()
    _get(client, url)
    _queue(allocation, "601")
    assert "<code>601</code>" in _get(client, url)[0]


def test_a_cluster_that_did_not_answer_is_asked_again_on_the_next_page(client, user, allocation):
    client.force_login(user)
    url = allocation.get_absolute_url()
    _queue(allocation, "701")
    FakeBackend.stop()
    assert "The cluster did not answer" in _get(client, url)[0]
    FakeBackend.start()
    page = _get(client, url)[0]
    assert "<code>701</code>" in page and "The cluster did not answer" not in page


# --- its people page -----------------------------------------------------------------------------------


def test_the_people_page_is_kept_until_its_people_or_the_organisations_members_change(
    client, user, org, allocation
):
    client.force_login(user)
    url = reverse("compute:allocation_people", args=[allocation.pk])
    page, _read = _get(client, url)
    again, read = _get(client, url)
    assert read == [] and _untokened(again) == _untokened(page)
    # Someone joins the organisation: they may be given access, on the next page.
    newcomer = add_member(org, UserFactory(name="Chen Jing")).user
    page, _read = _get(client, url)
    assert f'<option value="{newcomer.pk}">' in page
    give_identity(newcomer, "chenj")
    members_services.add_allocation_member(allocation, by=user, user=newcomer)
    page, _read = _get(client, url)
    assert "<code>chenj</code>" in page and f'<option value="{newcomer.pk}">' not in page


def test_a_form_with_errors_is_never_kept_and_a_kept_form_takes_the_token(user, org, allocation):
    url = reverse("compute:allocation_people", args=[allocation.pk])
    add = reverse("compute:allocation_member_add", args=[allocation.pk])
    newcomer = add_member(org, UserFactory(name="Chen Jing")).user
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(user)
    second.force_login(user)  # the same person in another browser: another CSRF token
    first.get(url)
    page, read = _get(second, url)
    assert read == []
    refused = second.post(add, {"user": "", "csrfmiddlewaretoken": _token(page)})
    assert refused.status_code == 200 and "is-invalid" in refused.content.decode()
    assert "is-invalid" not in second.get(url).content.decode()
    added = second.post(add, {"user": newcomer.pk, "csrfmiddlewaretoken": _token(page)})
    assert added.status_code == 302
    assert allocation.members.current().filter(user=newcomer).exists()


def test_operators_manage_the_people_and_supervisors_read_them(allocation, operator, supervisor, mfa):
    mfa(operator), mfa(supervisor)
    url = reverse("compute:allocation_people", args=[allocation.pk])
    pages = {}
    for person in (operator, supervisor):
        client = Client()
        client.force_login(person)
        pages[person.pk] = _body(client.get(url).content.decode())
    assert 'id="add-heading"' in pages[operator.pk]
    assert (
        'id="add-heading"' not in pages[supervisor.pk] and "csrfmiddlewaretoken" not in pages[supervisor.pk]
    )


# --- the API's list of its people ----------------------------------------------------------------------


def test_the_apis_people_are_kept_until_they_change(api_client, user, org, allocation):
    api_client.force_authenticate(user)
    url = f"/api/v1/allocations/{allocation.pk}/members/"
    with CaptureQueriesContext(connection) as first:
        assert [m["cluster_username"] for m in api_client.get(url).json()] == ["alice"]
    assert any('"compute_allocationmember"' in q["sql"] for q in first.captured_queries)
    with CaptureQueriesContext(connection) as again:
        assert [m["cluster_username"] for m in api_client.get(url).json()] == ["alice"]
    # Neither the people nor the allocation (found once for this reader) are read again.
    assert not any('"compute_allocation' in q["sql"] for q in again.captured_queries)
    bob = add_member(org).user
    give_identity(bob, "bob")
    members_services.add_allocation_member(allocation, by=user, user=bob)
    assert [m["cluster_username"] for m in api_client.get(url).json()] == ["alice", "bob"]
    # Kept, the list is still no one else's to read.
    outsider = UserFactory()
    make_verified_organisation(outsider)
    api_client.force_authenticate(outsider)
    assert api_client.get(url).status_code == 404
    # Any id the route lets through is a 404, not an error.
    for bad in ("abc", "0", "99999999999999999999999", "-1"):
        assert api_client.get(f"/api/v1/allocations/{bad}/members/").status_code == 404, bad
