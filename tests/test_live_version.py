"""The live content version through the shared cache (dosing.content.live_version and friends)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import override_settings

from dosing import content
from dosing.models import ContentVersion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


@override_settings(DOSING_SHARED_CACHE=True)
def test_with_a_shared_cache_the_version_is_read_from_it_once_cached() -> None:
    content.current_rules()
    cached = cache.get(content.LIVE_VERSION_KEY)
    assert cached is None  # a test runs inside a transaction: nothing read there is shared
    version = ContentVersion.current()
    cache.set(content.LIVE_VERSION_KEY, version)
    with mock.patch.object(ContentVersion, "current", side_effect=AssertionError("no query")):
        assert content.live_version().number == version.number


@override_settings(DOSING_SHARED_CACHE=True)
def test_a_cached_version_older_than_the_snapshot_held_does_not_rebuild_it() -> None:
    old = ContentVersion.current()
    cache.set(content.LIVE_VERSION_KEY, old)
    ContentVersion.bump()
    content.forget_version()
    held = content.current_rules()  # forced by the edit: read from the database
    assert held.content_version == old.number + 1
    with mock.patch.object(content, "build_rules", side_effect=AssertionError("rebuilt")):
        assert content.current_rules() is held  # the lagging cached copy changes nothing


def test_a_snapshot_built_while_an_edit_lands_is_built_again(rules: Any) -> None:
    real_build = content.build_rules
    calls: list[int] = []

    def build_then_edit(version: ContentVersion) -> Any:
        built = real_build(version)
        if not calls:
            ContentVersion.bump()  # an edit commits between reading the version and the rows
        calls.append(version.number)
        return built

    with mock.patch.object(content, "build_rules", side_effect=build_then_edit):
        content.forget_version()
        snapshot = content.current_rules()
    assert len(calls) == 2
    assert snapshot.content_version == calls[-1] == ContentVersion.current().number


def test_a_snapshot_newer_than_the_database_is_replaced_by_the_databases() -> None:
    """As after an edit read inside a transaction that then rolled back."""
    real = content.current_rules()
    held = content._current
    content._current = replace(
        held, checked_at=float("-1e9"), key=(real.content_version + 1, "2999-01-01T00:00:00+00:00")
    )
    with mock.patch.object(content, "build_rules", wraps=content.build_rules) as build:
        assert content.current_rules().content_version == ContentVersion.current().number
    assert build.called


@override_settings(DOSING_SHARED_CACHE=True)
def test_an_edit_clears_the_shared_version_so_every_instance_reads_the_database_next() -> None:
    cache.set(content.LIVE_VERSION_KEY, ContentVersion.current())
    content.forget_version()  # what signals.py calls on every edit (now and on commit)
    assert cache.get(content.LIVE_VERSION_KEY) is None
