"""A pretend cluster for unit tests and the demo. Clearly labelled: nothing runs anywhere.

By default its state lives in the class, so every ``FakeBackend()`` of one process sees the same
cluster, as instances of the real backend see the same Slurm. With ``state_file`` (the demo sets it)
the state is a JSON file shared by the web process, the worker and beat, under a file lock.
Tests can make the next calls fail (``fail_next``), add jobs (``add_job``) and change the cluster
behind the portal's back (``set_limits_by_hand``), as an administrator with sacctmgr would.
"""

import contextlib
import fcntl
import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from threading import RLock

from compute.backends.base import (
    AccountState,
    Change,
    ClusterBackend,
    ClusterError,
    DesiredAccount,
    JobRecord,
)

ACTIVE_STATES = ("RUNNING", "PENDING")


class FakeBackend(ClusterBackend):
    label = "fake cluster (demonstration: no real jobs run)"
    cluster_name = "fake"

    _lock = RLock()
    _memory: dict = {"accounts": {}, "jobs": {}}
    _failures = 0
    calls: list[str] = []

    def __init__(self, state_file: str | None = None, **options):
        self.state_file = Path(state_file) if state_file else None
        self.options = options

    # --- state -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _state(self, write: bool = False):
        with self._lock:
            if self.state_file is None:
                yield FakeBackend._memory
                return
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.state_file.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
                except ValueError:
                    state = {}
                state.setdefault("accounts", {})
                state.setdefault("jobs", {})
                yield state
                if write:
                    tmp = self.state_file.with_suffix(".tmp")
                    tmp.write_text(json.dumps(state, default=str))
                    tmp.replace(self.state_file)

    # --- test and demo helpers -------------------------------------------------------------------
    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._memory, cls._failures, cls.calls = {"accounts": {}, "jobs": {}}, 0, []

    @classmethod
    def fail_next(cls, times: int = 1) -> None:
        cls._failures = times

    def add_job(self, job: JobRecord) -> None:
        """A job the pretend cluster ran (or is running); the same job id again replaces it."""
        with self._state(write=True) as state:
            record = asdict(job)
            for key in ("submit", "start", "end"):
                record[key] = record[key].isoformat() if record[key] else None
            state["jobs"][job.job_id] = record

    @classmethod
    def set_limits_by_hand(cls, name: str, limits: dict[str, int]) -> None:
        with cls._lock:
            cls._memory["accounts"][name]["limits"] = dict(limits)

    @classmethod
    def add_account_by_hand(cls, name: str) -> None:
        with cls._lock:
            cls._memory["accounts"][name] = {"users": [], "limits": {}, "blocked": False}

    def _maybe_fail(self, call: str) -> None:
        FakeBackend.calls.append(call)
        if FakeBackend._failures > 0:
            FakeBackend._failures -= 1
            raise ClusterError("fake cluster: controller not reachable (simulated)")

    # --- interface -------------------------------------------------------------------------------
    def converge(self, desired: DesiredAccount) -> list[Change]:
        self._maybe_fail(f"converge {desired.name}")
        changes = []
        with self._state(write=True) as state:
            account = state["accounts"].get(desired.name)
            if account is None:
                account = state["accounts"][desired.name] = {"users": [], "limits": {}, "blocked": False}
                changes.append(Change("add_account", desired.name))
            users = set(account["users"])
            for user in sorted(desired.users - users):
                changes.append(Change("add_user", desired.name, user))
            for user in sorted(users - desired.users):
                changes.append(Change("remove_user", desired.name, user))
            account["users"] = sorted(desired.users)
            if account["limits"] != desired.limits:
                account["limits"] = dict(desired.limits)
                changes.append(Change("set_limits", desired.name, _tres(desired.limits)))
            if account["blocked"] != desired.blocked:
                account["blocked"] = desired.blocked
                changes.append(Change("block" if desired.blocked else "unblock", desired.name))
        return changes

    def read_account(self, name: str) -> AccountState | None:
        self._maybe_fail(f"read {name}")
        with self._state() as state:
            account = state["accounts"].get(name)
            if account is None:
                return None
            return AccountState(
                name, frozenset(account["users"]), dict(account["limits"]), account["blocked"]
            )

    def remove_account(self, name: str) -> list[Change]:
        self._maybe_fail(f"remove {name}")
        with self._state(write=True) as state:
            if state["accounts"].pop(name, None) is None:
                return []
        return [Change("remove_account", name)]

    def list_accounts(self, prefix: str) -> list[AccountState]:
        self._maybe_fail("list")
        with self._state() as state:
            names = sorted(n for n in state["accounts"] if n.startswith(prefix))
            return [
                AccountState(
                    n,
                    frozenset(state["accounts"][n]["users"]),
                    dict(state["accounts"][n]["limits"]),
                    state["accounts"][n]["blocked"],
                )
                for n in names
            ]

    def _jobs(self) -> list[JobRecord]:
        with self._state() as state:
            records = list(state["jobs"].values())
        jobs = []
        for r in records:
            for key in ("submit", "start", "end"):
                if isinstance(r[key], str):
                    r[key] = datetime.fromisoformat(r[key])
            jobs.append(JobRecord(**r))
        return jobs

    def jobs(self, since: datetime, until: datetime | None = None) -> Iterator[JobRecord]:
        self._maybe_fail("jobs")
        for job in self._jobs():
            moment = job.end or job.start or job.submit
            if moment is None or (moment >= since and (until is None or moment <= until)):
                yield job

    def active_jobs(self, name: str) -> int:
        return sum(1 for j in self._jobs() if j.account == name and j.state in ACTIVE_STATES)

    def usage_minutes(self, name: str) -> dict[str, int]:
        used: dict[str, int] = {}
        for job in self._jobs():
            if job.account == name:
                for tres, count in job.tres.items():
                    used[tres] = used.get(tres, 0) + count * job.elapsed_seconds // 60
        return used


def _tres(limits: dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(limits.items())) or "none"
