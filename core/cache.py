"""Django's Redis cache, reusing one Redis client per connection pool.

``django.core.cache.backends.redis.RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache
call. Its constructor copies the library's table of ~170 response callbacks, which costs about 0.15 ms, and a
page makes several cache calls (session, roles, chrome, throttles). The client is only a handle on the
connection pool, which already holds the connections and is safe to share, so one per pool does. Django keeps
one cache backend per thread, so each thread still has its own.

``portal/settings.py`` puts this backend in place of Django's whenever ``CACHE_URL`` is a Redis URL.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
