"""The calculate rate limit's parts (dosing/ratelimit.py, actemra_site/cache.py): the rate, the
window, and the one-step count in each cache. The limit through the API and the page is in
tests/test_faults.py; across two instances on Redis in tests/test_instances.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from actemra_site.cache import FailSoftRedisCache, LocalCache
from dosing import ratelimit


@pytest.fixture(autouse=True)
def fresh_counters() -> None:
    cache.clear()


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("600/m", (600, 60)), ("10/d", (10, 86400)), ("10/5m", (10, 300)), ("3/S", (3, 1))],
)
def test_a_rate_is_requests_per_period(rate: str, parsed: tuple[int, int]) -> None:
    assert ratelimit.parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["600", "600/minute", "/m", "ten/m", "600/0x"])
def test_a_rate_it_cannot_read_names_the_setting(rate: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_CALCULATE_RATE"):
        ratelimit.parse_rate(rate)


@pytest.mark.parametrize("now", [1_700_000_000, 1_700_000_059, 1_700_000_060, 1_700_003_333])
def test_the_window_ends_within_one_period_and_is_the_same_for_the_whole_window(now: int) -> None:
    end = ratelimit.window_end("203.0.113.5", 60, now)
    assert now <= end < now + 60
    assert ratelimit.window_end("203.0.113.5", 60, end) == end  # its last second is in it
    assert ratelimit.window_end("203.0.113.5", 60, end + 1) == end + 60  # then the next one


def test_windows_of_different_addresses_turn_over_at_different_moments() -> None:
    ends = {ratelimit.window_end(f"203.0.113.{n}", 60, 1_700_000_000) for n in range(1, 30)}
    assert len(ends) > 10


def test_the_local_cache_counts_in_one_step_from_one() -> None:
    local = LocalCache("test-count", {})
    assert [local.count("k", 60) for _ in range(3)] == [1, 2, 3]
    assert local.get("k") == 3  # an ordinary counter for the cache's other readers
    assert local.count("other", 60) == 1


def test_the_local_cache_starts_again_from_one_once_the_counter_expired() -> None:
    local = LocalCache("test-expiry", {})
    local.count("k", 60)
    local.set("k", 5, timeout=0)  # expired at once
    assert local.count("k", 60) == 1


def test_redis_down_counts_nothing_so_the_limit_opens() -> None:
    FailSoftRedisCache._down_until = 0.0
    down = FailSoftRedisCache("redis://127.0.0.1:9/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    try:
        assert down.count("k", 60) is None
    finally:
        FailSoftRedisCache._down_until = 0.0


def request_from(address: str) -> Any:
    return RequestFactory().post("/api/v1/calculate", REMOTE_ADDR=address)


@override_settings(DOSING_CALCULATE_RATE="2/m")
def test_over_the_limit_the_wait_is_the_rest_of_the_window() -> None:
    waits = [ratelimit.calculate_wait_seconds(request_from("192.0.2.9")) for _ in range(3)]
    assert waits[:2] == [None, None]
    assert waits[2] is not None
    assert 1 <= waits[2] <= 60
    assert ratelimit.calculate_wait_seconds(request_from("192.0.2.10")) is None  # its own


@override_settings(
    DOSING_CALCULATE_RATE="2/m",
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
)
def test_a_cache_without_count_still_limits_through_add_and_incr() -> None:
    from django.core.cache import caches

    assert not hasattr(caches["default"], "count")
    waits = [ratelimit.calculate_wait_seconds(request_from("192.0.2.11")) for _ in range(3)]
    assert waits[:2] == [None, None]
    assert waits[2] is not None
