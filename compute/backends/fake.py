"""A pretend cluster for unit tests and the demo. Clearly labelled: nothing runs anywhere.

There is one pretend cluster per cluster name (``FakeBackend(cluster="aicc")``), as one portal drives
several real clusters. By default their state lives in the class, so every ``FakeBackend`` of one process
sees the same clusters, as instances of the real backend see the same Slurm. With ``state_file`` (the demo
sets it) the state is a JSON file shared by the web process, the worker and beat, under a file lock.

It behaves like the Slurm backend where the portal can tell: a user let go while they still have jobs in
the account is blocked, then removed by a later converge once their jobs are gone; usage accrues in the
billed unit from the jobs added. Tests can make the next calls fail (``fail_next``), stop the controller
(``stop``/``start``), add jobs (``add_job``, ``add_queued_job``) and change the cluster behind the
portal's back (``set_limits_by_hand``, ``set_usage_by_hand``, ``add_account_by_hand``), as an
administrator with sacctmgr would.
"""

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import RLock

from compute.backends.base import (
    AccountState,
    Change,
    ClusterBackend,
    ClusterError,
    ClusterUnreachable,
    DesiredAccount,
    JobRecord,
    JobRefused,
    JobSubmission,
    QueuedJob,
)

ACTIVE_STATES = ("RUNNING", "PENDING")
DEFAULT_CLUSTER = "fake"
# How the pretend scheduler runs a submitted job: pending this long, then running (at most its time limit),
# then completed; it stays listed this long after it ended (Slurm's MinJobAge).
PENDING_SECONDS = 2
RUNNING_SECONDS = 8
MIN_JOB_AGE_SECONDS = 300
ECHO = re.compile(r"""^\s*echo\s+(?:-e\s+)?(["']?)(.*)\1\s*$""")


def _new_account() -> dict:
    return {
        "users": [],
        "limits": {},
        "blocked": False,
        "partition": "",
        "user_limits": {},
        "blocked_users": [],
    }


class FakeBackend(ClusterBackend):
    label = "fake cluster (demonstration: no real jobs run)"

    _lock = RLock()
    _memory: dict = {}  # cluster name -> {"accounts": {...}, "jobs": {...}, "queued": {...}}
    _failures = 0
    _stopped = False
    calls: list[str] = []

    def __init__(self, state_file: str | None = None, cluster: str | None = None, **options):
        self.state_file = Path(state_file) if state_file else None
        self.cluster_name = cluster or DEFAULT_CLUSTER
        self.options = options

    # --- state -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _state(self, write: bool = False):
        with self._lock:
            if self.state_file is None:
                yield _cluster_state(FakeBackend._memory, self.cluster_name)
                return
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.state_file.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    clusters = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
                except ValueError:
                    clusters = {}
                if not isinstance(clusters, dict) or "accounts" in clusters:
                    clusters = {}  # an older single-cluster file: the demo starts afresh
                yield _cluster_state(clusters, self.cluster_name)
                if write:
                    tmp = self.state_file.with_suffix(".tmp")
                    tmp.write_text(json.dumps(clusters, default=str))
                    tmp.replace(self.state_file)

    # --- test and demo helpers -------------------------------------------------------------------
    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._memory, cls._failures, cls._stopped, cls.calls = {}, 0, False, []

    @classmethod
    def fail_next(cls, times: int = 1) -> None:
        cls._failures = times

    @classmethod
    def stop(cls) -> None:
        """Every call fails, as with a stopped slurmctld, until ``start``."""
        cls._stopped = True

    @classmethod
    def start(cls) -> None:
        cls._stopped = False

    def add_job(self, job: JobRecord) -> None:
        """A job the pretend cluster ran (or is running); the same job id again replaces it."""
        with self._state(write=True) as state:
            record = asdict(job)
            for key in ("submit", "start", "end"):
                record[key] = record[key].isoformat() if record[key] else None
            state["jobs"][job.job_id] = record

    def add_queued_job(self, account: str, job: QueuedJob) -> None:
        """A job the pretend scheduler holds for ``account`` (what squeue would list)."""
        with self._state(write=True) as state:
            state["queued"].setdefault(account, {})[job.job_id] = asdict(job)

    @classmethod
    def finish_queued(cls, name: str, cluster: str = DEFAULT_CLUSTER) -> None:
        """The account's queued and running jobs are over (squeue lists none of them any more)."""
        with cls._lock:
            _cluster_state(cls._memory, cluster)["queued"].pop(name, None)

    @classmethod
    def set_limits_by_hand(cls, name: str, limits: dict[str, int], cluster: str = DEFAULT_CLUSTER) -> None:
        with cls._lock:
            _cluster_state(cls._memory, cluster)["accounts"][name]["limits"] = dict(limits)

    @classmethod
    def set_usage_by_hand(cls, name: str, usage: dict[str, int], cluster: str = DEFAULT_CLUSTER) -> None:
        """What the scheduler counts against the account's limits, whatever the jobs say."""
        with cls._lock:
            _cluster_state(cls._memory, cluster)["usage"][name] = dict(usage)

    @classmethod
    def add_account_by_hand(cls, name: str, cluster: str = DEFAULT_CLUSTER) -> None:
        with cls._lock:
            _cluster_state(cls._memory, cluster)["accounts"][name] = _new_account()

    def _maybe_fail(self, call: str) -> None:
        FakeBackend.calls.append(call)
        if FakeBackend._stopped:
            raise ClusterUnreachable(f"fake cluster {self.cluster_name}: controller stopped (simulated)")
        if FakeBackend._failures > 0:
            FakeBackend._failures -= 1
            raise ClusterError("fake cluster: controller not reachable (simulated)")

    # --- interface -------------------------------------------------------------------------------
    def converge(self, desired: DesiredAccount) -> list[Change]:
        self._maybe_fail(f"converge {desired.name}")
        name = desired.name
        changes = []
        with self._state(write=True) as state:
            account = state["accounts"].get(name)
            if account is None:
                account = state["accounts"][name] = _new_account()
                changes.append(Change("add_account", name))
            if desired.blocked and not account["blocked"]:
                account["blocked"] = True
                changes.append(Change("block", name))
            if account["limits"] != desired.limits:
                account["limits"] = dict(desired.limits)
                changes.append(Change("set_limits", name, _tres(desired.limits)))
            account["partition"] = desired.partition
            users, blocked_users = set(account["users"]), set(account["blocked_users"])
            for user in sorted(desired.users - users):
                changes.append(Change("add_user", name, user))
            for user in sorted(desired.users & blocked_users):
                changes.append(Change("add_user", name, user))  # taken back before their jobs ended
            kept = set(desired.users)
            for user in sorted(users - desired.users):
                if self._user_has_jobs(state, name, user):
                    kept.add(user)
                    if user not in blocked_users:
                        changes.append(Change("block_user", name, user))
                else:
                    changes.append(Change("remove_user", name, user))
            account["users"] = sorted(kept)
            account["blocked_users"] = sorted(kept - desired.users)
            user_limits = {u: m for u, m in desired.user_limits.items() if u in desired.users}
            if account["user_limits"] != user_limits:
                for user in sorted(set(account["user_limits"]) | set(user_limits)):
                    if account["user_limits"].get(user) != user_limits.get(user):
                        detail = f"{user}={user_limits[user]}" if user in user_limits else f"{user}=none"
                        changes.append(Change("set_user_limit", name, detail))
                account["user_limits"] = user_limits
            if not desired.blocked and account["blocked"]:
                account["blocked"] = False
                changes.append(Change("unblock", name))
        return changes

    def read_account(self, name: str) -> AccountState | None:
        self._maybe_fail(f"read {name}")
        with self._state() as state:
            account = state["accounts"].get(name)
            return None if account is None else _account_state(name, account)

    def remove_account(self, name: str) -> list[Change]:
        self._maybe_fail(f"remove {name}")
        with self._state(write=True) as state:
            if state["accounts"].pop(name, None) is None:
                return []
            state["usage"].pop(name, None)
        return [Change("remove_account", name)]

    def list_accounts(self, prefix: str) -> list[AccountState]:
        self._maybe_fail("list")
        with self._state() as state:
            names = sorted(n for n in state["accounts"] if n.startswith(prefix))
            return [_account_state(n, state["accounts"][n]) for n in names]

    def jobs(self, since: datetime, until: datetime | None = None) -> Iterator[JobRecord]:
        self._maybe_fail("jobs")
        with self._state() as state:
            records = self._accounting(state)
        for job in records:
            moment = job.end or job.start or job.submit
            if moment is None or (moment >= since and (until is None or moment <= until)):
                yield job

    def active_jobs(self, name: str) -> int:
        with self._state() as state:
            ran = {j.job_id for j in _job_records(state) if j.account == name and j.state in ACTIVE_STATES}
            now = _now()
            ran |= {
                job_id
                for job_id, stored in state["portal_jobs"].items()
                if stored["account"] == name and _portal_job(job_id, stored, now).state in ACTIVE_STATES
            }
            return len(ran | set(state["queued"].get(name, {})))

    def queued_jobs(self, name: str) -> list[QueuedJob]:
        self._maybe_fail(f"queued {name}")
        with self._state() as state:
            return [QueuedJob(**job) for _id, job in sorted(state["queued"].get(name, {}).items())]

    def usage_minutes(self, name: str) -> dict[str, int]:
        self._maybe_fail(f"usage {name}")
        with self._state() as state:
            if name in state["usage"]:
                return dict(state["usage"][name])
            used: dict[str, int] = {}
            for job in self._accounting(state):
                if job.account == name:
                    for tres, count in job.tres.items():
                        used[tres] = used.get(tres, 0) + count * job.elapsed_seconds // 60
            for tres, minutes in state["reset"].get(name, {}).items():
                used[tres] = max(used.get(tres, 0) - minutes, 0)
            return used

    def reset_usage(self, name: str) -> list[Change]:
        self._maybe_fail(f"reset usage {name}")
        with self._state(write=True) as state:
            if name not in state["accounts"]:
                return []
            state["usage"].pop(name, None)
            state["reset"].pop(name, None)
        counted = self.usage_minutes(name)  # what the jobs so far add up to: from now on it counts as zero
        with self._state(write=True) as state:
            state["reset"][name] = counted
        return [Change("reset_usage", name)]

    def ping(self, timeout: float | None = None) -> str:
        self._maybe_fail("ping")
        return f"{self.label}: {self.cluster_name}"

    def _accounting(self, state: dict) -> list[JobRecord]:
        """The jobs tests and the demo added, and those people submitted through the portal once they
        started (they reach the accounting as in Slurm)."""
        records = _job_records(state)
        now = _now()
        for job_id, stored in state["portal_jobs"].items():
            job = _portal_job(job_id, stored, now)
            if job.start_time is not None:
                records.append(_accounting_record(self.cluster_name, job))
        return records

    # --- jobs from the browser: a pretend scheduler -----------------------------------------------------
    def submit_job(self, username: str, job: JobSubmission) -> str:
        self._maybe_fail(f"submit {job.account} {username}")
        with self._state(write=True) as state:
            account = state["accounts"].get(job.account)
            if account is None or username not in account["users"] or username in account["blocked_users"]:
                raise JobRefused("Invalid account or account/partition combination specified")
            if account["blocked"]:
                raise JobRefused(
                    "Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)"
                )
            if account.get("partition") and job.partition != account["partition"]:
                raise JobRefused("Invalid account or account/partition combination specified")
            if not job.script.startswith("#!"):
                raise JobRefused("This does not look like a batch script. The first line must start with #!")
            # Job ids go on from the highest the pretend cluster has used (its accounting included).
            known = [int(i) for i in [*state["jobs"], *state["portal_jobs"]] if str(i).isdigit()]
            state["next_job_id"] = max([int(state.get("next_job_id") or 1000), *known]) + 1
            job_id = str(state["next_job_id"])
            state["portal_jobs"][job_id] = {
                "username": username,
                "submitted": _now().isoformat(),
                "cancelled": None,
                **asdict(job),
            }
        return job_id

    def list_jobs(self, *, accounts: list[str] | None = None) -> list[QueuedJob]:
        self._maybe_fail("list jobs")
        wanted = None if accounts is None else set(accounts)
        now = _now()
        with self._state() as state:
            portal_jobs = dict(state["portal_jobs"])
            found = [_portal_job(job_id, stored, now) for job_id, stored in portal_jobs.items()]
            for account, queued in state["queued"].items():
                found.extend(
                    replace(QueuedJob(**job), account=job.get("account") or account)
                    for job in queued.values()
                )
        jobs = []
        for job in found:
            if wanted is not None and job.account not in wanted:
                continue
            if job.end_time is not None and (now - job.end_time).total_seconds() > MIN_JOB_AGE_SECONDS:
                continue
            self._write_output(job, portal_jobs)
            jobs.append(job)
        return sorted(jobs, key=lambda job: int(job.job_id) if job.job_id.isdigit() else 0)

    def get_job(self, job_id: str) -> QueuedJob | None:
        self._maybe_fail(f"job {job_id}")
        with self._state() as state:
            stored = state["portal_jobs"].get(str(job_id))
            if stored is None:
                for account, queued in state["queued"].items():
                    if str(job_id) in queued:
                        job = QueuedJob(**queued[str(job_id)])
                        return replace(job, account=job.account or account)
                return None
            job = _portal_job(str(job_id), stored, _now())
        self._write_output(job)
        return job

    def cancel_job(self, job_id: str, *, as_user: str | None) -> None:
        self._maybe_fail(f"cancel {job_id}")
        with self._state(write=True) as state:
            stored = state["portal_jobs"].get(str(job_id))
            if stored is None:
                raise JobRefused("Invalid job id specified")
            if as_user is not None and as_user != stored["username"]:
                raise JobRefused("Access/permission denied")
            if _portal_job(str(job_id), stored, _now()).state in ACTIVE_STATES:
                stored["cancelled"] = _now().isoformat()

    def _write_output(self, job: QueuedJob, portal_jobs: dict | None = None) -> None:
        """Once a pretend job has run, its output file holds what its script's ``echo`` lines would print.
        ``portal_jobs`` is the state's record of the portal's jobs when the caller has read it already (one read
        of the state per list, not one per job)."""
        if job.state != "COMPLETED" or not job.stdout_path:
            return
        path = job.stdout_path
        if os.path.exists(path):
            return
        if portal_jobs is None:
            with self._state() as state:
                portal_jobs = state["portal_jobs"]
        stored = portal_jobs.get(job.job_id)
        if stored is None:
            return
        lines = [
            f"fake cluster {self.cluster_name}: job {job.job_id} ({job.name}) ran nowhere; its echo lines:"
        ]
        lines += [match.group(2) for line in stored["script"].splitlines() if (match := ECHO.match(line))]
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "x") as handle:
                handle.write("\n".join(lines) + "\n")
        except OSError:
            pass  # a directory the demo cannot write: the job's page says nothing was written

    @staticmethod
    def _user_has_jobs(state: dict, account: str, user: str) -> bool:
        if any(job["user"] == user for job in state["queued"].get(account, {}).values()):
            return True
        now = _now()
        if any(
            stored["username"] == user
            and stored["account"] == account
            and _portal_job(job_id, stored, now).state in ACTIVE_STATES
            for job_id, stored in state["portal_jobs"].items()
        ):
            return True
        return any(
            j.account == account and j.user == user and j.state in ACTIVE_STATES for j in _job_records(state)
        )


def _cluster_state(clusters: dict, name: str) -> dict:
    state = clusters.setdefault(name, {})
    for key in ("accounts", "jobs", "queued", "usage", "reset", "portal_jobs"):
        state.setdefault(key, {})
    return state


def _accounting_record(cluster: str, job: QueuedJob) -> JobRecord:
    """What the pretend accounting says of a portal job: billing is its cards (or its cores on a CPU job)."""
    billing = job.cards or job.cpus or 1
    tres = {"billing": billing, "cpu": job.cpus, "node": job.nodes}
    if job.cards:
        tres["gres/npu"] = job.cards
    return JobRecord(
        job_id=job.job_id,
        cluster=cluster,
        account=job.account,
        user=job.user,
        partition=job.partition,
        state=job.state,
        submit=job.submit_time,
        start=job.start_time,
        end=job.end_time,
        elapsed_seconds=job.elapsed_seconds,
        tres=tres,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _portal_job(job_id: str, stored: dict, now: datetime) -> QueuedJob:
    """A submitted job as the pretend scheduler sees it at ``now``."""
    submitted = datetime.fromisoformat(stored["submitted"])
    cancelled = datetime.fromisoformat(stored["cancelled"]) if stored.get("cancelled") else None
    start = submitted + timedelta(seconds=PENDING_SECONDS)
    end = start + timedelta(seconds=min(RUNNING_SECONDS, stored["time_limit_minutes"] * 60))
    if cancelled is not None and cancelled < end:
        state, end = "CANCELLED", cancelled
        start = start if start < cancelled else None
    elif now < start:
        state, start, end = "PENDING", None, None
    elif now < end:
        state, end = "RUNNING", None
    else:
        state = "COMPLETED"
    elapsed = int(((end or now) - start).total_seconds()) if start else 0
    return QueuedJob(
        job_id=job_id,
        user=stored["username"],
        partition=stored["partition"],
        state=state,
        reason="Priority" if state == "PENDING" else "None",
        name=stored["name"],
        account=stored["account"],
        submit_time=submitted,
        start_time=start,
        end_time=end,
        time_limit_minutes=stored["time_limit_minutes"],
        elapsed_seconds=max(elapsed, 0),
        nodes=stored["nodes"],
        cpus=stored["cpus_per_node"] * stored["nodes"],
        cards=stored["cards_per_node"] * stored["nodes"],
        memory_mb=stored["memory_mb"] * stored["nodes"],
        stdout_path=stored["stdout_path"].replace("%j", job_id),
        stderr_path=stored["stderr_path"].replace("%j", job_id),
        working_directory=stored["working_directory"],
        exit_code=0 if state == "COMPLETED" else None,
    )


def _account_state(name: str, account: dict) -> AccountState:
    return AccountState(
        name,
        frozenset(account["users"]),
        dict(account["limits"]),
        account["blocked"],
        partitions=frozenset([account["partition"]]) if account.get("partition") else frozenset(),
        user_limits=dict(account.get("user_limits", {})),
        blocked_users=frozenset(account.get("blocked_users", [])),
    )


def _job_records(state: dict) -> list[JobRecord]:
    jobs = []
    for stored in state["jobs"].values():
        record = dict(stored)
        for key in ("submit", "start", "end"):
            if isinstance(record[key], str):
                record[key] = datetime.fromisoformat(record[key])
        jobs.append(JobRecord(**record))
    return jobs


def _tres(limits: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(limits.items())) or "none"
