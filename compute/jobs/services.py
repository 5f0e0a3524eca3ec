"""Submitting and cancelling jobs: every check before anything reaches Slurm, then the person's own token.

``submit_job`` refuses, with a sentence the person can act on, before the scheduler is asked: a person without
an active cluster identity, someone who is not one of the allocation's current users, an allocation that is not
active (not started, exhausted, suspended, expired), a partition that is not the allocation's, resources beyond
the partition's nodes, a time limit beyond the partition's MaxTime or beyond what is left of the quota, a script
that is too long or not a script, and too many submissions in the last hour. Only then does the cluster's backend
submit the script through slurmrestd with a token minted for the person's own cluster user name; Slurm's own
refusal comes back as its message. Every submission and cancellation is audited (who, what, where).
"""

import logging
import math
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.models import Organisation, User
from compute.backends import get_backend
from compute.backends.base import ClusterError, ClusterUnreachable, JobRefused, JobSubmission, QueuedJob
from compute.identities.models import IdentityStatus
from compute.identities.services import identity_of
from compute.jobs.catalogue import check_script_text
from compute.jobs.models import Submission
from compute.models import Allocation, AllocationMember, AllocationStatus, Unit
from core import audit
from core.exceptions import DomainError, NotAllowed
from core.mail import send_templated_mail
from core.roles import is_operator

logger = logging.getLogger(__name__)

ACTIVE_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"}


AUDIT_LABELS = {
    "job.submit": _lazy("Job submitted"),
    "job.cancel": _lazy("Job cancelled"),
    "job.refused": _lazy("Job refused by Slurm"),
}


class TooManySubmissions(DomainError):
    status_code = 429
    code = "too_many_submissions"


class ClusterUnavailable(DomainError):
    status_code = 503
    code = "cluster_unreachable"


class SlurmRefused(DomainError):
    code = "refused_by_slurm"


@dataclass
class JobRequest:
    """What a person asks to run: the parsed, typed input of the form or the API."""

    allocation: Allocation
    script: str
    name: str = "job"
    nodes: int = 1
    cards_per_node: int = 0
    cpus_per_node: int = 1
    memory_gb: int = 1
    time_limit_minutes: int = 60
    template: object | None = None
    parameters: dict = field(default_factory=dict)
    partition: str = ""  # the API may name one: it must be the allocation's


# --- what a job can cost -------------------------------------------------------------------------------


def units_per_hour(partition, *, nodes: int, cards: int, cpus: int, memory_gb: int) -> Decimal:
    """How many of the partition's units (card-hours or core-hours) a job of this shape is billed per hour.

    Slurm bills the largest of the job's weighted resources on a node (PriorityFlags=MAX_TRES): on an
    accelerator partition a card is one unit and cores and memory count as their share of the node's cards;
    on a CPU partition a core is one unit and memory and cards count as their share of the node's cores.
    """
    if partition.unit == Unit.CARD_HOUR and partition.cards_per_node:
        per_node = max(
            Decimal(cards),
            Decimal(cpus) * partition.cards_per_node / partition.cores_per_node,
            Decimal(memory_gb) * partition.cards_per_node / partition.memory_per_node_gb,
        )
    else:
        per_node = max(
            Decimal(cpus),
            Decimal(memory_gb) * partition.cores_per_node / partition.memory_per_node_gb,
            Decimal(cards) * partition.cores_per_node / max(partition.cards_per_node, 1),
        )
    return per_node * nodes


def estimate(partition, *, nodes: int, cards: int, cpus: int, memory_gb: int, minutes: int) -> Decimal:
    """The most a job can use: its hourly units for its whole time limit, rounded up to 0.01."""
    hourly = units_per_hour(partition, nodes=nodes, cards=cards, cpus=cpus, memory_gb=memory_gb)
    return (hourly * minutes / 60).quantize(Decimal("0.01"), rounding=ROUND_UP)


def cost_so_far(partition, job: QueuedJob) -> Decimal:
    """What a queued or finished job has used so far, in the partition's unit (from its elapsed time)."""
    hourly = units_per_hour(
        partition,
        nodes=max(job.nodes, 1),
        cards=job.cards // max(job.nodes, 1) if job.cards else 0,
        cpus=max(job.cpus // max(job.nodes, 1), 1),
        memory_gb=max(math.ceil(job.memory_mb / 1024 / max(job.nodes, 1)), 0) if job.memory_mb else 0,
    )
    return (hourly * Decimal(job.elapsed_seconds) / 3600).quantize(Decimal("0.01"))


# --- who may run where --------------------------------------------------------------------------------


def usable_allocations(user: User):
    """The allocations the person may submit under now: they are one of its current users."""
    return (
        Allocation.objects.filter(
            members__user=user, members__removed_at__isnull=True, status=AllocationStatus.ACTIVE
        )
        .select_related("partition", "organisation")
        .order_by("-id")
        .distinct()
    )


def _check_person(user: User, allocation: Allocation):
    identity = identity_of(user)
    if identity is None:
        raise DomainError(
            _("You have no cluster user name yet. Choose one on “My cluster access” first."),
            code="no_identity",
        )
    if identity.status != IdentityStatus.ACTIVE:
        raise DomainError(
            _("Your cluster user is locked, so it cannot run jobs. Ask your organisation's managers why."),
            code="identity_locked",
        )
    if not AllocationMember.objects.current().filter(allocation=allocation, user=user).exists():
        raise NotAllowed(
            _("You are not one of this allocation's users. Ask your organisation's managers to add you.")
        )
    return identity


def _check_allocation(allocation: Allocation, today=None) -> None:
    today = today or timezone.localdate()
    if allocation.start_date > today:
        raise DomainError(
            _("This allocation starts on %(date)s; jobs can run from then.")
            % {"date": allocation.start_date},
            code="not_started",
        )
    if allocation.end_date < today:
        raise DomainError(
            _("This allocation ended on %(date)s.") % {"date": allocation.end_date}, code="ended"
        )
    if allocation.status == AllocationStatus.EXHAUSTED or allocation.remaining_amount <= 0:
        raise DomainError(
            _(
                "This allocation's quota is used up. Your organisation can ask for more on its allocation's page."
            ),
            code="exhausted",
        )
    if allocation.status != AllocationStatus.ACTIVE:
        raise DomainError(
            _("This allocation is %(status)s, so it runs no new jobs.")
            % {"status": allocation.get_status_display()},
            code="not_active",
        )


def _check_resources(request: JobRequest) -> Decimal:
    allocation, partition = request.allocation, request.allocation.partition
    if request.partition and request.partition not in (partition.slug, partition.slurm_partition):
        raise DomainError(
            _("This allocation's quota is on the partition “%(partition)s” only; a job cannot run elsewhere.")
            % {"partition": partition.slurm_partition},
            code="wrong_partition",
        )
    limits = [
        (request.nodes, 1, partition.max_nodes, _("nodes")),
        (request.cards_per_node, 0, partition.cards_per_node, _("accelerator cards per node")),
        (request.cpus_per_node, 1, partition.cores_per_node, _("CPU cores per node")),
        (request.memory_gb, 1, partition.memory_per_node_gb, _("GB of memory per node")),
        (request.time_limit_minutes, 1, partition.max_time_minutes, _("minutes")),
    ]
    for value, low, high, what in limits:
        if not isinstance(value, int) or isinstance(value, bool) or value < low or value > high:
            raise DomainError(
                _(
                    "The partition “%(partition)s” allows %(low)s to %(high)s %(what)s per job; you asked for %(value)s."
                )
                % {
                    "partition": partition.slurm_partition,
                    "low": low,
                    "high": high,
                    "what": what,
                    "value": value,
                },
                code="over_partition_limit",
            )
    most = estimate(
        partition,
        nodes=request.nodes,
        cards=request.cards_per_node,
        cpus=request.cpus_per_node,
        memory_gb=request.memory_gb,
        minutes=request.time_limit_minutes,
    )
    remaining = allocation.remaining_amount
    if most > remaining:
        hourly = units_per_hour(
            partition,
            nodes=request.nodes,
            cards=request.cards_per_node,
            cpus=request.cpus_per_node,
            memory_gb=request.memory_gb,
        )
        fits = int(remaining * 60 / hourly) if hourly else 0
        raise DomainError(
            _(
                "This job could use up to %(most)s %(unit)s, but the allocation has %(left)s left. "
                "Ask for fewer resources or a time limit of at most %(fits)s minutes."
            )
            % {
                "most": most,
                "unit": partition.get_unit_display(),
                "left": remaining.quantize(Decimal("0.01")),
                "fits": fits,
            },
            code="over_quota",
        )
    return most


def check_script(script: str) -> str:
    """The batch script rules (compute/jobs/catalogue.py) as a domain error: the API and the form show it."""
    try:
        return check_script_text(script)
    except ValidationError as error:
        raise DomainError(error.messages[0], code=error.code or "script_invalid") from error


def _check_rate(user: User, organisation: Organisation) -> None:
    hour_ago = timezone.now() - timedelta(hours=1)
    if (
        Submission.objects.since(hour_ago).filter(submitted_by=user).count()
        >= settings.JOB_SUBMISSIONS_PER_HOUR
    ):
        raise TooManySubmissions(
            _("You submitted %(count)s jobs in the last hour, the most allowed. Try again later.")
            % {"count": settings.JOB_SUBMISSIONS_PER_HOUR}
        )
    per_organisation = settings.JOB_SUBMISSIONS_PER_HOUR_PER_ORGANISATION
    if (
        Submission.objects.since(hour_ago).filter(allocation__organisation=organisation).count()
        >= per_organisation
    ):
        raise TooManySubmissions(
            _(
                "Your organisation submitted %(count)s jobs in the last hour, the most allowed. Try again later."
            )
            % {"count": per_organisation}
        )


def check_job(request: JobRequest, *, by: User) -> Decimal:
    """Everything submit_job checks before the cluster is asked; returns the most the job can use."""
    _check_person(by, request.allocation)
    _check_allocation(request.allocation)
    most = _check_resources(request)
    check_script(request.script)
    return most


def working_directory(identity) -> str:
    return (
        settings.JOB_WORKING_DIRECTORY.format(username=identity.username, home=identity.home).rstrip("/")
        or "/"
    )


def _job_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in (name or "job"))[:64].strip("-.")
    return cleaned or "job"


def submit_job(request: JobRequest, *, by: User, backend=None) -> Submission:
    """Check, submit as the person, record and audit. Raises DomainError (and subclasses) with the reason."""
    allocation = request.allocation
    identity = _check_person(by, allocation)
    _check_allocation(allocation)
    most = _check_resources(request)
    script = check_script(request.script)
    _check_rate(by, allocation.organisation)
    partition = allocation.partition
    backend = backend or get_backend(partition.cluster)
    directory = working_directory(identity)
    name = _job_name(request.name)
    submission = JobSubmission(
        script=script,
        name=name,
        account=allocation.account_name,
        partition=partition.slurm_partition,
        nodes=request.nodes,
        cpus_per_node=request.cpus_per_node,
        cards_per_node=request.cards_per_node,
        memory_mb=request.memory_gb * 1024,
        time_limit_minutes=request.time_limit_minutes,
        working_directory=directory,
        stdout_path=f"{directory}/{name}-%j.out",
        stderr_path=f"{directory}/{name}-%j.err",
    )
    try:
        job_id = backend.submit_job(identity.username, submission)
    except JobRefused as exc:
        audit.record(
            "job.refused",
            allocation,
            actor=by,
            organisation=allocation.organisation,
            reason=f"Slurm refused a job of {identity.username}: {exc}"[:1000],
        )
        raise SlurmRefused(_("Slurm refused the job: %(reason)s") % {"reason": exc}) from exc
    except (ClusterUnreachable, ClusterError) as exc:
        logger.warning("job submission to %s failed: %s", partition.cluster, exc)
        raise ClusterUnavailable(
            _("The cluster cannot be reached just now, so nothing was submitted. Try again in a few minutes.")
        ) from exc
    with transaction.atomic():
        record = Submission.objects.create(
            allocation=allocation,
            submitted_by=by,
            cluster_user=identity.username,
            uid=identity.uid,
            template=request.template,
            parameters=request.parameters,
            script=script,
            cluster=partition.cluster,
            job_id=str(job_id),
            name=name,
            partition=partition.slurm_partition,
            nodes=request.nodes,
            cards_per_node=request.cards_per_node,
            cpus_per_node=request.cpus_per_node,
            memory_gb=request.memory_gb,
            time_limit_minutes=request.time_limit_minutes,
            estimated_amount=most,
            working_directory=directory,
            stdout_path=submission.stdout_path.replace("%j", str(job_id)),
            stderr_path=submission.stderr_path.replace("%j", str(job_id)),
        )
        audit.record(
            "job.submit",
            record,
            actor=by,
            organisation=allocation.organisation,
            changes={"state": (None, "submitted")},
            reason=(
                f"job {job_id} on {partition.cluster}/{partition.slurm_partition} as {identity.username} under "
                f"{allocation.account_name}: {request.nodes} node(s) × {request.cards_per_node} card(s), "
                f"{request.cpus_per_node} core(s), {request.memory_gb} GB, {request.time_limit_minutes} min"
                + (f", template {request.template}" if request.template else "")
            )[:1000],
        )
    return record


# --- cancelling -----------------------------------------------------------------------------------------


def may_cancel(user: User, job: QueuedJob, allocation: Allocation | None) -> bool:
    if job.state not in ACTIVE_STATES or allocation is None:
        return False
    if is_operator(user):
        return True
    identity = identity_of(user)
    if identity is not None and identity.username == job.user:
        return True
    return Organisation.objects.managed_by(user).filter(pk=allocation.organisation_id).exists()


def cancel_job(
    job: QueuedJob, *, cluster: str, allocation: Allocation, by: User, reason: str = "", backend=None
) -> None:
    """Cancel a pending or running job: the owner as themselves, their managers and operators through the
    cluster's operator user. Someone else's job needs a reason, and its owner is told by mail."""
    if not may_cancel(by, job, allocation):
        raise NotAllowed(_("You may not cancel this job."))
    identity = identity_of(by)
    own = identity is not None and identity.username == job.user
    reason = (reason or "").strip()
    if not own and not reason:
        raise DomainError(
            _("Say why you cancel someone else's job: its owner is told."), code="reason_required"
        )
    backend = backend or get_backend(cluster)
    try:
        backend.cancel_job(job.job_id, as_user=job.user if own else None)
    except JobRefused as exc:
        raise SlurmRefused(_("Slurm refused to cancel the job: %(reason)s") % {"reason": exc}) from exc
    except (ClusterUnreachable, ClusterError) as exc:
        raise ClusterUnavailable(
            _(
                "The cluster cannot be reached just now, so the job was not cancelled. Try again in a few minutes."
            )
        ) from exc
    record = Submission.objects.filter(cluster=cluster, job_id=job.job_id).first()
    if record is not None:
        record.cancelled_by, record.cancelled_at, record.cancel_reason = by, timezone.now(), reason[:500]
        record.save(update_fields=["cancelled_by", "cancelled_at", "cancel_reason"])
    audit.record(
        "job.cancel",
        record or allocation,
        actor=by,
        organisation=allocation.organisation,
        changes={"state": (job.state, "CANCELLED")},
        reason=f"job {job.job_id} on {cluster} of {job.user}" + (f": {reason}" if reason else ""),
    )
    if not own:
        owner = User.objects.filter(cluster_identity__username=job.user).first()
        if owner is not None:
            send_templated_mail(
                "compute/email/job_cancelled",
                to=[owner.email],
                context={"job": job, "cluster": cluster, "reason": reason, "allocation": allocation},
            )
