"""The allocation's jobs the scheduler holds now, with Slurm's reason for a pending one in words."""

import logging
import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from compute.backends import get_backend
from compute.backends.base import ClusterError, QueuedJob
from compute.models import Allocation, AllocationMember, AllocationStatus, Unit

logger = logging.getLogger(__name__)

# Slurm's reason codes (squeue %r), by family. "Assoc" limits are on the account's or the person's
# association alike: which of the two held the job is told from the person's cap below.
_USAGE_LIMIT = re.compile(r"^AssocGrp\w*Minutes$")  # GrpTRESMins reached: AssocGrpBillingMinutes...
# GrpSubmitJobs=0 / GrpJobs=0: how the portal blocks an account (not started, suspended, ended).
_JOB_LIMIT = {"AssocGrpJobsLimit", "AssocGrpSubmitJobsLimit", "AssocMaxJobsLimit", "AssocMaxSubmitJobLimit"}
_RUNNING = {"None", ""}

QUOTA_USED_UP = "quota_used_up"
SHARE_USED_UP = "share_used_up"
NOT_STARTED = "not_started"
SUSPENDED = "suspended"
ENDED = "ended"
WAITING_RESOURCES = "waiting_resources"
WAITING_PRIORITY = "waiting_priority"
RUNNING = "running"
OTHER = "other"


@dataclass(frozen=True)
class Reason:
    kind: str  # one of the constants above; OTHER keeps Slurm's code for the page to show
    words: str
    code: str


@dataclass(frozen=True)
class QueuedJobs:
    jobs: list[tuple[QueuedJob, Reason]]
    error: str = ""  # the cluster did not answer: the page says so instead of listing


def explain(code: str, allocation: Allocation, *, capped: bool = False) -> Reason:
    """Slurm's reason code for a job of ``allocation`` in words people understand.

    ``capped``: the job's person has a cap on their share; a usage limit reached while the allocation
    still has quota left is then that person's cap, not the allocation's."""
    code = (code or "").strip()
    if code in _RUNNING:
        return Reason(RUNNING, str(_("running")), code)
    if _USAGE_LIMIT.match(code):
        if capped and allocation.used_amount < allocation.granted_amount:
            return Reason(SHARE_USED_UP, str(_("this person's share is used up")), code)
        return Reason(QUOTA_USED_UP, str(_("quota used up")), code)
    if code in _JOB_LIMIT:
        if allocation.not_started:
            return Reason(NOT_STARTED, str(_("allocation not started")), code)
        if allocation.status == AllocationStatus.SUSPENDED:
            return Reason(SUSPENDED, str(_("suspended by an operator")), code)
        if allocation.status in (AllocationStatus.EXPIRED, AllocationStatus.CLOSED):
            return Reason(ENDED, str(_("allocation ended")), code)
    if code == "Resources":
        if allocation.partition.unit == Unit.CARD_HOUR:
            return Reason(WAITING_RESOURCES, str(_("waiting for free cards")), code)
        return Reason(WAITING_RESOURCES, str(_("waiting for free cores")), code)
    if code == "Priority":
        return Reason(WAITING_PRIORITY, str(_("waiting in line")), code)
    return Reason(OTHER, str(_("other")), code)


def queued_jobs(allocation: Allocation) -> QueuedJobs:
    """Ask the allocation's cluster (its partition's) which of its jobs it holds, and why.

    A cluster that does not answer is reported, never raised: the allocation's page shows without them."""
    if not allocation.account_name or allocation.status == AllocationStatus.PENDING:
        return QueuedJobs([])
    try:
        jobs = get_backend(allocation.partition.cluster).queued_jobs(allocation.account_name)
    except ClusterError as error:
        logger.warning("queued jobs of %s: %s", allocation.account_name, error)
        return QueuedJobs([], error=str(_("The cluster did not answer; its queue cannot be shown now.")))
    capped = set(
        AllocationMember.objects.current()
        .filter(allocation=allocation, limit_amount__isnull=False)
        .values_list("cluster_username", flat=True)
    )
    return QueuedJobs([(job, explain(job.reason, allocation, capped=job.user in capped)) for job in jobs])
