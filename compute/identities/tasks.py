"""Thin tasks: take ids, call one identity service, retry directory failures with backoff."""

import logging

from celery import shared_task

from compute.identities import keys, services
from compute.identities.directory.base import DirectoryError

logger = logging.getLogger(__name__)

RETRY = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (DirectoryError,),
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 15,
}


@shared_task(**RETRY)
def publish_identity_task(self, identity_id: int) -> int:
    """Converge the directory to one identity (entry, keys, own group). Idempotent; returns the changes."""
    if not isinstance(identity_id, int) or identity_id <= 0:
        logger.warning("publish_identity_task: ignored bad identity id %r", identity_id)
        return 0
    return len(services.publish_identity(identity_id))


@shared_task(**RETRY)
def publish_group_task(self, group_id: int) -> int:
    """Converge the directory to one allocation group (or delete it once the allocation is closed)."""
    if not isinstance(group_id, int) or group_id <= 0:
        logger.warning("publish_group_task: ignored bad group id %r", group_id)
        return 0
    return len(services.publish_group(group_id))


@shared_task(acks_late=True)
def lock_due_identities_task() -> int:
    """Every 10 minutes: lock the identities whose grace period after their last allocation is over."""
    return services.lock_due_identities()


@shared_task(acks_late=True)
def reconcile_directory_task() -> int:
    """Hourly: repair the portal's subtree of the directory and report drift; a directory that cannot be
    read is logged and tried again by the next run."""
    try:
        return services.reconcile_directory().drift_count
    except DirectoryError as error:
        logger.warning("reconcile_directory_task: the directory could not be read: %s", error)
        return 0


@shared_task(acks_late=True)
def expire_ssh_keys_task() -> int:
    """Every 5 minutes: keys past the expiry their owners gave leave the directory; the owners are mailed."""
    return keys.expire_keys()
