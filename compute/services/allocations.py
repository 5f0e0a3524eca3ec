"""Allocations: created and changed by decisions, converged to the cluster, suspended, resumed, closed."""

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.models import Membership, MembershipRole, Organisation, User
from compute import kept, tasks
from compute.backends import get_backend
from compute.backends.base import ClusterBackend, ClusterError
from compute.identities import services as identities
from compute.identities.directory.base import DirectoryError
from compute.models import Allocation, AllocationMember, AllocationStatus, QuotaRequest
from core import audit, outbox
from core.exceptions import DomainError, NotAllowed
from core.roles import is_operator, is_read_only
from core.states import save_transition

logger = logging.getLogger(__name__)

# --- checks ------------------------------------------------------------------------------------------


def require_quota_manager(organisation: Organisation, user: User) -> None:
    """The organisation's owners and administrators manage its quota; a supervisor is told why not."""
    if is_read_only(user):
        raise NotAllowed(_("Supervisors read everything and change nothing."))
    access.require_manager(
        organisation, user, _("Only the organisation's owners and administrators manage its compute quota.")
    )


def require_quota_operator(user: User) -> None:
    access.require_operator(user, _("Only the center's operators decide quota requests."))


def manager_emails(organisation: Organisation) -> list[str]:
    """Who hears about the organisation's requests and allocations: its owners and administrators."""
    return list(
        Membership.objects.filter(organisation=organisation, role__in=MembershipRole.managing()).values_list(
            "user__email", flat=True
        )
    )


# --- allocations -------------------------------------------------------------------------------------


def schedule_sync(allocation: Allocation) -> None:
    # Through the outbox: written with the decision, sent to the broker after the commit and retried until
    # it answers (a broker outage is no error page, and the message is not lost).
    outbox.enqueue_task(tasks.sync_allocation_task.name, args=[allocation.pk])


def create_allocation(request: QuotaRequest, *, by: User) -> Allocation:
    allocation = Allocation.objects.create(
        organisation=request.organisation,
        partition=request.partition,
        request=request,
        granted_amount=request.granted_amount,
        start_date=request.start_date,
        end_date=request.end_date,
    )
    allocation.account_name = Allocation.account_name_for(allocation.pk)
    allocation.save(update_fields=["account_name"])
    # Each person named gets (or keeps) their one cluster identity; Slurm sees its user name.
    members = []
    for named in request.members.select_related("user").order_by("id"):
        identity = identities.ensure_identity(named.user, by=by, preferred=named.cluster_username)
        if named.cluster_username != identity.username:
            named.cluster_username = identity.username
            named.save(update_fields=["cluster_username"])
        members.append(
            AllocationMember(allocation=allocation, user=named.user, cluster_username=identity.username)
        )
    AllocationMember.objects.bulk_create(members)
    identities.ensure_group(allocation)
    for member in members:
        identities.review_access(member.user)
    save_transition(
        allocation,
        None,
        by=by,
        action="allocation.create",
        changes={"granted_amount": (None, str(allocation.granted_amount))},
    )
    schedule_sync(allocation)
    return allocation


def change_allocation(allocation: Allocation, *, by: User, **fields) -> Allocation:
    allocation = Allocation.objects.select_for_update(of=("self",)).get(pk=allocation.pk)
    changes = {}
    for name, value in fields.items():
        changes[name] = (str(getattr(allocation, name)), str(value))
        setattr(allocation, name, value)
    # More quota or a later end lifts the states they caused.
    if allocation.status == AllocationStatus.EXHAUSTED and allocation.used_amount < allocation.granted_amount:
        changes["status"] = (allocation.move_to(AllocationStatus.ACTIVE), AllocationStatus.ACTIVE)
        allocation.notified_100_at = None
    if allocation.status == AllocationStatus.EXPIRED and allocation.end_date > timezone.localdate():
        changes["status"] = (allocation.move_to(AllocationStatus.ACTIVE), AllocationStatus.ACTIVE)
    if allocation.used_amount < allocation.granted_amount * Decimal("0.8"):
        allocation.notified_80_at = None
    allocation.save()
    audit.record(
        "allocation.change", allocation, actor=by, organisation=allocation.organisation, changes=changes
    )
    schedule_sync(allocation)
    return allocation


def sync_allocation(allocation_id: int, *, backend: ClusterBackend | None = None) -> Allocation | None:
    """Converge the cluster to the allocation (idempotent) and record the outcome on it.

    Raises ClusterError after recording it, so the task can retry with backoff. ``backend`` defaults to the
    backend of the allocation's cluster (its partition's).
    """
    with transaction.atomic():
        allocation = (
            Allocation.objects.select_for_update(of=("self",))
            .select_related("partition", "organisation")
            .filter(pk=allocation_id)
            .first()
        )
        if allocation is None:
            return None
        if allocation.status == AllocationStatus.PENDING:
            old = allocation.move_to(AllocationStatus.PROVISIONING)
            save_transition(allocation, old, by=None, action="allocation.provisioning")
    try:
        # A user must resolve on the controller before Slurm hears of them: identities and the account's
        # group first, in this task (a directory failure is retried as a cluster one is).
        identities.publish_for_allocation(allocation)
    except DirectoryError as error:
        Allocation.objects.filter(pk=allocation.pk).update(
            sync_error=str(error)[:2000], sync_attempts=allocation.sync_attempts + 1
        )
        kept.ALLOCATIONS.forget()  # an update sends no signal
        raise
    backend = backend or get_backend(allocation.partition.cluster)
    started = allocation.has_started()  # the account converged open for its dates (blocked before)
    reset = allocation.usage_reset_pending and allocation.status != AllocationStatus.CLOSED
    try:
        if allocation.status == AllocationStatus.CLOSED:
            # Block first (running jobs finish; deleting an association would cancel them), then remove.
            changes = []
            if backend.read_account(allocation.account_name) is not None:
                changes += backend.converge(allocation.desired_account())
                # Jobs still running finish first; reconcile removes the account once they have.
                if backend.active_jobs(allocation.account_name) == 0:
                    changes += backend.remove_account(allocation.account_name)
        else:
            changes = backend.converge(allocation.desired_account())
            if reset:
                # Once, after the move to billing units: the limit is the grant less the carried usage.
                changes += backend.reset_usage(allocation.account_name)
    except (ClusterError, ValueError) as error:
        # Shown on the allocation page; a ClusterError is retried by the task, a ValueError (a name the
        # cluster refuses, a misconfigured backend) needs a person and is not.
        Allocation.objects.filter(pk=allocation.pk).update(
            sync_error=str(error)[:2000], sync_attempts=allocation.sync_attempts + 1
        )
        kept.ALLOCATIONS.forget()  # an update sends no signal
        if isinstance(error, ClusterError):
            raise
        return allocation
    with transaction.atomic():
        allocation = (
            Allocation.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .get(pk=allocation.pk)
        )
        # Provisioned before this converge: held for its start date if it opens now.
        held = allocation.provisioned_at is not None
        allocation.sync_error, allocation.sync_attempts, allocation.last_synced_at = "", 0, timezone.now()
        fields = ["sync_error", "sync_attempts", "last_synced_at"]
        if allocation.status == AllocationStatus.PROVISIONING:
            old = allocation.move_to(AllocationStatus.ACTIVE)
            allocation.provisioned_at = timezone.now()
            save_transition(
                allocation, old, by=None, action="allocation.activate", fields=[*fields, "provisioned_at"]
            )
        else:
            allocation.save(update_fields=fields)
        _record_opening_and_reset(allocation, started=started, held=held, reset=reset)
        if changes:
            audit.record(
                "allocation.cluster_sync",
                allocation,
                organisation=allocation.organisation,
                changes={"cluster": (None, "; ".join(f"{c.action} {c.detail}".strip() for c in changes))},
            )
    return allocation


def _record_opening_and_reset(allocation: Allocation, *, started: bool, held: bool, reset: bool) -> None:
    """After a successful converge: the first one on or after the start date opened the account; a pending
    usage reset was done. Recorded in the transaction that records the success, so neither happens twice."""
    fields = []
    if reset:
        allocation.usage_reset_pending = False
        fields.append("usage_reset_pending")
        audit.record(
            "allocation.usage_reset",
            allocation,
            organisation=allocation.organisation,
            changes={"carried_amount": (None, str(allocation.carried_amount))},
        )
    if started and allocation.opened_at is None and allocation.status != AllocationStatus.CLOSED:
        allocation.opened_at = timezone.now()
        fields.append("opened_at")
        if held:
            # Provisioned earlier and held for its start date (not opened by its first converge).
            audit.record(
                "allocation.open",
                allocation,
                organisation=allocation.organisation,
                changes={"start_date": (None, str(allocation.start_date))},
            )
    if fields:
        allocation.save(update_fields=fields)


def sync_due_allocations(*, today: date | None = None) -> int:
    """Every few minutes (beat): converge the allocations whose start date has come but that the cluster
    still holds blocked, and those whose usage counter awaits its one reset (after the billing migration).

    Converged here rather than queued: a cluster that does not answer for hours must not pile up a queued
    task per run; the error is recorded on the allocation and the next run tries again."""
    today = today or timezone.localdate()
    live = [AllocationStatus.ACTIVE, AllocationStatus.SUSPENDED, AllocationStatus.EXHAUSTED]
    due = Allocation.objects.filter(
        Q(status__in=live, opened_at__isnull=True, start_date__lte=today)
        | Q(status__in=[*live, AllocationStatus.EXPIRED], usage_reset_pending=True)
    )
    count = 0
    for pk in due.values_list("pk", flat=True):
        try:
            sync_allocation(pk)
            count += 1
        except (ClusterError, DirectoryError) as error:
            logger.warning("sync_due_allocations: allocation %s: %s", pk, error)
    return count


def _set_status(allocation: Allocation, new_status: str, *, by: User | None, reason: str = "") -> Allocation:
    allocation = (
        Allocation.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .get(pk=allocation.pk)
    )
    if allocation.status == new_status:
        return allocation  # already there: nothing to record or to send to the cluster
    old = allocation.move_to(new_status)
    save_transition(allocation, old, by=by, action=f"allocation.{new_status}", reason=reason)
    schedule_sync(allocation)
    return allocation


@transaction.atomic
def suspend_allocation(allocation: Allocation, *, by: User, reason: str) -> Allocation:
    require_quota_operator(by)
    if not (reason or "").strip():
        raise DomainError(_("Give a reason for the suspension."))
    return _set_status(allocation, AllocationStatus.SUSPENDED, by=by, reason=reason.strip())


@transaction.atomic
def resume_allocation(allocation: Allocation, *, by: User) -> Allocation:
    require_quota_operator(by)
    return _set_status(allocation, AllocationStatus.ACTIVE, by=by)


@transaction.atomic
def close_allocation(allocation: Allocation, *, by: User | None, reason: str = "") -> Allocation:
    """Close: block new jobs, then remove the account from the cluster (by the sync task)."""
    if by is not None and not is_operator(by):
        require_quota_manager(allocation.organisation, by)
    allocation = _set_status(allocation, AllocationStatus.CLOSED, by=by, reason=reason)
    # Its group leaves the directory; its people's identities start their grace period if it was their last.
    identities.close_group(allocation)
    identities.review_allocation(allocation)
    return allocation


def expire_due_allocations(*, today: date | None = None) -> int:
    """Daily: allocations past their end are expired (blocked), then closed a week later.

    The same service as a manual close does the closing.
    """
    today = today or timezone.localdate()
    count = 0
    live = [AllocationStatus.ACTIVE, AllocationStatus.SUSPENDED, AllocationStatus.EXHAUSTED]
    for pk in Allocation.objects.filter(status__in=live, end_date__lte=today).values_list("pk", flat=True):
        with transaction.atomic():
            _set_status(Allocation(pk=pk), AllocationStatus.EXPIRED, by=None, reason="end date reached")
            count += 1
    grace = today - timedelta(days=settings.ALLOCATION_CLOSE_AFTER_DAYS)
    for pk in Allocation.objects.filter(status=AllocationStatus.EXPIRED, end_date__lte=grace).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            close_allocation(Allocation(pk=pk), by=None, reason="expired")
            count += 1
    return count


def retry_sync(allocation: Allocation, *, by: User) -> None:
    """An operator asks for another attempt at converging the cluster now (after fixing a fault)."""
    require_quota_operator(by)
    audit.record(
        "allocation.retry_sync",
        allocation,
        actor=by,
        organisation=allocation.organisation,
        reason=allocation.sync_error,
    )
    schedule_sync(allocation)
