"""The two engines against each other (issue 23 item 5): the Python engine in process and the
browser's (static/dosing/engine.mjs, under node) on the same random inputs near every edge the
content has (weight bands and bags, plausible weights, ages, lab thresholds, repeat-dose clocks
across a daylight-saving change), every product. The shared vectors pin chosen cases; this looks
between them. A difference is a bug in one engine (or in both), never something to regenerate.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.make_vectors import run
from tests.factories import VECTORS, rules_for

SEED = rules_for()


class Node:
    """One node process for the whole module: a line in, a line out."""

    def __init__(self) -> None:
        script = VECTORS.parent.parent / "js" / "differential.mjs"
        self.process = subprocess.Popen(
            ["node", str(script), str(VECTORS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def calculate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"inputs": inputs}) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def node() -> Iterator[Node]:
    process = Node()
    yield process
    process.close()


def _edges() -> list[Decimal]:
    found = {
        e
        for row in (*SEED.dose_rules, *SEED.preparation.bags, *SEED.plausible_weights)
        for e in (row.min_weight_kg, row.max_weight_kg)
        if e is not None
    }
    return sorted(found | {SEED.max_weight_kg})


def _near(points: list[Decimal], steps: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A figure at, just under or just over one of `points`, as text (as a client sends it)."""
    return st.builds(
        lambda point, step: str(max(point + Decimal(step), Decimal("0.01"))),
        st.sampled_from(points),
        st.sampled_from(steps),
    )


WEIGHTS = st.one_of(
    _near(_edges(), ("-0.2", "-0.05", "-0.01", "0", "0.01", "0.05", "0.2")),
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal("320"), places=2).map(str),
)
AGES = st.one_of(
    st.none(),
    _near([Decimal(a) for a in (2, 12, 16, 18, 65)], ("-0.1", "0", "0.5")),
    st.integers(min_value=0, max_value=95).map(str),
)
COUNT_STEPS = ("-100", "-1", "0", "1", "100")  # cells/mm³ are whole
ULN_STEPS = ("-0.5", "-0.1", "0", "0.1", "0.5")
COUNTS = {"anc": (500, 1000, 2000), "platelets": (50000, 100000)}


@st.composite
def labs(draw: st.DrawFn) -> dict[str, str]:
    """Lab values near each threshold, counts in any unit labs report (issue 22.3)."""
    found = {}
    for lab, points in COUNTS.items():
        if draw(st.booleans()):
            value = Decimal(draw(_near([Decimal(p) for p in points], COUNT_STEPS)))
            unit = draw(st.sampled_from(["per_mm3", "e9_per_l", "e3_per_ul"]))
            found[f"{lab}_per_mm3"] = str(value if unit == "per_mm3" else value / 1000)
            found[f"{lab}_unit"] = unit
    for lab in ("alt", "ast"):
        if draw(st.booleans()):
            found[f"{lab}_x_uln"] = draw(_near([Decimal(v) for v in (1, 3, 5)], ULN_STEPS))
    return found


# 2026-03-08 02:00 is when New York's clocks go forward: repeat doses timed across it.
NOW = datetime(2026, 3, 8, 10, 30)


# What content can calculate (a product's route with a dose rule); now and then anything at all.
OFFERED = sorted(
    (p.slug, d.indication, d.route.value, d.step.value)
    for p in SEED.products
    for d in SEED.dose_rules
    if p.offers(d.indication, d.route)
)
ANYTHING = st.tuples(
    st.sampled_from([p.slug for p in SEED.products]),
    st.sampled_from([i.slug for i in SEED.indications]),
    st.sampled_from(["iv", "sc"]),
    st.sampled_from(["starting", "increased"]),
)
REPEATED = {d.indication for d in SEED.dose_rules if d.additional_doses_max}


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    offered = draw(st.integers(min_value=0, max_value=9)) > 0
    product, indication, route, step = draw(st.sampled_from(OFFERED) if offered else ANYTHING)
    therapy = draw(st.sampled_from(["starting", "on", "resuming"]))
    inputs: dict[str, Any] = {
        "product": product,
        "indication": indication,
        "route": route,
        "step": step,
        "weight": draw(WEIGHTS),
        "weight_unit": draw(st.sampled_from(["kg", "kg", "lb"])),
        "age_years": draw(AGES),
        "starting_therapy": therapy == "starting",
        "resuming_after_hold": therapy == "resuming",
        "persistent_rise": draw(st.booleans()),
        "confirmed": draw(st.booleans()),
        "labs": draw(labs()),
    }
    if indication in REPEATED and draw(st.booleans()):
        hours = draw(st.integers(min_value=0, max_value=30))
        inputs.update(
            dose_number=draw(st.integers(min_value=1, max_value=4)),
            previous_dose_start=(NOW - timedelta(hours=hours)).isoformat(timespec="minutes"),
            now=NOW.isoformat(timespec="minutes"),
            time_zone="America/New_York",
        )
    return inputs


def python(inputs: dict[str, Any]) -> dict[str, Any]:
    answer = run({"inputs": inputs}, SEED)
    answer.pop("inputs")
    # As JSON carries it to the browser (figures as JSON numbers).
    decoded: dict[str, Any] = json.loads(json.dumps(answer, ensure_ascii=False))
    return decoded


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(inputs=patients())
def test_both_engines_give_the_same_answer(node: Node, inputs: dict[str, Any]) -> None:
    answer = node.calculate(inputs)
    assert "crash" not in answer, answer.get("crash")
    assert answer == python(inputs)
