"""/metrics: protected, and its figures move with requests, task runs, failures and the broker's queue."""

from datetime import timedelta

import pytest
from kombu import Connection

from core import outbox
from core.models import OutboxMessage
from core.tasks import seal_audit_trail_task
from portal import metrics as portal_metrics
from portal.celery import app as celery_app
from tests.metrics import TOKEN, sample, scrape

pytestmark = pytest.mark.django_db


def test_metrics_do_not_exist_until_a_token_or_an_address_is_configured(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_refuse_a_missing_or_wrong_token(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 403
    assert b"portal_" not in response.content


def test_metrics_refuse_a_signed_in_operator_without_the_token(client, settings, operator, mfa):
    settings.METRICS_TOKEN = TOKEN
    mfa(operator)
    client.force_login(operator)
    assert client.get("/metrics").status_code == 403


def test_metrics_answer_the_token(client, settings):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"portal_broker_up" in response.content
    assert "no-cache" in response["Cache-Control"]


def test_metrics_answer_only_allowed_addresses(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", ["10.0.5.0/24", "192.0.2.7"]
    assert client.get("/metrics", REMOTE_ADDR="10.0.5.20").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.0.6.20").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="not-an-address").status_code == 403


def test_metrics_refuse_writes(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_request_latency_by_view_counts_a_request(client, settings):
    def home_requests():
        samples = scrape(client, settings)
        return sample(
            samples, "django_http_requests_latency_seconds_by_view_method_count", view="home", method="GET"
        )

    before = home_requests()
    assert client.get("/").status_code == 200
    assert home_requests() == before + 1


def test_task_runs_and_latency_count_a_run(client, settings):
    task = "core.tasks.seal_audit_trail_task"
    before = scrape(client, settings)
    seal_audit_trail_task.apply()
    after = scrape(client, settings)
    runs = ("portal_celery_task_runs_total", {"task": task, "outcome": "success"})
    assert sample(after, runs[0], **runs[1]) == sample(before, runs[0], **runs[1]) + 1
    duration = "portal_celery_task_duration_seconds_count"
    assert sample(after, duration, task=task) == sample(before, duration, task=task) + 1


def test_task_failures_are_counted_by_exception(client, settings, monkeypatch):
    def broken():
        raise LookupError("the chain's head is gone")

    monkeypatch.setattr("core.tasks.audit.seal_pending", broken)
    task = "core.tasks.seal_audit_trail_task"
    before = scrape(client, settings)
    # As a worker runs it: the failure is handled (signalled), not raised to the caller.
    result = seal_audit_trail_task.apply(throw=False)
    assert isinstance(result.result, LookupError)
    after = scrape(client, settings)
    errors = {"task": task, "exception": "LookupError", "outcome": "failure"}
    assert sample(after, "portal_celery_task_errors_total", **errors) == (
        sample(before, "portal_celery_task_errors_total", **errors) + 1
    )
    failed = {"task": task, "outcome": "failure"}
    assert sample(after, "portal_celery_task_runs_total", **failed) == (
        sample(before, "portal_celery_task_runs_total", **failed) + 1
    )


def test_queue_depth_counts_waiting_messages(client, settings):
    celery_app.conf.task_always_eager = False  # restored by the autouse settings fixture
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    before = sample(scrape(client, settings), "portal_celery_queue_messages", queue="celery")
    seal_audit_trail_task.delay()
    samples = scrape(client, settings)
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    assert sample(samples, "portal_broker_up") == 1
    assert sample(samples, "portal_celery_queue_messages", queue="celery") == before + 1


def test_an_unreachable_broker_reports_down_and_the_scrape_still_answers(client, settings, monkeypatch):
    # Nothing listens on port 1: the broker is down, as a stopped Redis is.
    monkeypatch.setattr(
        portal_metrics.celery_app, "connection_for_read", lambda: Connection("redis://127.0.0.1:1/0")
    )
    samples = scrape(client, settings)
    assert sample(samples, "portal_broker_up") == 0
    assert not any(name == "portal_celery_queue_messages" for name, _labels in samples)
    assert any(name == "portal_allocations_waiting" for name, _labels in samples)


def test_outbox_backlog_reports_waiting_messages_and_the_oldest_age(
    client, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the broker never took them: they wait
        old = outbox.enqueue_task("core.tasks.seal_audit_trail_task", key="metrics-test-old")
        outbox.enqueue_task("core.tasks.seal_audit_trail_task", key="metrics-test-new")
    OutboxMessage.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(minutes=20))

    samples = scrape(client, settings)

    assert sample(samples, "portal_outbox_messages_waiting") == 2
    assert 20 * 60 <= sample(samples, "portal_outbox_oldest_waiting_seconds") < 21 * 60
