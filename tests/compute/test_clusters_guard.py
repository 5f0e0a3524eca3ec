"""No fake cluster by accident: with DEBUG off the portal does not start on the fake backend unless told to,
and the demonstration banner follows the backend, not DEBUG."""

import json
import subprocess
import sys

import pytest

from tests.portal.test_deploy_check import PRODUCTION_ENV, ROOT, production_environ, run_manage

FAKE = "compute.backends.fake.FakeBackend"
SLURM = "compute.backends.slurm.SlurmBackend"
BANNER = "the compute cluster is a fake one"


def test_manage_py_refuses_to_start_on_the_fake_cluster_with_debug_off():
    result = run_manage("check", env_overrides={"CLUSTER_BACKEND": FAKE})

    assert result.returncode != 0
    assert "ImproperlyConfigured: The fake cluster backend is configured (CLUSTER_BACKEND)" in result.stderr
    assert "ALLOW_FAKE_CLUSTER=true" in result.stderr


def test_the_fake_directory_is_refused_with_debug_off_unless_allowed():
    fake_directory = {"DIRECTORY_BACKEND": "compute.identities.directory.fake.FakeDirectory"}
    refused = run_manage("check", env_overrides=fake_directory)
    assert refused.returncode != 0
    assert "ImproperlyConfigured: The fake directory is configured (DIRECTORY_BACKEND)" in refused.stderr

    allowed = run_manage("check", env_overrides={**fake_directory, "ALLOW_FAKE_CLUSTER": "true"})
    assert allowed.returncode == 0, allowed.stderr


def test_one_fake_cluster_among_real_ones_is_refused_too():
    clusters = {"aicc": {"BACKEND": SLURM}, "hpc": {"BACKEND": FAKE}}
    result = run_manage("check", env_overrides={"CLUSTERS": json.dumps(clusters)})

    assert result.returncode != 0
    assert 'configured (CLUSTERS["hpc"])' in result.stderr


def test_the_fake_cluster_starts_with_debug_off_when_it_is_allowed():
    result = run_manage("check", env_overrides={"CLUSTER_BACKEND": FAKE, "ALLOW_FAKE_CLUSTER": "true"})

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        pytest.param([sys.executable, "-c", "import portal.wsgi"], id="gunicorn's WSGI application"),
        pytest.param([sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo"], id="celery"),
    ],
)
def test_the_web_and_the_worker_refuse_as_well(command):
    env = {
        **production_environ(),
        **PRODUCTION_ENV,
        "CLUSTER_BACKEND": FAKE,
        "CELERY_BROKER_URL": "memory://",
    }
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode != 0
    assert "The fake cluster backend is configured" in result.stdout + result.stderr


def test_clusters_that_are_not_an_object_of_objects_stop_the_start_even_with_debug_on():
    result = run_manage("check", env_overrides={"DEBUG": "true", "CLUSTERS": '["aicc", "hpc"]'})

    assert result.returncode != 0
    assert "CLUSTERS must be a JSON object like" in result.stderr


def test_a_misspelt_backend_stops_the_start_with_its_name():
    result = run_manage("check", env_overrides={"CLUSTER_BACKEND": "compute.backends.slurm.SlurmBakend"})

    assert result.returncode != 0
    assert "CLUSTER_BACKEND: the cluster backend 'compute.backends.slurm.SlurmBakend' cannot be imported" in (
        result.stderr
    )


@pytest.mark.django_db
def test_the_banner_shows_whenever_the_fake_cluster_is_in_use(client, settings):
    settings.DEBUG = False  # as on a demonstration site that allows the fake

    page = client.get("/")

    assert page.status_code == 200
    assert BANNER in page.content.decode()


@pytest.mark.django_db
def test_no_banner_on_a_real_cluster_even_with_debug_on(client, settings):
    settings.DEBUG = True
    settings.CLUSTER_BACKEND = SLURM  # only named: the page asks the cluster nothing

    page = client.get("/")

    assert page.status_code == 200
    assert BANNER not in page.content.decode()
    assert "demo-banner" not in page.content.decode()


@pytest.mark.django_db
def test_the_banner_shows_when_one_of_several_clusters_is_the_fake(client, settings):
    settings.CLUSTER_BACKEND = SLURM
    settings.CLUSTERS = {"hpc": {"BACKEND": FAKE}}

    assert BANNER in client.get("/").content.decode()
