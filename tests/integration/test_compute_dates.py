"""Dates and billing units on a real Slurm cluster, through a real Celery worker: an allocation approved for a
later start is refused by ``sbatch`` until the opening task opens it; a CPU-only job on the accelerator
partition is billed, the same in the portal and in Slurm's usage, and counts against the limit."""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from compute import usage
from compute.backends.slurm import SlurmBackend
from compute.models import Allocation, AllocationStatus, Job
from compute.services import pending
from compute.services import requests as request_services
from compute.tasks import sync_due_allocations_task
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
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
def portal(settings, slurm_cluster, unix_user, celery_worker_process):
    settings.CLUSTER_BACKEND = "compute.backends.slurm.SlurmBackend"
    settings.CLUSTER_BACKEND_OPTIONS = {"cluster": slurm_cluster["cluster"]}
    settings.CLUSTER_ACCOUNT_PREFIX = PREFIX
    owner = UserFactory()
    username = unix_user(f"{slurm.USER_PREFIX}{uuid.uuid4().hex[:6]}")
    give_identity(owner, username)  # the cluster identity carries the local test user's name
    return {
        "owner": owner,
        "operator": make_operator(),
        "organisation": make_verified_organisation(owner),
        "username": username,
        "partition": PartitionFactory(
            slug="npu-dates", cluster=slurm_cluster["cluster"], slurm_partition=slurm.ACCEL_PARTITION
        ),
        "worker": celery_worker_process,
    }


def node_size() -> tuple[int, int]:
    """(cores, cards) of the accelerator partition's node: a job on every core and no card bills as much as
    all the cards (the partition's billing weights)."""
    cores, gres = slurm.run("sinfo", "-h", "-p", slurm.ACCEL_PARTITION, "-o", "%c %G").stdout.split()[:2]
    return int(cores.rstrip("+")), int(gres.split(":")[-1].split("(")[0])


def test_a_later_start_is_refused_until_it_opens_and_cpu_only_jobs_are_billed(portal):
    today = timezone.localdate()
    request = request_services.create_quota_request(
        portal["organisation"],
        by=portal["owner"],
        partition=portal["partition"],
        amount=Decimal("1"),
        start_date=today + timedelta(days=5),
        end_date=today + timedelta(days=35),
        purpose="integration test",
        justification="real Slurm",
        members=[request_services.MemberAccess(portal["owner"])],
    )
    request_services.submit_quota_request(request, by=portal["owner"])
    # Room for exactly one minute of a job on every core: Slurm starts a job only if its time limit fits.
    cores, cards = node_size()
    granted = (Decimal(cards) / 60).quantize(Decimal("0.01"))
    request_services.approve_quota_request(request, by=portal["operator"], granted_amount=granted)
    limit = f"billing={cards}"

    def provisioned():
        allocation = Allocation.objects.filter(request=request).first()
        return allocation if allocation and allocation.status == AllocationStatus.ACTIVE else None

    allocation = wait_for(provisioned, timeout=40)
    assert allocation, portal["worker"]["log"].read_text()[-4000:]
    account, user = allocation.account_name, portal["username"]

    # Before its start: the account is there, held (GrpSubmitJobs=0), and sbatch is refused.
    assert allocation.opened_at is None
    assert slurm.assocs(account)[""] == (limit, "0")
    refused = slurm.sbatch(account, user, command="true", gres="", time_limit=1)
    assert refused.returncode != 0 and "policy" in (refused.stdout + refused.stderr).lower(), refused

    # Its start date comes (moved, not waited for); the beat's opening task, run by the worker, opens it.
    Allocation.objects.filter(pk=allocation.pk).update(start_date=today)
    sync_due_allocations_task.delay()
    assert wait_for(lambda: slurm.assocs(account)[""] == (limit, ""), timeout=30), slurm.assocs(account)
    allocation.refresh_from_db()
    assert allocation.opened_at is not None

    # A CPU-only job (every core of the node, no card) on the accelerator partition runs and is billed.
    job_id = slurm.submit_job(account, user, command="sleep 16", gres="", cpus=cores, time_limit=1)
    slurm.wait_for_job(job_id, {"COMPLETED"}, timeout=90)
    backend = SlurmBackend()
    since = timezone.now() - timedelta(hours=1)
    assert wait_for(lambda: any(j.job_id == job_id for j in backend.jobs(since)), timeout=30)
    usage.ingest_usage(backend=backend, since=since)
    job = Job.objects.get(job_id=job_id)
    assert not job.tres.get("gres/npu") and job.tres["billing"] == cards
    billed_seconds = job.tres["billing"] * job.elapsed_seconds
    assert billed_seconds >= 60
    assert job.units == (Decimal(billed_seconds) / 3600).quantize(Decimal("0.0001")) > 0
    allocation.refresh_from_db()
    assert allocation.used_amount == job.units
    # Slurm charges the association the same, in whole billing-minutes.
    assert wait_for(lambda: backend.usage_minutes(account).get("billing") == billed_seconds // 60, timeout=30)

    # It counts against the limit: the same job again no longer fits, is held, and the page says why.
    held = slurm.submit_job(account, user, command="true", gres="", cpus=cores, time_limit=1)
    slurm.wait_for_job(held, {"PENDING"}, reason="AssocGrpBillingMinutes", timeout=30)
    queue = pending.queued_jobs(allocation)
    assert [(job.job_id, reason.kind) for job, reason in queue.jobs] == [(held, pending.QUOTA_USED_UP)]
    slurm.cancel_jobs(held)
