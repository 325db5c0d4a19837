"""Django's Redis cache, made to degrade: while Redis is unreachable every call answers as a miss.

The cache holds rate-limit counters and the live content version, both of which have a safe
answer without it (the limit opens, the version comes from the database). So a Redis outage logs
one warning and the app keeps calculating; it never turns into a 500.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# After a failure, skip Redis this long: an unreachable host would otherwise cost a connect
# timeout on every cache call of every request.
RETRY_AFTER_SECONDS = 2.0


class FailSoftRedisCache(RedisCache):
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

    def incr(self, *args: Any, **kwargs: Any) -> int | None:
        # None, not an exception: django-ratelimit then fails open (RATELIMIT_FAIL_OPEN).
        return self._call("incr", None, *args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return self._call("get_many", {}, *args, **kwargs)

    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return self._call("has_key", False, *args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> list[Any]:
        return self._call("set_many", [], *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        self._call("delete_many", None, *args, **kwargs)

    def clear(self) -> bool:
        return self._call("clear", False)

    def reachable(self) -> bool:
        """For the health check: one PING, bypassing the back-off."""
        try:
            return bool(self._cache.get_client(write=False).ping())
        except RedisError:
            return False
