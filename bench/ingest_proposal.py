"""A sketch of a faster ``compute.usage.ingest_jobs``, measured by ``bench/ingest.py`` next to the real one.

This is NOT the portal's code and nothing calls it outside the benchmark: it shows, with numbers from the
same run, what the changes proposed for ``compute/usage.py`` would gain. It must leave the database exactly
as the real ingest does (ingest.py checks that). The changes:

1. No Python per-row work beyond writing the raw record: the allocation and the units are computed by
   PostgreSQL in the INSERT (a join on ``account_name`` and ``round((tres ->> partition.tres)::numeric *
   elapsed / 3600, 4)``, which equals ``units_for``'s half-even quantize because count x elapsed x 25 / 9 is
   never exactly half way), so no ``units_for``, no per-row Decimal, no 1,000,000-tuple list.
   The TRES JSON is serialised once per distinct TRES (jobs repeat a few dozen shapes): ``json.dumps`` of a
   million dicts alone costs ~2 s.
2. Duplicates of a job in one batch are dropped in Python (a dict, the last record wins), so the temporary
   table needs no ``bigserial`` column (a ``nextval()`` per row) and the INSERT no ``DISTINCT ON`` sort of a
   million rows by text keys.
3. ``ON CONFLICT ... DO UPDATE ... WHERE compute_job.x IS DISTINCT FROM EXCLUDED.x OR ...``: a job that did
   not change is not rewritten (no new row version, no index entries, no WAL, no dead tuples for autovacuum),
   and ``RETURNING allocation_id`` tells which allocations really changed, so a re-ingest of an overlapping
   window refreshes nothing.
4. ``refresh_allocation_usage`` in three statements: DELETE and ``INSERT ... SELECT ... GROUP BY`` of the
   daily usage, one ``UPDATE ... FROM`` of the totals; Python then only looks at the allocations that may
   cross a threshold (``select_related("organisation", "partition")``: the mail template reads the
   partition), instead of building ~160,000 ``DailyUsage`` and ~2,000 ``Allocation`` instances and sending
   ~2,000 UPDATEs.
"""

import json
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from compute.backends.base import JobRecord
from compute.models import Allocation
from compute.usage import JOB_COLUMNS, IngestResult, _apply_thresholds

RAW_COLUMNS = (
    "cluster",
    "job_id",
    "account",
    "cluster_user",
    "partition",
    "state",
    "submit_at",
    "start_at",
    "end_at",
    "elapsed_seconds",
    "tres",
)


def ingest_jobs(records: Iterable[JobRecord]) -> IngestResult:
    prefix = settings.CLUSTER_ACCOUNT_PREFIX
    known = set(
        Allocation.objects.filter(account_name__startswith=prefix).values_list("account_name", flat=True)
    )
    result = IngestResult()
    latest: dict[tuple[str, str], JobRecord] = {}
    for job in records:
        latest[(job.cluster, job.job_id)] = job  # the newest record of a job wins
        result.jobs += 1
        if job.account not in known:
            result.unknown_accounts += 1
    changed = upsert_jobs(latest.values(), prefix)
    refresh_allocation_usage(changed)
    result.allocations = len(changed)
    return result


def upsert_jobs(jobs: Iterable[JobRecord], prefix: str) -> list[int]:
    """Store the jobs; return the allocations whose jobs were inserted or changed."""
    columns = ", ".join(JOB_COLUMNS)
    changes = " OR ".join(f"compute_job.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in JOB_COLUMNS[2:])
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in JOB_COLUMNS[2:])
    tres_json: dict[tuple, str] = {}  # a few dozen TRES shapes repeat: serialise each once
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE job_ingest ON COMMIT DROP AS "
            f"SELECT {', '.join(RAW_COLUMNS)} FROM compute_job WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY job_ingest ({', '.join(RAW_COLUMNS)}) FROM STDIN") as copy:
            write = copy.write_row
            for job in jobs:
                key = tuple(job.tres.items())
                tres = tres_json.get(key)
                if tres is None:
                    tres = tres_json[key] = json.dumps(job.tres)
                write(
                    (
                        job.cluster,
                        job.job_id,
                        job.account[:64],
                        job.user[:32],
                        job.partition[:64],
                        job.state[:32],
                        job.submit,
                        job.start,
                        job.end,
                        job.elapsed_seconds,
                        tres,
                    )
                )
        cursor.execute(
            f"WITH changed AS ("
            f" INSERT INTO compute_job ({columns})"
            " SELECT i.cluster, i.job_id, a.id, i.account, i.cluster_user, i.partition, i.state, i.submit_at,"
            " i.start_at, i.end_at, i.elapsed_seconds, i.tres,"
            " coalesce(round((i.tres ->> p.tres)::numeric * i.elapsed_seconds / 3600, 4), 0)"
            " FROM job_ingest i"
            " LEFT JOIN compute_allocation a ON a.account_name = i.account AND a.account_name LIKE %s"
            " LEFT JOIN compute_partition p ON p.id = a.partition_id"
            f" ON CONFLICT (cluster, job_id) DO UPDATE SET {updates} WHERE {changes}"
            " RETURNING allocation_id"
            ") SELECT DISTINCT allocation_id FROM changed WHERE allocation_id IS NOT NULL",
            [prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"],
        )
        return [row[0] for row in cursor.fetchall()]


def refresh_allocation_usage(allocation_ids: Iterable[int]) -> None:
    ids = sorted(set(allocation_ids))
    if not ids:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM compute_dailyusage WHERE allocation_id = ANY(%s)", [ids])
        cursor.execute(
            "INSERT INTO compute_dailyusage (allocation_id, day, units, jobs)"
            " SELECT allocation_id, (start_at AT TIME ZONE %s)::date, sum(units), count(*) FROM compute_job"
            " WHERE allocation_id = ANY(%s) AND start_at IS NOT NULL GROUP BY 1, 2",
            [timezone.get_current_timezone_name(), ids],
        )
        cursor.execute(
            "UPDATE compute_allocation a SET used_amount = coalesce(t.total, 0), usage_updated_at = %s"
            " FROM unnest(%s::bigint[]) AS u(id)"
            " LEFT JOIN (SELECT allocation_id, sum(units) AS total FROM compute_job"
            "  WHERE allocation_id = ANY(%s) GROUP BY 1) t ON t.allocation_id = u.id"
            " WHERE a.id = u.id",
            [timezone.now(), ids, ids],
        )
        # Only the allocations that may cross a threshold now (_apply_thresholds decides exactly).
        near = Q(notified_80_at__isnull=True, used_amount__gte=F("granted_amount") * Decimal("0.799")) | Q(
            notified_100_at__isnull=True, used_amount__gte=F("granted_amount") * Decimal("0.999")
        )
        for allocation in (
            Allocation.objects.select_for_update(of=("self",))
            .filter(near, pk__in=ids)
            .select_related("organisation", "partition")
        ):
            _apply_thresholds(allocation)
