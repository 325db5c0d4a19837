"""Django's Redis cache, made to degrade: while Redis is unreachable every call answers as a miss.

The cache holds rate-limit counters and the live content version, both of which have a safe
answer without it (the limit opens, the version comes from the database). So a Redis outage logs
one warning and the app keeps calculating; it never turns into a 500.
"""

from __future__ import annotations

import logging
import time
from typing import Any

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
        if time.monotonic() < FailSoftRedisCache._down_until:
            return default
        try:
            result = getattr(super(), name)(*args, **kwargs)
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
            # ValueError is how Django's incr says it has no count; django-ratelimit catches it
            # and then fails open (RATELIMIT_FAIL_OPEN), as it does for a None.
            raise ValueError("Redis unavailable: no count to increment.")
        return int(count)

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
