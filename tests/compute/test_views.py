"""The compute pages: requests, decisions, allocations, usage, capacity and drift, as people use them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import MembershipRole
from compute import usage
from compute.backends.base import ClusterError
from compute.backends.fake import FakeBackend
from compute.models import (
    Allocation,
    AllocationStatus,
    QuotaRequest,
    QuotaRequestMember,
    ReconcileRun,
    RequestKind,
    RequestStatus,
)
from compute.services import allocations as allocation_services
from compute.services import requests as request_services
from tests.accounts.factories import (
    UserFactory,
    add_member,
    make_operator,
    make_organisation,
    make_verified_organisation,
)
from tests.compute.factories import (
    PartitionFactory,
    give_identity,
    job_record,
    make_allocation,
    make_quota_request,
)

pytestmark = pytest.mark.django_db

CREATE = reverse("compute:request_create")


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def organisation(user):
    return make_verified_organisation(user)


@pytest.fixture
def staff(mfa):
    """Operators and supervisors use MFA, as the back office requires of them."""

    def enable(person):
        return mfa(person)

    return enable


def form_data(owner, organisation, partition, /, **overrides):
    today = timezone.localdate()
    data = {
        "organisation": organisation.pk,
        "kind": "new",
        "allocation": "",
        "partition": partition.pk,
        "amount": "100",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=30)).isoformat(),
        "purpose": "Train a medical imaging model",
        "justification": "Eight cards for two weeks.",
        "members-TOTAL_FORMS": "2",
        "members-INITIAL_FORMS": "2",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "50",
        "members-0-user": owner.pk,
        "members-1-user": "",
    }
    data.update(overrides)
    return data


def failed_allocation(owner):
    """An approved allocation whose provisioning failed on the cluster (the error is recorded on it)."""
    request = make_quota_request(owner)
    request_services.approve_quota_request(request, by=make_operator())
    allocation = Allocation.objects.get(request=request)
    FakeBackend.fail_next(1)
    with pytest.raises(ClusterError):
        allocation_services.sync_allocation(allocation.pk, backend=FakeBackend())
    allocation.refresh_from_db()
    assert allocation.sync_error and allocation.status == AllocationStatus.PROVISIONING
    return allocation


# --- landing and public pages --------------------------------------------------------------------


def test_landing_page_shows_partitions_and_the_right_call_to_action(client, user, partition):
    page = client.get("/compute/").content.decode()
    assert partition.name_en in page and "CNY 8.50" in page
    assert reverse("account_signup") in page

    login(client, user)
    page = client.get("/compute/").content.decode()
    assert reverse("accounts:organisation_create") in page and CREATE not in page

    make_verified_organisation(user)
    page = client.get("/compute/").content.decode()
    assert CREATE in page


def test_partition_list_is_public(client, partition):
    response = client.get(reverse("compute:partition_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert partition.name_en in html and "card-hour" in html and "10,000" in html


@pytest.mark.parametrize(
    "name",
    ["request_list", "request_create", "allocation_list", "review_queue", "capacity", "reconcile_report"],
)
def test_anonymous_visitors_are_sent_to_login(client, name):
    response = client.get(reverse(f"compute:{name}"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# --- filing a request ----------------------------------------------------------------------------


def test_create_a_request_from_the_form(client, user, organisation, partition):
    colleague = UserFactory()
    add_member(organisation, colleague)
    give_identity(user, "alice")
    give_identity(colleague, "bob_2")
    login(client, user)
    assert client.get(CREATE).status_code == 200
    data = form_data(
        user,
        organisation,
        partition,
        **{"members-1-user": colleague.pk},
    )
    response = client.post(CREATE, data)
    request = QuotaRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == request.get_absolute_url()
    assert request.status == RequestStatus.DRAFT and request.amount == Decimal("100")
    assert request.created_by == user and request.organisation == organisation
    assert sorted(request.members.values_list("cluster_username", flat=True)) == ["alice", "bob_2"]
    page = client.get(response["Location"]).content.decode()
    assert "alice" in page and "Submit to the operators" in page


def test_add_a_person_shows_one_more_row_and_keeps_what_was_typed(client, user, organisation, partition):
    login(client, user)
    response = client.post(CREATE, {**form_data(user, organisation, partition), "add_member": "1"})
    html = response.content.decode()
    assert response.status_code == 200 and not QuotaRequest.objects.exists()
    assert 'name="members-2-user"' in html and 'name="members-0-cluster_username"' not in html
    assert f'<option value="{user.pk}" selected>' in html and 'value="Train a medical imaging model"' in html
    assert "is-invalid" not in html


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": "0"}, "amount", "more than zero"),
        ({"amount": "-5"}, "amount", "more than zero"),
        ({"amount": "99999999"}, "amount", "Ask for between"),
        ({"amount": "1e30"}, "amount", "no more than"),
        ({"amount": "lots"}, "amount", "Enter a number"),
        ({"amount": ""}, "amount", "Give the amount"),
        ({"end_date": "2020-01-01"}, "end_date", "The end must be after the start"),
        ({"start_date": "2020-01-01", "end_date": "2020-03-01"}, "start_date", "cannot start in the past"),
        ({"end_date": "not-a-date"}, "end_date", "Enter a valid date"),
        ({"partition": "999999"}, "partition", "Choose one of the partitions listed"),
        ({"members-0-user": ""}, None, "Name at least one person"),
        ({"members-0-user": "999999"}, "members-0-user", "Choose one of the organisation"),
        ({"members-0-user": "1 OR 1=1"}, "members-0-user", "Choose one of the organisation"),
        ({"purpose": ""}, "purpose", "This field is required"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(
    client, user, organisation, partition, overrides, field, message
):
    login(client, user)
    response = client.post(CREATE, form_data(user, organisation, partition, **overrides))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    if field:
        assert f'id="id_{field}_error"' in html
    assert not QuotaRequest.objects.exists() and not QuotaRequestMember.objects.exists()


def test_the_same_person_twice_is_refused(client, user, organisation, partition):
    login(client, user)
    data = form_data(user, organisation, partition, **{"members-1-user": user.pk})
    response = client.post(CREATE, data)
    assert response.status_code == 200 and "Name each person once" in response.content.decode()
    data = form_data(user, organisation, partition, **{"members-1-user": user.pk})
    assert "Name each person once" in client.post(CREATE, data).content.decode()
    assert not QuotaRequest.objects.exists()


def test_a_request_exceeding_capacity_is_refused(client, user, organisation):
    small = PartitionFactory(slug="small", capacity_per_month=50, max_request=5000)
    login(client, user)
    response = client.post(CREATE, form_data(user, organisation, small, amount="80"))
    assert response.status_code == 200
    assert "are left on this partition for this period" in response.content.decode()
    assert not QuotaRequest.objects.exists()


def test_a_person_outside_the_organisation_cannot_get_access(client, user, organisation, partition):
    other_owner = UserFactory()
    make_verified_organisation(other_owner)
    login(client, user)
    # The person list only offers people of the organisations the user manages.
    response = client.post(
        CREATE, form_data(user, organisation, partition, **{"members-0-user": other_owner.pk})
    )
    assert response.status_code == 200 and "Choose one of the organisation" in response.content.decode()
    assert not QuotaRequest.objects.exists()


def test_an_unverified_or_foreign_organisation_cannot_be_chosen(client, user, organisation, partition):
    other = make_verified_organisation(UserFactory())
    login(client, user)
    response = client.post(CREATE, form_data(user, other, partition))
    assert response.status_code == 200 and 'id="id_organisation_error"' in response.content.decode()
    assert not QuotaRequest.objects.exists()


def test_without_a_verified_organisation_the_page_explains_verification(client, user):

    login(client, user)
    html = client.get(CREATE).content.decode()
    assert "Register an organisation" in html and '<form method="post" novalidate' not in html
    make_organisation(user)
    html = client.get(CREATE).content.decode()
    assert "not verified yet" in html


def test_a_plain_member_cannot_create_or_submit(client, user, organisation, partition):
    member = UserFactory()
    add_member(organisation, member)
    draft = make_quota_request(user, organisation, submit=False)
    login(client, member)
    html = client.get(CREATE).content.decode()
    assert "ask an owner or administrator" in html
    client.post(CREATE, form_data(member, organisation, partition))
    assert QuotaRequest.objects.count() == 1
    # The member sees the request (same organisation) but not its buttons, and may not submit it.
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "Submit to the operators" not in page
    assert client.post(reverse("compute:request_submit", args=[draft.pk])).status_code == 403
    assert client.get(reverse("compute:request_edit", args=[draft.pk])).status_code == 403
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT


def test_estimate_partial_returns_the_cost_and_capacity_left(client, user, partition):
    login(client, user)
    today = timezone.localdate()
    response = client.get(
        reverse("compute:request_estimate"),
        {
            "partition": partition.pk,
            "amount": "100",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=30)).isoformat(),
        },
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "CNY 850.00" in html  # 100 card-hours at 8.50
    assert "10,000 card-hour" in html  # a month of capacity, nothing granted yet
    # Garbage is not an error page: the partial says what is missing.
    for params in ({"partition": "x", "amount": "y"}, {"partition": partition.pk, "amount": "NaN"}, {}):
        assert client.get(reverse("compute:request_estimate"), params).status_code == 200


def test_estimate_opened_directly_is_a_calculator_page(client, user, partition):
    login(client, user)
    html = client.get(
        reverse("compute:request_estimate"), {"partition": partition.pk, "amount": "10"}
    ).content.decode()
    assert "<html" in html and "<h1" in html and "CNY 85.00" in html
    assert "Give a start and an end" in html


def test_estimate_warns_when_the_amount_exceeds_what_is_left(client, user):
    small = PartitionFactory(slug="small", capacity_per_month=50, max_request=5000)
    login(client, user)
    today = timezone.localdate()
    html = client.get(
        reverse("compute:request_estimate"),
        {"partition": small.pk, "amount": "80", "start_date": today, "end_date": today + timedelta(days=30)},
    ).content.decode()
    assert "more than is left" in html


def test_the_form_refreshes_the_estimate_live(client, user, organisation, partition):
    login(client, user)
    html = client.get(CREATE).content.decode()
    assert f'hx-get="{reverse("compute:request_estimate")}"' in html
    assert 'hx-trigger="change, keyup delay:300ms"' in html
    assert 'id="estimate" aria-live="polite"' in html
    assert 'type="date"' in html


def test_edit_and_resubmit_after_changes_were_requested(client, user, operator, staff, organisation):
    request = make_quota_request(user, organisation)
    request_services.request_quota_changes(request, by=operator, reason="Say which model.")
    login(client, user)
    url = reverse("compute:request_edit", args=[request.pk])
    page = client.get(url).content.decode()
    assert f'<option value="{user.pk}" selected>' in page
    data = form_data(user, organisation, request.partition, amount="120", purpose="Train model X")
    for key in ("organisation", "kind", "allocation"):
        data.pop(key)
    response = client.post(url, data)
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.amount == Decimal("120") and request.purpose == "Train model X"
    client.post(reverse("compute:request_submit", args=[request.pk]))
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED
    assert "Quota request edited" in client.get(request.get_absolute_url()).content.decode()


def test_withdraw(client, user, organisation):
    request = make_quota_request(user, organisation)
    login(client, user)
    response = client.post(reverse("compute:request_withdraw", args=[request.pk]))
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN
    # Twice is a message, not a 500.
    response = client.post(reverse("compute:request_withdraw", args=[request.pk]), follow=True)
    assert response.status_code == 200 and "cannot go from" in response.content.decode()


def test_submitting_a_stale_draft_shows_why(client, user, organisation):
    request = make_quota_request(user, organisation, submit=False)
    QuotaRequest.objects.filter(pk=request.pk).update(
        start_date=timezone.localdate() - timedelta(days=3)
    )  # time has passed since the draft
    login(client, user)
    response = client.post(reverse("compute:request_submit", args=[request.pk]), follow=True)
    assert "cannot start in the past" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.DRAFT


def test_request_an_increase_from_the_allocation_page(client, user, organisation):
    allocation = make_allocation(user, organisation)
    login(client, user)
    page = client.get(allocation.get_absolute_url()).content.decode()
    link = f"{CREATE}?kind=increase&amp;allocation={allocation.pk}"
    assert link in page
    form = client.get(link.replace("&amp;", "&")).content.decode()
    assert f'<option value="{allocation.pk}" selected>' in form
    today = timezone.localdate()
    data = form_data(
        user,
        organisation,
        allocation.partition,
        kind="increase",
        allocation=allocation.pk,
        amount="50",
        end_date=(today + timedelta(days=60)).isoformat(),
        **{"members-0-user": ""},
    )
    response = client.post(CREATE, data)
    assert response.status_code == 302
    increase = QuotaRequest.objects.get(kind=RequestKind.INCREASE)
    # An increase keeps the allocation's users and names nobody unless asked to.
    assert increase.allocation == allocation and not increase.members.exists()
    # Its edit page offers rows for people to add when it is approved, and saves.
    edit = reverse("compute:request_edit", args=[increase.pk])
    assert 'name="members-0-user"' in client.get(edit).content.decode()
    data = {
        k: v for k, v in data.items() if not k.startswith(("members-", "organisation", "kind", "allocation"))
    }
    data.update(
        {
            "amount": "30",
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "0",
            "members-0-user": "",
        }
    )
    assert client.post(edit, data).status_code == 302
    increase.refresh_from_db()
    assert increase.amount == Decimal("30")


def test_another_organisations_allocation_cannot_be_changed(client, user, organisation, partition):
    foreign = make_allocation(UserFactory())
    login(client, user)
    data = form_data(user, organisation, partition, kind="increase", allocation=foreign.pk, amount="10")
    response = client.post(CREATE, data)
    assert response.status_code == 200 and 'id="id_allocation_error"' in response.content.decode()
    assert not QuotaRequest.objects.filter(kind=RequestKind.INCREASE).exists()


# --- visibility ----------------------------------------------------------------------------------


def test_other_organisations_see_nothing(client, user, organisation):
    request = make_quota_request(user, organisation)
    allocation = make_allocation(user, organisation, username="carol")
    stranger = UserFactory()
    make_verified_organisation(stranger)
    login(client, stranger)
    for url in [
        request.get_absolute_url(),
        reverse("compute:request_edit", args=[request.pk]),
        allocation.get_absolute_url(),
        reverse("compute:allocation_status", args=[allocation.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    for name, pk in [("request_submit", request.pk), ("request_withdraw", request.pk)]:
        assert client.post(reverse(f"compute:{name}", args=[pk])).status_code == 404
    assert client.get(CREATE + f"?kind=increase&allocation={allocation.pk}").status_code == 200
    assert str(allocation) not in client.get(reverse("compute:allocation_list")).content.decode()
    assert "Train a medical imaging model" not in client.get(reverse("compute:request_list")).content.decode()


def test_plain_members_cannot_use_operator_pages(client, user):
    login(client, user)
    for name in ("review_queue", "capacity", "reconcile_report"):
        assert client.get(reverse(f"compute:{name}")).status_code == 403


def test_request_list_filters_by_status(client, user, organisation):
    make_quota_request(user, organisation, purpose="Submitted one")
    make_quota_request(user, organisation, submit=False, purpose="Draft one")
    login(client, user)
    html = client.get(reverse("compute:request_list"), {"status": "draft"}).content.decode()
    assert "Draft one" in html and "Submitted one" not in html
    html = client.get(reverse("compute:request_list"), {"status": "nonsense"}).content.decode()
    assert "Draft one" in html and "Submitted one" in html


# --- operators decide ----------------------------------------------------------------------------


def test_operator_approves_a_smaller_amount_and_the_allocation_is_provisioned(
    client, user, operator, staff, organisation, django_capture_on_commit_callbacks
):
    request = make_quota_request(user, organisation)
    login(client, staff(operator))
    queue = client.get(reverse("compute:review_queue")).content.decode()
    assert f"#{request.pk}" in queue and 'name="granted_amount"' in queue
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("compute:request_decide", args=[request.pk]),
            {"decision": "approve", "granted_amount": "60", "next": reverse("compute:review_queue")},
        )
    assert response.status_code == 302 and response["Location"] == reverse("compute:review_queue")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED and request.granted_amount == Decimal("60")
    allocation = Allocation.objects.get(request=request)
    assert allocation.granted_amount == Decimal("60")
    assert allocation.status == AllocationStatus.ACTIVE  # the eager task converged the fake cluster


def test_operator_cannot_grant_more_than_asked(client, user, operator, staff, organisation):
    request = make_quota_request(user, organisation)
    login(client, staff(operator))
    response = client.post(
        reverse("compute:request_decide", args=[request.pk]),
        {"decision": "approve", "granted_amount": "500"},
        follow=True,
    )
    assert "never more" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED and not Allocation.objects.exists()


def test_a_rejection_needs_a_reason(client, user, operator, staff, organisation):
    request = make_quota_request(user, organisation)
    login(client, staff(operator))
    url = reverse("compute:request_decide", args=[request.pk])
    response = client.post(url, {"decision": "reject", "reason": "  "}, follow=True)
    assert response.status_code == 200 and "Give a reason for the rejection" in response.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED
    client.post(url, {"decision": "reject", "reason": "The purpose is not eligible."})
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED
    assert request.decision_reason == "The purpose is not eligible."
    # Deciding again is refused with a message, never a 500.
    response = client.post(url, {"decision": "approve"}, follow=True)
    assert response.status_code == 200 and "cannot go from" in response.content.decode()


def test_request_changes_from_the_detail_page(client, user, operator, staff, organisation):
    request = make_quota_request(user, organisation)
    login(client, staff(operator))
    page = client.get(request.get_absolute_url()).content.decode()
    assert "Capacity left for this period" in page and "first request" in page
    client.post(
        reverse("compute:request_decide", args=[request.pk]),
        {"decision": "changes", "reason": "Which model?"},
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.CHANGES_REQUESTED


def test_owners_cannot_decide(client, user, organisation):
    request = make_quota_request(user, organisation)
    login(client, user)
    assert "Approve" not in client.get(request.get_absolute_url()).content.decode()
    response = client.post(reverse("compute:request_decide", args=[request.pk]), {"decision": "approve"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED


def test_review_queue_shows_history_and_usage(client, user, operator, staff, organisation):
    make_allocation(user, organisation, granted=Decimal("40"))
    earlier = make_quota_request(user, organisation)
    request_services.reject_quota_request(earlier, by=operator, reason="No.")
    waiting = make_quota_request(user, organisation, purpose="The one to decide")
    login(client, staff(operator))
    html = client.get(reverse("compute:review_queue")).content.decode()
    assert "The one to decide" in html and f"#{waiting.pk}" in html
    assert "0 used of 40 granted" in html
    assert "1 approved, 1 rejected" in html


# --- allocations ---------------------------------------------------------------------------------


def test_allocation_page_shows_usage_chart_top_users_and_jobs(client, user, organisation):
    allocation = make_allocation(user, organisation, amount=Decimal("100"))
    FakeBackend().add_job(
        job_record(allocation, 101, cards=2, minutes=90, ago=timedelta(days=2))
    )  # 3 card-hours
    FakeBackend().add_job(
        job_record(allocation, 102, cards=1, minutes=60, user="bob", ago=timedelta(days=1))
    )  # 1
    usage.ingest_usage(backend=FakeBackend(), since=timezone.now() - timedelta(days=5))
    login(client, user)
    html = client.get(allocation.get_absolute_url()).content.decode()
    assert "Remaining" in html and ">96<" in html and ">4<" in html and "4.0 %" in html
    assert "Amounts in card-hour" in html
    assert 'role="progressbar"' in html
    assert "<svg" in html and 'role="img"' in html and html.count("<rect") == 30
    assert '<table class="visually-hidden">' in html
    assert "101" in html and "bob" in html
    assert "hx-trigger" not in html  # active: nothing to poll
    assert "Retry now" not in html and "Suspend" not in html


def test_an_allocation_being_set_up_polls_its_status(client, user, operator, organisation):
    request = make_quota_request(user, organisation)
    request_services.approve_quota_request(request, by=operator)  # no on-commit: provisioning has not run yet
    allocation = Allocation.objects.get(request=request)
    login(client, user)
    html = client.get(allocation.get_absolute_url()).content.decode()
    status_url = reverse("compute:allocation_status", args=[allocation.pk])
    assert f'hx-get="{status_url}"' in html and 'hx-trigger="every 2s"' in html
    allocation_services.sync_allocation(allocation.pk, backend=FakeBackend())
    partial = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and "Active" in partial and "hx-trigger" not in partial
    # Opened without htmx, the status URL leads to the allocation's page.
    assert client.get(status_url)["Location"] == allocation.get_absolute_url()


def test_retry_is_for_operators_and_converges_the_cluster(
    client, user, operator, staff, organisation, django_capture_on_commit_callbacks
):
    allocation = failed_allocation(user)
    owner = allocation.organisation.memberships.get(role=MembershipRole.OWNER).user
    login(client, owner)
    html = client.get(allocation.get_absolute_url()).content.decode()
    assert "controller not reachable" in html and "Retry now" not in html
    assert client.post(reverse("compute:allocation_retry", args=[allocation.pk])).status_code == 403

    login(client, staff(operator))
    html = client.get(allocation.get_absolute_url()).content.decode()
    assert "Retry now" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("compute:allocation_retry", args=[allocation.pk]))
    assert response.status_code == 302
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.ACTIVE and allocation.sync_error == ""
    assert FakeBackend().read_account(allocation.account_name) is not None


def test_operator_suspends_with_a_reason_then_resumes_and_closes(client, user, operator, staff, organisation):
    allocation = make_allocation(user, organisation)
    login(client, staff(operator))
    suspend = reverse("compute:allocation_suspend", args=[allocation.pk])
    response = client.post(suspend, {"reason": ""}, follow=True)
    assert "Give a reason for the suspension" in response.content.decode()
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.ACTIVE
    client.post(suspend, {"reason": "Abuse report under review"})
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.SUSPENDED
    client.post(reverse("compute:allocation_resume", args=[allocation.pk]))
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.ACTIVE
    client.post(reverse("compute:allocation_close", args=[allocation.pk]), {"reason": "Project ended"})
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.CLOSED
    html = client.get(allocation.get_absolute_url()).content.decode()
    assert "Operator actions" not in html and "Request an increase" not in html


def test_owners_cannot_suspend(client, user, organisation):
    allocation = make_allocation(user, organisation)
    login(client, user)
    for name in ("allocation_suspend", "allocation_resume", "allocation_close"):
        assert (
            client.post(reverse(f"compute:{name}", args=[allocation.pk]), {"reason": "x"}).status_code == 403
        )
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.ACTIVE


# --- operator pages ------------------------------------------------------------------------------


def test_capacity_page_shows_capacity_granted_and_used(client, user, operator, staff, organisation):
    make_allocation(user, organisation, amount=300, granted=Decimal("300"))
    login(client, staff(operator))
    response = client.get(reverse("compute:capacity"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "AI accelerator partition" in html and 'role="progressbar"' in html
    assert "Granted" in html and "Used" in html
    month = timezone.localdate().strftime("%Y-%m")
    assert client.get(reverse("compute:capacity"), {"month": month}).status_code == 200


@pytest.mark.parametrize("month", ["2026-13", "garbage", "0001-01", "9999-12", "2026-02-30"])
def test_capacity_page_with_a_bad_month_shows_the_current_one(client, operator, staff, partition, month):
    login(client, staff(operator))
    response = client.get(reverse("compute:capacity"), {"month": month})
    assert response.status_code == 200
    html = response.content.decode()
    assert "is not a month" in html
    assert timezone.localdate().strftime("%Y-%m") in html


def test_reconcile_report_and_run(client, user, operator, staff, organisation):
    allocation = make_allocation(user, organisation)
    FakeBackend.set_limits_by_hand(allocation.account_name, {"billing": 1})
    login(client, staff(operator))
    html = client.get(reverse("compute:reconcile_report")).content.decode()
    assert "Reconcile has not run yet" in html
    response = client.post(reverse("compute:reconcile_run"), follow=True)
    assert response.status_code == 200
    run = ReconcileRun.objects.get()
    assert run.drift_count == 1 and run.repaired_count == 1
    html = response.content.decode()
    assert "Limit differs" in html and allocation.account_name in html and "repaired 1" in html


def test_supervisors_read_operator_pages_but_cannot_act(client, user, supervisor, staff, organisation):
    request = make_quota_request(user, organisation)
    allocation = make_allocation(user, organisation, username="dave")
    login(client, staff(supervisor))
    queue = client.get(reverse("compute:review_queue"))
    assert queue.status_code == 200 and f"#{request.pk}" in queue.content.decode()
    assert 'name="decision"' not in queue.content.decode()
    for name in ("capacity", "reconcile_report"):
        html = client.get(reverse(f"compute:{name}")).content.decode()
        assert "Reconcile now" not in html
    detail = client.get(allocation.get_absolute_url()).content.decode()
    assert "Suspend" not in detail and "Synchronise with the cluster now" not in detail
    assert 'name="decision"' not in client.get(request.get_absolute_url()).content.decode()
    posts = [
        reverse("compute:request_decide", args=[request.pk]),
        reverse("compute:allocation_retry", args=[allocation.pk]),
        reverse("compute:allocation_suspend", args=[allocation.pk]),
        reverse("compute:allocation_resume", args=[allocation.pk]),
        reverse("compute:allocation_close", args=[allocation.pk]),
        reverse("compute:reconcile_run"),
    ]
    for url in posts:
        assert client.post(url, {"decision": "approve", "reason": "x"}).status_code == 403, url
    request.refresh_from_db()
    allocation.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED and allocation.status == AllocationStatus.ACTIVE
    assert not ReconcileRun.objects.exists()


# --- query counts --------------------------------------------------------------------------------


def count_queries(client, url):
    # A session's first request also records the session (allauth.usersessions, the staff idle clock): a cost
    # per session, not per row, so it is paid before counting.
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context)


@pytest.mark.parametrize(
    "page, make", [("compute:request_list", make_quota_request), ("compute:allocation_list", make_allocation)]
)
def test_list_queries_do_not_grow(client, user, organisation, page, make):
    for _ in range(2):
        make(user, organisation, amount=1)
    login(client, user)
    few = count_queries(client, reverse(page))
    for _ in range(18):
        make(user, organisation, amount=1)
    assert count_queries(client, reverse(page)) == few


def test_review_queue_queries_do_not_grow(client, operator, staff):
    def add(n):
        for _ in range(n):
            owner = UserFactory()
            make_quota_request(owner, amount=1)  # each in its own organisation

    add(2)
    login(client, staff(operator))
    few = count_queries(client, reverse("compute:review_queue"))
    add(18)
    many = count_queries(client, reverse("compute:review_queue"))
    assert many == few, f"{few} queries with 2 requests, {many} with 20"


# --- every page in Chinese -----------------------------------------------------------------------


def test_every_page_renders_in_chinese(client, user, operator, staff, organisation):
    allocation = make_allocation(user, organisation)
    FakeBackend().add_job(job_record(allocation, 7, cards=2, minutes=90, ago=timedelta(days=1)))
    usage.ingest_usage(backend=FakeBackend(), since=timezone.now() - timedelta(days=5))
    request = make_quota_request(user, organisation, username="erin")
    draft = make_quota_request(user, organisation, submit=False, username="frank")
    usage.reconcile(backend=FakeBackend())
    client.cookies["django_language"] = "zh-hans"
    today = timezone.localdate()
    estimate = (
        f"{reverse('compute:request_estimate')}?partition={allocation.partition_id}&amount=5"
        f"&start_date={today}&end_date={today + timedelta(days=9)}"
    )
    owner_pages = [
        reverse("compute:index"),
        reverse("compute:partition_list"),
        reverse("compute:request_list"),
        CREATE,
        f"{CREATE}?kind=extension&allocation={allocation.pk}",
        estimate,
        request.get_absolute_url(),
        draft.get_absolute_url(),
        reverse("compute:request_edit", args=[draft.pk]),
        reverse("compute:allocation_list"),
        allocation.get_absolute_url(),
    ]
    for url in (reverse("compute:index"), reverse("compute:partition_list")):  # anonymous
        assert 'lang="zh-Hans"' in client.get(url).content.decode()
    login(client, user)
    for url in owner_pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'lang="zh-Hans"' in response.content.decode(), url
    assert f"{today.year}年" in client.get(allocation.get_absolute_url()).content.decode()
    for url in (estimate, reverse("compute:allocation_status", args=[allocation.pk])):  # htmx partials
        response = client.get(url, headers={"HX-Request": "true"})
        assert response.status_code == 200 and response.headers["Content-Language"] == "zh-hans", url
    login(client, staff(operator))
    for url in [
        reverse("compute:review_queue"),
        reverse("compute:capacity"),
        reverse("compute:reconcile_report"),
        request.get_absolute_url(),
        allocation.get_absolute_url(),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'lang="zh-Hans"' in response.content.decode(), url
