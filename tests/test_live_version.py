"""The live published version through the shared cache (dosing.content.live_version)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache
from django.test import override_settings

from dosing import content
from dosing.models import PublishedVersion
from tests.conftest import publish_draft

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


def no_query() -> mock._patch:
    return mock.patch.object(
        PublishedVersion.objects, "order_by", side_effect=AssertionError("no query")
    )


@override_settings(DOSING_SHARED_CACHE=True)
def test_with_a_shared_cache_the_live_version_is_read_from_it_once_cached() -> None:
    content.current_rules()
    # A test runs inside a transaction: nothing read there is shared.
    assert cache.get(content.LIVE_VERSION_KEY) is None
    live = PublishedVersion.objects.order_by("-number").first()
    cache.set(content.LIVE_VERSION_KEY, (live.number, live.content_hash))
    with no_query():
        assert content.live_version() == content.LiveKey(live.number, live.content_hash)


@override_settings(DOSING_SHARED_CACHE=True)
def test_a_shared_key_that_lags_a_publish_never_takes_the_process_back() -> None:
    old = PublishedVersion.objects.get(number=1)
    from dosing.models import DoseRule

    rule = DoseRule.objects.filter(indication__slug="gca", route="iv").first()
    rule.max_mg = 650
    rule.save()
    publish_draft("GCA IV maximum 650 mg")
    held = content.current_snapshot()
    assert held.number == 2
    cache.set(content.LIVE_VERSION_KEY, (old.number, old.content_hash))  # another instance lagged
    with mock.patch.object(content.Snapshot, "of", side_effect=AssertionError("reloaded")):
        assert content.current_snapshot() is held


@override_settings(DOSING_SHARED_CACHE=True)
def test_a_publish_clears_the_shared_key_so_every_instance_reads_the_database_next() -> None:
    live = PublishedVersion.objects.order_by("-number").first()
    cache.set(content.LIVE_VERSION_KEY, (live.number, live.content_hash))
    content.forget_version()  # what a publish calls (publishing._forget_live)
    assert cache.get(content.LIVE_VERSION_KEY) is None


@override_settings(DOSING_SHARED_CACHE=True)
def test_with_a_shared_cache_every_request_asks_it() -> None:
    held = content.current_snapshot()
    cache.set(content.LIVE_VERSION_KEY, (held.number, held.content_hash))
    with mock.patch.object(content, "live_version", wraps=content.live_version) as lookup:
        content.current_snapshot()
        content.current_snapshot()
    assert lookup.call_count == 2
