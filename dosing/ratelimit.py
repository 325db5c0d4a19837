"""One rate limit for calculating, shared by the API and the HTML calculator.

Counted per client address (actemra_site.client_ip, through the trusted proxies) in the default
cache: local memory per process, or Redis across every instance when REDIS_URL is set. One cache
round trip per request: the cache's `count` adds the window's counter or increments it in one
step (actemra_site/cache.py); django-ratelimit's add-then-incr took three to Redis (SET NX, then
EXISTS and INCR) and hashed the key.

The window is fixed, as django-ratelimit's was: it ends at a moment of the period chosen by the
address (a CRC of it), so not every client's window turns over at once.
"""

from __future__ import annotations

import re
import time
import zlib
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from actemra_site.client_ip import client_ip

GROUP = "calculate"
TOO_MANY_REQUESTS = "Too many requests: try again shortly."
PERIOD_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"(\d+)/(\d*)([smhd])")
# The counter outlives its window by a second: a request at the window's last instant still
# finds it.
EXPIRY_MARGIN_SECONDS = 1


@lru_cache(maxsize=8)
def parse_rate(rate: str) -> tuple[int, int]:
    """'600/m' -> (600, 60); '10/5m' -> (10, 300)."""
    match = _RATE.fullmatch(rate.strip().lower())
    if match is None:
        raise ImproperlyConfigured(
            f"DJANGO_CALCULATE_RATE={rate!r}: write requests/period, for example 600/m "
            "(periods: s, m, h, d, optionally with a multiple: 10/5m)."
        )
    limit, multiple, unit = match.groups()
    return int(limit), int(multiple or 1) * PERIOD_SECONDS[unit]


def window_end(address: str, period: int, now: int) -> int:
    """The end of the window `now` falls in, offset within the period by the address."""
    if period == 1:
        return now
    end = now - now % period + zlib.crc32(address.encode()) % period
    return end + period if end < now else end


def count(key: str, timeout: int) -> int | None:
    """This request counted under `key`; None when the cache cannot count (the limit opens)."""
    counter = getattr(cache, "count", None)
    if counter is not None:  # the site's caches: one step
        return counter(key, timeout)
    if cache.add(key, 1, timeout):  # any other backend (a test's override): add, else incr
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls, or the cache is down
        return None


def calculate_wait_seconds(request: HttpRequest) -> int | None:
    """Counts this request; the seconds to wait when over the limit, else None."""
    limit, period = parse_rate(settings.DOSING_CALCULATE_RATE)
    address = client_ip(request)
    now = int(time.time())
    end = window_end(address, period, now)
    used = count(f"rl:{GROUP}:{limit}/{period}s:{address}:{end}", period + EXPIRY_MARGIN_SECONDS)
    if used is None or used <= limit:
        return None
    return max(1, end - now)
