#!/usr/bin/env python
"""Writes tests/vectors/engine.json: shared engine cases, generated from the Python engine.

Both engines must reproduce every case: tests/test_vectors.py (Python) and
tests/js/engine.test.mjs (the browser module, node --test). Regenerate after a content or engine
change: `.venv/bin/python scripts/make_vectors.py`, then review the diff like code.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from itertools import product
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "vectors" / "engine.json"
CONTENT_DATE = "content-date"  # the migration date differs per database: not part of a case

WEIGHTS_KG = [12, 29.9, 30, 30.1, 45.5, 70, 99.9, 100, 100.1, 130]
LB = [
    (154, "154 lb = 69.85 kg"),
    (66.13, "66.13 lb = 29.9961 kg: lower band, shown as 29.996 kg"),
    (66.12, "66.12 lb = 29.99 kg: lower band"),
    (66.14, "66.14 lb = 30.0006 kg: upper band"),
    (220.46, "220.46 lb = 99.9990 kg: below 100 kg, shown as 99.999 kg"),
    (220.47, "220.47 lb = 100.0035 kg: 100 kg and above"),
    (220.45, "220.45 lb = 99.99 kg"),
    (264.55, "264.55 lb = 119.996 kg: capped"),
    (1102.31, "1102.31 lb, the largest weight accepted"),
    (33.07, "33.07 lb: a 15 kg child"),
]


def case(name: str, **inputs: Any) -> dict[str, Any]:
    inputs.setdefault("weight_unit", "kg")
    return {"name": name, "inputs": inputs}


def build_cases(rules: Any) -> list[dict[str, Any]]:
    return [
        *_weight_cases(rules),
        *_half_way_cases(),
        *_lab_cases(),
        *_age_cases(),
        *safety_cases(),
        *_check_cases(),
        *_volume_cases(),
        *_lab_unit_cases(),
        *_error_cases(),
        *_repeat_cases(),
        *_product_cases(),
    ]


def _product_cases() -> list[dict[str, Any]]:
    """Issue 23: each product, offered and refused (TOFIDENCE SC and CRS, a biosimilar SSc-ILD),
    an OPEN route, the TYENNE recall (intravenous only), an unknown product."""
    adult, child = {"age_years": 50}, {"age_years": 10}
    rows = [
        ("actemra", "ra", "iv", 70, adult),
        ("actemra", "ssc-ild", "sc", 70, adult),
        ("tofidence", "ra", "iv", 70, adult),
        ("tofidence", "pjia", "iv", 25, child),
        ("tofidence", "ra", "sc", 70, adult),
        ("tofidence", "gca", "sc", 70, adult),
        ("tofidence", "crs", "iv", 20, child),
        ("tofidence", "ssc-ild", "sc", 70, adult),
        ("tyenne", "ra", "iv", 70, adult),
        ("tyenne", "ra", "sc", 70, adult),
        ("tyenne", "pjia", "sc", 25, child),
        ("tyenne", "crs", "iv", 20, child),
        ("tyenne", "ssc-ild", "sc", 70, adult),
        ("avtozma", "ra", "sc", 70, adult),
        ("avtozma", "sjia", "sc", 40, child),
        ("avtozma", "covid-19", "iv", 80, adult),
        ("avtozma", "ssc-ild", "sc", 70, adult),
        ("biosimilar-x", "ra", "iv", 70, adult),
    ]
    return [
        case(f"product {name} {indication} {route} {weight} kg", product=name,
             indication=indication, route=route, weight=weight, **extra)
        for name, indication, route, weight, extra in rows
    ]  # fmt: skip


def _weight_cases(rules: Any) -> list[dict[str, Any]]:
    """Every dose row at weights across its bands, and in pounds."""
    cases = []
    combos = sorted({(d.indication, d.route.value, d.step.value) for d in rules.dose_rules})
    for (indication, route, step), weight in product(combos, WEIGHTS_KG):
        cases.append(
            case(
                f"{indication} {route} {step} {weight} kg",
                indication=indication,
                route=route,
                step=step,
                weight=weight,
            )
        )
    for weight, note in LB:
        for indication, route, step in (
            ("ra", "iv", "increased"),
            ("pjia", "iv", "starting"),
            ("ra", "sc", "starting"),
        ):
            cases.append(
                case(
                    f"{indication} {route} {step}, {note}",
                    indication=indication,
                    route=route,
                    step=step,
                    weight=weight,
                    weight_unit="lb",
                )
            )
    return cases


def _half_way_cases() -> list[dict[str, Any]]:
    """Weights and doses that round half-way."""
    cases = []
    # Half-way rounding: 61.11875 kg → 61.12 (weight); 12 mg/kg × 24.79 = 297.48 mg → 14.874 mL;
    # doses whose volume ends in 5 at the third decimal.
    for weight in (134.75, 12.35, 24.79, 27.13, 30.15, 60.05, 99.95):
        for indication in ("sjia", "pjia", "ra", "crs"):
            cases.append(
                case(
                    f"half-way {indication} iv {weight} kg",
                    indication=indication,
                    route="iv",
                    weight=weight,
                )
            )
    for weight in (134.75, 22.05, 88.85):
        cases.append(
            case(
                f"half-way lb {weight}",
                indication="sjia",
                route="iv",
                weight=weight,
                weight_unit="lb",
            )
        )
    return cases


def _lab_cases() -> list[dict[str, Any]]:
    """Lab values at and beside each threshold, starting and on therapy."""
    cases = []
    labs = [
        ("ra", "iv", True, {"anc_per_mm3": 1999}), ("ra", "iv", True, {"anc_per_mm3": 2000}),
        ("gca", "sc", True, {"platelets_per_mm3": 99999}), ("gca", "sc", True, {"platelets_per_mm3": 100000}),
        ("pjia", "iv", True, {"alt_x_uln": 1.5}), ("pjia", "iv", True, {"alt_x_uln": 1.51}),
        ("ssc-ild", "sc", True, {"ast_x_uln": 1.6}), ("sjia", "sc", True, {"anc_per_mm3": 1500, "platelets_per_mm3": 90000}),
        ("covid-19", "iv", True, {"anc_per_mm3": 999}), ("covid-19", "iv", True, {"anc_per_mm3": 1000}),
        ("covid-19", "iv", True, {"platelets_per_mm3": 49999}), ("covid-19", "iv", True, {"platelets_per_mm3": 50000}),
        ("covid-19", "iv", True, {"alt_x_uln": 10}), ("covid-19", "iv", True, {"alt_x_uln": 10.01}),
        ("covid-19", "iv", False, {"anc_per_mm3": 900}),
        ("crs", "iv", True, {"anc_per_mm3": 100, "platelets_per_mm3": 1000, "alt_x_uln": 20}),
        ("ra", "iv", True, {}),
    ]  # fmt: skip
    for value, route in product((1, 1.01, 3, 3.01, 5, 5.01), ("iv", "sc")):
        labs.append(("ra", route, False, {"alt_x_uln": value}))
    for value, route in product((499, 500, 1000, 1001), ("iv", "sc")):
        labs.append(("ra", route, False, {"anc_per_mm3": value}))
    for value, route in product((49999, 50000, 100000, 100001), ("iv", "sc")):
        labs.append(("ra", route, False, {"platelets_per_mm3": value}))
    labs += [
        ("ra", "iv", False, {"ast_x_uln": 2, "anc_per_mm3": 700, "platelets_per_mm3": 40000}),
        ("ra", "iv", False, {"alt_x_uln": 2, "ast_x_uln": 4}),
        ("pjia", "iv", False, {"alt_x_uln": 2}), ("pjia", "iv", False, {"alt_x_uln": 6}),
        ("sjia", "iv", False, {"anc_per_mm3": 400}), ("sjia", "sc", False, {"platelets_per_mm3": 60000}),
        ("gca", "iv", False, {"alt_x_uln": 2}), ("gca", "sc", False, {"alt_x_uln": 2}),
        ("ssc-ild", "sc", False, {"anc_per_mm3": 400}), ("ra", "iv", False, {"anc_per_mm3": 1500}),
    ]  # fmt: skip
    for indication, route, starting, values in labs:
        phase = "starting" if starting else "on therapy"
        text = ", ".join(f"{k} {v}" for k, v in values.items()) or "no labs"
        for step in (
            ("starting", "increased")
            if (indication, route, starting) == ("ra", "iv", False)
            else ("starting",)
        ):
            cases.append(
                case(
                    f"labs {indication} {route} {step} {phase}: {text}",
                    indication=indication,
                    route=route,
                    step=step,
                    weight=70,
                    starting_therapy=starting,
                    labs=values,
                )
            )
    return cases


def _age_cases() -> list[dict[str, Any]]:
    """Ages at and below each minimum."""
    cases = []
    ages = [("pjia", "iv", 1.9, 12), ("pjia", "iv", 2, 12), ("ra", "iv", 17, 60), ("ra", "iv", 18, 60),
            ("covid-19", "iv", 16, 60), ("crs", "iv", 1, 10), ("crs", "iv", 5, 18), ("sjia", "sc", 4, 90),
            ("gca", "iv", 70, 20), ("pjia", "sc", 15, 200)]  # fmt: skip
    for indication, route, age, weight in ages:
        cases.append(
            case(
                f"age {age} {indication} {route} {weight} kg",
                indication=indication,
                route=route,
                weight=weight,
                age_years=age,
            )
        )
    return cases


def _check_cases() -> list[dict[str, Any]]:
    """Issue 22: findings that ask to confirm (the check state), confirmed, and doses that
    cannot be prepared."""
    child = {"indication": "sjia", "route": "iv", "weight": 180, "age_years": 6}
    adult = {"indication": "ra", "route": "iv", "weight": 7}
    increased = {"indication": "ra", "route": "iv", "weight": 70, "step": "increased"}
    return [
        case("the 180 kg child: SJIA age 6, 18 kg would be 216 mg", **child),
        case("the 180 kg child, confirmed", **child, confirmed=True),
        case("the 180 lb child: SJIA age 6, in lb", **{**child, "weight_unit": "lb"}),
        case("a 7 kg adult: RA, 70 kg would be 280 mg", **adult),
        case("a 7 kg adult, confirmed", **adult, confirmed=True),
        case("increased dose at the start: RA IV 70 kg", **increased),
        case("increased dose at the start, confirmed", **increased, confirmed=True),
        case("increased dose on therapy: no check", **increased, starting_therapy=False),
        case("near a band edge, confirmed: PJIA IV 29.9 kg", indication="pjia", route="iv",
             weight=29.9, confirmed=True),
        case("a check under a reduce: RA IV 7 kg, ALT persists", indication="ra", route="iv",
             weight=7, step="increased", starting_therapy=False, persistent_rise=True,
             labs={"alt_x_uln": 2}),
        case("a check under a hold stays a hold: RA IV 7 kg, ANC 800", indication="ra",
             route="iv", weight=7, starting_therapy=False, labs={"anc_per_mm3": 800}),
        case("cannot be prepared, confirmed: SJIA IV 250 kg", indication="sjia", route="iv",
             weight=250, confirmed=True),
        case("cannot be prepared: PJIA IV 300 kg", indication="pjia", route="iv", weight=300),
    ]  # fmt: skip


def _volume_cases() -> list[dict[str, Any]]:
    """Issue 22.4: one volume, the one a syringe measures, with its syringe and its mg."""
    return [
        case("one volume: RA IV 154 lb, 279.4 mg drawn as 14 mL in a 20 mL syringe = 280 mg",
             indication="ra", route="iv", weight=154, weight_unit="lb"),
        case("one volume: RA IV 75 kg increased, 600 mg = 30 mL, a 30 mL syringe full",
             indication="ra", route="iv", weight=75, step="increased", starting_therapy=False),
        case("one volume: CRS IV 5 kg, 60 mg = 3 mL in a 3 mL syringe", indication="crs",
             route="iv", weight=5, confirmed=True),
        case("one volume: CRS IV 2.6 kg, 31.2 mg = 1.56 mL drawn as 1.6 mL in a 3 mL syringe",
             indication="crs", route="iv", weight=2.6, confirmed=True),
        case("one volume: PJIA IV 200 kg, 1,600 mg = 80 mL in 2 fills of a 60 mL syringe",
             indication="pjia", route="iv", weight=200, confirmed=True),
    ]  # fmt: skip


def _lab_unit_cases() -> list[dict[str, Any]]:
    """Issue 22.3: labs in the units labs report, read in one place; a value no lab reports in
    its unit is a question on its field, never an action."""
    on = {"indication": "ra", "route": "iv", "weight": 70, "starting_therapy": False}
    labs = [
        ("ANC 0.9 in cells/mm³: a question, never an action", {"anc_per_mm3": 0.9}),
        ("ANC 0.9 ×10⁹/L = 900 cells/mm³: hold", {"anc_per_mm3": 0.9, "anc_unit": "e9_per_l"}),
        ("ANC 1.5 ×10³/µL = 1,500 cells/mm³", {"anc_per_mm3": 1.5, "anc_unit": "e3_per_ul"}),
        ("ANC 1,500 ×10⁹/L: too large, did you mean cells/mm³", {"anc_per_mm3": 1500, "anc_unit": "e9_per_l"}),
        ("ANC 400 cells/mm³: discontinue (a whole count is read as typed)", {"anc_per_mm3": 400}),
        ("platelets 80 ×10³/µL = 80,000: hold", {"platelets_per_mm3": 80, "platelets_unit": "e3_per_ul"}),
        ("platelets 80 cells/mm³: a question", {"platelets_per_mm3": 80}),
        ("platelets 45 ×10⁹/L: discontinue", {"platelets_per_mm3": 45, "platelets_unit": "e9_per_l"}),
        ("ALT 160 U/L, ULN 40 = 4 × ULN: hold", {"alt_x_uln": 160, "alt_unit": "u_per_l", "alt_uln_u_per_l": 40}),
        ("AST 100 U/L, ULN 33 = about 3.03 × ULN", {"ast_x_uln": 100, "ast_unit": "u_per_l", "ast_uln_u_per_l": 33}),
        ("ALT in U/L without its ULN: an error on the ULN", {"alt_x_uln": 160, "alt_unit": "u_per_l"}),
        ("ALT ULN 0: an error on the ULN", {"alt_x_uln": 160, "alt_unit": "u_per_l", "alt_uln_u_per_l": 0}),
        ("ALT 1,600 × ULN: did you mean U/L", {"alt_x_uln": 1600}),
        ("ANC in mmol/L: an error on the unit", {"anc_per_mm3": 900, "anc_unit": "mmol_per_l"}),
        ("ALT in cells/mm³: an error on the unit", {"alt_x_uln": 2, "alt_unit": "per_mm3"}),
    ]  # fmt: skip
    return [case(name, **on, labs=values) for name, values in labs]


def _error_cases() -> list[dict[str, Any]]:
    """Input outside the domain: each an error naming its field."""
    cases = []
    errors = [
        ("unknown indication", {"indication": "psoriasis", "route": "iv", "weight": 70}),
        ("sc for crs", {"indication": "crs", "route": "sc", "weight": 70}),
        ("sc for covid-19", {"indication": "covid-19", "route": "sc", "weight": 70}),
        ("iv for ssc-ild", {"indication": "ssc-ild", "route": "iv", "weight": 70}),
        ("route im", {"indication": "ra", "route": "im", "weight": 70}),
        (
            "increased for pjia",
            {"indication": "pjia", "route": "iv", "weight": 20, "step": "increased"},
        ),
        ("step loading", {"indication": "ra", "route": "iv", "weight": 70, "step": "loading"}),
        ("weight 0", {"indication": "ra", "route": "iv", "weight": 0}),
        ("weight -1", {"indication": "ra", "route": "iv", "weight": -1}),
        ("weight 500 kg", {"indication": "ra", "route": "iv", "weight": 500}),
        ("weight 500.01 kg", {"indication": "ra", "route": "iv", "weight": 500.01}),
        (
            "weight 1103 lb",
            {"indication": "ra", "route": "iv", "weight": 1103, "weight_unit": "lb"},
        ),
        ("weight 0.004 kg rounds to 0", {"indication": "ra", "route": "iv", "weight": 0.004}),
        ("weight abc", {"indication": "ra", "route": "iv", "weight": "abc"}),
        ("weight empty", {"indication": "ra", "route": "iv", "weight": ""}),
        ("weight missing", {"indication": "ra", "route": "iv", "weight": None}),
        ("weight NaN", {"indication": "ra", "route": "iv", "weight": "NaN"}),
        ("weight 1_000", {"indication": "ra", "route": "iv", "weight": "1_000"}),
        ("weight 7e1 is 70", {"indication": "ra", "route": "iv", "weight": "7e1"}),
        ("weight 8e169", {"indication": "ra", "route": "iv", "weight": 8e169}),
        ("weight 1e26", {"indication": "ra", "route": "iv", "weight": 1e26}),
        (
            "weight 1e26 lb",
            {"indication": "ra", "route": "iv", "weight": 1e26, "weight_unit": "lb"},
        ),
        ("weight 1e-999999", {"indication": "ra", "route": "iv", "weight": "1e-999999"}),
        ("weight 1e999999999", {"indication": "ra", "route": "iv", "weight": "1e999999999"}),
        (
            "weight 31 digits",
            {"indication": "ra", "route": "iv", "weight": "70.00000000000000000000000000001"},
        ),
        (
            "weight 30 digits",
            {"indication": "ra", "route": "iv", "weight": "70.0000000000000000000000000001"},
        ),
        ("age 1e30", {"indication": "ra", "route": "iv", "weight": 70, "age_years": 1e30}),
        (
            "anc 1e300",
            {"indication": "ra", "route": "iv", "weight": 70, "labs": {"anc_per_mm3": 1e300}},
        ),
        (
            "alt 1e-20",
            {
                "indication": "ra",
                "route": "iv",
                "weight": 70,
                "starting_therapy": False,
                "labs": {"alt_x_uln": 1e-20},
            },
        ),
        (
            "resuming while starting",
            {"indication": "ra", "route": "iv", "weight": 70, "resuming_after_hold": True},
        ),
        ("weight in Arabic-Indic digits", {"indication": "ra", "route": "iv", "weight": "٧٠"}),
        ("unit st", {"indication": "ra", "route": "iv", "weight": 70, "weight_unit": "st"}),
        ("age -1", {"indication": "ra", "route": "iv", "weight": 70, "age_years": -1}),
        ("age 200", {"indication": "ra", "route": "iv", "weight": 70, "age_years": 200}),
        (
            "anc negative",
            {"indication": "ra", "route": "iv", "weight": 70, "labs": {"anc_per_mm3": -5}},
        ),
        (
            "alt absurd",
            {"indication": "ra", "route": "iv", "weight": 70, "labs": {"alt_x_uln": 5000}},
        ),
        (
            "platelets text",
            {
                "indication": "ra",
                "route": "iv",
                "weight": 70,
                "labs": {"platelets_per_mm3": "lots"},
            },
        ),
    ]
    for name, inputs in errors:
        cases.append(case(f"input: {name}", **inputs))
    return cases


NY, LONDON = "America/New_York", "Europe/London"


def _repeat_cases() -> list[dict[str, Any]]:
    """Issue 22.5: repeat doses of a course (CRS 1st to 4th, COVID-19 1st or 2nd), their earliest
    start in elapsed hours across daylight-saving changes, and the inputs refused."""
    crs = {"indication": "crs", "route": "iv"}
    covid = {"indication": "covid-19", "route": "iv", "weight": 80}
    crs_adult = {**crs, "weight": 70, "age_years": 40}
    given = [
        ("crs 2nd dose, 25 kg", {**crs, "weight": 25, "dose_number": 2,
         "previous_dose_start": "2026-03-09T06:30", "time_zone": NY}),
        ("crs 3rd dose, 70 kg", {**crs, "weight": 70, "dose_number": 3,
         "previous_dose_start": "2026-06-10T22:15", "time_zone": NY}),
        ("crs 4th dose: no further dose", {**crs, "weight": 70, "dose_number": 4,
         "previous_dose_start": "2026-06-11T06:15", "time_zone": NY}),
        ("crs 1st dose as a number", {**crs, "weight": 70, "dose_number": 1}),
        ("crs 1st dose ignores a previous time", {**crs, "weight": 70, "dose_number": "1",
         "previous_dose_start": "2026-06-11T06:15"}),
        ("crs 2nd dose across the spring change: 01:30 EST + 8 h = 10:30 EDT",
         {**crs, "weight": 70, "dose_number": 2, "previous_dose_start": "2026-03-08T01:30",
          "time_zone": NY}),
        ("crs 2nd dose at the autumn change: 01:30 twice, the later (EST) + 8 h = 09:30",
         {**crs, "weight": 70, "dose_number": 2, "previous_dose_start": "2026-11-01T01:30",
          "time_zone": NY}),
        ("crs 2nd dose, seconds round up to the minute",
         {**crs, "weight": 70, "dose_number": 2, "previous_dose_start": "2026-06-11T06:15:20",
          "time_zone": NY}),
        ("covid-19 2nd infusion: the label allows no further dose",
         {**covid, "dose_number": 2, "previous_dose_start": "2026-03-29T00:30",
          "time_zone": LONDON}),
        ("covid-19 2nd infusion with an offset, written in the site zone",
         {**covid, "dose_number": 2, "previous_dose_start": "2026-03-28T23:30-05:00",
          "time_zone": LONDON}),
        ("covid-19 2nd infusion, text dose number, UTC",
         {**covid, "dose_number": "2", "previous_dose_start": "2026-07-01 09:00Z"}),
        ("covid-19 2nd infusion, platelets 40,000", {**covid, "dose_number": 2,
         "previous_dose_start": "2026-07-01T09:00", "labs": {"platelets_per_mm3": 40000}}),
        ("covid-19 2nd infusion, ANC 900 (not an initiation)", {**covid, "dose_number": 2,
         "previous_dose_start": "2026-07-01T09:00", "labs": {"anc_per_mm3": 900}}),
        ("covid-19 1st infusion, ANC 900", {**covid, "dose_number": 1,
         "labs": {"anc_per_mm3": 900}}),
        # Round 3: a `now` (the request's or the device's clock) before the earliest start is
        # a check naming it; at or after it, a give; without it, no check (the cases above).
        ("crs 2nd dose too early: now 10:00, not before 14:30", {**crs_adult, "dose_number": 2,
         "previous_dose_start": "2026-03-09T06:30", "time_zone": NY, "now": "2026-03-09T10:00"}),
        ("crs 2nd dose one minute early", {**crs_adult, "dose_number": 2,
         "previous_dose_start": "2026-03-09T06:30", "time_zone": NY, "now": "2026-03-09T14:29"}),
        ("crs 2nd dose, now 14:29:59 is read as 14:29: still early", {**crs_adult,
         "dose_number": 2, "previous_dose_start": "2026-03-09T06:30", "time_zone": NY,
         "now": "2026-03-09T14:29:59"}),
        ("crs 2nd dose at its earliest start: give", {**crs_adult, "dose_number": 2,
         "previous_dose_start": "2026-03-09T06:30", "time_zone": NY,
         "now": "2026-03-09T14:30-04:00"}),
        ("crs 2nd dose too early, confirmed", {**crs_adult, "dose_number": 2,
         "previous_dose_start": "2026-03-09T06:30", "time_zone": NY, "now": "2026-03-09T10:00",
         "confirmed": True}),
        ("crs 2nd dose, previous start later than now", {**crs_adult, "dose_number": 2,
         "previous_dose_start": "2026-03-09T16:00", "time_zone": NY, "now": "2026-03-09T10:00"}),
        ("crs 2nd dose across the spring change: now 09:45 EDT is 45 min early",
         {**crs_adult, "dose_number": 2, "previous_dose_start": "2026-03-08T01:30",
          "time_zone": NY, "now": "2026-03-08T09:45"}),
        ("crs 2nd dose at the autumn change: now 01:45 twice, read as the earlier (EDT)",
         {**crs_adult, "dose_number": 2, "previous_dose_start": "2026-10-31T18:00",
          "time_zone": NY, "now": "2026-11-01T01:45"}),
        ("crs 1st dose ignores now", {**crs_adult, "dose_number": 1, "now": "2026-03-09T10:00"}),
        ("crs 2nd dose too early, age 1: not recommended stays so", {**crs_adult,
         "dose_number": 2, "previous_dose_start": "2026-03-09T06:30", "time_zone": NY,
         "now": "2026-03-09T10:00", "age_years": 1}),
        ("covid-19 2nd infusion too early", {**covid, "dose_number": 2,
         "previous_dose_start": "2026-07-01T09:00", "now": "2026-07-01T16:59Z"}),
    ]  # fmt: skip
    refused = [
        ("covid-19 3rd infusion", {**covid, "dose_number": 3,
         "previous_dose_start": "2026-07-01T09:00"}),
        ("crs 5th dose", {**crs, "weight": 70, "dose_number": 5,
         "previous_dose_start": "2026-07-01T09:00"}),
        ("ra dose number 2", {"indication": "ra", "route": "iv", "weight": 70, "dose_number": 2}),
        ("crs 2nd dose without the previous time", {**crs, "weight": 70, "dose_number": 2}),
        ("crs 2nd dose, empty previous time", {**crs, "weight": 70, "dose_number": 2,
         "previous_dose_start": " "}),
        ("dose number 0", {**crs, "weight": 70, "dose_number": 0}),
        ("dose number two", {**crs, "weight": 70, "dose_number": "two"}),
        ("dose number 1.5", {**crs, "weight": 70, "dose_number": 1.5}),
        ("previous time skipped by the spring change", {**crs, "weight": 70, "dose_number": 2,
         "previous_dose_start": "2026-03-08T02:30", "time_zone": NY}),
        ("previous time in words", {**crs, "weight": 70, "dose_number": 2,
         "previous_dose_start": "yesterday 6pm"}),
        ("previous time 30 February", {**crs, "weight": 70, "dose_number": 2,
         "previous_dose_start": "2026-02-30T06:30"}),
        ("previous time 24:00", {**crs, "weight": 70, "dose_number": 2,
         "previous_dose_start": "2026-03-01T24:00"}),
        ("previous time year 1999", {**crs, "weight": 70, "dose_number": 2,
         "previous_dose_start": "1999-12-31T23:00"}),
        ("previous time offset +24:00", {**crs, "weight": 70, "dose_number": 2,
         "previous_dose_start": "2026-03-01T06:00+24:00"}),
        ("unknown time zone", {**crs, "weight": 70, "dose_number": 2,
         "previous_dose_start": "2026-03-01T06:00", "time_zone": "Mars/Olympus"}),
        ("now in words", {**crs, "weight": 70, "dose_number": 2,
         "previous_dose_start": "2026-03-01T06:00", "now": "now"}),
    ]  # fmt: skip
    return [case(f"repeat: {n}", **i) for n, i in given] + [
        case(f"input: {n}", **i) for n, i in refused
    ]


def safety_cases() -> list[dict[str, Any]]:
    """Issue 12's classes: band edges, persistent rises, resuming, initiation, holds, bags."""
    return [
        *_edge_cases(),
        *_persistent_cases(),
        *_resuming_cases(),
        *_initiation_and_hold_cases(),
        *_bag_cases(),
    ]


def _edge_cases() -> list[dict[str, Any]]:
    """Issue 12 classes 1-2: weights at and near the band edges."""
    cases = []
    # 1-2. Exact weights at and near the 30 kg and 100 kg edges (2 % margin: 29.4 to 30.6 kg).
    for weight in (29.995, 29.996, 29.9999, 29.4, 29.39, 29.6, 30.4, 30.6, 30.61):
        for indication, route in (("pjia", "iv"), ("sjia", "iv"), ("crs", "iv"), ("pjia", "sc")):
            cases.append(
                case(
                    f"edge {indication} {route} {weight} kg",
                    indication=indication,
                    route=route,
                    weight=weight,
                )
            )
    for weight in (98, 97.99, 99.999, 100, 102, 102.01):
        cases.append(
            case(f"edge ra sc starting {weight} kg", indication="ra", route="sc", weight=weight)
        )
        cases.append(
            case(
                f"edge ra sc increased {weight} kg",
                indication="ra",
                route="sc",
                step="increased",
                weight=weight,
            )
        )
    return cases


def _persistent_cases() -> list[dict[str, Any]]:
    """Issue 12 class 3: raised ALT, not confirmed and persistent."""
    cases = []
    # 3. The ALT/AST steps, not confirmed and persistent, both routes, every family.
    for indication, route, step in (
        ("ra", "iv", "starting"), ("ra", "iv", "increased"), ("ra", "sc", "starting"),
        ("ra", "sc", "increased"), ("gca", "iv", "starting"), ("gca", "sc", "starting"),
        ("ssc-ild", "sc", "starting"), ("pjia", "iv", "starting"),
    ):  # fmt: skip
        for value, persistent in product((1.01, 2, 3, 3.01, 5, 5.01), (False, True)):
            cases.append(
                case(
                    f"persistent {persistent} {indication} {route} {step} alt {value}",
                    indication=indication,
                    route=route,
                    step=step,
                    weight=70,
                    starting_therapy=False,
                    persistent_rise=persistent,
                    labs={"alt_x_uln": value},
                )
            )
    return cases


def _resuming_cases() -> list[dict[str, Any]]:
    """Issue 12 class 4: resuming after a lab hold."""
    cases = []
    # 4. Resuming after a lab hold, with and without a label path.
    for indication, route, step in (
        ("ra", "iv", "starting"), ("ra", "iv", "increased"), ("ra", "sc", "starting"),
        ("ra", "sc", "increased"), ("gca", "iv", "starting"), ("gca", "sc", "starting"),
        ("ssc-ild", "sc", "starting"), ("pjia", "iv", "starting"), ("sjia", "sc", "starting"),
    ):  # fmt: skip
        for weight in (70, 120):
            cases.append(
                case(
                    f"resuming {indication} {route} {step} {weight} kg",
                    indication=indication,
                    route=route,
                    step=step,
                    weight=weight,
                    starting_therapy=False,
                    resuming_after_hold=True,
                )
            )
    return cases


def _initiation_and_hold_cases() -> list[dict[str, Any]]:
    """Issue 12 classes 5-6: the increased step at initiation; holds."""
    cases = []
    # 5. The increased step at initiation, and on therapy (no warning).
    for indication, route, weight, starting in product(
        ("ra",), ("iv", "sc"), (70, 120), (True, False)
    ):
        cases.append(
            case(
                f"increased {indication} {route} {weight} kg starting {starting}",
                indication=indication,
                route=route,
                step="increased",
                weight=weight,
                starting_therapy=starting,
            )
        )
    # 6. Holds and discontinues carry no schedule (CRS and COVID-19: no repeat either).
    for indication, labs, extra in (
        ("crs", {}, {"age_years": 1}),
        ("covid-19", {"anc_per_mm3": 900}, {}),
        ("sjia", {"anc_per_mm3": 700}, {}),
        ("ra", {"platelets_per_mm3": 40000}, {}),
    ):
        cases.append(
            case(
                f"no schedule {indication} {labs} {extra}",
                indication=indication,
                route="iv",
                weight=40,
                starting_therapy=False,
                labs=labs,
                **extra,
            )
        )
    return cases


def _bag_cases() -> list[dict[str, Any]]:
    """Issue 12 classes 7-8 and 12: bags, uncapped doses, the largest vial counts."""
    cases = []
    # 7-8. Bags: adults 100 mL at any weight; uncapped doses that cannot be prepared.
    for indication, weight in product(
        ("ra", "gca", "covid-19", "pjia", "sjia", "crs"), (10, 25, 29.99, 30)
    ):
        cases.append(
            case(
                f"bag {indication} iv {weight} kg", indication=indication, route="iv", weight=weight
            )
        )
    for indication, weight in product(("pjia", "sjia"), (100, 101, 249.99, 250, 260, 500)):
        cases.append(
            case(
                f"uncapped {indication} iv {weight} kg",
                indication=indication,
                route="iv",
                weight=weight,
            )
        )
    cases.append(
        case(
            "uncapped sjia iv 66.66 kg (12 mg/kg band below)",
            indication="sjia",
            route="iv",
            weight=29.99,
        )
    )
    # 12. Vials at the largest doses.
    cases.append(case("vials pjia iv 499.99 kg", indication="pjia", route="iv", weight=499.99))
    return cases


def to_engine_inputs(inputs: dict[str, Any]) -> Any:
    """JSON inputs to engine.Inputs the way a client's JSON reaches the engine (text, not floats)."""
    from dosing import engine

    def text(value: Any) -> Any:
        return value if value is None or isinstance(value, bool | str) else str(value)

    labs = {k: text(v) for k, v in inputs.get("labs", {}).items()}
    return engine.Inputs(
        indication=inputs["indication"],
        route=inputs["route"],
        weight=text(inputs.get("weight")),
        weight_unit=inputs.get("weight_unit", "kg"),
        step=inputs.get("step", "starting"),
        age_years=text(inputs.get("age_years")),
        starting_therapy=inputs.get("starting_therapy", True),
        resuming_after_hold=inputs.get("resuming_after_hold", False),
        persistent_rise=inputs.get("persistent_rise", False),
        confirmed=inputs.get("confirmed", False),
        labs=engine.Labs(**labs),
        dose_number=inputs.get("dose_number", 1),
        previous_dose_start=inputs.get("previous_dose_start"),
        time_zone=inputs.get("time_zone", "UTC"),
        now=inputs.get("now"),
        product=inputs.get("product", "actemra"),
    )


def run(case_: dict[str, Any], rules: Any) -> dict[str, Any]:
    from dosing import engine, schemas

    try:
        result = engine.calculate(to_engine_inputs(case_["inputs"]), rules)
    except engine.InputError as error:
        return {**case_, "error": {"field": error.field, "message": error.message}}
    return {**case_, "result": schemas.result_data(result)}


def snapshot(rules: Any) -> dict[str, Any]:
    from dosing.snapshot import dump_rules

    return {**dump_rules(rules), "content_date": CONTENT_DATE}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="actemra_site.settings",
            DJANGO_DEBUG="1",
            DATABASE_URL=f"sqlite:///{tmp}/vectors.sqlite3",
        )
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        from dosing.content import current_rules

        call_command("migrate", verbosity=0)
        rules = current_rules()  # the live published version, as the app serves it
        cases = [run(c, rules) for c in build_cases(rules)]
        write_clock_vectors(rules)
        write_typed_vectors()
        write_rounding_vectors(rules)
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # One case a line: a content or engine change then reads as a diff of the cases it moved.
    lines = [json.dumps(c, ensure_ascii=False, sort_keys=True) for c in cases]
    rules_json = json.dumps(snapshot(rules), ensure_ascii=False, sort_keys=True)
    OUT.write_text('{"rules": ' + rules_json + ',\n"cases": [\n' + ",\n".join(lines) + "\n]}\n")
    errors = sum("error" in c for c in cases)
    print(f"{len(cases)} cases ({errors} input errors) -> {OUT.relative_to(ROOT)}")


CLOCK_OUT = ROOT / "tests" / "vectors" / "preparation.json"
# Clock cases for the preparation words (issue 15): month and year ends, a leap day, midnight;
# issue 22.5: each a moment (ISO 8601 with its offset) in a zone, and nights the clocks change,
# where hours are elapsed hours (New York forward on 8 March and back on 1 November 2026, London
# forward on 29 March).
NOWS = [
    ("2026-11-25T18:10+00:00", "UTC"),
    ("2026-12-31T23:59+00:00", "UTC"),
    ("2028-02-28T20:00+00:00", "UTC"),
    ("2027-01-31T00:00+00:00", "UTC"),
    ("2026-03-29T01:30+00:00", "UTC"),
    ("2026-03-08T01:30-05:00", NY),
    ("2026-10-31T22:00-04:00", NY),
    ("2026-03-28T20:00+00:00", LONDON),
    ("2026-03-28T23:59+00:00", LONDON),
]
# A repeat dose (previous start, earliest start) against several nows: too early, after, a
# previous start later than now; the earliest start across the New York spring change.
STARTS = [
    ("2026-03-08T01:30-05:00", "2026-03-08T10:30-04:00", NY,
     ["2026-03-08T00:45-05:00", "2026-03-08T09:29-04:00", "2026-03-08T10:30-04:00",
      "2026-03-08T04:00-04:00"]),
    ("2026-03-29T00:30+00:00", "2026-03-29T09:30+01:00", LONDON,
     ["2026-03-29T08:00+01:00", "2026-03-29T12:00+01:00"]),
]  # fmt: skip


def write_clock_vectors(rules: Any) -> None:
    """tests/vectors/preparation.json: next-dose, use-by and start words for fixed moments."""
    from datetime import datetime

    from dosing import engine

    next_doses = [engine.NextDose(kind="due", days=d) for d in (7, 14, 21, 28)]
    next_doses.append(engine.NextDose(kind="no_sooner", hours=8))
    storage = rules.handling.storage if rules.handling else ()
    cases: list[dict[str, Any]] = []

    def moment(now: str, zone: str) -> datetime:
        return datetime.fromisoformat(now).astimezone(engine.time_zone(zone))

    for now, zone in NOWS:
        for next_dose in [*next_doses, None]:
            data = (
                None
                if next_dose is None
                else {"kind": next_dose.kind, "days": next_dose.days, "hours": next_dose.hours}
            )
            text = engine.next_dose_text(next_dose, moment(now, zone))
            cases.append({"now": now, "zone": zone, "next_dose": data, "text": text})
        for row in storage:
            cases.append(
                {
                    "now": now,
                    "zone": zone,
                    "storage": {
                        "diluent": row.diluent,
                        "temperature": row.temperature,
                        "max_hours": row.max_hours,
                    },
                    "text": engine.use_by_text(row, moment(now, zone)),
                }
            )
    for previous, not_before, zone, nows in STARTS:
        repeat = engine.Repeat(
            additional_doses_max=3,
            min_hours_apart=8,
            condition="if no clinical improvement",
            dose_number=2,
            doses_max=4,
            previous_dose_start=previous,
            not_before=not_before,
        )
        later = engine.NextDose(kind="no_sooner", hours=8, not_before=not_before)
        for now in nows:
            start = {
                "previous_dose_start": previous,
                "not_before": not_before,
                "min_hours_apart": 8,
            }
            text = engine.start_text(repeat, moment(now, zone))
            cases.append({"now": now, "zone": zone, "start": start, "text": text})
            data = {"kind": "no_sooner", "days": None, "hours": 8, "not_before": not_before}
            text = engine.next_dose_text(later, moment(now, zone))
            cases.append({"now": now, "zone": zone, "next_dose": data, "text": text})
    lines = [json.dumps(c, ensure_ascii=False, sort_keys=True) for c in cases]
    CLOCK_OUT.write_text('{"cases": [\n' + ",\n".join(lines) + "\n]}\n")
    print(f"{len(cases)} clock cases -> {CLOCK_OUT.relative_to(ROOT)}")


ROUNDING_OUT = ROOT / "tests" / "vectors" / "rounding.json"


def rounding_on(rules: Any) -> Any:
    """The live rules with the site rounding policy turned on (it ships off): issue 22.4."""
    import dataclasses

    return dataclasses.replace(rules, rounding=dataclasses.replace(rules.rounding, enabled=True))


def rounding_cases() -> list[dict[str, Any]]:
    """Intravenous doses near, and not near, whole vials, with the policy on (issue 22.4)."""
    cases = [
        case("rounding ra iv 154 lb: 279.4 mg as 280 mg", indication="ra", route="iv",
             weight=154, weight_unit="lb"),
        case("rounding pjia iv 24.5 kg: 245 mg as 240 mg", indication="pjia", route="iv",
             weight=24.5, age_years=8),
        case("rounding ra iv 130 kg increased, capped 800 mg: already whole vials",
             indication="ra", route="iv", weight=130, step="increased", starting_therapy=False),
        case("rounding ra iv 70 kg: 280 mg, already whole vials", indication="ra", route="iv",
             weight=70),
        case("rounding ra iv 99.9 kg increased: 799.2 mg, never above the 800 mg cap",
             indication="ra", route="iv", weight=99.9, step="increased", starting_therapy=False),
        case("rounding crs iv 5 kg: 60 mg, below the smallest vial", indication="crs",
             route="iv", weight=5, confirmed=True),
        case("rounding ra sc 70 kg: no vials to round", indication="ra", route="sc", weight=70),
    ]  # fmt: skip
    for weight in (12.3, 17.7, 33.3, 45.5, 52.5, 61.23, 88.8):
        cases.append(
            case(f"rounding gca iv {weight} kg", indication="gca", route="iv", weight=weight,
                 confirmed=True)
        )  # fmt: skip
    return cases


def write_rounding_vectors(rules: Any) -> None:
    """tests/vectors/rounding.json: the site rounding policy on, in both engines (issue 22.4).
    The file holds the policy; the rest of the rules are engine.json's."""
    from dosing.snapshot import dump_rules

    rounded = rounding_on(rules)
    cases = [run(c, rounded) for c in rounding_cases()]
    policy = json.dumps(dump_rules(rounded)["rounding"], ensure_ascii=False, sort_keys=True)
    lines = [json.dumps(c, ensure_ascii=False, sort_keys=True) for c in cases]
    ROUNDING_OUT.write_text(
        '{"rounding": ' + policy + ',\n"cases": [\n' + ",\n".join(lines) + "\n]}\n"
    )
    print(f"{len(cases)} rounding cases -> {ROUNDING_OUT.relative_to(ROOT)}")


TYPED_OUT = ROOT / "tests" / "vectors" / "typed.json"
# Typed text (issue 22.3): decimal commas, thousands, the doubtful "1.500", exponents.
TYPED = [
    "70", "70.5", "70,5", " 1,5 ", "0,9", "1,500", "1.500", "12.500", "1,500.5", "1.234,5",
    "1,234.5", "1,5000", "10,000,000", "7e1", "abc", ",5", "-1,5", "1.5", "150.000",
]  # fmt: skip


def write_typed_vectors() -> None:
    """tests/vectors/typed.json: what engine.typed_number makes of typed text, count or not."""
    from dosing import engine

    cases = []
    for text, counts in product(TYPED, (False, True)):
        try:
            cases.append(
                {
                    "text": text,
                    "counts": counts,
                    "number": engine.typed_number("f", text, counts=counts),
                }
            )
        except engine.InputError as error:
            cases.append({"text": text, "counts": counts, "error": error.message})
    lines = [json.dumps(c, ensure_ascii=False, sort_keys=True) for c in cases]
    TYPED_OUT.write_text('{"cases": [\n' + ",\n".join(lines) + "\n]}\n")
    print(f"{len(cases)} typed cases -> {TYPED_OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
