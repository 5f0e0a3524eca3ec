"""Usage-ingest benchmark: the portal's real ingest path against a plain PostgreSQL COPY of the same rows.

.venv/bin/python bench/ingest.py [--rows N] [--repeat R]   (default 1,000,000 rows; --rows 100000 is quick)

It recreates the database ``portal_bench_ingest`` (PostgreSQL on 127.0.0.1:5432, user postgres), migrates
it, loads a few thousand users and organisations, the partitions and ~2,000 allocations, and generates N
``JobRecord``s in memory: Slurm job ids in submit order, the allocations' cluster users, realistic states,
times, elapsed seconds and TRES, and ~3 % on accounts the portal does not know. Then, in one run, it times

  (a) ``compute.usage.ingest_jobs(records)`` on an empty ``compute_job`` table: the Python loop, COPY into a
      temporary table, INSERT ... ON CONFLICT, and the refresh of per-allocation totals and daily usage;
  (b) the same call again, every job already stored (the idempotent re-ingest of an overlapping window);
  (c) a plain psycopg ``COPY compute_job_copy (...) FROM STDIN`` (text format) of the same column values
      into an empty copy of the table (same indexes, constraints and foreign key),

and, with ``--proposal``, (a') and (b'): the same with the sketch of bench/ingest_proposal.py (a change to
compute/usage.py being tried). It prints seconds, rows/s and the ratio to (c) (goal: ingest within 2x of
COPY), checks the result (row count, sum of units against a sum computed here in Python, the second ingest
changing no count or sum, the sketch leaving the same database), and shows where the time of each ingest
goes. With ``--repeat`` every step runs R times, interleaved, and the medians are shown. Everything is
written to ``bench/results/<time>-ingest.json``.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from statistics import median

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # run as a script: make ``bench`` and the portal importable

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from bench import report, server  # noqa: E402
from bench.run import BUSY_WARNING, cpu_busy  # noqa: E402

DB_NAME = "portal_bench_ingest"
DATABASE_URL = f"{server.DB_SERVER}/{DB_NAME}"
RESULTS_DIR = BENCH_DIR / "results"
GOAL = 2.0  # the ingest may take at most this many times the plain COPY
COPY_TABLE = "compute_job_copy"
_STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {message}", flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="job records to ingest (default 1,000,000)"
    )
    parser.add_argument("--allocations", type=int, default=2_000, help="allocations (default 2,000)")
    parser.add_argument(
        "--unknown-share", type=float, default=0.03, help="share of jobs on unknown accounts (default 0.03)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of all steps; medians are shown (default 1)"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the extra measurements of the parts")
    parser.add_argument(
        "--proposal", action="store_true", help="also (a') and (b'): the sketch of bench/ingest_proposal.py"
    )
    return parser.parse_args(argv)


def ingest_env() -> dict[str, str]:
    """Production settings (DEBUG off, persistent connection) on the benchmark's own database. Threshold
    mails are rendered and handed to a dummy mail backend in this process (Celery eager): nothing is queued
    in Redis, nothing is sent."""
    env = server.portal_env(static_root=tempfile.gettempdir())
    env.update(
        DATABASE_URL=DATABASE_URL,
        CACHE_URL="locmemcache://ingest",
        CELERY_BROKER_URL="memory://localhost/",
        CELERY_TASK_ALWAYS_EAGER="true",
        EMAIL_URL="dummymail://",
        EMAIL_DELIVERY_BACKEND="django.core.mail.backends.dummy.EmailBackend",
    )
    return env


LOCK_KEY = 20_251_128  # advisory lock: one run at a time (each drops the other's database)


def exclusive_run() -> psycopg.Connection:
    """Wait until no other bench/ingest.py runs; the lock lasts as long as the returned connection."""
    conn = psycopg.connect(f"{server.DB_SERVER}/postgres", autocommit=True)
    if not conn.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[0]:
        say("another bench/ingest.py is running on this PostgreSQL: waiting for it to finish")
        conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    return conn


def recreate_database() -> None:
    with psycopg.connect(f"{server.DB_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))


# --- output ------------------------------------------------------------------------------------------


def _table(header: tuple, body: list[tuple], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]

    def line(cells):
        return " | ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *map(line, body)])


def format_results(n: int, steps: dict, ratios: dict) -> str:
    by_label = {STEPS[k]: r for k, r in ratios.items()}
    body = [
        (
            label,
            f"{seconds:,.2f}",
            f"{n / seconds:,.0f}" if seconds else "-",
            f"{by_label[label]:,.2f}" if label in by_label else "1.00",
        )
        for label, seconds in steps.items()
    ]
    return _table(("step", "seconds", "rows/s", "× COPY"), body, {1, 2, 3})


def format_profile(name: str, seconds: float, parts: list[dict]) -> str:
    body = [
        (
            p["phase"],
            p["part"],
            f"{p['count']:,}"
            if p["count"] is not None
            else (f"{p['calls']:,} calls" if p["calls"] > 1 else ""),
            f"{p['seconds']:,.2f}",
            f"{p['share']:.0%}" if p["share"] is not None else "-",
        )
        for p in parts
        if p["seconds"] >= 0.005
    ]
    return f"where the {seconds:,.2f} s of {name} go:\n" + _table(
        ("function", "part", "statements", "seconds", "share"), body, {2, 3, 4}
    )


def run_proposal(records, after_first: dict, first: dict) -> dict:
    """(a') and (b'): the sketch of bench/ingest_proposal.py from the same state as (a), and again."""
    from bench import ingest_data, ingest_measure  # they load the portal's models: after setup in main

    ingest_data.reset_usage()
    say("(a') the proposed ingest (bench/ingest_proposal.py) into the empty table")
    first_p = ingest_measure.timed_ingest(records, proposal=True)
    say(f"(a') {first_p['seconds']:.2f} s: {first_p['result']}")
    state_first = ingest_measure.database_state()
    say("(b') the proposed ingest again")
    second_p = ingest_measure.timed_ingest(records, proposal=True)
    say(f"(b') {second_p['seconds']:.2f} s: {second_p['result']}")
    state_second = ingest_measure.database_state()
    checks = [
        {"check": f"(a') leaves {key} as (a) does", "got": state_first[key], "expected": want}
        for key, want in after_first.items()
    ]
    checks += [
        {"check": f"(b') leaves {key} unchanged", "got": state_second[key], "expected": want}
        for key, want in state_first.items()
    ]
    for key in ("jobs", "unknown_accounts", "allocations"):
        checks.append(
            {
                "check": f"(a') reports {key} as (a)",
                "got": first_p["result"][key],
                "expected": first["result"][key],
            }
        )
    for c in checks:
        c["ok"] = c["got"] == c["expected"]
    return {"first": first_p, "again": second_p, "state_after_first": state_first, "checks": checks}


STEPS = {
    "first": "(a) ingest_jobs, empty table",
    "again": "(b) ingest_jobs again (all stored)",
    "copy": "(c) COPY compute_job (text)",
    "proposal_first": "(a') proposed ingest, empty table",
    "proposal_again": "(b') proposed ingest again",
}


def one_round(records, rows, expected: dict, *, proposal: bool) -> dict:
    """(a), (b), (c) and, with ``proposal``, (a') and (b'), from the state as loaded; checks included."""
    from bench import ingest_data, ingest_measure  # they load the portal's models: after setup in main

    ingest_data.reset_usage()
    say("(a) ingest_jobs into the empty table")
    first = ingest_measure.timed_ingest(records)
    say(f"(a) {first['seconds']:.2f} s: {first['result']}")
    after_first = ingest_measure.database_state()
    say("(b) ingest_jobs again, every job already stored")
    second = ingest_measure.timed_ingest(records)
    say(f"(b) {second['seconds']:.2f} s: {second['result']}")
    after_second = ingest_measure.database_state()
    say(f"(c) COPY {COPY_TABLE} FROM STDIN, the same rows")
    copy_seconds = ingest_measure.timed_copy(rows, table=COPY_TABLE)
    say(f"(c) {copy_seconds:.2f} s")
    copied = ingest_measure.count_and_drop(COPY_TABLE)
    checks = ingest_measure.verify(expected, after_first, after_second, first, second)
    checks.append(
        {"check": "COPY wrote every row", "got": copied, "expected": len(rows), "ok": copied == len(rows)}
    )
    result = {
        "seconds": {"first": first["seconds"], "again": second["seconds"], "copy": copy_seconds},
        "ingest_first": first,
        "ingest_again": second,
        "state_after_first": after_first,
        "state_after_again": after_second,
        "proposal": None,
    }
    if proposal:
        result["proposal"] = run_proposal(records, after_first, first)
        checks += result["proposal"]["checks"]
        result["seconds"]["proposal_first"] = result["proposal"]["first"]["seconds"]
        result["seconds"]["proposal_again"] = result["proposal"]["again"]["seconds"]
    result["checks"] = checks
    result["ratios"] = {k: v / copy_seconds for k, v in result["seconds"].items() if k != "copy"}
    return result


def main(argv=None) -> int:
    args = parse_args(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")  # before Django sets the process's time zone
    env = ingest_env()
    os.environ.update(env)
    lock = exclusive_run()  # noqa: F841 - held until the process ends
    say(f"recreating database {DB_NAME}")
    recreate_database()
    say("manage.py migrate")
    server.manage(env, "migrate", "--noinput")

    import django  # configured by the environment set above, so not before

    django.setup()
    from bench import ingest_data, ingest_measure  # they load the portal's models: only now

    say(f"loading users, organisations, partitions and {args.allocations:,} allocations")
    counts, specs, ctx = ingest_data.load_fixture(args.allocations)
    say(f"loaded {', '.join(f'{v:,} {k}' for k, v in counts.items())}")

    say(f"generating {args.rows:,} job records")
    began = time.perf_counter()
    records = ingest_data.make_records(specs, args.rows, ctx, args.unknown_share)
    generation = round(time.perf_counter() - began, 3)
    say(f"generated in {generation:.1f} s")
    expected = ingest_data.expected_totals(records)
    rows = ingest_data.copy_rows_of(records)
    ingest_data.snapshot_allocations()

    rounds = []
    busy = []
    for number in range(1, args.repeat + 1):
        if args.repeat > 1:
            say(f"round {number} of {args.repeat}")
        busy.append(cpu_busy())
        rounds.append(one_round(records, rows, expected, proposal=args.proposal))
    checks = [c for r in rounds for c in r["checks"]]
    # Medians over the rounds; each ratio is the median of the rounds' own ratios (same moment, same noise).
    keys = list(rounds[0]["seconds"])
    steps = {STEPS[k]: round(median(r["seconds"][k] for r in rounds), 3) for k in keys}
    ratios = {k: round(median(r["ratios"][k] for r in rounds), 2) for k in keys if k != "copy"}
    goal = {k: {"ratio": ratio, "met": ratio <= GOAL} for k, ratio in ratios.items()}
    # The profiles shown are those of the round whose (a) took the median time.
    shown = sorted(rounds, key=lambda r: r["seconds"]["first"])[len(rounds) // 2]
    extra = []
    if not args.no_profile and not (goal["first"]["met"] and goal["again"]["met"]):
        say("the goal is not met: measuring the parts alone")
        extra = ingest_measure.extra_profile(records)

    out = RESULTS_DIR / f"{stamp}-ingest.json"
    report.write_json(
        out,
        {
            "rows": args.rows,
            "allocations": args.allocations,
            "repeat": args.repeat,
            "loaded": counts,
            "generation_seconds": generation,
            "expected": expected,
            "steps": steps,
            "goal": {"max_ratio": GOAL, **goal},
            "rounds": rounds,
            "checks": checks,
            "extra_profile": extra,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "postgresql": server.server_version(),
                "cpu_busy_before_rounds": busy,
            },
        },
    )

    print()
    print(
        f"{args.rows:,} job records on {expected['allocations_with_jobs']:,} allocations' accounts "
        f"({expected['unknown_jobs']:,} on unknown accounts); generating them took {generation:.1f} s"
    )
    if args.repeat > 1:
        print(f"medians of {args.repeat} rounds; × COPY is the median of each round's own ratio")
    print()
    print(format_results(args.rows, steps, ratios))
    print()
    for key, g in goal.items():
        label = STEPS[key].split(" ")[0]
        print(f"goal {label} ≤ {GOAL:.0f}× COPY: {'met' if g['met'] else 'NOT met'} ({g['ratio']:.2f}×)")
    print()
    failed = [c for c in checks if not c["ok"]]
    for c in checks if args.repeat == 1 else failed:
        mismatch = "" if c["ok"] else f" != {c['expected']:,} expected"
        print(f"  {'ok ' if c['ok'] else 'BAD'} {c['check']}: {c['got']:,}{mismatch}")
    if args.repeat > 1:
        print(f"  {len(checks) - len(failed)} of {len(checks)} checks passed over {args.repeat} rounds")
    print()
    print(format_profile("(a)", shown["ingest_first"]["seconds"], shown["ingest_first"]["profile"]))
    print()
    print(format_profile("(b)", shown["ingest_again"]["seconds"], shown["ingest_again"]["profile"]))
    if shown["proposal"]:
        print()
        p = shown["proposal"]
        print(format_profile("(a') proposed", p["first"]["seconds"], p["first"]["profile"]))
        print()
        print(format_profile("(b') proposed", p["again"]["seconds"], p["again"]["profile"]))
    if extra:
        print()
        print("measured alone (parts of (a)):")
        for part in extra:
            print(f"  {part['seconds']:8.2f} s  {part['part']}")
    print()
    print(f"results: {out.relative_to(BENCH_DIR.parent)}")
    noisy = [b for b in busy if b is not None and b > BUSY_WARNING]
    if noisy:
        print(
            f"note: other processes kept up to {max(noisy):.0%} of the CPUs busy before a round: the seconds "
            "are not comparable between runs; rerun with --repeat 3 when it is quieter."
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
