"""SlurmBackend against the real single-node cluster of deploy/slurm/slurm-up.sh (Slurm 22.05).

The cluster has two partitions on one node of 8 cores and 8 cards: the accelerator partition (billing 1 per
card, 1 per core, memory as its share of the cards) and the CPU partition (billing 1 per core).
Cluster state is checked with sacctmgr/squeue/sacct directly, not only through the backend under test.
"""

import os
import re
import stat
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from compute.backends.base import AccountState, Change, ClusterError, DesiredAccount, QueuedJob
from compute.backends.slurm import SlurmBackend
from tests.integration import slurm
from tests.integration.slurm import (
    ACCEL_PARTITION,
    CPU_PARTITION,
    assoc_partitions,
    assocs,
    cancel_jobs,
    job_state,
    new_account_name,
    run,
    sbatch,
    submit_job,
    wait_for,
    wait_for_job,
)

# The fixtures of tests/integration/slurm.py, made visible to pytest in this module.
slurm_cluster = slurm.slurm_cluster
slurm_backend = slurm.slurm_backend
unix_user = slurm.unix_user

pytestmark = pytest.mark.integration

ANN, BEN = "aicctu_ann", "aicctu_ben"
LAB = os.environ.get("LAB", "/tmp/slurmlab")
ROOT = Path(__file__).resolve().parents[2]
HELD = "AssocGrpBillingMinutes"  # the reason of a job held by GrpTRESMins=billing (account or user)


@pytest.fixture
def people(unix_user):
    return unix_user(ANN), unix_user(BEN)


def desired(
    name,
    users=(),
    limits=None,
    blocked=False,
    description="Test organisation",
    partition=ACCEL_PARTITION,
    user_limits=None,
):
    return DesiredAccount(
        name=name,
        description=description,
        users=frozenset(users),
        limits=limits or {},
        blocked=blocked,
        partition=partition,
        user_limits=user_limits or {},
    )


def script(tmp_path, name, body):
    """An executable stand-in for a Slurm tool."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def alloc_tres(job_id: str) -> dict[str, str]:
    """AllocTRES of a job as accounting has it, read with sacct directly."""
    out = run("sacct", "-n", "-X", "-P", "-j", job_id, "-o", "AllocTRES").stdout.strip()
    return dict(item.split("=", 1) for item in out.split(",") if "=" in item)


def test_converge_creates_the_account_bound_users_caps_and_limits_and_a_second_run_changes_nothing(
    slurm_cluster, people, tmp_path
):
    # A sacctmgr that logs its arguments, so the second run can be shown to modify nothing.
    log = tmp_path / "sacctmgr.log"
    backend = SlurmBackend(sacctmgr=script(tmp_path, "sacctmgr", f'echo "$*" >> {log}; exec sacctmgr "$@"'))
    name = new_account_name("create")
    want = desired(
        name,
        people,
        {"billing": 6000},
        description='未来智能 "AI" Lab | Shenzhen\nline two',
        user_limits={BEN: 600},
    )

    changes = backend.converge(want)

    assert changes == [
        Change("add_account", name),
        Change("set_limits", name, "billing=6000"),
        Change("add_user", name, ANN),
        Change("add_user", name, BEN),
        Change("set_user_limit", name, f"{BEN}=600"),
    ]
    assert assocs(name) == {"": ("billing=6000", ""), ANN: ("", ""), BEN: ("billing=600", "")}
    assert assoc_partitions(name) == {ANN: {ACCEL_PARTITION}, BEN: {ACCEL_PARTITION}}
    described = run("sacctmgr", "-n", "-P", "show", "account", name, "format=description").stdout.strip()
    assert described == "未来智能 ai lab shenzhen line two"  # sacctmgr lowercases; quotes and | are dropped
    assert backend.read_account(name) == AccountState(
        name,
        frozenset(people),
        {"billing": 6000},
        False,
        partitions=frozenset({ACCEL_PARTITION}),
        user_limits={BEN: 600},
    )

    log.write_text("")
    assert backend.converge(want) == []
    assert backend.converge(want) == []
    commands = log.read_text().splitlines()
    assert commands and all(command.startswith("-n -P show ") for command in commands), commands


def test_changing_limits_caps_partition_and_users_converges(slurm_backend, people):
    name = new_account_name("change")
    # An allocation as the portal made them before billing: gres/npu limit, users bound to no partition.
    slurm_backend.converge(desired(name, [ANN, BEN], {"gres/npu": 6000, "cpu": 600}, partition=""))
    assert assoc_partitions(name) == {ANN: {""}, BEN: {""}}

    changes = slurm_backend.converge(desired(name, [ANN, BEN], {"billing": 120}, user_limits={ANN: 60}))

    assert changes == [
        Change("set_limits", name, "billing=120"),
        Change("set_partition", name, f"{ANN}={ACCEL_PARTITION}"),
        Change("set_user_limit", name, f"{ANN}=60"),
        Change("set_partition", name, f"{BEN}={ACCEL_PARTITION}"),
        Change("remove_user", name, f"{ANN} (partition any)"),
        Change("remove_user", name, f"{BEN} (partition any)"),
    ]
    # The old TRES are cleared with -1; every user is bound to the partition, the unbound ones are gone.
    assert assocs(name) == {"": ("billing=120", ""), ANN: ("billing=60", ""), BEN: ("", "")}
    assert assoc_partitions(name) == {ANN: {ACCEL_PARTITION}, BEN: {ACCEL_PARTITION}}

    # Nobody has a job: a user let go is deleted at once; a cap is changed and cleared.
    assert slurm_backend.converge(desired(name, [BEN], {"billing": 120}, user_limits={BEN: 30})) == [
        Change("set_user_limit", name, f"{BEN}=30"),
        Change("remove_user", name, ANN),
    ]
    assert slurm_backend.converge(desired(name, [BEN], {"billing": 120})) == [
        Change("set_user_limit", name, f"{BEN}=none")
    ]
    assert slurm_backend.converge(desired(name, [BEN])) == [Change("set_limits", name, "none")]
    assert assocs(name) == {"": ("", ""), BEN: ("", "")}
    assert slurm_backend.converge(desired(name, [BEN])) == []


def test_a_job_on_another_partition_is_refused_and_the_same_job_on_the_bound_one_runs(slurm_backend, people):
    name = new_account_name("bound")
    slurm_backend.converge(desired(name, [ANN], {"billing": 600}))

    accepted = submit_job(name, ANN, command="true", gres="", time_limit=1)
    refused = sbatch(name, ANN, command="true", gres="", time_limit=1, partition=CPU_PARTITION, settle=0)

    assert refused.returncode != 0
    assert "Invalid account or account/partition combination specified" in refused.stderr
    wait_for_job(accepted, {"COMPLETED"}, timeout=30)
    assert slurm_backend.read_account(name).partitions == {ACCEL_PARTITION}


def test_blocked_account_refuses_new_jobs_and_keeps_running_ones(slurm_backend, people):
    name = new_account_name("block")
    slurm_backend.converge(desired(name, [ANN]))
    running = submit_job(name, ANN, command="sleep 60")
    wait_for_job(running, {"RUNNING"})

    assert slurm_backend.converge(desired(name, [ANN], blocked=True)) == [Change("block", name)]

    assert assocs(name)[""] == ("", "0")
    assert slurm_backend.read_account(name).blocked is True
    refused = sbatch(name, ANN)
    # Slurm 22.05 rejects the submission outright; nothing is queued.
    assert refused.returncode != 0
    assert "AssocGrpSubmitJobsLimit" in refused.stderr
    assert "Job violates accounting/QOS policy" in refused.stderr
    assert job_state(running)[0] == "RUNNING"
    assert slurm_backend.active_jobs(name) == 1
    assert slurm_backend.converge(desired(name, [ANN], blocked=True)) == []

    assert slurm_backend.converge(desired(name, [ANN])) == [Change("unblock", name)]
    assert assocs(name)[""] == ("", "")
    accepted = submit_job(name, ANN)
    assert job_state(running)[0] == "RUNNING"
    cancel_jobs(running, accepted)


def test_job_over_the_billing_limit_is_held_with_its_reason_until_the_limit_is_raised(slurm_backend, people):
    name = new_account_name("held")
    slurm_backend.converge(desired(name, [ANN], {"billing": 1}))

    # 1 card x 5 minutes of time limit = 5 billing-minutes > 1: accepted, but held.
    job = submit_job(name, ANN, command="sleep 30", gres="npu:1", time_limit=5)
    wait_for_job(job, {"PENDING"}, reason=HELD, timeout=15)
    assert slurm_backend.queued_jobs(name) == [QueuedJob(job, ANN, ACCEL_PARTITION, "PENDING", HELD)]

    raised = slurm_backend.converge(desired(name, [ANN], {"billing": 10}))
    assert raised == [Change("set_limits", name, "billing=10")]
    wait_for_job(job, {"RUNNING", "COMPLETED"}, timeout=15)
    assert wait_for(lambda: slurm_backend.queued_jobs(name)[0].state == "RUNNING", timeout=10)
    assert slurm_backend.queued_jobs(name) == [QueuedJob(job, ANN, ACCEL_PARTITION, "RUNNING", "None")]
    cancel_jobs(job)


def test_blocking_does_not_hold_jobs_that_were_already_pending(slurm_backend, people):
    name = new_account_name("queued")
    slurm_backend.converge(desired(name, [ANN], {"billing": 1}))
    job = submit_job(name, ANN, command="sleep 30", gres="npu:1", time_limit=5)
    wait_for_job(job, {"PENDING"}, reason=HELD, timeout=15)

    # GrpSubmitJobs=0 refuses submissions only: a job already queued starts once its limit allows it.
    changes = slurm_backend.converge(desired(name, [ANN], {"billing": 10}, blocked=True))
    assert changes == [Change("block", name), Change("set_limits", name, "billing=10")]
    wait_for_job(job, {"RUNNING", "COMPLETED"}, timeout=15)
    assert slurm_backend.active_jobs(name) == 1
    cancel_jobs(job)


def test_billing_per_partition_in_accounting_and_in_the_schedulers_usage(
    slurm_backend, slurm_cluster, people
):
    """AllocTRES billing: 1 per card on the accelerator partition, where cores bill as their share of the
    node's cards (8 cores, 8 cards: 1 per core) and MAX_TRES takes the largest; 1 per core on the CPU
    partition. The scheduler counts billing x elapsed seconds against GrpTRESMins, in whole minutes."""
    accel, cpus = new_account_name("billnpu"), new_account_name("billcpu")
    slurm_backend.converge(desired(accel, [ANN], {"billing": 600}))
    slurm_backend.converge(desired(cpus, [ANN], {"billing": 600}, partition=CPU_PARTITION))
    since = timezone.now() - timedelta(seconds=2)

    cards = submit_job(accel, ANN, command="sleep 1", gres="npu:2", time_limit=1)
    cores_on_accel = submit_job(accel, ANN, command="sleep 16", gres="", cpus=4, time_limit=1)
    cores = submit_job(cpus, ANN, command="sleep 1", gres="", cpus=3, time_limit=1, partition=CPU_PARTITION)
    for job_id in (cards, cores_on_accel, cores):
        wait_for_job(job_id, {"COMPLETED"}, timeout=60)

    assert alloc_tres(cards)["billing"] == "2"  # 2 cards, 1 core: max(2, 1)
    assert alloc_tres(cores_on_accel)["billing"] == "4"  # no card, 4 cores: billed all the same
    assert alloc_tres(cores)["billing"] == "3"

    def finished():
        return next(
            (j for j in slurm_backend.jobs(since) if j.job_id == cores_on_accel and j.end is not None), None
        )

    job = wait_for(finished, timeout=15)
    assert job is not None, f"job {cores_on_accel} not in sacct"
    assert (job.cluster, job.account, job.user, job.partition, job.state) == (
        slurm_cluster["cluster"],
        accel,
        ANN,
        ACCEL_PARTITION,
        "COMPLETED",
    )
    assert job.tres == {"billing": 4, "cpu": 4}
    assert 16 <= job.elapsed_seconds <= 40
    current = timezone.get_current_timezone()
    for moment in (job.submit, job.start, job.end):
        assert moment.tzinfo is not None and moment.utcoffset() == moment.astimezone(current).utcoffset()
    assert since - timedelta(seconds=1) <= job.submit <= job.start <= job.end <= timezone.now()
    assert abs((job.end - job.start).total_seconds() - job.elapsed_seconds) <= 1
    earlier = slurm_backend.jobs(since - timedelta(hours=2), since - timedelta(hours=1))
    assert cores_on_accel not in {j.job_id for j in earlier}

    # What slurmctld counts against GrpTRESMins=billing: billing x elapsed of every job, whole minutes.
    ran = {j.job_id: j for j in slurm_backend.jobs(since) if j.account == accel}
    expected = sum(j.tres["billing"] * j.elapsed_seconds for j in ran.values()) // 60
    assert expected >= 1
    usage = wait_for(lambda: slurm_backend.usage_minutes(accel).get("billing"), timeout=10)
    assert usage == expected
    assert slurm_backend.usage_minutes(accel)["gres/npu"] == 0  # 2 cards x ~1 s

    # Used up: the next job, even without a card, is held until the limit leaves room for it.
    slurm_backend.converge(desired(accel, [ANN], {"billing": usage + 1}))
    held = submit_job(accel, ANN, command="true", gres="", cpus=2, time_limit=1)
    wait_for_job(held, {"PENDING"}, reason=HELD, timeout=15)
    cancel_jobs(held)

    # The usage counters start again from zero; the limit stays.
    assert slurm_backend.reset_usage(accel) == [Change("reset_usage", accel)]
    assert wait_for(lambda: slurm_backend.usage_minutes(accel).get("billing") == 0, timeout=10)
    assert assocs(accel)[""] == (f"billing={usage + 1}", "")
    assert slurm_backend.reset_usage(new_account_name("gone")) == []


def test_a_cap_holds_a_second_job_of_that_person_while_another_persons_job_runs(slurm_backend, people):
    name = new_account_name("cap")
    slurm_backend.converge(desired(name, [ANN, BEN], {"billing": 600}, user_limits={ANN: 5}))

    # 1 card x 5 minutes fits Ann's cap exactly; while it runs, its time left counts against the cap.
    first = submit_job(name, ANN, command="sleep 30", gres="npu:1", time_limit=5)
    wait_for_job(first, {"RUNNING"}, timeout=15)
    second = submit_job(name, ANN, command="true", gres="npu:1", time_limit=1)
    other = submit_job(name, BEN, command="sleep 3", gres="npu:1", time_limit=1)

    wait_for_job(second, {"PENDING"}, reason=HELD, timeout=15)
    wait_for_job(other, {"RUNNING", "COMPLETED"}, timeout=15)
    assert job_state(second)[:2] == ("PENDING", HELD)
    assert assocs(name)[ANN] == ("billing=5", "")
    cancel_jobs(first, second, other)


def test_a_person_let_go_keeps_a_running_job_cannot_submit_and_is_deleted_once_it_ends(slurm_backend, people):
    name = new_account_name("leave")
    want = desired(name, [BEN], {"billing": 600})
    slurm_backend.converge(desired(name, [ANN, BEN], {"billing": 600}))
    running = submit_job(name, ANN, command="sleep 6", gres="npu:1", time_limit=1)
    wait_for_job(running, {"RUNNING"}, timeout=15)

    assert slurm_backend.converge(want) == [Change("block_user", name, ANN)]

    assert assocs(name)[ANN] == ("", "0")
    state = slurm_backend.read_account(name)
    assert (state.users, state.blocked_users, state.active_users) == ({ANN, BEN}, {ANN}, {BEN})
    refused = sbatch(name, ANN, command="true", time_limit=1)
    assert refused.returncode != 0 and "AssocGrpSubmitJobsLimit" in refused.stderr
    assert slurm_backend.converge(want) == []  # still running: still there, still blocked
    submit_job(name, BEN, command="true", time_limit=1)  # the others go on

    assert wait_for_job(running, {"COMPLETED", "CANCELLED"}, timeout=30)[0] == "COMPLETED"
    assert wait_for(lambda: slurm_backend.converge(want), timeout=15) == [Change("remove_user", name, ANN)]
    assert set(assocs(name)) == {"", BEN}
    assert slurm_backend.read_account(name).users == {BEN}


def test_remove_account_cancels_what_is_left_and_removes_everything(slurm_backend, people):
    name = new_account_name("remove")
    slurm_backend.converge(desired(name, [ANN, BEN], {"billing": 600}))
    ben_job = submit_job(name, BEN, command="sleep 60")
    wait_for_job(ben_job, {"RUNNING"})

    slurm_backend.converge(desired(name, [ANN, BEN], {"billing": 600}, blocked=True))
    assert slurm_backend.active_jobs(name) == 1
    assert slurm_backend.remove_account(name) == [
        Change("remove_user", name, ANN),
        Change("remove_user", name, BEN),
        Change("remove_account", name),
    ]
    assert assocs(name) == {}
    assert run("sacctmgr", "-n", "-P", "show", "account", name, "format=account").stdout.strip() == ""
    wait_for_job(ben_job, {"CANCELLED"}, timeout=10)
    assert slurm_backend.active_jobs(name) == 0
    assert slurm_backend.read_account(name) is None
    assert slurm_backend.remove_account(name) == []


def test_list_accounts_returns_only_the_prefixed_accounts(slurm_backend, people):
    prefix = new_account_name("list") + "_"
    slurm_backend.converge(desired(prefix + "b", [BEN], blocked=True, partition=CPU_PARTITION))
    slurm_backend.converge(desired(prefix + "a", [ANN, BEN], {"billing": 60}, user_limits={ANN: 6}))

    assert slurm_backend.list_accounts(prefix) == [
        AccountState(
            prefix + "a",
            frozenset({ANN, BEN}),
            {"billing": 60},
            False,
            partitions=frozenset({ACCEL_PARTITION}),
            user_limits={ANN: 6},
        ),
        AccountState(prefix + "b", frozenset({BEN}), {}, True, partitions=frozenset({CPU_PARTITION})),
    ]
    assert slurm_backend.list_accounts(prefix + "zzz") == []
    assert slurm_backend.read_account(prefix + "zzz") is None
    assert slurm_backend.cluster_name == slurm_backend.label.split()[-1]


def test_ping_answers_and_raises_quickly_when_slurmctld_is_stopped(slurm_cluster):
    backend = SlurmBackend(cluster=slurm_cluster["cluster"])
    assert re.fullmatch(r"Slurm cluster \S+: Slurmctld\(primary\) at \S+ is UP", backend.ping(timeout=5))

    pid = int(Path(f"{LAB}/run/slurmctld.pid").read_text().strip())
    os.kill(pid, 15)
    try:
        assert wait_for(lambda: not Path(f"/proc/{pid}").exists(), timeout=30)
        started = time.monotonic()
        with pytest.raises(ClusterError, match="DOWN|no answer within"):
            backend.ping(timeout=3)
        assert time.monotonic() - started < 4
    finally:
        subprocess.run([str(ROOT / "deploy/slurm/slurm-up.sh")], check=True, timeout=300, capture_output=True)
    assert "is UP" in backend.ping(timeout=5)


def test_unreachable_or_missing_tools_raise_cluster_error(slurm_cluster, tmp_path, monkeypatch):
    name = new_account_name("errors")

    with pytest.raises(ClusterError, match="not installed"):
        SlurmBackend(sacctmgr=str(tmp_path / "no-sacctmgr")).read_account(name)

    with pytest.raises(ClusterError, match="doesn't exist"):
        SlurmBackend(cluster="nosuchcluster").converge(desired(name))

    slow = script(tmp_path, "slow", "sleep 5")
    with pytest.raises(ClusterError, match="no answer within 0.5 s"):
        SlurmBackend(cluster=slurm_cluster["cluster"], sacctmgr=slow, timeout=0.5).read_account(name)
    with pytest.raises(ClusterError, match="no answer within 0.5 s"):
        SlurmBackend(cluster=slurm_cluster["cluster"], scontrol=slow).ping(timeout=0.5)

    # The real tools with a configuration whose slurmdbd and slurmctld ports nothing listens on.
    conf = tmp_path / "slurm.conf"
    text = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf")).read_text()
    text, count = re.subn(r"(?m)^(AccountingStoragePort|SlurmctldPort)=.*$", r"\1=9", text)
    assert count == 2, "slurm.conf of deploy/slurm/slurm-up.sh names both ports"
    conf.write_text(text)
    monkeypatch.setenv("SLURM_CONF", str(conf))
    unreachable = SlurmBackend(cluster=slurm_cluster["cluster"], timeout=3)
    with pytest.raises(ClusterError, match="Connection refused"):
        unreachable.converge(desired(name))
    with pytest.raises(ClusterError, match="Connection refused"):
        list(unreachable.jobs(timezone.now() - timedelta(hours=1)))
    with pytest.raises(ClusterError, match="Unable to contact slurm controller|no answer within"):
        unreachable.usage_minutes(name)
    with pytest.raises(ClusterError):
        unreachable.queued_jobs(name)
    monkeypatch.delenv("SLURM_CONF")
    assert assocs(name) == {}


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda b: b.converge(desired("Upper")), id="uppercase-account"),
        pytest.param(lambda b: b.converge(desired("acct;rm -rf /")), id="shell-in-account"),
        pytest.param(lambda b: b.converge(desired("-i")), id="option-as-account"),
        pytest.param(lambda b: b.converge(desired("a" * 65)), id="account-too-long"),
        pytest.param(lambda b: b.converge(desired("aicctest_ok", ["Root"])), id="uppercase-user"),
        pytest.param(lambda b: b.converge(desired("aicctest_ok", ["u" * 33])), id="user-too-long"),
        pytest.param(lambda b: b.converge(desired("aicctest_ok", ["ann", "x y"])), id="space-in-user"),
        pytest.param(
            lambda b: b.converge(desired("aicctest_ok", ["ann"], {"billing": -5})), id="negative-limit"
        ),
        pytest.param(
            lambda b: b.converge(desired("aicctest_ok", [], {"billing=1,cpu": 5})), id="tres-injection"
        ),
        pytest.param(
            lambda b: b.converge(desired("aicctest_ok", ["ann"], partition="npu cluster=x")), id="partition"
        ),
        pytest.param(
            lambda b: b.converge(desired("aicctest_ok", ["ann"], user_limits={"ann": 1.5})),
            id="fractional-cap",
        ),
        pytest.param(
            lambda b: b.converge(desired("aicctest_ok", ["ann"], user_limits={"a=b": 5})), id="cap-user-name"
        ),
        pytest.param(lambda b: b.read_account("name=x"), id="read"),
        pytest.param(lambda b: b.remove_account("../x"), id="remove"),
        pytest.param(lambda b: b.usage_minutes("a b"), id="usage"),
        pytest.param(lambda b: b.queued_jobs("a,b"), id="queued"),
        pytest.param(lambda b: b.reset_usage("a b"), id="reset"),
        pytest.param(lambda b: b.list_accounts("pre fix"), id="list"),
        pytest.param(lambda b: b.read_account(""), id="empty"),
    ],
)
def test_bad_names_are_refused_before_anything_runs(tmp_path, call):
    ran = tmp_path / "ran"
    tool = script(tmp_path, "tool", f"touch {ran}; exit 1")
    backend = SlurmBackend(
        cluster="slurmlab", sacctmgr=tool, sacct=tool, scontrol=tool, scancel=tool, squeue=tool
    )
    with pytest.raises(ValueError):
        call(backend)
    assert not ran.exists()
