from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import MembershipRole, User
from compute import kept
from compute.backends.base import JobRecord
from compute.backends.fake import FakeBackend
from compute.models import Allocation, AllocationStatus, QuotaRequest, ReconcileRun, RequestStatus
from compute.services import requests as request_services
from compute.usage import ingest_usage
from tests.accounts.factories import UserFactory, add_member, make_organisation, make_verified_organisation
from tests.compute.factories import PartitionFactory, give_identity, make_allocation, make_quota_request

pytestmark = pytest.mark.django_db

REQUESTS = "/api/v1/quota-requests/"
ALLOCATIONS = "/api/v1/allocations/"
RUNS = "/api/v1/reconcile-runs/"


@pytest.fixture
def operator(operator, mfa):
    """Staff reach the API only with MFA switched on (tests/accounts/test_staff_mfa.py proves the refusal)."""
    return mfa(operator)


@pytest.fixture
def supervisor(supervisor, mfa):
    return mfa(supervisor)


@pytest.fixture
def org(user, partition):
    return make_verified_organisation(user)


def payload(org, person, **changes):
    today = timezone.localdate()
    values = {
        "organisation": org.pk,
        "partition": "npu",
        "kind": "new",
        "amount": "100",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=90)).isoformat(),
        "purpose": "Train a medical imaging model",
        "justification": "Needs 8 cards for two weeks.",
        "members": [{"user": person.email}],
    }
    values.update(changes)
    return values


# --- partitions ----------------------------------------------------------------------------------------


def test_partitions_are_public(api_client, partition):
    PartitionFactory(slug="cpu", tres="cpu", unit="core_hour", is_active=False)
    listed = api_client.get("/api/v1/partitions/")
    assert listed.status_code == 200
    rows = {row["slug"]: row for row in listed.json()["results"]}
    assert rows["cpu"]["is_active"] is False
    npu = rows["npu"]
    assert npu["unit"] == "card_hour" and npu["price_per_unit"] == "8.5000"
    assert npu["capacity_per_month"] == "10000.00"
    assert (npu["min_request"], npu["max_request"]) == ("1.00", "5000.00")
    assert "cluster" not in npu and "slurm_partition" not in npu
    assert api_client.get("/api/v1/partitions/npu/").json()["id"] == partition.pk
    assert api_client.get(f"/api/v1/partitions/{partition.pk}/").json()["slug"] == "npu"
    assert api_client.get("/api/v1/partitions/nope/").status_code == 404
    assert api_client.get("/api/v1/partitions/99999999999999999999999/").status_code == 404
    assert api_client.post("/api/v1/partitions/", {"slug": "x"}, format="json").status_code in (401, 403, 405)


# --- quota requests: create and bad input ---------------------------------------------------------------


def test_anonymous_is_refused(api_client, user, partition):
    request = make_quota_request(user)
    for url in [REQUESTS, f"{REQUESTS}{request.pk}/", ALLOCATIONS, RUNS]:
        assert api_client.get(url).status_code == 401
    assert api_client.post(f"{REQUESTS}{request.pk}/submit/").status_code == 401
    assert api_client.post(f"{RUNS}run/").status_code == 401


def test_create_a_draft(api_client, user, org):
    colleague = add_member(org).user
    give_identity(user, "alice")
    give_identity(colleague, "bob_2")
    api_client.force_authenticate(user)
    response = api_client.post(
        REQUESTS,
        payload(
            org,
            user,
            members=[
                {"user": user.email.upper()},
                {"user": colleague.pk},
            ],
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["is_editable"] is True
    assert body["organisation"] == org.pk and body["partition"] == PartitionFactory().pk
    assert body["partition_slug"] == "npu"
    assert body["amount"] == "100.00" and body["cost_estimate"] == "850.00"
    assert body["created_allocation"] is None
    assert {(m["user"], m["user_email"], m["cluster_username"]) for m in body["members"]} == {
        (user.pk, user.email, "alice"),
        (colleague.pk, colleague.email, "bob_2"),
    }
    request = QuotaRequest.objects.get(pk=body["id"])
    assert request.created_by == user and request.members.count() == 2


def test_partition_by_id(api_client, user, org, partition):
    api_client.force_authenticate(user)
    response = api_client.post(REQUESTS, payload(org, user, partition=partition.pk), format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "1e9999"}, "amount"),
        ({"amount": "-1e9999"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": 10**20}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": {"n": 1}}, "amount"),
        ({"amount": "6000"}, "amount"),  # above the partition's largest request
        ({"end_date": (timezone.localdate() - timedelta(days=1)).isoformat()}, "end_date"),
        ({"end_date": (timezone.localdate() + timedelta(days=400)).isoformat()}, "end_date"),
        ({"start_date": (timezone.localdate() - timedelta(days=3)).isoformat()}, "start_date"),
        ({"start_date": "2025-02-30"}, "start_date"),
        ({"start_date": "0001-01-01"}, "start_date"),
        ({"end_date": "9999-12-31"}, "end_date"),
        ({"end_date": "10000-01-01"}, "end_date"),
        ({"start_date": 5}, "start_date"),
        ({"end_date": None}, "end_date"),
        ({"partition": "nope"}, "partition"),
        ({"partition": 999999}, "partition"),
        ({"partition": 10**30}, "partition"),
        ({"partition": [1]}, "partition"),
        ({"partition": "../etc"}, "partition"),
        ({"partition": None}, "partition"),
        ({"organisation": "abc"}, "organisation"),
        ({"organisation": 10**30}, "organisation"),
        ({"organisation": None}, "organisation"),
        ({"organisation": 1.5}, "organisation"),
        ({"organisation": -1}, "organisation"),
        ({"kind": "bank"}, "kind"),
        ({"kind": "increase"}, "allocation"),
        ({"purpose": ""}, "purpose"),
        ({"purpose": {"a": 1}}, "purpose"),
        ({"purpose": "x" * 201}, "purpose"),
        ({"justification": "x" * 5001}, "justification"),
        ({"members": []}, "members"),
        ({"members": "alice"}, "members"),
        ({"members": [1, 2]}, "members"),
        ({"members": [{"user": "nobody@example.cn"}]}, "members"),
        ({"members": [{"user": 10**30}]}, "members"),
        ({"members": [{"user": "not an email"}]}, "members"),
        ({"members": [{"user": None}]}, "members"),
        ({"members": [{}]}, "members"),
        (
            {
                "members": [
                    {"user": "OWNER"},
                    {"user": "OWNER"},
                ]
            },
            "members",
        ),
        ({"members": [{"user": "OWNER"} for i in range(101)]}, "members"),
    ],
)
def test_bad_input_gets_field_errors_and_creates_nothing(api_client, user, org, change, field):
    change = {
        key: [
            {**m, "user": user.email} if isinstance(m, dict) and m.get("user") == "OWNER" else m
            for m in value
        ]
        if key == "members" and isinstance(value, list)
        else value
        for key, value in change.items()
    }
    api_client.force_authenticate(user)
    response = api_client.post(REQUESTS, payload(org, user, **change), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not QuotaRequest.objects.exists()


def test_a_person_of_another_organisation_cannot_be_named(api_client, user, org):
    stranger = UserFactory()
    make_verified_organisation(stranger)
    api_client.force_authenticate(user)
    for ref in (stranger.email, stranger.pk):
        response = api_client.post(REQUESTS, payload(org, user, members=[{"user": ref}]), format="json")
        assert response.status_code == 400
        assert "is not a member" in str(response.json()["members"])
    # Naming a person by id does not reveal their address.
    response = api_client.post(
        REQUESTS,
        payload(org, user, members=[{"user": stranger.pk}]),
        format="json",
    )
    assert stranger.email not in response.content.decode()


def test_a_typed_cluster_username_is_ignored_the_identity_is_copied(api_client, user, org):
    """Managers pick people; the user name is the person's identity's, read-only in the API."""
    colleague = add_member(org, UserFactory(email="Wei.Zhang@example.cn")).user
    give_identity(user, "alice")
    api_client.force_authenticate(user)
    members = [
        {"user": user.pk, "cluster_username": "root"},
        {"user": colleague.pk, "cluster_username": "x;rm"},
    ]
    response = api_client.post(REQUESTS, payload(org, user, members=members), format="json")
    assert response.status_code == 201, response.json()
    names = {m["user"]: m["cluster_username"] for m in response.json()["members"]}
    assert names == {user.pk: "alice", colleague.pk: "weizhang"}


def test_request_beyond_capacity_is_refused(api_client, user, org):
    PartitionFactory(slug="small", capacity_per_month=100, max_request=5000)
    api_client.force_authenticate(user)
    response = api_client.post(REQUESTS, payload(org, user, partition="small", amount="400"), format="json")
    assert response.status_code == 400
    assert "left on this partition" in str(response.json()["amount"])


def test_inactive_partition_is_refused(api_client, user, org):
    PartitionFactory(slug="old", is_active=False)
    api_client.force_authenticate(user)
    response = api_client.post(REQUESTS, payload(org, user, partition="old"), format="json")
    assert response.status_code == 400 and "partition" in response.json()


def test_garbage_bodies_are_400_not_500(api_client, user, org):
    api_client.force_authenticate(user)
    assert api_client.post(REQUESTS, "{not json", content_type="application/json").status_code == 400
    assert api_client.post(REQUESTS, [1, 2, 3], format="json").status_code == 400
    assert api_client.post(REQUESTS, "null", content_type="application/json").status_code == 400
    assert api_client.post(REQUESTS, '{"amount": NaN}', content_type="application/json").status_code == 400
    response = api_client.post(
        REQUESTS,
        f'{{"organisation": {org.pk}, "partition": "npu", "amount": 1e400}}',
        content_type="application/json",
    )
    assert response.status_code == 400 and "amount" in response.json()
    assert not QuotaRequest.objects.exists()


def test_organisation_must_be_one_of_mine(api_client, user, org):
    theirs = make_verified_organisation(UserFactory())
    api_client.force_authenticate(user)
    response = api_client.post(REQUESTS, payload(theirs, user), format="json")
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["organisation"])
    assert not QuotaRequest.objects.exists()


def test_unverified_organisation_is_refused(api_client, user, partition):

    org = make_organisation(user)
    api_client.force_authenticate(user)
    assert api_client.post(REQUESTS, payload(org, user), format="json").status_code == 403


def test_plain_member_cannot_file_or_submit(api_client, user, org):
    member = add_member(org).user
    draft = make_quota_request(user, org, submit=False)
    api_client.force_authenticate(member)
    assert api_client.post(REQUESTS, payload(org, member), format="json").status_code == 403
    assert api_client.post(f"{REQUESTS}{draft.pk}/submit/").status_code == 403
    assert api_client.post(f"{REQUESTS}{draft.pk}/withdraw/").status_code == 403
    assert api_client.patch(f"{REQUESTS}{draft.pk}/", {"purpose": "x"}, format="json").status_code == 403
    # ...but reads the organisation's requests.
    assert [r["id"] for r in api_client.get(REQUESTS).json()["results"]] == [draft.pk]
    assert QuotaRequest.objects.count() == 1
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT and draft.purpose != "x"


def test_another_organisations_request_is_404(api_client, user, org):
    theirs = make_quota_request(UserFactory())
    mine = make_quota_request(user, org)
    api_client.force_authenticate(user)
    assert [r["id"] for r in api_client.get(REQUESTS).json()["results"]] == [mine.pk]
    assert api_client.get(f"{REQUESTS}{theirs.pk}/").status_code == 404
    assert api_client.patch(f"{REQUESTS}{theirs.pk}/", {"purpose": "x"}, format="json").status_code == 404
    for verb in ("submit", "withdraw", "approve", "reject", "request-changes"):
        assert api_client.post(f"{REQUESTS}{theirs.pk}/{verb}/", {"reason": "x"}).status_code == 404
    assert api_client.get(f"{REQUESTS}abc/").status_code == 404
    assert api_client.get(f"{REQUESTS}99999999999999999999999/").status_code == 404


def test_filters(api_client, user, org):
    draft = make_quota_request(user, org, submit=False)
    submitted = make_quota_request(user, org, username="bob")
    other_org = make_verified_organisation(user)
    elsewhere = make_quota_request(user, other_org, submit=False)
    api_client.force_authenticate(user)

    def ids(query):
        response = api_client.get(REQUESTS + query)
        assert response.status_code == 200
        return {r["id"] for r in response.json()["results"]}

    assert ids("?status=draft") == {draft.pk, elsewhere.pk}
    assert ids("?status=submitted") == {submitted.pk}
    assert ids(f"?organisation={other_org.pk}") == {elsewhere.pk}
    assert ids(f"?organisation={org.pk}&status=draft") == {draft.pk}
    for bad in ("?status=bogus", "?organisation=abc", "?organisation=-1", "?organisation=" + "9" * 30):
        response = api_client.get(REQUESTS + bad)
        assert response.status_code == 400, bad
        assert {"status", "organisation"} & set(response.json())


# --- quota requests: editing and decisions --------------------------------------------------------------


def test_edit_a_draft_then_submit_then_edit_is_409(api_client, user, org):
    colleague = add_member(org, role=MembershipRole.ADMIN).user
    draft = make_quota_request(user, org, submit=False)
    give_identity(colleague, "carol")
    api_client.force_authenticate(colleague)
    url = f"{REQUESTS}{draft.pk}/"
    response = api_client.patch(
        url,
        {"amount": "50", "members": [{"user": colleague.email}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["amount"] == "50.00"
    assert [m["cluster_username"] for m in response.json()["members"]] == ["carol"]
    for bad in ({"amount": "abc"}, {"amount": "0"}, {"partition": "nope"}, {"members": [{"user": 1}]}):
        assert api_client.patch(url, bad, format="json").status_code == 400, bad
    # Organisation and kind are not editable; the request stays where it was.
    api_client.patch(url, {"organisation": 12345, "kind": "increase"}, format="json")
    draft.refresh_from_db()
    assert (draft.organisation, draft.kind, draft.amount) == (org, "new", Decimal("50"))
    assert api_client.put(url, payload(org, user), format="json").status_code == 405

    submitted = api_client.post(f"{url}submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert api_client.patch(url, {"amount": "40"}, format="json").status_code == 409
    again = api_client.post(f"{url}submit/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    withdrawn = api_client.post(f"{url}withdraw/")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


def test_owner_cannot_decide(api_client, user, org):
    request = make_quota_request(user, org)
    api_client.force_authenticate(user)
    assert api_client.post(f"{REQUESTS}{request.pk}/approve/").status_code == 403
    assert api_client.post(f"{REQUESTS}{request.pk}/reject/", {"reason": "x"}).status_code == 403
    assert api_client.post(f"{REQUESTS}{request.pk}/request-changes/", {"reason": "x"}).status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED and not Allocation.objects.exists()


def test_approve_creates_one_allocation_on_the_cluster(
    api_client, user, org, operator, django_capture_on_commit_callbacks
):
    request = make_quota_request(user, org, amount=100)
    api_client.force_authenticate(operator)
    url = f"{REQUESTS}{request.pk}/approve/"
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(url, {"granted_amount": "60"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "approved" and body["granted_amount"] == "60.00"
    allocation = Allocation.objects.get()
    assert body["created_allocation"] == allocation.pk
    assert allocation.status == AllocationStatus.ACTIVE
    state = FakeBackend().read_account(allocation.account_name)
    assert state.users == frozenset({"alice"})
    assert state.limits == {"billing": 60 * 60}

    with django_capture_on_commit_callbacks(execute=True):
        second = api_client.post(url, {"granted_amount": "60"}, format="json")
    assert second.status_code == 409
    assert Allocation.objects.count() == 1


def test_increase_of_an_allocation(api_client, user, org, operator, django_capture_on_commit_callbacks):
    allocation = make_allocation(user, org, granted=100)
    theirs = make_allocation(UserFactory(), username="bob")
    api_client.force_authenticate(user)
    body = payload(org, user, kind="increase", amount="50", members=[])
    refused = api_client.post(REQUESTS, {**body, "allocation": theirs.pk}, format="json")
    assert refused.status_code == 400 and "does not exist" in str(refused.json()["allocation"])
    response = api_client.post(REQUESTS, {**body, "allocation": allocation.pk}, format="json")
    assert response.status_code == 201, response.json()
    request_id = response.json()["id"]
    assert response.json()["kind"] == "increase" and response.json()["allocation"] == allocation.pk
    assert api_client.post(f"{REQUESTS}{request_id}/submit/").status_code == 200

    api_client.force_authenticate(operator)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(f"{REQUESTS}{request_id}/approve/").status_code == 200
    assert Allocation.objects.filter(organisation=org).count() == 1
    assert api_client.get(f"{ALLOCATIONS}{allocation.pk}/").json()["granted_amount"] == "150.00"
    assert FakeBackend().read_account(allocation.account_name).limits == {"billing": 150 * 60}


def test_approve_without_amount_grants_what_was_asked(api_client, user, org, operator):
    request = make_quota_request(user, org, amount=100)
    api_client.force_authenticate(operator)
    response = api_client.post(f"{REQUESTS}{request.pk}/approve/")
    assert response.status_code == 200 and response.json()["granted_amount"] == "100.00"
    assert Allocation.objects.get().granted_amount == Decimal("100")


@pytest.mark.parametrize("granted", ["abc", "0", "-1", "NaN", "1e9999", "101", 10**20, [1], "1.001"])
def test_approve_with_a_bad_amount_is_400(api_client, user, org, operator, granted):
    request = make_quota_request(user, org, amount=100)
    api_client.force_authenticate(operator)
    response = api_client.post(f"{REQUESTS}{request.pk}/approve/", {"granted_amount": granted}, format="json")
    assert response.status_code == 400
    assert "granted_amount" in response.json()
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED and not Allocation.objects.exists()


def test_approving_a_draft_is_409(api_client, user, org, operator):
    draft = make_quota_request(user, org, submit=False)
    api_client.force_authenticate(operator)
    assert api_client.post(f"{REQUESTS}{draft.pk}/approve/").status_code == 409


def test_reject_and_request_changes(api_client, user, org, operator):
    first = make_quota_request(user, org)
    second = make_quota_request(user, org, username="bob")
    api_client.force_authenticate(operator)
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 5 * ["x"]}, {"reason": "x" * 2001}):
        response = api_client.post(f"{REQUESTS}{first.pk}/reject/", body, format="json")
        assert response.status_code == 400 and "reason" in response.json(), body
    rejected = api_client.post(f"{REQUESTS}{first.pk}/reject/", {"reason": "Not a research use."})
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "Not a research use."

    assert api_client.post(f"{REQUESTS}{second.pk}/request-changes/", {}, format="json").status_code == 400
    changes = api_client.post(f"{REQUESTS}{second.pk}/request-changes/", {"reason": "Ask for fewer hours."})
    assert changes.status_code == 200 and changes.json()["status"] == "changes_requested"

    # The organisation edits and submits again.
    api_client.force_authenticate(user)
    assert api_client.patch(f"{REQUESTS}{second.pk}/", {"amount": "20"}, format="json").status_code == 200
    assert api_client.post(f"{REQUESTS}{second.pk}/submit/").json()["status"] == "submitted"


def test_supervisor_reads_everything_and_writes_nothing(api_client, user, org, supervisor):
    request = make_quota_request(user, org)
    allocation = make_allocation(user, org, username="bob")
    other_org = make_verified_organisation(UserFactory())
    add_member(other_org, supervisor, role=MembershipRole.OWNER)  # even where the supervisor is an owner
    api_client.force_authenticate(supervisor)
    assert len(api_client.get(REQUESTS).json()["results"]) == 2
    assert api_client.get(f"{REQUESTS}{request.pk}/").status_code == 200
    assert api_client.get(f"{ALLOCATIONS}{allocation.pk}/").status_code == 200
    assert api_client.get(f"{ALLOCATIONS}{allocation.pk}/usage/").status_code == 200
    assert api_client.get(RUNS).status_code == 200
    writes = [
        ("post", REQUESTS, payload(other_org, supervisor)),
        ("patch", f"{REQUESTS}{request.pk}/", {"purpose": "x"}),
        *[
            ("post", f"{REQUESTS}{request.pk}/{verb}/", {"reason": "x"})
            for verb in ("submit", "withdraw", "approve", "reject", "request-changes")
        ],
        *[
            ("post", f"{ALLOCATIONS}{allocation.pk}/{verb}/", {"reason": "x"})
            for verb in ("suspend", "resume", "close", "retry-sync")
        ],
        ("post", f"{RUNS}run/", {}),
    ]
    for method, url, body in writes:
        response = getattr(api_client, method)(url, body, format="json")
        assert response.status_code == 403, (url, response.status_code)
    assert QuotaRequest.objects.count() == 2 and not ReconcileRun.objects.exists()
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.ACTIVE


# --- allocations ---------------------------------------------------------------------------------------


def test_allocation_contract(api_client, user, org):
    allocation = make_allocation(user, org, granted=80)
    make_allocation(UserFactory())
    api_client.force_authenticate(user)
    listed = api_client.get(ALLOCATIONS).json()["results"]
    assert [a["id"] for a in listed] == [allocation.pk]
    body = api_client.get(f"{ALLOCATIONS}{allocation.pk}/").json()
    assert body["status"] == "active"
    assert body["account_name"] == allocation.account_name
    assert body["granted_amount"] == "80.00"
    assert (
        body["used_amount"] == "0.0000" and body["remaining"] == "80.0000" and body["used_percent"] == "0.0"
    )
    assert body["members"] == ["alice"]
    assert body["sync_error"] == "" and body["last_synced_at"] is not None
    assert body["partition_slug"] == "npu" and body["unit"] == "card_hour"
    assert body["request"] == allocation.request_id
    assert api_client.get(f"{ALLOCATIONS}?status=active").json()["results"][0]["id"] == allocation.pk
    assert api_client.get(f"{ALLOCATIONS}?status=closed").json()["results"] == []
    assert api_client.get(f"{ALLOCATIONS}?status=nope").status_code == 400
    assert api_client.post(ALLOCATIONS, {}, format="json").status_code == 405


def test_another_organisations_allocation_is_404(api_client, user, org):
    theirs = make_allocation(UserFactory())
    api_client.force_authenticate(user)
    assert api_client.get(f"{ALLOCATIONS}{theirs.pk}/").status_code == 404
    assert api_client.get(f"{ALLOCATIONS}{theirs.pk}/usage/").status_code == 404
    assert api_client.post(f"{ALLOCATIONS}{theirs.pk}/close/").status_code == 404


def test_operators_see_all_allocations(api_client, user, operator):
    make_allocation(user)
    make_allocation(UserFactory())
    api_client.force_authenticate(operator)
    assert len(api_client.get(ALLOCATIONS).json()["results"]) == 2


def test_usage(api_client, user, org):
    allocation = make_allocation(user, org)
    start = datetime.now(UTC) - timedelta(hours=3)
    for job_id, person, hours in (("1", "alice", 2), ("2", "bob", 1), ("3", "alice", 1)):
        FakeBackend().add_job(
            JobRecord(
                job_id=job_id,
                cluster="fake",
                account=allocation.account_name,
                user=person,
                partition="debug",
                state="COMPLETED",
                submit=start,
                start=start,
                end=start + timedelta(hours=hours),
                elapsed_seconds=hours * 3600,
                tres={"billing": 2, "gres/npu": 2},
            )
        )
    ingest_usage(backend=FakeBackend())
    api_client.force_authenticate(user)
    response = api_client.get(f"{ALLOCATIONS}{allocation.pk}/usage/?days=7")
    assert response.status_code == 200
    body = response.json()
    assert len(body["daily"]) == 7
    assert sum(Decimal(d["units"]) for d in body["daily"]) == Decimal("8")
    assert body["top_users"][0] == {"cluster_user": "alice", "units": "6.0000", "jobs": 2}
    assert body["used_amount"] == "8.0000"
    assert len(api_client.get(f"{ALLOCATIONS}{allocation.pk}/usage/").json()["daily"]) == 30
    assert len(api_client.get(f"{ALLOCATIONS}{allocation.pk}/usage/?days=366").json()["daily"]) == 366
    listed = api_client.get(f"{ALLOCATIONS}{allocation.pk}/").json()
    assert listed["used_amount"] == "8.0000" and listed["used_percent"] == "8.0"
    for bad in ("0", "367", "-1", "abc", "1e3", "9" * 30):
        response = api_client.get(f"{ALLOCATIONS}{allocation.pk}/usage/?days={bad}")
        assert response.status_code == 400 and "days" in response.json(), bad


def test_operator_actions(api_client, user, org, operator, django_capture_on_commit_callbacks):
    allocation = make_allocation(user, org)
    url = f"{ALLOCATIONS}{allocation.pk}/"
    api_client.force_authenticate(user)
    assert api_client.post(f"{url}suspend/", {"reason": "x"}).status_code == 403
    assert api_client.post(f"{url}resume/").status_code == 403
    assert api_client.post(f"{url}retry-sync/").status_code == 403

    api_client.force_authenticate(operator)
    for body in ({}, {"reason": ""}, {"reason": ["x"]}):
        assert api_client.post(f"{url}suspend/", body, format="json").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{url}suspend/", {"reason": "Unpaid invoice."})
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    assert FakeBackend().read_account(allocation.account_name).blocked is True
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{url}resume/")
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert FakeBackend().read_account(allocation.account_name).blocked is False

    # A fault on the cluster, then a retry once it is fixed.
    FakeBackend.set_limits_by_hand(allocation.account_name, {"billing": 1})
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{url}retry-sync/")
    assert response.status_code == 202 and response.json()["id"] == allocation.pk
    assert FakeBackend().read_account(allocation.account_name).limits == {"billing": 100 * 60}

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{url}close/", {"reason": "Project over."})
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert FakeBackend().read_account(allocation.account_name) is None
    assert api_client.post(f"{url}resume/").status_code == 409


def test_owner_may_close_plain_member_may_not(api_client, user, org):
    allocation = make_allocation(user, org)
    member = add_member(org).user
    api_client.force_authenticate(member)
    assert api_client.get(f"{ALLOCATIONS}{allocation.pk}/").status_code == 200
    assert api_client.post(f"{ALLOCATIONS}{allocation.pk}/close/").status_code == 403
    api_client.force_authenticate(user)
    assert (
        api_client.post(f"{ALLOCATIONS}{allocation.pk}/close/", {"reason": 5}, format="json").status_code
        == 200
    )
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.CLOSED


# --- reconciliation ------------------------------------------------------------------------------------


def test_reconcile_runs(api_client, user, org, operator, supervisor, settings):
    allocation = make_allocation(user, org)
    FakeBackend.set_limits_by_hand(allocation.account_name, {"billing": 1})
    FakeBackend.add_account_by_hand(f"{settings.CLUSTER_ACCOUNT_PREFIX}999999")

    api_client.force_authenticate(user)
    assert api_client.get(RUNS).status_code == 403
    assert api_client.post(f"{RUNS}run/").status_code == 403

    api_client.force_authenticate(operator)
    response = api_client.post(f"{RUNS}run/")
    assert response.status_code == 201
    run = response.json()
    assert run["finished_at"] is not None and run["error"] == ""
    kinds = {f["kind"]: f for f in run["findings"]}
    assert kinds["limit_changed"]["repaired"] is True
    assert kinds["limit_changed"]["allocation"] == allocation.pk
    assert kinds["unknown_account"]["allocation"] is None and kinds["unknown_account"]["repaired"] is False
    assert (run["drift_count"], run["repaired_count"]) == (2, 1)
    assert FakeBackend().read_account(allocation.account_name).limits == {"billing": 100 * 60}

    api_client.force_authenticate(supervisor)
    assert [r["id"] for r in api_client.get(RUNS).json()["results"]] == [run["id"]]
    assert api_client.get(f"{RUNS}{run['id']}/").json()["findings"] == run["findings"]


def test_reconcile_run_reports_a_cluster_fault(api_client, operator):
    PartitionFactory()  # its cluster is one the portal drives
    FakeBackend.fail_next()
    api_client.force_authenticate(operator)
    response = api_client.post(f"{RUNS}run/")
    assert response.status_code == 201
    assert "not reachable" in response.json()["error"]


# --- query counts and schema ---------------------------------------------------------------------------


def count_queries(api_client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = api_client.get(url)
    assert response.status_code == 200
    return len(ctx), len(response.json()["results"])


def test_list_query_counts_are_constant(api_client, user, org, operator, supervisor):
    colleague = add_member(org).user

    def add(n):
        for _ in range(n):
            make_allocation(
                user,
                org,
                amount=1,
                members=[
                    request_services.MemberAccess(user),
                    request_services.MemberAccess(colleague),
                ],
            )
            make_quota_request(user, org, amount=1)
            ReconcileRun.objects.create(
                findings=[{"kind": "unknown_account", "account": "aicc_x", "allocation": None}, {"kind": "x"}]
            )

    urls = [REQUESTS, ALLOCATIONS, f"{REQUESTS}?status=submitted", "/api/v1/partitions/"]

    def measure() -> dict:
        counts = {
            (who.pk, url): count_queries(api_client_for(api_client, who), url)
            for who in (user, operator)
            for url in urls
        }
        counts[RUNS] = count_queries(api_client_for(api_client, supervisor), RUNS)
        return counts

    add(2)
    measure()  # first requests fill what every request shares (caches of the session, the providers, ...)
    # The lists' pages are kept until what they show changes (compute/kept.py): measure them built anew.
    kept.ALLOCATIONS.forget(), kept.REQUESTS.forget()
    few = measure()
    PartitionFactory(slug="cpu")
    add(18)
    many = measure()
    for key, (queries, rows) in few.items():
        assert many[key][0] == queries, (
            f"{key}: {queries} queries with {rows} rows, {many[key][0]} with {many[key][1]}"
        )
        assert many[key][1] > rows


def api_client_for(api_client, person):
    # A fresh user object each time, as in real requests: site roles are cached on the user object.
    api_client.force_authenticate(User.objects.get(pk=person.pk))
    return api_client


def test_schema_lists_the_compute_api(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in [
        "/api/v1/partitions/",
        "/api/v1/partitions/{id_or_slug}/",
        "/api/v1/quota-requests/",
        "/api/v1/quota-requests/{id}/",
        "/api/v1/quota-requests/{id}/submit/",
        "/api/v1/quota-requests/{id}/withdraw/",
        "/api/v1/quota-requests/{id}/approve/",
        "/api/v1/quota-requests/{id}/reject/",
        "/api/v1/quota-requests/{id}/request-changes/",
        "/api/v1/allocations/",
        "/api/v1/allocations/{id}/",
        "/api/v1/allocations/{id}/usage/",
        "/api/v1/allocations/{id}/suspend/",
        "/api/v1/allocations/{id}/resume/",
        "/api/v1/allocations/{id}/close/",
        "/api/v1/allocations/{id}/retry-sync/",
        "/api/v1/reconcile-runs/",
        "/api/v1/reconcile-runs/{id}/",
        "/api/v1/reconcile-runs/run/",
    ]:
        assert path in text, path
