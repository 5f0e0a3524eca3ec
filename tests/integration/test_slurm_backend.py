"""SlurmBackend against the real single-node cluster of deploy/slurm/slurm-up.sh (Slurm 22.05).

Cluster state is checked with sacctmgr/squeue/sacct directly, not only through the backend under test.
"""

import os
import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from compute.backends.base import AccountState, Change, ClusterError, DesiredAccount
from compute.backends.slurm import SlurmBackend
from tests.integration import slurm
from tests.integration.slurm import (
    PARTITION,
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


@pytest.fixture
def people(unix_user):
    return unix_user(ANN), unix_user(BEN)


def desired(name, users=(), limits=None, blocked=False, description="Test organisation"):
    return DesiredAccount(
        name=name, description=description, users=frozenset(users), limits=limits or {}, blocked=blocked
    )


def script(tmp_path, name, body):
    """An executable stand-in for a Slurm tool."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_converge_creates_the_account_users_and_limits_and_a_second_run_changes_nothing(
    slurm_cluster, people, tmp_path
):
    # A sacctmgr that logs its arguments, so the second run can be shown to modify nothing.
    log = tmp_path / "sacctmgr.log"
    backend = SlurmBackend(sacctmgr=script(tmp_path, "sacctmgr", f'echo "$*" >> {log}; exec sacctmgr "$@"'))
    name = new_account_name("create")
    want = desired(
        name, people, {"gres/npu": 6000, "cpu": 600}, description='未来智能 "AI" Lab | Shenzhen\nline two'
    )

    changes = backend.converge(want)

    assert changes == [
        Change("add_account", name),
        Change("set_limits", name, "cpu=600,gres/npu=6000"),
        Change("add_user", name, ANN),
        Change("add_user", name, BEN),
    ]
    assert assocs(name) == {"": ("cpu=600,gres/npu=6000", ""), ANN: ("", ""), BEN: ("", "")}
    described = run("sacctmgr", "-n", "-P", "show", "account", name, "format=description").stdout.strip()
    assert described == "未来智能 ai lab shenzhen line two"  # sacctmgr lowercases; quotes and | are dropped
    assert backend.read_account(name) == AccountState(
        name, frozenset(people), {"cpu": 600, "gres/npu": 6000}, False
    )

    log.write_text("")
    assert backend.converge(want) == []
    assert backend.converge(want) == []
    commands = log.read_text().splitlines()
    assert commands and all(command.startswith("-n -P show ") for command in commands), commands


def test_changing_limits_and_users_converges(slurm_backend, people):
    name = new_account_name("change")
    slurm_backend.converge(desired(name, [ANN], {"gres/npu": 6000, "cpu": 600}))

    changes = slurm_backend.converge(desired(name, [BEN], {"gres/npu": 120}))

    assert changes == [
        Change("set_limits", name, "gres/npu=120"),
        Change("add_user", name, BEN),
        Change("remove_user", name, ANN),
    ]
    assert assocs(name) == {"": ("gres/npu=120", ""), BEN: ("", "")}  # cpu cleared with -1

    assert slurm_backend.converge(desired(name, [BEN])) == [Change("set_limits", name, "none")]
    assert assocs(name) == {"": ("", ""), BEN: ("", "")}
    assert slurm_backend.converge(desired(name, [BEN])) == []


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


def test_job_over_grptresmins_is_held_pending_until_the_limit_is_raised(slurm_backend, people):
    name = new_account_name("held")
    slurm_backend.converge(desired(name, [ANN], {"gres/npu": 1}))

    # 1 card x 5 minutes of time limit = 5 card-minutes > 1: accepted, but held.
    job = submit_job(name, ANN, command="sleep 30", gres="npu:1", time_limit=5)
    wait_for_job(job, {"PENDING"}, reason="AssocGrpGRESMinutes", timeout=15)

    raised = slurm_backend.converge(desired(name, [ANN], {"gres/npu": 10}))
    assert raised == [Change("set_limits", name, "gres/npu=10")]
    wait_for_job(job, {"RUNNING", "COMPLETED"}, timeout=15)
    cancel_jobs(job)


def test_blocking_does_not_hold_jobs_that_were_already_pending(slurm_backend, people):
    name = new_account_name("queued")
    slurm_backend.converge(desired(name, [ANN], {"gres/npu": 1}))
    job = submit_job(name, ANN, command="sleep 30", gres="npu:1", time_limit=5)
    wait_for_job(job, {"PENDING"}, reason="AssocGrpGRESMinutes", timeout=15)

    # GrpSubmitJobs=0 refuses submissions only: a job already queued starts once its limit allows it.
    changes = slurm_backend.converge(desired(name, [ANN], {"gres/npu": 10}, blocked=True))
    assert changes == [Change("block", name), Change("set_limits", name, "gres/npu=10")]
    wait_for_job(job, {"RUNNING", "COMPLETED"}, timeout=15)
    assert slurm_backend.active_jobs(name) == 1
    cancel_jobs(job)


def test_finished_job_is_in_accounting_with_account_user_and_tres(slurm_backend, slurm_cluster, people):
    name = new_account_name("jobs")
    slurm_backend.converge(desired(name, [ANN]))
    since = timezone.now() - timedelta(seconds=2)

    # 8 cards for ~8 s = 64 card-seconds: the scheduler counts one whole card-minute.
    job_id = submit_job(name, ANN, command="sleep 8", gres="npu:8")
    wait_for_job(job_id, {"COMPLETED"}, timeout=40)

    def finished():
        return next((j for j in slurm_backend.jobs(since) if j.job_id == job_id and j.end is not None), None)

    job = wait_for(finished, timeout=15)
    assert job is not None, f"job {job_id} not in sacct"
    assert (job.cluster, job.account, job.user, job.partition, job.state) == (
        slurm_cluster["cluster"],
        name,
        ANN,
        PARTITION,
        "COMPLETED",
    )
    assert job.tres == {"cpu": 1, "gres/npu": 8}
    assert 7 <= job.elapsed_seconds <= 30
    current = timezone.get_current_timezone()
    for moment in (job.submit, job.start, job.end):
        assert moment.tzinfo is not None and moment.utcoffset() == moment.astimezone(current).utcoffset()
    assert since - timedelta(seconds=1) <= job.submit <= job.start <= job.end <= timezone.now()
    assert abs((job.end - job.start).total_seconds() - job.elapsed_seconds) <= 1

    # A window that ended before the job was submitted does not return it.
    earlier = slurm_backend.jobs(since - timedelta(hours=2), since - timedelta(hours=1))
    assert job_id not in {j.job_id for j in earlier}

    usage = wait_for(lambda: slurm_backend.usage_minutes(name).get("gres/npu"), timeout=10)
    assert usage == 1
    assert slurm_backend.usage_minutes(name)["cpu"] == 0


def test_removing_a_user_cancels_their_jobs_and_remove_account_removes_everything(slurm_backend, people):
    name = new_account_name("remove")
    slurm_backend.converge(desired(name, [ANN, BEN], {"gres/npu": 600}))
    ann_job = submit_job(name, ANN, command="sleep 60")
    ben_job = submit_job(name, BEN, command="sleep 60")
    wait_for_job(ann_job, {"RUNNING"})

    # Slurm 22.05 refuses to delete an association with running jobs; the backend cancels them first.
    assert slurm_backend.converge(desired(name, [BEN], {"gres/npu": 600})) == [
        Change("remove_user", name, ANN)
    ]
    assert set(assocs(name)) == {"", BEN}
    wait_for_job(ann_job, {"CANCELLED"}, timeout=10)
    assert job_state(ben_job)[0] in {"RUNNING", "PENDING"}

    slurm_backend.converge(desired(name, [BEN], {"gres/npu": 600}, blocked=True))
    assert slurm_backend.active_jobs(name) == 1
    assert slurm_backend.remove_account(name) == [
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
    slurm_backend.converge(desired(prefix + "b", [BEN], blocked=True))
    slurm_backend.converge(desired(prefix + "a", [ANN, BEN], {"cpu": 60}))

    assert slurm_backend.list_accounts(prefix) == [
        AccountState(prefix + "a", frozenset({ANN, BEN}), {"cpu": 60}, False),
        AccountState(prefix + "b", frozenset({BEN}), {}, True),
    ]
    assert slurm_backend.list_accounts(prefix + "zzz") == []
    assert slurm_backend.read_account(prefix + "zzz") is None
    assert slurm_backend.cluster_name == slurm_backend.label.split()[-1]


def test_unreachable_or_missing_tools_raise_cluster_error(slurm_cluster, tmp_path, monkeypatch):
    name = new_account_name("errors")

    with pytest.raises(ClusterError, match="not installed"):
        SlurmBackend(sacctmgr=str(tmp_path / "no-sacctmgr")).read_account(name)

    with pytest.raises(ClusterError, match="doesn't exist"):
        SlurmBackend(cluster="nosuchcluster").converge(desired(name))

    slow = script(tmp_path, "slow", "sleep 5")
    with pytest.raises(ClusterError, match="no answer within 0.5 s"):
        SlurmBackend(cluster=slurm_cluster["cluster"], sacctmgr=slow, timeout=0.5).read_account(name)

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
            lambda b: b.converge(desired("aicctest_ok", ["ann"], {"gres/npu": -5})), id="negative-limit"
        ),
        pytest.param(
            lambda b: b.converge(desired("aicctest_ok", [], {"gres/npu=1,cpu": 5})), id="tres-injection"
        ),
        pytest.param(lambda b: b.read_account("name=x"), id="read"),
        pytest.param(lambda b: b.remove_account("../x"), id="remove"),
        pytest.param(lambda b: b.usage_minutes("a b"), id="usage"),
        pytest.param(lambda b: b.list_accounts("pre fix"), id="list"),
        pytest.param(lambda b: b.read_account(""), id="empty"),
    ],
)
def test_bad_names_are_refused_before_anything_runs(tmp_path, call):
    ran = tmp_path / "ran"
    tool = script(tmp_path, "tool", f"touch {ran}; exit 1")
    backend = SlurmBackend(cluster="slurmlab", sacctmgr=tool, sacct=tool, scontrol=tool, scancel=tool)
    with pytest.raises(ValueError):
        call(backend)
    assert not ran.exists()
