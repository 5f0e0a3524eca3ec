"""The public catalogue page's body, kept in the cache per state of the catalogue.

The body (programmes, the filter form, the courses with their upcoming cohorts and seats left) is the same for
every visitor of one query in one language. It changes when a programme, course, cohort, enrolment or seat pool
is saved or deleted (``forget``, connected in talent/hooks.py, starts a new generation) and with time (cohorts
stop being upcoming, enrolment closes): the key also holds the current minute, so what time changes shows
within a minute, and so does a change made by a bulk update that sends no signal.
"""

import hashlib

from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import get_language

GENERATION_KEY = "talent:catalogue:generation"
BODY_SECONDS = 60


def generation() -> str:
    value = cache.get(GENERATION_KEY)
    if value is None:
        value = get_random_string(12)
        cache.add(GENERATION_KEY, value, None)
        value = cache.get(GENERATION_KEY, value)
    return value


def forget(sender=None, **kwargs) -> None:
    """``post_save`` / ``post_delete`` of what the catalogue shows: the next visit renders it anew."""
    cache.set(GENERATION_KEY, get_random_string(12), None)


def body_key(query_string: str) -> str:
    minute = timezone.now().strftime("%Y%m%d%H%M")
    digest = hashlib.sha256(query_string.encode()).hexdigest()[:24]
    return f"{generation()}:{minute}:{get_language()}:{digest}"
