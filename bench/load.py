"""Load test: visitors, members and operators at once, for minutes, against gunicorn with production settings
and a Celery worker (see bench/README.md, "Load test"). Not part of the test suite or CI.

.venv/bin/pip install -r bench/requirements.txt      # Locust, once
.venv/bin/python bench/load.py                       # 10 minutes, 30 users
.venv/bin/python bench/load.py --minutes 1 --users 10 --scale 0.2
"""

import argparse
import csv
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # run as a script: make ``bench`` and the portal importable

from bench import probe, report, server  # noqa: E402
from bench.endpoints import ENDPOINTS, validate  # noqa: E402
from bench.run import RESULTS_DIR, cpu_busy, prepare_database, resolve_paths, say  # noqa: E402
from bench.session import login  # noqa: E402

# Its own database and Redis database (cache and broker), so that a bench/run.py started meanwhile does not drop
# the data or flush the cache under it.
server.DB_NAME = "portal_bench_load"
server.DATABASE_URL = f"{server.DB_SERVER}/{server.DB_NAME}"
server.CACHE_URL = server.BROKER_URL = "redis://127.0.0.1:6379/13"
RSS_EVERY = 10  # seconds between two memory samples of the web and the worker
WARM_AFTER = 60  # seconds of load after which the processes count as warm (caches, imports, connections)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10, help="length of the load (default 10)")
    parser.add_argument("--users", type=int, default=30, help="simulated people at once (default 30)")
    parser.add_argument(
        "--spawn-rate", type=float, default=5, help="users started per second at the beginning (default 5)"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the number of loaded rows (default 1)"
    )
    parser.add_argument(
        "--reuse-db", action="store_true", help="keep portal_bench if it already holds a full load"
    )
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.users <= 0 or args.spawn_rate <= 0:
        parser.error("--minutes, --users and --spawn-rate must be positive")
    return args


class Monitor(threading.Thread):
    """What a monitoring server does during the load, every ``RSS_EVERY`` seconds until stopped: samples the
    resident memory of the web (gunicorn and its workers) and of the Celery worker (its pool and beat), and
    scrapes both metrics endpoints as Prometheus would (their time and failures are recorded)."""

    def __init__(self, processes: dict[str, int], scrapes: dict[str, tuple[str, str]]):
        super().__init__(daemon=True)
        self.processes, self.scrapes = processes, scrapes
        self.samples, self.scrape_ms, self.scrape_failures = [], [], 0
        self.started = time.monotonic()
        self._stop_event = threading.Event()

    def sample(self) -> dict:
        entry = {"at_s": round(time.monotonic() - self.started, 1)}
        for role, pid in self.processes.items():
            count, rss = server.process_tree_rss(pid)
            entry[role] = {"processes": count, "rss_mb": round(rss / 2**20, 1)}
        self.samples.append(entry)
        for url, token in self.scrapes.values():
            began = time.monotonic()
            if scrape(url, token).startswith("# scrape failed"):
                self.scrape_failures += 1
            self.scrape_ms.append((time.monotonic() - began) * 1000)
        return entry

    def run(self) -> None:
        while not self._stop_event.wait(RSS_EVERY):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def plan_endpoints(base_url: str, cookies: dict[str, str]) -> tuple[list[dict], list[str]]:
    """The endpoints to load (paths resolved, one request each answered as expected), and why others are not."""
    validate(ENDPOINTS)
    chosen, skipped = [], []
    for endpoint in resolve_paths([e for e in ENDPOINTS if not e.get("yardstick")]):
        if endpoint.get("path_error"):
            skipped.append(f"{endpoint['name']}: {endpoint['path_error']}")
            continue
        cookie = cookies.get(endpoint.get("persona") or "", "")
        # Only the status: the texts some endpoints expect (a next page) depend on the data's scale.
        plain = {key: value for key, value in endpoint.items() if key != "expect_text"}
        answer = probe.check_http(base_url, plain, {"Cookie": cookie} if cookie else {})
        if answer["problems"]:
            skipped.append(f"{endpoint['name']}: {'; '.join(answer['problems'])}")
            continue
        chosen.append(
            {key: endpoint[key] for key in ("name", "path", "persona", "expect_status") if key in endpoint}
        )
    return chosen, skipped


def run_locust(plan_path: Path, csv_prefix: Path, base_url: str, args) -> int:
    seconds = round(args.minutes * 60)
    command = [
        str(server.VENV_BIN / "locust"),
        "-f",
        str(BENCH_DIR / "locustfile.py"),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--host",
        base_url,
        "--csv",
        str(csv_prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    result = subprocess.run(
        command,
        cwd=server.BASE_DIR,
        env={**os.environ, "BENCH_LOAD_PLAN": str(plan_path)},
        timeout=seconds + 180,
        capture_output=True,
        text=True,
    )
    if not Path(f"{csv_prefix}_stats.csv").exists():
        raise RuntimeError(f"Locust wrote no statistics:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.returncode


def read_stats(csv_prefix: Path, personas: dict[str, str | None]) -> tuple[list[dict], dict[str, int]]:
    """Per-endpoint figures from Locust's CSV (plus the aggregate, last), and its failures by message."""
    rows = []
    with open(f"{csv_prefix}_stats.csv", newline="") as stats:
        for row in csv.DictReader(stats):
            rows.append(
                {
                    "name": row["Name"],
                    "persona": "all"
                    if row["Name"] == "Aggregated"
                    else personas.get(row["Name"]) or "visitor",
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "rps": float(row["Requests/s"]),
                    "p50_ms": float(row["50%"]),
                    "p95_ms": float(row["95%"]),
                    "p99_ms": float(row["99%"]),
                    "max_ms": float(row["Max Response Time"]),
                }
            )
    failures: dict[str, int] = {}
    with open(f"{csv_prefix}_failures.csv", newline="") as errors:
        for row in csv.DictReader(errors):
            key = f"{row['Name']}: {row['Error']}"
            failures[key] = failures.get(key, 0) + int(row["Occurrences"])
    return rows, failures


def scrape(url: str, token: str = "") -> str:
    """One scrape of a /metrics endpoint ('' when it does not answer)."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()
    except OSError as error:
        return f"# scrape failed: {error}"


def metric_total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (``status="5"`` matches 5xx)."""
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415 - after setup

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(
                sample.labels.get(key, "").startswith(value) for key, value in labels.items()
            ):
                total += sample.value
    return total


def server_figures(web_metrics: str, worker_metrics: str) -> dict:
    """What the portal's own metrics saw during the run: requests and 5xx answers, task runs and failures."""
    return {
        "web_requests": metric_total(web_metrics, "django_http_responses_total_by_status_total"),
        "web_5xx": metric_total(web_metrics, "django_http_responses_total_by_status_total", status="5"),
        "broker_up": metric_total(web_metrics, "portal_broker_up"),
        "task_runs": metric_total(worker_metrics, "portal_celery_task_runs_total"),
        "task_failures": metric_total(worker_metrics, "portal_celery_task_runs_total", outcome="failure"),
    }


def memory_summary(samples: list[dict]) -> dict:
    """Resident memory of each role at the start (before the load), once warm, at the end, and its peak."""
    warm = next((s for s in samples if s["at_s"] >= WARM_AFTER), samples[-1])
    return {
        role: {
            "start_mb": samples[0][role]["rss_mb"],
            "warm_mb": warm[role]["rss_mb"],
            "end_mb": samples[-1][role]["rss_mb"],
            "peak_mb": max(s[role]["rss_mb"] for s in samples),
            "processes": samples[-1][role]["processes"],
        }
        for role in ("web", "worker")
    }


def format_table(rows: list[dict]) -> str:
    lines = [
        "| endpoint | who | requests | failures | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['persona']} | {row['requests']:,} | {row['failures']} | "
            f"{row['p50_ms']:,.0f} | {row['p95_ms']:,.0f} | {row['p99_ms']:,.0f} | {row['max_ms']:,.0f} |"
        )
    return "\n".join(lines)


def format_memory(memory: dict) -> str:
    lines = [
        "| process | processes | RSS at start | warm (1 min) | at the end | peak |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for role, figures in memory.items():
        lines.append(
            f"| {role} | {figures['processes']} | {figures['start_mb']} MB | {figures['warm_mb']} MB | "
            f"{figures['end_mb']} MB | {figures['peak_mb']} MB |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = Path(tempfile.mkdtemp(prefix="portal-load-"))
    env = server.portal_env(static_root=str(workdir / "static"))
    # The fake cluster (bench/server.py: portal_env) keeps its state in a file of this run, shared by the web
    # and the worker's tasks.
    env["CLUSTER_BACKEND_OPTIONS"] = json.dumps({"state_file": str(workdir / "fake-cluster.json")})
    env["CELERY_BEAT_SCHEDULE_FILENAME"] = str(workdir / "celerybeat-schedule")
    os.environ.update(env)  # data loading and path resolution in this process see the same settings
    metrics_token = secrets.token_urlsafe(24)
    worker_port = server.free_port()
    (workdir / "web-metrics").mkdir()
    (workdir / "worker-metrics").mkdir()
    # The multiprocess directories only for the servers: this process's own metrics stay out of them.
    web_env = {
        **env,
        "METRICS_TOKEN": metrics_token,
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "web-metrics"),
    }
    worker_env = {
        **env,
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "worker-metrics"),
        "CELERY_METRICS_PORT": str(worker_port),
    }
    payload: dict = {"started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        data_summary = prepare_database(env, args)
        say("manage.py collectstatic")
        server.manage(env, "collectstatic", "--noinput")
        server.flush_cache()
        log_path = RESULTS_DIR / f"{stamp}-load-gunicorn.log"
        say(f"starting gunicorn ({server.WORKERS} sync workers) and a Celery worker with beat")
        with (
            server.Gunicorn(web_env, log_path) as gunicorn,
            server.CeleryWorker(worker_env, RESULTS_DIR / f"{stamp}-load-worker.log") as worker,
        ):
            from bench.data import PASSWORD, PERSONAS  # noqa: PLC0415 - after django.setup()

            cookies = {}
            for key, persona in PERSONAS.items():
                say(f"signing in as {persona.email}")
                cookies[key] = login(
                    gunicorn.base_url, persona.email, PASSWORD, totp_secret=persona.totp_secret
                )
            endpoints, skipped = plan_endpoints(gunicorn.base_url, cookies)
            for reason in skipped:
                say(f"not loaded: {reason}")
            plan_path = workdir / "plan.json"
            plan_path.write_text(json.dumps({"endpoints": endpoints, "cookies": cookies}))
            busy_before = cpu_busy()
            web_url, worker_url = f"{gunicorn.base_url}/metrics", f"http://127.0.0.1:{worker_port}/metrics"
            monitor = Monitor(
                {"web": gunicorn.process.pid, "worker": worker.process.pid},
                {"web": (web_url, metrics_token), "worker": (worker_url, "")},
            )
            monitor.sample()
            monitor.start()
            say(f"load: {args.users} users for {args.minutes:g} min over {len(endpoints)} endpoints (Locust)")
            locust_status = run_locust(workdir / "plan.json", workdir / "locust", gunicorn.base_url, args)
            monitor.stop()
            monitor.sample()
            web_metrics, worker_metrics = scrape(web_url, metrics_token), scrape(worker_url)
            busy_after = cpu_busy()
        personas = {e["name"]: e["persona"] for e in endpoints}
        rows, failures = read_stats(workdir / "locust", personas)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    total = rows[-1]
    server_errors = sum(count for key, count in failures.items() if "server error" in key)
    payload.update(
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        options={
            "minutes": args.minutes,
            "users": args.users,
            "spawn_rate": args.spawn_rate,
            "scale": args.scale,
            "gunicorn_workers": server.WORKERS,
            "celery_concurrency": 2,
            "wait_between_requests_s": [1, 3],
        },
        machine={"cpus": os.cpu_count(), "cpu_busy_before": busy_before, "cpu_busy_after": busy_after},
        data=data_summary,
        not_loaded=skipped,
        endpoints=rows,
        failures=failures,
        server_errors=server_errors,
        server=server_figures(web_metrics, worker_metrics),
        memory=memory_summary(monitor.samples),
        memory_samples=monitor.samples,
        scrapes={
            "count": len(monitor.scrape_ms),
            "failures": monitor.scrape_failures,
            "p50_ms": round(statistics.median(monitor.scrape_ms), 1),
            "max_ms": round(max(monitor.scrape_ms), 1),
        },
        locust_exit_status=locust_status,
    )
    out = RESULTS_DIR / f"{stamp}-load.json"
    report.write_json(out, payload)

    print()
    print(format_table(rows))
    print()
    print(format_memory(payload["memory"]))
    print()
    figures = payload["server"]
    print(
        f"{total['requests']:,} requests in {args.minutes:g} min ({total['rps']:.1f}/s), "
        f"{total['failures']} failures, {server_errors} server errors seen by the clients; "
        f"the web's /metrics counted {figures['web_requests']:,.0f} responses, {figures['web_5xx']:.0f} of them "
        f"5xx; the worker ran {figures['task_runs']:,.0f} tasks ({figures['task_failures']:.0f} failed)."
    )
    scrapes = payload["scrapes"]
    print(
        f"{scrapes['count']} scrapes of the two /metrics endpoints during the load: {scrapes['failures']} failed, "
        f"median {scrapes['p50_ms']} ms, slowest {scrapes['max_ms']} ms."
    )
    for key, count in failures.items():
        print(f"failure: {key} ×{count}")
    print(f"results: {out.relative_to(BENCH_DIR.parent)}")
    return 1 if total["failures"] or server_errors or figures["web_5xx"] or scrapes["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
