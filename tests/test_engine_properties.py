"""Properties of the dosing engine that must hold for every weight, not just the worked examples.

Each property is checked against an independent, deliberately naive computation (a brute-force
vial search, the cap and volume arithmetic written out again, the lb conversion by hand), with
indications, routes, steps, caps and concentrations read from the rules snapshot the migrations
load. Weights span everything the engine accepts (0.01 kg to the snapshot's maximum), with the
weight-band and cap edges drawn on purpose.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal
from itertools import product

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dosing import engine
from tests.conftest import iv_vials
from tests.factories import rules

# The engine runs on the seed without a database (tests/factories.py).
__all__ = ["rules"]

D = Decimal
CENT = D("0.01")

# `rules` is a session fixture (read-only, so sharing it across examples is safe).
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def half_up(value: Decimal, places: str) -> Decimal:
    return value.quantize(D(places), rounding=ROUND_HALF_UP)


def combos(rules: engine.Rules, route: str | None = None) -> list[tuple[str, str, str]]:
    """Every (indication, route, step) the snapshot has a dose rule for."""
    return sorted(
        {
            (d.indication, d.route.value, d.step.value)
            for d in rules.dose_rules
            if route is None or d.route == route
        }
    )


def weights_kg(rules: engine.Rules) -> st.SearchStrategy[Decimal]:
    """Any accepted weight, and the band and cap edges (plus and minus 0.01 kg) more often."""
    edges = {b for d in rules.dose_rules for b in (d.min_weight_kg, d.max_weight_kg) if b}
    edges |= {
        b for bag in rules.preparation.bags for b in (bag.min_weight_kg, bag.max_weight_kg) if b
    }
    edges |= {
        half_up(d.max_mg / d.mg_per_kg, "0.01")
        for d in rules.dose_rules
        if d.max_mg is not None and d.mg_per_kg
    }
    near = sorted(
        e + delta
        for e in edges
        for delta in (-CENT, D(0), CENT)
        if CENT <= e + delta <= rules.max_weight_kg
    )
    return st.one_of(
        st.decimals(min_value=CENT, max_value=rules.max_weight_kg, places=2),
        st.sampled_from(near),
    )


def dose_rule(
    rules: engine.Rules, indication: str, route: str, step: str, weight_kg: Decimal
) -> engine.DoseRule:
    matching = [
        d
        for d in rules.dose_rules
        if d.indication == indication
        and d.route == route
        and d.step == step
        and (d.min_weight_kg is None or weight_kg >= d.min_weight_kg)
        and (d.max_weight_kg is None or weight_kg < d.max_weight_kg)
    ]
    assert len(matching) == 1, matching
    return matching[0]


def dosed(
    rules: engine.Rules, indication: str, route: str, step: str, weight: Decimal
) -> engine.Result | None:
    """The confirmed result, or None for a dose that cannot be prepared: which is then no dose in
    any field (issue 22), the danger first."""
    result = engine.calculate(
        engine.Inputs(indication=indication, route=route, step=step, weight=weight, confirmed=True),
        rules,
    )
    if result.action == engine.Action.NOT_RECOMMENDED:
        assert result.warnings[0].code in ("preparation_impossible", "no_bag_rule")
        assert result.dose_mg is None
        assert result.interval_days is None
        assert result.next_dose is None
        assert result.vials == ()
        return None
    assert result.action == engine.Action.GIVE
    return result


def iv_presentations(rules: engine.Rules) -> list[engine.PresentationRule]:
    return [p for p in rules.presentations if p.route == engine.Route.IV]


def brute_force(dose_mg: Decimal, strengths: list[Decimal]) -> tuple[Decimal, int]:
    """(least waste, fewest vials at that waste) over every count of every strength.

    Counts go up to ceil(dose / strength) + 1 per strength; worked in hundredths of a mg as
    integers, so the search stays exact and fast.
    """
    dose = int(dose_mg * 100)
    units = [int(s * 100) for s in strengths]
    assert dose == dose_mg * 100
    assert all(u == s * 100 for u, s in zip(units, strengths, strict=True))
    best: tuple[int, int] | None = None
    for counts in product(*(range(-(-dose // u) + 2) for u in units)):
        total = sum(c * u for c, u in zip(counts, units, strict=True))
        if total < dose:
            continue
        key = (total - dose, sum(counts))
        if best is None or key < best:
            best = key
    assert best is not None
    return D(best[0]) / 100, best[1]


def assert_vials_optimal(
    dose_mg: Decimal, vials: tuple[engine.Vial, ...], presentations: list[engine.PresentationRule]
) -> None:
    offered = {(p.strength_mg, p.volume_ml) for p in presentations}
    assert all((v.strength_mg, v.volume_ml) in offered and v.count > 0 for v in vials), vials
    assert len({v.strength_mg for v in vials}) == len(vials), vials
    total = sum((v.strength_mg * v.count for v in vials), D(0))
    assert total >= dose_mg
    waste, count = brute_force(dose_mg, sorted({p.strength_mg for p in presentations}))
    assert (total - dose_mg, sum(v.count for v in vials)) == (waste, count)


# ---------------------------------------------------------------------------------------------
# 1. Vials: cover the dose with the least waste, then the fewest vials


@PROPERTY_SETTINGS
@given(dose=st.decimals(min_value=D("0.1"), max_value=D("4000"), places=1))
def test_choose_vials_is_optimal_for_any_dose(rules: engine.Rules, dose: Decimal) -> None:
    presentations = iv_presentations(rules)
    assert_vials_optimal(dose, engine.choose_vials(dose, presentations), presentations)


@PROPERTY_SETTINGS
@given(
    strengths=st.lists(
        st.integers(min_value=50, max_value=500), min_size=1, max_size=3, unique=True
    ),
    dose=st.decimals(min_value=D("0.1"), max_value=D("1000"), places=1),
)
def test_choose_vials_is_optimal_for_any_strengths(strengths: list[int], dose: Decimal) -> None:
    presentations = iv_vials(*map(str, strengths))
    assert_vials_optimal(dose, engine.choose_vials(dose, presentations), presentations)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_calculated_iv_vials_are_optimal(rules: engine.Rules, data: st.DataObject) -> None:
    indication, route, step = data.draw(st.sampled_from(combos(rules, engine.Route.IV)))
    weight = data.draw(weights_kg(rules))
    result = dosed(rules, indication, route, step, weight)
    if result is None:
        return
    assert result.dose_mg is not None
    assert_vials_optimal(result.dose_mg, result.vials, iv_presentations(rules))
    total = sum((v.strength_mg * v.count for v in result.vials), D(0))
    assert result.vial_total_mg == total
    # What the vials keep after the volume drawn (issue 22.4): the drawn mg, never more than the
    # vials hold or the label maximum, less than one syringe graduation from the dose.
    most = total if result.max_mg is None else min(total, result.max_mg)
    drawn = engine.measure(result.dose_mg, most, rules)
    assert drawn is not None
    assert result.draw_mg == drawn.mg
    assert result.waste_mg == total - drawn.mg
    assert result.waste_mg >= 0
    assert drawn.mg <= most
    conc = rules.preparation.concentration_mg_per_ml
    assert abs(drawn.mg - result.dose_mg) < drawn.graduation_ml * conc


# ---------------------------------------------------------------------------------------------
# 2. The cap


@PROPERTY_SETTINGS
@given(data=st.data())
def test_dose_never_exceeds_the_cap(rules: engine.Rules, data: st.DataObject) -> None:
    indication, route, step = data.draw(st.sampled_from(combos(rules)))
    weight = data.draw(weights_kg(rules))
    result = dosed(rules, indication, route, step, weight)
    if result is None:
        return
    rule = dose_rule(rules, indication, route, step, weight)
    assert result.dose_mg is not None
    uncapped = half_up(weight * rule.mg_per_kg, "0.1") if rule.mg_per_kg else rule.flat_mg
    assert result.calculated_mg == uncapped
    assert result.max_mg == rule.max_mg
    if rule.max_mg is None:
        assert not result.capped
        assert result.dose_mg == uncapped
    else:
        assert result.dose_mg <= rule.max_mg
        assert result.capped == (uncapped > rule.max_mg)
        assert result.dose_mg == min(uncapped, rule.max_mg)


# ---------------------------------------------------------------------------------------------
# 3. Volume from the concentration


@PROPERTY_SETTINGS
@given(data=st.data())
def test_iv_volume_is_dose_over_concentration(rules: engine.Rules, data: st.DataObject) -> None:
    indication, route, step = data.draw(st.sampled_from(combos(rules, engine.Route.IV)))
    weight = data.draw(weights_kg(rules))
    result = dosed(rules, indication, route, step, weight)
    if result is None:
        return
    assert result.dose_mg is not None
    concentration = rules.preparation.concentration_mg_per_ml
    assert result.volume_ml == half_up(result.dose_mg / concentration, "0.01")


# ---------------------------------------------------------------------------------------------
# 4. lb in, same result as the kg the engine derives


@PROPERTY_SETTINGS
@given(data=st.data())
def test_weight_in_lb_gives_the_same_result_as_in_kg(
    rules: engine.Rules, data: st.DataObject
) -> None:
    indication, route, step = data.draw(st.sampled_from(combos(rules)))
    # A little past the maximum, so the upper limit's rounding is exercised too.
    most_lb = half_up(rules.max_weight_kg / engine.KG_PER_LB, "0.01") + 1
    weight_lb = data.draw(st.decimals(min_value=CENT, max_value=most_lb, places=2))
    # Issue 12: the band and the dose use the weight converted exactly, never a rounded figure.
    weight_kg = weight_lb * D("0.45359237")

    def run(weight: Decimal, unit: str) -> engine.Result:
        return engine.calculate(
            engine.Inputs(
                indication=indication, route=route, step=step, weight=weight, weight_unit=unit
            ),
            rules,
        )

    if half_up(weight_kg, "0.01") <= 0 or weight_kg > rules.max_weight_kg:
        for weight, unit in ((weight_lb, "lb"), (weight_kg, "kg")):
            with pytest.raises(engine.InputError) as raised:
                run(weight, unit)
            assert raised.value.field == "weight"
        return

    in_lb = run(weight_lb, "lb")
    in_kg = run(weight_kg, "kg")
    assert in_lb.weight_kg == in_kg.weight_kg
    # The weight shown is never on the other side of a band edge from the weight dosed by.
    edges = {e for d in rules.dose_rules for e in (d.min_weight_kg, d.max_weight_kg) if e} | {
        e for b in rules.preparation.bags for e in (b.min_weight_kg, b.max_weight_kg) if e
    }
    for edge in edges:
        assert (in_lb.weight_kg < edge) == (weight_kg < edge), edge
    assert abs(in_lb.weight_kg - weight_kg) < CENT
    rule = dose_rule(rules, indication, route, step, weight_kg)
    if in_lb.dose_mg is not None:  # a dose that cannot be prepared has none (issue 22)
        assert in_lb.mg_per_kg == rule.mg_per_kg
    # Only the echo of what was typed may differ.
    assert (in_lb.weight_input, in_lb.weight_unit) == (weight_lb, engine.WeightUnit.LB)
    assert (in_kg.weight_input, in_kg.weight_unit) == (weight_kg, engine.WeightUnit.KG)
    assert in_lb.display["weight"].endswith(f"= {in_kg.display['weight']}")
    # The weight check names its alternative in the unit typed ("18 lb would be ..."): the only
    # words besides the weight's own echo that may differ.
    echo = {
        "weight_input": None,
        "weight_unit": None,
        "display": None,
        "chart_note": None,
        "warnings": None,
        "checks": None,
    }
    unit_free = [(w.code, w.message) for w in in_lb.warnings if w.code != "weight_implausible"]
    assert unit_free == [
        (w.code, w.message) for w in in_kg.warnings if w.code != "weight_implausible"
    ]
    assert [c.code for c in in_lb.checks] == [c.code for c in in_kg.checks]
    weight_line = f"Weight used: {in_lb.display['weight']}."
    if len(unit_free) == len(in_lb.warnings):  # the note repeats the warnings
        assert in_lb.chart_note.replace(
            weight_line, f"Weight used: {in_kg.display['weight']}."
        ) == (in_kg.chart_note)
    assert dataclasses.replace(in_lb, **echo) == dataclasses.replace(in_kg, **echo)
    assert {k: v for k, v in in_lb.display.items() if k != "weight"} == {
        k: v for k, v in in_kg.display.items() if k != "weight"
    }
