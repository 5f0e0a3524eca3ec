"""Every movement of a voucher's money: granting, monthly settlement (redemption), expiry and reversal.

Every movement is a ledger entry written here, under a row lock on the voucher; a balance is the sum of a
voucher's entries, read inside the same lock, so no two settlements can spend the same yuan twice and no
balance goes below zero.

Settlement of a month (``settle_month``) prices each allocation's usage of that month at its partition's
price and splits the cost: each applicable scheme pays its ratio of the cost (schemes stack, city before
district, up to ``VOUCHER_MAX_STACKED_RATIO`` in total), drawn from the organisation's vouchers of that
scheme, earliest expiry first, as far as their balances go; the organisation pays the rest. A voucher covers
the months its validity overlaps; once those months are settled, what is left of it expires.
"""

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.models import Organisation, User
from compute import kept
from compute.models import Allocation, DailyUsage
from compute.services.allocations import manager_emails
from compute.vouchers.models import (
    CENT,
    EntryKind,
    Issuer,
    LedgerEntry,
    Settlement,
    Voucher,
    VoucherScheme,
    VoucherSource,
)
from core import audit
from core.exceptions import Conflict, DomainError
from core.mail import send_templated_mail

MAX_AMOUNT = Decimal("100000000")  # 100 million CNY: beyond any voucher a city grants
ISSUER_ORDER = {Issuer.CITY: 0, Issuer.DISTRICT: 1}
ZERO = Decimal("0")


def money(value) -> Decimal:
    """An amount of yuan from input, or ``DomainError`` saying what is wrong with it."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise DomainError(_("Give the amount in yuan, e.g. 5000 or 5000.50.")) from None
    if not amount.is_finite() or amount <= 0:
        raise DomainError(_("The amount must be more than zero."))
    if amount.as_tuple().exponent < -2:
        raise DomainError(_("Use at most two decimal places."))
    if amount > MAX_AMOUNT:
        raise DomainError(_("The amount is too large."))
    return amount


def require_voucher_operator(user: User) -> None:
    access.require_operator(user, _("Only operators manage compute vouchers."))


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (month_start(day) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def scheme_refusal(scheme: VoucherScheme, organisation: Organisation, *, today: date) -> str:
    """Why the scheme grants the organisation nothing today (closed, unverified, not its kind); empty if not."""
    if not (scheme.is_active and scheme.valid_from <= today <= scheme.valid_until):
        return _("This voucher scheme is not open today.")
    if not organisation.is_verified:
        return _("Vouchers go to verified organisations only.")
    if not scheme.admits_kind(organisation.kind):
        return _("This scheme is for %(kinds)s only.") % {"kinds": ", ".join(scheme.eligible_kind_labels())}
    return ""


def _balances(voucher_ids: list[int]) -> dict[int, Decimal]:
    rows = (
        LedgerEntry.objects.filter(voucher_id__in=voucher_ids)
        .values("voucher_id")
        .annotate(total=Sum("amount"))
        .values_list("voucher_id", "total")
    )
    found = dict(rows)
    return {pk: found.get(pk) or ZERO for pk in voucher_ids}


def _entry(voucher: Voucher, kind: str, amount: Decimal, *, by=None, settlement=None, note="") -> LedgerEntry:
    return LedgerEntry.objects.create(
        voucher=voucher,
        kind=kind,
        amount=amount,
        settlement=settlement,
        created_by=by if getattr(by, "is_authenticated", False) else None,
        note=note[:300],
    )


def _granted(vouchers) -> Decimal:
    return vouchers.aggregate(total=Coalesce(Sum("amount"), ZERO))["total"]


# --- grants ---------------------------------------------------------------------------------------------


@transaction.atomic
def grant_voucher(
    scheme: VoucherScheme,
    organisation: Organisation,
    *,
    amount,
    by: User | None,
    source: str = VoucherSource.OPERATOR,
    project=None,
    today: date | None = None,
) -> Voucher:
    """Grant an organisation a voucher under a scheme, within the scheme's cap and budget.

    ``by`` is the deciding operator; None only for grants the portal makes itself (an incubation benefit)."""
    if by is not None:
        require_voucher_operator(by)
    today = today or timezone.localdate()
    amount = money(amount)
    # The scheme row serialises grants under it: cap and budget are checked against committed totals.
    scheme = VoucherScheme.objects.select_for_update().get(pk=scheme.pk)
    refusal = scheme_refusal(scheme, organisation, today=today)
    if refusal:
        raise Conflict(refusal)
    granted = _granted(scheme.vouchers)
    granted_here = _granted(scheme.vouchers.filter(organisation=organisation))
    if granted_here + amount > scheme.cap_per_organisation:
        raise Conflict(
            _(
                "This would exceed the scheme's cap of %(cap)s yuan per organisation (%(granted)s already granted)."
            )
            % {"cap": scheme.cap_per_organisation, "granted": granted_here}
        )
    if granted + amount > scheme.total_budget:
        raise Conflict(
            _("The scheme's budget has %(left)s yuan left.") % {"left": scheme.total_budget - granted}
        )
    if project is not None and Voucher.objects.filter(project=project, scheme=scheme).exists():
        raise Conflict(_("This project already has a voucher from this scheme."))
    expires_on = min(today + timedelta(days=scheme.voucher_validity_days - 1), scheme.valid_until)
    voucher = Voucher.objects.create(
        scheme=scheme,
        organisation=organisation,
        code=f"V{today:%Y%m}-{secrets.token_hex(4).upper()}",
        amount=amount,
        granted_on=today,
        expires_on=expires_on,
        source=source,
        project=project,
        granted_by=by,
    )
    _entry(voucher, EntryKind.GRANT, amount, by=by, note=scheme.name_en)
    audit.record(
        "voucher.grant",
        voucher,
        actor=by,
        organisation=organisation,
        changes={"balance": (None, str(amount)), "expires_on": (None, expires_on.isoformat())},
    )
    send_templated_mail(
        "compute/email/voucher_granted",
        to=manager_emails(organisation),
        context={"voucher": voucher, "scheme": scheme, "organisation": organisation},
    )
    return voucher


def _write_off(
    voucher_pk: int, kind: str, action: str, *, by=None, note: str, reason: str = ""
) -> LedgerEntry | None:
    """Take what is left of a voucher off it (under its row lock); None when nothing is left."""
    voucher = Voucher.objects.select_for_update().select_related("organisation").get(pk=voucher_pk)
    balance = _balances([voucher_pk])[voucher_pk]
    if balance <= 0:
        return None
    entry = _entry(voucher, kind, -balance, by=by, note=note)
    audit.record(
        action,
        voucher,
        actor=by,
        organisation=voucher.organisation,
        changes={"balance": (str(balance), "0.00")},
        reason=reason,
    )
    return entry


@transaction.atomic
def reverse_voucher(voucher: Voucher, *, by: User, reason: str) -> LedgerEntry:
    """Take back what is left of a voucher (granted by mistake, or the organisation no longer qualifies)."""
    require_voucher_operator(by)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for taking the voucher back."))
    entry = _write_off(voucher.pk, EntryKind.REVERSAL, "voucher.reverse", by=by, note=reason, reason=reason)
    if entry is None:
        raise Conflict(_("Nothing is left on this voucher to take back."))
    return entry


def expire_vouchers(*, through: date) -> int:
    """Write off what is left of vouchers that ended on or before ``through`` (their months are settled)."""
    expired = 0
    candidates = Voucher.objects.filter(expires_on__lte=through).values_list("pk", "expires_on")
    for pk, expires_on in candidates.iterator():
        with transaction.atomic():
            if (
                _write_off(pk, EntryKind.EXPIRY, "voucher.expire", note=f"expired {expires_on.isoformat()}")
                is not None
            ):
                expired += 1
    return expired


# --- settlement -----------------------------------------------------------------------------------------


@dataclass
class SettleResult:
    month: date
    settled: int = 0
    already: int = 0
    cost: Decimal = ZERO
    subsidy: Decimal = ZERO
    expired: int = 0
    settlements: list = field(default_factory=list)


def settle_month(month: date, *, today: date | None = None) -> SettleResult:
    """Settle every allocation's usage of ``month`` that is not settled yet, then expire what is over.

    Refuses a month that has not ended: its usage is not complete."""
    start, end = month_start(month), month_end(month)
    today = today or timezone.localdate()
    if end >= today:
        raise DomainError(_("A month is settled once it has ended."))
    result = SettleResult(month=start)
    allocation_ids = (
        DailyUsage.objects.filter(day__range=(start, end), units__gt=0)
        .values_list("allocation_id", flat=True)
        .distinct()
        .order_by("allocation_id")
    )
    for allocation_id in list(allocation_ids):
        settlement, created = settle_allocation_month(allocation_id, start)
        if settlement is None:
            continue
        if created:
            result.settled += 1
            result.cost += settlement.cost
            result.subsidy += settlement.subsidy
            result.settlements.append(settlement)
        else:
            result.already += 1
    result.expired = expire_vouchers(through=end)
    for organisation_id in sorted({s.organisation_id for s in result.settlements}):
        organisation = Organisation.objects.get(pk=organisation_id)
        send_templated_mail(
            "compute/email/statement_ready",
            to=manager_emails(organisation),
            context={"organisation": organisation, "month": start},
        )
    return result


@transaction.atomic
def settle_allocation_month(allocation_id: int, month: date) -> tuple[Settlement | None, bool]:
    """Price one allocation's usage of one month and charge the vouchers; (settlement, created).

    Idempotent: a month already settled is returned as it is."""
    start, end = month_start(month), month_end(month)
    allocation = (
        Allocation.objects.select_for_update(of=("self",))
        .select_related("partition", "organisation")
        .get(pk=allocation_id)
    )
    existing = Settlement.objects.filter(allocation=allocation, month=start).first()
    if existing is not None:
        return existing, False
    usage = DailyUsage.objects.filter(allocation=allocation, day__range=(start, end)).aggregate(
        units=Coalesce(Sum("units"), ZERO), jobs=Coalesce(Sum("jobs"), 0)
    )
    units = usage["units"]
    if units <= 0:
        return None, False
    price = allocation.partition.price_per_unit
    cost = (units * price).quantize(CENT, rounding=ROUND_HALF_UP)
    settlement = Settlement.objects.create(
        allocation=allocation,
        organisation=allocation.organisation,
        month=start,
        units=units,
        jobs=usage["jobs"],
        price_per_unit=price,
        cost=cost,
        subsidy=ZERO,
        payable=cost,
    )
    subsidy = _redeem(settlement, allocation, start, end) if cost > 0 else ZERO
    settlement.subsidy, settlement.payable = subsidy, cost - subsidy
    Settlement.objects.filter(pk=settlement.pk).update(subsidy=subsidy, payable=cost - subsidy)
    kept.VOUCHERS.forget()  # an update sends no signal
    audit.record(
        "settlement.create",
        settlement,
        organisation=allocation.organisation,
        changes={
            "cost": (None, str(cost)),
            "subsidy": (None, str(subsidy)),
            "payable": (None, str(cost - subsidy)),
        },
    )
    return settlement, True


def _redeem(settlement: Settlement, allocation: Allocation, start: date, end: date) -> Decimal:
    """Charge the subsidised part of a settlement to the organisation's vouchers; the total charged."""
    vouchers = list(
        Voucher.objects.select_for_update()
        .filter(organisation=allocation.organisation, granted_on__lte=end, expires_on__gte=start)
        .select_related("scheme")
        .order_by("pk")  # one lock order for every settlement: no deadlocks between them
    )
    eligible_schemes = {
        v.scheme_id
        for v in vouchers
        if not v.scheme.eligible_partitions.exists()
        or v.scheme.eligible_partitions.filter(pk=allocation.partition_id).exists()
    }
    vouchers = [v for v in vouchers if v.scheme_id in eligible_schemes]
    if not vouchers:
        return ZERO
    balances = _balances([v.pk for v in vouchers])
    by_scheme: dict[int, list[Voucher]] = {}
    for voucher in sorted(vouchers, key=lambda v: (v.expires_on, v.pk)):
        by_scheme.setdefault(voucher.scheme_id, []).append(voucher)
    schemes = sorted({v.scheme for v in vouchers}, key=lambda s: (ISSUER_ORDER.get(s.issuer, 9), s.pk))
    cost = settlement.cost
    ratio_left = Decimal(str(settings.VOUCHER_MAX_STACKED_RATIO))
    charged_total = ZERO
    for scheme in schemes:
        ratio = min(scheme.subsidy_ratio, ratio_left)
        if ratio <= 0:
            break
        ratio_left -= ratio
        target = min((cost * ratio).quantize(CENT, rounding=ROUND_HALF_UP), cost - charged_total)
        for voucher in by_scheme[scheme.pk]:
            if target <= 0:
                break
            take = min(target, balances[voucher.pk])
            if take <= 0:
                continue
            _entry(
                voucher,
                EntryKind.REDEMPTION,
                -take,
                settlement=settlement,
                note=f"{allocation.account_name or allocation.pk} {start:%Y-%m}",
            )
            audit.record(
                "voucher.redeem",
                voucher,
                organisation=allocation.organisation,
                changes={"balance": (str(balances[voucher.pk]), str(balances[voucher.pk] - take))},
            )
            balances[voucher.pk] -= take
            target -= take
            charged_total += take
    return charged_total
