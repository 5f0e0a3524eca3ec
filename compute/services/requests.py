"""Quota requests: filed, edited, submitted and withdrawn by the organisation; decided by the operators."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation, User
from compute.backends.base import ClusterBackend
from compute.models import (
    Allocation,
    AllocationStatus,
    Partition,
    QuotaRequest,
    QuotaRequestMember,
    RequestKind,
    validate_cluster_username,
)
from compute.services import members as members_services
from compute.services.allocations import (
    change_allocation,
    close_allocation,
    create_allocation,
    manager_emails,
    require_quota_manager,
    require_quota_operator,
)
from compute.services.capacity import capacity_left
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.states import save_transition
from projects.models import INCUBATING_STATUSES

MAX_PERIOD_DAYS = 366
MAX_AMOUNT = Decimal(10) ** 12


@dataclass(frozen=True)
class MemberAccess:
    """A person named on a request. ``cluster_username`` is never typed: ``with_usernames`` fills it with the
    person's identity's name, or the name they will get when their access starts."""

    user: User
    cluster_username: str = ""


def with_usernames(members: list[MemberAccess]) -> list[MemberAccess]:
    """The people with the user names the portal gives them (distinct within the request)."""
    planned: list[MemberAccess] = []
    used: set[str] = set()
    for member in members:
        name = members_services.planned_username(member.user, avoid=used)
        used.add(name)
        planned.append(MemberAccess(member.user, name))
    return planned


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
    if kind == RequestKind.EARLY_CLOSE and members:
        add("members", _("An early close gives nobody access; leave the cluster users out."))
    if kind == RequestKind.NEW and not members:
        add("members", _("Name at least one person who gets access to the cluster."))
    if kind != RequestKind.EARLY_CLOSE and members:
        members = with_usernames(members)
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
                continue
            if member.user.pk not in member_ids:
                add(
                    "members",
                    _("%(person)s is not a member of the organisation.")
                    % {"person": member.user.email or str(member.user)},
                )
            else:
                # The rules of adding someone to an allocation by hand.
                problem = members_services.cluster_username_problem(member.user)
                if problem:
                    add("members", problem)
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


def _check_request(request: QuotaRequest, members: list[MemberAccess]) -> None:
    """An edited or submitted request, checked in full as it stands (``ValidationError`` by field)."""
    _raise_if(
        validate_request_fields(
            organisation=request.organisation,
            partition=request.partition,
            kind=request.kind,
            amount=request.amount,
            start_date=request.start_date,
            end_date=request.end_date,
            allocation=request.allocation,
            members=members,
            project=request.project,
        )
    )


def _raise_if(errors: dict[str, list[str]]) -> None:
    if errors:
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
    require_quota_manager(organisation, by)
    if not organisation.is_verified:
        raise NotAllowed(
            _("Only verified organisations request compute. Submit yours for verification first.")
        )
    members = with_usernames(list(members))
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
    save_transition(
        request,
        None,
        by=by,
        action="quota_request.create",
        changes={
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
    require_quota_manager(request.organisation, by)
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
    new_members = with_usernames(list(members)) if members is not None else current_members
    _check_request(request, new_members)
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
    require_quota_manager(request.organisation, by)
    if request.status in QuotaRequest.EDITABLE:
        # Re-check at submission: capacity and dates may have changed since the draft.
        _check_request(
            request,
            [MemberAccess(m.user, m.cluster_username) for m in request.members.select_related("user")],
        )
    old = request.submit()
    save_transition(request, old, by=by, action="quota_request.submit")
    return request


@transaction.atomic
def withdraw_quota_request(request: QuotaRequest, *, by: User) -> QuotaRequest:
    request = QuotaRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    require_quota_manager(request.organisation, by)
    old = request.withdraw()
    save_transition(request, old, by=by, action="quota_request.withdraw")
    return request


def _notify_decision(request: QuotaRequest) -> None:
    send_templated_mail(
        "compute/email/request_decision",
        to=manager_emails(request.organisation),
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
    require_quota_operator(by)
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
    save_transition(
        request,
        old,
        by=by,
        action="quota_request.approve",
        changes={"granted_amount": (str(request.amount), str(granted))},
    )
    if request.kind == RequestKind.NEW:
        create_allocation(request, by=by)
    elif request.kind == RequestKind.INCREASE:
        change_allocation(
            request.allocation, by=by, granted_amount=request.allocation.granted_amount + granted
        )
    elif request.kind == RequestKind.EXTENSION:
        change_allocation(
            request.allocation, by=by, end_date=max(request.end_date, request.allocation.end_date)
        )
    if request.kind in (RequestKind.INCREASE, RequestKind.EXTENSION):
        members_services.apply_request_members(request, by=by)
    elif request.kind == RequestKind.EARLY_CLOSE:
        close_allocation(request.allocation, by=by, reason=_("Closed early at the organisation's request."))
    _notify_decision(request)
    return request


def _decide_with_reason(request: QuotaRequest, *, by: User, reason: str, transition: str) -> QuotaRequest:
    """Reject or send back for changes: the same lock, save, audit and mail around one transition."""
    require_quota_operator(by)
    request = (
        QuotaRequest.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=request.pk)
    )
    old = getattr(request, transition)(by=by, reason=reason)
    save_transition(request, old, by=by, action=f"quota_request.{transition}", reason=request.decision_reason)
    _notify_decision(request)
    return request


@transaction.atomic
def reject_quota_request(request: QuotaRequest, *, by: User, reason: str) -> QuotaRequest:
    return _decide_with_reason(request, by=by, reason=reason, transition="reject")


@transaction.atomic
def request_quota_changes(request: QuotaRequest, *, by: User, reason: str) -> QuotaRequest:
    return _decide_with_reason(request, by=by, reason=reason, transition="request_changes")


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
