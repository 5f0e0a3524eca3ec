"""People on an allocation: the services, the receivers that take access away, and requests that name people."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts import privacy as account_privacy
from accounts import services as account_services
from accounts.models import Membership, MembershipRole
from compute.backends.fake import FakeBackend
from compute.identities import services as identity_services
from compute.identities.models import ClusterIdentity
from compute.models import AllocationMember, AllocationStatus, QuotaRequestMember, RequestKind
from compute.services import allocations as allocation_services
from compute.services import members as members_services
from compute.services import requests as request_services
from compute.services.requests import MemberAccess
from core.exceptions import Conflict, NotAllowed
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, make_supervisor, make_verified_organisation
from tests.compute.factories import give_identity, job_record, make_allocation

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(user, partition):
    return make_verified_organisation(user)


@pytest.fixture
def allocation(user, org):
    """An active allocation of 100 card-hours whose one cluster user is its owner, ``alice``."""
    return make_allocation(user, org)


@pytest.fixture
def bob(org):
    """A member of the organisation whose cluster identity is ``bob``."""
    person = add_member(org, UserFactory(email="bob@example.cn")).user
    give_identity(person, "bob")
    return person


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a service and what it leaves for after the commit (the cluster sync, the mails)."""

    def call(service, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, **kwargs)

    return call


def cluster(allocation):
    return FakeBackend().read_account(allocation.account_name)


def people(allocation) -> set[str]:
    return set(allocation.members.current().values_list("cluster_username", flat=True))


def events(allocation, action: str) -> list:
    return list(
        AuditEvent.objects.filter(target_id=str(allocation.pk), action=action)
        .order_by("id")
        .values_list("changes", "reason")
    )


def mails_to(address: str) -> list:
    return [m for m in mail.outbox if address in m.to]


def snapshot(allocation):
    """What a refused change must leave alone: the rows and the cluster."""
    rows = list(
        AllocationMember.objects.filter(allocation=allocation)
        .order_by("id")
        .values_list("user_id", "cluster_username", "limit_amount", "removed_at")
    )
    return rows, cluster(allocation)


# --- adding ----------------------------------------------------------------------------------------------


def test_a_manager_adds_a_member_who_gets_on_the_cluster_and_a_mail(user, allocation, bob, run):
    mail.outbox.clear()
    member = run(members_services.add_allocation_member, allocation, by=user, user=bob)
    assert member.cluster_username == "bob" and member.is_current
    assert people(allocation) == {"alice", "bob"}
    assert cluster(allocation).active_users == frozenset({"alice", "bob"})
    assert events(allocation, "allocation.add_cluster_user") == [
        ({"cluster_user": {"from": None, "to": "bob"}}, "")
    ]
    [message] = mails_to("bob@example.cn")
    assert allocation.account_name in message.subject
    assert "bob" in message.body and f"--account={allocation.account_name}" in message.body
    assert "--partition=npu" in message.body and "What to do next" in message.body
    assert user.email in message.body  # whom to ask


def test_a_person_keeps_their_cluster_username_across_allocations(user, org, allocation, bob, run):
    run(members_services.add_allocation_member, allocation, by=user, user=bob)
    second = make_allocation(user, org)
    member = run(members_services.add_allocation_member, second, by=user, user=bob)
    assert member.cluster_username == "bob"
    assert "bob" in cluster(second).users
    assert ClusterIdentity.objects.filter(user=bob).count() == 1


def test_a_person_without_an_identity_gets_one_when_added(user, org, allocation, run):
    carol = add_member(org, UserFactory(email="Carol.Li@example.cn")).user
    member = run(members_services.add_allocation_member, allocation, by=user, user=carol)
    assert member.cluster_username == "carolli" == ClusterIdentity.objects.get(user=carol).username
    assert "carolli" in cluster(allocation).users


def test_a_suspended_identity_is_not_given_access(user, operator, allocation, bob, run):
    run(identity_services.suspend_identity, identity_services.identity_of(bob), by=operator, reason="Abuse")
    before = snapshot(allocation)
    with pytest.raises(ValidationError) as error:
        members_services.add_allocation_member(allocation, by=user, user=bob)
    assert "suspended" in " ".join(error.value.message_dict["user"])
    assert snapshot(allocation) == before
    assert not events(allocation, "allocation.add_cluster_user")


def test_a_username_stays_with_its_person_after_they_lost_access(user, allocation, bob, run):
    member = run(members_services.add_allocation_member, allocation, by=user, user=bob)
    run(members_services.remove_allocation_member, member, by=user)
    carol = add_member(allocation.organisation, UserFactory(email="bob@other.cn")).user
    added = run(members_services.add_allocation_member, allocation, by=user, user=carol)
    assert added.cluster_username != "bob"
    assert identity_services.identity_of(bob).username == "bob"


def test_only_members_of_the_organisation_are_added(user, allocation):
    stranger = UserFactory(email="stranger@example.cn")
    before = snapshot(allocation)
    with pytest.raises(ValidationError) as error:
        members_services.add_allocation_member(allocation, by=user, user=stranger)
    assert "stranger@example.cn is not a member of" in error.value.message_dict["user"][0]
    assert snapshot(allocation) == before


def test_someone_already_on_the_allocation_is_not_added_twice(user, allocation):
    before = snapshot(allocation)
    with pytest.raises(ValidationError, match="already has access"):
        members_services.add_allocation_member(allocation, by=user, user=user)
    assert snapshot(allocation) == before


def test_an_ended_allocation_takes_nobody(user, operator, allocation, bob, run):
    run(allocation_services.close_allocation, allocation, by=operator)
    with pytest.raises(Conflict, match="has ended"):
        members_services.add_allocation_member(allocation, by=user, user=bob)
    assert people(allocation) == {"alice"}


# --- who may -------------------------------------------------------------------------------------------


def test_only_the_organisations_managers_and_operators_change_people(user, operator, allocation, bob, run):
    other_manager = UserFactory()
    make_verified_organisation(other_manager)
    plain = add_member(allocation.organisation).user
    alice = allocation.members.get()
    before = snapshot(allocation)
    for person in (other_manager, make_supervisor(), plain):
        with pytest.raises(NotAllowed):
            members_services.add_allocation_member(allocation, by=person, user=bob)
        with pytest.raises(NotAllowed):
            members_services.remove_allocation_member(alice, by=person)
        with pytest.raises(NotAllowed):
            members_services.cap_allocation_member(alice, by=person, limit_amount="5")
    assert snapshot(allocation) == before
    # Operators act on allocations, as they suspend and close them.
    run(members_services.add_allocation_member, allocation, by=operator, user=bob)
    assert people(allocation) == {"alice", "bob"}


# --- removing ------------------------------------------------------------------------------------------


def test_a_removed_person_is_blocked_while_their_job_runs_then_removed(user, allocation, bob, run):
    member = run(members_services.add_allocation_member, allocation, by=user, user=bob)
    FakeBackend().add_job(job_record(allocation, 1, state="RUNNING", user="bob"))
    mail.outbox.clear()
    run(members_services.remove_allocation_member, member, by=user)
    member.refresh_from_db()
    assert member.removed_at is not None  # the row stays: who had access when
    state = cluster(allocation)
    assert "bob" in state.blocked_users and state.active_users == frozenset({"alice"})
    assert events(allocation, "allocation.remove_cluster_user") == [
        ({"cluster_user": {"from": "bob", "to": None}}, members_services.REMOVED_BY_MANAGER)
    ]
    [message] = mails_to("bob@example.cn")
    assert "has ended" in message.subject and "running now finish" in message.body
    # Once the job is over, the next convergence deletes the association.
    FakeBackend.reset()
    allocation_services.sync_allocation(allocation.pk, backend=FakeBackend())
    assert cluster(allocation).users == frozenset({"alice"})


def test_the_last_cluster_user_of_a_live_allocation_stays(user, allocation):
    alice = allocation.members.get()
    before = snapshot(allocation)
    with pytest.raises(Conflict, match="last cluster user"):
        members_services.remove_allocation_member(alice, by=user)
    assert snapshot(allocation) == before


def test_a_person_no_longer_on_the_allocation_cannot_be_removed_again(user, allocation, bob, run):
    member = run(members_services.add_allocation_member, allocation, by=user, user=bob)
    run(members_services.remove_allocation_member, member, by=user)
    with pytest.raises(Conflict, match="no longer has access"):
        members_services.remove_allocation_member(member, by=user)


# --- caps ----------------------------------------------------------------------------------------------


def test_a_cap_limits_one_persons_association_and_is_mailed(user, allocation, bob, run):
    member = run(members_services.add_allocation_member, allocation, by=user, user=bob)
    mail.outbox.clear()
    run(members_services.cap_allocation_member, member, by=user, limit_amount="12.5")
    member.refresh_from_db()
    assert member.limit_amount == Decimal("12.50")
    assert cluster(allocation).user_limits == {"bob": 750}  # 12.5 card-hours in billing minutes
    assert allocation.desired_account().user_limits == {"bob": 750}
    [capped] = mails_to("bob@example.cn")
    assert "capped" in capped.subject and "12.50" in capped.body
    run(members_services.cap_allocation_member, member, by=user, limit_amount="")
    assert cluster(allocation).user_limits == {}
    assert "lifted" in mails_to("bob@example.cn")[-1].subject
    assert [c for c, _reason in events(allocation, "allocation.cap_cluster_user")] == [
        {"limit_amount": {"from": None, "to": "12.50"}}
    ]
    assert [c for c, _reason in events(allocation, "allocation.uncap_cluster_user")] == [
        {"limit_amount": {"from": "12.50", "to": None}}
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("100.01", "cannot exceed the allocation's grant of 100.00"),
        ("0", "more than zero"),
        ("-5", "more than zero"),
        ("lots", "as a number"),
        ("NaN", "as a number"),
        ("1.005", "two decimal places"),
    ],
)
def test_a_bad_cap_is_refused_and_changes_nothing(user, allocation, value, message):
    alice = allocation.members.get()
    before = snapshot(allocation)
    with pytest.raises(ValidationError, match=message):
        members_services.cap_allocation_member(alice, by=user, limit_amount=value)
    assert snapshot(allocation) == before
    assert not events(allocation, "allocation.cap_cluster_user")


def test_a_cap_of_the_whole_grant_is_allowed(user, allocation, run):
    alice = allocation.members.get()
    run(members_services.cap_allocation_member, alice, by=user, limit_amount=Decimal("100"))
    assert cluster(allocation).user_limits == {"alice": 6000}


# --- leaving the organisation, deactivation, deletion ---------------------------------------------------


def test_leaving_the_organisation_takes_its_allocations_away_and_no_other(user, org, allocation, bob, run):
    run(members_services.add_allocation_member, allocation, by=user, user=bob)
    elsewhere_owner = UserFactory()
    elsewhere_org = make_verified_organisation(elsewhere_owner)
    add_member(elsewhere_org, bob)
    elsewhere = make_allocation(elsewhere_owner, elsewhere_org, members=[MemberAccess(bob)])
    FakeBackend().add_job(job_record(allocation, 7, state="RUNNING", user="bob"))
    mail.outbox.clear()
    membership = Membership.objects.get(organisation=org, user=bob)
    run(account_services.remove_member, membership, by=user)
    state = cluster(allocation)
    assert "bob" in state.blocked_users and "bob" not in state.active_users  # the job finishes, no new ones
    assert people(allocation) == {"alice"}
    assert cluster(elsewhere).active_users == frozenset({"bob"})  # another organisation's allocation stays
    [(changes, reason)] = events(allocation, "allocation.remove_cluster_user")
    assert changes == {"cluster_user": {"from": "bob", "to": None}} and reason == "left the organisation"
    [message] = mails_to("bob@example.cn")
    assert "no longer a member of the organisation" in message.body


def test_the_last_user_leaving_the_organisation_loses_access_all_the_same(user, org, allocation, bob, run):
    run(
        account_services.change_member_role,
        Membership.objects.get(user=bob),
        by=user,
        role=MembershipRole.OWNER,
    )
    run(account_services.remove_member, Membership.objects.get(organisation=org, user=user), by=user)
    assert people(allocation) == set()
    assert cluster(allocation).users == frozenset()


def test_a_deactivated_account_loses_every_allocation(user, allocation, bob, run):
    run(members_services.add_allocation_member, allocation, by=user, user=bob)
    mail.outbox.clear()
    bob.is_active = False
    run(bob.save)
    assert people(allocation) == {"alice"}
    assert cluster(allocation).users == frozenset({"alice"})
    assert events(allocation, "allocation.remove_cluster_user")[-1][1] == "account deactivated"
    assert "deactivated" in mails_to("bob@example.cn")[0].body
    # Saving the inactive account again changes nothing more.
    run(bob.save)
    assert len(events(allocation, "allocation.remove_cluster_user")) == 1


def test_a_deleted_account_loses_every_allocation_without_a_mail(user, allocation, bob, run):
    run(members_services.add_allocation_member, allocation, by=user, user=bob)
    mail.outbox.clear()
    run(account_privacy.delete_account, bob)
    assert people(allocation) == {"alice"}
    assert cluster(allocation).users == frozenset({"alice"})
    assert AllocationMember.objects.filter(user=bob, removed_at__isnull=False).count() == 1
    assert events(allocation, "allocation.remove_cluster_user")[-1][1] == "account deleted"
    assert not mails_to("bob@example.cn")


# --- requests that name people --------------------------------------------------------------------------


def _change_request(user, allocation, kind, members, **fields):
    today = allocation.start_date
    values = {
        "partition": allocation.partition,
        "kind": kind,
        "allocation": allocation,
        "amount": Decimal("10") if kind == RequestKind.INCREASE else Decimal("0"),
        "start_date": today,
        "end_date": allocation.end_date + timedelta(days=30 if kind == RequestKind.EXTENSION else 0),
        "purpose": "More people",
        "justification": "The team grew.",
        "members": members,
    }
    values.update(fields)
    request = request_services.create_quota_request(allocation.organisation, by=user, **values)
    return request_services.submit_quota_request(request, by=user)


@pytest.mark.parametrize("kind", [RequestKind.INCREASE, RequestKind.EXTENSION])
def test_people_named_on_an_approved_change_join_the_allocation(user, operator, allocation, bob, kind, run):
    carol = add_member(allocation.organisation).user
    give_identity(carol, "carol")
    request = _change_request(
        user,
        allocation,
        kind,
        [MemberAccess(user), MemberAccess(bob), MemberAccess(carol)],
    )
    # Carol leaves before the decision: she is skipped, and the trail says why.
    run(account_services.remove_member, Membership.objects.get(user=carol), by=user)
    mail.outbox.clear()
    run(request_services.approve_quota_request, request, by=operator)
    assert people(allocation) == {"alice", "bob"}
    assert AllocationMember.objects.filter(allocation=allocation, user=user).count() == 1  # alice kept as is
    assert cluster(allocation).active_users == frozenset({"alice", "bob"})
    [(changes, reason)] = events(allocation, "allocation.add_cluster_user")
    assert changes == {"cluster_user": {"from": None, "to": "bob"}} and f"#{request.pk}" in reason
    [(skipped, why)] = events(allocation, "allocation.skip_cluster_user")
    assert skipped == {"cluster_user": {"from": None, "to": "carol"}} and "not a member" in why
    assert mails_to("bob@example.cn")


def test_a_change_request_naming_the_wrong_people_is_refused(user, allocation, bob):
    stranger = UserFactory()
    for members, message in [
        ([MemberAccess(stranger)], "not a member"),
    ]:
        with pytest.raises(ValidationError, match=message):
            _change_request(user, allocation, RequestKind.INCREASE, members)
    with pytest.raises(ValidationError, match="early close gives nobody access"):
        _change_request(user, allocation, RequestKind.EARLY_CLOSE, [MemberAccess(bob)])
    assert not QuotaRequestMember.objects.filter(user__in=[bob, stranger]).exists()


def test_desired_account_names_only_current_people(user, allocation, bob, run):
    member = run(members_services.add_allocation_member, allocation, by=user, user=bob)
    run(members_services.cap_allocation_member, member, by=user, limit_amount="1")
    assert allocation.desired_account().users == frozenset({"alice", "bob"})
    run(members_services.remove_allocation_member, member, by=user)
    desired = allocation.desired_account()
    assert desired.users == frozenset({"alice"}) and desired.user_limits == {}
    assert allocation.status == AllocationStatus.ACTIVE
