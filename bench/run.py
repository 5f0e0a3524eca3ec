"""Benchmark of the portal's pages and API endpoints against production settings (see bench/README.md).

.venv/bin/python bench/run.py [--quick] [--only NAME] [--reuse-db] [--explain]
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from statistics import median

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # run as a script: make ``bench`` and the portal importable

from bench import loadgen, probe, report, server  # noqa: E402
from bench.endpoints import (  # noqa: E402
    ENDPOINTS,
    QUERY_MS_GOAL,
    SOLO_MS_GOAL,
    goal_ratio,
    resolve_path,
    validate,
)
from bench.session import login  # noqa: E402

RESULTS_DIR = BENCH_DIR / "results"
BUSY_WARNING = 0.25  # share of the CPUs that other processes may use before the run warns about noise
_STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {message}", flush=True)


def cpu_busy(seconds: float = 1.0) -> float | None:
    """The share of all CPUs that was busy over ``seconds`` (Linux /proc/stat), None where unknown."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values), idle

    try:
        total_0, idle_0 = sample()
        time.sleep(seconds)
        total_1, idle_1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    elapsed = total_1 - total_0
    return round(1 - (idle_1 - idle_0) / elapsed, 3) if elapsed else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 s per endpoint instead of 10 s")
    parser.add_argument("--duration", type=int, help="seconds of measurement per endpoint")
    parser.add_argument(
        "--warmup", type=int, help="seconds of unmeasured load before each endpoint (default 1)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds over all endpoints; the table shows medians (default 1)"
    )
    parser.add_argument("--connections", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="measure endpoints whose name contains NAME",
    )
    parser.add_argument(
        "--reuse-db", action="store_true", help="keep portal_bench if it already holds a full load"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the number of loaded rows (default 1)"
    )
    parser.add_argument(
        "--python-client", action="store_true", help="use the Python client even if wrk is there"
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when an endpoint misses a goal of issue #17 (ratio, solo ms, slowest query), saying why",
    )
    parser.add_argument("--show-queries", action="store_true", help="print every endpoint's SQL")
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN ANALYZE of every endpoint's reads"
    )
    args = parser.parse_args(argv)
    args.duration = args.duration or (3 if args.quick else 10)
    args.warmup = 1 if args.warmup is None else args.warmup
    return args


def selected_endpoints(only: list[str]) -> list[dict]:
    validate(ENDPOINTS)
    if not only:
        return list(ENDPOINTS)
    chosen = [e for e in ENDPOINTS if e.get("yardstick") or any(o in e["name"] for o in only)]
    if len(chosen) == 1:
        raise SystemExit(f"no endpoint matches {only}; names: {[e['name'] for e in ENDPOINTS]}")
    return chosen


def prepare_database(env: dict[str, str], args) -> dict:
    """Create, migrate and fill ``portal_bench``; returns what was loaded."""
    reuse = args.reuse_db and server.database_exists()
    if not reuse:
        say(f"recreating database {server.DB_NAME}")
        server.recreate_database()
    say("manage.py migrate")
    server.manage(env, "migrate", "--noinput")

    import django

    django.setup()
    from bench import data  # noqa: PLC0415 - loaded after django.setup() in main()

    if reuse and data.has_data(args.scale):
        say("reusing the data already loaded (--reuse-db)")
        queued = reload_job_queue()
        say(f"the fake scheduler's queue loaded again: {queued} jobs")
        return {"reused": True, "rows": data.row_counts()}
    if reuse:
        say("the database holds no complete load by the current loaders at this scale: recreating it")
        from django.db import connection

        connection.close()
        server.recreate_database()
        server.manage(env, "migrate", "--noinput")
    say(f"loading data (scale {args.scale})")
    summary = data.load_all(scale=args.scale)
    rows = ", ".join(f"{count:,} {label}" for label, count in summary["rows"].items())
    say(f"loaded {rows} in {summary['seconds']['total']} s")
    return summary


def reload_job_queue() -> int:
    """The fake scheduler's queue (bench/data_queue.py) lives in this checkout's var/, not in the database: a
    load reused from another checkout, or a removed file, would leave "my jobs" empty. It is 200 jobs: load it
    again whenever the data is reused."""
    from accounts.models import User  # noqa: PLC0415 - after django.setup()
    from bench.data import PERSONAS, LoadContext  # noqa: PLC0415 - after django.setup()
    from bench.data_queue import load_job_queue  # noqa: PLC0415 - after django.setup()

    ctx = LoadContext(scale=1.0, password_hash="")
    ctx.shared["member_id"] = User.objects.get(email=PERSONAS["member"].email).pk
    return load_job_queue(ctx)["queued jobs"]


def resolve_paths(endpoints: list[dict]) -> list[dict]:
    """Copies of the endpoints with their ``Url`` paths reversed (Django is set up and the data loaded). One
    that cannot be found (a URL name that does not exist yet, no id in the data) keeps a ``path_error`` and is
    reported, not measured."""
    resolved = []
    for endpoint in endpoints:
        endpoint = dict(endpoint)
        try:
            endpoint["path"] = resolve_path(endpoint)
        except LookupError as error:
            endpoint["path"], endpoint["path_error"] = repr(endpoint["path"]), str(error)
        resolved.append(endpoint)
    return resolved


def sign_in(endpoints: list[dict], base_url: str) -> dict[str, str]:
    """The Cookie header of each persona the endpoints need."""
    from bench.data import (  # noqa: PLC0415 - loaded after django.setup() in main()
        PASSWORD,
        PERSONAS,
    )

    cookies = {}
    for key in sorted({e["persona"] for e in endpoints if e.get("persona")}):
        say(f"signing in as {PERSONAS[key].email}")
        cookies[key] = login(base_url, PERSONAS[key].email, PASSWORD, totp_secret=PERSONAS[key].totp_secret)
    return cookies


def check(endpoint: dict, base_url: str, cookie: str, args) -> dict:
    """One request to the server, one in this process (for its SQL); ``problems`` stop its measurement."""
    headers = {"Cookie": cookie} if cookie else {}
    result = {
        "name": endpoint["name"],
        "path": endpoint["path"],
        "persona": endpoint.get("persona"),
        "goal_ratio": None if endpoint.get("yardstick") else goal_ratio(endpoint),
        "yardstick": bool(endpoint.get("yardstick")),
        "headers": headers,
    }
    if endpoint.get("path_error"):
        result.update(check=None, problems=[endpoint["path_error"]], runs=[])
        say(f"{endpoint['name']}: NOT measured, {endpoint['path_error']}")
        return result
    answer = probe.check_http(base_url, endpoint, headers)
    result.update(check=answer, problems=list(answer["problems"]), runs=[])
    try:
        result["queries"] = probe.capture_queries(endpoint, cookie, explain=args.explain)
    except Exception as error:  # noqa: BLE001 - a broken page must not stop the other measurements
        result["problems"].append(f"query capture failed: {error.__class__.__name__}: {error}")
    if result["problems"]:
        say(f"{endpoint['name']}: NOT measured, {'; '.join(result['problems'])}")
    return result


def measure(endpoints: list[dict], gunicorn: server.Gunicorn, generator, args) -> list[dict]:
    """Measure every endpoint ``--repeat`` times, round after round (so a burst of noise from other processes
    hits all endpoints alike), and keep the median of each figure."""
    cookies = sign_in(endpoints, gunicorn.base_url)
    results = [check(e, gunicorn.base_url, cookies.get(e.get("persona"), ""), args) for e in endpoints]
    measurable = [r for r in results if not r["problems"]]
    for round_number in range(1, args.repeat + 1):
        if args.repeat > 1:
            say(f"round {round_number} of {args.repeat}")
        for r in measurable:
            url = gunicorn.base_url + r["path"]
            if args.warmup:
                generator.run(url, r["headers"], args.warmup)
            load = generator.run(url, r["headers"], args.duration)
            r["runs"].append(load.as_dict())
            say(f"{r['name']}: {load.rps:,.0f} req/s, p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms")

    for r, endpoint in zip(results, endpoints, strict=True):
        if endpoint.get("after_change") and not r["problems"]:
            r["after_change"] = first_after_change(endpoint, gunicorn.base_url, r["headers"])
            say(
                f"{r['name']}: first request after a change ({endpoint['after_change']}): "
                f"{r['after_change']['ms']:.1f} ms"
            )

    yardstick = next((r for r in measurable if r["yardstick"]), None)
    for r in measurable:
        runs = r["runs"]
        r["load"] = {key: median(run[key] for run in runs) for key in ("rps", "p50_ms", "p90_ms", "p99_ms")}
        r["load"]["errors"] = _sum_errors(runs)
        if yardstick is not None:
            # The ratio of each round, then their median: both figures of a round saw the same machine.
            ratios = [
                run["rps"] / y["rps"] for run, y in zip(runs, yardstick["runs"], strict=True) if y["rps"]
            ]
            if ratios:
                r["ratio"] = median(ratios)
                r["below_goal"] = bool(r["goal_ratio"]) and r["ratio"] < r["goal_ratio"]
    for r in results:
        del r["headers"]  # the session cookies stay out of the results file
    return results


def first_after_change(endpoint: dict, base_url: str, headers: dict[str, str]) -> dict:
    """Make the endpoint's change (bench/changes.py), then time the server's next answer to it (the slowest of
    the two workers' first answers: each has its own per-process caches)."""
    from bench.changes import CHANGES

    time.sleep(1)  # the requests still queued from the last load drain first: time the change alone
    what = CHANGES[endpoint["after_change"]]()
    answers = [probe.check_http(base_url, endpoint, headers) for _ in range(server.WORKERS)]
    return {"change": what, "ms": max(a["ms"] for a in answers), "problems": answers[0]["problems"]}


def _sum_errors(runs: list[dict]) -> dict[str, int]:
    total: dict[str, int] = {}
    for run in runs:
        for kind, count in run["errors"].items():
            total[kind] = total.get(kind, 0) + count
    return total


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    endpoints = selected_endpoints(args.only)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    static_root = tempfile.mkdtemp(prefix="portal-bench-static-")
    env = server.portal_env(static_root=static_root)
    os.environ.update(env)  # the same settings for this process (data loading, query capture) as for gunicorn
    generator = None
    payload: dict = {"started_at": datetime.now().astimezone().isoformat(timespec="seconds")}
    try:
        data_summary = prepare_database(env, args)
        endpoints = resolve_paths(endpoints)
        say("manage.py collectstatic")
        server.manage(env, "collectstatic", "--noinput")
        server.flush_cache()
        generator = loadgen.load_generator(
            prefer_wrk=not args.python_client,
            install=not args.no_install,
            threads=args.threads,
            connections=args.connections,
        )
        say(
            f"load generator: {generator.describe()}, {args.duration} s per endpoint, {args.warmup} s warm-up"
        )
        log_path = RESULTS_DIR / f"{stamp}-gunicorn.log"
        say(
            f"starting gunicorn ({server.WORKERS} sync workers), log {log_path.relative_to(BENCH_DIR.parent)}"
        )
        with server.Gunicorn(env, log_path) as gunicorn:
            busy_before = cpu_busy()
            results = measure(endpoints, gunicorn, generator, args)
            busy_after = cpu_busy()
    finally:
        if generator is not None:
            generator.close()
        shutil.rmtree(static_root, ignore_errors=True)

    payload.update(
        finished_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        options={
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "connections": args.connections,
            "threads": args.threads,
            "load_generator": generator.describe(),
            "gunicorn_workers": server.WORKERS,
            "scale": args.scale,
        },
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "postgresql": server.server_version(),
            # Share of all CPUs busy (over 1 s) just before and just after the measurements, the server idle.
            "cpu_busy_before": busy_before,
            "cpu_busy_after": busy_after,
        },
        data=data_summary,
        results=results,
    )
    out = RESULTS_DIR / f"{stamp}.json"
    report.write_json(out, payload)

    print()
    print(report.format_table(results))
    print()
    if args.show_queries or args.explain:
        print(report.format_queries(results))
        print()
    print(f"results: {out.relative_to(BENCH_DIR.parent)}  ({generator.describe()}, {args.duration} s each)")
    busy = [b for b in (payload["machine"]["cpu_busy_before"], payload["machine"]["cpu_busy_after"]) if b]
    if busy and max(busy) > BUSY_WARNING:
        print(
            f"note: other processes kept {max(busy):.0%} of the CPUs busy while the server was idle: trust "
            "the ratios more than the absolute figures, or measure again with --repeat 3 when it is quieter."
        )
    failed = [r["name"] for r in results if r.get("problems") or (r.get("load") or {}).get("errors")]
    if failed:
        print(f"problems: {', '.join(failed)} (see notes; the gunicorn log has tracebacks)")
    if args.check:
        missed = goals_missed(results)
        for name, reasons in missed.items():
            print(f"goal missed: {name}: {'; '.join(reasons)}")
        if missed:
            print(f"--check: {len(missed)} endpoint(s) miss their goals")
            return 1
        print("--check: every endpoint meets its goals")
    return 1 if failed else 0


def goals_missed(results: list[dict]) -> dict[str, list[str]]:
    """Per endpoint, why it misses its goals: the ratio to minimal (with its queries, db ms and solo ms, the
    places to look), its time alone, its slowest query."""
    missed: dict[str, list[str]] = {}
    for r in results:
        if r.get("yardstick"):
            continue
        queries = r.get("queries") or {}
        reasons = []
        if r.get("problems"):
            reasons.append("not measured: " + "; ".join(r["problems"]))
        if r.get("ratio") is not None and r.get("goal_ratio") and r["ratio"] < r["goal_ratio"]:
            reasons.append(
                f"×{r['ratio']:.3f} < ×{r['goal_ratio']:.2f} ({queries.get('count', '?')} queries, "
                f"{queries.get('db_ms', '?')} db ms, {queries.get('request_ms', '?')} solo ms)"
            )
        if (queries.get("request_ms") or 0) > SOLO_MS_GOAL:
            reasons.append(f"solo {queries['request_ms']} ms > {SOLO_MS_GOAL:.0f} ms")
        cold = r.get("after_change")
        if cold and cold["ms"] > SOLO_MS_GOAL:
            reasons.append(f"the first request after a change took {cold['ms']} ms > {SOLO_MS_GOAL:.0f} ms")
        slowest = max(queries.get("queries") or [], key=lambda q: q["ms"], default=None)
        if slowest and slowest["ms"] > QUERY_MS_GOAL:
            reasons.append(
                f"a query took {slowest['ms']} ms > {QUERY_MS_GOAL:.0f} ms: {slowest['sql'][:160]}"
            )
        if reasons:
            missed[r["name"]] = reasons
    return missed


if __name__ == "__main__":
    sys.exit(main())
