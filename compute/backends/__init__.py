"""The cluster boundary: only frozen dataclasses and ClusterError cross it (see base.py).

One portal drives several clusters (an accelerator cluster and an HPC cluster, say): each partition names
its cluster, and each cluster has its own backend (settings.CLUSTERS), or the default one.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.module_loading import import_string

from compute.backends.base import ClusterBackend


def backend_settings(cluster: str | None = None) -> tuple[str, dict]:
    """The dotted path of ``cluster``'s backend class and its options.

    A cluster listed in settings.CLUSTERS (``{"aicc": {"BACKEND": "...", "OPTIONS": {...}}}``) has its own;
    any other uses CLUSTER_BACKEND and CLUSTER_BACKEND_OPTIONS, with option ``cluster`` set to its name.
    """
    configured = settings.CLUSTERS.get(cluster) if cluster else None
    if configured is not None:
        path = configured.get("BACKEND", settings.CLUSTER_BACKEND)
        options = dict(configured.get("OPTIONS", {}))
    else:
        path, options = settings.CLUSTER_BACKEND, dict(settings.CLUSTER_BACKEND_OPTIONS)
    if cluster:
        options.setdefault("cluster", cluster)
    return path, options


def get_backend(cluster: str | None = None) -> ClusterBackend:
    """The backend of ``cluster`` (None: the default backend as configured), as Django picks EMAIL_BACKEND."""
    path, options = backend_settings(cluster)
    return import_string(path)(**options)


# The clusters the partitions name, kept in the shared cache (every page of the queue asks): a saved or deleted
# partition drops them (compute/hooks.py), and they are read again at most PARTITION_CLUSTERS_SECONDS later.
PARTITION_CLUSTERS_KEY = "compute:partition-clusters"
PARTITION_CLUSTERS_SECONDS = 300


def cluster_names() -> list[str]:
    """Every cluster the portal drives: those configured in CLUSTERS and those its partitions name."""
    from compute.models import Partition  # the models import this package's dataclasses

    named = cache.get(PARTITION_CLUSTERS_KEY)
    if named is None:
        named = sorted(set(Partition.objects.values_list("cluster", flat=True).distinct()))
        cache.set(PARTITION_CLUSTERS_KEY, named, PARTITION_CLUSTERS_SECONDS)
    return sorted(name for name in set(settings.CLUSTERS) | set(named) if name)


def forget_cluster_names(sender=None, **kwargs) -> None:
    """A partition was saved or deleted: its cluster is read again now, and once the change is committed (a
    page of another process may have read the old list in between)."""
    cache.delete(PARTITION_CLUSTERS_KEY)
    transaction.on_commit(lambda: cache.delete(PARTITION_CLUSTERS_KEY))
