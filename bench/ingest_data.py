"""The data of bench/ingest.py: the loaded allocations, the job records, what the database must hold after
an ingest, the rows of the plain COPY; and the allocations' usage as loaded, to start each round from it.

Imported by bench/ingest.py only after ``django.setup()``.
"""

import json
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction

from bench.bulk import copy_rows, reset_sequences, vacuum_analyze
from bench.data import LoadContext, load_accounts
from bench.data_compute import make_allocations, partition_rows
from bench.data_jobs import CLUSTER, e4, generate_jobs, units_e4
from bench.load_compute import organisation_facts
from compute.backends.base import JobRecord
from compute.models import Allocation, AllocationMember, Partition


def load_fixture(n_allocations: int) -> tuple[dict, list, object]:
    """Users and organisations (bench.data.load_accounts at a fifth of its scale), the partitions and the
    allocations with their cluster users (bench.data_compute), then VACUUM ANALYZE."""
    ctx = LoadContext(scale=0.2, password_hash="!")  # nobody signs in here: an unusable password
    counts = {}
    with transaction.atomic():
        counts.update(load_accounts(ctx))
        counts["partitions"] = copy_rows(Partition, partition_rows())
        organisations, members_by_org, emails = organisation_facts()
        allocations, members, specs = make_allocations(
            ctx, n_allocations, organisations=organisations, members_by_org=members_by_org, emails=emails
        )
        counts["allocations"] = copy_rows(Allocation, allocations)
        counts["allocation members"] = copy_rows(AllocationMember, members)
        reset_sequences(Partition, Allocation, AllocationMember)
    vacuum_analyze()
    return counts, specs, ctx


def make_records(specs, n: int, ctx, unknown_share: float) -> list:
    jobs = generate_jobs(ctx.rng, specs, n, now=ctx.now, unknown_share=unknown_share)
    return [
        JobRecord(
            job_id=j.job_id,
            cluster=CLUSTER,
            account=j.account,
            user=j.user,
            partition=j.partition,
            state=j.state,
            submit=j.submit,
            start=j.start,
            end=j.end,
            elapsed_seconds=j.elapsed,
            tres=j.tres,
        )
        for j in jobs
    ]


def expected_totals(records) -> dict:
    """What the database must hold after the ingest, computed here from the records alone: the metered TRES
    count x hours of every job on a known account (in ten-thousandths, rounded as Decimal.quantize does)."""
    metered = dict(
        Allocation.objects.filter(account_name__startswith=settings.CLUSTER_ACCOUNT_PREFIX).values_list(
            "account_name", "partition__tres"
        )
    )
    units = units_started = known = 0
    per_account: dict[str, int] = defaultdict(int)
    for r in records:
        tres = metered.get(r.account)
        if tres is None:
            continue
        known += 1
        value = units_e4(r.tres.get(tres, 0), r.elapsed_seconds)
        units += value
        per_account[r.account] += value
        if r.start is not None:
            units_started += value
    return {
        "jobs": len(records),
        "known_jobs": known,
        "unknown_jobs": len(records) - known,
        "units_e4": units,
        "units_started_e4": units_started,
        "allocations_with_jobs": len(per_account),
    }


def copy_rows_of(records) -> list[tuple]:
    """The column values the ingest stores (allocation by account name, units = metered TRES count x hours),
    for the plain COPY."""
    allocations = {
        name: (pk, tres)
        for name, pk, tres in Allocation.objects.filter(
            account_name__startswith=settings.CLUSTER_ACCOUNT_PREFIX
        ).values_list("account_name", "pk", "partition__tres")
    }
    rows = []
    dumps = json.dumps
    for r in records:
        pk, tres = allocations.get(r.account, (None, None))
        cluster, job_id, *rest = record_values(r)
        units = e4(units_e4(r.tres.get(tres, 0), r.elapsed_seconds)) if pk else Decimal(0)
        rows.append((cluster, job_id, pk, *rest, dumps(r.tres), units))
    return rows


def record_values(r) -> tuple:
    """A record's own values (cluster, job id, account, user, partition, state, submit, start, end, elapsed
    seconds), in the order of the job table's columns without the allocation."""
    return (
        r.cluster,
        r.job_id,
        r.account,
        r.user,
        r.partition,
        r.state,
        r.submit,
        r.start,
        r.end,
        r.elapsed_seconds,
    )


SNAPSHOT = "bench_allocation_snapshot"
USAGE_FIELDS = (
    "status",
    "status_changed_at",
    "used_amount",
    "usage_updated_at",
    "notified_80_at",
    "notified_100_at",
)


def snapshot_allocations() -> None:
    """Keep the allocations' usage fields as loaded, so the sketch starts from the same state as (a)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {SNAPSHOT} AS SELECT id, {', '.join(USAGE_FIELDS)} FROM compute_allocation"
        )


def reset_usage() -> None:
    """Back to the state before (a): no job, no daily usage, the allocations as loaded."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE compute_job, compute_dailyusage")
        cursor.execute(
            f"UPDATE compute_allocation a SET {', '.join(f'{f} = s.{f}' for f in USAGE_FIELDS)} "
            f"FROM {SNAPSHOT} s WHERE a.id = s.id"
        )
        cursor.execute("VACUUM (ANALYZE) compute_allocation, compute_job, compute_dailyusage")
