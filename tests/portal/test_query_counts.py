"""List pages and list endpoints keep a constant number of queries whatever the number of rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import MembershipRole
from tests.accounts.factories import OrganisationFactory, UserFactory, add_member, make_organisation

pytestmark = pytest.mark.django_db


def count_queries(client, url):
    # A session's first request also records the session (allauth.usersessions, the staff idle clock): a cost
    # per session, not per row, so it is paid before counting.
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


def grow(owner, n):
    for _ in range(n):
        org = OrganisationFactory()
        add_member(org, owner, role=MembershipRole.OWNER)
        add_member(org)


@pytest.mark.parametrize(
    "url", ["/organisations/", "/api/v1/organisations/", "/api/v1/memberships/", "/dashboard/"]
)
def test_member_lists(client, user, url):
    grow(user, 2)
    few = count_queries(client_for(client, user), url)
    grow(user, 40)
    many = count_queries(client_for(client, user), url)
    assert many == few, f"{url}: {few} queries with 2 rows, {many} with 42"


@pytest.mark.parametrize("url", ["/organisations/", "/api/v1/organisations/", "/operator/verifications/"])
def test_operator_lists(client, operator, mfa, url):
    mfa(operator)
    owner = UserFactory()

    def add(n):
        for _ in range(n):
            org = make_organisation(owner)
            services.submit_organisation_for_verification(org, by=owner)

    add(2)
    few = count_queries(client_for(client, operator), url)
    add(30)
    many = count_queries(client_for(client, operator), url)
    assert many == few, f"{url}: {few} queries with 2 rows, {many} with 32"


def test_audit_trail(client, supervisor, mfa, user):
    mfa(supervisor)
    make_organisation(user)
    few = count_queries(client_for(client, supervisor), "/oversight/audit/")
    for _ in range(20):
        make_organisation(user)
    many = count_queries(client_for(client, supervisor), "/oversight/audit/")
    assert many == few


def test_invitation_list_endpoint(client, user):
    org = make_organisation(user)
    services.invite_member(org, by=user, email="a0@example.cn", role="member")
    few = count_queries(client_for(client, user), "/api/v1/invitations/")
    for i in range(1, 25):
        services.invite_member(org, by=user, email=f"a{i}@example.cn", role="member")
    many = count_queries(client_for(client, user), "/api/v1/invitations/")
    assert many == few


def client_for(client, user):
    client.force_login(user)
    return client
