"""People on an allocation, end to end: portal services, a real Celery worker on Redis, a real Slurm cluster.

A person added by a manager can submit within seconds; a person removed from the organisation can no longer
submit under its account (sbatch refused) while the job they had running finishes; a per-user cap holds that
person's next job while the others' still run.
"""

import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Membership
from compute.backends.slurm import SlurmBackend
from compute.models import Allocation, AllocationStatus
from compute.services import allocations as allocation_services
from compute.services import members as members_services
from compute.services import requests as request_services
from tests.accounts.factories import UserFactory, add_member, make_operator, make_verified_organisation
from tests.compute.factories import PartitionFactory, give_identity
from tests.integration import slurm
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

slurm_cluster = slurm.slurm_cluster
unix_user = slurm.unix_user
PREFIX = f"aicctest_{uuid.uuid4().hex[:4]}_"


@pytest.fixture
def worker_env(slurm_cluster):
    return {
        "CLUSTER_BACKEND": "compute.backends.slurm.SlurmBackend",
        "CLUSTER_BACKEND_OPTIONS": json.dumps({"cluster": slurm_cluster["cluster"]}),
        "CLUSTER_ACCOUNT_PREFIX": PREFIX,
    }


@pytest.fixture
def team(settings, slurm_cluster, unix_user, celery_worker_process):
    """An active allocation of 100 card-hours on the accelerator partition, used by its owner ``ann``; ``ben``
    is a member of the organisation with a Linux login but no access yet."""
    settings.CLUSTER_BACKEND = "compute.backends.slurm.SlurmBackend"
    settings.CLUSTER_BACKEND_OPTIONS = {"cluster": slurm_cluster["cluster"]}
    settings.CLUSTER_ACCOUNT_PREFIX = PREFIX
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    ben = add_member(organisation).user
    partition = PartitionFactory(
        slug="npu-people", cluster=slurm_cluster["cluster"], slurm_partition=slurm_cluster["partition"]
    )
    ann_login = unix_user(f"aicctu_{uuid.uuid4().hex[:6]}")
    ben_login = unix_user(f"aicctu_{uuid.uuid4().hex[:6]}")
    give_identity(owner, ann_login)  # cluster identities carry the local test users' names
    give_identity(ben, ben_login)
    today = timezone.localdate()
    request = request_services.create_quota_request(
        organisation,
        by=owner,
        partition=partition,
        amount=Decimal("100"),
        start_date=today,
        end_date=today + timedelta(days=30),
        purpose="integration test",
        justification="real Slurm",
        members=[request_services.MemberAccess(owner)],
    )
    request_services.submit_quota_request(request, by=owner)
    request_services.approve_quota_request(request, by=make_operator())

    def active():
        allocation = Allocation.objects.filter(request=request).first()
        return allocation if allocation and allocation.status == AllocationStatus.ACTIVE else None

    allocation = wait_for(active, timeout=40)
    assert allocation, "not provisioned:\n" + celery_worker_process["log"].read_text()[-4000:]
    yield {
        "owner": owner,
        "organisation": organisation,
        "allocation": allocation,
        "ann": ann_login,
        "ben": ben,
        "ben_login": ben_login,
    }
    slurm.cancel_test_jobs()


def submits(account: str, login: str) -> str | None:
    """The id of a short job ``login`` could submit under ``account`` now, or None when sbatch refuses."""
    result = slurm.sbatch(account, login, command="true", gres="npu:1", time_limit=1, settle=0)
    return result.stdout.strip().split(";")[0] if result.returncode == 0 else None


def add_ben(team):
    members_services.add_allocation_member(team["allocation"], by=team["owner"], user=team["ben"])


def test_a_person_added_by_a_manager_submits_within_seconds(team):
    account = team["allocation"].account_name
    assert submits(account, team["ben_login"]) is None  # not on the allocation yet
    started = time.monotonic()
    add_ben(team)
    job = wait_for(lambda: submits(account, team["ben_login"]), timeout=20)
    assert job, slurm.assocs(account)
    assert time.monotonic() - started < 20
    slurm.wait_for_job(job, {"RUNNING", "COMPLETED"}, timeout=30)


def test_a_person_removed_from_the_organisation_is_refused_while_their_job_finishes(team):
    account = team["allocation"].account_name
    add_ben(team)
    assert wait_for(lambda: team["ben_login"] in slurm.assocs(account), timeout=20), slurm.assocs(account)
    running = slurm.submit_job(account, team["ben_login"], command="sleep 20", gres="npu:1", time_limit=2)
    slurm.wait_for_job(running, {"RUNNING"}, timeout=30)

    membership = Membership.objects.get(organisation=team["organisation"], user=team["ben"])
    account_services.remove_member(membership, by=team["owner"])

    # Blocked, not deleted: a deleted association would cancel the running job.
    assert wait_for(lambda: slurm.assocs(account).get(team["ben_login"], ("", ""))[1] == "0", timeout=20), (
        slurm.assocs(account)
    )
    refused = slurm.sbatch(account, team["ben_login"], command="true", gres="npu:1", time_limit=1, settle=0)
    assert refused.returncode != 0, refused.stdout
    assert slurm.job_state(running)[0] == "RUNNING"
    assert submits(account, team["ann"])  # the others go on
    slurm.wait_for_job(running, {"COMPLETED"}, timeout=60)

    # Once nothing of theirs is left (as accounting tells), the next convergence deletes the association.
    slurm.cancel_test_jobs()

    def let_go():
        allocation_services.sync_allocation(team["allocation"].pk, backend=SlurmBackend())
        return team["ben_login"] not in slurm.assocs(account)

    assert wait_for(let_go, timeout=30, interval=2), slurm.assocs(account)


def test_a_cap_holds_that_persons_next_job_while_the_others_run(team):
    account = team["allocation"].account_name
    add_ben(team)
    ann = team["allocation"].members.current().get(cluster_username=team["ann"])
    # 0.5 card-hours: 30 billing-minutes on ann's association.
    members_services.cap_allocation_member(ann, by=team["owner"], limit_amount="0.5")
    assert wait_for(
        lambda: "billing=30" in slurm.assocs(account).get(team["ann"], ("", ""))[0], timeout=20
    ), slurm.assocs(account)
    first = slurm.submit_job(account, team["ann"], command="sleep 30", gres="npu:1", time_limit=2)
    slurm.wait_for_job(first, {"RUNNING"}, timeout=30)
    second = slurm.submit_job(account, team["ann"], command="sleep 30", gres="npu:1", time_limit=60)

    def held():
        state, reason = slurm.job_state(second)
        return state == "PENDING" and reason.startswith("AssocGrp") and reason.endswith("Minutes")

    assert wait_for(held, timeout=30), slurm.job_state(second)
    others = slurm.submit_job(account, team["ben_login"], command="sleep 5", gres="npu:1", time_limit=60)
    slurm.wait_for_job(others, {"RUNNING", "COMPLETED"}, timeout=30)
    assert held()  # still held while ben's job runs

    # Lifting the cap lets it start.
    members_services.cap_allocation_member(ann, by=team["owner"], limit_amount=None)
    slurm.wait_for_job(second, {"RUNNING", "COMPLETED"}, timeout=40)
