"""Use cases of the public compute service: requests, decisions, allocations on the cluster.

Usage ingest and reconciliation are in ``compute.usage``. Pages, the admin, the API and the tasks all
call these functions; the cluster backend is a parameter so tests pass the fake one.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, MembershipRole, Organisation, User
from compute.backends import get_backend
from compute.backends.base import ClusterBackend, ClusterError
from compute.models import (
    Allocation,
    AllocationMember,
    AllocationStatus,
    Partition,
    QuotaRequest,
    QuotaRequestMember,
    RequestKind,
    validate_cluster_username,
)
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.roles import is_operator, is_supervisor

MAX_PERIOD_DAYS = 366
MAX_AMOUNT = Decimal(10) ** 12


@dataclass(frozen=True)
class MemberAccess:
    user: User
    cluster_username: str


# --- checks ------------------------------------------------------------------------------------------


def _require_manager(organisation: Organisation, user: User) -> None:
    if is_supervisor(user) and not is_operator(user):
        raise NotAllowed(_("Supervisors read everything and change nothing."))
    if not Membership.objects.filter(
        organisation=organisation, user=user, role__in=MembershipRole.managing()
    ).exists():
        raise NotAllowed(_("Only the organisation's owners and administrators manage its compute quota."))


def _require_operator(user: User) -> None:
    if not is_operator(user):
        raise NotAllowed(_("Only the center's operators decide quota requests."))


def _decimal(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError(_("Give the amount as a number.")) from None
    if not amount.is_finite():
        raise DomainError(_("Give the amount as a number."))
    if abs(amount) >= MAX_AMOUNT:
        raise DomainError(_("This amount is far too large."))
    return amount


def committed_amount(
    partition: Partition, start: date, end: date, *, excluding: Allocation | None = None
) -> Decimal:
    """Quota already granted on a partition that overlaps a period, prorated by overlapping days."""
    total = Decimal("0")
    allocations = Allocation.objects.counting_against_capacity().filter(
        partition=partition, start_date__lt=end, end_date__gt=start
    )
    if excluding is not None:
        allocations = allocations.exclude(pk=excluding.pk)
    for granted, a_start, a_end in allocations.values_list("granted_amount", "start_date", "end_date"):
        days = (a_end - a_start).days
        overlap = (min(a_end, end) - max(a_start, start)).days
        total += granted * Decimal(overlap) / Decimal(days)
    return total.quantize(Decimal("0.01"))


def capacity_left(
    partition: Partition, start: date, end: date, *, excluding: Allocation | None = None
) -> Decimal:
    return max(
        partition.capacity_for(start, end) - committed_amount(partition, start, end, excluding=excluding),
        Decimal(0),
    )


def validate_request_fields(
    *,
    organisation: Organisation,
    partition: Partition,
    kind: str,
    amount,
    start_date: date,
    end_date: date,
    allocation: Allocation | None,
    members: list[MemberAccess],
    project=None,
    today: date | None = None,
    check_dates: bool = True,
) -> dict[str, list[str]]:
    """Every reason the request cannot be filed, by field. Empty when it is fine."""
    today = today or timezone.localdate()
    errors: dict[str, list[str]] = {}

    def add(field, message):
        errors.setdefault(field, []).append(str(message))

    if not partition.is_active:
        add("partition", _("This partition does not take requests at the moment."))
    if kind not in RequestKind.values:
        add("kind", _("Choose what the request is for."))
    needs_allocation = kind != RequestKind.NEW
    if needs_allocation:
        if allocation is None:
            add("allocation", _("Choose the allocation this request changes."))
        elif allocation.organisation_id != organisation.pk or allocation.partition_id != partition.pk:
            add("allocation", _("Choose an allocation of this organisation on this partition."))
        elif allocation.status == AllocationStatus.CLOSED:
            add("allocation", _("This allocation is closed."))
        elif kind == RequestKind.EXTENSION and end_date and end_date <= allocation.end_date:
            add("end_date", _("An extension must end after the allocation's current end."))
    elif allocation is not None:
        add("allocation", _("A new allocation does not change an existing one."))
    if project is not None:
        from projects.models import INCUBATING_STATUSES

        if project.organisation_id != organisation.pk:
            add("project", _("Choose one of this organisation's incubated projects."))
        elif project.status not in INCUBATING_STATUSES:
            add("project", _("This project is no longer being incubated."))
    try:
        amount = _decimal(amount)
    except DomainError as error:
        add("amount", error.message)
        amount = None
    if amount is not None and kind in (RequestKind.NEW, RequestKind.INCREASE):
        if amount <= 0:
            add("amount", _("The amount must be more than zero."))
        elif amount < partition.min_request or amount > partition.max_request:
            add(
                "amount",
                _("Ask for between %(min)s and %(max)s %(unit)s on this partition.")
                % {
                    "min": partition.min_request,
                    "max": partition.max_request,
                    "unit": partition.get_unit_display(),
                },
            )
        elif amount.as_tuple().exponent < -2:
            add("amount", _("Use at most two decimal places."))
    if start_date and end_date:
        if end_date <= start_date:
            add("end_date", _("The end must be after the start."))
        elif (end_date - start_date).days > MAX_PERIOD_DAYS:
            add("end_date", _("A period is at most one year; ask for an extension later."))
        if check_dates and start_date < today:
            add("start_date", _("The period cannot start in the past."))
    if kind == RequestKind.NEW:
        if not members:
            add("members", _("Name at least one person who gets access to the cluster."))
        usernames = [m.cluster_username for m in members]
        if len(set(usernames)) != len(usernames):
            add("members", _("Each person needs a different cluster username."))
        people = [m.user.pk for m in members]
        if len(set(people)) != len(people):
            add("members", _("Name each person once."))
        member_ids = set(
            Membership.objects.filter(
                organisation=organisation, user__in=[m.user for m in members]
            ).values_list("user_id", flat=True)
        )
        for member in members:
            try:
                validate_cluster_username(member.cluster_username)
            except Exception as error:  # ValidationError
                add("members", " ".join(getattr(error, "messages", [str(error)])))
            if member.user.pk not in member_ids:
                add(
                    "members",
                    _("%(person)s is not a member of the organisation.") % {"person": member.user.email},
                )
    if (
        not errors
        and amount is not None
        and kind in (RequestKind.NEW, RequestKind.INCREASE)
        and start_date
        and end_date
    ):
        left = capacity_left(partition, start_date, end_date)
        if amount > left:
            add(
                "amount",
                _("Only %(left)s %(unit)s are left on this partition for this period.")
                % {"left": left, "unit": partition.get_unit_display()},
            )
    return errors


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
        from django.core.exceptions import ValidationError

        raise ValidationError(errors)


# --- requests ----------------------------------------------------------------------------------------


@transaction.atomic
def create_quota_request(
    organisation: Organisation,
    *,
    by: User,
    partition: Partition,
    kind: str = RequestKind.NEW,
    amount=Decimal("0"),
    start_date: date,
    end_date: date,
    purpose: str,
    justification: str,
    members: list[MemberAccess] = (),
    allocation: Allocation | None = None,
    project=None,
) -> QuotaRequest:
    """File a draft request; it is checked in full now so that mistakes show before submission.

    ``project``: the incubated project (projects.Project) the compute serves, of the same organisation."""
    _require_manager(organisation, by)
    if not organisation.is_verified:
        raise NotAllowed(
            _("Only verified organisations request compute. Submit yours for verification first.")
        )
    members = list(members)
    _raise_if(
        validate_request_fields(
            organisation=organisation,
            partition=partition,
            kind=kind,
            amount=amount,
            start_date=start_date,
            end_date=end_date,
            allocation=allocation,
            members=members,
            project=project,
        )
    )
    request = QuotaRequest(
        organisation=organisation,
        partition=partition,
        kind=kind,
        allocation=allocation,
        project=project,
        amount=_decimal(amount) if kind in (RequestKind.NEW, RequestKind.INCREASE) else Decimal("0"),
        start_date=start_date,
        end_date=end_date,
        purpose=purpose.strip(),
        justification=justification.strip(),
        created_by=by,
    )
    request.full_clean()
    request.save()
    QuotaRequestMember.objects.bulk_create(
        [
            QuotaRequestMember(request=request, user=m.user, cluster_username=m.cluster_username)
            for m in members
        ]
    )
    audit.record(
        "quota_request.create",
        request,
        actor=by,
        organisation=organisation,
        changes={
            "status": (None, request.status),
            "amount": (None, str(request.amount)),
            **({"project": (None, project)} if project is not None else {}),
        },
    )
    return request


@transaction.atomic
def update_quota_request(
    request: QuotaRequest, *, by: User, members: list[MemberAccess] | None = None, **fields
):
    request = QuotaRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    _require_manager(request.organisation, by)
    if not request.is_editable:
        raise Conflict(_("Only drafts and requests sent back for changes can be edited."))
    allowed = {"partition", "amount", "start_date", "end_date", "purpose", "justification", "project"}
    changes = {}
    for name, value in fields.items():
        if name in ("purpose", "justification") and isinstance(value, str):
            value = value.strip()
        if name in allowed and getattr(request, name) != value:
            before = getattr(request, name)
            changes[name] = (None if before is None else str(before), None if value is None else str(value))
            setattr(request, name, value)
    current_members = [
        MemberAccess(m.user, m.cluster_username) for m in request.members.select_related("user")
    ]
    new_members = list(members) if members is not None else current_members
    _raise_if(
        validate_request_fields(
            organisation=request.organisation,
            partition=request.partition,
            kind=request.kind,
            amount=request.amount,
            start_date=request.start_date,
            end_date=request.end_date,
            allocation=request.allocation,
            members=new_members,
            project=request.project,
        )
    )
    request.full_clean()
    request.save()
    if members is not None:
        request.members.all().delete()
        QuotaRequestMember.objects.bulk_create(
            [
                QuotaRequestMember(request=request, user=m.user, cluster_username=m.cluster_username)
                for m in new_members
            ]
        )
        changes["members"] = (
            sorted(m.cluster_username for m in current_members),
            sorted(m.cluster_username for m in new_members),
        )
    if changes:
        audit.record(
            "quota_request.update", request, actor=by, organisation=request.organisation, changes=changes
        )
    return request


@transaction.atomic
def submit_quota_request(request: QuotaRequest, *, by: User) -> QuotaRequest:
    request = (
        QuotaRequest.objects.select_for_update(of=("self",))
        .select_related("partition", "organisation")
        .get(pk=request.pk)
    )
    _require_manager(request.organisation, by)
    if request.status in QuotaRequest.EDITABLE:
        # Re-check at submission: capacity and dates may have changed since the draft.
        _raise_if(
            validate_request_fields(
                organisation=request.organisation,
                partition=request.partition,
                kind=request.kind,
                amount=request.amount,
                start_date=request.start_date,
                end_date=request.end_date,
                allocation=request.allocation,
                members=[
                    MemberAccess(m.user, m.cluster_username) for m in request.members.select_related("user")
                ],
                project=request.project,
            )
        )
    old = request.submit()
    request.save(update_fields=["status", "submitted_at"])
    audit.record(
        "quota_request.submit",
        request,
        actor=by,
        organisation=request.organisation,
        changes={"status": (old, request.status)},
    )
    return request


@transaction.atomic
def withdraw_quota_request(request: QuotaRequest, *, by: User) -> QuotaRequest:
    request = QuotaRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    _require_manager(request.organisation, by)
    old = request.withdraw()
    request.save(update_fields=["status"])
    audit.record(
        "quota_request.withdraw",
        request,
        actor=by,
        organisation=request.organisation,
        changes={"status": (old, request.status)},
    )
    return request


def _notify_decision(request: QuotaRequest) -> None:
    recipients = list(
        Membership.objects.filter(
            organisation=request.organisation, role__in=MembershipRole.managing()
        ).values_list("user__email", flat=True)
    )
    send_templated_mail(
        "compute/email/request_decision",
        to=recipients,
        context={"request": request, "url": settings.SITE_URL + request.get_absolute_url()},
    )


@transaction.atomic
def approve_quota_request(
    request: QuotaRequest, *, by: User, granted_amount=None, backend: ClusterBackend | None = None
) -> QuotaRequest:
    """Approve (possibly a smaller amount) and change the cluster accordingly, after commit.

    The row lock makes a double submission of the same decision harmless: the second sees
    ``approved`` and is refused, so there is only ever one allocation.
    """
    _require_operator(by)
    request = (
        QuotaRequest.objects.select_for_update(of=("self",))
        .select_related("partition", "organisation", "allocation")
        .get(pk=request.pk)
    )
    try:
        granted = request.amount if granted_amount in (None, "") else _decimal(granted_amount)
    except DomainError as error:
        _raise_if({"granted_amount": [error.message]})
    if request.kind in (RequestKind.NEW, RequestKind.INCREASE):
        if granted <= 0:
            _raise_if({"granted_amount": [_("The granted amount must be more than zero.")]})
        if granted > request.amount:
            _raise_if({"granted_amount": [_("An operator may grant less than was asked, never more.")]})
        if granted.as_tuple().exponent < -2:
            _raise_if({"granted_amount": [_("Use at most two decimal places.")]})
        # Capacity may have been granted to others since this request was filed.
        start, end = request.start_date, request.end_date
        if request.kind == RequestKind.INCREASE:
            start, end = max(start, request.allocation.start_date), request.allocation.end_date
        left = capacity_left(request.partition, start, end)
        if granted > left:
            _raise_if(
                {
                    "granted_amount": [
                        _("Only %(left)s %(unit)s are left on this partition for this period.")
                        % {"left": left, "unit": request.partition.get_unit_display()}
                    ]
                }
            )
    old = request.approve(by=by, granted_amount=granted)
    request.save(update_fields=["status", "decided_by", "decided_at", "granted_amount"])
    audit.record(
        "quota_request.approve",
        request,
        actor=by,
        organisation=request.organisation,
        changes={"status": (old, request.status), "granted_amount": (str(request.amount), str(granted))},
    )
    if request.kind == RequestKind.NEW:
        _create_allocation(request, by=by)
    elif request.kind == RequestKind.INCREASE:
        _change_allocation(
            request.allocation, by=by, granted_amount=request.allocation.granted_amount + granted
        )
    elif request.kind == RequestKind.EXTENSION:
        _change_allocation(
            request.allocation, by=by, end_date=max(request.end_date, request.allocation.end_date)
        )
    elif request.kind == RequestKind.EARLY_CLOSE:
        close_allocation(request.allocation, by=by, reason=_("Closed early at the organisation's request."))
    _notify_decision(request)
    return request


def _decide_with_reason(request: QuotaRequest, *, by: User, reason: str, transition: str) -> QuotaRequest:
    """Reject or send back for changes: the same lock, save, audit and mail around one transition."""
    _require_operator(by)
    request = (
        QuotaRequest.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=request.pk)
    )
    old = getattr(request, transition)(by=by, reason=reason)
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(
        f"quota_request.{transition}",
        request,
        actor=by,
        organisation=request.organisation,
        changes={"status": (old, request.status)},
        reason=request.decision_reason,
    )
    _notify_decision(request)
    return request


@transaction.atomic
def reject_quota_request(request: QuotaRequest, *, by: User, reason: str) -> QuotaRequest:
    return _decide_with_reason(request, by=by, reason=reason, transition="reject")


@transaction.atomic
def request_quota_changes(request: QuotaRequest, *, by: User, reason: str) -> QuotaRequest:
    return _decide_with_reason(request, by=by, reason=reason, transition="request_changes")


# --- allocations -------------------------------------------------------------------------------------


def schedule_sync(allocation: Allocation) -> None:
    from compute.tasks import sync_allocation_task

    # robust: the decision is committed; a broker hiccup must not turn it into an error page (the hourly
    # reconcile converges anything a lost message left behind).
    transaction.on_commit(lambda: sync_allocation_task.delay(allocation.pk), robust=True)


def _create_allocation(request: QuotaRequest, *, by: User) -> Allocation:
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
    audit.record(
        "allocation.create",
        allocation,
        actor=by,
        organisation=allocation.organisation,
        changes={
            "status": (None, allocation.status),
            "granted_amount": (None, str(allocation.granted_amount)),
        },
    )
    schedule_sync(allocation)
    return allocation


def _change_allocation(allocation: Allocation, *, by: User, **fields) -> Allocation:
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
            allocation.save(update_fields=["status", "status_changed_at"])
            audit.record(
                "allocation.provisioning",
                allocation,
                organisation=allocation.organisation,
                changes={"status": (old, allocation.status)},
            )
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
            fields += ["status", "status_changed_at", "provisioned_at"]
            audit.record(
                "allocation.activate",
                allocation,
                organisation=allocation.organisation,
                changes={"status": (old, allocation.status)},
            )
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
        return allocation
    old = allocation.move_to(new_status)
    allocation.save(update_fields=["status", "status_changed_at"])
    audit.record(
        f"allocation.{new_status}",
        allocation,
        actor=by,
        organisation=allocation.organisation,
        changes={"status": (old, new_status)},
        reason=reason,
    )
    schedule_sync(allocation)
    return allocation


@transaction.atomic
def suspend_allocation(allocation: Allocation, *, by: User, reason: str) -> Allocation:
    _require_operator(by)
    if not (reason or "").strip():
        raise DomainError(_("Give a reason for the suspension."))
    return _set_status(allocation, AllocationStatus.SUSPENDED, by=by, reason=reason.strip())


@transaction.atomic
def resume_allocation(allocation: Allocation, *, by: User) -> Allocation:
    _require_operator(by)
    return _set_status(allocation, AllocationStatus.ACTIVE, by=by)


@transaction.atomic
def close_allocation(allocation: Allocation, *, by: User | None, reason: str = "") -> Allocation:
    """Close: block new jobs, then remove the account from the cluster (by the sync task)."""
    if by is not None and not is_operator(by):
        _require_manager(allocation.organisation, by)
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


def estimate(partition: Partition, amount, start: date | None, end: date | None) -> dict:
    """What the request form shows as the person types: cost and capacity left."""
    try:
        amount = _decimal(amount)
    except DomainError:
        amount = Decimal("0")
    result = {
        "cost": partition.cost(max(amount, Decimal(0))),
        "unit": partition.get_unit_display(),
        "left": None,
    }
    if start and end and end > start:
        result["left"] = capacity_left(partition, start, end)
    return result


def organisation_usage_summary(organisation: Organisation) -> dict:
    totals = (
        Allocation.objects.filter(organisation=organisation)
        .exclude(status=AllocationStatus.CLOSED)
        .aggregate(granted=Sum("granted_amount"), used=Sum("used_amount"))
    )
    return {k: v or Decimal("0") for k, v in totals.items()}


def retry_sync(allocation: Allocation, *, by: User) -> None:
    """An operator asks for another attempt at converging the cluster now (after fixing a fault)."""
    _require_operator(by)
    audit.record(
        "allocation.retry_sync",
        allocation,
        actor=by,
        organisation=allocation.organisation,
        reason=allocation.sync_error,
    )
    schedule_sync(allocation)


@dataclass(frozen=True)
class PartitionCapacity:
    partition: Partition
    capacity: Decimal
    granted: Decimal
    used: Decimal

    @property
    def granted_percent(self) -> Decimal:
        return (self.granted * 100 / self.capacity).quantize(Decimal("0.1")) if self.capacity else Decimal(0)

    @property
    def used_percent(self) -> Decimal:
        return (self.used * 100 / self.capacity).quantize(Decimal("0.1")) if self.capacity else Decimal(0)


def capacity_overview(start: date, end: date) -> list[PartitionCapacity]:
    """Per partition for a period: capacity (with over-commit), granted quota overlapping it, and usage in it."""
    from compute.models import DailyUsage

    used = dict(
        DailyUsage.objects.filter(day__gte=start, day__lt=end)
        .values("allocation__partition")
        .annotate(total=Sum("units"))
        .values_list("allocation__partition", "total")
    )
    return [
        PartitionCapacity(
            partition=p,
            capacity=p.capacity_for(start, end),
            granted=committed_amount(p, start, end),
            used=(used.get(p.pk) or Decimal(0)).quantize(Decimal("0.01")),
        )
        for p in Partition.objects.all()
    ]
