"""/readyz: the database, the broker and every cluster, each within READINESS_TIMEOUT, for monitors."""

import time

import pytest
from django.core.cache import cache

from compute.backends.base import ClusterError
from compute.backends.fake import FakeBackend
from core import hooks
from tests.compute.factories import PartitionFactory

pytestmark = pytest.mark.django_db

AICC = "fake cluster (demonstration: no real jobs run): aicc"
HPC = "fake cluster (demonstration: no real jobs run): hpc"


class SlowBackend(FakeBackend):
    """A controller that hangs, and a backend that does not keep to its timeout."""

    def ping(self, timeout=None):
        time.sleep(3)
        return "late"


class ChattyBackend(FakeBackend):
    """A controller whose error names its host: that stays in the log, not in the anonymous answer."""

    def ping(self, timeout=None):
        raise ClusterError("scontrol ping: Slurmctld(primary) at ctl-secret.internal (10.9.8.7) is DOWN")


@pytest.fixture(autouse=True)
def two_clusters(settings):
    settings.READINESS_CACHE_SECONDS = 0
    settings.READINESS_TIMEOUT = 1
    cache.clear()
    PartitionFactory(slug="npu", cluster="aicc")
    PartitionFactory(slug="cpu", cluster="hpc", slurm_partition="cpu", unit="core_hour")
    yield
    cache.clear()


def test_readyz_reports_database_broker_and_every_cluster(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", AICC: "ok", HPC: "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_503_while_the_controller_is_stopped_and_200_once_it_is_back(client):
    FakeBackend.stop()
    stopped = client.get("/readyz")
    FakeBackend.start()
    started = client.get("/readyz")

    assert stopped.status_code == 503
    body = stopped.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == "ok" and body["checks"]["broker"] == "ok"
    assert body["checks"][AICC] == body["checks"][HPC] == "error: the controller does not answer"
    assert started.status_code == 200


def test_only_the_cluster_that_fails_is_named(client, settings):
    settings.CLUSTERS = {"hpc": {"BACKEND": "tests.portal.test_readyz.ChattyBackend"}}

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        AICC: "ok",
        HPC: "error: the controller does not answer",
    }
    assert "10.9.8.7" not in response.content.decode() and "ctl-secret" not in response.content.decode()


def test_a_cluster_that_hangs_is_reported_within_the_timeout(client, settings):
    settings.READINESS_TIMEOUT = 0.2
    settings.CLUSTERS = {"hpc": {"BACKEND": "tests.portal.test_readyz.SlowBackend"}}

    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["checks"][HPC] == "error: no answer within 0.2 s"
    assert response.json()["checks"][AICC] == "ok"
    assert elapsed < 2.5  # the timeout and the one second of grace, not the three seconds of the hang


def test_a_flood_of_probes_reaches_each_controller_once_per_cache_period(client, settings):
    settings.READINESS_CACHE_SECONDS = 60
    for _ in range(5):
        assert client.get("/readyz").status_code == 200
    FakeBackend.stop()  # within the cache period the answer stays the one already given

    assert client.get("/readyz").status_code == 200
    assert FakeBackend.calls.count("ping") == 2  # one per cluster


def test_a_failing_readiness_check_is_a_503_not_a_500(client, monkeypatch):
    def broken(timeout):
        raise RuntimeError("bug")

    broken.__module__ = "alliance.readiness"
    monkeypatch.setitem(hooks._registry, hooks.READINESS_CHECKS, [*hooks.get(hooks.READINESS_CHECKS)])
    hooks.register(hooks.READINESS_CHECKS, broken)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["alliance"] == "error: RuntimeError"


def test_readyz_is_open_to_anyone_over_plain_http_and_to_staff_without_mfa(client, settings, operator):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/readyz").status_code == 200  # anonymous, plain HTTP: no redirect to HTTPS
    client.force_login(operator)  # staff without MFA are sent to set it up everywhere else
    assert client.get("/readyz").status_code == 200
