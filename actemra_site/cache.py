"""The site's caches: Django's Redis cache, made to degrade (while Redis is unreachable every call
answers as a miss), and Django's local-memory cache; both with `count`, the rate limit's one step.

The cache holds rate-limit counters and the live content version, both of which have a safe
answer without it (the limit opens, the version comes from the database). So a Redis outage logs
one warning and the app keeps calculating; it never turns into a 500.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# After a failure, skip Redis this long: an unreachable host would otherwise cost a connect
# timeout on every cache call of every request.
RETRY_AFTER_SECONDS = 2.0


class FailSoftRedisCache(RedisCache):
    # Django's cached_property on RedisCache, which django-stubs leaves out: declared, not set.
    _cache: RedisCacheClient

    # Per process, not per instance: Django makes one cache object per thread, and one warning
    # per outage is enough.
    _down_until = 0.0

    def _call(self, name: str, default: Any, *args: Any, **kwargs: Any) -> Any:
        return self._soft(default, getattr(super(), name), *args, **kwargs)

    def _soft(self, default: Any, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < FailSoftRedisCache._down_until:
            return default
        try:
            result = call(*args, **kwargs)
        except RedisError as error:
            if not FailSoftRedisCache._down_until:
                logger.warning(
                    "Redis unavailable (%s): continuing without the shared cache "
                    "(rate limits per process, content version from the database).",
                    error,
                )
            FailSoftRedisCache._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            return default
        if FailSoftRedisCache._down_until:
            logger.warning("Redis reachable again: the shared cache is back in use.")
            FailSoftRedisCache._down_until = 0.0
        return result

    def add(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("add", False, *args, **kwargs)

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call("get", default, key, default, version)

    def set(self, *args: Any, **kwargs: Any) -> None:
        self._call("set", None, *args, **kwargs)

    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("touch", False, *args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("delete", False, *args, **kwargs)

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        count = self._call("incr", None, key, delta, version)
        if count is None:
            # ValueError is how Django's incr says it has no count (dosing/ratelimit.py's path
            # for other backends catches it and opens the limit).
            raise ValueError("Redis unavailable: no count to increment.")
        return int(count)

    def count(self, key: str, timeout: int) -> int | None:
        """Adds 1 to `key`'s counter, created at 0 with `timeout` when missing: the rate limit's
        one round trip (MULTI, SET NX EX, INCR, EXEC sent together). Atomic, so the counter
        cannot expire between the two and be left without a lifetime. None while Redis is down.
        """
        return self._soft(None, self._count, key, timeout)

    def _count(self, key: str, timeout: int) -> int:
        key = self.make_and_validate_key(key)
        pipeline = self._cache.get_client(key, write=True).pipeline(transaction=True)
        # Django's Redis serializer stores ints as they are, so get() reads this counter too.
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        return int(pipeline.execute()[1])

    def get_many(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return self._call("get_many", {}, *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("has_key", False, *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> list[Any]:
        return self._call("set_many", [], *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        self._call("delete_many", None, *args, **kwargs)

    # Django's RedisCache.clear returns the bool of FLUSHDB; django-stubs keeps BaseCache's None.
    def clear(self) -> bool:  # type: ignore[override]
        return self._call("clear", False)

    def reachable(self) -> bool:
        """For the health check: one PING, bypassing the back-off."""
        try:
            return bool(self._cache.get_client(write=False).ping())
        except RedisError:
            return False


class LocalCache(LocMemCache):
    """Django's local-memory cache with `count`: add-or-increment under the cache's lock, once.
    (LocMemCache's add and incr each take the lock and validate the key.)"""

    # LocMemCache's own state and helpers, which django-stubs leaves out: declared, not set.
    _cache: OrderedDict[str, bytes]
    _lock: Lock
    _has_expired: Callable[[str], bool]
    _set: Callable[[str, bytes, int], None]

    def count(self, key: str, timeout: int) -> int:
        key = self.make_and_validate_key(key)
        with self._lock:
            if self._has_expired(key):  # missing or past its time
                value = 1
                self._set(key, pickle.dumps(value, self.pickle_protocol), timeout)
            else:
                value = pickle.loads(self._cache[key]) + 1  # noqa: S301 (written above)
                self._cache[key] = pickle.dumps(value, self.pickle_protocol)
                self._cache.move_to_end(key, last=False)
        return value
