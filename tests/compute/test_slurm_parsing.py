"""SlurmBackend without a cluster: what it reads from Slurm's output and which commands it runs.

The Slurm tools are replaced by small scripts that log their arguments and print canned output, so these
tests run anywhere; tests/integration/test_slurm_backend.py checks the same behaviour on a real cluster.
"""

import shlex
import stat
from datetime import UTC, datetime

import pytest

from compute.backends.base import AccountState, Change, ClusterError, DesiredAccount, QueuedJob
from compute.backends.slurm import SlurmBackend, _account_state, _job_record, _parse_assocs

ACCOUNT = "aicc_acct"


def assoc_output(*rows: str) -> str:
    return "".join(f"{row}\n" for row in rows)


@pytest.fixture
def tools(tmp_path):
    """Stand-ins for sacctmgr, sacct, squeue and scontrol: each prints the text given for it (a file per
    tool) and logs its arguments to ``log``, one command per line."""
    log = tmp_path / "commands.log"
    log.write_text("")
    outputs = {}

    def make(name: str) -> str:
        out = tmp_path / f"{name}.out"
        out.write_text("")
        outputs[name] = out
        path = tmp_path / name
        # Only "show" commands print (sacctmgr's changes print nothing the backend reads).
        path.write_text(
            f'#!/bin/sh\necho "{name} $*" >> {log}\n'
            f'case "$*" in show*|*" show "*|*"--format"*|*" -o "*|ping*) cat {out};; esac\n'
        )
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return str(path)

    paths = {name: make(name) for name in ("sacctmgr", "sacct", "squeue", "scontrol", "scancel")}
    backend = SlurmBackend(cluster="lab", **paths)

    class Tools:
        def __init__(self):
            self.backend = backend

        def prints(self, name: str, text: str) -> None:
            outputs[name].write_text(text)

        def commands(self, name: str = "sacctmgr") -> list[str]:
            lines = [line.split(" ", 1) for line in log.read_text().splitlines()]
            return [args for tool, args in lines if tool == name]

        def changes(self) -> list[str]:
            return [c for c in self.commands() if not c.startswith("-n -P show")]

    return Tools()


def desired(users=("ann",), partition="npu", limits=None, user_limits=None, blocked=False):
    return DesiredAccount(
        name=ACCOUNT,
        description="Lab",
        users=frozenset(users),
        limits={"billing": 600} if limits is None else limits,
        blocked=blocked,
        partition=partition,
        user_limits=user_limits or {},
    )


def test_association_rows_give_partitions_caps_and_people_being_let_go():
    rows = _parse_assocs(
        assoc_output(
            f"{ACCOUNT}|||billing=600|",
            f"{ACCOUNT}|ann|npu|billing=60|",
            f"{ACCOUNT}|ben|npu||0",
            f"{ACCOUNT}|cy|npu||",
            f"{ACCOUNT}|cy||gres/npu=5|0",  # an old unbound association being let go
        )
    )

    assert _account_state(ACCOUNT, rows) == AccountState(
        ACCOUNT,
        frozenset({"ann", "ben", "cy"}),
        {"billing": 600},
        False,
        partitions=frozenset({"npu"}),
        user_limits={"ann": 60},
        blocked_users=frozenset({"ben"}),
    )
    assert _account_state(ACCOUNT, [row for row in rows if row.user]) is None  # no account row: no account


def test_an_unexpected_association_line_is_a_cluster_error():
    with pytest.raises(ClusterError, match="unexpected line"):
        _parse_assocs("acct|ann|grptresmins|\n")  # four fields: the format before partitions


def test_job_tres_keep_billing_cores_and_untyped_cards():
    line = (
        "42|lab|aicc_acct|ann|npu|CANCELLED by 0|2026-01-01T10:00:00|2026-01-01T10:00:05|"
        "2026-01-01T10:01:05|60|billing=4,cpu=4,gres/npu=2,gres/npu:910b=2,mem=4G,node=1"
    )
    job = _job_record(line, default_cluster="lab")
    assert job.tres == {"billing": 4, "cpu": 4, "gres/npu": 2}
    assert (job.state, job.elapsed_seconds) == ("CANCELLED", 60)
    assert job.start == datetime(2026, 1, 1, 10, 0, 5, tzinfo=UTC)


def test_a_new_account_binds_its_users_to_the_partition_with_their_caps(tools):
    changes = tools.backend.converge(desired(["ann", "ben"], user_limits={"ben": 30, "zed": 5}))

    assert changes == [
        Change("add_account", ACCOUNT),
        Change("set_limits", ACCOUNT, "billing=600"),
        Change("add_user", ACCOUNT, "ann"),
        Change("add_user", ACCOUNT, "ben"),
        Change("set_user_limit", ACCOUNT, "ben=30"),
    ]
    added = [shlex.split(c) for c in tools.changes() if c.startswith("-i add user")]
    assert added == [
        ["-i", "add", "user", "name=ann", f"account={ACCOUNT}", "cluster=lab", "partition=npu"],
        [
            "-i",
            "add",
            "user",
            "name=ben",
            f"account={ACCOUNT}",
            "cluster=lab",
            "partition=npu",
            "GrpTRESMins=billing=30",
        ],
    ]  # fmt: skip  (a cap for someone who is not a user, zed, is ignored)


def test_a_billing_limit_clears_the_old_tres(tools):
    tools.prints("sacctmgr", assoc_output(f"{ACCOUNT}|||gres/npu=6000|", f"{ACCOUNT}|ann|npu||"))

    assert tools.backend.converge(desired()) == [Change("set_limits", ACCOUNT, "billing=600")]
    assert tools.changes() == [
        f"-i modify account where name={ACCOUNT} cluster=lab set GrpTRESMins=billing=600,gres/npu=-1"
    ]


def test_a_person_with_a_job_is_blocked_not_deleted_and_their_job_is_not_cancelled(tools):
    tools.prints(
        "sacctmgr", assoc_output(f"{ACCOUNT}|||billing=600|", f"{ACCOUNT}|ann|npu||", f"{ACCOUNT}|ben|npu||")
    )
    tools.prints("sacct", "ann|npu\n")

    assert tools.backend.converge(desired(["ben"])) == [Change("block_user", ACCOUNT, "ann")]
    assert tools.changes() == [
        f"-i modify user where name=ann account={ACCOUNT} partition=npu cluster=lab set GrpSubmitJobs=0"
    ]
    assert tools.commands("scancel") == []


def test_a_person_without_jobs_is_blocked_then_deleted(tools):
    tools.prints(
        "sacctmgr", assoc_output(f"{ACCOUNT}|||billing=600|", f"{ACCOUNT}|ann|npu||0", f"{ACCOUNT}|ben|npu||")
    )
    tools.prints("sacct", "ben|npu\n")  # someone else's job does not keep ann

    assert tools.backend.converge(desired(["ben"])) == [Change("remove_user", ACCOUNT, "ann")]
    assert tools.changes() == [f"-i delete user where name=ann account={ACCOUNT} partition=npu cluster=lab"]


def test_a_person_taken_back_before_their_jobs_ended_is_unblocked(tools):
    tools.prints("sacctmgr", assoc_output(f"{ACCOUNT}|||billing=600|", f"{ACCOUNT}|ann|npu||0"))

    assert tools.backend.converge(desired(["ann"])) == [Change("add_user", ACCOUNT, "ann")]
    assert tools.changes() == [
        f"-i modify user where name=ann account={ACCOUNT} partition=npu cluster=lab set GrpSubmitJobs=-1"
    ]
    assert tools.commands("sacct") == []  # nobody leaves: no need to look for jobs


def test_an_unbound_association_with_a_running_job_is_blocked_beside_the_new_bound_one(tools):
    tools.prints("sacctmgr", assoc_output(f"{ACCOUNT}|||billing=600|", f"{ACCOUNT}|ann|||"))
    tools.prints("sacct", "ann|cpu\n")

    assert tools.backend.converge(desired(["ann"])) == [
        Change("set_partition", ACCOUNT, "ann=npu"),
        Change("block_user", ACCOUNT, "ann (partition any)"),
    ]
    assert tools.changes() == [
        f"-i add user name=ann account={ACCOUNT} cluster=lab partition=npu",
        f"-i modify user where name=ann account={ACCOUNT} partition='' cluster=lab set GrpSubmitJobs=0",
    ]


def test_queued_jobs_read_squeue_with_reasons_in_job_order(tools):
    tools.prints("squeue", "10|ann|npu|PENDING|AssocGrpBillingMinutes\n9|ben|npu|RUNNING|None\n\n")

    assert tools.backend.queued_jobs(ACCOUNT) == [
        QueuedJob("9", "ben", "npu", "RUNNING", "None"),
        QueuedJob("10", "ann", "npu", "PENDING", "AssocGrpBillingMinutes"),
    ]
    assert tools.commands("squeue") == [
        f"-h -r --account={ACCOUNT} --states=PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING,REQUEUED,RESIZING"
        " -o %i|%u|%P|%T|%r"
    ]


def test_usage_minutes_include_billing(tools):
    tools.prints(
        "scontrol",
        f"ClusterName=lab Account={ACCOUNT} UserName= Partition= GrpTRESMins=cpu=N(3),mem=N(900),"
        "billing=600(7),gres/npu=N(2),gres/npu:910b=N(2)\n"
        f"ClusterName=lab Account={ACCOUNT} UserName=ann(1001) Partition=npu GrpTRESMins=billing=60(7)\n",
    )
    assert tools.backend.usage_minutes(ACCOUNT) == {"cpu": 3, "billing": 7, "gres/npu": 2}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Slurmctld(primary) at vm is UP\n", "Slurm cluster lab: Slurmctld(primary) at vm is UP"),
        ("Slurmctld(primary) at vm is DOWN\n", ClusterError),
        ("", ClusterError),
    ],
)
def test_ping(tools, answer, expected):
    tools.prints("scontrol", answer)
    if expected is ClusterError:
        with pytest.raises(ClusterError, match="scontrol ping"):
            tools.backend.ping(timeout=2)
    else:
        assert tools.backend.ping(timeout=2) == expected


def test_reset_usage_of_an_account_that_does_not_exist_changes_nothing(tools):
    assert tools.backend.reset_usage(ACCOUNT) == []
    tools.prints("sacctmgr", assoc_output(f"{ACCOUNT}|||billing=600|"))
    assert tools.backend.reset_usage(ACCOUNT) == [Change("reset_usage", ACCOUNT)]
    assert tools.changes() == [f"-i modify account where name={ACCOUNT} cluster=lab set RawUsage=0"]
