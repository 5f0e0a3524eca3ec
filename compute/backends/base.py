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


class ClusterUnreachable(ClusterError):
    """The cluster's controller (or its REST API) did not answer: nothing happened there."""


class JobRefused(ClusterError):
    """The scheduler refused a job or a cancellation; the message is Slurm's own."""


@dataclass(frozen=True)
class DesiredAccount:
    """What the portal wants on the cluster for one allocation.

    ``limits`` are TRES-minutes of the one billed unit (``{"billing": 6000}`` for 100 card-hours on the
    accelerator partition, whose billing weights make one card one billing unit); an empty dict means no
    limit is set by the portal. ``blocked`` stops new jobs (GrpSubmitJobs=0) without touching running ones.
    ``partition`` is the Slurm partition every user association is bound to: a job under the account on any
    other partition is refused by Slurm ("" binds nothing). ``users`` are the people who may submit now;
    ``user_limits`` caps one person's share, in the same TRES-minutes, on that person's association. A user
    the cluster has but ``users`` does not name is let go: blocked while they still have jobs in the
    account (running jobs finish, new ones are refused), removed once they have none.
    """

    name: str
    description: str
    users: frozenset[str]
    limits: dict[str, int] = field(default_factory=dict)
    blocked: bool = False
    partition: str = ""
    user_limits: dict[str, int] = field(default_factory=dict)

    def __hash__(self):
        return hash(
            (
                self.name,
                self.users,
                tuple(sorted(self.limits.items())),
                self.blocked,
                self.partition,
                tuple(sorted(self.user_limits.items())),
            )
        )


@dataclass(frozen=True)
class AccountState:
    """What the cluster has for one account, as read back.

    ``users`` are every user with an association in the account, ``blocked_users`` those of them whose
    association refuses new jobs (people being let go), ``partitions`` the partitions the users'
    associations are bound to, ``user_limits`` the caps on users' associations.
    """

    name: str
    users: frozenset[str]
    limits: dict[str, int]
    blocked: bool
    partitions: frozenset[str] = frozenset()
    user_limits: dict[str, int] = field(default_factory=dict)
    blocked_users: frozenset[str] = frozenset()

    def __hash__(self):
        return hash((self.name, self.users, tuple(sorted(self.limits.items())), self.blocked))

    @property
    def active_users(self) -> frozenset[str]:
        """The users who may submit now."""
        return self.users - self.blocked_users


@dataclass(frozen=True)
class Change:
    """One thing ``converge`` or ``remove_account`` did, for the allocation's history."""

    # add_account, add_user, remove_user, block_user, set_partition, set_limits, set_user_limit, block,
    # unblock, remove_account, reset_usage
    action: str
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
    tres: dict[str, int]  # allocated TRES counts, for example {"billing": 2, "cpu": 4, "gres/npu": 2}

    def __post_init__(self):
        # The ingest stores times as timestamptz (a binary COPY on PostgreSQL): a naive time has no meaning.
        for name in ("submit", "start", "end"):
            moment = getattr(self, name)
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"JobRecord.{name} must be timezone-aware, got {moment!r}")


@dataclass(frozen=True)
class QueuedJob:
    """A job the scheduler holds (pending or running, or recently finished) with Slurm's reason code
    (``Priority``, ``AssocGrpBillingMinutes``, ``None`` for a running job...). The fields after ``reason`` are
    filled by ``list_jobs`` and ``get_job`` (the job pages); ``queued_jobs`` needs only the first five."""

    job_id: str
    user: str
    partition: str
    state: str
    reason: str
    name: str = ""
    account: str = ""
    submit_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    time_limit_minutes: int = 0
    elapsed_seconds: int = 0
    nodes: int = 1
    cpus: int = 0
    cards: int = 0
    memory_mb: int = 0
    stdout_path: str = ""
    stderr_path: str = ""
    working_directory: str = ""
    exit_code: int | None = None


@dataclass(frozen=True)
class JobSubmission:
    """A batch job to submit as one person: the script as it is to run and the resources it asks for.
    ``stdout_path`` and ``stderr_path`` may contain Slurm's ``%j`` (the job id)."""

    script: str
    name: str
    account: str
    partition: str
    nodes: int
    cpus_per_node: int
    cards_per_node: int
    memory_mb: int
    time_limit_minutes: int
    working_directory: str
    stdout_path: str
    stderr_path: str
    environment: dict[str, str] = field(default_factory=dict)

    def __hash__(self):
        return hash(
            (self.script, self.name, self.account, self.partition, self.nodes, self.time_limit_minutes)
        )


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
        """TRES-minutes the account has used so far, as the scheduler counts them against its limits
        (``{"billing": ..., "cpu": ..., "gres/npu": ...}``)."""
        raise NotImplementedError

    def reset_usage(self, name: str) -> list[Change]:
        """Set the account's (and its users') usage counters back to zero; the limits stay."""
        raise NotImplementedError

    def queued_jobs(self, name: str) -> list[QueuedJob]:
        """The account's pending and running jobs, with the scheduler's reason for each."""
        raise NotImplementedError

    def ping(self, timeout: float | None = None) -> str:
        """A short description of the controller when it answers within ``timeout`` seconds; otherwise
        ``ClusterError``."""
        raise NotImplementedError

    def active_jobs(self, name: str) -> int:
        """How many of the account's jobs are running or pending right now (squeue)."""
        raise NotImplementedError

    # --- jobs from the browser (compute/jobs/) ---------------------------------------------------------
    def submit_job(self, username: str, job: JobSubmission) -> str:
        """Submit ``job`` as the cluster user ``username`` (never as a service account); its job id.
        ``JobRefused`` with Slurm's message when the scheduler refuses it, ``ClusterUnreachable`` when the
        controller does not answer."""
        raise ClusterError(f"{self.label} does not run jobs from the portal")

    def list_jobs(self, *, accounts: list[str] | None = None) -> list[QueuedJob]:
        """The jobs the scheduler holds under ``accounts`` (None: every account): pending, running and those
        that ended a short while ago (MinJobAge)."""
        raise ClusterError(f"{self.label} does not run jobs from the portal")

    def get_job(self, job_id: str) -> QueuedJob | None:
        """One job as the scheduler knows it; None when it does not (never existed, or forgotten)."""
        raise ClusterError(f"{self.label} does not run jobs from the portal")

    def cancel_job(self, job_id: str, *, as_user: str | None) -> None:
        """Cancel a job as its owner ``as_user``, or as the cluster's operator user (None: an operator's or a
        manager's cancellation). Cancelling a job that already ended changes nothing."""
        raise ClusterError(f"{self.label} does not run jobs from the portal")
