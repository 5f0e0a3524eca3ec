"""Prometheus metrics the kernel owns: Celery task runs, failures and latency, and one scrape's composition.

Two kinds of metric live here. Counters and histograms (task runs, web requests through django-prometheus)
are kept by the process that does the work; with several processes (gunicorn workers, Celery's prefork
children) they share a directory named by ``PROMETHEUS_MULTIPROC_DIR`` and a scrape adds them up. Gauges of
the portal's state are computed at scrape time from the database and the broker (the outbox's backlog here,
the queues' depth in ``portal.metrics``, the apps' figures through ``hooks.METRICS``), so every web process
reports the same figures and nothing has to be kept in memory between requests.

The web exposes both at ``/metrics`` (protected: ``may_scrape``). A Celery worker runs on another host, so its
task metrics are exposed by the worker itself on ``CELERY_METRICS_PORT`` (``start_worker_exporter``).
"""

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable

from celery import signals
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from core import hooks

logger = logging.getLogger(__name__)

# Tasks run from milliseconds (a mail) to minutes (a usage ingest of a busy day).
TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, float("inf"))

TASK_RUNS = Counter(
    "portal_celery_task_runs_total",
    "Celery task runs that ended, by task and outcome (success, failure, retry).",
    ["task", "outcome"],
)
TASK_DURATION = Histogram(
    "portal_celery_task_duration_seconds",
    "Time a Celery task run took, from start to end, whatever its outcome.",
    ["task"],
    buckets=TASK_BUCKETS,
)
TASK_ERRORS = Counter(
    "portal_celery_task_errors_total",
    "Exceptions raised by Celery task runs, by task, exception class and whether the run is retried or failed.",
    ["task", "exception", "outcome"],
)

_started: dict[str, float] = {}  # task id -> monotonic start, in the process that runs the task


@signals.task_prerun.connect(dispatch_uid="core.metrics.task_prerun")
def _task_started(task_id=None, **kwargs) -> None:
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect(dispatch_uid="core.metrics.task_postrun")
def _task_ended(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    name = getattr(task, "name", "?")
    TASK_RUNS.labels(task=name, outcome=(state or "unknown").lower()).inc()
    if started is not None:
        TASK_DURATION.labels(task=name).observe(time.monotonic() - started)


@signals.task_failure.connect(dispatch_uid="core.metrics.task_failure")
def _task_failed(sender=None, exception=None, **kwargs) -> None:
    TASK_ERRORS.labels(
        task=getattr(sender, "name", "?"), exception=type(exception).__name__, outcome="failure"
    ).inc()


def retry_cause(reason) -> BaseException | None:
    """The exception behind a ``task_retry`` signal: its ``reason`` is Celery's ``Retry``, holding it in
    ``exc`` (None when the task asked for the retry without one)."""
    cause = getattr(reason, "exc", reason)
    return cause if isinstance(cause, BaseException) else None


@signals.task_retry.connect(dispatch_uid="core.metrics.task_retry")
def _task_retried(sender=None, reason=None, **kwargs) -> None:
    cause = retry_cause(reason)
    exception = type(cause).__name__ if cause is not None else "Retry"
    TASK_ERRORS.labels(task=getattr(sender, "name", "?"), exception=exception, outcome="retry").inc()


def process_registry() -> CollectorRegistry:
    """The counters and histograms of this process, or of every process sharing ``PROMETHEUS_MULTIPROC_DIR``
    (gunicorn workers, Celery's prefork children), added up."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def outbox_backlog() -> Iterable[Metric]:
    """The outbox's mails and tasks not delivered yet, and how long the oldest has waited (one query)."""
    from core import outbox  # noqa: PLC0415 - it loads models; this module is imported before they are

    count, oldest = outbox.backlog()
    yield GaugeMetricFamily(
        "portal_outbox_messages_waiting",
        "Mails and tasks recorded in the outbox and not delivered yet.",
        value=count,
    )
    yield GaugeMetricFamily(
        "portal_outbox_oldest_waiting_seconds",
        "How long the oldest undelivered outbox message has waited (0 when none waits).",
        value=oldest or 0,
    )


class Scrape:
    """What one scrape of the web exposes: the processes' metrics, then the ones computed now from the
    database and the broker (the outbox's backlog, ``extra`` functions, then ``hooks.METRICS``). A collector
    that fails is logged and left out: one unreachable part must not hide the other metrics."""

    def __init__(self, extra: Iterable[Callable[[], Iterable[Metric]]] = ()):
        self.extra = list(extra)

    def collect(self) -> Iterable[Metric]:
        yield from process_registry().collect()
        for collector in [outbox_backlog, *self.extra, *hooks.values(hooks.METRICS)]:
            try:
                yield from list(collector())
            except Exception:  # noqa: BLE001 - see the class docstring
                logger.exception("metrics collector %s failed", getattr(collector, "__qualname__", collector))


def may_scrape(request, *, token: str, allowed_ips: list[str]) -> bool:
    """Whether ``request`` may read the metrics: the bearer ``token`` (compared in constant time) or a client
    address inside one of ``allowed_ips`` (addresses or networks)."""
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in allowed_ips)


def start_worker_exporter(port: int, addr: str):
    """Serve this Celery worker's task metrics on ``addr:port`` (called once, in the worker's main process;
    with the prefork pool the children's figures reach it through ``PROMETHEUS_MULTIPROC_DIR``). Returns the
    HTTP server and its thread."""
    served = start_http_server(port, addr=addr, registry=process_registry())
    logger.info("Celery task metrics on http://%s:%s/metrics", addr, port)
    return served
