"""The database, the production-like environment and the gunicorn server the benchmark runs against."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = BASE_DIR / ".venv" / "bin"
DB_NAME = "portal_bench"
DB_SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE_URL = f"{DB_SERVER}/{DB_NAME}"
CACHE_URL = "redis://127.0.0.1:6379/14"
BROKER_URL = "redis://127.0.0.1:6379/15"
WORKERS = 2


def portal_env(*, static_root: str) -> dict[str, str]:
    """The variables of a production deployment (DEBUG off), pointed at the benchmark's database and Redis."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": DATABASE_URL,
        "CONN_MAX_AGE": "60",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "BENCH_ENDPOINTS": "true",
        # The benchmark measures the portal, not a cluster: the fake one, allowed explicitly with DEBUG off.
        "ALLOW_FAKE_CLUSTER": "true",
        "CELERY_BROKER_URL": BROKER_URL,
        "CACHE_URL": CACHE_URL,
        "ACCOUNT_RATE_LIMITS_ENABLED": "false",
        # DRF's throttles stay on (their cache round trip is part of every API request) but with a ceiling the
        # benchmark never reaches: at 600/minute most requests would be answered 429.
        "API_THROTTLE_USER": "100000000/second",
        "API_THROTTLE_ANON": "100000000/second",
        "API_THROTTLE_ADDRESS": "100000000/second",
        "STATIC_ROOT": static_root,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "LOG_LEVEL": "WARNING",
    }


def recreate_database() -> None:
    """Drop ``portal_bench`` (closing its connections) and create it empty."""
    with psycopg.connect(f"{DB_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))


def database_exists() -> bool:
    with psycopg.connect(f"{DB_SERVER}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone() is not None


def server_version() -> str:
    with psycopg.connect(f"{DB_SERVER}/postgres", autocommit=True) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def flush_cache() -> None:
    """Empty the benchmark's own Redis cache database, so nothing cached by an earlier run is served."""
    import redis

    redis.Redis.from_url(CACHE_URL).flushdb()


def python() -> str:
    """The virtualenv's interpreter (the one running the harness, if it is not there)."""
    candidate = VENV_BIN / "python"
    return str(candidate) if candidate.exists() else sys.executable


def manage(env: dict[str, str], *args: str) -> None:
    """Run ``manage.py`` in the virtualenv with ``env``; stop with its output if it fails."""
    result = subprocess.run(
        [python(), str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _no_control_socket() -> list[str]:
    """gunicorn 27 opens a control socket at one fixed path per user: keep out of other servers' way."""
    import gunicorn

    return ["--no-control-socket"] if gunicorn.version_info >= (27, 0) else []


class Gunicorn:
    """``gunicorn portal.wsgi:application``, 2 sync workers on a free loopback port; a context manager that
    always stops it."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> "Gunicorn":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "portal.wsgi:application",
                "--workers",
                str(WORKERS),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "60",
                *_no_control_socket(),
            ],
            cwd=BASE_DIR,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its workers too
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/bench/minimal", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError) as error:
                last_error = str(error)
            time.sleep(0.2)
        raise RuntimeError(
            f"gunicorn did not answer within {timeout:.0f} s ({last_error}):\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # gunicorn's graceful shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class CeleryWorker:
    """``celery -A portal worker`` with the same environment (and its embedded beat with ``beat=True``), in
    its own process group; a context manager that always stops it."""

    def __init__(self, env: dict[str, str], log_path: Path, *, concurrency: int = 2, beat: bool = True):
        self.env, self.log_path, self.concurrency, self.beat = env, log_path, concurrency, beat
        self.process: subprocess.Popen | None = None
        self._log = None

    def __enter__(self) -> "CeleryWorker":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "celery"),
                "-A",
                "portal",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                str(self.concurrency),
                "-n",
                f"bench-{os.getpid()}@%h",
                *(["--beat"] if self.beat else []),
            ],
            cwd=BASE_DIR,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        time.sleep(5)  # its pool forks and connects to the broker
        if self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"the Celery worker exited with {self.process.returncode}:\n{self.log_tail()}")
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # Celery's warm shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def process_tree_rss(pid: int) -> tuple[int, int]:
    """(processes, total resident memory in bytes) of ``pid`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(children.get(current, []))
    total = 0
    for current in pids:
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return len(pids), total
