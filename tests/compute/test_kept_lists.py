"""The operators' allocation and request lists, kept for everyone who sees all organisations (compute/kept.py):
asked again they read no allocation or request, a change is on the next page, and nobody else gets them."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compute.models import QuotaRequest, RequestStatus
from compute.services import requests as request_services
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.compute.factories import make_allocation, make_quota_request
from tests.compute.test_vouchers import card_hours

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]


def _compute_queries(client, url, **params) -> tuple:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return response, [q["sql"] for q in queries.captured_queries if "compute_" in q["sql"]]


def test_the_staff_allocation_list_is_kept_until_an_allocation_changes(client, operator, supervisor, mfa):
    owner = UserFactory()
    first = make_allocation(owner, amount=100)
    url = reverse("compute:allocation_list")
    mfa(operator), mfa(supervisor)
    client.force_login(operator)
    page, _queries = _compute_queries(client, url)
    assert first.account_name in page.content.decode()
    again, queries = _compute_queries(client, url)
    assert queries == [] and ">0 of 100 card-hour (0.0 %)<" in again.content.decode()
    # Used amounts arrive through the ingest's bulk writes: the next page shows them.
    card_hours(first, 12)
    page, _queries = _compute_queries(client, url)
    assert ">12 of 100 card-hour (12.0 %)<" in page.content.decode()
    # A new allocation (a save) is on the next page, for every member of staff.
    second = make_allocation(UserFactory(), amount=50)
    client.force_login(supervisor)
    assert second.account_name in client.get(url).content.decode()
    # Each filter is a page of its own.
    assert second.account_name not in client.get(url, {"status": "closed"}).content.decode()


def test_a_member_never_gets_the_staff_list(client, operator, mfa):
    mine, theirs = UserFactory(), UserFactory()
    own = make_allocation(mine, amount=10)
    other = make_allocation(theirs, amount=10)
    url = reverse("compute:allocation_list")
    mfa(operator)
    client.force_login(operator)
    staff_page = client.get(url).content.decode()
    assert own.account_name in staff_page and other.account_name in staff_page
    client.force_login(mine)
    page = client.get(url).content.decode()
    assert own.account_name in page and other.account_name not in page


def test_the_staff_request_list_is_kept_until_a_request_changes(client, operator, mfa):
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    request = make_quota_request(owner, organisation)
    url = reverse("compute:request_list")
    mfa(operator)
    client.force_login(operator)
    page, _queries = _compute_queries(client, url, status=RequestStatus.SUBMITTED)
    assert f"#{request.pk} " in page.content.decode()
    again, queries = _compute_queries(client, url, status=RequestStatus.SUBMITTED)
    assert queries == []
    request_services.reject_quota_request(request, by=operator, reason="Out of scope for this partition.")
    assert QuotaRequest.objects.get(pk=request.pk).status == RequestStatus.REJECTED
    page, _queries = _compute_queries(client, url, status=RequestStatus.SUBMITTED)
    assert f"#{request.pk} " not in page.content.decode()
    page, _queries = _compute_queries(client, url, status=RequestStatus.REJECTED)
    assert f"#{request.pk} " in page.content.decode()


def test_a_members_request_list_asks_nothing_again_and_its_button_follows_their_standing(client):
    from accounts.models import Membership, MembershipRole

    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    request = make_quota_request(owner, organisation)
    url = reverse("compute:request_list")
    client.force_login(owner)
    first = client.get(url).content.decode()
    assert f"#{request.pk} " in first and reverse("compute:request_create") in first
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url).content.decode()
    assert reverse("compute:request_create") in again
    read = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in read if "accounts_organisation" in sql or "compute_" in sql], read
    # No longer managing the organisation (a member now), the button goes on the next page.
    Membership.objects.filter(user=owner, organisation=organisation).update(role=MembershipRole.MEMBER)
    Membership.objects.get(user=owner, organisation=organisation).save()  # the save the services make
    assert reverse("compute:request_create") not in client.get(url).content.decode()


def _token(html: str) -> str:
    """The CSRF token of the first form in the page's body (not the header's)."""
    body = html[html.index("<main") : html.index("</main>")]
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)


def test_the_kept_review_queue_carries_each_operators_own_csrf_token(operator, supervisor, mfa):
    owner = UserFactory()
    request = make_quota_request(owner, make_verified_organisation(owner))
    other = make_operator()
    for person in (operator, other, supervisor):
        mfa(person)
    queue = reverse("compute:review_queue")
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(operator)
    second.force_login(other)
    assert f"#{request.pk}" in first.get(queue).content.decode()
    with CaptureQueriesContext(connection) as queries:
        page = second.get(queue).content.decode()  # the body the first operator's request kept
    assert not [q for q in queries.captured_queries if "compute_" in q["sql"]]
    # The forms carry the second operator's token, which their session accepts.
    decided = second.post(
        reverse("compute:request_decide", args=[request.pk]),
        {
            "decision": "reject",
            "reason": "Out of scope for this partition.",
            "csrfmiddlewaretoken": _token(page),
        },
    )
    assert decided.status_code == 302
    assert QuotaRequest.objects.get(pk=request.pk).status == RequestStatus.REJECTED
    # Decided: gone from the queue on the next page; a supervisor's queue never holds the operators' forms.
    assert f"#{request.pk}" not in first.get(queue).content.decode()
    waiting = make_quota_request(owner, make_verified_organisation(owner))
    first.get(queue)
    watcher = Client()
    watcher.force_login(supervisor)
    page = watcher.get(queue).content.decode()
    body = page[page.index("<main") : page.index("</main>")]
    assert f"#{waiting.pk}" in body
    assert (
        reverse("compute:request_decide", args=[waiting.pk]) not in body and "csrfmiddlewaretoken" not in body
    )


def test_the_staff_organisation_list_is_kept_until_an_organisation_changes(client, operator, mfa):
    owner = UserFactory()
    organisation = make_verified_organisation(owner, name_en="Harbour Robotics")
    mfa(operator)
    client.force_login(operator)
    url = reverse("accounts:organisation_list")
    assert "Harbour Robotics" in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as queries:
        assert "Harbour Robotics" in client.get(url).content.decode()
    assert not [q for q in queries.captured_queries if "accounts_organisation" in q["sql"]]
    organisation.name_en = "Harbour Robotics Group"
    organisation.save()
    assert "Harbour Robotics Group" in client.get(url).content.decode()
    # The owner's own list is their own, never the staff's.
    make_verified_organisation(UserFactory(), name_en="Someone Else Ltd")
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert "Harbour Robotics Group" in page and "Someone Else Ltd" not in page


def test_the_job_template_catalogue_is_kept_until_a_template_or_its_partitions_change(client, operator, mfa):
    from compute.jobs import catalogue
    from tests.compute.factories import PartitionFactory
    from tests.compute.test_job_templates import make_template

    mfa(operator)
    npu, cpu = PartitionFactory(slug="npu"), PartitionFactory(slug="cpu", slurm_partition="cpu")
    template = make_template(operator, slug="finetune", partitions=[npu])
    member = UserFactory()
    client.force_login(member)
    url = reverse("compute:job_template_list")
    assert "Template finetune" in client.get(url, {"partition": "npu"}).content.decode()
    assert "Template finetune" not in client.get(url, {"partition": "cpu"}).content.decode()
    with CaptureQueriesContext(connection) as queries:
        client.get(url, {"partition": "cpu"})
    assert not [q for q in queries.captured_queries if "compute_" in q["sql"]]
    # Only its partitions change (a many-to-many change, no save of the template itself).
    template.partitions.set([npu, cpu])
    assert "Template finetune" in client.get(url, {"partition": "cpu"}).content.decode()
    # Retired: gone from the catalogue; the operators' page, kept apart, shows it as retired.
    client.force_login(operator)
    operations = reverse("compute:job_template_operations")
    assert "Template finetune" in client.get(operations, {"status": "published"}).content.decode()
    catalogue.retire_job_template(template, by=operator)
    assert "Template finetune" not in client.get(url).content.decode()
    assert "Template finetune" not in client.get(operations, {"status": "published"}).content.decode()
    assert "Template finetune" in client.get(operations, {"status": "retired"}).content.decode()


def test_the_identity_list_is_kept_until_an_identity_or_key_changes(client, operator, mfa):
    from compute.identities.models import ClusterIdentity
    from tests.compute.factories import give_identity

    mfa(operator)
    person = UserFactory()
    give_identity(person, "harbour01")
    client.force_login(operator)
    url = reverse("compute:identity_list")
    assert "harbour01" in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert not [q for q in queries.captured_queries if "compute_clusteridentity" in q["sql"]]
    give_identity(UserFactory(), "harbour02")
    assert "harbour02" in client.get(url).content.decode()
    assert ClusterIdentity.objects.count() == 2


def test_the_job_template_api_list_is_kept_per_audience(operator, mfa, api_client):
    from rest_framework.test import APIClient

    from tests.compute.factories import PartitionFactory
    from tests.compute.test_job_templates import make_template

    mfa(operator)
    npu = PartitionFactory(slug="npu")
    make_template(operator, slug="shown", partitions=[npu])
    make_template(operator, slug="draft", partitions=[npu], publish=False)
    url = reverse("api:job-template-list")
    staff = APIClient()
    staff.force_authenticate(operator)
    assert {t["slug"] for t in staff.get(url, {"status": "draft"}).json()["results"]} == {"draft"}
    api_client.force_authenticate(UserFactory())
    assert {t["slug"] for t in api_client.get(url).json()["results"]} == {"shown"}
    refused = api_client.get(url, {"status": "draft"})
    assert refused.status_code == 400 and "status" in refused.json()
    assert {t["slug"] for t in staff.get(url).json()["results"]} == {"shown"}
    with CaptureQueriesContext(connection) as queries:
        assert {t["slug"] for t in api_client.get(url).json()["results"]} == {"shown"}
    assert not [q for q in queries.captured_queries if "compute_" in q["sql"]]
    make_template(operator, slug="newer", partitions=[npu])
    assert {t["slug"] for t in api_client.get(url).json()["results"]} == {"shown", "newer"}


def test_the_voucher_operations_page_is_kept_and_its_forms_carry_each_operators_token(
    operator, supervisor, mfa
):
    from accounts.models import EnterpriseSize
    from compute.vouchers.models import VoucherApplication
    from compute.vouchers.services import applications
    from tests.compute.test_vouchers import scheme

    for person in (operator, supervisor):
        mfa(person)
    other = mfa(make_operator())
    owner = UserFactory()
    organisation = make_verified_organisation(owner, size=EnterpriseSize.MICRO)
    city = scheme(small_enterprises_only=True)
    url = reverse("compute:voucher_operations")
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(operator)
    second.force_login(other)
    assert "Train a model for port logistics." not in first.get(url).content.decode()
    applications.apply_for_voucher(
        city, organisation, by=owner, amount=8000, statement="Train a model for port logistics."
    )
    assert "Train a model for port logistics." in first.get(url).content.decode()
    with CaptureQueriesContext(connection) as queries:
        page = second.get(url).content.decode()
    assert not [q for q in queries.captured_queries if "compute_voucher" in q["sql"]]
    application = VoucherApplication.objects.get()
    decided = second.post(
        reverse("compute:voucher_application_decide", args=[application.pk]),
        {"decision": "approve", "amount": "6000", "csrfmiddlewaretoken": _token(page)},
    )
    assert decided.status_code == 302
    application.refresh_from_db()
    assert application.status == "approved"
    assert "Train a model for port logistics." not in first.get(url).content.decode()
    watcher = Client()
    watcher.force_login(supervisor)
    body = watcher.get(url).content.decode()
    body = body[body.index("<main") : body.index("</main>")]
    assert application.voucher.code in body and "csrfmiddlewaretoken" not in body


def test_a_members_lists_are_kept_for_them_alone_until_what_they_may_see_changes(client):
    from accounts.models import Membership
    from tests.accounts.factories import add_member

    alice, bob = UserFactory(), UserFactory()
    hers = make_allocation(alice, amount=10)
    his = make_allocation(bob, amount=10)
    allocations, organisations = reverse("compute:allocation_list"), reverse("accounts:organisation_list")
    his_organisation = f'href="{his.organisation.get_absolute_url()}"'
    client.force_login(alice)
    assert hers.account_name in client.get(allocations).content.decode()
    assert his_organisation not in client.get(organisations).content.decode()
    _page, queries = _compute_queries(client, allocations)
    assert queries == []
    # Bob sees his own, never the page kept for Alice.
    client.force_login(bob)
    page = client.get(allocations).content.decode()
    assert his.account_name in page and hers.account_name not in page
    # Alice joins Bob's organisation: her next pages show it and its allocation.
    membership = add_member(his.organisation, alice)
    client.force_login(alice)
    assert his.account_name in client.get(allocations).content.decode()
    assert his_organisation in client.get(organisations).content.decode()
    # And leaves it again.
    Membership.objects.filter(pk=membership.pk).get().delete()
    assert his.account_name not in client.get(allocations).content.decode()
    assert his_organisation not in client.get(organisations).content.decode()


def test_the_allocation_and_request_api_lists_are_kept_per_audience(operator, mfa):
    from rest_framework.test import APIClient

    mfa(operator)
    alice, bob = UserFactory(), UserFactory()
    hers, his = make_allocation(alice, amount=10), make_allocation(bob, amount=10)
    allocations, requests = reverse("api:allocation-list"), reverse("api:quota-request-list")
    staff, member = APIClient(), APIClient()
    staff.force_authenticate(operator)
    member.force_authenticate(alice)

    def accounts(client):
        return {a["account_name"] for a in client.get(allocations).json()["results"]}

    assert accounts(staff) == {hers.account_name, his.account_name}
    assert accounts(member) == {hers.account_name}
    member.get(requests)
    with CaptureQueriesContext(connection) as queries:
        assert accounts(member) == {hers.account_name}
        member.get(requests)
    assert not [q for q in queries.captured_queries if "compute_" in q["sql"]]
    # A cluster user added (a save of an allocation member) shows on the next page.
    from compute.services import members
    from tests.accounts.factories import add_member
    from tests.compute.factories import give_identity

    newcomer = UserFactory()
    add_member(hers.organisation, newcomer)
    give_identity(newcomer, "newcomer01")
    members.add_allocation_member(hers, by=alice, user=newcomer)
    (mine,) = member.get(allocations).json()["results"]
    assert "newcomer01" in mine["members"]
    # A request filed shows in both audiences' lists.
    filed = make_quota_request(alice, hers.organisation)
    assert filed.pk in {r["id"] for r in member.get(requests).json()["results"]}
    assert filed.pk in {r["id"] for r in staff.get(requests).json()["results"]}


def test_a_members_voucher_page_is_kept_for_them_until_their_vouchers_change(client, operator, mfa):
    from compute.vouchers.services import ledger
    from tests.compute.test_vouchers import LAST_MONTH, TODAY, card_hours, scheme

    mfa(operator)
    owner = UserFactory()
    allocation = make_allocation(owner, amount=1000)
    voucher = ledger.grant_voucher(
        scheme(), allocation.organisation, amount=1000, by=operator, today=date(2026, 9, 1)
    )
    url = reverse("compute:voucher_index")
    client.force_login(owner)
    assert voucher.code in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    assert voucher.code in page and "2026-10" not in page
    assert not [q for q in queries.captured_queries if "compute_" in q["sql"]]
    # Usage settled for last month: the statement's month shows on the next page.
    card_hours(allocation, 10)
    ledger.settle_month(LAST_MONTH, today=TODAY)
    assert "2026-10" in client.get(url).content.decode()
    # Somebody else sees their own page, never this one.
    client.force_login(UserFactory())
    assert voucher.code not in client.get(url).content.decode()


def test_the_identity_api_list_is_kept_per_audience_and_follows_memberships(operator, mfa):
    from rest_framework.test import APIClient

    from tests.accounts.factories import add_member
    from tests.compute.factories import give_identity

    mfa(operator)
    owner, worker, newcomer = UserFactory(), UserFactory(), UserFactory()
    organisation = make_verified_organisation(owner)
    add_member(organisation, worker)
    for person, name in ((worker, "worker01"), (newcomer, "newcomer01")):
        give_identity(person, name)
    url = reverse("api:cluster-identity-list")
    manager, staff = APIClient(), APIClient()
    manager.force_authenticate(owner)
    staff.force_authenticate(operator)

    def names(client):
        return {i["username"] for i in client.get(url).json()["results"]}

    assert names(manager) == {"worker01"}
    assert {"worker01", "newcomer01"} <= names(staff)
    with CaptureQueriesContext(connection) as queries:
        assert names(manager) == {"worker01"}
    assert not [q for q in queries.captured_queries if "compute_clusteridentity" in q["sql"]]
    # The newcomer joins the organisation: the manager's next page lists them.
    add_member(organisation, newcomer)
    assert names(manager) == {"worker01", "newcomer01"}
