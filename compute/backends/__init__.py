"""The cluster boundary: only frozen dataclasses and ClusterError cross it (see base.py)."""

from django.conf import settings
from django.utils.module_loading import import_string

from compute.backends.base import ClusterBackend


def get_backend() -> ClusterBackend:
    """The configured backend (settings.CLUSTER_BACKEND, a dotted path), as Django picks EMAIL_BACKEND."""
    return import_string(settings.CLUSTER_BACKEND)(**settings.CLUSTER_BACKEND_OPTIONS)
