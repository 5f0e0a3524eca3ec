import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection

from portal.celery import app as celery_app
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_broker_url():
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    parts = urlsplit(url)
    require_service("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()  # a database of its own: leftovers of an earlier run must not be replayed
    yield url
    client.flushdb()


@pytest.fixture
def worker_env():
    """Extra environment for the worker process; test modules override this fixture."""
    return {}


@pytest.fixture
def celery_worker_process(transactional_db, redis_broker_url, tmp_path, worker_env):
    """A real Celery worker in its own process, on Redis, using the test database."""
    db = connection.settings_dict
    database_url = f"postgresql://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the worker test shares the PostgreSQL test database")
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_DELIVERY_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "SITE_URL": "http://testserver",
        **worker_env,
    }
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # The test process sends through the same broker, for real.
    previous = (
        celery_app.conf.task_always_eager,
        celery_app.conf.broker_url,
        celery_app.conf.broker_write_url,
    )
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = celery_app.conf.broker_write_url = redis_broker_url
    _reset_producer_pool()
    deadline = time.monotonic() + 30
    while "ready." not in (tmp_path / "worker.log").read_text() and time.monotonic() < deadline:
        if process.poll() is not None:
            break
        time.sleep(0.2)
    try:
        if "ready." not in (tmp_path / "worker.log").read_text():
            pytest.fail("the Celery worker did not start:\n" + (tmp_path / "worker.log").read_text()[-3000:])
        yield {"mail_dir": mail_dir, "log": tmp_path / "worker.log"}
    finally:
        (celery_app.conf.task_always_eager, celery_app.conf.broker_url, celery_app.conf.broker_write_url) = (
            previous
        )
        _reset_producer_pool()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def wait_for(predicate, timeout=30.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def _reset_producer_pool():
    """Drop pooled broker connections so the next send connects to the broker now configured."""
    from kombu import pools

    pools.reset()  # closes and forgets kombu's process-wide connection and producer pools
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
