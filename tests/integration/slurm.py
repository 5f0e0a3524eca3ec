"""Fixtures and helpers for tests against the real Slurm cluster that deploy/slurm/slurm-up.sh starts.

A plain module (not a conftest): a test module imports what it uses, for example
``slurm_cluster = slurm.slurm_cluster`` after ``from tests.integration import slurm`` (a plain import of the
fixture would be flagged by ruff as unused, then as redefined by the test's parameter).

The tests submit jobs on behalf of other Linux users (``sbatch --uid/--gid``), so they run as root, as CI
does. Everything they create is named with ``ACCOUNT_PREFIX`` / ``USER_PREFIX`` and removed at the end of
the session (and at its start, in case an earlier run was killed).
"""

import os
import pwd
import subprocess
import time
import uuid

import pytest

from compute.backends.slurm import SlurmBackend
from tests.conftest import IN_CI

# The partitions deploy/slurm/slurm-up.sh makes (the same variables configure it): the accelerator partition
# (default; billing 1 per card, cores and memory as their share of the node's cards) and the CPU partition
# (billing 1 per core).
ACCEL_PARTITION = os.environ.get("ACCEL_PARTITION", "npu")
CPU_PARTITION = os.environ.get("CPU_PARTITION", "cpu")
ACCOUNT_PREFIX = "aicctest_"
USER_PREFIX = "aicctu_"
COMMAND_TIMEOUT = 30


def run(*args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess:
    """Run a Slurm (or system) command for a test, independently of the backend under test."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}: {result.stdout}{result.stderr}")
    return result


def _cluster_problem() -> str | None:
    """Why the cluster cannot be used by these tests, or None when it can."""
    if os.geteuid() != 0:
        return "the Slurm tests submit jobs as other users and must run as root"
    try:
        ping = run("scontrol", "ping", check=False, timeout=10)
        if "is UP" not in ping.stdout:
            return f"scontrol ping: {((ping.stdout + ping.stderr).strip() or 'no answer').splitlines()[0]}"
        clusters = run(
            "sacctmgr", "-n", "-P", "show", "cluster", "format=cluster,controlport", check=False, timeout=10
        )
        if clusters.returncode != 0 or not clusters.stdout.strip():
            return f"sacctmgr show cluster: {(clusters.stdout + clusters.stderr).strip() or 'no cluster'}"
        if clusters.stdout.split()[0].endswith("|0"):
            # It started while slurmdbd was down: it knows no new account (slurm-up.sh restarts it).
            return "slurmctld is not registered with slurmdbd (ControlPort 0)"
    except FileNotFoundError as exc:
        return f"the Slurm client tools are not installed ({exc.filename})"
    except subprocess.TimeoutExpired as exc:
        return f"{' '.join(exc.cmd)} did not answer within {exc.timeout} s"
    return None


def new_account_name(label: str) -> str:
    """A fresh account name for one test: usage counters of an earlier run never carry over."""
    return f"{ACCOUNT_PREFIX}{label}_{uuid.uuid4().hex[:6]}"


def assocs(account: str) -> dict[str, tuple[str, str]]:
    """The account's associations read with sacctmgr directly: {user ('' = the account): (GrpTRESMins,
    GrpSubmitJobs)}."""
    out = run(
        "sacctmgr", "-n", "-P", "show", "assoc", "where", f"account={account}",
        "format=account,user,grptresmins,grpsubmitjobs",
    ).stdout  # fmt: skip
    result = {}
    for line in out.splitlines():
        if line.strip():
            _account, user, grp_tres_mins, grp_submit_jobs = line.split("|")
            result[user] = (grp_tres_mins, grp_submit_jobs)
    return result


def assoc_partitions(account: str) -> dict[str, set[str]]:
    """The partitions each user's associations in the account are bound to ('' = none), read with sacctmgr."""
    out = run(
        "sacctmgr", "-n", "-P", "show", "assoc", "where", f"account={account}", "format=user,partition"
    ).stdout
    result: dict[str, set[str]] = {}
    for line in out.splitlines():
        user, _, partition = line.strip().partition("|")
        if user:
            result.setdefault(user, set()).add(partition)
    return result


def sbatch(
    account: str,
    user: str,
    *,
    command: str = "true",
    gres: str = "npu:1",
    time_limit: int | None = None,
    partition: str = ACCEL_PARTITION,
    cpus: int | None = None,
    settle: float = 5,
) -> subprocess.CompletedProcess:
    """Submit a batch job as ``user`` (root may use --uid/--gid in Slurm 22.05); the result is not checked.

    ``gres=""`` asks for no card (a CPU-only job); ``cpus`` sets --cpus-per-task. "Invalid account" is
    retried for ``settle`` seconds (a new association may still be on its way to slurmctld): 0 when the
    refusal is what the test expects.
    """
    args = [
        "sbatch", "--parsable", f"--uid={user}", f"--gid={user}", f"--account={account}",
        f"--partition={partition}", "--chdir=/tmp", "--output=/dev/null", "--error=/dev/null",
    ]  # fmt: skip
    if gres:
        args.append(f"--gres={gres}")
    if cpus is not None:
        args.append(f"--cpus-per-task={cpus}")
    if time_limit is not None:
        args.append(f"--time={time_limit}")
    deadline = time.monotonic() + settle
    while True:
        result = run(*args, "--wrap", command, check=False)
        # slurmdbd sends new associations to slurmctld asynchronously: give a fresh one a moment.
        if "Invalid account" not in result.stderr or time.monotonic() > deadline:
            return result
        time.sleep(0.3)


def submit_job(account: str, user: str, **options) -> str:
    """Submit a batch job (see ``sbatch``) and return its id; fail the test if Slurm refuses it."""
    result = sbatch(account, user, **options)
    assert result.returncode == 0, f"sbatch refused the job: {result.stdout}{result.stderr}"
    return result.stdout.strip().split(";")[0]


def job_state(job_id: str) -> tuple[str, str]:
    """(state, reason) of a job: from slurmctld while it knows the job, else from accounting."""
    live = run("squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T|%r", check=False).stdout.strip()
    if live:
        state, _, reason = live.splitlines()[0].partition("|")
        return state, reason
    past = run("sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State,Reason", check=False).stdout.strip()
    if past:
        state, _, reason = past.splitlines()[0].partition("|")
        return state.split(" ")[0], reason
    return "UNKNOWN", ""


def wait_for_job(job_id: str, states: set[str], *, reason: str | None = None, timeout: float = 30) -> tuple:
    """Poll until the job is in one of ``states`` (and has ``reason``, if given); fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        state, current_reason = job_state(job_id)
        if state in states and (reason is None or current_reason == reason):
            return state, current_reason
        if time.monotonic() > deadline:
            pytest.fail(
                f"job {job_id} is {state} ({current_reason}) after {timeout} s, not {states} {reason or ''}"
            )
        time.sleep(0.3)


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.3):
    """The predicate's first true value, polled for at most ``timeout`` seconds (its last value otherwise)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def cancel_jobs(*job_ids: str) -> None:
    if job_ids:
        run("scancel", *job_ids, check=False)


def cancel_test_jobs(timeout: float = 20) -> None:
    """Cancel every job of a test account and wait (bounded) until none holds the node's cores or cards."""

    def queued() -> list[str]:
        out = run("squeue", "-h", "-o", "%i|%a", check=False).stdout
        return [
            job
            for job, _, account in (line.partition("|") for line in out.split())
            if account.startswith(ACCOUNT_PREFIX)
        ]

    jobs = queued()
    if jobs:
        cancel_jobs(*jobs)
        wait_for(lambda: not queued(), timeout=timeout)


def remove_test_accounts() -> None:
    """Cancel the jobs of every test account, then delete the accounts and their users' associations."""
    out = run("sacctmgr", "-n", "-P", "show", "account", "format=account", check=False).stdout
    accounts = [name for name in out.split() if name.startswith(ACCOUNT_PREFIX)]
    for account in accounts:
        run("scancel", f"--account={account}", check=False)
    for account in accounts:
        deadline = time.monotonic() + 20
        while True:  # Slurm refuses while the cancelled jobs still run
            users = run("sacctmgr", "-i", "delete", "user", "where", f"account={account}", check=False)
            if "Job(s) active" not in users.stdout + users.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        run("sacctmgr", "-i", "delete", "account", "where", f"name={account}", check=False)


@pytest.fixture(scope="session")
def slurm_cluster():
    """The running cluster: fail in CI when it is missing, skip loudly elsewhere."""
    problem = _cluster_problem()
    if problem:
        if IN_CI:
            pytest.fail(
                f"Slurm is required in CI: deploy/slurm/slurm-up.sh must run before pytest ({problem})",
                pytrace=False,
            )
        pytest.skip(f"SKIPPED, SLURM MISSING: run deploy/slurm/slurm-up.sh as root ({problem})")
    remove_test_accounts()
    cluster = run("sacctmgr", "-n", "-P", "show", "cluster", "format=cluster").stdout.split()[0]
    yield {"cluster": cluster, "partition": ACCEL_PARTITION, "cpu_partition": CPU_PARTITION}
    remove_test_accounts()


@pytest.fixture
def slurm_backend(slurm_cluster):
    """The backend under test, configured as the portal configures it by default (no options).

    The test's jobs are cancelled afterwards: the node has few cores, and a job left running would keep
    the next test's jobs pending.
    """
    yield SlurmBackend()
    cancel_test_jobs()


@pytest.fixture(scope="session")
def unix_user():
    """A factory: ``unix_user("aicctu_ann")`` makes sure the Linux user exists (jobs run as it).

    Users created here are deleted at the end of the session; existing ones are left alone.
    """
    created = []

    def make(name: str) -> str:
        try:
            pwd.getpwnam(name)
        except KeyError:
            run("useradd", "--no-create-home", "--user-group", "--shell", "/bin/sh", name)
            created.append(name)
        return name

    yield make
    for name in created:
        run("scancel", f"--user={name}", check=False)
        run("userdel", name, check=False)


REST_URL = os.environ.get("SLURM_REST_URL", "http://127.0.0.1:6820")


def require_slurmrestd(url: str = REST_URL) -> None:
    """slurmrestd answers at ``url`` (401 without a token): fail in CI when it does not, skip loudly elsewhere."""
    import requests

    try:
        status = requests.get(f"{url}/openapi/v3", timeout=5).status_code
    except requests.RequestException as error:
        status = str(error)
    if status in (200, 401):
        return
    message = f"slurmrestd does not answer at {url} ({status}): deploy/slurm/slurm-up.sh with SLURM_REST=1"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip("SKIPPED, SLURMRESTD MISSING: " + message)
