"""Rules for engine tests without a database (issue 23 item 6).

`rules_for(label, **overrides)` is the seed content (what `migrate` publishes as version 1) read
from the shared vectors, where scripts/make_vectors.py writes it and
tests/test_vectors.py::test_the_vectors_were_made_from_the_current_content holds it to the
migrated database. So an engine test runs on exactly the published figures without running a
migration, and states the one figure it changes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from dosing import engine, snapshot

VECTORS = Path(__file__).parent / "vectors" / "engine.json"


@functools.cache
def _seed() -> engine.Rules:
    return snapshot.load_rules(json.loads(VECTORS.read_text())["rules"])


def rules_for(label: str | None = None, **overrides: Any) -> engine.Rules:
    """The seed's rules; with `label`, that product's label alone (the only product offered, so
    what its label lacks is refused); `overrides` replace top-level fields of the rules."""
    rules = _seed()
    if label is not None:
        product = rules.product(label)
        if product is None:
            raise KeyError(f"no product {label!r} in the seed: {[p.slug for p in rules.products]}")
        overrides = {"products": (product,), **overrides}
    return dataclasses.replace(rules, **overrides) if overrides else rules


@pytest.fixture(scope="session")
def rules() -> engine.Rules:
    """The `rules` fixture without a database, for modules that import it (the engine's)."""
    return rules_for()
