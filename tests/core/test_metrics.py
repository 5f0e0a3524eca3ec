"""Task metrics where the tasks run: a worker's own exporter, and counters added up across processes."""

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from core.tasks import seal_audit_trail_task
from portal.celery import _serve_task_metrics

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_worker_serves_no_metrics_unless_a_port_is_configured(settings):
    settings.CELERY_METRICS_PORT = 0
    assert _serve_task_metrics() is None


@pytest.mark.django_db
def test_a_worker_serves_its_task_metrics_on_its_own_port(settings):
    settings.CELERY_METRICS_PORT, settings.CELERY_METRICS_ADDR = _free_port(), "127.0.0.1"
    port = settings.CELERY_METRICS_PORT
    server, thread = _serve_task_metrics()  # what the worker's main process does at start-up
    try:
        seal_audit_trail_task.apply()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert 'portal_celery_task_runs_total{outcome="success",task="core.tasks.seal_audit_trail_task"}' in text
    assert 'portal_celery_task_duration_seconds_count{task="core.tasks.seal_audit_trail_task"}' in text


def _in_process(code: str, multiproc_dir: Path) -> str:
    """Run ``code`` in a new Python process sharing ``multiproc_dir``, as a gunicorn or prefork worker does."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir)}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_counters_of_several_processes_add_up_in_one_scrape(tmp_path):
    count_a_run = (
        "from core.metrics import TASK_RUNS\n"
        "TASK_RUNS.labels(task='core.tasks.seal_audit_trail_task', outcome='success').inc()\n"
    )
    _in_process(count_a_run, tmp_path)
    _in_process(count_a_run, tmp_path)
    text = _in_process(
        "from prometheus_client import generate_latest\n"
        "from core.metrics import process_registry\n"
        "print(generate_latest(process_registry()).decode())\n",
        tmp_path,
    )
    assert (
        'portal_celery_task_runs_total{outcome="success",task="core.tasks.seal_audit_trail_task"} 2.0' in text
    )
