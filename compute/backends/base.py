"""The interface between the portal and a cluster.

The portal describes what it wants (``DesiredAccount``) and the backend converges the cluster to it:
read, diff, apply. Running ``converge`` twice with the same desired state changes nothing the second
time, so a retried or duplicated task never grants twice. Only these frozen dataclasses and
``ClusterError`` cross the boundary; nothing here knows about Django models.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime


class ClusterError(Exception):
    """The cluster could not be read or changed (down, refused, timed out). Safe to retry."""


@dataclass(frozen=True)
class DesiredAccount:
    """What the portal wants on the cluster for one allocation.

    ``limits`` are TRES-minutes (for example ``{"gres/npu": 6000}`` for 100 card-hours); an empty dict
    means no limit is set by the portal. ``blocked`` stops new jobs (GrpSubmitJobs=0) without touching
    running ones.
    """

    name: str
    description: str
    users: frozenset[str]
    limits: dict[str, int] = field(default_factory=dict)
    blocked: bool = False
    partition: str = ""

    def __hash__(self):
        return hash((self.name, self.users, tuple(sorted(self.limits.items())), self.blocked))


@dataclass(frozen=True)
class AccountState:
    """What the cluster has for one account, as read back."""

    name: str
    users: frozenset[str]
    limits: dict[str, int]
    blocked: bool

    def __hash__(self):
        return hash((self.name, self.users, tuple(sorted(self.limits.items())), self.blocked))


@dataclass(frozen=True)
class Change:
    """One thing ``converge`` or ``remove_account`` did, for the allocation's history."""

    action: str  # add_account, add_user, remove_user, set_limits, block, unblock, remove_account
    account: str
    detail: str = ""


@dataclass(frozen=True)
class JobRecord:
    """One finished or running job from the cluster's accounting."""

    job_id: str
    cluster: str
    account: str
    user: str
    partition: str
    state: str
    submit: datetime | None
    start: datetime | None
    end: datetime | None
    elapsed_seconds: int
    tres: dict[str, int]  # allocated TRES counts, for example {"cpu": 4, "gres/npu": 2}

    def __post_init__(self):
        # The ingest stores times as timestamptz (a binary COPY on PostgreSQL): a naive time has no meaning.
        for name in ("submit", "start", "end"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"JobRecord.{name} must be timezone-aware, got {moment!r}")


class ClusterBackend:
    """A cluster the portal provisions quota on. Implementations: slurm.SlurmBackend, fake.FakeBackend."""

    #: Shown to people (pages, health), for example "Slurm cluster aicc" or "fake cluster (demo)".
    label = "cluster"
    #: The cluster's name as it appears in accounting (sacct's Cluster field).
    cluster_name = "cluster"

    def converge(self, desired: DesiredAccount) -> list[Change]:
        """Make the cluster match ``desired`` (create the account, add/remove users, set limits, block)."""
        raise NotImplementedError

    def read_account(self, name: str) -> AccountState | None:
        """The account's state on the cluster, or None when it does not exist."""
        raise NotImplementedError

    def remove_account(self, name: str) -> list[Change]:
        """Remove the account and its users' associations; nothing happens if it is already gone.

        Callers block the account first (``converge`` with ``blocked=True``): deleting an association
        cancels its running and pending jobs.
        """
        raise NotImplementedError

    def list_accounts(self, prefix: str) -> list[AccountState]:
        """Every account whose name starts with ``prefix`` (the portal's own), for reconciliation."""
        raise NotImplementedError

    def jobs(self, since: datetime, until: datetime | None = None) -> Iterator[JobRecord]:
        """Jobs that started, ran or ended since ``since`` (accounting), any account."""
        raise NotImplementedError

    def usage_minutes(self, name: str) -> dict[str, int]:
        """TRES-minutes the account has used so far, as the scheduler counts them against its limits."""
        raise NotImplementedError

    def active_jobs(self, name: str) -> int:
        """How many of the account's jobs are running or pending right now (squeue)."""
        raise NotImplementedError
