"""The portal checked against a real Slurm: reconcile notices usage that differs from what slurmctld counts
against the account's limit, and /readyz reports a stopped slurmctld within its timeout.

The cluster is the one deploy/slurm/slurm-up.sh starts; the portal reaches it through its default set-up
(the partition names the cluster, ``get_backend(cluster)`` builds its SlurmBackend), as in production.
"""

import os
import signal
import subprocess
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from compute import usage
from compute.backends import get_backend
from compute.services.allocations import sync_allocation
from compute.services.requests import approve_quota_request
from tests.accounts.factories import UserFactory, an_operator
from tests.compute.factories import PartitionFactory, make_quota_request
from tests.integration import slurm

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

slurm_cluster = slurm.slurm_cluster
unix_user = slurm.unix_user
PREFIX = f"{slurm.ACCOUNT_PREFIX}{uuid.uuid4().hex[:4]}_"
LAB = Path(os.environ.get("LAB", "/tmp/slurmlab"))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cluster(settings, slurm_cluster):
    """The portal on the real cluster: the default backend is Slurm, the partition names the cluster."""
    settings.CLUSTER_BACKEND = "compute.backends.slurm.SlurmBackend"
    settings.CLUSTER_BACKEND_OPTIONS = {}
    settings.CLUSTER_ACCOUNT_PREFIX = PREFIX
    partition = PartitionFactory(
        slug="npu-usage",
        cluster=slurm_cluster["cluster"],
        slurm_partition=slurm.ACCEL_PARTITION,
        tres="billing",
    )
    yield {"name": slurm_cluster["cluster"], "partition": partition}
    slurm.cancel_test_jobs()


def usage_findings(run, account: str) -> list[dict]:
    return [f for f in run.findings if f["kind"] == "usage_differs" and f["account"] == account]


def test_reconcile_reports_usage_that_slurm_counts_differently(cluster, unix_user, settings):
    # Tolerance below one card-minute, so that a short job makes a difference worth reporting.
    settings.USAGE_DRIFT_TOLERANCE_UNITS = 0.005
    settings.USAGE_DRIFT_TOLERANCE_PERCENT = 0
    username = unix_user(f"{slurm.USER_PREFIX}{uuid.uuid4().hex[:6]}")
    owner = UserFactory()
    request = make_quota_request(owner, partition=cluster["partition"], username=username, amount=10)
    approve_quota_request(request, by=an_operator())
    allocation = sync_allocation(request.created_allocation.pk)
    account = allocation.account_name
    backend = get_backend(cluster["name"])

    # A job of 4 cards for 16 seconds: Slurm counts a whole card-minute at once; the portal has not ingested it.
    job_id = slurm.submit_job(account, username, command="sleep 16", gres="npu:4", time_limit=2)
    slurm.wait_for_job(job_id, {"COMPLETED"}, timeout=90)
    assert slurm.wait_for(lambda: backend.usage_minutes(account).get("billing", 0) >= 1, timeout=30)
    [not_ingested] = usage_findings(usage.reconcile(), account)
    assert (not_ingested["expected"], not_ingested["observed"], not_ingested["cluster"]) == (
        "0.00",
        "0.02",
        cluster["name"],
    )

    # Once ingested, the portal and Slurm agree within the tolerance.
    since = timezone.now() - timedelta(hours=1)
    slurm.wait_for(lambda: any(j.job_id == job_id for j in backend.jobs(since)), timeout=30)
    usage.ingest_usage()
    allocation.refresh_from_db()
    assert allocation.used_amount > Decimal("0.0166")
    assert usage_findings(usage.reconcile(), account) == []

    # An administrator resets the account's usage by hand: jobs could now run beyond the grant.
    slurm.run("sacctmgr", "-i", "modify", "account", account, "set", "RawUsage=0")
    assert slurm.wait_for(lambda: backend.usage_minutes(account).get("billing", 0) == 0, timeout=30)
    [reset] = usage_findings(usage.reconcile(), account)
    assert reset["observed"] == "0.00" and Decimal(reset["difference"]) < 0
    assert Decimal(reset["expected"]) == allocation.used_amount.quantize(Decimal("0.01"))


def test_readyz_reports_a_stopped_slurmctld_within_the_timeout(cluster, client, settings):
    settings.READINESS_TIMEOUT = 5
    settings.READINESS_CACHE_SECONDS = 0
    cache.clear()
    check = f"Slurm cluster {cluster['name']}"
    assert client.get("/readyz").json()["checks"][check] == "ok"

    pid = int((LAB / "run" / "slurmctld.pid").read_text().strip())
    os.kill(pid, signal.SIGTERM)
    try:
        assert slurm.wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=30)
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["checks"][check].startswith("error: ")
        assert response.json()["checks"]["database"] == "ok"
        assert elapsed < settings.READINESS_TIMEOUT + 2
    finally:
        # The project's start script brings slurmctld back (and registers it with slurmdbd again).
        subprocess.run([str(ROOT / "deploy/slurm/slurm-up.sh")], check=True, timeout=300, capture_output=True)
        assert slurm.wait_for(
            lambda: "is UP" in slurm.run("scontrol", "ping", check=False).stdout, timeout=60
        )
    assert client.get("/readyz").status_code == 200
