"""``/metrics``: the Prometheus exposition of the web, for the monitoring server only (see docs/operations.md).

It holds the web processes' own metrics (request latency by view from django-prometheus) and the gauges of
the portal's state computed at scrape time: the broker's queue depth here, the apps' figures through
``hooks.METRICS``. Celery workers expose their task metrics themselves (``CELERY_METRICS_PORT``).
"""

from collections.abc import Iterable

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from core.metrics import Scrape, may_scrape
from portal.celery import app as celery_app

BROKER_TIMEOUT = 2  # seconds: a scrape must answer even when the broker does not


def broker_queues() -> Iterable[Metric]:
    """Whether the broker answered, and the messages waiting in each Celery queue (any kombu transport)."""
    up = GaugeMetricFamily("portal_broker_up", "1 when the broker answered this scrape, else 0.")
    depth = GaugeMetricFamily(
        "portal_celery_queue_messages",
        "Messages waiting in a Celery queue (not yet taken).",
        labels=["queue"],
    )
    try:
        with celery_app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
            for name in sorted(celery_app.amqp.queues):
                depth.add_metric([name], _queue_size(conn, name))
    except Exception:  # noqa: BLE001 - any failure means "the broker did not answer"
        up.add_metric([], 0)
        yield up
        return
    up.add_metric([], 1)
    yield up
    yield depth


def _queue_size(conn, name: str) -> int:
    try:
        return conn.default_channel.queue_declare(queue=name, passive=True).message_count
    except conn.channel_errors:
        return 0  # no worker declared the queue yet: nothing is waiting in it


@never_cache
@require_GET
def metrics(request):
    """404 while no token or address is configured (the endpoint does not exist), 403 to anyone else."""
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_IPS:
        raise Http404
    if not may_scrape(request, token=settings.METRICS_TOKEN, allowed_ips=settings.METRICS_ALLOWED_IPS):
        return HttpResponseForbidden("Metrics need the bearer token or an allowed address.\n")
    return HttpResponse(generate_latest(Scrape(extra=[broker_queues])), content_type=CONTENT_TYPE_LATEST)
