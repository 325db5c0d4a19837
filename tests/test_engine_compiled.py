"""The engine's content index (issue 24.1): built with the rules, the same answers as the scans
it replaces, rebuilt with any changed copy of the rules."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from itertools import product

import pytest

from dosing import engine
from tests.conftest import inputs
from tests.factories import rules

# The engine runs on the seed without a database (tests/factories.py).
__all__ = ["rules"]

CONTEXTS = (engine.RuleContext.STARTING, engine.RuleContext.ON_THERAPY)


def test_the_lab_index_holds_what_a_scan_of_the_lab_rules_finds(rules: engine.Rules) -> None:
    slugs = [i.slug for i in rules.indications]
    seen = 0
    for name, slug, route, context in product(engine.LAB_OF_INPUT, slugs, engine.Route, CONTEXTS):
        scanned = tuple(
            r
            for r in rules.lab_rules
            if r.lab == engine.LAB_OF_INPUT[name]
            and r.context in (context, engine.RuleContext.ANY)
            and (r.route is None or r.route == route)
            and slug in r.indications
        )
        indexed = rules.compiled.lab_rules.get((name, slug, route.value, context.value), ())
        assert indexed == scanned, (name, slug, route, context)
        seen += len(indexed)
    assert seen > len(rules.lab_rules)  # most rules serve several indications


def test_the_advisory_index_holds_the_notices_the_advisories_give(rules: engine.Rules) -> None:
    for slug, route, context in product(
        [i.slug for i in rules.indications], engine.Route, CONTEXTS
    ):
        scanned = [
            a.code
            for a in rules.advisories
            if slug in a.indications
            and a.route in (None, route)
            and a.context in (context, engine.RuleContext.ANY)
        ]
        indexed = rules.compiled.advisories[(slug, route.value, context.value)]
        assert [notice.code for _, notice in indexed] == scanned
        assert all(source.label_section == notice.label_section for source, notice in indexed)


def test_the_dose_rule_index_keeps_the_content_order(rules: engine.Rules) -> None:
    for key, indexed in rules.compiled.dose_rules.items():
        assert indexed == tuple(
            d for d in rules.dose_rules if (d.indication, d.route.value, d.step.value) == key
        )
    assert sum(map(len, rules.compiled.dose_rules.values())) == len(rules.dose_rules)


def test_a_changed_copy_of_the_rules_is_indexed_afresh(rules: engine.Rules) -> None:
    patient = inputs("ra", "iv", "70", labs={"alt_x_uln": "6"}, starting_therapy=False)
    assert engine.calculate(patient, rules).action == engine.Action.DISCONTINUE
    without_labs = dataclasses.replace(rules, lab_rules=())
    assert without_labs.compiled is not rules.compiled
    assert without_labs.compiled.lab_rules == {}
    assert engine.calculate(patient, without_labs).action != engine.Action.DISCONTINUE


def test_the_index_takes_no_part_in_equality_or_the_repr(rules: engine.Rules) -> None:
    copy = dataclasses.replace(rules)
    assert copy == rules
    assert copy.compiled is not rules.compiled
    assert "compiled" not in repr(rules)
    assert "compiled" not in {f.name for f in dataclasses.fields(rules) if f.init}


def test_a_look_up_by_an_enum_or_an_unhashable_slug_is_answered_as_a_scan_would(
    rules: engine.Rules,
) -> None:
    class Slug(str):
        pass

    assert rules.indication(Slug("ra")) == rules.indication("ra") is not None
    assert rules.indication(["ra"]) is None  # type: ignore[arg-type]
    assert rules.product("no-such-product") is None


def test_the_bag_storage_index_holds_the_rows_each_products_diluents_keep(
    rules: engine.Rules,
) -> None:
    handling = rules.handling
    assert handling is not None
    own = rules.preparation.diluents
    assert {own, *(p.diluents for p in rules.products)} <= set(rules.compiled.storage)
    for diluents, (kept, words) in rules.compiled.storage.items():
        expected = (
            handling.storage
            if diluents in ("", own)
            else tuple(s for s in handling.storage if s.diluent in diluents)
        )
        assert kept == expected
        assert words == (
            f"If not started at once, the diluted bag keeps {engine.storage_words(kept)}."
            if kept
            else ""
        )
    assert any(kept != handling.storage for kept, _ in rules.compiled.storage.values())


def test_a_labels_factory_rules_offer_that_product_alone() -> None:
    """tests/factories.py (issue 23 item 6): one label's rules, no database, no migration."""
    from tests.factories import rules_for

    tofidence = rules_for("tofidence")
    assert [p.slug for p in tofidence.products] == ["tofidence"]
    result = engine.calculate(
        inputs("ra", "iv", "70", product="tofidence", age_years=50), tofidence
    )
    assert result.display["product"] == "TOFIDENCE (tocilizumab-bavi)"
    for refused in (
        inputs("ra", "sc", "70", product="tofidence", age_years=50),  # not on its label
        inputs("ra", "iv", "70", age_years=50),  # ACTEMRA: not this label's product
    ):
        with pytest.raises(engine.InputError) as error:
            engine.calculate(refused, tofidence)
        assert error.value.field == "product"


def test_a_factory_override_is_compiled_into_the_rules() -> None:
    from tests.factories import rules_for

    edgeless = rules_for(band_margin_percent=Decimal(0))
    assert rules_for().band_margin_percent > 0
    near = inputs("pjia", "iv", "29.8", age_years=10)  # 0.7 % under the 30 kg band edge
    assert any(w.code == "band_edge" for w in engine.calculate(near, rules_for()).warnings)
    assert not any(w.code == "band_edge" for w in engine.calculate(near, edgeless).warnings)
