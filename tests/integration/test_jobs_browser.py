"""Jobs from the browser end to end (issue 15): a person picks a template in Chromium, the portal submits it
through the real slurmrestd as the person's own cluster user, the queue follows it without a reload until it
completes, its output shows on its page, and the usage ingest counts it on the allocation.

Everything is real: PostgreSQL, a Celery worker on Redis (it provisions the allocation and publishes the person
to the LDAP lab before Slurm sees the name), Slurm with slurmrestd and JWT (deploy/slurm/slurm-up.sh), the LDAP lab
through which the node resolves the person's uid (deploy/ldap/ldap-up.sh), and Chromium.
"""

import json
import os
import random
import shutil
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from compute.identities import services as identity_services
from compute.identities.models import ClusterIdentity
from compute.jobs import catalogue
from compute.jobs.models import Submission
from compute.models import Allocation, AllocationStatus, Job
from compute.services import requests as request_services
from compute.usage import ingest_usage
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.compute.factories import PartitionFactory
from tests.e2e import conftest as e2e
from tests.e2e.helpers import sign_in
from tests.integration import ldap, slurm
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

slurm_cluster = slurm.slurm_cluster
ldap_lab = ldap.ldap_lab
browser = e2e.browser
make_page = e2e.make_page

PREFIX = f"aicctest_{uuid.uuid4().hex[:4]}_"
LAB = Path(os.environ.get("LAB", "/tmp/slurmlab"))
JOBS_ROOT = LAB / "jobs"
REST_URL = slurm.REST_URL
JWT_KEY = "/etc/slurm/jwt_hs256.key"


def backend_options(cluster: str) -> dict:
    return {"cluster": cluster, "rest_url": REST_URL, "jwt_key_file": JWT_KEY}


@pytest.fixture
def uid_min():
    return 160000 + random.randrange(0, 400) * 100


@pytest.fixture
def worker_env(slurm_cluster, ldap_lab, uid_min):
    return {
        **ldap_lab["env"],
        "CLUSTER_UID_MIN": str(uid_min),
        "CLUSTER_UID_MAX": str(uid_min + 99),
        "CLUSTER_BACKEND": "compute.backends.slurm.SlurmBackend",
        "CLUSTER_BACKEND_OPTIONS": json.dumps(backend_options(slurm_cluster["cluster"])),
        "CLUSTER_ACCOUNT_PREFIX": PREFIX,
        "OUTBOX_RETRY_SECONDS": "1",
        "OUTBOX_RETRY_MAX_SECONDS": "2",
    }


@pytest.fixture
def rest_up():
    """slurmrestd answers; CI must have it (scripts/test.sh starts it)."""
    slurm.require_slurmrestd(REST_URL)


@pytest.fixture
def team(settings, slurm_cluster, ldap_lab, uid_min, celery_worker_process, rest_up):
    """An active allocation on the lab's accelerator partition for its owner, whose cluster identity is in the
    directory, and a published PyTorch template for that partition."""
    settings.CLUSTER_BACKEND = "compute.backends.slurm.SlurmBackend"
    settings.CLUSTER_BACKEND_OPTIONS = backend_options(slurm_cluster["cluster"])
    settings.CLUSTER_ACCOUNT_PREFIX = PREFIX
    settings.CLUSTER_UID_MIN = uid_min
    settings.CLUSTER_UID_MAX = uid_min + 99
    settings.JOB_WORKING_DIRECTORY = str(JOBS_ROOT / "{username}")
    settings.JOB_OUTPUT_ROOTS = [str(JOBS_ROOT)]
    settings.JOB_OUTPUT_OWNER_CHECK = True
    settings.JOB_QUEUE_POLL_SECONDS = 1
    settings.JOB_QUEUE_CACHE_SECONDS = 0
    suffix = uuid.uuid4().hex[:6]
    owner = UserFactory(email=f"{ldap.NAME_PREFIX}-own{suffix}@example.com")
    name = f"{ldap.NAME_PREFIX}job{suffix}"
    identity = identity_services.claim_username(owner, name)
    organisation = make_verified_organisation(owner)
    partition = PartitionFactory(
        slug=f"npu-jobs-{suffix}",
        cluster=slurm_cluster["cluster"],
        slurm_partition=slurm_cluster["partition"],
        max_nodes=1,
        cards_per_node=8,
        cores_per_node=8,
        memory_per_node_gb=1,
        max_time_minutes=24 * 60,
    )
    other = PartitionFactory(
        slug=f"cpu-jobs-{suffix}",
        cluster=slurm_cluster["cluster"],
        slurm_partition=slurm_cluster["cpu_partition"],
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
        justification="jobs from the browser",
        members=[request_services.MemberAccess(owner)],
    )
    request_services.submit_quota_request(request, by=owner)
    request_services.approve_quota_request(request, by=make_operator())

    def active():
        allocation = Allocation.objects.filter(request=request).first()
        return allocation if allocation and allocation.status == AllocationStatus.ACTIVE else None

    allocation = wait_for(active, timeout=40)
    assert allocation, "not provisioned:\n" + celery_worker_process["log"].read_text()[-4000:]
    assert wait_for(lambda: ldap.getent_passwd(name), timeout=10), "the node does not resolve the person"
    # The working directory exists on the (shared) filesystem and belongs to the person, as a home would.
    workdir = JOBS_ROOT / name
    workdir.mkdir(parents=True, exist_ok=True)
    os.chown(workdir, identity.uid, identity.uid)
    operator = make_operator()
    template = catalogue.create_job_template(
        by=operator,
        partitions=[partition],
        slug=f"pytorch-{suffix}",
        name_en="PyTorch training",
        name_zh="PyTorch 训练",
        summary_en="Train a model with PyTorch on the accelerator cards.",
        summary_zh="在加速卡上用 PyTorch 训练模型。",
        kind="pytorch",
        script=(
            "#!/bin/bash\n"
            'echo "training ${model} for ${epochs} epochs as uid=$(id -u)"\n'
            "sleep 3\n"
            'echo "finished ${model}"\n'
        ),
        parameters=[
            {
                "name": "model",
                "type": "choice",
                "label_en": "Model",
                "label_zh": "模型",
                "choices": ["resnet50", "bert-base"],
                "default": "resnet50",
            },
            {
                "name": "epochs",
                "type": "int",
                "label_en": "Epochs",
                "label_zh": "轮数",
                "default": 1,
                "min": 1,
                "max": 100,
            },
        ],
        nodes=1,
        cards_per_node=1,
        cpus_per_node=1,
        memory_gb=1,
        time_limit_minutes=5,
    )
    catalogue.publish_job_template(template, by=operator)
    try:
        yield {
            "owner": owner,
            "identity": ClusterIdentity.objects.get(pk=identity.pk),
            "allocation": allocation,
            "template": template,
            "other_partition": other,
            "worker": celery_worker_process,
        }
    finally:
        slurm.cancel_test_jobs()
        ldap.remove_entries([name, allocation.account_name])
        shutil.rmtree(workdir, ignore_errors=True)


def use_http(settings) -> None:
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http"


def test_a_template_job_runs_as_the_person_shows_its_output_and_is_counted(
    team, make_page, live_server, settings
):
    use_http(settings)
    identity, allocation = team["identity"], team["allocation"]
    page = make_page()
    sign_in(page, live_server.url, team["owner"].email)
    page.goto(live_server.url + "/compute/jobs/templates/")
    page.get_by_role("link", name="PyTorch training").first.click()
    page.get_by_role("link", name="Use this template").first.click()
    page.get_by_label("Epochs").fill("3")
    page.get_by_label("Model").select_option("bert-base")
    page.get_by_role("button", name="Submit the job").click()

    # The job's page follows the scheduler without a reload: pending or running, then completed.
    state = page.locator("#job-state")
    expect(state).to_have_text(__import__("re").compile("Pending|Running|Completed"), timeout=15_000)
    expect(state).to_have_text("Completed", timeout=40_000)
    expect(page.locator("#stdout-tail")).to_contain_text(
        f"training bert-base for 3 epochs as uid={identity.uid}"
    )
    expect(page.locator("#stdout-tail")).to_contain_text("finished bert-base")

    record = Submission.objects.get()
    assert record.cluster_user == identity.username and record.uid == identity.uid
    # On the node: the job ran as the person's uid (its output file is theirs; the script printed its uid).
    assert Path(record.stdout_path).stat().st_uid == identity.uid
    sacct = slurm.run(
        "sacct", "-n", "-X", "-P", "-j", record.job_id, "-o", "User,Account,State"
    ).stdout.strip()
    assert sacct == f"{identity.username}|{allocation.account_name}|COMPLETED", sacct

    # The usage ingest counts it on the allocation (slurmdbd records a finished job within a moment).
    def counted_job():
        ingest_usage()
        return Job.objects.filter(cluster=record.cluster, job_id=record.job_id, state="COMPLETED").first()

    counted = wait_for(counted_job, timeout=20, interval=1)
    assert counted, Job.objects.values_list("cluster", "job_id", "state")
    assert counted.allocation_id == allocation.pk and counted.cluster_user == identity.username


def test_refusals_before_slurm_and_slurms_own_reason(team, client):
    from compute.jobs import services

    owner, allocation = team["owner"], team["allocation"]
    base = dict(
        allocation=allocation,
        script="#!/bin/bash\ntrue\n",
        name="t",
        cards_per_node=1,
        cpus_per_node=1,
        memory_gb=1,
        time_limit_minutes=5,
    )
    with pytest.raises(services.DomainError) as wrong:
        services.submit_job(
            services.JobRequest(**base, partition=team["other_partition"].slurm_partition), by=owner
        )
    assert wrong.value.code == "wrong_partition"
    with pytest.raises(services.DomainError) as big:
        services.submit_job(services.JobRequest(**{**base, "cards_per_node": 9}), by=owner)
    assert big.value.code == "over_partition_limit"
    assert not Submission.objects.exists()
    # Slurm refuses what the portal cannot know: here the partition's settings in the portal promise more
    # memory than the node has (an operator's slip), and Slurm's own reason is shown.
    partition = allocation.partition
    partition.memory_per_node_gb = 4096
    partition.save(update_fields=["memory_per_node_gb"])
    allocation.refresh_from_db()
    with pytest.raises(services.SlurmRefused) as slurm_says:
        services.submit_job(
            services.JobRequest(**{**base, "allocation": allocation, "memory_gb": 2048}), by=owner
        )
    assert "Slurm refused the job: Requested node configuration is not available" in str(slurm_says.value)
    assert not Submission.objects.exists()


def test_slurmrestd_unreachable_is_said_and_the_queue_recovers(team, client, settings):
    from compute.jobs import services

    owner, allocation = team["owner"], team["allocation"]
    record = services.submit_job(
        services.JobRequest(
            allocation=allocation,
            script="#!/bin/bash\nsleep 20\n",
            name="waits",
            cards_per_node=1,
            cpus_per_node=1,
            memory_gb=1,
            time_limit_minutes=5,
        ),
        by=owner,
    )
    client.force_login(owner)
    working = settings.CLUSTER_BACKEND_OPTIONS
    settings.CLUSTER_BACKEND_OPTIONS = {**working, "rest_url": "http://127.0.0.1:9"}
    page = client.get("/compute/jobs/").content.decode()
    assert "cannot be reached" in page and f"/compute/jobs/{record.cluster}/{record.job_id}/" not in page
    # Nothing is lost: the job runs on, and the next look finds it.
    settings.CLUSTER_BACKEND_OPTIONS = working
    page = client.get("/compute/jobs/").content.decode()
    assert "cannot be reached" not in page and f"/compute/jobs/{record.cluster}/{record.job_id}/" in page
