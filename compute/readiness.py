"""What compute tells the portal's /readyz and its demonstration banner about the clusters.

/readyz is anonymous and probed often: every cluster's answer is kept for READINESS_CACHE_SECONDS, so a
flood of requests reaches each controller once in that time. The answers say whether the controller
answered, never how to reach it; the web server's log has the cluster's own words.
"""

import logging
from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from compute.apps import fake_clusters
from compute.backends import cluster_names, get_backend
from compute.backends.base import ClusterBackend, ClusterError

logger = logging.getLogger(__name__)

CACHE_KEY = "compute:readiness:{}"


def cluster_checks(timeout: float) -> dict[str, str]:
    """``{"<backend label>": "ok" | "error: ..."}`` for every cluster the portal drives, pinged in parallel,
    each given ``timeout`` seconds."""
    results, to_ask = {}, {}
    for name in cluster_names():
        cached = cache.get(CACHE_KEY.format(name))
        if cached is not None:
            results.update(cached)
        else:
            to_ask[name] = get_backend(name)
    if to_ask:
        # Not a ``with`` block: leaving it would wait for a ping that hangs.
        pool = ThreadPoolExecutor(max_workers=len(to_ask), thread_name_prefix="readiness")
        futures = {name: pool.submit(backend.ping, timeout) for name, backend in to_ask.items()}
        # The backends' own timeouts bound every ping; this bounds a backend that ignores its own.
        wait(futures.values(), timeout=timeout + 1)
        pool.shutdown(wait=False, cancel_futures=True)
        for name, future in futures.items():
            answer = {check_name(name, to_ask[name]): _outcome(name, future, timeout)}
            cache.set(CACHE_KEY.format(name), answer, settings.READINESS_CACHE_SECONDS)
            results.update(answer)
    return dict(sorted(results.items()))


def check_name(name: str, backend: ClusterBackend) -> str:
    """The backend's label ("Slurm cluster aicc"), with the cluster's name when the label lacks it."""
    label = str(backend.label)
    return label if name in label else f"{label}: {name}"


def _outcome(name: str, future, timeout: float) -> str:
    if not future.done():
        logger.warning("readiness: cluster %s did not answer within %s s", name, timeout)
        return f"error: no answer within {timeout:g} s"
    error = future.exception()
    if error is None:
        return "ok"
    logger.warning("readiness: cluster %s: %s", name, error)
    if isinstance(error, ClusterError):
        return "error: the controller does not answer"
    return f"error: {error.__class__.__name__}"


def fake_cluster_notice() -> str:
    """The banner's words while any cluster is the fake one, whatever DEBUG says."""
    if fake_clusters():
        return _("Demonstration: the compute cluster is a fake one, so approved quota runs no real job.")
    return ""
