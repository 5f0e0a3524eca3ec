"""Cluster access end to end (issue 14): the portal's identities and keys reach a real cluster.

Everything is real: PostgreSQL, a Celery worker on Redis whose directory is the LDAP lab
(deploy/ldap/ldap-up.sh: slapd, nslcd + libnss-ldapd, an sshd on 127.0.0.1:2222 taking keys from LDAP) and
whose cluster is the Slurm test cluster (deploy/slurm/slurm-up.sh), and Chromium for the key a person pastes.
The test process, its live server (the browser's portal) and the worker share the test database and broker.

What a person gets on the cluster is checked with the cluster's own tools: ``getent`` through NSS, ``ssh``
against the lab's sshd, ``sbatch --uid/--gid`` as root, the job's own ``id`` and ``sacct``; hand edits and
outages with ``ldapmodify`` as root and by stopping slapd (tests/integration/ldap.py).
"""

import json
import random
import shutil
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services as account_services
from accounts.models import Membership
from compute.identities import keys as key_services
from compute.identities import services as identity_services
from compute.identities.models import ClusterIdentity, IdentityStatus, LockReason, SshKey
from compute.identities.tasks import lock_due_identities_task, reconcile_directory_task
from compute.models import Allocation, AllocationStatus
from compute.services import requests as request_services
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, make_operator, make_verified_organisation
from tests.compute.factories import PartitionFactory
from tests.e2e import conftest as e2e
from tests.e2e.helpers import field, sign_in
from tests.integration import ldap, slurm
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

slurm_cluster = slurm.slurm_cluster
ldap_lab = ldap.ldap_lab
browser = e2e.browser
make_page = e2e.make_page

PREFIX = f"aicctest_{uuid.uuid4().hex[:4]}_"


@pytest.fixture
def uid_min():
    """A uid range of the test's own: the database starts empty for each test, the directory does not."""
    return 150000 + random.randrange(0, 400) * 100


@pytest.fixture
def directory_env(ldap_lab, uid_min):
    """The identity settings of the worker: the lab's directory, the test's uid range, no grace period."""
    return {
        **ldap_lab["env"],
        "CLUSTER_UID_MIN": str(uid_min),
        "CLUSTER_UID_MAX": str(uid_min + 99),
        "IDENTITY_LOCK_GRACE_DAYS": "0",
    }


@pytest.fixture
def worker_env(slurm_cluster, directory_env):
    return {
        "CLUSTER_BACKEND": "compute.backends.slurm.SlurmBackend",
        "CLUSTER_BACKEND_OPTIONS": json.dumps({"cluster": slurm_cluster["cluster"]}),
        "CLUSTER_ACCOUNT_PREFIX": PREFIX,
        "OUTBOX_RETRY_SECONDS": "1",
        "OUTBOX_RETRY_MAX_SECONDS": "2",
        **directory_env,
    }


@pytest.fixture
def team(settings, slurm_cluster, ldap_lab, uid_min, celery_worker_process):
    """An active allocation of 100 card-hours on the accelerator partition, whose people are its owner and
    ``ben`` (a plain member of the organisation, who chose his user name on "My cluster access" first)."""
    settings.CLUSTER_BACKEND = "compute.backends.slurm.SlurmBackend"
    settings.CLUSTER_BACKEND_OPTIONS = {"cluster": slurm_cluster["cluster"]}
    settings.CLUSTER_ACCOUNT_PREFIX = PREFIX
    # ldap_lab pointed this process's directory at the lab; the uid range and the grace period are the test's.
    settings.CLUSTER_UID_MIN = uid_min
    settings.CLUSTER_UID_MAX = uid_min + 99
    settings.IDENTITY_LOCK_GRACE_DAYS = 0
    suffix = uuid.uuid4().hex[:6]
    # Names start with the lab's test prefix, so that an interrupted run's entries can be found and removed.
    owner = UserFactory(email=f"{ldap.NAME_PREFIX}-own{suffix}@example.com")
    organisation = make_verified_organisation(owner)
    ben = add_member(organisation).user
    ben_name = f"{ldap.NAME_PREFIX}ben{suffix}"
    identity_services.claim_username(ben, ben_name)
    partition = PartitionFactory(
        slug=f"npu-access-{suffix}",
        cluster=slurm_cluster["cluster"],
        slurm_partition=slurm_cluster["partition"],
    )
    today = timezone.localdate()
    request = request_services.create_quota_request(
        organisation,
        by=owner,
        partition=partition,
        amount=Decimal("100"),
        start_date=today,
        end_date=today + timedelta(days=30),
        purpose="integration test",
        justification="cluster access end to end",
        members=[request_services.MemberAccess(owner), request_services.MemberAccess(ben)],
    )
    request_services.submit_quota_request(request, by=owner)
    request_services.approve_quota_request(request, by=make_operator())

    def active():
        allocation = Allocation.objects.filter(request=request).first()
        return allocation if allocation and allocation.status == AllocationStatus.ACTIVE else None

    allocation = wait_for(active, timeout=40)
    assert allocation, "not provisioned:\n" + celery_worker_process["log"].read_text()[-4000:]
    identities = dict(ClusterIdentity.objects.values_list("username", "home"))
    try:
        yield {
            "owner": owner,
            "organisation": organisation,
            "allocation": allocation,
            "ben": ben,
            "ben_name": ben_name,
            "worker": celery_worker_process,
            "uid_min": uid_min,
        }
    finally:
        slurm.cancel_test_jobs()
        ldap.remove_entries([*identities, allocation.account_name])
        for name, home in identities.items():  # made by pam_mkhomedir at the first ssh login
            if name.startswith(ldap.NAME_PREFIX) and Path(home).name == name:
                shutil.rmtree(home, ignore_errors=True)


def keypair(tmp_path: Path) -> tuple[Path, str]:
    """A fresh ed25519 key pair made by ssh-keygen: (private key file, public key line)."""
    path = tmp_path / "id_ed25519"
    return path, ldap.make_key(path)


def worker_log(team) -> str:
    return team["worker"]["log"].read_text()[-4000:]


def use_http(settings) -> None:
    """What tests/e2e/conftest.py's autouse fixture sets: the live server speaks plain HTTP."""
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"


def test_granted_person_resolves_logs_in_with_a_key_pasted_in_the_browser_and_runs_jobs(
    team, make_page, live_server, settings, tmp_path
):
    name = team["ben_name"]
    account = team["allocation"].account_name
    # (a) The identity resolves on this machine through NSS, with the configured uid range and home.
    entry = wait_for(lambda: ldap.getent_passwd(name), timeout=10)
    assert entry, f"getent passwd {name} found nothing:\n{worker_log(team)}"
    identity = ClusterIdentity.objects.get(user=team["ben"])
    assert identity.username == name
    assert team["uid_min"] <= entry.uid <= team["uid_min"] + 99
    assert (entry.uid, entry.gid) == (identity.uid, identity.uid)
    assert entry.home == f"{settings.CLUSTER_HOME_ROOT.rstrip('/')}/{name}"
    assert entry.shell == settings.CLUSTER_LOGIN_SHELL
    # The allocation's group, for its shared project directory, has its people.
    owner_name = ClusterIdentity.objects.get(user=team["owner"]).username
    assert ldap.getent_group_members(account) == {name, owner_name}

    key_file, public_key = keypair(tmp_path)
    assert not ldap.ssh_true(name, key_file)  # no key yet

    # (b) Ben pastes the key on "My cluster access"; within seconds it opens a session on the lab's sshd.
    use_http(settings)
    page = make_page()
    sign_in(page, live_server.url, team["ben"].email)
    page.goto(live_server.url + "/compute/access/")
    field(page, "Name").fill("laptop")
    field(page, "Public key").fill(public_key)
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_text("The key “laptop” is added")).to_be_visible()
    key = SshKey.objects.get(identity=identity, removed_at__isnull=True)
    expect(page.get_by_text(key.fingerprint)).to_be_visible()
    assert wait_for(lambda: ldap.ssh_true(name, key_file), timeout=10), worker_log(team)
    login = ldap.ssh_run(name, key_file, "id -u; pwd")
    assert login.stdout.split() == [str(identity.uid), identity.home], login.stdout + login.stderr

    # (c) A job submitted as that uid runs under the allocation's account, as that uid and its groups.
    output = Path("/tmp") / f"aicc-access-{uuid.uuid4().hex[:8]}.out"
    job = slurm.submit_job(account, name, command=f"id > {output}", gres="npu:1", time_limit=1)
    try:
        slurm.wait_for_job(job, {"COMPLETED"}, timeout=30)
        seen = output.read_text()
    finally:
        output.unlink(missing_ok=True)
    assert f"uid={identity.uid}({name}) gid={identity.uid}({name})" in seen, seen
    assert f"({account})" in seen, seen  # a member of the allocation's group
    sacct = slurm.run("sacct", "-n", "-X", "-P", "-j", job, "-o", "User,Account").stdout.strip()
    assert sacct == f"{name}|{account}", sacct

    # After the key is removed in the browser, the next ssh is refused.
    page.get_by_role("link", name="Remove laptop").click()
    page.get_by_role("button", name="Remove the key").click()  # the confirmation page
    expect(page.get_by_text("The key “laptop” is removed")).to_be_visible()
    assert wait_for(lambda: not ldap.ssh_true(name, key_file), timeout=10), worker_log(team)
    assert ldap.published_keys(name) == []


def test_removed_from_the_organisation_no_more_jobs_and_no_login_after_the_grace_period(
    team, tmp_path, settings
):
    name = team["ben_name"]
    account = team["allocation"].account_name
    identity = ClusterIdentity.objects.get(user=team["ben"])
    key_file, public_key = keypair(tmp_path)
    key_services.add_key(team["ben"], public_key, name="laptop")
    assert wait_for(lambda: ldap.ssh_true(name, key_file), timeout=10), worker_log(team)
    before = slurm.submit_job(account, name, command="true", gres="npu:1", time_limit=1, settle=20)
    slurm.wait_for_job(before, {"RUNNING", "COMPLETED"}, timeout=30)

    membership = Membership.objects.get(organisation=team["organisation"], user=team["ben"])
    account_services.remove_member(membership, by=team["owner"])

    # No more sbatch under the account: the association is blocked (or gone, once no job of theirs is left).
    def let_go():
        return slurm.assocs(account).get(name, ("", "0"))[1] == "0"

    assert wait_for(let_go, timeout=20), slurm.assocs(account)
    refused = slurm.sbatch(account, name, command="true", gres="npu:1", time_limit=1, settle=0)
    assert refused.returncode != 0, refused.stdout
    assert wait_for(lambda: name not in (ldap.getent_group_members(account) or set()), timeout=10)
    # Within the grace period the login still works (to fetch results); here it is 0 days.
    identity.refresh_from_db()
    assert identity.status == IdentityStatus.ACTIVE
    assert identity.lock_due_at is not None and identity.lock_due_at <= timezone.now()

    # The periodic task, run by the worker, locks the identity: no login, the entry (and files' owner) stays.
    lock_due_identities_task.delay()
    locked = wait_for(
        lambda: ClusterIdentity.objects.filter(pk=identity.pk, status=IdentityStatus.LOCKED).first()
    )
    assert locked and locked.lock_reason == LockReason.NO_ALLOCATION, worker_log(team)
    assert wait_for(lambda: not ldap.ssh_true(name, key_file), timeout=10), worker_log(team)
    entry = ldap.getent_passwd(name)
    assert entry and entry.uid == identity.uid, (
        "a locked identity still resolves (its files keep their owner)"
    )
    assert entry.shell == settings.CLUSTER_LOCKED_SHELL
    assert ldap.published_keys(name) == []


def test_a_key_added_while_the_directory_is_down_arrives_once_when_it_is_back(team, tmp_path):
    name = team["ben_name"]
    identity = ClusterIdentity.objects.get(user=team["ben"])
    assert wait_for(lambda: ldap.getent_passwd(name), timeout=10), worker_log(team)
    key_file, public_key = keypair(tmp_path)

    ldap.stop_slapd()
    try:
        key_services.add_key(team["ben"], public_key, name="laptop")
        # The worker tried and failed: the error is kept, the change is not published; nobody can log in.
        failed = wait_for(lambda: ClusterIdentity.objects.get(pk=identity.pk).publish_error, timeout=15)
        assert failed, worker_log(team)
        assert not ClusterIdentity.objects.get(pk=identity.pk).is_published
        assert not ldap.ssh_true(name, key_file)
    finally:
        ldap.start_slapd()

    # The task's retries bring it in once the directory is back.
    assert wait_for(lambda: ldap.ssh_true(name, key_file), timeout=30), worker_log(team)
    assert wait_for(lambda: ClusterIdentity.objects.get(pk=identity.pk).is_published, timeout=10)
    identity.refresh_from_db()
    assert identity.publish_error == ""
    # Nothing lost, nothing doubled: the entry holds the key once, the portal has one key, published.
    assert ldap.published_keys(name) == [public_key.rsplit(" ", 1)[0]]
    key = SshKey.objects.get(identity=identity)
    assert key.published_at is not None and key.removed_at is None

    # Ben was told once (the mail goes through the outbox and the worker, like the key).
    def mails_about_the_key() -> int:
        return sum(path.read_text().count(key.fingerprint) for path in team["worker"]["mail_dir"].iterdir())

    assert wait_for(lambda: mails_about_the_key() >= 1, timeout=10)
    assert mails_about_the_key() == 1


def test_reconcile_repairs_an_entry_edited_by_hand_and_leaves_what_it_does_not_know(team, tmp_path, settings):
    name = team["ben_name"]
    identity = ClusterIdentity.objects.get(user=team["ben"])
    people_dn = ldap.facts()["LDAP_PEOPLE_DN"]
    own_file, own_key = keypair(tmp_path)
    key_services.add_key(team["ben"], own_key, name="laptop")
    assert wait_for(lambda: ldap.ssh_true(name, own_file), timeout=10), worker_log(team)

    # An administrator's hand: a key of someone else's on ben's entry, another shell, and a stray entry.
    intruder_path = tmp_path / "intruder"
    intruder_key = ldap.make_key(intruder_path)
    ldap.ldap_root(
        "ldapmodify",
        stdin=f"dn: uid={name},{people_dn}\nchangetype: modify\nadd: sshPublicKey\n"
        f"sshPublicKey: {intruder_key}\n-\nreplace: loginShell\nloginShell: /bin/sh\n",
    )
    stray = f"{ldap.NAME_PREFIX}stray{uuid.uuid4().hex[:6]}"
    stray_id = team["uid_min"] + 99
    ldap.ldap_root(
        "ldapadd",
        stdin=f"dn: uid={stray},{people_dn}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"
        f"uid: {stray}\ncn: {stray}\nsn: {stray}\nuidNumber: {stray_id}\ngidNumber: {stray_id}\n"
        f"homeDirectory: /home/{stray}\n",
    )
    try:
        assert ldap.ssh_true(name, intruder_path)  # the hand edit is live
        assert ldap.getent_passwd(name).shell == "/bin/sh"

        reconcile_directory_task.delay()
        assert wait_for(lambda: not ldap.ssh_true(name, intruder_path), timeout=15), worker_log(team)
        assert ldap.getent_passwd(name).shell == settings.CLUSTER_LOGIN_SHELL
        assert ldap.ssh_true(name, own_file)
        assert ldap.published_keys(name) == [own_key.rsplit(" ", 1)[0]]
        assert AuditEvent.objects.for_target(identity).filter(action="cluster_identity.repair").exists()
        # Reported, never deleted: the portal does not own what it did not make.
        assert wait_for(lambda: f"person {stray} is in the portal's subtree" in worker_log(team), timeout=5)
        assert ldap.getent_passwd(stray) is not None
    finally:
        ldap.remove_entries([stray])
