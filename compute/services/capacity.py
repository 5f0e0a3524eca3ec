"""Capacity of the partitions: what is granted over a period, what is left, what was used."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from accounts.models import Organisation
from compute.models import Allocation, AllocationStatus, DailyUsage, Partition


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
    return dict(
        DailyUsage.objects.filter(day__range=(first_day, last_day))
        .values("allocation__partition")
        .annotate(total=Sum("units"))
        .values_list("allocation__partition", "total")
    )


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
