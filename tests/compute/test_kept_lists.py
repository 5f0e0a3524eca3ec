"""The operators' allocation and request lists, kept for everyone who sees all organisations (compute/kept.py):
asked again they read no allocation or request, a change is on the next page, and nobody else gets them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compute.models import QuotaRequest, RequestStatus
from compute.services import requests as request_services
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.compute.factories import make_allocation, make_quota_request
from tests.compute.test_vouchers import card_hours

pytestmark = pytest.mark.django_db


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
