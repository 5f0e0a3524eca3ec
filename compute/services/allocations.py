"""Allocations: created and changed by decisions, converged to the cluster, suspended, resumed, closed."""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.models import Membership, MembershipRole, Organisation, User
from compute import tasks
from compute.backends import get_backend
from compute.backends.base import ClusterBackend, ClusterError
from compute.models import Allocation, AllocationMember, AllocationStatus, QuotaRequest
from core import audit
from core.exceptions import DomainError, NotAllowed
from core.roles import is_operator, is_read_only
from core.states import save_transition

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
    # robust: the decision is committed; a broker hiccup must not turn it into an error page (the hourly
    # reconcile converges anything a lost message left behind).
    transaction.on_commit(lambda: tasks.sync_allocation_task.delay(allocation.pk), robust=True)


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
    AllocationMember.objects.bulk_create(
        [
            AllocationMember(allocation=allocation, user=m.user, cluster_username=m.cluster_username)
            for m in request.members.all()
        ]
    )
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

    Raises ClusterError after recording it, so the task can retry with backoff.
    """
    backend = backend or get_backend()
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
    usernames = frozenset(allocation.members.values_list("cluster_username", flat=True))
    try:
        if allocation.status == AllocationStatus.CLOSED:
            # Block first (running jobs finish; deleting an association would cancel them), then remove.
            changes = []
            if backend.read_account(allocation.account_name) is not None:
                changes += backend.converge(allocation.desired_account(usernames))
                # Jobs still running finish first; reconcile removes the account once they have.
                if backend.active_jobs(allocation.account_name) == 0:
                    changes += backend.remove_account(allocation.account_name)
        else:
            changes = backend.converge(allocation.desired_account(usernames))
    except (ClusterError, ValueError) as error:
        # Shown on the allocation page; a ClusterError is retried by the task, a ValueError (a name the
        # cluster refuses, a misconfigured backend) needs a person and is not.
        Allocation.objects.filter(pk=allocation.pk).update(
            sync_error=str(error)[:2000], sync_attempts=allocation.sync_attempts + 1
        )
        if isinstance(error, ClusterError):
            raise
        return allocation
    with transaction.atomic():
        allocation = (
            Allocation.objects.select_for_update(of=("self",))
            .select_related("organisation")
            .get(pk=allocation.pk)
        )
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
        if changes:
            audit.record(
                "allocation.cluster_sync",
                allocation,
                organisation=allocation.organisation,
                changes={"cluster": (None, "; ".join(f"{c.action} {c.detail}".strip() for c in changes))},
            )
    return allocation


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
    return _set_status(allocation, AllocationStatus.CLOSED, by=by, reason=reason)


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
