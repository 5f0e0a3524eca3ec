"""The portal's Celery app; configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside an app keep their own tasks module (autodiscovery looks at the apps' top level only).
app.autodiscover_tasks(["compute.identities"])


@signals.worker_init.connect
def _serve_task_metrics(sender=None, **kwargs):
    """A worker runs on its own host: it serves its task metrics itself when CELERY_METRICS_PORT is set."""
    from django.conf import settings  # noqa: PLC0415 - this module is imported while settings load

    from core.metrics import start_worker_exporter  # noqa: PLC0415 - only worker processes need it

    if not settings.CELERY_METRICS_PORT:
        return None
    return start_worker_exporter(settings.CELERY_METRICS_PORT, settings.CELERY_METRICS_ADDR)


@app.on_after_configure.connect
def _ensure_filesystem_broker_folders(sender, **kwargs):
    """kombu's filesystem transport needs its folders to exist before the first message."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)
