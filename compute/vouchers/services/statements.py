"""An organisation's monthly statement: what its allocations used and cost, what the vouchers paid, the
jobs behind it."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from accounts.models import Organisation
from compute.models import Job
from compute.vouchers.models import LedgerEntry, Settlement, Voucher
from compute.vouchers.services.ledger import ZERO, month_end, month_start


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
        cost=sum((s.cost for s in settlements), ZERO),
        subsidy=sum((s.subsidy for s in settlements), ZERO),
        payable=sum((s.payable for s in settlements), ZERO),
    )


def statement_jobs(organisation: Organisation, month: date):
    """The jobs behind a statement: those of the month (by start, as usage is counted) on the organisation's
    allocations settled for it, oldest first."""
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
