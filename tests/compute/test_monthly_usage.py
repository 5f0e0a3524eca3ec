"""Monthly usage: kept in step with the daily series by the usage refresh, and periods summed from whole
months plus the days at either end give what the days alone give."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from compute.models import DailyUsage, MonthlyUsage
from compute.services.capacity import usage_between, usage_by_partition
from compute.usage import refresh_monthly_usage
from tests.accounts.factories import UserFactory
from tests.compute.factories import make_allocation
from tests.compute.test_vouchers import card_hours

pytestmark = pytest.mark.django_db

DAYS = [
    date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 28),
    date(2026, 3, 1), date(2026, 3, 15), date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 15),
    date(2026, 10, 31), date(2026, 11, 1), date(2026, 12, 31), date(2027, 1, 1),
]  # fmt: skip


def test_the_ingest_keeps_the_months_of_an_allocation_in_step_with_its_days():
    allocation = make_allocation(UserFactory(), amount=1000)
    card_hours(allocation, 3, day=date(2026, 10, 2), job_id="1")
    card_hours(allocation, 4, day=date(2026, 10, 30), job_id="2")
    card_hours(allocation, 5, day=date(2026, 11, 1), job_id="3")
    months = dict(MonthlyUsage.objects.filter(allocation=allocation).values_list("month", "units"))
    assert months == {date(2026, 10, 1): Decimal("7"), date(2026, 11, 1): Decimal("5")}
    assert MonthlyUsage.objects.get(allocation=allocation, month=date(2026, 10, 1)).jobs == 2
    # A job's record corrected by the scheduler (longer than first seen) changes its month, not adds to it.
    card_hours(allocation, 6, day=date(2026, 11, 1), job_id="3")
    assert MonthlyUsage.objects.get(allocation=allocation, month=date(2026, 11, 1)).units == Decimal("6")


def _daily_total(first: date, last: date, partition_id: int) -> Decimal:
    return DailyUsage.objects.filter(
        day__range=(first, last), allocation__partition_id=partition_id
    ).aggregate(total=Sum("units"))["total"] or Decimal(0)


def test_any_period_sums_to_what_its_days_sum_to():
    allocations = [make_allocation(UserFactory(), amount=1000) for _ in range(2)]
    rows = [
        DailyUsage(allocation=allocation, day=day, units=Decimal(n + 1) + Decimal("0.25") * i, jobs=1)
        for i, allocation in enumerate(allocations)
        for n, day in enumerate(DAYS)
    ]
    DailyUsage.objects.bulk_create(rows)
    refresh_monthly_usage([a.pk for a in allocations])
    partition_id = allocations[0].partition_id
    periods = [
        (date(2026, 1, 1), date(2026, 12, 31)),  # whole months only
        (date(2026, 10, 1), date(2026, 10, 31)),  # one whole month
        (date(2025, 12, 31), date(2027, 1, 1)),  # a day at each end
        (date(2026, 10, 15), date(2026, 10, 15)),  # one day
        (date(2026, 2, 28), date(2026, 3, 1)),  # across a month's end, no whole month
        (date(2026, 1, 2), date(2026, 10, 30)),
    ]
    pick = random.Random(17)
    for _ in range(40):
        first = date(2025, 12, 1) + timedelta(days=pick.randrange(420))
        periods.append((first, first + timedelta(days=pick.randrange(400))))
    for first, last in periods:
        expected = _daily_total(first, last, partition_id)
        assert usage_by_partition(first, last).get(partition_id, Decimal(0)) == expected, (first, last)
        by_slug = usage_between(first, last, "allocation__partition__slug")
        assert sum(by_slug.values(), Decimal(0)) == expected, (first, last)


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_months_of_the_usage_already_there():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    allocation = make_allocation(UserFactory(), amount=1000)
    DailyUsage.objects.bulk_create(
        DailyUsage(allocation=allocation, day=day, units=Decimal("1.5"), jobs=2) for day in DAYS[:5]
    )
    executor = MigrationExecutor(connection)
    executor.migrate([("compute", "0011_job_submissions_partition_limits")])
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("compute", "0012_monthly_usage")])
    months = {row.month: (row.units, row.jobs) for row in MonthlyUsage.objects.filter(allocation=allocation)}
    assert months == {
        date(2025, 12, 1): (Decimal("1.5"), 2),
        date(2026, 1, 1): (Decimal("3"), 4),
        date(2026, 2, 1): (Decimal("3"), 4),
    }
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([key for key in executor.loader.graph.leaf_nodes() if key[0] == "compute"])
