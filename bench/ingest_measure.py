"""The measurements of bench/ingest.py: one timed and profiled ``ingest_jobs`` call, a timed plain COPY, the
database's state after an ingest and the checks on it, and the parts of an ingest measured alone.

Imported by bench/ingest.py only after ``django.setup()``.
"""

import gc
import json
import re
import time
from collections import defaultdict
from contextlib import contextmanager

from django.db import connection
from psycopg import sql

from bench import ingest_proposal
from bench.ingest_data import record_values
from compute import usage
from compute.models import DailyUsage


def checkpoint() -> None:
    """Write out dirty pages first, so one step does not pay for the previous one's writes."""
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


_TABLE = re.compile(
    r'(?:INTO|FROM|UPDATE|TABLE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"?([a-z_]+)"?', re.IGNORECASE
)
_INSERT = re.compile(r'INSERT\s+INTO\s+"?([a-z_]+)"?', re.IGNORECASE)


def _label(statement: str) -> str:
    """What a statement is, in a few words: its verb and main table."""
    insert = _INSERT.search(statement[:2000])
    if insert and "ON CONFLICT" in statement:
        return f"INSERT ... ON CONFLICT {insert[1]}"
    words = statement.lstrip()[:12].upper().split()
    verb = words[0] if words else "?"
    table = (_TABLE.search(statement) or [None, "?"])[1]
    if verb == "SELECT":
        if "FOR UPDATE" in statement:
            return f"SELECT ... FOR UPDATE {table}"
        if "GROUP BY" in statement:
            day = "AT TIME ZONE" in statement or "::date" in statement
            return f"SELECT {'daily sums' if day else 'sums'} {table}"
    if verb == "INSERT" and insert:
        table = insert[1]
    return f"{verb} {table}"


# The functions of one ingest whose own time (their time minus the functions they call) is measured, and what
# that time is once their SQL statements are taken out: (where, name, what). The first is the one called.
REAL_PHASES = [
    ("usage", "ingest_jobs", "Python: the loop over the records"),
    ("usage", "_ingest_postgresql", "Python: the loop over the records (duplicates, unknown accounts)"),
    ("usage", "_ingest_portable", "Python: the loop, units_for, Job instances"),
    ("usage", "upsert_jobs", "Python"),
    ("usage", "_upsert_postgresql", "COPY into the temporary table (Python write_row + server)"),
    ("usage", "refresh_allocation_usage", "Python"),
    ("usage", "_refresh_postgresql", "Python"),
    ("DailyUsage.objects", "bulk_create", "Python: bulk_create building its INSERT"),
    ("usage", "_apply_thresholds", "Python: thresholds"),
    ("usage", "_notify", "Python: rendering threshold mails (dummy mail backend here)"),
]
PROPOSAL_PHASES = [
    ("proposal", "ingest_jobs", "Python: the loop over the records (duplicates, unknown accounts)"),
    ("proposal", "upsert_jobs", "binary COPY into the temporary table (Python write_row + server)"),
    *REAL_PHASES[5:],
]


class Profiler:
    """Times the parts of one ``ingest_jobs`` call: the own time of each function of ``phases`` (wrapped for
    the call; any that no longer exists is skipped) and every SQL statement, by kind, in the function that
    sent it."""

    def __init__(self, phases: list[tuple[str, str, str]]):
        self.phases = phases
        self.stack = [phases[0][1]]
        self.mark = 0.0
        self.own: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.sql: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0])

    def _charge(self) -> None:
        now = time.perf_counter()
        self.own[self.stack[-1]] += now - self.mark
        self.mark = now

    def _record(self, execute, statement, params, many, context):
        began = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            entry = self.sql[(self.stack[-1], _label(statement))]
            entry[0] += time.perf_counter() - began
            entry[1] += 1

    def _timed_commit(self, commit):
        def wrapper():
            began = time.perf_counter()
            try:
                return commit()
            finally:
                entry = self.sql[(self.stack[-1], "COMMIT (deferred foreign-key checks, WAL flush)")]
                entry[0] += time.perf_counter() - began
                entry[1] += 1

        return wrapper

    def _wrap(self, owner, name: str):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            self._charge()
            self.stack.append(name)
            self.calls[name] += 1
            try:
                return original(*args, **kwargs)
            finally:
                self._charge()
                self.stack.pop()

        setattr(owner, name, wrapper)

    @contextmanager
    def active(self):
        owners = {"usage": usage, "proposal": ingest_proposal, "DailyUsage.objects": DailyUsage.objects}
        restore = []
        for where, name, _what in self.phases[1:]:
            owner = owners[where]
            if not hasattr(owner, name):
                continue  # the module changed: profile what is there
            restore.append((owner, name, owner.__dict__.get(name, _MISSING)))
            self._wrap(owner, name)
        # COMMITs (deferred foreign-key checks, WAL flush) are not statements: time them apart.
        restore.append((connection, "_commit", connection.__dict__.get("_commit", _MISSING)))
        connection._commit = self._timed_commit(connection._commit)
        try:
            with connection.execute_wrapper(self._record):
                self.mark = time.perf_counter()
                yield self
                self._charge()
        finally:
            for owner, name, value in reversed(restore):
                if value is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, value)

    def breakdown(self, total: float) -> list[dict]:
        """Parts of ``total`` seconds: SQL statements by function and kind, then each function's own time
        without its SQL (Python, and the COPY, which does not go through Django's cursor)."""
        parts = []
        sql_in: dict[str, float] = defaultdict(float)
        for (phase, label), (seconds, count) in self.sql.items():
            sql_in[phase] += seconds
            part = label if label.startswith("COMMIT") else f"SQL {label}"
            parts.append({"phase": phase, "part": part, "count": count, "seconds": seconds})
        for _where, name, what in self.phases:
            if name in self.own:
                calls = self.calls.get(name) or 1
                parts.append(
                    {
                        "phase": name,
                        "part": what,
                        "count": None,
                        "calls": calls,
                        "seconds": self.own[name] - sql_in[name],
                    }
                )
        order = {name: n for n, (_d, name, _w) in enumerate(self.phases)}
        parts.sort(key=lambda p: (order.get(p["phase"], 99), -p["seconds"]))
        for p in parts:
            p["seconds"] = round(p["seconds"], 3)
            p["share"] = round(p["seconds"] / total, 3) if total else None
        return parts


_MISSING = object()


def timed_ingest(records, *, proposal: bool = False) -> dict:
    """One ``ingest_jobs`` call (the portal's, or the sketch in ingest_proposal.py), timed and profiled."""
    ingest_jobs = ingest_proposal.ingest_jobs if proposal else usage.ingest_jobs
    checkpoint()
    gc.collect()
    profiler = Profiler(PROPOSAL_PHASES if proposal else REAL_PHASES)
    with profiler.active():
        began = time.perf_counter()
        result = ingest_jobs(records)
        seconds = time.perf_counter() - began
    return {
        "seconds": round(seconds, 3),
        "result": {
            "jobs": result.jobs,
            "allocations": result.allocations,
            "unknown_accounts": result.unknown_accounts,
        },
        "profile": profiler.breakdown(seconds),
    }


def timed_copy(rows: list[tuple], *, table: str, temporary: bool = False) -> float:
    """COPY ``rows`` into an empty ``table`` shaped like compute_job, committed. The table is made first (not
    timed): a real table ``LIKE compute_job INCLUDING ALL`` plus its foreign key, or, with ``temporary``, a
    bare temporary one as ``ingest_jobs`` uses."""
    columns = sql.SQL(", ").join(map(sql.Identifier, usage.JOB_COLUMNS))
    connection.ensure_connection()
    conn = connection.connection
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        if temporary:
            cursor.execute(
                sql.SQL("CREATE TEMP TABLE {} AS SELECT {} FROM compute_job WITH NO DATA").format(
                    sql.Identifier(table), columns
                )
            )
        else:
            cursor.execute(
                sql.SQL("CREATE TABLE {} (LIKE compute_job INCLUDING ALL)").format(sql.Identifier(table))
            )
            cursor.execute(
                sql.SQL(
                    "ALTER TABLE {} ADD FOREIGN KEY (allocation_id) REFERENCES compute_allocation (id) "
                    "DEFERRABLE INITIALLY DEFERRED"
                ).format(sql.Identifier(table))
            )
    checkpoint()
    gc.collect()
    began = time.perf_counter()
    with conn.transaction(), conn.cursor() as cursor:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), columns)
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    return round(time.perf_counter() - began, 3)


def database_state() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(allocation_id), coalesce(sum(units), 0), "
            "coalesce(sum(units) FILTER (WHERE start_at IS NOT NULL), 0) FROM compute_job"
        )
        jobs, with_allocation, units, units_started = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), coalesce(sum(units), 0), coalesce(sum(jobs), 0) FROM compute_dailyusage"
        )
        daily_rows, daily_units, daily_jobs = cursor.fetchone()
        cursor.execute(
            "SELECT coalesce(sum(used_amount), 0), count(*) FILTER (WHERE used_amount > 0), "
            "count(*) FILTER (WHERE notified_80_at IS NOT NULL), "
            "count(*) FILTER (WHERE status = 'exhausted') "
            "FROM compute_allocation"
        )
        used, with_usage, notified_80, exhausted = cursor.fetchone()
    return {
        "jobs": jobs,
        "jobs_with_allocation": with_allocation,
        "units_e4": int(units.scaleb(4)),
        "units_started_e4": int(units_started.scaleb(4)),
        "daily_rows": daily_rows,
        "daily_units_e4": int(daily_units.scaleb(4)),
        "daily_jobs": daily_jobs,
        "allocations_used_e4": int(used.scaleb(4)),
        "allocations_with_usage": with_usage,
        "notified_80": notified_80,
        "exhausted": exhausted,
    }


def verify(expected: dict, after_first: dict, after_second: dict, first: dict, second: dict) -> list[dict]:
    checks = [
        ("stored jobs == records", after_first["jobs"], expected["jobs"]),
        (
            "jobs on known accounts have their allocation",
            after_first["jobs_with_allocation"],
            expected["known_jobs"],
        ),
        ("sum of units == sum computed in Python", after_first["units_e4"], expected["units_e4"]),
        ("allocations' used amounts add up to it", after_first["allocations_used_e4"], expected["units_e4"]),
        (
            "daily usage adds up to the started jobs' units",
            after_first["daily_units_e4"],
            expected["units_started_e4"],
        ),
        ("unknown accounts counted", first["result"]["unknown_accounts"], expected["unknown_jobs"]),
        ("allocations touched", first["result"]["allocations"], expected["allocations_with_jobs"]),
    ]
    for key in ("jobs", "units_e4", "daily_rows", "daily_units_e4", "daily_jobs", "allocations_used_e4"):
        checks.append((f"second ingest leaves {key} unchanged", after_second[key], after_first[key]))
    checks.append(("second ingest reports the same jobs", second["result"]["jobs"], first["result"]["jobs"]))
    return [{"check": name, "got": got, "expected": want, "ok": got == want} for name, got, want in checks]


def extra_profile(records) -> list[dict]:
    """Parts of an ingest measured alone: a COPY of the raw records into a bare temporary table, in text and
    in binary format (what the proposal changes), and ``json.dumps`` of every record's TRES."""
    raw = [record_values(r) for r in records]
    tres = {}
    began = time.perf_counter()
    for r in records:
        tres[id(r)] = json.dumps(r.tres)
    out = [
        {"part": "json.dumps() of every record's TRES (not memoised)", "seconds": time.perf_counter() - began}
    ]
    raw = [row + (tres[id(r)],) for row, r in zip(raw, records, strict=True)]
    names = ", ".join(name for name, _kind in ingest_proposal.RAW_COLUMNS)
    connection.ensure_connection()
    conn = connection.connection
    for binary in (False, True):
        with conn.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS job_copy_bare")
            cursor.execute(
                "CREATE TEMP TABLE job_copy_bare ("
                + ", ".join(f"{name} {kind}" for name, kind in ingest_proposal.RAW_COLUMNS)
                + ")"
            )
        checkpoint()
        gc.collect()
        began = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            statement = f"COPY job_copy_bare ({names}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
            with cursor.copy(statement) as copy:
                if binary:
                    copy.set_types([kind for _name, kind in ingest_proposal.RAW_COLUMNS])
                for row in raw:
                    copy.write_row(row)
        what = "binary" if binary else "text"
        out.append(
            {
                "part": f"COPY of the raw records into a bare temporary table, {what}",
                "seconds": time.perf_counter() - began,
            }
        )
        with conn.cursor() as cursor:
            cursor.execute("DROP TABLE job_copy_bare")
    for part in out:
        part["seconds"] = round(part["seconds"], 3)
    return out


def count_and_drop(table: str) -> int:
    """The rows a timed COPY wrote into ``table``, which is then dropped."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")
        copied = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {table}")
    return copied
