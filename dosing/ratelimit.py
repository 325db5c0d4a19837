"""One rate limit for calculating, shared by the API and the HTML calculator.

Counted per client address (actemra_site.client_ip, through the trusted proxies) in the default
cache: local memory per process, or Redis across every instance when REDIS_URL is set.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

GROUP = "calculate"
TOO_MANY_REQUESTS = "Too many requests: try again shortly."


def calculate_wait_seconds(request: HttpRequest) -> int | None:
    """Counts this request; the seconds to wait when over the limit, else None."""
    usage = get_usage(
        request, group=GROUP, key="ip", rate=settings.DOSING_CALCULATE_RATE, increment=True
    )
    if usage and usage["should_limit"]:
        return max(1, int(usage["time_left"]))
    return None
