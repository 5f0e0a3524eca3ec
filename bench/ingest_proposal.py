"""A sketch of the next change to ``compute.usage``'s PostgreSQL ingest, measured by
``bench/ingest.py --proposal`` next to the real one, in the same run, on the same records.

It is NOT the portal's code and nothing calls it outside the benchmark. Keep it as the place to try a change
to the ingest before proposing it: ingest.py checks that it leaves the database exactly as the real ingest
does, and shows both profiles side by side.

Already adopted in compute/usage.py (measured here first): allocation and units computed by PostgreSQL in
the INSERT, duplicates dropped in Python, ``ON CONFLICT ... DO UPDATE ... WHERE ... IS DISTINCT FROM ...`` so
unchanged jobs are not rewritten, ``RETURNING`` the allocations that changed, the refresh in three
statements, the TRES JSON serialised once per shape.

Tried here now: the raw records go into the temporary table with a **binary** ``COPY`` (``set_types``),
the TRES as ``text`` cast to ``jsonb`` in the INSERT. On this machine a binary COPY of a million raw records
into a temporary table takes ~0.8 s against ~4 s in text format (psycopg writes binary timestamps and
integers without formatting them, the server does not parse them). Careful: given a ``str`` for a ``jsonb``
column, a binary COPY stores a JSON *string*; hence the ``text`` column and the cast. Binary
``timestamptz`` needs aware datetimes (Django's are, with USE_TZ).
"""

import json
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction

from compute import usage
from compute.backends.base import JobRecord
from compute.models import Allocation, Job

# Column, PostgreSQL type of the temporary table and of the binary COPY.
RAW_COLUMNS = (
    ("cluster", "text"),
    ("job_id", "text"),
    ("account", "text"),
    ("cluster_user", "text"),
    ("partition", "text"),
    ("state", "text"),
    ("submit_at", "timestamptz"),
    ("start_at", "timestamptz"),
    ("end_at", "timestamptz"),
    ("elapsed_seconds", "int8"),
    ("tres", "text"),
)
JOB_COLUMNS = (
    "cluster",
    "job_id",
    "allocation_id",
    "account",
    "cluster_user",
    "partition",
    "state",
    "submit_at",
    "start_at",
    "end_at",
    "elapsed_seconds",
    "tres",
    "units",
)


def ingest_jobs(records: Iterable[JobRecord]) -> usage.IngestResult:
    prefix = settings.CLUSTER_ACCOUNT_PREFIX
    known = set(
        Allocation.objects.filter(account_name__startswith=prefix).values_list("account_name", flat=True)
    )
    result = usage.IngestResult()
    latest: dict[tuple[str, str], JobRecord] = {}
    for job in records:
        latest[(job.cluster, job.job_id)] = job  # the newest record of a job wins
        result.jobs += 1
        if job.account not in known:
            result.unknown_accounts += 1
    changed = upsert_jobs(latest.values(), prefix)
    usage.refresh_allocation_usage(changed)  # the portal's own refresh
    result.allocations = len(changed)
    return result


def upsert_jobs(jobs: Iterable[JobRecord], prefix: str) -> list[int]:
    """Store the jobs; return the allocations whose jobs were inserted or changed."""
    table = Job._meta.db_table
    names = ", ".join(name for name, _type in RAW_COLUMNS)
    columns = ", ".join(JOB_COLUMNS)
    changes = " OR ".join(f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in JOB_COLUMNS[2:])
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in JOB_COLUMNS[2:])
    tres_json: dict[tuple, str] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS job_ingest")
        cursor.execute(
            "CREATE TEMP TABLE job_ingest ("
            + ", ".join(f"{name} {kind}" for name, kind in RAW_COLUMNS)
            + ") ON COMMIT DROP"
        )
        with cursor.cursor.copy(f"COPY job_ingest ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([kind for _name, kind in RAW_COLUMNS])
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
            "WITH changed AS ("
            f" INSERT INTO {table} ({columns})"
            " SELECT i.cluster, i.job_id, a.id, i.account, i.cluster_user, i.partition, i.state, i.submit_at,"
            " i.start_at, i.end_at, i.elapsed_seconds, i.tres::jsonb,"
            " coalesce(round((i.tres::jsonb ->> p.tres)::numeric * i.elapsed_seconds / 3600, 4), 0)"
            " FROM job_ingest i"
            " LEFT JOIN compute_allocation a ON a.account_name = i.account AND a.account_name LIKE %s"
            " LEFT JOIN compute_partition p ON p.id = a.partition_id"
            f" ON CONFLICT (cluster, job_id) DO UPDATE SET {updates} WHERE {changes}"
            " RETURNING allocation_id"
            ") SELECT DISTINCT allocation_id FROM changed WHERE allocation_id IS NOT NULL",
            [prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"],
        )
        return [row[0] for row in cursor.fetchall()]
