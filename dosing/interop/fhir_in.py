"""FHIR R4 in: the draft MedicationRequest and the prefetched Patient and Observations, parsed
and validated by fhir.resources (R4B models read R4 JSON for these resources), reduced to the facts
the order check needs. Codes come from the rules snapshot (content), never from this module; the
units below are UCUM's and the route codes SNOMED CT's, fixed by those standards."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from dosing import engine

SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ROUTES = {"47625008": engine.Route.IV, "34206005": engine.Route.SC}

# UCUM codes to the engine's weight units.
KG, LB = engine.WeightUnit.KG, engine.WeightUnit.LB
WEIGHT_UNITS = {"kg": (KG, Decimal(1)), "g": (KG, Decimal("0.001")), "[lb_av]": (LB, Decimal(1)), "lb": (LB, Decimal(1))}  # fmt: skip
# Cell counts to cells/mm³ (= cells/µL): 10*3/uL and 10*9/L are both thousands per µL.
COUNT_UNITS = {
    "/uL": Decimal(1), "/mm3": Decimal(1), "{cells}/uL": Decimal(1), "{cells}/mm3": Decimal(1),
    "cells/uL": Decimal(1), "10*3/uL": Decimal(1000), "10*3/mm3": Decimal(1000),
    "10^3/uL": Decimal(1000), "10*9/L": Decimal(1000), "10^9/L": Decimal(1000),
}  # fmt: skip
LAB_INPUTS = ("anc_per_mm3", "platelets_per_mm3", "alt_x_uln", "ast_x_uln")
PREFETCH_KEYS = {
    "weight": "weight",
    "anc_per_mm3": "neutrophils",
    "platelets_per_mm3": "platelets",
    "alt_x_uln": "alt",
    "ast_x_uln": "ast",
}


class FhirError(ValueError):
    """A resource the FHIR library refuses; `where` names it (prefetch key or context member)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class Measured:
    """One result as the engine takes it: `name` is the engine input, `value` in its unit."""

    name: str
    value: Decimal
    unit: str
    on: date | None
    shown: str  # what the record said, for the card


@dataclass(frozen=True, slots=True)
class Problem:
    """Something missing or unusable in the record, said in words for the prescriber."""

    about: str
    summary: str  # under 140 characters: the card's summary
    message: str


def parse(model: type[Resource], data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise FhirError(where, "expected a FHIR resource (a JSON object).")
    expected = model.get_resource_type()
    if data.get("resourceType") != expected:
        raise FhirError(
            where, f"expected resourceType {expected}, got {data.get('resourceType')!r}."
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        path = ".".join(str(part) for part in first["loc"])
        raise FhirError(where, f"{expected}.{path}: {first['msg']}") from None


def entries(
    data: Any, model: type[Resource], where: str, wanted_ids: set[str] | None = None
) -> list[Any]:
    """The resources of one type in a prefetched Bundle (or the resource itself), each validated
    once by its own model. The Bundle's envelope is validated by the Bundle model without its
    resources (the library would otherwise validate each one a second time, looking its model up
    per entry); resources of other types, or not among `wanted_ids`, are not read and not parsed."""
    if data is None:
        return []
    if not (isinstance(data, dict) and data.get("resourceType") == "Bundle"):
        return [parse(model, data, where)]
    raw = data.get("entry")
    envelope = data
    if isinstance(raw, list):
        stripped = [
            {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
            for e in raw
        ]
        envelope = {**data, "entry": stripped}
    parse(Bundle, envelope, where)  # a malformed envelope or entry is refused before any reading
    wanted = model.get_resource_type()
    found = []
    for index, entry in enumerate(raw or []):
        resource = entry.get("resource")
        if resource is None:
            continue
        here = f"{where}.entry.{index}.resource"
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise FhirError(here, "expected a FHIR resource with a resourceType.")
        if resource["resourceType"] != wanted:
            continue
        if wanted_ids is not None and resource.get("id") not in wanted_ids:
            continue
        found.append(parse(model, resource, here))
    return found


def draft_orders(context: dict[str, Any]) -> list[MedicationRequest]:
    selections = context.get("selections")
    # order-select: only what the prescriber just selected is read (and so validated).
    chosen = {str(s).removeprefix("MedicationRequest/") for s in selections} if selections else None
    return entries(
        context.get("draftOrders"), MedicationRequest, "context.draftOrders", wanted_ids=chosen
    )


def code_matches(system: str | None, code: str | None, rule: engine.CodeRule) -> bool:
    if system != rule.system or not code:
        return False
    if not rule.match_subcodes:
        return code == rule.code
    # ICD-10-CM: M06 matches M06.9 and M069; dots carry no meaning for the hierarchy.
    return code.replace(".", "").upper().startswith(rule.code.replace(".", "").upper())


def codings(concepts: Iterable[Any]) -> list[tuple[str | None, str | None]]:
    return [(c.system, c.code) for concept in concepts if concept for c in concept.coding or []]


def is_drug_order(order: MedicationRequest, rules: engine.Rules) -> bool:
    drug_codes = [c for c in rules.ehr.codes if c.kind == "drug"]
    return any(
        code_matches(system, code, rule)
        for system, code in codings([order.medicationCodeableConcept])
        for rule in drug_codes
    )


def indications_of(pairs: Iterable[tuple[str | None, str | None]], rules: engine.Rules) -> set[str]:
    """Indication slugs the codes mean, exclusions applied per code (M06.4 is not RA)."""
    found: set[str] = set()
    rows = [c for c in rules.ehr.codes if c.kind == "indication"]
    for system, code in pairs:
        hits = [r for r in rows if code_matches(system, code, r)]
        excluded = {r.means for r in hits if r.excludes}
        found |= {r.means for r in hits if not r.excludes} - excluded
    return found


def order_indication(
    order: MedicationRequest,
    conditions: Callable[[set[str]], list[Condition]],
    rules: engine.Rules,
) -> tuple[str | None, Problem | None]:
    """`conditions(ids)`: the prefetched Conditions with those ids, read only when a reason
    refers to one that the order does not contain."""
    pairs = codings(order.reasonCode or [])
    contained = {r.id: r for r in order.contained or [] if isinstance(r, Condition)}
    targets = [
        (reference.reference or "").removeprefix("#").removeprefix("Condition/")
        for reference in order.reasonReference or []
    ]
    outside = {t for t in targets if t and t not in contained}
    by_id = {**{c.id: c for c in conditions(outside)}, **contained} if outside else contained
    for target in targets:
        if target in by_id:
            pairs += codings([by_id[target].code])
    slugs = indications_of(pairs, rules)
    if len(slugs) == 1:
        return slugs.pop(), None
    if not slugs:
        return None, Problem(
            "indication",
            "Tocilizumab order: no approved indication among its reasons",
            "No indication: the order's reason (reasonCode or reasonReference) has no code for "
            "an approved indication. Add the diagnosis to the order to check the dose.",
        )
    names = ", ".join(sorted(slugs))
    return None, Problem(
        "indication",
        f"Several indications in the order's reasons ({names}): keep one.",
        f"Several indications: the order's reasons (reasonCode or reasonReference) name more "
        f"than one approved indication ({names}), and the dose depends on the indication. Keep "
        "the one this order treats to check the dose.",
    )


def order_route(order: MedicationRequest) -> tuple[engine.Route | None, Problem | None]:
    for dosage in order.dosageInstruction or []:
        for system, code in codings([dosage.route]):
            if system == SNOMED and code in ROUTES:
                return ROUTES[code], None
    return None, Problem(
        "route",
        "Tocilizumab order: no intravenous or subcutaneous route",
        "No route: the dosage has no SNOMED CT route 47625008 (intravenous) or 34206005 "
        "(subcutaneous).",
    )


def ordered_dose(order: MedicationRequest) -> tuple[Decimal, str] | None:
    """The first dosage's dose as (value, "mg" or "mg/kg"), or None when absent or in another unit."""
    for dosage in order.dosageInstruction or []:
        for dose_and_rate in dosage.doseAndRate or []:
            quantity = dose_and_rate.doseQuantity
            if quantity is not None and quantity.value is not None:
                unit = quantity.code or quantity.unit
                if unit in ("mg", "mg/kg"):
                    return Decimal(quantity.value), unit
    return None


PERIOD_DAYS = {"h": Decimal(1) / 24, "d": Decimal(1), "wk": Decimal(7)}  # UCUM units of time


def ordered_interval_days(order: MedicationRequest) -> Decimal | None:
    """Days between doses from the first dosage's timing.repeat (frequency per period), if given."""
    for dosage in order.dosageInstruction or []:
        repeat = dosage.timing.repeat if dosage.timing else None
        if repeat is not None and repeat.period and repeat.periodUnit in PERIOD_DAYS:
            return Decimal(repeat.period) * PERIOD_DAYS[repeat.periodUnit] / (repeat.frequency or 1)
    return None


def age_years(patient: Patient | None, today: date) -> Decimal | None:
    if patient is None or patient.birthDate is None:
        return None
    born = patient.birthDate
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return Decimal(max(years, 0))


def _when(observation: Observation) -> date | None:
    moment = observation.effectiveDateTime or observation.issued
    if isinstance(moment, datetime):
        return moment.date()
    return moment if isinstance(moment, date) else None


def latest(observations: list[Observation], name: str, rules: engine.Rules) -> Observation | None:
    rows = [c for c in rules.ehr.codes if c.kind == "observation" and c.means == name]
    matching = [
        o
        for o in observations
        if o.status not in ("entered-in-error", "cancelled")
        and any(code_matches(s, c, r) for s, c in codings([o.code]) for r in rows)
    ]
    return max(matching, key=lambda o: _when(o) or date.min, default=None)


def measured(observation: Observation, name: str) -> Measured | Problem:
    label = "Weight" if name == "weight" else engine.LAB_NAMES[name]
    quantity = observation.valueQuantity
    on = _when(observation)
    if quantity is None or quantity.value is None:
        return Problem(
            name,
            f"{label}: no value in the latest result",
            f"{label}: the latest result has no numeric value.",
        )
    unit = quantity.code or quantity.unit or ""
    value = Decimal(quantity.value)
    shown = f"{engine.format_number(value)} {quantity.unit or unit}".strip()
    if name == "weight":
        if unit not in WEIGHT_UNITS:
            return Problem(
                name, "Weight: unit not understood", f"Weight: unit {unit!r} is not kg or [lb_av]."
            )
        engine_unit, factor = WEIGHT_UNITS[unit]
        return Measured(name, value * factor, engine_unit, on, shown)
    if name in ("anc_per_mm3", "platelets_per_mm3"):
        if unit not in COUNT_UNITS:
            return Problem(
                name,
                f"{label}: unit not understood",
                f"{label}: unit {unit!r} is not a count per µL, mm³ or L.",
            )
        return Measured(name, value * COUNT_UNITS[unit], "cells/mm³", on, shown)
    return _multiple_of_uln(observation, name, value, unit, shown, on)


def _multiple_of_uln(
    observation: Observation, name: str, value: Decimal, unit: str, shown: str, on: date | None
) -> Measured | Problem:
    label = engine.LAB_NAMES[name]
    highs = [r.high for r in observation.referenceRange or [] if r.high is not None]
    same_unit = [h.value for h in highs if h.value and (h.code or h.unit or "") == unit]
    if not same_unit:
        return Problem(
            name,
            f"{label} {shown}: no reference range, multiple of ULN unknown",
            f"{label} {shown}: no upper limit of normal in the same unit (referenceRange.high), "
            f"so the multiple of ULN is unknown. Enter it before relying on the {label} gate.",
        )
    upper = Decimal(same_unit[0])
    # Up to the next 0.01: a rounded multiple never falls below a gate the exact one crosses.
    multiple = (value / upper).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
    return Measured(
        name, multiple, "× ULN", on, f"{shown}, upper limit {engine.format_number(upper)}"
    )
