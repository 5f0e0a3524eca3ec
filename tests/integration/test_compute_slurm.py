"""The compute service end to end: portal services, a real Celery worker on Redis, a real Slurm cluster.

Approving a request must show up in sacctmgr within seconds; real jobs run, are accounted and
ingested; quota, suspension and closing are enforced by Slurm; reconcile notices hand edits; and
provisioning converges once Slurm comes back after an outage.
"""

import json
import os
import subprocess
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from compute import usage
from compute.backends.slurm import SlurmBackend
from compute.models import Allocation, AllocationStatus, Job, RequestKind
from compute.services import allocations as allocation_services
from compute.services import requests as request_services
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.compute.factories import PartitionFactory, give_identity
from tests.integration import slurm
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

slurm_cluster = slurm.slurm_cluster
unix_user = slurm.unix_user
PREFIX = f"aicctest_{uuid.uuid4().hex[:4]}_"
LAB = os.environ.get("LAB", "/tmp/slurmlab")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_env(slurm_cluster):
    return {
        "CLUSTER_BACKEND": "compute.backends.slurm.SlurmBackend",
        "CLUSTER_BACKEND_OPTIONS": json.dumps({"cluster": slurm_cluster["cluster"]}),
        "CLUSTER_ACCOUNT_PREFIX": PREFIX,
    }


@pytest.fixture
def portal(settings, slurm_cluster, unix_user, celery_worker_process):
    """The test process talks to the same Slurm as the worker; people and a verified organisation."""
    settings.CLUSTER_BACKEND = "compute.backends.slurm.SlurmBackend"
    settings.CLUSTER_BACKEND_OPTIONS = {"cluster": slurm_cluster["cluster"]}
    settings.CLUSTER_ACCOUNT_PREFIX = PREFIX
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    username = unix_user(f"aicctu_{uuid.uuid4().hex[:6]}")
    give_identity(owner, username)  # the cluster identity carries the local test user's name
    partition = PartitionFactory(
        slug="npu-it",
        cluster=slurm_cluster["cluster"],
        slurm_partition=slurm_cluster["partition"],
        tres="billing",
    )
    return {
        "owner": owner,
        "operator": make_operator(),
        "organisation": organisation,
        "username": username,
        "partition": partition,
        "worker": celery_worker_process,
    }


def file_request(portal, amount="10", kind=RequestKind.NEW, allocation=None):
    today = timezone.localdate()
    request = request_services.create_quota_request(
        portal["organisation"],
        by=portal["owner"],
        partition=portal["partition"],
        kind=kind,
        allocation=allocation,
        amount=Decimal(amount),
        start_date=today,
        end_date=today + timedelta(days=30),
        purpose="integration test",
        justification="real Slurm",
        members=[request_services.MemberAccess(portal["owner"])] if kind == RequestKind.NEW else [],
    )
    return request_services.submit_quota_request(request, by=portal["owner"])


def active_allocation(portal, request, timeout=40):
    def ready():
        allocation = Allocation.objects.filter(request=request).first()
        return allocation if allocation and allocation.status == AllocationStatus.ACTIVE else None

    allocation = wait_for(ready, timeout=timeout)
    assert allocation, "not provisioned:\n" + portal["worker"]["log"].read_text()[-4000:]
    return allocation


def test_approval_provisions_runs_accounts_and_enforces(portal):
    request = file_request(portal)
    started = time.monotonic()
    request_services.approve_quota_request(
        request, by=portal["operator"], granted_amount=Decimal("0.02")
    )  # ~1 card-minute
    allocation = active_allocation(portal, request)
    assert time.monotonic() - started < 30
    account, user = allocation.account_name, portal["username"]
    assocs = slurm.assocs(account)
    assert user in assocs, assocs
    assert assocs[""][0] == "billing=1"  # GrpTRESMins on the account, from 0.02 card-hours
    assert slurm.assoc_partitions(account) == {user: {slurm.ACCEL_PARTITION}}

    # A real job under the account runs and completes; the ingest records it.
    job_id = slurm.submit_job(account, user, command="sleep 1", gres="npu:1", time_limit=1)
    slurm.wait_for_job(job_id, {"COMPLETED"}, timeout=60)
    wait_for(
        lambda: any(j.job_id == job_id for j in SlurmBackend().jobs(timezone.now() - timedelta(hours=1))),
        timeout=30,
    )
    usage.ingest_usage(backend=SlurmBackend(), since=timezone.now() - timedelta(hours=1))
    job = Job.objects.get(job_id=job_id)
    assert job.allocation_id == allocation.pk and job.cluster_user == user and job.state == "COMPLETED"
    assert job.tres.get("billing") == 1 and job.tres.get("gres/npu") == 1
    assert job.units == (Decimal(job.elapsed_seconds) / 3600).quantize(Decimal("0.0001"))

    # A job needing more than the quota is held by Slurm, and raising the quota releases it.
    held = slurm.submit_job(account, user, command="sleep 1", gres="npu:1", time_limit=5)
    slurm.wait_for_job(held, {"PENDING"}, reason="AssocGrpBillingMinutes", timeout=30)
    increase = file_request(portal, amount="2", kind=RequestKind.INCREASE, allocation=allocation)
    request_services.approve_quota_request(increase, by=portal["operator"])
    assert wait_for(lambda: slurm.assocs(account)[""][0] == "billing=121", timeout=30), slurm.assocs(account)
    slurm.wait_for_job(held, {"RUNNING", "COMPLETED"}, timeout=40)

    # Suspension blocks new jobs (GrpSubmitJobs=0) without touching what runs.
    allocation_services.suspend_allocation(allocation, by=portal["operator"], reason="integration test")
    assert wait_for(lambda: slurm.assocs(account)[""][1] == "0", timeout=30)
    refused = slurm.sbatch(account, user, command="true", gres="npu:1", time_limit=1)
    assert refused.returncode != 0 and "policy" in (refused.stdout + refused.stderr).lower(), refused
    allocation_services.resume_allocation(allocation, by=portal["operator"])
    assert wait_for(lambda: slurm.assocs(account)[""][1] == "", timeout=30)

    # Closing removes the association (once nothing runs).
    slurm.wait_for_job(held, {"COMPLETED"}, timeout=60)
    allocation_services.close_allocation(allocation, by=portal["operator"], reason="done")
    assert wait_for(lambda: slurm.assocs(account) == {}, timeout=30), slurm.assocs(account)


def test_reconcile_notices_and_repairs_a_limit_changed_by_hand(portal):
    request = file_request(portal)
    request_services.approve_quota_request(request, by=portal["operator"])
    allocation = active_allocation(portal, request)
    slurm.run(
        "sacctmgr", "-i", "modify", "account", allocation.account_name, "set", "GrpTRESMins=billing=99999"
    )
    run = usage.reconcile(backend=SlurmBackend())
    findings = [f for f in run.findings if f["account"] == allocation.account_name]
    assert [(f["kind"], f["observed"], f["expected"], f["repaired"]) for f in findings] == [
        ("limit_changed", "billing=99999", "billing=600", True)
    ]
    assert slurm.assocs(allocation.account_name)[""][0] == "billing=600"


def _stop_daemon(name: str) -> None:
    with open(f"{LAB}/run/{name}.pid") as f:
        pid = int(f.read().strip())
    os.kill(pid, 15)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=30)


def test_provisioning_survives_a_slurm_outage(portal):
    """Slurm's controller and database daemon down: the error shows, the task retries, and it converges."""
    _stop_daemon("slurmctld")
    _stop_daemon("slurmdbd")
    try:
        request = file_request(portal)
        request_services.approve_quota_request(request, by=portal["operator"])
        allocation = Allocation.objects.get(request=request)

        def failed_once():
            allocation.refresh_from_db()
            return allocation.sync_error

        assert wait_for(failed_once, timeout=60), portal["worker"]["log"].read_text()[-3000:]
        assert allocation.status == AllocationStatus.PROVISIONING
    finally:
        # The project's start script brings them back in the right order (slurmdbd answering before
        # slurmctld starts, or slurmctld never registers with it).
        subprocess.run([str(ROOT / "deploy/slurm/slurm-up.sh")], check=True, timeout=300, capture_output=True)
        assert wait_for(lambda: "is UP" in slurm.run("scontrol", "ping", check=False).stdout, timeout=60)
    allocation = active_allocation(portal, request, timeout=120)
    assert allocation.sync_error == ""
    assert portal["username"] in slurm.assocs(allocation.account_name)
