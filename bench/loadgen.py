"""Load generators on the loopback: ``wrk`` when installed (or installable), else a threaded Python client.

Both keep ``connections`` requests in flight for ``duration`` seconds and report requests/s and latency
percentiles.
Gunicorn's sync workers close the connection after every response, so both reconnect for each request, as real
clients of such a deployment do.
"""

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

# wrk's own summary, printed as one JSON line by its ``done`` hook (latencies in microseconds).
WRK_SCRIPT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %f, "p90_us": %f, "p99_us": %f, '
    .. '"max_us": %f, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict:
        return asdict(self)


class Wrk:
    name = "wrk"

    def __init__(self, executable: str, *, threads: int, connections: int):
        self.executable, self.threads, self.connections = executable, threads, connections
        handle, self.script = tempfile.mkstemp(prefix="bench-wrk-", suffix=".lua")
        with os.fdopen(handle, "w") as script:
            script.write(WRK_SCRIPT)

    def describe(self) -> str:
        return f"wrk -t{self.threads} -c{self.connections}"

    def run(self, url: str, headers: dict[str, str], duration: int) -> LoadResult:
        command = [
            self.executable,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        command += ["-s", self.script, url]
        result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
        line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
        if result.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout}\n{result.stderr}")
        data = json.loads(line.removeprefix("BENCH_JSON "))
        seconds = data["duration_us"] / 1e6
        return LoadResult(
            tool=self.name,
            requests=data["requests"],
            seconds=round(seconds, 3),
            rps=data["requests"] / seconds if seconds else 0.0,
            p50_ms=data["p50_us"] / 1000,
            p90_ms=data["p90_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
            max_ms=data["max_us"] / 1000,
            errors={k: data[k] for k in ("connect", "read", "write", "status", "timeout") if data[k]},
        )

    def close(self) -> None:
        os.unlink(self.script)


class PythonClient:
    """``connections`` threads, each sending GETs with ``http.client`` one after the other (the GIL makes it
    slower than wrk: compare ratios from the same tool only)."""

    name = "python"

    def __init__(self, *, connections: int):
        self.connections = connections

    def describe(self) -> str:
        return f"python http.client, {self.connections} threads"

    def run(self, url: str, headers: dict[str, str], duration: int) -> LoadResult:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        latencies: list[list[float]] = [[] for _ in range(self.connections)]
        errors: list[dict[str, int]] = [{} for _ in range(self.connections)]
        start = time.perf_counter()
        deadline = start + duration

        def worker(index: int) -> None:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            mine, my_errors = latencies[index], errors[index]
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException) as error:
                    kind = "timeout" if isinstance(error, TimeoutError) else "connect"
                    my_errors[kind] = my_errors.get(kind, 0) + 1
                    conn.close()
                    continue
                mine.append(time.perf_counter() - began)
                if response.status > 399:  # as wrk counts them
                    my_errors["status"] = my_errors.get("status", 0) + 1
                if response.will_close:
                    conn.close()  # http.client reconnects on the next request
            conn.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(self.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - start
        samples = sorted(x for per_thread in latencies for x in per_thread)
        merged: dict[str, int] = {}
        for per_thread in errors:
            for kind, count in per_thread.items():
                merged[kind] = merged.get(kind, 0) + count
        return LoadResult(
            tool=self.name,
            requests=len(samples),
            seconds=round(seconds, 3),
            rps=len(samples) / seconds,
            p50_ms=_percentile(samples, 50) * 1000,
            p90_ms=_percentile(samples, 90) * 1000,
            p99_ms=_percentile(samples, 99) * 1000,
            max_ms=(samples[-1] if samples else 0.0) * 1000,
            errors=merged,
        )

    def close(self) -> None:
        pass


def _percentile(samples: list[float], percent: float) -> float:
    if not samples:
        return 0.0
    return samples[min(len(samples) - 1, round(percent / 100 * (len(samples) - 1)))]


def find_wrk(*, install: bool) -> str | None:
    """The path of ``wrk``; installs the Debian package first when allowed, missing and running as root."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk is missing: installing the Debian package (apt-get install -y wrk) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    quiet = {"env": env, "capture_output": True, "text": True, "timeout": 300}
    try:
        if subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet).returncode != 0:
            subprocess.run(["apt-get", "update"], **quiet)
            subprocess.run(["apt-get", "install", "-y", "wrk"], **quiet)
    except (OSError, subprocess.SubprocessError) as error:
        print(f"  could not install wrk ({error})")
    return shutil.which("wrk")


def load_generator(*, prefer_wrk: bool, install: bool, threads: int, connections: int):
    executable = find_wrk(install=install) if prefer_wrk else None
    if executable:
        return Wrk(executable, threads=threads, connections=connections)
    return PythonClient(connections=connections)
