"""Compute vouchers: granting, monthly settlement (redemption), expiry and reversal.

Every movement of money is a ledger entry written here, under a row lock on the voucher; a balance is the sum
of a voucher's entries, read inside the same lock, so no two settlements can spend the same yuan twice and
no balance goes below zero.

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

from accounts.models import EnterpriseSize, Membership, MembershipRole, Organisation, OrganisationKind, User
from compute.models import (
    Allocation,
    DailyUsage,
    EntryKind,
    Issuer,
    LedgerEntry,
    Settlement,
    Voucher,
    VoucherApplication,
    VoucherApplicationStatus,
    VoucherScheme,
    VoucherSource,
)
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.roles import is_operator

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("100000000")  # 100 million CNY: beyond any voucher a city grants
ISSUER_ORDER = {Issuer.CITY: 0, Issuer.DISTRICT: 1}


def _money(value) -> Decimal:
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


def _require_operator(user: User) -> None:
    if not is_operator(user):
        raise NotAllowed(_("Only operators manage compute vouchers."))


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (month_start(day) + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _balances(voucher_ids: list[int]) -> dict[int, Decimal]:
    rows = (
        LedgerEntry.objects.filter(voucher_id__in=voucher_ids)
        .values("voucher_id")
        .annotate(total=Sum("amount"))
        .values_list("voucher_id", "total")
    )
    found = dict(rows)
    return {pk: found.get(pk) or Decimal("0") for pk in voucher_ids}


def _entry(voucher: Voucher, kind: str, amount: Decimal, *, by=None, settlement=None, note="") -> LedgerEntry:
    return LedgerEntry.objects.create(
        voucher=voucher,
        kind=kind,
        amount=amount,
        settlement=settlement,
        created_by=by if getattr(by, "is_authenticated", False) else None,
        note=note[:300],
    )


def _managers_emails(organisation: Organisation) -> list[str]:
    return list(
        Membership.objects.filter(organisation=organisation, role__in=MembershipRole.managing()).values_list(
            "user__email", flat=True
        )
    )


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
        _require_operator(by)
    today = today or timezone.localdate()
    amount = _money(amount)
    # The scheme row serialises grants under it: cap and budget are checked against committed totals.
    scheme = VoucherScheme.objects.select_for_update().get(pk=scheme.pk)
    if not (scheme.is_active and scheme.valid_from <= today <= scheme.valid_until):
        raise Conflict(_("This voucher scheme is not open today."))
    if not organisation.is_verified:
        raise Conflict(_("Vouchers go to verified organisations only."))
    if not scheme.admits_kind(organisation.kind):
        raise Conflict(
            _("This scheme is for %(kinds)s only.") % {"kinds": ", ".join(scheme.eligible_kind_labels())}
        )
    granted = scheme.vouchers.aggregate(
        total=Coalesce(Sum("amount"), Decimal("0")),
    )["total"]
    granted_here = scheme.vouchers.filter(organisation=organisation).aggregate(
        total=Coalesce(Sum("amount"), Decimal("0"))
    )["total"]
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
    _entry(voucher, EntryKind.GRANT, amount, by=by, note=scheme.name_en[:300])
    audit.record(
        "voucher.grant",
        voucher,
        actor=by,
        organisation=organisation,
        changes={"balance": (None, str(amount)), "expires_on": (None, expires_on.isoformat())},
    )
    send_templated_mail(
        "compute/email/voucher_granted",
        to=_managers_emails(organisation),
        context={"voucher": voucher, "scheme": scheme, "organisation": organisation},
    )
    return voucher


@transaction.atomic
def reverse_voucher(voucher: Voucher, *, by: User, reason: str) -> LedgerEntry:
    """Take back what is left of a voucher (granted by mistake, or the organisation no longer qualifies)."""
    _require_operator(by)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for taking the voucher back."))
    voucher = Voucher.objects.select_for_update().select_related("organisation").get(pk=voucher.pk)
    balance = _balances([voucher.pk])[voucher.pk]
    if balance <= 0:
        raise Conflict(_("Nothing is left on this voucher to take back."))
    entry = _entry(voucher, EntryKind.REVERSAL, -balance, by=by, note=reason)
    audit.record(
        "voucher.reverse",
        voucher,
        actor=by,
        organisation=voucher.organisation,
        changes={"balance": (str(balance), "0.00")},
        reason=reason,
    )
    return entry


def expire_vouchers(*, through: date) -> int:
    """Write off what is left of vouchers that ended on or before ``through`` (their months are settled)."""
    expired = 0
    candidates = Voucher.objects.filter(expires_on__lte=through).values_list("pk", flat=True)
    for pk in candidates.iterator():
        with transaction.atomic():
            voucher = Voucher.objects.select_for_update().select_related("organisation").get(pk=pk)
            balance = _balances([pk])[pk]
            if balance <= 0:
                continue
            _entry(voucher, EntryKind.EXPIRY, -balance, note=f"expired {voucher.expires_on.isoformat()}")
            audit.record(
                "voucher.expire",
                voucher,
                organisation=voucher.organisation,
                changes={"balance": (str(balance), "0.00")},
            )
            expired += 1
    return expired


# --- settlement -----------------------------------------------------------------------------------------


@dataclass
class SettleResult:
    month: date
    settled: int = 0
    already: int = 0
    cost: Decimal = Decimal("0")
    subsidy: Decimal = Decimal("0")
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
        _notify_statement(organisation_id, start)
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
        units=Coalesce(Sum("units"), Decimal("0")), jobs=Coalesce(Sum("jobs"), 0)
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
        subsidy=Decimal("0"),
        payable=cost,
    )
    subsidy = _redeem(settlement, allocation, start, end) if cost > 0 else Decimal("0")
    settlement.subsidy, settlement.payable = subsidy, cost - subsidy
    Settlement.objects.filter(pk=settlement.pk).update(subsidy=subsidy, payable=cost - subsidy)
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
        return Decimal("0")
    balances = _balances([v.pk for v in vouchers])
    by_scheme: dict[int, list[Voucher]] = {}
    for voucher in sorted(vouchers, key=lambda v: (v.expires_on, v.pk)):
        by_scheme.setdefault(voucher.scheme_id, []).append(voucher)
    schemes = sorted({v.scheme for v in vouchers}, key=lambda s: (ISSUER_ORDER.get(s.issuer, 9), s.pk))
    cost = settlement.cost
    ratio_left = Decimal(str(settings.VOUCHER_MAX_STACKED_RATIO))
    charged_total = Decimal("0")
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


def _notify_statement(organisation_id: int, month: date) -> None:
    organisation = Organisation.objects.get(pk=organisation_id)
    send_templated_mail(
        "compute/email/statement_ready",
        to=_managers_emails(organisation),
        context={"organisation": organisation, "month": month},
    )


# --- statements -----------------------------------------------------------------------------------------


@dataclass
class Statement:
    organisation: Organisation
    month: date
    settlements: list
    redemptions: list
    vouchers: list  # (voucher, balance now)
    cost: Decimal
    subsidy: Decimal
    payable: Decimal


def statement(organisation: Organisation, month: date) -> Statement:
    """An organisation's month: each allocation's usage, price, cost, the part vouchers paid and the part it
    pays, the redemptions from each voucher, and each voucher's balance now."""
    start = month_start(month)
    settlements = list(
        Settlement.objects.filter(organisation=organisation, month=start)
        .select_related("allocation__partition")
        .order_by("allocation_id")
    )
    redemptions = list(
        LedgerEntry.objects.filter(settlement__organisation=organisation, settlement__month=start)
        .select_related("voucher__scheme", "settlement__allocation")
        .order_by("pk")
    )
    vouchers = list(
        Voucher.objects.filter(organisation=organisation, granted_on__lte=month_end(start))
        .with_balance()
        .select_related("scheme")
        .order_by("expires_on", "pk")
    )
    return Statement(
        organisation=organisation,
        month=start,
        settlements=settlements,
        redemptions=redemptions,
        vouchers=[(v, v.balance()) for v in vouchers],
        cost=sum((s.cost for s in settlements), Decimal("0")),
        subsidy=sum((s.subsidy for s in settlements), Decimal("0")),
        payable=sum((s.payable for s in settlements), Decimal("0")),
    )


# --- schemes --------------------------------------------------------------------------------------------


@transaction.atomic
def save_scheme(form, *, by: User, before: dict) -> VoucherScheme:
    """Create or change a scheme from a valid ``VoucherSchemeForm``; audited with what changed."""
    _require_operator(by)
    created = form.instance.pk is None
    scheme = form.save()
    audit.record(
        "voucher_scheme.create" if created else "voucher_scheme.update",
        scheme,
        actor=by,
        changes={name: (before.get(name), str(form.cleaned_data.get(name))) for name in form.changed_data},
    )
    return scheme


# --- applications by small enterprises ---------------------------------------------------------------


def _require_manager(organisation: Organisation, user: User) -> None:
    if not Membership.objects.filter(
        organisation=organisation, user=user, role__in=MembershipRole.managing()
    ).exists():
        raise NotAllowed(_("Only the organisation's owners and administrators may do this."))


def eligibility_problem(
    scheme: VoucherScheme, organisation: Organisation, *, today: date | None = None
) -> str:
    """Why the organisation may not apply under the scheme; empty when it may."""
    today = today or timezone.localdate()
    if not (scheme.is_active and scheme.valid_from <= today <= scheme.valid_until):
        return _("This voucher scheme is not open today.")
    if not organisation.is_verified:
        return _("Vouchers go to verified organisations only.")
    if not scheme.admits_kind(organisation.kind):
        return _("This scheme is for %(kinds)s only.") % {"kinds": ", ".join(scheme.eligible_kind_labels())}
    if scheme.small_enterprises_only and not (
        organisation.kind == OrganisationKind.ENTERPRISE
        and organisation.size in EnterpriseSize.small_or_micro()
    ):
        return _(
            "This scheme is for small and micro enterprises. If yours is one, set its size on the organisation's "
            "profile (it is checked at verification)."
        )
    return ""


@transaction.atomic
def apply_for_voucher(
    scheme: VoucherScheme, organisation: Organisation, *, by: User, amount, statement: str
) -> VoucherApplication:
    _require_manager(organisation, by)
    amount = _money(amount)
    statement = (statement or "").strip()
    if not statement:
        raise DomainError(_("Say what the compute is for."))
    problem = eligibility_problem(scheme, organisation)
    if problem:
        raise Conflict(problem)
    if amount > scheme.cap_per_organisation:
        raise DomainError(
            _("Ask for at most %(cap)s yuan: the scheme's cap per organisation.")
            % {"cap": scheme.cap_per_organisation}
        )
    if VoucherApplication.objects.filter(
        organisation=organisation, scheme=scheme, status=VoucherApplicationStatus.SUBMITTED
    ).exists():
        raise Conflict(_("Your organisation already has an application waiting under this scheme."))
    application = VoucherApplication.objects.create(
        organisation=organisation, scheme=scheme, amount=amount, statement=statement[:3000], created_by=by
    )
    audit.record(
        "voucher_application.submit",
        application,
        actor=by,
        organisation=organisation,
        changes={"status": (None, application.status), "amount": (None, str(amount))},
    )
    return application


def _locked_application(application: VoucherApplication) -> VoucherApplication:
    return (
        VoucherApplication.objects.select_for_update(of=("self",))
        .select_related("organisation", "scheme")
        .get(pk=application.pk)
    )


@transaction.atomic
def approve_voucher_application(
    application: VoucherApplication, *, by: User, amount=None, reason: str = ""
) -> VoucherApplication:
    """Grant the voucher asked for (or a smaller amount); a repeated approval changes nothing."""
    _require_operator(by)
    application = _locked_application(application)
    if application.status == VoucherApplicationStatus.APPROVED:
        return application
    granted = application.amount if amount in (None, "") else _money(amount)
    if granted > application.amount:
        raise DomainError(_("Grant at most the amount asked for."))
    voucher = grant_voucher(
        application.scheme, application.organisation, amount=granted, by=by, source=VoucherSource.APPLICATION
    )
    old = application.approve(by=by, voucher=voucher, reason=(reason or "").strip())
    application.save()
    audit.record(
        "voucher_application.approve",
        application,
        actor=by,
        organisation=application.organisation,
        changes={"status": (old, application.status), "granted": (None, str(granted))},
        reason=application.decision_reason,
    )
    return application


@transaction.atomic
def reject_voucher_application(
    application: VoucherApplication, *, by: User, reason: str
) -> VoucherApplication:
    _require_operator(by)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give a reason for the rejection: the organisation needs to know why."))
    application = _locked_application(application)
    old = application.reject(by=by, reason=reason)
    application.save()
    audit.record(
        "voucher_application.reject",
        application,
        actor=by,
        organisation=application.organisation,
        changes={"status": (old, application.status)},
        reason=reason,
    )
    send_templated_mail(
        "compute/email/voucher_application_rejected",
        to=_managers_emails(application.organisation),
        context={"application": application},
    )
    return application


@transaction.atomic
def withdraw_voucher_application(application: VoucherApplication, *, by: User) -> VoucherApplication:
    application = _locked_application(application)
    _require_manager(application.organisation, by)
    old = application.withdraw()
    application.save(update_fields=["status"])
    audit.record(
        "voucher_application.withdraw",
        application,
        actor=by,
        organisation=application.organisation,
        changes={"status": (old, application.status)},
    )
    return application


# --- incubation: the programme's voucher on acceptance -------------------------------------------------


def grant_incubation_voucher(sender, project, voucher_amount, by=None, **kwargs) -> Voucher | None:
    """Receiver of ``projects.benefits.project_accepted``: the programme's voucher, from the scheme for
    incubated projects. Without an open scheme (or budget) the acceptance still stands: the project then
    appears on the operators' voucher page as waiting for its voucher."""
    if not voucher_amount or voucher_amount <= 0:
        return None
    today = timezone.localdate()
    scheme = VoucherScheme.objects.open_on(today).filter(for_incubated_projects=True).order_by("pk").first()
    if scheme is None:
        return None
    try:
        with transaction.atomic():  # a refusal must not undo the acceptance around it
            return grant_voucher(
                scheme,
                project.organisation,
                amount=voucher_amount,
                by=None,
                source=VoucherSource.INCUBATION,
                project=project,
                today=today,
            )
    except (Conflict, DomainError):
        return None


def projects_waiting_for_vouchers():
    """Accepted projects whose programme grants a voucher that has not been issued yet."""
    from django.db.models import Exists, OuterRef

    from projects.models import BenefitKind, Project, ProjectBenefit

    return (
        Project.objects.filter(
            Exists(ProjectBenefit.objects.filter(project=OuterRef("pk"), kind=BenefitKind.COMPUTE_VOUCHER))
        )
        .exclude(Exists(Voucher.objects.filter(project=OuterRef("pk"))))
        .select_related("organisation", "programme")
    )


def statement_jobs(organisation: Organisation, month: date):
    """The jobs behind a statement: those of the month (by start, as usage is counted) on the organisation's
    allocations settled for it, oldest first."""
    from compute.models import Job

    start, end = month_start(month), month_end(month)
    return (
        Job.objects.filter(
            allocation__settlements__organisation=organisation,
            allocation__settlements__month=start,
            start_at__date__range=(start, end),
        )
        .select_related("allocation__partition")
        .order_by("start_at", "pk")
    )
