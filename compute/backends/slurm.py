"""A real Slurm cluster, driven with its command-line tools (sacctmgr, sacct, scontrol, squeue, scancel).

This is the only module of the portal that runs Slurm commands. Every command is run as a list of
arguments (never through a shell) with a timeout, and every failure (a missing binary, a non-zero exit, a
timeout, slurmdbd or slurmctld unreachable) becomes a ``ClusterError`` carrying the command's output.

What the portal asks of the cluster, and how (docs/slurm.md has the details):
- an allocation is a Slurm account under ``parent_account``; each of its cluster users has an association
  bound to the allocation's partition (``sacctmgr add user ... partition=<p>``), so Slurm refuses a job
  under the account on any other partition;
- its quota is the account association's ``GrpTRESMins=billing=<minutes>``: the ``billing`` TRES, which the
  partition's ``TRESBillingWeights`` make one accelerator card (or one core on a CPU partition), so every
  job under the account, cards or not, draws on it; a per-person cap is the same limit on that person's
  association;
- blocking sets ``GrpSubmitJobs=0`` (on the account, or on one person's association when they are let go):
  new submissions are refused, running and already queued jobs are not touched; a person let go is deleted
  once they have no job left in the account;
- usage comes from accounting (``sacct``) and, as the scheduler counts it against the limits, from
  slurmctld's association manager (whole TRES-minutes).

Slurm 22.05 refuses to delete an association that has running jobs ("Job(s) active, cancel job(s) before
remove"), and leaves pending jobs of a deleted association queued forever (reason ``InvalidAccount``):
``converge`` therefore deletes a person's association only once they have no job in the account, and
``remove_account`` (called once the account is blocked and idle) cancels whatever is left first.
"""

import logging
import os
import re
import shlex
import subprocess
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import NamedTuple

from django.utils import timezone

from compute.backends.base import (
    AccountState,
    Change,
    ClusterBackend,
    ClusterError,
    DesiredAccount,
    JobRecord,
    QueuedJob,
)
from compute.backends.slurm_rest import SlurmRestJobs

logger = logging.getLogger(__name__)

ACCOUNT_NAME = re.compile(r"[a-z0-9_][a-z0-9_-]{0,63}")
USER_NAME = re.compile(r"[a-z0-9_][a-z0-9_-]{0,31}")
TRES_NAME = re.compile(r"[a-z][a-z0-9_]*(/[a-z0-9_.-]+)?")
PARTITION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
DEFAULT_CLUSTER = "slurmlab"

# sacctmgr exits 1 and prints these when the change is already in place: success for a converging caller.
_ALREADY_DONE = ("Nothing new added", "Nothing deleted", "Nothing modified")
# Printed (sometimes with exit status 0) when slurmdbd or slurmctld cannot be reached.
_UNREACHABLE = ("Problem talking to the database", "Connection refused", "Unable to contact slurm controller")
# Slurm 22.05 refuses to delete an association while it has running jobs, and lists them.
_JOBS_ACTIVE = "Job(s) active"
_ACTIVE_JOB_ID = re.compile(r"JobID\s*=\s*(\d+)")
_SACCT_ACTIVE_STATES = "PENDING,RUNNING,SUSPENDED,REQUEUED,RESIZING"  # sacct --state knows no COMPLETING
_SQUEUE_ACTIVE_STATES = "PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING,REQUEUED,RESIZING"
_JOB_FIELDS = "JobID,Cluster,Account,User,Partition,State,Submit,Start,End,ElapsedRaw,AllocTRES"
_ASSOC_FIELDS = "account,user,partition,grptresmins,grpsubmitjobs"
BILLING = "billing"
_GRP_TRES_MINS = re.compile(r"([^=,]+)=([^(,]*)\((\d+)\)")
_NO_DATE = {"", "Unknown", "None", "N/A"}
_DESCRIPTION_MAX = 200


def validate_account_name(name: str) -> str:
    """Slurm account names the portal creates: lowercase letters, digits, ``_`` and ``-``; at most 64."""
    if not isinstance(name, str) or not ACCOUNT_NAME.fullmatch(name):
        raise ValueError(f"not a valid Slurm account name: {name!r} (a-z, 0-9, _, -; at most 64)")
    return name


def validate_partition_name(name: str) -> str:
    """Slurm partition names: letters, digits, ``_``, ``.`` and ``-``; at most 64 ("" binds nothing)."""
    if not isinstance(name, str) or (name and not PARTITION_NAME.fullmatch(name)):
        raise ValueError(f"not a valid Slurm partition name: {name!r} (A-Z, a-z, 0-9, _, ., -; at most 64)")
    return name


def validate_user_name(name: str) -> str:
    """Cluster (Linux) user names: lowercase letters, digits, ``_`` and ``-``; at most 32."""
    if not isinstance(name, str) or not USER_NAME.fullmatch(name):
        raise ValueError(f"not a valid cluster user name: {name!r} (a-z, 0-9, _, -; at most 32)")
    return name


class SlurmBackend(SlurmRestJobs, ClusterBackend):
    """Provision accounts, users and limits with ``sacctmgr``; read usage with ``sacct`` and ``scontrol``; run
    people's jobs through slurmrestd (compute/backends/slurm_rest.py).

    Options (settings.CLUSTER_BACKEND_OPTIONS), all optional: ``cluster`` (the ClusterName in accounting;
    by default the first cluster ``sacctmgr show cluster`` lists), the paths of ``sacctmgr``, ``sacct``,
    ``scontrol``, ``scancel`` and ``squeue``, ``timeout`` (seconds per command) and ``parent_account``
    (new accounts are created under it). For jobs from the browser: ``rest_url`` (slurmrestd, e.g.
    ``http://slurmctl.internal:6820``), ``rest_api_version`` (``v0.0.38``), ``jwt_key_file``
    (``/etc/slurm/jwt_hs256.key``), ``token_lifetime`` (seconds, 300), ``rest_timeout`` (seconds, 10),
    ``operator_user`` (``slurm``: reads the queue, cancels for operators) and ``gres`` (``npu``).
    """

    def __init__(
        self,
        *,
        cluster: str | None = None,
        sacctmgr: str = "sacctmgr",
        sacct: str = "sacct",
        scontrol: str = "scontrol",
        scancel: str = "scancel",
        squeue: str = "squeue",
        timeout: float = 20,
        parent_account: str = "root",
        **rest,
    ):
        self.configure_rest(**rest)
        if cluster is not None:
            validate_account_name(cluster)  # cluster names follow the same rules
        self._cluster = cluster
        self.sacctmgr = sacctmgr
        self.sacct = sacct
        self.scontrol = scontrol
        self.scancel = scancel
        self.squeue = squeue
        self.timeout = float(timeout)
        self.parent_account = validate_account_name(parent_account)

    # --- naming ------------------------------------------------------------------------------------
    @property
    def cluster_name(self) -> str:
        """The cluster's name in accounting; asked of slurmdbd once when not configured."""
        if self._cluster is None:
            try:
                return self._detect_cluster()
            except ClusterError:
                return DEFAULT_CLUSTER  # for display only; commands call _detect_cluster and fail loudly
        return self._cluster

    @property
    def label(self) -> str:
        return f"Slurm cluster {self.cluster_name}"

    def _detect_cluster(self) -> str:
        if self._cluster is None:
            out = self._run([self.sacctmgr, "-n", "-P", "show", "cluster", "format=cluster"])
            lines = [line.strip() for line in out.splitlines() if line.strip()]
            self._cluster = lines[0] if lines else DEFAULT_CLUSTER
        return self._cluster

    # --- interface ---------------------------------------------------------------------------------
    def converge(self, desired: DesiredAccount) -> list[Change]:
        name = validate_account_name(desired.name)
        users = {validate_user_name(user) for user in desired.users}
        partition = validate_partition_name(desired.partition)
        limits = _validated_limits(desired.limits)
        caps = {
            user: minutes
            for user, minutes in _validated_user_limits(desired.user_limits).items()
            if user in users
        }
        cluster = self._detect_cluster()
        rows = self._read_assocs(name)
        current = _account_state(name, rows)
        changes: list[Change] = []

        if current is None:
            description = _description(desired.description, name)
            args = ["add", "account", f"name={name}", f"description={description}", f"organization={name}"]
            args.append(f"cluster={cluster}")
            if self.parent_account != "root":
                args.append(f"parent={self.parent_account}")
            self._sacctmgr(args)
            changes.append(Change("add_account", name))
            current = AccountState(name, frozenset(), {}, False)

        # Block before anything else (no new jobs while the rest changes); unblock last.
        if desired.blocked and not current.blocked:
            self._modify_account(name, "GrpSubmitJobs=0")
            changes.append(Change("block", name))

        if current.limits != limits:
            # Every TRES the portal no longer limits is cleared with -1 (gres/npu=-1 when a limit becomes
            # billing); the rest are set exactly.
            values = {tres: -1 for tres in current.limits if tres not in limits} | limits
            self._modify_account(name, "GrpTRESMins=" + _tres_string(values))
            changes.append(Change("set_limits", name, _tres_string(limits) or "none"))

        changes += self._converge_users(name, users, partition, caps, [row for row in rows if row.user])

        if not desired.blocked and current.blocked:
            self._modify_account(name, "GrpSubmitJobs=-1")
            changes.append(Change("unblock", name))
        return changes

    def read_account(self, name: str) -> AccountState | None:
        return _account_state(name, self._read_assocs(validate_account_name(name)))

    def remove_account(self, name: str) -> list[Change]:
        validate_account_name(name)
        cluster = self._detect_cluster()
        current = self.read_account(name)
        changes = []
        if current is not None:
            self._cancel_jobs(name)
            for user in sorted(current.users):
                where = [f"name={user}", f"account={name}", f"cluster={cluster}"]  # every partition
                self._sacctmgr_deleting(["delete", "user", "where", *where])
                changes.append(Change("remove_user", name, user))
            self._sacctmgr_deleting(["delete", "account", "where", f"name={name}", f"cluster={cluster}"])
        # The account's own record outlives its last association; drop it once no cluster uses it.
        if not self._sacctmgr_show_assoc([f"account={name}"]) and self._account_exists(name):
            self._sacctmgr(["delete", "account", "where", f"name={name}"])
            current = current or AccountState(name, frozenset(), {}, False)
        if current is not None:
            changes.append(Change("remove_account", name))
        return changes

    def list_accounts(self, prefix: str) -> list[AccountState]:
        if prefix:
            validate_account_name(prefix)
        rows: dict[str, list[_Assoc]] = {}
        for row in self._sacctmgr_show_assoc([f"cluster={self._detect_cluster()}"]):
            if row.account.startswith(prefix):
                rows.setdefault(row.account, []).append(row)
        states = (_account_state(account, account_rows) for account, account_rows in sorted(rows.items()))
        return [state for state in states if state is not None]

    def jobs(self, since: datetime, until: datetime | None = None) -> Iterator[JobRecord]:
        """Jobs that ran at some moment between ``since`` and ``until`` (default: now).

        sacct's ``--starttime``/``--endtime`` without ``--state`` select every job that was eligible or
        running at some moment of the window, so a long job comes back in every window it overlaps and a
        job still running comes back with ``end=None``: callers upsert by (cluster, job_id). Jobs that never
        started (still pending, or cancelled while pending) are left out: they used nothing.
        """
        cluster = self._detect_cluster()
        args = [self.sacct, "-a", "-X", "-P", "-n", f"--clusters={cluster}"]
        args += ["--starttime", _sacct_time(since), "--endtime", _sacct_time(until) if until else "now"]
        args.append(f"--format={_JOB_FIELDS}")
        # Times in UTC both ways, whatever the host's zone; converted to the portal's zone below.
        out = self._run(args, env={"TZ": "UTC", "SLURM_TIME_FORMAT": "standard"})
        for line in out.splitlines():
            if not line.strip():
                continue
            job = _job_record(line, default_cluster=cluster)
            if job is not None and job.start is not None:
                yield job

    def usage_minutes(self, name: str) -> dict[str, int]:
        """The account's GrpTRESMins usage as slurmctld counts it: whole TRES-minutes of billing, cpu and
        gres/*.

        Usage accrues while jobs run and never decays (PriorityDecayHalfLife=0, no reset period), so it
        is the total since the association was created or its RawUsage was last reset.
        """
        validate_account_name(name)
        cluster = self._detect_cluster()
        out = self._run([self.scontrol, "show", "assoc_mgr", f"accounts={name}", "flags=assoc", "-o"])
        for line in out.splitlines():
            fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
            if fields.get("Account") != name or fields.get("UserName") != "":
                continue
            if fields.get("ClusterName", cluster) != cluster:
                continue
            used = {}
            for tres, _limit, minutes in _GRP_TRES_MINS.findall(fields.get("GrpTRESMins", "")):
                if _counted_tres(tres):
                    used[tres] = int(minutes)
            return used
        return {}

    def reset_usage(self, name: str) -> list[Change]:
        """RawUsage=0 on the account's association: slurmctld zeroes its users' associations with it."""
        validate_account_name(name)
        if self.read_account(name) is None:
            return []
        self._modify_account(name, "RawUsage=0")
        return [Change("reset_usage", name)]

    def queued_jobs(self, name: str) -> list[QueuedJob]:
        """The account's jobs slurmctld holds now, with its reason (``None`` for a running job)."""
        validate_account_name(name)
        args = [self.squeue, "-h", "-r", f"--account={name}", f"--states={_SQUEUE_ACTIVE_STATES}"]
        out = self._run([*args, "-o", "%i|%u|%P|%T|%r"])
        jobs = []
        for line in out.splitlines():
            fields = line.strip().split("|")
            if len(fields) != 5:
                if line.strip():
                    logger.warning("skipping an unexpected line from squeue: %r", line)
                continue
            jobs.append(QueuedJob(*fields))
        return sorted(jobs, key=lambda job: _job_sort_key(job.job_id))

    def ping(self, timeout: float | None = None) -> str:
        """``scontrol ping``: "Slurmctld(primary) at <host> is UP" within ``timeout`` (default: the backend's)."""
        out = self._run([self.scontrol, "ping"], timeout=timeout)
        answer = " ".join(out.split())
        if "is UP" not in answer:
            raise ClusterError(f"scontrol ping: {answer or 'no answer'}")
        return f"{self.label}: {answer}"

    def active_jobs(self, name: str) -> int:
        """The account's jobs that slurmctld has queued or running now (each array element counts)."""
        validate_account_name(name)
        args = [self.squeue, "-h", "-r", f"--account={name}", f"--states={_SQUEUE_ACTIVE_STATES}", "-o", "%i"]
        return len({line.strip() for line in self._run(args).splitlines() if line.strip()})

    # --- people ------------------------------------------------------------------------------------
    def _converge_users(
        self, name: str, users: set[str], partition: str, caps: dict[str, int], rows: list["_Assoc"]
    ) -> list[Change]:
        """Bind each wanted user to ``partition`` (with their cap); let every other association go."""
        changes = []
        for user in sorted(users):
            own = [row for row in rows if row.user == user]
            bound = next((row for row in own if row.partition == partition), None)
            cap = {BILLING: caps[user]} if user in caps else {}
            if bound is None:
                self._add_user(name, user, partition, cap)
                if any(not row.blocked for row in own):  # they could submit already: only the partition moves
                    changes.append(Change("set_partition", name, f"{user}={partition or 'any'}"))
                else:
                    changes.append(Change("add_user", name, user))
                if cap:
                    changes.append(Change("set_user_limit", name, f"{user}={caps[user]}"))
                continue
            if bound.blocked:  # taken back before their jobs ended
                self._modify_user(name, bound, "GrpSubmitJobs=-1")
                changes.append(Change("add_user", name, user))
            if bound.limits != cap:
                values = {tres: -1 for tres in bound.limits if tres not in cap} | cap
                self._modify_user(name, bound, "GrpTRESMins=" + _tres_string(values))
                changes.append(Change("set_user_limit", name, f"{user}={caps.get(user, 'none')}"))
        leaving = [row for row in rows if row.user not in users or row.partition != partition]
        if leaving:
            busy = self._busy_associations(name)
            for row in leaving:
                changes += self._let_go(name, row, partition, busy)
        return changes

    def _let_go(self, name: str, row: "_Assoc", partition: str, busy: set[tuple[str, str]]) -> list[Change]:
        """Block the association (running jobs finish, new ones are refused); delete it once it has no job.

        It is blocked even when it seems idle, so no job can slip in between the check and the delete.
        """
        detail = (
            row.user if row.partition == partition else f"{row.user} (partition {row.partition or 'any'})"
        )
        if not row.blocked:
            self._modify_user(name, row, "GrpSubmitJobs=0")
        if not _has_jobs(row, busy) and self._delete_user(name, row):
            return [Change("remove_user", name, detail)]
        return [] if row.blocked else [Change("block_user", name, detail)]

    def _busy_associations(self, account: str) -> set[tuple[str, str]]:
        """(user, partition) of every queued or running job of the account, from accounting.

        Accounting names the user from the job's association, so this needs no passwd entry on the host.
        """
        cluster = self._detect_cluster()
        args = [self.sacct, "-a", "-X", "-n", "-P", f"--clusters={cluster}", f"--accounts={account}"]
        out = self._run([*args, f"--state={_SACCT_ACTIVE_STATES}", "--format=User,Partition"])
        busy = set()
        for line in out.splitlines():
            user, _, partitions = line.strip().partition("|")
            for partition in partitions.split(","):  # a pending job may name several
                busy.add((user, partition))
        return busy

    # --- reading -----------------------------------------------------------------------------------
    def _read_assocs(self, name: str) -> list["_Assoc"]:
        rows = self._sacctmgr_show_assoc([f"account={name}", f"cluster={self._detect_cluster()}"])
        return [row for row in rows if row.account == name]

    def _account_exists(self, name: str) -> bool:
        out = self._run(
            [self.sacctmgr, "-n", "-P", "show", "account", "where", f"name={name}", "format=account"]
        )
        return name in (line.strip() for line in out.splitlines())

    def _sacctmgr_show_assoc(self, where: list[str]) -> list["_Assoc"]:
        args = [self.sacctmgr, "-n", "-P", "show", "assoc", "where", *where]
        return _parse_assocs(self._run([*args, f"format={_ASSOC_FIELDS}"]))

    # --- changing ----------------------------------------------------------------------------------
    def _modify_account(self, name: str, setting: str) -> None:
        cluster = self._detect_cluster()
        self._sacctmgr(["modify", "account", "where", f"name={name}", f"cluster={cluster}", "set", setting])

    def _user_where(self, account: str, user: str, partition: str) -> list[str]:
        """Exactly one association: ``partition=''`` selects the one bound to no partition."""
        bound = f"partition={partition}" if partition else "partition=''"
        return [f"name={user}", f"account={account}", bound, f"cluster={self._detect_cluster()}"]

    def _add_user(self, account: str, user: str, partition: str, cap: dict[str, int]) -> None:
        args = ["add", "user", f"name={user}", f"account={account}", f"cluster={self._detect_cluster()}"]
        if partition:
            args.append(f"partition={partition}")
        if cap:
            args.append("GrpTRESMins=" + _tres_string(cap))  # capped from its first job on
        self._sacctmgr(args)

    def _modify_user(self, account: str, row: "_Assoc", setting: str) -> None:
        self._sacctmgr(
            ["modify", "user", "where", *self._user_where(account, row.user, row.partition), "set", setting]
        )

    def _delete_user(self, account: str, row: "_Assoc") -> bool:
        """Delete one association; False when Slurm refuses because a job of it still runs."""
        try:
            self._sacctmgr(["delete", "user", "where", *self._user_where(account, row.user, row.partition)])
        except ClusterError as error:
            if _JOBS_ACTIVE in str(error):
                return False
            raise
        return True

    def _sacctmgr_deleting(self, args: list[str]) -> None:
        """A delete that Slurm refuses while jobs run: cancel the jobs it names and try again (bounded)."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self._sacctmgr(args)
                return
            except ClusterError as error:
                job_ids = _ACTIVE_JOB_ID.findall(str(error)) if _JOBS_ACTIVE in str(error) else []
                if not job_ids or time.monotonic() > deadline:
                    raise
                self._run([self.scancel, *sorted(set(job_ids))])
                time.sleep(0.5)

    def _cancel_jobs(self, account: str) -> None:
        """Cancel the queued and running jobs of an account (``remove_account`` only).

        Job ids come from accounting, whose user names need no local passwd entry (``scancel --user``
        would), so this works on a worker host that does not know the cluster's users.
        """
        cluster = self._detect_cluster()
        args = [self.sacct, "-a", "-X", "-n", "-P", f"--clusters={cluster}", f"--accounts={account}"]
        out = self._run([*args, f"--state={_SACCT_ACTIVE_STATES}", "--format=JobIDRaw"])
        job_ids = sorted({line.strip() for line in out.splitlines() if line.strip()})
        if job_ids:
            logger.info("cancelling jobs %s of account %s", job_ids, account)
            self._run([self.scancel, *job_ids])

    def _sacctmgr(self, args: list[str]) -> str:
        return self._run([self.sacctmgr, "-i", *args], already_done=_ALREADY_DONE)

    # --- running -----------------------------------------------------------------------------------
    def _run(
        self,
        args: list[str],
        *,
        already_done: Iterable[str] = (),
        env: dict | None = None,
        timeout: float | None = None,
    ) -> str:
        command = shlex.join(args)
        timeout = self.timeout if timeout is None else float(timeout)
        try:
            process = subprocess.run(  # noqa: S603 - a list of arguments, names validated, no shell
                args,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env} if env else None,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ClusterError(f"{command}: {args[0]} is not installed or not on PATH ({exc})") from exc
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
            raise ClusterError(f"{command}: no answer within {timeout:g} s {stderr or ''}".strip()) from exc
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise ClusterError(f"{command}: could not run: {exc}") from exc
        output = f"{process.stdout.strip()}\n{process.stderr.strip()}".strip()
        if process.returncode != 0:
            if any(phrase in output for phrase in already_done):
                return process.stdout
            raise ClusterError(f"{command} failed (exit {process.returncode}): {output or 'no output'}")
        if any(phrase in process.stderr for phrase in _UNREACHABLE):
            raise ClusterError(f"{command}: {process.stderr.strip()}")
        return process.stdout


class _Assoc(NamedTuple):
    """One row of ``sacctmgr show assoc``: the account's own (``user`` "") or a user's."""

    account: str
    user: str
    partition: str
    limits: dict[str, int]
    blocked: bool


def _parse_assocs(out: str) -> list[_Assoc]:
    """Rows of ``sacctmgr -n -P show assoc format=account,user,partition,grptresmins,grpsubmitjobs``."""
    rows = []
    for line in out.splitlines():
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 5:
            raise ClusterError(f"unexpected line from sacctmgr show assoc: {line!r}")
        account, user, partition, grp_tres_mins, grp_submit_jobs = fields
        rows.append(
            _Assoc(account, user, partition, _parse_tres(grp_tres_mins), grp_submit_jobs.strip() == "0")
        )
    return rows


def _account_state(name: str, rows: list[_Assoc]) -> AccountState | None:
    """AccountState from the account's association rows; None without the account's own row.

    A user is blocked when every association they have in the account is (they are being let go); their
    cap is the billing limit of an association that is not. ``partitions`` are those the users'
    associations are bound to (an association bound to none adds nothing).
    """
    account_rows = [row for row in rows if not row.user]
    if not account_rows:
        return None
    user_rows = [row for row in rows if row.user]
    users = frozenset(row.user for row in user_rows)
    open_users = frozenset(row.user for row in user_rows if not row.blocked)
    caps = {row.user: row.limits[BILLING] for row in user_rows if not row.blocked and BILLING in row.limits}
    return AccountState(
        name,
        users,
        account_rows[0].limits,
        account_rows[0].blocked,
        partitions=frozenset(row.partition for row in user_rows if row.partition),
        user_limits=caps,
        blocked_users=users - open_users,
    )


def _has_jobs(row: _Assoc, busy: set[tuple[str, str]]) -> bool:
    """Whether a job of ``busy`` may run under the association (one bound to no partition: any job)."""
    return any(
        user == row.user and (not row.partition or partition == row.partition) for user, partition in busy
    )


def _job_sort_key(job_id: str) -> tuple[int, str]:
    """Numeric order of job ids (``10`` after ``9``; array elements ``12_3`` by their job)."""
    head = job_id.split("_")[0]
    return (int(head) if head.isdigit() else 0, job_id)


def _parse_tres(text: str) -> dict[str, int]:
    """``cpu=600,gres/npu=120`` -> {"cpu": 600, "gres/npu": 120}; values that are not integers are skipped."""
    result = {}
    for item in text.split(","):
        tres, _, value = item.partition("=")
        if tres and value.strip().lstrip("-").isdigit():
            result[tres.strip()] = int(value)
    return result


def _tres_string(values: dict[str, int]) -> str:
    return ",".join(f"{tres}={value}" for tres, value in sorted(values.items()))


def _validated_limits(limits: dict[str, int]) -> dict[str, int]:
    result = {}
    for tres, value in limits.items():
        if not isinstance(tres, str) or not TRES_NAME.fullmatch(tres):
            raise ValueError(f"not a TRES name: {tres!r} (for example billing or gres/npu)")
        result[tres] = _validated_minutes(tres, value)
    return result


def _validated_user_limits(user_limits: dict[str, int]) -> dict[str, int]:
    """Per-person caps: a valid user name to whole billing minutes."""
    return {validate_user_name(user): _validated_minutes(user, value) for user, value in user_limits.items()}


def _validated_minutes(what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"the limit of {what} must be whole TRES-minutes >= 0, not {value!r}")
    return value


def _description(text: str, fallback: str) -> str:
    """sacctmgr cuts a value at its first quote and lowercases descriptions: keep it to one plain line."""
    cleaned = re.sub(r"[\"'`|\x00-\x1f\x7f]", " ", text or "")
    cleaned = " ".join(cleaned.split())[:_DESCRIPTION_MAX]
    return cleaned or fallback


def _counted_tres(tres: str) -> bool:
    """TRES the portal counts: billing, cores and generic resources (typed ones like gres/npu:x are in the
    total)."""
    return tres in (BILLING, "cpu") or (tres.startswith("gres/") and ":" not in tres)


def _sacct_time(moment: datetime) -> str:
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_current_timezone())
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _parse_time(text: str) -> datetime | None:
    text = text.strip()
    if text in _NO_DATE:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC).astimezone(timezone.get_current_timezone())


def _job_record(line: str, *, default_cluster: str) -> JobRecord | None:
    fields = line.split("|")
    if len(fields) != 11:
        logger.warning("skipping an unexpected line from sacct: %r", line)
        return None
    job_id, cluster, account, user, partition, state, submit, start, end, elapsed, alloc_tres = fields
    tres = {name: value for name, value in _parse_tres(alloc_tres).items() if _counted_tres(name)}
    return JobRecord(
        job_id=job_id,
        cluster=cluster or default_cluster,
        account=account,
        user=user,
        partition=partition,
        state=state.split(" ")[0],  # "CANCELLED by 0" -> "CANCELLED"
        submit=_parse_time(submit),
        start=_parse_time(start),
        end=_parse_time(end),
        elapsed_seconds=int(elapsed) if elapsed.isdigit() else 0,
        tres=tres,
    )
