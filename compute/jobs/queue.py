"""The live queue, as each person may see it.

The scheduler is asked once per cluster and organisation (or once per cluster for operators) and the answer is
kept for JOB_QUEUE_CACHE_SECONDS in the shared cache, so every viewer of the same organisation, on every web
process, shares one call however often their pages poll. A person sees their own jobs (their cluster user name)
under their organisations' allocations; managers see every job of the organisations they manage; operators and
supervisors see all. A cluster that does not answer is named, not hidden: the page says so and the next poll
tries again.
"""

import hashlib
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils.formats import localize
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, MembershipRole, Organisation, User
from compute import kept
from compute.backends import cluster_names, get_backend
from compute.backends.base import ClusterError, QueuedJob
from compute.identities.services import identity_of
from compute.jobs.models import Submission
from compute.jobs.services import ACTIVE_STATES, cost_so_far
from compute.models import Allocation
from core import pagecache
from core import rows as rows_module
from core.roles import is_operator, sees_all_organisations
from core.rows import duration_hms

logger = logging.getLogger(__name__)

SCOPES = ("mine", "organisation", "all")

# Slurm's reasons for a pending job, in words a person understands.
REASONS = {
    "None": "",
    "Priority": _("Waiting for jobs ahead of it in the queue."),
    "Resources": _("Waiting for free nodes or cards."),
    "Dependency": _("Waiting for another job it depends on."),
    "BeginTime": _("Waiting for its start time."),
    "JobHeldUser": _("Held by its owner."),
    "JobHeldAdmin": _("Held by the center's operators."),
    "AssocGrpGRESMinutes": _("The allocation's quota is used up: the job waits until more quota is granted."),
    "AssocGrpCPUMinutesLimit": _(
        "The allocation's quota is used up: the job waits until more quota is granted."
    ),
    "AssocGrpBillingMinutes": _(
        "The allocation's quota is used up: the job waits until more quota is granted."
    ),
    "AssocGrpSubmitJobsLimit": _("The allocation runs no new jobs now (suspended, ended or not started)."),
    "AssocMaxJobsLimit": _("You have as many jobs running as your allocation allows."),
    "QOSMaxJobsPerUserLimit": _("You have as many jobs running as allowed."),
    "PartitionTimeLimit": _("Its time limit is longer than the partition allows."),
    "ReqNodeNotAvail": _("The nodes it needs are not available (maintenance?)."),
    "PartitionDown": _("The partition is down."),
    "NodeDown": _("A node it needs is down."),
    "launch failed requeued held": _("Its start failed; the operators were told."),
}

STATE_LABELS = {
    "PENDING": _("Pending"),
    "RUNNING": _("Running"),
    "COMPLETED": _("Completed"),
    "FAILED": _("Failed"),
    "CANCELLED": _("Cancelled"),
    "TIMEOUT": _("Timed out"),
    "OUT_OF_MEMORY": _("Out of memory"),
    "NODE_FAIL": _("Node failed"),
    "PREEMPTED": _("Preempted"),
    "SUSPENDED": _("Suspended"),
    "COMPLETING": _("Completing"),
    "CONFIGURING": _("Starting"),
    "REQUEUED": _("Requeued"),
}

STATE_STYLES = {
    "PENDING": "secondary",
    "RUNNING": "primary",
    "COMPLETED": "success",
    "CANCELLED": "warning",
}


def reason_in_words(reason: str) -> str:
    if not reason or reason == "None":
        return ""
    return str(REASONS.get(reason, reason))


@dataclass
class JobRow:
    """One job of the queue with what the portal knows about it."""

    cluster: str
    job: QueuedJob
    allocation: Allocation | None
    submission: Submission | None
    cost: Decimal
    url: str = ""
    # The reader's standing in the job's organisation, as find_job found it (None for rows of a list).
    standing: "Standing | None" = None

    @property
    def is_active(self) -> bool:
        return self.job.state in ACTIVE_STATES

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS.get(self.job.state, self.job.state.title()))

    @property
    def state_style(self) -> str:
        return STATE_STYLES.get(self.job.state, "danger" if not self.is_active else "info")

    @property
    def reason(self) -> str:
        return reason_in_words(self.job.reason) if self.job.state == "PENDING" else ""

    @property
    def resources(self) -> str:
        """ "1 node · 8 cards · 32 cores", in the reader's language (one string per row, not template tags)."""
        job = self.job
        parts = [ngettext("%(count)s node", "%(count)s nodes", job.nodes) % {"count": job.nodes}]
        if job.cards:
            parts.append(ngettext("%(count)s card", "%(count)s cards", job.cards) % {"count": job.cards})
        parts.append(ngettext("%(count)s core", "%(count)s cores", job.cpus) % {"count": job.cpus})
        return " · ".join(parts)

    @property
    def unit(self) -> str:
        return self.allocation.partition.get_unit_display() if self.allocation else ""

    @property
    def elapsed(self) -> str:
        """ "3:25:45 / 240 min": the time the job has run and its limit."""
        limit = gettext("%(limit)s min") % {"limit": localize(self.job.time_limit_minutes)}
        return f"{duration_hms(self.job.elapsed_seconds)} / {limit}"


@dataclass
class Queue:
    """What the scheduler holds for the viewer, newest first with pending and running jobs on top: ``entries``
    are (cluster, job) pairs; ``rows_for`` turns the ones a page shows into rows (one query for all of them)."""

    entries: list[tuple[str, QueuedJob]]
    allocations: dict[str, Allocation]
    unreachable: list[str]
    # Until when (time.time()) every scheduler answer it was read from stays in the cache: a page made from it
    # may be kept that long and no longer (see ``keep_shown``).
    fresh_until: float = field(default_factory=lambda: time.time() + settings.JOB_QUEUE_CACHE_SECONDS)

    @property
    def any_active(self) -> bool:
        return any(job.state in ACTIVE_STATES for _cluster, job in self.entries)

    def rows_for(self, entries) -> list[JobRow]:
        entries = list(entries)
        submissions = {
            (record.cluster, record.job_id): record
            for record in Submission.objects.filter(
                job_id__in={job.job_id for _c, job in entries}
            ).select_related("template")
        }
        url_of = rows_module.UrlOf("compute:job_detail", 2)
        rows = []
        for cluster, job in entries:
            allocation = self.allocations.get(job.account)
            rows.append(
                JobRow(
                    cluster=cluster,
                    job=job,
                    allocation=allocation,
                    submission=submissions.get((cluster, job.job_id)),
                    cost=cost_so_far(allocation.partition, job) if allocation else Decimal("0"),
                    url=url_of(cluster, job.job_id),
                )
            )
        return rows

    @property
    def rows(self) -> list[JobRow]:
        return self.rows_for(self.entries)


def _cache_key(cluster: str, who: str) -> str:
    return "jobs:queue:" + hashlib.sha256(f"{cluster}\x1f{who}".encode()).hexdigest()[:32]


def _fetch(cluster: str, who: str, accounts: list[str] | None) -> tuple[list[QueuedJob], float] | None:
    """The scheduler's jobs of these accounts (None: all), shared in the cache, with the time until which that
    answer is kept; None when the scheduler does not answer."""
    key = _cache_key(cluster, who)
    cached = cache.get(key)
    if isinstance(cached, dict) and "jobs" in cached:
        return cached["jobs"], cached["until"]
    try:
        jobs = get_backend(cluster).list_jobs(accounts=accounts)
    except ClusterError as exc:
        logger.warning("the queue of %s could not be read: %s", cluster, exc)
        return None
    seconds = settings.JOB_QUEUE_CACHE_SECONDS
    until = time.time() + seconds
    cache.set(key, {"jobs": jobs, "until": until}, seconds)
    return jobs, until


def forget(cluster: str, organisation_id: int | None = None) -> None:
    """After a submission or a cancellation: the next look asks the scheduler again, and no page kept from the
    earlier answer is shown again."""
    keys = [_cache_key(cluster, "all")]
    if organisation_id is not None:
        keys.append(_cache_key(cluster, f"org:{organisation_id}"))
    cache.delete_many(keys)
    SHOWN.forget()


def _organisation_jobs(
    organisations: list[int],
) -> tuple[list[tuple[str, QueuedJob]], list[str], dict, float]:
    allocations = {
        allocation.account_name: allocation
        for allocation in Allocation.objects.filter(
            organisation_id__in=organisations, account_name__isnull=False
        )
        .on_cluster()
        .select_related("partition")
        .only(*ALLOCATION_FIELDS)
    }
    per_cluster: dict[tuple[str, int], list[str]] = {}
    for allocation in allocations.values():
        per_cluster.setdefault((allocation.partition.cluster, allocation.organisation_id), []).append(
            allocation.account_name
        )
    found, unreachable = [], set()
    fresh_until = time.time() + settings.JOB_QUEUE_CACHE_SECONDS
    for (cluster, organisation_id), accounts in sorted(per_cluster.items()):
        answer = _fetch(cluster, f"org:{organisation_id}", sorted(accounts))
        if answer is None:
            unreachable.add(cluster)
            continue
        jobs, until = answer
        fresh_until = min(fresh_until, until)
        found.extend((cluster, job) for job in jobs if job.account in allocations)
    return found, sorted(unreachable), allocations, fresh_until


def _all_jobs() -> tuple[list[tuple[str, QueuedJob]], list[str], dict, float]:
    found, unreachable = [], []
    fresh_until = time.time() + settings.JOB_QUEUE_CACHE_SECONDS
    for cluster in cluster_names():
        answer = _fetch(cluster, "all", None)
        if answer is None:
            unreachable.append(cluster)
            continue
        jobs, until = answer
        fresh_until = min(fresh_until, until)
        found.extend((cluster, job) for job in jobs)
    accounts = {job.account for _cluster, job in found}
    allocations = {
        allocation.account_name: allocation
        for allocation in Allocation.objects.filter(account_name__in=accounts)
        .select_related("partition")
        .only(*ALLOCATION_FIELDS)
    }
    return found, unreachable, allocations, fresh_until


# What a row needs of its allocation: the account, the organisation (who may see it) and the partition's
# cluster, unit and prices (the cost so far).
ALLOCATION_FIELDS = ("account_name", "organisation_id", "partition")


def allowed_scopes(user: User) -> list[str]:
    scopes = ["mine"]
    if Organisation.objects.managed_by(user).exists():
        scopes.append("organisation")
    if sees_all_organisations(user):
        scopes.append("all")
    return scopes


def queue_for(user: User, scope: str = "mine", *, scopes: list[str] | None = None, identity=False) -> Queue:
    """The jobs ``user`` sees in ``scope`` (mine, organisation, all), newest first. ``scopes`` (the user's
    ``allowed_scopes``) and ``identity`` (their ``identity_of``) save the queries when the caller has them."""
    if scope not in (scopes if scopes is not None else allowed_scopes(user)):
        scope = "mine"
    if scope == "all":
        found, unreachable, allocations, fresh_until = _all_jobs()
    else:
        organisations = list(
            (
                Organisation.objects.managed_by(user)
                if scope == "organisation"
                else Organisation.objects.for_user(user)
            )
            .filter(memberships__user=user)
            .values_list("pk", flat=True)
            .distinct()
        )
        found, unreachable, allocations, fresh_until = _organisation_jobs(organisations)
        if scope == "mine":
            identity = identity_of(user) if identity is False else identity
            username = identity.username if identity is not None else None
            found = [(cluster, job) for cluster, job in found if username and job.user == username]
    found.sort(key=lambda entry: (entry[1].state not in ACTIVE_STATES, -_job_number(entry[1].job_id)))
    return Queue(entries=found, allocations=allocations, unreachable=unreachable, fresh_until=fresh_until)


def _job_number(job_id: str) -> int:
    job_id = str(job_id)
    if job_id.isdigit():
        return int(job_id)
    digits = "".join(ch for ch in job_id if ch.isdigit())
    return int(digits) if digits else 0


def find_job(user: User, cluster: str, job_id: str) -> JobRow:
    """One job as ``user`` may see it; LookupError when it does not exist or is not theirs to see. A job the
    scheduler has forgotten is found through the portal's submission record.

    The scheduler is asked each time; the portal's record of the job with its allocation, and the reader's
    standing in the allocation's organisation, are kept per state of what they are read from (``_placed``,
    ``_standing``): a page of the job asks the database nothing while none of it changed."""
    if cluster not in cluster_names():
        raise LookupError(job_id)
    try:
        job = get_backend(cluster).get_job(str(job_id))
    except ClusterError:
        job = None
        unreachable = True
    else:
        unreachable = False
    allocations, records, personal = pagecache.Generation.current_many(
        kept.ALLOCATIONS, kept.JOB_RECORDS, pagecache.person(user.pk)
    )
    record, allocation = _placed(
        cluster, str(job_id), job.account if job else None, f"{allocations}:{records}"
    )
    if job is None:
        if record is None:
            raise LookupError(job_id)
        job = record_as_job(record, state="UNKNOWN" if unreachable else "FINISHED")
    if allocation is None:
        raise LookupError(job_id)
    standing = None
    if not sees_all_organisations(user):
        standing = _standing(user, allocation.organisation_id, personal)
    if not may_see(user, job, allocation, standing=standing):
        raise LookupError(job_id)
    return JobRow(
        cluster=cluster,
        job=job,
        allocation=allocation,
        submission=record,
        cost=cost_so_far(allocation.partition, job),
        standing=standing,
    )


def _placed(cluster: str, job_id: str, account: str | None, state: str) -> tuple:
    """The portal's record of the job (None for a job submitted elsewhere) and the allocation it ran under (its
    record's, else the one whose account the scheduler names; None when there is none), kept for ``state``:
    the generations of the allocations and of the job records (compute/kept.py)."""
    digest = hashlib.sha256(f"{cluster}\0{job_id}\0{account}".encode()).hexdigest()[:24]
    key = f"jobs:placed:{digest}:{state}"
    kept_value = cache.get(key)
    if kept_value is not None:
        return kept_value
    record = (
        Submission.objects.filter(cluster=cluster, job_id=job_id)
        .select_related("allocation__partition", "allocation__organisation", "template")
        .first()
    )
    if record is not None:
        allocation = record.allocation
    elif account:
        allocation = (
            Allocation.objects.filter(account_name=account)
            .select_related("partition", "organisation")
            .first()
        )
    else:
        allocation = None
    cache.set(key, (record, allocation), pagecache.BODY_SECONDS)
    return record, allocation


def _standing(user: User, organisation_id: int, personal: str) -> "Standing":
    """``standing_of``, kept while the person's generation (``personal``: their memberships and cluster identity
    start it anew, core/pagecache.py ``forget_person``) is the same."""
    key = f"jobs:standing:{user.pk}:{organisation_id}:{personal}"
    standing = cache.get(key)
    if standing is None:
        standing = standing_of(user, organisation_id)
        cache.set(key, standing, pagecache.BODY_SECONDS)
    return standing


@dataclass(frozen=True)
class Standing:
    """What a person is to one organisation, for the rules on its jobs: a member, a manager (owner or
    administrator), and their cluster user name (None without an identity)."""

    member: bool
    manages: bool
    username: str | None


def standing_of(user: User, organisation_id: int) -> Standing:
    """Two queries: the person's membership of the organisation and their identity."""
    role = (
        Membership.objects.filter(user=user, organisation_id=organisation_id)
        .values_list("role", flat=True)
        .first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    identity = identity_of(user)
    return Standing(
        member=role is not None,
        manages=role in MembershipRole.managing(),
        username=identity.username if identity is not None else None,
    )


def may_see(user: User, job: QueuedJob, allocation: Allocation, *, standing: Standing | None = None) -> bool:
    """Staff who see all organisations, the organisation's managers, and the member who runs it."""
    if sees_all_organisations(user):
        return True
    standing = standing or standing_of(user, allocation.organisation_id)
    return standing.manages or (
        standing.member and standing.username is not None and standing.username == job.user
    )


def may_read_output(
    user: User, job: QueuedJob, allocation: Allocation, *, standing: Standing | None = None
) -> bool:
    """The job's owner, their organisation's managers and operators (not supervisors: output is the
    organisation's work). ``standing``: the reader's, when the caller has it (``JobRow.standing``)."""
    if is_operator(user):
        return True
    standing = standing or standing_of(user, allocation.organisation_id)
    return standing.manages or (standing.username is not None and standing.username == job.user)


def record_as_job(record: Submission, *, state: str) -> QueuedJob:
    return QueuedJob(
        job_id=record.job_id,
        name=record.name,
        user=record.cluster_user,
        account=record.allocation.account_name or "",
        partition=record.partition,
        state=state,
        reason="",
        submit_time=record.submitted_at,
        start_time=None,
        end_time=None,
        time_limit_minutes=record.time_limit_minutes,
        elapsed_seconds=0,
        nodes=record.nodes,
        cpus=record.cpus_per_node * record.nodes,
        cards=record.cards_per_node * record.nodes,
        memory_mb=record.memory_gb * 1024 * record.nodes,
        stdout_path=record.stdout_path,
        stderr_path=record.stderr_path,
        working_directory=record.working_directory,
        exit_code=None,
    )


# --- what a viewer was shown ----------------------------------------------------------------------------
# "My jobs" polls itself every few seconds while a job runs, and every viewer's rows come from a scheduler
# answer kept JOB_QUEUE_CACHE_SECONDS: the page made from one answer is kept for the same viewer, scope, page
# and language until that answer expires, and no longer. It is shown again only while nothing it depends on
# changed: a submission or cancellation anywhere (``forget`` starts a new generation of SHOWN) or what the
# person may see (memberships, roles, cluster identity, allocations: core/pagecache.py ``forget_person``).
# A page made while a cluster did not answer is never kept, so the queue recovers on the next poll. A page made
# for a viewer is remembered (``pagecache.remember_page``): after a submission or cancellation the warm-up task
# asks the scheduler again and makes it anew before the viewer's next look (not each minute: it lives seconds).

SHOWN = pagecache.Generation("jobs-shown", each_minute=False)


def _shown_key(user_id, scope: str, number: int, language: str) -> str:
    return f"jobs:shown:{user_id}:{scope}:{number}:{language}"


def shown(user: User, scope: str, number: int, language: str) -> tuple[dict | None, tuple]:
    """What this viewer was shown for (scope, page, language) if it is still true, and the check a page made
    now must be kept with (read before it is made, so a change meanwhile makes it stale at once)."""
    key = _shown_key(user.pk, scope, number, language)
    person = pagecache.person(user.pk)
    found = cache.get_many([key, SHOWN.key, person.key])
    check = (found.get(SHOWN.key), found.get(person.key))
    if None in check:
        return None, (SHOWN.current(), person.current())
    kept = found.get(key)
    if isinstance(kept, dict) and kept.get("check") == check:
        return kept, check
    return None, check


def keep_shown(user: User, scope: str, number: int, language: str, page: dict, check: tuple, jobs: Queue):
    """Keep ``page`` (what ``shown`` returns) until the scheduler answers it came from expire."""
    seconds = int(jobs.fresh_until - time.time())
    if jobs.unreachable or seconds < 1:
        return
    cache.set(_shown_key(user.pk, scope, number, language), {**page, "check": check}, seconds)
