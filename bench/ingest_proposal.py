"""The place to try the next change to ``compute.usage``'s PostgreSQL ingest, measured by
``bench/ingest.py --proposal`` next to the real one, in the same run, on the same records.

It is NOT the portal's code and nothing calls it outside the benchmark. ingest.py checks that a proposal leaves
the database exactly as the real ingest does, and shows both profiles side by side.

No proposal is pending: ``upsert_jobs`` below is the portal's own. To try an idea, copy
``compute.usage._upsert_postgresql`` into ``upsert_jobs`` and change it.

Adopted in compute/usage.py after being measured here: allocation and units computed by PostgreSQL in the
INSERT, duplicates dropped in Python, ``ON CONFLICT ... DO UPDATE ... WHERE ... IS DISTINCT FROM ...`` so
unchanged jobs are not rewritten, ``RETURNING`` the allocations that changed, the refresh in three
statements, the TRES JSON serialised once per shape, and a **binary** ``COPY`` into the temporary table
(first ingest of 1,000,000 records: 2.14x a plain COPY with text format, 1.95x with binary).
"""

from collections.abc import Iterable

from compute import usage
from compute.backends.base import JobRecord

RAW_COLUMNS = usage.RAW_COLUMNS


def ingest_jobs(records: Iterable[JobRecord]) -> usage.IngestResult:
    return usage._ingest_postgresql(records, upsert=upsert_jobs)


def upsert_jobs(jobs: Iterable[JobRecord], prefix: str) -> list[int]:
    """Store the jobs; return the allocations whose jobs were inserted or changed."""
    return usage._upsert_postgresql(jobs, prefix)
