import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "portal.example.gov.cn",
    "DATABASE_URL": "postgresql://portal@db.internal:5432/portal",
    "CACHE_URL": "redis://cache.internal:6379/1",
    "CELERY_BROKER_URL": "redis://broker.internal:6379/0",
    "EMAIL_URL": "smtp+tls://portal:secret@mail.internal:587",
    "CLUSTER_BACKEND": "compute.backends.slurm.SlurmBackend",
    "CLUSTER_BACKEND_OPTIONS": '{"cluster": "aicc"}',
    "DIRECTORY_BACKEND": "compute.identities.directory.ldap.LdapDirectory",
}


# Variables of the test run's own environment that must not reach the production environment under test:
# test-only ones (the browser tests set the first), and the cluster set-up each test chooses itself.
NOT_IN_PRODUCTION = {
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "CELERY_TASK_ALWAYS_EAGER",
    "ALLOW_FAKE_CLUSTER",
    "CLUSTERS",
}


def production_environ():
    return {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in NOT_IN_PRODUCTION}


def run_manage(*args, env_overrides=None):
    env = production_environ()
    env.update(PRODUCTION_ENV)
    env.update(env_overrides or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", env_overrides={"SECRET_KEY": ""})
    assert result.returncode != 0


def test_production_refuses_to_start_without_allowed_hosts():
    env = production_environ()
    env.update({k: v for k, v in PRODUCTION_ENV.items() if k != "ALLOWED_HOSTS"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_check_deploy_warns_about_the_fake_cluster_even_when_it_is_allowed():
    result = run_manage(
        "check",
        "--deploy",
        env_overrides={"CLUSTER_BACKEND": "compute.backends.fake.FakeBackend", "ALLOW_FAKE_CLUSTER": "true"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "compute.W001" in result.stdout + result.stderr
