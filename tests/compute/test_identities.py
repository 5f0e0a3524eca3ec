"""Cluster identities on the fake directory: names, ids, publishing, lifecycle and reconcile."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import privacy as account_privacy
from compute.backends.fake import FakeBackend
from compute.identities import services, tasks
from compute.identities.directory.base import GroupState, PersonState
from compute.identities.directory.fake import FakeDirectory
from compute.identities.models import (
    ClusterGroup,
    ClusterIdentity,
    IdCounter,
    LockReason,
    SshKey,
    UsernameConflict,
)
from compute.models import AllocationMember
from compute.services import allocations as allocation_services
from compute.services import members as members_services
from core import outbox
from core.exceptions import Conflict
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, make_verified_organisation
from tests.compute.factories import make_allocation

pytestmark = pytest.mark.django_db

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnm6kz2Qb0aOyJj3b0Yb2m0o8o1t0bZ7c5Q9x2cYt7X"


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a service and what it leaves for after the commit (publishing, the sync, the mails)."""

    def call(service, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, **kwargs)

    return call


@pytest.fixture
def org(user, partition):
    return make_verified_organisation(user)


@pytest.fixture
def allocation(user, org, run):
    return run(make_allocation, user, org)


@pytest.fixture
def bob(org):
    return add_member(org, UserFactory(email="Bob.Smith+x@example.cn")).user


def directory():
    return FakeDirectory()


def _key(identity, text=ED25519, name="laptop"):
    return SshKey.objects.create(
        identity=identity,
        name=name,
        key_type="ssh-ed25519",
        bits=256,
        public_key=text,
        fingerprint=f"SHA256:{name}",
    )


# --- names and ids ---------------------------------------------------------------------------------


def test_an_identity_gets_a_name_from_the_email_and_the_first_uid_of_the_range(bob, settings, run):
    settings.CLUSTER_UID_MIN, settings.CLUSTER_UID_MAX, settings.CLUSTER_HOME_ROOT = (
        200000,
        299999,
        "/srv/home",
    )
    mail.outbox.clear()
    identity = run(services.ensure_identity, bob)
    assert identity.username == "bobsmithx"
    assert identity.uid == identity.gid == 200000
    assert identity.home == "/srv/home/bobsmithx"
    assert identity.shell == settings.CLUSTER_LOGIN_SHELL
    assert IdCounter.objects.get(name="posix").next_value == 200001
    assert AuditEvent.objects.filter(action="cluster_identity.create", target_id=str(identity.pk)).exists()
    assert any("bobsmithx" in m.subject for m in mail.outbox if bob.email in m.to)
    # Published after commit: the directory resolves the person and their own group.
    person = directory().read_person("bobsmithx")
    assert person is not None and person.uid == 200000 and person.home == "/srv/home/bobsmithx"
    assert directory().read_group("bobsmithx") == GroupState("bobsmithx", 200000, frozenset())
    identity.refresh_from_db()
    assert identity.is_published and identity.publish_error == ""
    # Ensuring again gives the same identity, nothing new.
    assert run(services.ensure_identity, bob).pk == identity.pk
    assert ClusterIdentity.objects.count() == 1


def test_a_derived_name_avoids_taken_reserved_and_ever_used_names(org, settings):
    settings.CLUSTER_RESERVED_USERNAMES = {"root", "admin"}
    first = add_member(org, UserFactory(email="carol@example.cn")).user
    second = add_member(org, UserFactory(email="carol@other.cn")).user
    admin = add_member(org, UserFactory(email="admin@example.cn")).user
    short = add_member(org, UserFactory(email="x@example.cn")).user
    digits = add_member(org, UserFactory(email="42@example.cn")).user
    assert services.ensure_identity(first).username == "carol"
    assert services.ensure_identity(second).username == "carol1"
    assert services.ensure_identity(admin).username == "admin1"
    assert services.validate_identity_username(services.ensure_identity(short).username) is None
    assert services.ensure_identity(digits).username == "user"
    # A name used on an allocation before identities (someone else's) is never given.
    AllocationMember.objects.filter(user=first).update(cluster_username="carol")
    assert services.username_taken("carol", user=second)


def test_uids_are_never_given_twice_and_a_used_up_range_is_a_clear_error(org, settings):
    settings.CLUSTER_UID_MIN, settings.CLUSTER_UID_MAX = 100000, 100001
    people = [add_member(org, UserFactory(email=f"p{i}x@example.cn")).user for i in range(3)]
    uids = [services.ensure_identity(p).uid for p in people[:2]]
    assert uids == [100000, 100001]
    with pytest.raises(services.IdRangeExhausted) as error:
        services.ensure_identity(people[2])
    assert "100000–100001" in str(error.value)
    assert not ClusterIdentity.objects.filter(user=people[2]).exists()
    assert IdCounter.objects.get(name="posix").next_value == 100002


@pytest.mark.parametrize(
    "name,message",
    [
        ("ab", "3 to 32"),
        ("Bob", "3 to 32"),
        ("1bob", "3 to 32"),
        ("bob smith", "3 to 32"),
        ("bob*", "3 to 32"),
        ("bob)(uid=*", "3 to 32"),
        ("bob,ou=people", "3 to 32"),
        ("bob\\2a", "3 to 32"),
        ("a" * 33, "3 to 32"),
        ("root", "reserved"),
        ("aicc_team", "reserved"),
    ],
)
def test_bad_reserved_and_injection_names_are_refused_and_nothing_is_written(bob, name, message, settings):
    settings.CLUSTER_RESERVED_USERNAMES = {"root"}
    settings.CLUSTER_ACCOUNT_PREFIX = "aicc_"
    with pytest.raises(ValidationError) as error:
        services.claim_username(bob, name)
    assert message in " ".join(error.value.message_dict["username"])
    assert not ClusterIdentity.objects.exists()
    assert not IdCounter.objects.exists()
    assert FakeDirectory().people() == {}


def test_a_taken_or_ever_used_name_is_refused(user, bob, allocation):
    # ``alice`` is the owner's (make_allocation gave it).
    with pytest.raises(ValidationError) as error:
        services.claim_username(bob, "alice")
    assert "taken" in " ".join(error.value.message_dict["username"])
    # An old hand-typed name of a deleted account stays used for ever.
    AllocationMember.objects.filter(user=user).update(user=None, cluster_username="oldname")
    with pytest.raises(ValidationError):
        services.claim_username(bob, "oldname")
    assert services.username_problem("oldname", user=bob)


def test_a_claimed_name_is_kept_and_cannot_change(bob, run):
    identity = run(services.claim_username, bob, "bsmith")
    assert identity.username == "bsmith" and identity.lock_due_at is None
    assert run(services.claim_username, bob, "bsmith").pk == identity.pk
    with pytest.raises(Conflict):
        services.claim_username(bob, "another")
    # Getting access later keeps the chosen name.
    assert services.ensure_identity(bob).username == "bsmith"


# --- the allocation sync publishes before Slurm -------------------------------------------------------


def test_adding_a_member_publishes_the_identity_and_the_group_before_slurm(user, allocation, bob, run):
    FakeDirectory.calls.clear()
    FakeBackend.calls.clear()
    member = run(members_services.add_allocation_member, allocation, by=user, user=bob)
    identity = ClusterIdentity.objects.get(user=bob)
    assert member.cluster_username == identity.username
    group = ClusterGroup.objects.get(allocation=allocation)
    assert group.name == allocation.account_name
    state = directory().read_group(group.name)
    assert state.gid == group.gid and state.members == {"alice", identity.username}
    account = FakeBackend().read_account(allocation.account_name)
    assert identity.username in account.users


def test_a_directory_outage_makes_the_sync_retry_and_slurm_waits(user, allocation, bob, run):
    FakeDirectory.stop()
    run(members_services.add_allocation_member, allocation, by=user, user=bob)  # the outbox keeps the tasks
    allocation.refresh_from_db()
    identity = ClusterIdentity.objects.get(user=bob)
    assert "stopped" in allocation.sync_error and not identity.is_published
    assert identity.username not in FakeBackend().read_account(allocation.account_name).users
    FakeDirectory.start()
    # The directory is back: the outbox's next attempts converge; nothing lost, nothing doubled.
    run(outbox.relay, now=timezone.now() + timedelta(hours=1))
    identity.refresh_from_db()
    allocation.refresh_from_db()
    assert identity.is_published and allocation.sync_error == ""
    assert directory().read_person(identity.username).uid == identity.uid
    assert identity.username in FakeBackend().read_account(allocation.account_name).users
    assert list(directory().people()) == ["alice", identity.username]


def _operator():
    from tests.accounts.factories import an_operator

    return an_operator()


def test_publishing_retries_and_converges_once(bob, run):
    FakeDirectory.fail_next(1)
    identity = run(services.ensure_identity, bob)
    identity.refresh_from_db()
    assert not identity.is_published and "not reachable" in identity.publish_error
    run(outbox.relay, now=timezone.now() + timedelta(hours=1))
    identity.refresh_from_db()
    assert identity.is_published and identity.publish_error == ""
    assert list(directory().people()) == [identity.username]
    assert services.publish_identity(identity.pk) == []  # converged: nothing to change a second time


def test_keys_are_published_and_locked_identities_have_none(bob, run):
    identity = services.ensure_identity(bob)
    key = _key(identity)
    gone = _key(identity, text=ED25519.replace("IGnm", "IAAA"), name="old")
    gone.removed_at = timezone.now()
    gone.save()
    services.publish_identity(identity.pk)
    assert directory().read_person(identity.username).keys == (ED25519,)
    key.refresh_from_db()
    gone.refresh_from_db()
    assert key.published_at is not None and gone.published_at is not None
    run(services.suspend_identity, identity, by=_operator(), reason="Compromised laptop")
    person = directory().read_person(identity.username)
    assert person.keys == () and person.locked and person.shell == "/usr/sbin/nologin"


# --- lifecycle -----------------------------------------------------------------------------------------


def test_losing_the_last_allocation_locks_after_the_grace_period(user, allocation, bob, run, settings):
    settings.IDENTITY_LOCK_GRACE_DAYS = 14
    run(members_services.add_allocation_member, allocation, by=user, user=bob)
    member = allocation.members.current().get(user=bob)
    mail.outbox.clear()
    run(members_services.remove_allocation_member, member, by=user)
    identity = ClusterIdentity.objects.get(user=bob)
    assert identity.lock_due_at is not None and not identity.is_locked
    assert abs(identity.lock_due_at - (timezone.now() + timedelta(days=14))) < timedelta(minutes=1)
    assert any("will be locked on" in m.body for m in mail.outbox if bob.email in m.to)
    assert run(services.lock_due_identities) == 0  # not yet
    assert run(services.lock_due_identities, timezone.now() + timedelta(days=15)) == 1
    identity.refresh_from_db()
    assert identity.is_locked and identity.lock_reason == LockReason.NO_ALLOCATION
    assert directory().read_person(identity.username).locked
    assert directory().read_person(identity.username).uid == identity.uid  # files keep their owner
    # Access again: unlocked, same name and uid.
    run(members_services.add_allocation_member, allocation, by=user, user=bob)
    identity.refresh_from_db()
    assert not identity.is_locked and identity.lock_due_at is None
    assert not directory().read_person(identity.username).locked


def test_regaining_access_in_the_grace_period_cancels_the_lock(user, allocation, bob, run):
    run(members_services.add_allocation_member, allocation, by=user, user=bob)
    run(members_services.remove_allocation_member, allocation.members.current().get(user=bob), by=user)
    run(members_services.add_allocation_member, allocation, by=user, user=bob)
    identity = ClusterIdentity.objects.get(user=bob)
    assert identity.lock_due_at is None
    assert run(services.lock_due_identities, timezone.now() + timedelta(days=100)) == 0


def test_closing_an_allocation_deletes_its_group_and_starts_the_grace(user, allocation, run):
    group = ClusterGroup.objects.get(allocation=allocation)
    assert directory().read_group(group.name) is not None
    run(allocation_services.close_allocation, allocation, by=user)
    group.refresh_from_db()
    assert group.deleted_at is not None
    assert directory().read_group(group.name) is None
    assert ClusterIdentity.objects.get(user=user).lock_due_at is not None


def test_suspension_locks_at_once_and_unsuspension_unlocks(user, allocation, run):
    identity = ClusterIdentity.objects.get(user=user)
    _key(identity)
    operator = _operator()
    with pytest.raises(ValidationError):
        services.suspend_identity(identity, by=operator, reason="  ")
    mail.outbox.clear()
    run(services.suspend_identity, identity, by=operator, reason="Abuse report 12")
    identity.refresh_from_db()
    assert identity.lock_reason == LockReason.SUSPENDED and identity.locked_at is not None
    assert directory().read_person("alice").keys == ()
    assert any("Abuse report 12" in m.body for m in mail.outbox if user.email in m.to)
    assert AuditEvent.objects.filter(action="cluster_identity.lock", reason="Abuse report 12").exists()
    run(services.unsuspend_identity, identity, by=operator)
    identity.refresh_from_db()
    assert not identity.is_locked
    assert directory().read_person("alice").keys == (ED25519,)
    with pytest.raises(Conflict):
        services.unsuspend_identity(identity, by=operator)


def test_a_deactivated_account_locks_at_once(user, allocation, run):
    user.is_active = False
    run(user.save)
    identity = ClusterIdentity.objects.get(user=user)
    assert identity.lock_reason == LockReason.SUSPENDED
    assert directory().read_person("alice").locked


def test_account_deletion_removes_keys_and_locks_for_ever(user, allocation, bob, run):
    run(members_services.add_allocation_member, allocation, by=user, user=bob)
    identity = ClusterIdentity.objects.get(user=bob)
    _key(identity)
    run(account_privacy.delete_account, bob)
    identity.refresh_from_db()
    assert identity.user is None and identity.lock_reason == LockReason.DELETED
    assert not SshKey.objects.current().filter(identity=identity).exists()
    person = directory().read_person(identity.username)
    assert person.locked and person.keys == () and person.uid == identity.uid
    assert identity.username not in directory().read_group(allocation.account_name).members
    # The name is never given again, and the identity stays locked.
    with pytest.raises(ValidationError):
        services.claim_username(UserFactory(), identity.username)
    with pytest.raises(Conflict):
        services.suspend_identity(identity, by=_operator(), reason="x")


def test_the_data_export_holds_the_identity_and_keys(user, allocation):
    from compute.identities import privacy

    _key(ClusterIdentity.objects.get(user=user))
    data = privacy.personal_data(user)
    assert data["cluster_identity"]["username"] == "alice"
    assert data["ssh_keys"][0]["public_key"] == ED25519


# --- reconcile and stuck work --------------------------------------------------------------------------


def test_reconcile_repairs_hand_edits_and_reports_unknown_entries(user, allocation, run):
    identity = ClusterIdentity.objects.get(user=user)
    group = ClusterGroup.objects.get(allocation=allocation)
    fake = directory()
    fake.edit_by_hand("alice", shell="/bin/zsh", keys=["ssh-rsa AAAAintruder"])
    fake.edit_group_by_hand(group.name, members={"alice", "mallory"})
    fake.add_person_by_hand(PersonState("mallory", 1000, 1000, "/home/mallory", "/bin/sh"))
    fake.add_group_by_hand(GroupState("wheel2", 1001, frozenset()))
    report = run(services.reconcile_directory)
    assert report.repaired == ["person alice", f"group {group.name}"]
    assert report.unknown == ["group wheel2", "person mallory"]
    person = fake.read_person("alice")
    assert person.shell == identity.shell and person.keys == ()
    assert fake.read_group(group.name).members == {"alice"}
    assert fake.read_person("mallory") is not None  # reported, never deleted
    assert AuditEvent.objects.filter(action="cluster_identity.repair").count() == 1
    assert run(services.reconcile_directory).repaired == []
    assert tasks.reconcile_directory_task() == 2  # the unknown entries stay reported


def test_reconcile_with_the_directory_down_is_logged_not_raised(allocation):
    FakeDirectory.stop()
    assert tasks.reconcile_directory_task() == 0


def test_an_unpublished_identity_is_stuck_work_and_the_action_republishes(bob, settings, run):
    from compute.identities import sweepers

    FakeDirectory.stop()
    run(services.ensure_identity, bob)
    FakeDirectory.start()
    identity = ClusterIdentity.objects.get(user=bob)
    assert not identity.is_published and "stopped" in identity.publish_error
    later = timezone.now() + timedelta(minutes=settings.STUCK_AFTER_MINUTES + 1)
    items = sweepers.stuck_identities(later)
    assert [item.object for item in items] == [identity]
    run(items[0].action)
    identity.refresh_from_db()
    assert identity.is_published


# --- name conflicts --------------------------------------------------------------------------------


def test_an_operator_resolves_a_conflict_by_giving_the_name(org, run):
    first = add_member(org, UserFactory(email="d1@example.cn")).user
    second = add_member(org, UserFactory(email="d2@example.cn")).user
    conflict = UsernameConflict.objects.create(username="dora", detail="used by 2 people")
    conflict.people.set([first, second])
    outsider = UserFactory()
    with pytest.raises(ValidationError):
        services.resolve_conflict(conflict, by=_operator(), person=outsider)
    identity = run(services.resolve_conflict, conflict, by=_operator(), person=first)
    assert identity.username == "dora" and identity.user == first
    conflict.refresh_from_db()
    assert conflict.resolved_at is not None
    with pytest.raises(Conflict):
        services.resolve_conflict(conflict, by=_operator(), person=second)
    assert services.ensure_identity(second).username != "dora"


def test_the_back_office_resolves_conflicts_for_operators_only(client, org, operator, supervisor, mfa):
    first = add_member(org, UserFactory(email="e1@example.cn")).user
    conflict = UsernameConflict.objects.create(username="emma", detail="used by 2 people")
    conflict.people.set([first, add_member(org, UserFactory(email="e2@example.cn")).user])
    url = reverse("admin:compute_usernameconflict_resolve", args=[conflict.pk])
    client.force_login(mfa(supervisor))
    assert client.get(reverse("admin:compute_usernameconflict_changelist")).status_code == 200
    assert client.get(reverse("admin:compute_clusteridentity_changelist")).status_code == 200
    assert client.post(url, {"person": first.pk}).status_code == 403
    assert not ClusterIdentity.objects.exists()
    client.force_login(mfa(operator))
    page = client.get(url)
    assert page.status_code == 200 and f'<option value="{first.pk}">' in page.content.decode()
    bad = client.post(url, {"person": "999999"})
    assert bad.status_code == 200 and not ClusterIdentity.objects.exists()
    response = client.post(url, {"person": first.pk})
    assert response.status_code == 302
    assert ClusterIdentity.objects.get(user=first).username == "emma"
    assert AuditEvent.objects.filter(action="cluster_identity.resolve_conflict", actor=operator).exists()


@pytest.mark.parametrize("bad", [0, -3, "1", None, 10**12])
def test_tasks_ignore_bad_ids(bad):
    assert tasks.publish_identity_task(bad) == 0
    assert tasks.publish_group_task(bad) == 0


def test_a_planned_name_is_held_for_its_person_and_their_own_choice_wins(user, org, run):
    from compute.services import requests as request_services
    from tests.accounts.factories import an_operator
    from tests.compute.factories import request_fields

    wei = add_member(org, UserFactory(email="wei@example.cn")).user
    give = request_fields(
        user, members=[request_services.MemberAccess(user), request_services.MemberAccess(wei)]
    )
    request = request_services.create_quota_request(org, by=user, **give)
    assert sorted(request.members.values_list("cluster_username", flat=True)) == ["alice", "wei"]
    with pytest.raises(ValidationError):  # planned on a request: nobody else may take it
        services.claim_username(UserFactory(email="other@example.cn"), "wei")
    services.claim_username(wei, "weiwei")  # the person chooses their own before the approval
    request = request_services.submit_quota_request(request, by=user)
    run(request_services.approve_quota_request, request, by=an_operator())
    allocation = request.created_allocation
    names = dict(allocation.members.values_list("user__email", "cluster_username"))
    assert names[user.email] == "alice" and names["wei@example.cn"] == "weiwei"
    assert request.members.get(user=wei).cluster_username == "weiwei"  # the request's record follows
    assert FakeBackend().read_account(allocation.account_name).users == {"alice", "weiwei"}
    assert directory().read_group(allocation.account_name).members == {"alice", "weiwei"}


def test_the_due_allocations_sweep_survives_a_directory_outage(allocation, run):
    type(allocation).objects.filter(pk=allocation.pk).update(opened_at=None)  # due to open
    FakeDirectory.stop()
    assert allocation_services.sync_due_allocations() == 0  # logged, retried by the next run
    allocation.refresh_from_db()
    assert "stopped" in allocation.sync_error and allocation.opened_at is None
    FakeDirectory.start()
    assert allocation_services.sync_due_allocations() == 1


def test_the_fake_directory_shares_its_state_through_a_file(tmp_path):
    from compute.identities.directory.base import DesiredPerson

    web, worker = (
        FakeDirectory(state_file=str(tmp_path / "d.json")),
        FakeDirectory(state_file=str(tmp_path / "d.json")),
    )
    person = DesiredPerson("ada", 100000, 100000, "/home/ada", "/bin/bash", "Ada", keys=(ED25519,))
    assert [c.action for c in web.converge_person(person)] == ["add_person"]
    assert worker.read_person("ada").keys == (ED25519,)
    assert worker.converge_person(person) == []  # idempotent across processes
    assert FakeDirectory().people() == {}  # the in-memory one is another directory
