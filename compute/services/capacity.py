"""Capacity of the partitions: what is granted over a period, what is left, what was used."""

import operator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import reduce

from django.db.models import Q, Sum

from accounts.models import Organisation
from compute.models import Allocation, AllocationStatus, DailyUsage, MonthlyUsage, Partition


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


def usage_summaries(organisation_ids) -> dict[int, dict[str, Decimal]]:
    """Quota granted and used in the organisations' allocations that are not closed, by organisation id
    (organisations without any are left out)."""
    rows = (
        Allocation.objects.filter(organisation__in=organisation_ids)
        .exclude(status=AllocationStatus.CLOSED)
        .values("organisation")
        .annotate(granted=Sum("granted_amount"), used=Sum("used_amount"))
    )
    return {row["organisation"]: {"granted": row["granted"], "used": row["used"]} for row in rows}


def organisation_usage_summary(organisation: Organisation) -> dict[str, Decimal]:
    return usage_summaries([organisation.pk]).get(
        organisation.pk, {"granted": Decimal("0"), "used": Decimal("0")}
    )


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


def usage_by_partition(first_day: date, last_day: date) -> dict[int, Decimal]:
    """Units used on each partition (by id) from ``first_day`` to ``last_day``, both included."""
    return {
        key[0]: units for key, units in usage_between(first_day, last_day, "allocation__partition").items()
    }


def usage_between(first_day: date, last_day: date, *group: str) -> dict[tuple, Decimal]:
    """Units used from ``first_day`` to ``last_day`` (both included), summed per value of the ``group`` fields
    (paths from a usage row, such as ``allocation__partition__slug``). Whole months are read from MonthlyUsage,
    a row per allocation and month, and only the days before the first and after the last whole month from
    DailyUsage: a year is about thirty times fewer rows than its days."""
    first_month = first_day if first_day.day == 1 else _next_month(first_day)
    # The day after the last whole month: the month of ``last_day`` counts whole when it is its last day.
    after_last_month = (
        _next_month(last_day) if (last_day + timedelta(days=1)).day == 1 else last_day.replace(day=1)
    )
    totals: dict[tuple, Decimal] = {}
    if first_month < after_last_month:
        months = MonthlyUsage.objects.filter(month__gte=first_month, month__lt=after_last_month)
        parts = [months]
        edges = []
        if first_day < first_month:
            edges.append(Q(day__gte=first_day, day__lt=first_month))
        if after_last_month <= last_day:
            edges.append(Q(day__gte=after_last_month, day__lte=last_day))
        if edges:
            parts.append(DailyUsage.objects.filter(reduce(operator.or_, edges)))
    else:
        parts = [DailyUsage.objects.filter(day__range=(first_day, last_day))]
    for rows in parts:
        for row in rows.values(*group).annotate(total=Sum("units")).order_by():
            key = tuple(row[name] for name in group)
            totals[key] = totals.get(key, Decimal(0)) + (row["total"] or Decimal(0))
    return totals


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def capacity_overview(start: date, end: date) -> list[PartitionCapacity]:
    """Per partition for a period: capacity (with over-commit), granted quota overlapping it, and usage in it."""
    used = usage_by_partition(start, end - timedelta(days=1))
    return [
        PartitionCapacity(
            partition=p,
            capacity=p.capacity_for(start, end),
            granted=committed_amount(p, start, end),
            used=(used.get(p.pk) or Decimal(0)).quantize(Decimal("0.01")),
        )
        for p in Partition.objects.all()
    ]
