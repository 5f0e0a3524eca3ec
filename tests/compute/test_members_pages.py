"""People on an allocation: the page, its forms and the API, with who may see and change what."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compute import kept
from compute.backends.fake import FakeBackend
from compute.identities.models import ClusterIdentity
from compute.models import AllocationMember, QuotaRequest, RequestKind
from compute.services import members as members_services
from compute.services import requests as request_services
from tests.accounts.factories import UserFactory, add_member, make_supervisor, make_verified_organisation
from tests.compute.factories import give_identity, make_allocation

pytestmark = pytest.mark.django_db

API = "/api/v1/allocations/{}/members/"


@pytest.fixture
def org(user, partition):
    return make_verified_organisation(user)


@pytest.fixture
def allocation(user, org):
    return make_allocation(user, org)


@pytest.fixture
def bob(org):
    """A member of the organisation whose cluster identity is ``bob``."""
    person = add_member(org, UserFactory(email="bob@example.cn", name="Bob Li")).user
    give_identity(person, "bob")
    return person


@pytest.fixture
def outsider(partition):
    """The manager of another organisation, with an allocation of their own."""
    manager = UserFactory()
    make_verified_organisation(manager)
    return manager


def url(name, allocation, *args):
    return reverse(f"compute:{name}", args=[allocation.pk, *args])


def snapshot(allocation):
    rows = list(
        AllocationMember.objects.filter(allocation=allocation)
        .order_by("id")
        .values_list("user_id", "cluster_username", "limit_amount", "removed_at")
    )
    return rows, FakeBackend().read_account(allocation.account_name)


def add(allocation, by, person, username):
    """Give ``person`` access (with the identity ``username`` if they have none yet)."""
    give_identity(person, username)
    return members_services.add_allocation_member(allocation, by=by, user=person)


# --- the page ----------------------------------------------------------------------------------------


def test_the_allocation_page_leads_to_its_people(client, user, allocation):
    client.force_login(user)
    page = client.get(allocation.get_absolute_url()).content.decode()
    assert url("allocation_people", allocation) in page and "Manage people" in page


def test_a_manager_adds_a_person_from_the_page(
    client, user, allocation, bob, django_capture_on_commit_callbacks
):
    client.force_login(user)
    page = client.get(url("allocation_people", allocation)).content.decode()
    assert "Give someone access" in page and "Bob Li" in page
    assert 'id="member-username"' in page and 'name="cluster_username"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("allocation_member_add", allocation),
            {"user": bob.pk, "limit_amount": "20"},
        )
    assert response.status_code == 302 and response.url == url("allocation_people", allocation)
    member = AllocationMember.objects.get(allocation=allocation, user=bob)
    assert member.cluster_username == "bob" and member.limit_amount == Decimal("20.00")
    state = FakeBackend().read_account(allocation.account_name)
    assert state.active_users == frozenset({"alice", "bob"}) and state.user_limits == {"bob": 1200}
    assert [m.to for m in mail.outbox if "bob" in m.subject] == [["bob@example.cn"]]
    page = client.get(url("allocation_people", allocation)).content.decode()
    assert "<code>bob</code>" in page and 'value="20.00"' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"user": "999999"}, "Choose one of the organisation"),
        ({"user": "1) OR 1=1"}, "Choose one of the organisation"),
        ({"limit_amount": "500"}, "cannot exceed the allocation&#x27;s grant"),
        ({"limit_amount": "0"}, "more than zero"),
    ],
)
def test_bad_input_on_the_page_is_explained_and_changes_nothing(client, user, allocation, bob, data, message):
    client.force_login(user)
    before = snapshot(allocation)
    response = client.post(url("allocation_member_add", allocation), {"user": bob.pk, **data})
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html and 'role="alert"' in html and "aria-describedby" in html
    assert snapshot(allocation) == before


def test_a_person_outside_the_organisation_cannot_be_chosen(client, user, allocation, outsider):
    client.force_login(user)
    before = snapshot(allocation)
    response = client.post(url("allocation_member_add", allocation), {"user": outsider.pk})
    assert "Choose one of the organisation" in response.content.decode()
    assert snapshot(allocation) == before


def test_the_username_shown_follows_the_person_chosen(client, user, org, allocation, bob):
    other = make_allocation(user, org)
    add(other, user, bob, "bobby")
    newcomer = add_member(org, UserFactory(email="Mei.Wang@example.cn")).user
    client.force_login(user)
    response = client.get(
        url("allocation_member_username", allocation), {"user": bob.pk}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "“bob”" in html and "they keep it" in html and "<input" not in html
    response = client.get(
        url("allocation_member_username", allocation), {"user": newcomer.pk}, HTTP_HX_REQUEST="true"
    )
    assert "will get “meiwang”" in response.content.decode()
    assert not ClusterIdentity.objects.filter(user=newcomer).exists()  # shown, not given yet


def test_removing_and_capping_from_the_page(
    client, user, allocation, bob, django_capture_on_commit_callbacks
):
    member = add(allocation, user, bob, "bob")
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("allocation_member_cap", allocation, member.pk), {"limit_amount": "5"})
    assert FakeBackend().read_account(allocation.account_name).user_limits == {"bob": 300}
    before = snapshot(allocation)
    response = client.post(
        url("allocation_member_cap", allocation, member.pk), {"limit_amount": "101"}, follow=True
    )
    assert "cannot exceed" in response.content.decode()
    assert snapshot(allocation) == before
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("allocation_member_remove", allocation, member.pk), follow=True)
    assert "no longer has access" in response.content.decode()
    assert FakeBackend().read_account(allocation.account_name).users == frozenset({"alice"})
    page = client.get(url("allocation_people", allocation)).content.decode()
    assert "Who had access" in page and "Bob Li" in page


def test_the_last_cluster_user_cannot_be_removed_from_the_page(client, user, allocation):
    alice = allocation.members.get()
    client.force_login(user)
    before = snapshot(allocation)
    response = client.post(url("allocation_member_remove", allocation, alice.pk), follow=True)
    assert "last cluster user" in response.content.decode()
    assert snapshot(allocation) == before


def test_another_organisations_manager_sees_and_changes_nothing(client, user, allocation, bob, outsider):
    alice = allocation.members.get()
    client.force_login(outsider)
    before = snapshot(allocation)
    assert client.get(url("allocation_people", allocation)).status_code == 404
    assert client.get(url("allocation_member_username", allocation), {"user": bob.pk}).status_code == 404
    posts = [
        (url("allocation_member_add", allocation), {"user": bob.pk}),
        (url("allocation_member_remove", allocation, alice.pk), {}),
        (url("allocation_member_cap", allocation, alice.pk), {"limit_amount": "1"}),
    ]
    for target, data in posts:
        assert client.post(target, data).status_code == 404
    assert snapshot(allocation) == before


@pytest.mark.parametrize("who", ["supervisor", "plain member"])
def test_readers_see_the_people_and_change_nothing(client, user, allocation, bob, mfa, who):
    reader = mfa(make_supervisor()) if who == "supervisor" else add_member(allocation.organisation).user
    alice = allocation.members.get()
    client.force_login(reader)
    page = client.get(url("allocation_people", allocation))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<code>alice</code>" in html and "Give someone access" not in html and "Remove alice" not in html
    before = snapshot(allocation)
    for target, data in [
        (url("allocation_member_add", allocation), {"user": bob.pk}),
        (url("allocation_member_remove", allocation, alice.pk), {}),
        (url("allocation_member_cap", allocation, alice.pk), {"limit_amount": "1"}),
    ]:
        assert client.post(target, data).status_code == 403
    assert snapshot(allocation) == before


@pytest.mark.parametrize("where", ["page", "api"])
def test_the_people_list_keeps_its_query_count(client, api_client, user, org, allocation, where):
    client.force_login(user)
    api_client.force_authenticate(user)

    def count():
        # The page and the API's list are kept until what they show changes (compute/kept.py): measure them
        # built anew.
        kept.ALLOCATIONS.forget()
        with CaptureQueriesContext(connection) as queries:
            if where == "page":
                assert client.get(url("allocation_people", allocation)).status_code == 200
            else:
                assert api_client.get(API.format(allocation.pk)).status_code == 200
        return len(queries)

    for n in range(2):
        add(allocation, user, add_member(org).user, f"early{n}")
    count()  # the first request of a session fills caches
    few = count()
    for n in range(6):
        member = add(allocation, user, add_member(org).user, f"later{n}")
        if n % 2:
            members_services.remove_allocation_member(member, by=user)
    assert count() == few


def test_an_operator_acts_from_the_page(
    client, operator, mfa, allocation, bob, django_capture_on_commit_callbacks
):
    client.force_login(mfa(operator))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("allocation_member_add", allocation), {"user": bob.pk})
    assert response.status_code == 302
    assert FakeBackend().read_account(allocation.account_name).active_users == frozenset({"alice", "bob"})


def test_an_increase_filed_from_the_page_names_people_who_join_on_approval(
    client, user, operator, allocation, bob, django_capture_on_commit_callbacks
):
    client.force_login(user)
    today = timezone.localdate()
    form = client.get(reverse("compute:request_create"), {"kind": "increase", "allocation": allocation.pk})
    assert 'name="members-0-user"' in form.content.decode()
    response = client.post(
        reverse("compute:request_create"),
        {
            "organisation": allocation.organisation_id,
            "kind": "increase",
            "allocation": allocation.pk,
            "partition": allocation.partition_id,
            "amount": "10",
            "start_date": today.isoformat(),
            "end_date": allocation.end_date.isoformat(),
            "purpose": "A new colleague",
            "justification": "Bob joins the project.",
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "0",
            "members-0-user": bob.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    increase = QuotaRequest.objects.get(kind=RequestKind.INCREASE)
    assert [(m.user, m.cluster_username) for m in increase.members.all()] == [(bob, "bob")]
    request_services.submit_quota_request(increase, by=user)
    with django_capture_on_commit_callbacks(execute=True):
        request_services.approve_quota_request(increase, by=operator)
    assert FakeBackend().read_account(allocation.account_name).active_users == frozenset({"alice", "bob"})


def test_the_people_pages_render_in_chinese(client, user, allocation, bob):
    member = add(allocation, user, bob, "bob")
    members_services.remove_allocation_member(member, by=user)
    client.cookies["django_language"] = "zh-hans"
    client.force_login(user)
    page = client.get(url("allocation_people", allocation))
    assert page.status_code == 200 and 'lang="zh-Hans"' in page.content.decode()
    partial = client.get(
        url("allocation_member_username", allocation), {"user": bob.pk}, HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200 and partial.headers["Content-Language"] == "zh-hans"


# --- the API -------------------------------------------------------------------------------------------


def test_the_api_lists_adds_caps_and_removes(
    api_client, user, allocation, bob, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(user)
    listed = api_client.get(API.format(allocation.pk))
    assert listed.status_code == 200
    assert [row["cluster_username"] for row in listed.json()] == ["alice"]
    with django_capture_on_commit_callbacks(execute=True):
        added = api_client.post(API.format(allocation.pk), {"user": "BOB@example.cn"})
    assert added.status_code == 201, added.content
    member_id = added.json()["id"]
    assert added.json()["user_email"] == "bob@example.cn" and added.json()["limit_amount"] is None
    with django_capture_on_commit_callbacks(execute=True):
        capped = api_client.patch(f"{API.format(allocation.pk)}{member_id}/", {"limit_amount": "7.5"})
    assert capped.status_code == 200 and capped.json()["limit_amount"] == "7.50"
    assert FakeBackend().read_account(allocation.account_name).user_limits == {"bob": 450}
    with django_capture_on_commit_callbacks(execute=True):
        removed = api_client.delete(f"{API.format(allocation.pk)}{member_id}/")
    assert removed.status_code == 204
    assert FakeBackend().read_account(allocation.account_name).users == frozenset({"alice"})
    assert [row["cluster_username"] for row in api_client.get(API.format(allocation.pk)).json()] == ["alice"]
    assert api_client.get(f"/api/v1/allocations/{allocation.pk}/").json()["members"] == ["alice"]


def test_api_bad_input_is_a_clear_error_that_changes_nothing(api_client, user, allocation, bob, outsider):
    api_client.force_authenticate(user)
    alice = allocation.members.get()
    before = snapshot(allocation)
    cases = [
        (
            api_client.post,
            API.format(allocation.pk),
            {"user": outsider.email},
            400,
            "user",
        ),
        (api_client.post, API.format(allocation.pk), {"user": 10**30}, 400, "user"),
        (api_client.post, API.format(allocation.pk), {"user": "1 OR 1=1"}, 400, "user"),
        (api_client.post, API.format(allocation.pk), {"user": ""}, 400, "user"),
        (
            api_client.post,
            API.format(allocation.pk),
            {"user": bob.pk, "limit_amount": "101"},
            400,
            None,
        ),
        (
            api_client.patch,
            f"{API.format(allocation.pk)}{alice.pk}/",
            {"limit_amount": "0"},
            400,
            "limit_amount",
        ),
        (api_client.delete, f"{API.format(allocation.pk)}{alice.pk}/", None, 409, None),
    ]
    for method, target, data, status, field in cases:
        response = method(target, data) if data is not None else method(target)
        assert response.status_code == status, (target, data, response.content)
        if field:
            assert field in response.json()
    assert snapshot(allocation) == before


def test_api_refuses_other_organisations_and_readers(api_client, user, allocation, bob, outsider):
    alice = allocation.members.get()
    before = snapshot(allocation)
    api_client.force_authenticate(outsider)
    assert api_client.get(API.format(allocation.pk)).status_code == 404
    assert api_client.post(API.format(allocation.pk), {"user": bob.pk}).status_code == 404
    assert api_client.delete(f"{API.format(allocation.pk)}{alice.pk}/").status_code == 404
    api_client.force_authenticate(make_supervisor())
    assert api_client.get(API.format(allocation.pk)).status_code == 200
    assert api_client.post(API.format(allocation.pk), {"user": bob.pk}).status_code == 403
    assert (
        api_client.patch(f"{API.format(allocation.pk)}{alice.pk}/", {"limit_amount": "1"}).status_code == 403
    )
    assert snapshot(allocation) == before


def test_the_members_endpoints_are_in_the_schema(api_client):
    schema = api_client.get("/api/schema/").content.decode()
    assert "/api/v1/allocations/{id}/members/:" in schema
    assert "/api/v1/allocations/{id}/members/{member_id}/:" in schema
    assert "AddAllocationMember" in schema and "CapAllocationMember" in schema
