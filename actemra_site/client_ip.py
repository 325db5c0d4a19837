"""The client's address: one helper for the rate limits, the login lockout and anything else.

Behind N trusted proxies (DJANGO_TRUSTED_PROXIES=N) each proxy appends the address it received
the request from to X-Forwarded-For, so the client is the N-th entry from the right; everything
left of it was written by the client and proves nothing. With no trusted proxy the header is
ignored, so spoofing it changes nothing.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# One bucket for requests that carry no usable address (a unix socket without a proxy header).
UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 (a bucket name, never bound)


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The address of the client as the trusted proxies saw it, else REMOTE_ADDR."""
    remote = _valid(request.META.get("REMOTE_ADDR") or "") or UNKNOWN_ADDRESS
    proxies = settings.TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(forwarded) < proxies or not forwarded[0].strip():
        # Fewer entries than trusted proxies: no entry in the header is vouched for.
        return remote
    return _valid(forwarded[-proxies]) or remote
