"""The Slurm backend's jobs against the real slurmrestd (JWT) of the test cluster (deploy/slurm/slurm-up.sh):
a job submitted as a person runs as their uid, is listed and read back, is cancelled by its owner and not by
someone else; Slurm's refusals come back as Slurm's words; slurmrestd down is ClusterUnreachable."""

import os
import shutil
import uuid
from pathlib import Path

import pytest

from compute.backends.base import ClusterUnreachable, JobRefused, JobSubmission
from compute.backends.slurm import SlurmBackend
from tests.integration import slurm
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

slurm_cluster = slurm.slurm_cluster
unix_user = slurm.unix_user

REST_URL = slurm.REST_URL
JOBS = Path(os.environ.get("LAB", "/tmp/slurmlab")) / "jobs"


@pytest.fixture
def rest(slurm_cluster):
    slurm.require_slurmrestd(REST_URL)
    backend = SlurmBackend(cluster=slurm_cluster["cluster"], rest_url=REST_URL)
    yield backend
    slurm.cancel_test_jobs()


@pytest.fixture
def person(unix_user, slurm_cluster):
    """A Linux user with an association under a test account bound to the accelerator partition, and a
    working directory of their own."""
    name = unix_user(f"{slurm.USER_PREFIX}{uuid.uuid4().hex[:6]}")
    account = slurm.new_account_name("jobs")
    slurm.run("sacctmgr", "-i", "add", "account", account)
    slurm.run(
        "sacctmgr", "-i", "add", "user", name, f"account={account}", f"partition={slurm_cluster['partition']}"
    )
    directory = JOBS / name
    directory.mkdir(parents=True, exist_ok=True)
    shutil.chown(directory, name, name)
    yield {"name": name, "account": account, "directory": directory}
    shutil.rmtree(directory, ignore_errors=True)
    slurm.run("sacctmgr", "-i", "delete", "account", account, check=False)


def submission(person, slurm_cluster, **overrides) -> JobSubmission:
    values = {
        "script": '#!/bin/bash\necho "ran as $(id -un) uid=$(id -u)"\nsleep 1\n',
        "name": "probe",
        "account": person["account"],
        "partition": slurm_cluster["partition"],
        "nodes": 1,
        "cpus_per_node": 1,
        "cards_per_node": 1,
        "memory_mb": 256,
        "time_limit_minutes": 2,
        "working_directory": str(person["directory"]),
        "stdout_path": f"{person['directory']}/probe-%j.out",
        "stderr_path": f"{person['directory']}/probe-%j.err",
    }
    values.update(overrides)
    return JobSubmission(**values)


def submit(rest, person, slurm_cluster, **overrides) -> str:
    """Submit, retrying "Invalid account" for a few seconds (a new association reaches slurmctld late)."""
    holder = {}

    def attempt():
        try:
            holder["id"] = rest.submit_job(person["name"], submission(person, slurm_cluster, **overrides))
            return True
        except JobRefused as refusal:
            if "Invalid account" not in str(refusal):
                raise
            return False

    assert wait_for(attempt, timeout=10), "Slurm kept refusing the new association"
    return holder["id"]


def test_a_job_runs_as_the_person_and_is_listed_and_read_back(rest, person, slurm_cluster):
    job_id = submit(rest, person, slurm_cluster)
    listed = wait_for(
        lambda: [job for job in rest.list_jobs(accounts=[person["account"]]) if job.job_id == job_id]
    )
    assert listed and listed[0].user == person["name"] and listed[0].account == person["account"]
    assert listed[0].cards == 1 and listed[0].partition == slurm_cluster["partition"]
    done = wait_for(lambda: (job := rest.get_job(job_id)) and job.state == "COMPLETED" and job, timeout=30)
    assert done, rest.get_job(job_id)
    assert done.exit_code == 0 and done.start_time and done.end_time and done.elapsed_seconds >= 1
    output = Path(done.stdout_path)
    assert output == person["directory"] / f"probe-{job_id}.out"
    text = output.read_text()
    uid = int(slurm.run("id", "-u", person["name"]).stdout)
    assert f"ran as {person['name']} uid={uid}" in text, text
    assert output.stat().st_uid == uid  # written by the job itself, as the person
    assert rest.list_jobs(accounts=["aicctest_nobody"]) == []


def test_the_owner_cancels_and_someone_else_cannot(rest, person, slurm_cluster, unix_user):
    job_id = submit(rest, person, slurm_cluster, script="#!/bin/bash\nsleep 60\n")
    stranger = unix_user(f"{slurm.USER_PREFIX}x{uuid.uuid4().hex[:5]}")
    with pytest.raises(JobRefused) as refused:
        rest.cancel_job(job_id, as_user=stranger)
    assert "permission denied" in str(refused.value).lower()
    assert rest.get_job(job_id).state in ("PENDING", "RUNNING")
    rest.cancel_job(job_id, as_user=person["name"])
    assert wait_for(lambda: rest.get_job(job_id).state == "CANCELLED", timeout=10)
    rest.cancel_job(job_id, as_user=person["name"])  # again: nothing to do, no error


def test_slurms_refusals_come_back_in_slurms_words(rest, person, slurm_cluster):
    with pytest.raises(JobRefused) as wrong_partition:
        rest.submit_job(
            person["name"], submission(person, slurm_cluster, partition=slurm_cluster["cpu_partition"])
        )
    assert "Invalid account or account/partition combination" in str(wrong_partition.value)
    with pytest.raises(JobRefused) as too_long:
        submit(rest, person, slurm_cluster, time_limit_minutes=3 * 24 * 60)
    # Over the partition's MaxTime (1 day here): Slurm 22.05 says it this way.
    assert "Requested partition configuration not available now" in str(too_long.value)
    assert rest.get_job("999999999") is None


def test_slurmrestd_down_is_unreachable_and_a_bad_key_is_refused(person, slurm_cluster, tmp_path):
    down = SlurmBackend(cluster=slurm_cluster["cluster"], rest_url="http://127.0.0.1:9")
    with pytest.raises(ClusterUnreachable):
        down.list_jobs()
    with pytest.raises(ClusterUnreachable):
        down.submit_job(person["name"], submission(person, slurm_cluster))
    wrong_key = tmp_path / "other.key"
    wrong_key.write_bytes(os.urandom(32))
    forged = SlurmBackend(cluster=slurm_cluster["cluster"], rest_url=REST_URL, jwt_key_file=str(wrong_key))
    with pytest.raises(Exception) as refused:
        forged.submit_job(person["name"], submission(person, slurm_cluster))
    assert not isinstance(refused.value, ClusterUnreachable)
