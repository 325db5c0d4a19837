"""The shared vectors: the Python engine reproduces every case (the browser engine does too, in
tests/js/engine.test.mjs). Regenerate with `python scripts/make_vectors.py` after a change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dosing import engine
from scripts.make_vectors import run, snapshot

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
