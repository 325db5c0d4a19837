"""The shared vectors: the Python engine reproduces every case (the browser engine does too, in
tests/js/engine.test.mjs). Regenerate with `python scripts/make_vectors.py` after a change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dosing import engine
from dosing import snapshot as snapshot_module
from scripts.make_vectors import rounding_on, run, snapshot

VECTORS = json.loads((Path(__file__).parent / "vectors" / "engine.json").read_text())
CASES = VECTORS["cases"]


def test_the_vectors_were_made_from_the_current_content(rules: engine.Rules) -> None:
    assert VECTORS["rules"] == snapshot(rules), "content changed: run scripts/make_vectors.py"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_python_engine_reproduces_the_case(rules: engine.Rules, case: dict[str, Any]) -> None:
    assert run({"name": case["name"], "inputs": case["inputs"]}, rules) == case


def test_the_vectors_span_the_product() -> None:
    assert len(CASES) >= 150
    results = [c["result"] for c in CASES if "result" in c]
    pairs = {(r["indication"], r["route"], r["step"]) for r in results}
    rule_pairs = {(d["indication"], d["route"], d["step"]) for d in VECTORS["rules"]["dose_rules"]}
    assert pairs == rule_pairs
    assert {r["action"] for r in results} == {
        "give",
        "reduce",
        "check",
        "hold",
        "not_recommended",
        "discontinue",
    }
    assert any(r["capped"] for r in results)
    assert any(r["confirmed"] for r in results)
    assert {r["action_if_confirmed"] for r in results} >= {"give", "reduce"}
    assert any(r["repeat"] for r in results)
    assert {c["error"]["field"] for c in CASES if "error" in c} >= {
        "indication", "route", "step", "weight", "weight_unit", "age_years", "anc_per_mm3", "alt_x_uln",
    }  # fmt: skip
    weights = {c["inputs"]["weight"] for c in CASES if c["inputs"].get("weight_unit") == "kg"}
    assert {29.9, 30, 30.1, 99.9, 100, 100.1} <= weights
    assert any(c["inputs"]["weight_unit"] == "lb" for c in CASES)


TYPED = json.loads((Path(__file__).parent / "vectors" / "typed.json").read_text())["cases"]


@pytest.mark.parametrize("case", TYPED, ids=[f"{c['text']!r} counts={c['counts']}" for c in TYPED])
def test_typed_text_reads_as_the_vectors_say(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(engine.InputError) as raised:
            engine.typed_number("f", case["text"], counts=case["counts"])
        assert raised.value.message == case["error"]
    else:
        assert engine.typed_number("f", case["text"], counts=case["counts"]) == case["number"]


def test_the_anc_0_9_case_is_a_question_in_both_engines() -> None:
    # "ANC 0.9": read as cells/mm³ it asks, never acts; read as ×10⁹/L it is 900: a hold.
    by_name = {c["name"]: c for c in CASES}
    question = by_name["ANC 0.9 in cells/mm³: a question, never an action"]
    assert question["error"]["field"] == "anc_per_mm3"
    assert "did you mean 900 cells/mm³" in question["error"]["message"]
    hold = by_name["ANC 0.9 ×10⁹/L = 900 cells/mm³: hold"]["result"]
    assert hold["action"] == "hold"
    assert any(
        w["message"].startswith("ANC 0.9 ×10⁹/L = 900 cells/mm³: hold") for w in hold["warnings"]
    )


ROUNDING = json.loads((Path(__file__).parent / "vectors" / "rounding.json").read_text())


def test_the_rounding_vectors_use_the_shipped_policy_turned_on(rules: engine.Rules) -> None:
    # The policy ships off (issue 22.4); the vectors run it on, with every other figure as shipped.
    assert rules.rounding is not None
    assert not rules.rounding.enabled
    assert ROUNDING["rounding"] == {
        **snapshot_module.dump_rules(rules)["rounding"],
        "enabled": True,
    }


@pytest.mark.parametrize("case", ROUNDING["cases"], ids=[c["name"] for c in ROUNDING["cases"]])
def test_the_python_engine_rounds_as_the_vectors_say(
    rules: engine.Rules, case: dict[str, Any]
) -> None:
    assert run({"name": case["name"], "inputs": case["inputs"]}, rounding_on(rules)) == case


def test_the_rounding_vectors_round_both_ways_and_show_the_deviation() -> None:
    by_name = {c["name"]: c["result"] for c in ROUNDING["cases"]}
    up = by_name["rounding ra iv 154 lb: 279.4 mg as 280 mg"]
    assert (up["dose_mg"], up["draw_mg"], up["waste_mg"]) == (279.4, 280, 0)
    assert "280 mg for the calculated 279.4 mg (+0.2 %" in _message(up, "site_rounding")
    down = by_name["rounding pjia iv 24.5 kg: 245 mg as 240 mg"]
    assert (down["dose_mg"], down["draw_mg"], down["vial_total_mg"]) == (245, 240, 240)
    assert down["display"]["volume"] == "12 mL in a 20 mL syringe = 240 mg"
    assert "(−2 %;" in _message(down, "site_rounding")
    capped = by_name["rounding ra iv 99.9 kg increased: 799.2 mg, never above the 800 mg cap"]
    assert capped["draw_mg"] <= 800
    for name in ("rounding ra iv 70 kg: 280 mg, already whole vials",
                 "rounding ra sc 70 kg: no vials to round"):  # fmt: skip
        assert all(w["code"] != "site_rounding" for w in by_name[name]["warnings"])


def _message(result: dict[str, Any], code: str) -> str:
    return next(w["message"] for w in result["warnings"] if w["code"] == code)
