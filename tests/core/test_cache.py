"""core.cache.RedisCache: Django's Redis cache with one client per pool, on the real Redis."""

import os
import threading
from urllib.parse import urlsplit

import pytest
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

from core.cache import RedisCache
from tests.conftest import require_service

URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture
def redis_cache():
    parts = urlsplit(URL)
    require_service("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
    cache = RedisCache(URL, {"KEY_PREFIX": "test-core-cache"})
    cache.clear()
    yield cache
    cache.clear()


def test_it_behaves_as_djangos(redis_cache):
    django_cache = DjangoRedisCache(URL, {"KEY_PREFIX": "test-core-cache"})
    redis_cache.set("a", {"x": 1}, 30)
    assert django_cache.get("a") == {"x": 1}  # the same keys and values as Django's own backend
    assert redis_cache.add("a", 2) is False and redis_cache.add("b", 2) is True
    assert redis_cache.get_many(["a", "b", "c"]) == {"a": {"x": 1}, "b": 2}
    assert redis_cache.incr("b") == 3
    redis_cache.delete_many(["a", "b"])
    assert redis_cache.get("a") is None and redis_cache.get("b", "gone") == "gone"


def test_one_client_per_pool(redis_cache):
    client = redis_cache._cache.get_client(write=True)
    assert redis_cache._cache.get_client(write=False) is client
    redis_cache.set("k", 1)
    assert redis_cache._cache.get_client() is client


def test_threads_share_the_server_not_a_client(redis_cache):
    seen, errors = [], []

    def work():
        try:
            own = RedisCache(URL, {"KEY_PREFIX": "test-core-cache"})  # as Django makes one per thread
            for _ in range(50):
                if not own.add("counter", 1):
                    own.incr("counter")
            seen.append(id(own._cache.get_client()))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(set(seen)) == 8
    assert redis_cache.get("counter") == 8 * 50
