"""FHIR R4 in: a CDS Hooks request read once into typed facts (an `Order` per draft
MedicationRequest, a `Record` of the patient), from which service.py builds every card.

Only the elements the check reads are read, and each one strictly (a string where FHIR says
string, a number where it says decimal): an element that is not what FHIR R4 says becomes a
`Problem` naming it, never a guess and never a 500. Shapes FHIR R4 and the CDS Hooks examples
allow are all read: a Bundle without `type`, `medicationReference`, every `dosageInstruction` and
`doseAndRate`, unit words beside UCUM, references by id or `urn:uuid:`, partial dates. Codes come
from the rules snapshot (content), never from this module; the units are UCUM's (and the words
EHRs write for them), fixed by that standard.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, TypeVar

from dosing import engine

UCUM = "http://unitsofmeasure.org"
NDC = "http://hl7.org/fhir/sid/ndc"
_T = TypeVar("_T")
KG, LB = engine.WeightUnit.KG, engine.WeightUnit.LB

# Unit keys are matched case-insensitively with µ written u (UCUM's own codes never differ
# only by case for these units).
WEIGHT_UNITS = {
    "kg": (KG, Decimal(1)), "kilogram": (KG, Decimal(1)), "kilograms": (KG, Decimal(1)),
    "g": (KG, Decimal("0.001")), "gram": (KG, Decimal("0.001")), "grams": (KG, Decimal("0.001")),
    "[lb_av]": (LB, Decimal(1)), "lb": (LB, Decimal(1)), "lbs": (LB, Decimal(1)),
    "pound": (LB, Decimal(1)), "pounds": (LB, Decimal(1)),
}  # fmt: skip
# Cell counts to cells/mm³ (= cells/µL): 10*3/uL and 10*9/L are both thousands per µL.
COUNT_UNITS = {
    "/ul": Decimal(1), "/mm3": Decimal(1), "{cells}/ul": Decimal(1), "{cells}/mm3": Decimal(1),
    "cells/ul": Decimal(1), "cells/mm3": Decimal(1), "10*3/ul": Decimal(1000),
    "10*3/mm3": Decimal(1000), "10^3/ul": Decimal(1000), "10*9/l": Decimal(1000),
    "10^9/l": Decimal(1000), "k/ul": Decimal(1000), "x10*3/ul": Decimal(1000),
    "x10^3/ul": Decimal(1000), "thousand/ul": Decimal(1000),
}  # fmt: skip
# Enzyme activity: only to compare a value with its own reference range's unit.
ENZYME_UNITS = {"u/l": "U/L", "[iu]/l": "U/L", "iu/l": "U/L", "units/l": "U/L"}
# Dose mass units (the reference: UCUM mass units convert; anything else is unknown).
MASS_MG = {
    "mg": Decimal(1), "milligram": Decimal(1), "milligrams": Decimal(1),
    "g": Decimal(1000), "gram": Decimal(1000), "grams": Decimal(1000),
    "ug": Decimal("0.001"), "mcg": Decimal("0.001"), "microgram": Decimal("0.001"),
    "micrograms": Decimal("0.001"),
}  # fmt: skip
PER_KG = ("/kg", " per kilogram", "/kilogram", "/kg{body weight}", "/kg{bodyweight}")
HOURS = {"s": Decimal(1) / 3600, "min": Decimal(1) / 60, "h": Decimal(1), "d": Decimal(24),
         "wk": Decimal(168), "mo": Decimal(730), "a": Decimal(8766)}  # fmt: skip
DURATION_WORDS = {"hour": "h", "hours": "h", "day": "d", "days": "d", "week": "wk",
                  "weeks": "wk", "minute": "min", "minutes": "min"}  # fmt: skip
USABLE = ("final", "amended", "corrected")
PRELIMINARY = "preliminary"
COMPARATORS = ("<", "<=", ">", ">=")
PREFETCH_KEYS = {
    "weight": "weight",
    "anc_per_mm3": "neutrophils",
    "platelets_per_mm3": "platelets",
    "alt_x_uln": "alt",
    "ast_x_uln": "ast",
}
REQUIRED_PREFETCH = ("patient", "weight")  # without them no dose can be checked
STEP = Decimal("0.01")  # a bound's nearest value on the × ULN scale
CELL = Decimal(1)  # and on the count scale: counts are whole cells (the engine asks about 499.99)
DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?")  # fmt: skip


Bundleish = dict[str, dict[str, Any]]  # resources by reference


class FhirError(ValueError):
    """An element that is not what FHIR R4 says; `where` names it (JSON path in the request)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class Problem:
    """Something missing or unreadable, said in words for the prescriber."""

    about: str
    summary: str  # the card's summary (service.py fits it under 140 characters)
    message: str


def unreadable(error: FhirError, what: str) -> Problem:
    return Problem(
        what,
        f"{what.capitalize()} not read: {error.where} is not valid FHIR",
        f"The {what} could not be read: {error.where}: {error.message} Nothing in it was used; "
        "correct the record to check this order.",
    )


# ---------------------------------------------------------------------------------------------
# Strict readers of single elements


def obj(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FhirError(where, "expected a JSON object.")
    return value


def many(value: Any, where: str) -> list[Any]:
    """A 0..* element; one object where a list belongs (DSTU2/STU3 shapes, as in the CDS Hooks
    specification's own examples) is read as a list of one."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise FhirError(where, "expected a JSON array.")
    return value


def text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FhirError(where, "expected a string.")
    return value


def number(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FhirError(where, "expected a number.")
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        raise FhirError(where, "expected a number.") from None
    if not found.is_finite():
        raise FhirError(where, "expected a finite number.")
    return found


def whole(value: Any, where: str) -> int | None:
    found = number(value, where)
    if found is None:
        return None
    if found != found.to_integral_value() or found < 0:
        raise FhirError(where, "expected a non-negative integer.")
    return int(found)


def day_range(value: Any, where: str) -> tuple[date, date] | None:
    """A FHIR date, dateTime or instant as the first and last day it allows ("1970" is a year)."""
    raw = text(value, where)
    if raw is None:
        return None
    match = DATE.fullmatch(raw)
    if not match:
        raise FhirError(where, f"{raw!r} is not a FHIR date.")
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            last = (date(year + month // 12, month % 12 + 1, 1) - date.resolution) if month < 12 else date(year, 12, 31)  # fmt: skip
            return date(year, month, 1), last
        one = date(year, month, day)
    except ValueError:
        raise FhirError(where, f"{raw!r} is not a calendar date.") from None
    return one, one


def codings(concept: Any, where: str) -> list[tuple[str | None, str | None]]:
    found = []
    for index, coding in enumerate(many(obj(concept, where).get("coding"), f"{where}.coding")):
        here = f"{where}.coding.{index}"
        coding = obj(coding, here)
        found.append((text(coding.get("system"), f"{here}.system"), text(coding.get("code"), f"{here}.code")))  # fmt: skip
    return found


def unit_key(quantity: dict[str, Any], where: str) -> str:
    code = text(quantity.get("code"), f"{where}.code")
    unit = text(quantity.get("unit"), f"{where}.unit")
    return (code or unit or "").strip().replace("µ", "u").replace("μ", "u").lower()


def code_matches(system: str | None, code: str | None, rule: engine.CodeRule) -> bool:
    if system != rule.system or not code:
        return False
    if system == NDC and rule.code.count("-") == 1:
        # A product NDC (labeler-product, "65219-590") names every package of it
        # ("65219-590-10"); the hyphen keeps 65219-5901 a different product.
        return code == rule.code or code.startswith(rule.code + "-")
    if not rule.match_subcodes:
        return code == rule.code
    # ICD-10-CM: M06 matches M06.9 and M069; dots carry no meaning for the hierarchy.
    return code.replace(".", "").upper().startswith(rule.code.replace(".", "").upper())


def meanings(pairs: Iterable[tuple[str | None, str | None]], rules: engine.Rules, kind: str) -> set[str]:  # fmt: skip
    """What the codes mean, exclusions applied per code (M06.1 and M06.4 are not RA)."""
    rows = [c for c in rules.ehr.codes if c.kind == kind]
    found: set[str] = set()
    for system, code in pairs:
        hits = [r for r in rows if code_matches(system, code, r)]
        excluded = {r.means for r in hits if r.excludes}
        found |= {r.means or kind for r in hits if not r.excludes} - excluded
    return found


def products_named(pairs: Iterable[tuple[str | None, str | None]], rules: engine.Rules) -> frozenset[str]:  # fmt: skip
    """The products a medication's codes name; none for the ingredient's code alone."""
    rows = [c for c in rules.ehr.codes if c.kind == "drug" and c.product]
    return frozenset(r.product for system, code in pairs for r in rows if code_matches(system, code, r))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The prefetch: each key once, resources indexed for references


@dataclass
class Prefetch:
    """The prefetched resources by key, and every resource by reference ("Type/id", fullUrl)."""

    data: dict[str, Any]
    by_key: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)  # key -> why the EHR could not get it
    broken: dict[str, FhirError] = field(default_factory=dict)
    index: dict[str, dict[str, Any]] = field(default_factory=dict)

    def missing(self, key: str) -> bool:
        return key not in self.data

    def get(self, key: str) -> list[dict[str, Any]]:
        return self.by_key.get(key, [])

    def resolve(self, reference: str, contained: dict[str, dict[str, Any]]) -> dict[str, Any] | None:  # fmt: skip
        if reference.startswith("#"):
            return contained.get(reference[1:])
        if reference in self.index:
            return self.index[reference]
        parts = reference.rstrip("/").split("/")
        return self.index.get("/".join(parts[-2:])) if len(parts) >= 2 else None


def resources_of(
    data: Any, where: str, index: dict[str, dict[str, Any]], errors: list[FhirError]
) -> list[tuple[dict[str, Any], str]]:
    """The resources of a Bundle (of any type, or none: read as a collection) or the resource
    itself, each with where it sits; OperationOutcome entries (search outcome messages) are not
    data. An entry that cannot be read goes to `errors` and the others are still read; only a
    value that is no JSON object at all raises."""
    value = obj(data, where)
    if value.get("resourceType") != "Bundle":
        _index(value, None, index)
        return [(value, where)]
    found = []
    try:
        entries = many(value.get("entry"), f"{where}.entry")
    except FhirError as error:
        errors.append(error)
        return []
    for number_, entry in enumerate(entries):
        here = f"{where}.entry.{number_}"
        try:
            entry = obj(entry, here)
            full_url = text(entry.get("fullUrl"), f"{here}.fullUrl")
            if entry.get("resource") is None:
                continue
            resource = obj(entry["resource"], f"{here}.resource")
            rtype = text(resource.get("resourceType"), f"{here}.resource.resourceType")
            if rtype is None:
                raise FhirError(f"{here}.resource", "expected a FHIR resource with a resourceType.")  # fmt: skip
        except FhirError as error:
            errors.append(error)
            continue
        if rtype == "OperationOutcome":
            continue
        _index(resource, full_url, index)
        found.append((resource, f"{here}.resource"))
    return found


def _index(resource: dict[str, Any], full_url: str | None, index: dict[str, Any]) -> None:
    ident, rtype = resource.get("id"), resource.get("resourceType")
    if isinstance(ident, str) and ident and isinstance(rtype, str):  # others: not referable
        index.setdefault(f"{rtype}/{ident}", resource)
    if full_url:
        index.setdefault(full_url, resource)


def outcome_words(value: dict[str, Any]) -> str:
    words = []
    issues = value.get("issue")
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, dict):
            continue
        details = issue.get("details")
        said = issue.get("diagnostics") or (details.get("text") if isinstance(details, dict) else None)  # fmt: skip
        if isinstance(said, str):
            words.append(said[:200])
    return "; ".join(words) or "no reason given"


def read_prefetch(data: dict[str, Any] | None) -> Prefetch:
    found = Prefetch(data=data or {})
    for key, value in found.data.items():
        if value is None:  # the specification: no data for this query
            continue
        if isinstance(value, dict) and value.get("resourceType") == "OperationOutcome":
            found.outcomes[key] = outcome_words(value)
            continue
        errors: list[FhirError] = []
        try:
            found.by_key[key] = [r for r, _ in resources_of(value, f"prefetch.{key}", found.index, errors)]  # fmt: skip
        except FhirError as error:
            errors.append(error)
        if errors:
            found.broken[key] = errors[0]
    return found


# ---------------------------------------------------------------------------------------------
# Orders


@dataclass(frozen=True, slots=True)
class Dose:
    """One ordered dose, in mg or mg/kg (converted from the unit ordered); `high` for a range."""

    value: Decimal
    per_kg: bool
    shown: str
    where: str


@dataclass(frozen=True, slots=True)
class Timing:
    every_hours: Decimal | None  # between doses
    doses: int | None  # how many doses the timing allows (count, or bounds / interval)


@dataclass(frozen=True)
class Order:
    id: str | None
    resource: dict[str, Any]
    drug: bool | None  # None: the medication could not be read
    problems: tuple[Problem, ...] = ()
    products: frozenset[str] = frozenset()  # the products its codes name (none: ingredient only)
    prior: bool = False
    indications: frozenset[str] = frozenset()
    route: engine.Route | None = None
    route_codes: tuple[str, ...] = ()  # the codes as sent, for words
    doses: tuple[Dose, ...] = ()
    timings: tuple[Timing, ...] = ()
    status: str | None = None
    authored: date | None = None


def draft_orders(context: dict[str, Any], errors: list[FhirError]) -> tuple[list[tuple[dict[str, Any], str]], Bundleish]:  # fmt: skip
    """The draft MedicationRequests (order-select: only those selected) with where each sits."""
    selections = context.get("selections")
    chosen = None
    if isinstance(selections, list):
        chosen = {s.rsplit("/", 1)[-1] for s in selections if isinstance(s, str) and s.startswith("MedicationRequest/")}  # fmt: skip
    index: dict[str, dict[str, Any]] = {}
    found = []
    for resource, where in resources_of(context["draftOrders"], "context.draftOrders", index, errors):  # fmt: skip
        if resource.get("resourceType") != "MedicationRequest":
            continue
        ident = resource.get("id")
        if chosen is not None and not (isinstance(ident, str) and ident in chosen):
            continue
        found.append((resource, where))
    return found, index


def _contained(resource: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    found = {}
    for index, item in enumerate(many(resource.get("contained"), f"{where}.contained")):
        item = obj(item, f"{where}.contained.{index}")
        ident = text(item.get("id"), f"{where}.contained.{index}.id")
        if ident:
            found[ident] = item
    return found


def _medication(resource: dict[str, Any], where: str, refs: Prefetch, contained: Bundleish, rules: engine.Rules) -> tuple[bool | None, frozenset[str], Problem | None]:  # fmt: skip
    pairs = codings(resource.get("medicationCodeableConcept"), f"{where}.medicationCodeableConcept")  # fmt: skip
    reference = obj(resource.get("medicationReference"), f"{where}.medicationReference")
    target = text(reference.get("reference"), f"{where}.medicationReference.reference")
    if target:
        medication = refs.resolve(target, contained)
        if medication is not None and medication.get("resourceType") == "Medication":
            pairs += codings(medication.get("code"), f"{where}.medicationReference({target}).code")
        elif not pairs:
            return (
                None,
                frozenset(),
                Problem(
                    "medication",
                    "Medication order not checked: its medicationReference is not in the request",
                    f"The order names its medication by reference ({target}), and no contained or "
                    "prefetched Medication has that id: the tocilizumab check cannot tell what is "
                    "ordered.",
                ),
            )
    if not pairs:
        return (
            None,
            frozenset(),
            Problem(
                "medication",
                "Medication order not checked: it names no medication code",
                "The order has no medicationCodeableConcept coding and no medicationReference: the "
                "tocilizumab check cannot tell what is ordered.",
            ),
        )
    return bool(meanings(pairs, rules, "drug")), products_named(pairs, rules), None


def _indications(resource: dict[str, Any], where: str, refs: Prefetch, contained: Bundleish, rules: engine.Rules) -> tuple[set[str], list[Problem]]:  # fmt: skip
    pairs = []
    for index, concept in enumerate(many(resource.get("reasonCode"), f"{where}.reasonCode")):
        pairs += codings(concept, f"{where}.reasonCode.{index}")
    problems = []
    for index, item in enumerate(many(resource.get("reasonReference"), f"{where}.reasonReference")):  # fmt: skip
        here = f"{where}.reasonReference.{index}"
        target = text(obj(item, here).get("reference"), f"{here}.reference")
        if not target:
            continue
        condition = refs.resolve(target, contained)
        if condition is None:
            if "conditions" in refs.broken:
                problems.append(unreadable(refs.broken["conditions"], "conditions"))
            continue
        pairs += codings(condition.get("code"), f"{here}({target}).code")
    return meanings(pairs, rules, "indication"), problems


def _route(resource: dict[str, Any], where: str, rules: engine.Rules) -> tuple[engine.Route | None, tuple[str, ...], Problem | None]:  # fmt: skip
    routes: set[str] = set()
    sent: list[str] = []
    for index, dosage in enumerate(many(resource.get("dosageInstruction"), f"{where}.dosageInstruction")):  # fmt: skip
        here = f"{where}.dosageInstruction.{index}"
        pairs = codings(obj(dosage, here).get("route"), f"{here}.route")
        sent += [f"{s or '?'}|{c or '?'}" for s, c in pairs]
        routes |= meanings(pairs, rules, "route")
    if len(routes) == 1:
        return engine.Route(routes.pop()), tuple(sent), None
    if routes:
        return (
            None,
            tuple(sent),
            Problem(
                "route",
                "Tocilizumab order: its dosages name both routes",
                "The order's dosage instructions name both intravenous and subcutaneous routes: keep "
                "one to check the dose.",
            ),
        )
    codes = f" ({', '.join(sent)}: not a route code in content)" if sent else ""
    return (
        None,
        tuple(sent),
        Problem(
            "route",
            "Tocilizumab order: no intravenous or subcutaneous route read",
            f"No route read{codes}: the dosage needs an intravenous or subcutaneous route code "
            "(SNOMED CT, HL7 v3 or NCI, as content lists them).",
        ),
    )


def _dose(quantity: dict[str, Any], where: str) -> Dose | Problem:
    value = number(quantity.get("value"), f"{where}.value")
    if value is None:
        return Problem("dose", "Tocilizumab order: a dose has no value", f"{where} has no value.")
    if quantity.get("comparator") is not None:
        return Problem(
            "dose",
            "Tocilizumab order: a dose is a bound, not a dose",
            f"{where} has a comparator: a dose must be a quantity.",
        )
    key = unit_key(quantity, where)
    per_kg = False
    for suffix in PER_KG:
        if key.endswith(suffix):
            key, per_kg = key.removesuffix(suffix), True
            break
    shown = f"{engine.format_number(value)} {quantity.get('unit') or quantity.get('code') or ''}".strip()  # fmt: skip
    if key not in MASS_MG:
        return Problem(
            "dose",
            f"Tocilizumab order: dose unit {key or 'missing'!r} not read",
            f"The dose {shown} ({where}) is not in a mass unit (g, mg, ug) or a mass per kg: "
            "its size is unknown, so it is not checked. Order it in mg or mg/kg.",
        )
    return Dose(value * MASS_MG[key], per_kg, shown, where)


def _doses(resource: dict[str, Any], where: str) -> tuple[list[Dose], list[Problem]]:
    doses: list[Dose] = []
    problems: list[Problem] = []
    for index, dosage in enumerate(many(resource.get("dosageInstruction"), f"{where}.dosageInstruction")):  # fmt: skip
        here = f"{where}.dosageInstruction.{index}"
        dosage = obj(dosage, here)
        quantities: list[tuple[dict[str, Any], str]] = []
        if dosage.get("doseQuantity") is not None:  # DSTU2 / STU3: on the dosage itself
            quantities.append((obj(dosage["doseQuantity"], f"{here}.doseQuantity"), f"{here}.doseQuantity"))  # fmt: skip
        for number_, rate in enumerate(many(dosage.get("doseAndRate"), f"{here}.doseAndRate")):
            at = f"{here}.doseAndRate.{number_}"
            rate = obj(rate, at)
            if rate.get("doseQuantity") is not None:
                quantities.append((obj(rate["doseQuantity"], f"{at}.doseQuantity"), f"{at}.doseQuantity"))  # fmt: skip
            if rate.get("doseRange") is not None:
                span = obj(rate["doseRange"], f"{at}.doseRange")
                # A range is judged on both ends: its high end for an excess, its low for too little.
                for end in ("low", "high"):
                    if span.get(end) is not None:
                        quantities.append((obj(span[end], f"{at}.doseRange.{end}"), f"{at}.doseRange.{end}"))  # fmt: skip
        for quantity, at in quantities:
            read = _dose(quantity, at)
            (doses if isinstance(read, Dose) else problems).append(read)  # type: ignore[arg-type]
    return doses, problems


def _duration_hours(quantity: dict[str, Any], where: str) -> Decimal | None:
    value = number(quantity.get("value"), f"{where}.value")
    key = unit_key(quantity, where)
    key = DURATION_WORDS.get(key, key)
    if value is None or key not in HOURS:
        return None
    return value * HOURS[key]


def _timings(resource: dict[str, Any], where: str) -> list[Timing]:
    found = []
    for index, dosage in enumerate(many(resource.get("dosageInstruction"), f"{where}.dosageInstruction")):  # fmt: skip
        here = f"{where}.dosageInstruction.{index}.timing.repeat"
        repeat = obj(obj(obj(dosage, here).get("timing"), here).get("repeat"), here)
        if not repeat:
            continue
        period = number(repeat.get("period"), f"{here}.period")
        unit = text(repeat.get("periodUnit"), f"{here}.periodUnit")
        frequency = whole(repeat.get("frequency"), f"{here}.frequency") or 1
        frequency = max(frequency, whole(repeat.get("frequencyMax"), f"{here}.frequencyMax") or 0)
        every = None
        if period is not None and period > 0 and unit in HOURS:
            every = period * HOURS[unit] / frequency
        counts = [whole(repeat.get(k), f"{here}.{k}") for k in ("count", "countMax")]
        doses = max((c for c in counts if c is not None), default=None)
        bounds = repeat.get("boundsDuration")
        if bounds is not None and every:
            hours = _duration_hours(obj(bounds, f"{here}.boundsDuration"), f"{here}.boundsDuration")
            if hours is not None:
                within = int((hours / every).to_integral_value(rounding=ROUND_CEILING))
                doses = max(doses or 0, within, 1)
        found.append(Timing(every, doses))
    return found


def read_order(resource: dict[str, Any], where: str, refs: Prefetch, rules: engine.Rules) -> Order:
    """One MedicationRequest as facts; what cannot be read is a Problem, the rest still read."""
    ident = resource.get("id") if isinstance(resource.get("id"), str) else None
    try:
        contained = _contained(resource, where)
        drug, products, problem = _medication(resource, where, refs, contained, rules)
    except FhirError as error:
        return Order(ident, resource, None, (unreadable(error, "order"),))
    if not drug:
        return Order(ident, resource, drug, (problem,) if problem else ())
    problems: list[Problem] = []

    def attempt(read: Callable[[], _T], default: _T) -> _T:
        try:
            return read()
        except FhirError as error:  # this part is named; the others are still read
            problems.append(unreadable(error, "order"))
            return default

    no_indications: tuple[set[str], list[Problem]] = (set(), [])
    slugs, found = attempt(lambda: _indications(resource, where, refs, contained, rules), no_indications)  # fmt: skip
    problems += found
    no_route: tuple[engine.Route | None, tuple[str, ...], Problem | None] = (None, (), None)
    route, sent, route_problem = attempt(lambda: _route(resource, where, rules), no_route)
    problems += [route_problem] if route_problem else []
    no_doses: tuple[list[Dose], list[Problem]] = ([], [])
    doses, found = attempt(lambda: _doses(resource, where), no_doses)
    problems += found
    no_timings: list[Timing] = []
    timings = attempt(lambda: _timings(resource, where), no_timings)
    prior = attempt(lambda: obj(resource.get("priorPrescription"), f"{where}.priorPrescription") != {}, False)  # fmt: skip
    status = attempt(lambda: text(resource.get("status"), f"{where}.status"), None)
    authored = attempt(lambda: day_range(resource.get("authoredOn"), f"{where}.authoredOn"), None)
    return Order(
        ident,
        resource,
        True,
        tuple(problems),
        products=products,
        prior=prior,
        indications=frozenset(slugs),
        route=route,
        route_codes=sent,
        doses=tuple(doses),
        timings=tuple(timings),
        status=status,
        authored=authored[0] if authored else None,
    )


def read_orders(context: dict[str, Any], refs: Prefetch, rules: engine.Rules) -> list[Order]:
    """Raises FhirError only when draftOrders is not a JSON object (a 400); an entry that cannot
    be read is an order whose drug is unknown, with a Problem naming the entry."""
    errors: list[FhirError] = []
    found, index = draft_orders(context, errors)
    for key, value in index.items():  # a urn:uuid: reference may name a resource of the Bundle
        refs.index.setdefault(key, value)
    orders = [Order(None, {}, None, (unreadable(error, "draft order"),)) for error in errors]
    return orders + [read_order(resource, where, refs, rules) for resource, where in found]


def earlier_orders(refs: Prefetch, rules: engine.Rules) -> list[Order] | None:
    """The prefetched tocilizumab orders (None when the EHR did not prefetch them)."""
    if "tocilizumabOrders" not in refs.data or "tocilizumabOrders" in refs.outcomes:
        return None
    orders = []
    for number_, resource in enumerate(refs.get("tocilizumabOrders")):
        if resource.get("resourceType") == "MedicationRequest":
            order = read_order(resource, f"prefetch.tocilizumabOrders.{number_}", refs, rules)
            if order.drug:
                orders.append(order)
    return orders


# ---------------------------------------------------------------------------------------------
# The record: age, weight, labs


@dataclass(frozen=True, slots=True)
class AgeRange:
    """Whole years the birth date allows today (a year alone allows two ages)."""

    low: Decimal
    high: Decimal
    born: str


@dataclass(frozen=True, slots=True)
class Measured:
    """One result in engine terms. `value` is the unsafe reading; with a comparator, `ends` are
    the lowest and highest values the bound allows (the service asks if they decide differently)."""

    name: str
    value: Decimal
    comparator: str
    unit: str
    on: date | None
    status: str
    shown: str  # what the record said, for the card
    ends: tuple[Decimal, Decimal] | None = None


@dataclass
class Record:
    age: AgeRange | None = None
    weight: Measured | None = None
    labs: dict[str, Measured] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def age_range(patient: dict[str, Any], today: date) -> AgeRange | Problem | None:
    try:
        span = day_range(patient.get("birthDate"), "prefetch.patient.birthDate")
    except FhirError as error:
        return unreadable(error, "patient")
    if span is None:
        return None
    first, last = span
    if first > today:
        return Problem("age", "Birth date in the future: age unknown", f"The birth date {patient['birthDate']} is after today: correct it to check the age limits.")  # fmt: skip

    def years(born: date) -> int:
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    return AgeRange(Decimal(max(years(min(last, today)), 0)), Decimal(years(first)), patient["birthDate"])  # fmt: skip


def _when(resource: dict[str, Any], where: str, today: date) -> date | None:
    """effectiveDateTime, effectivePeriod (its end, else start), effectiveInstant or issued; a
    date after today is no date (it cannot be the latest result)."""
    period = obj(resource.get("effectivePeriod"), f"{where}.effectivePeriod")
    for value, at in (
        (resource.get("effectiveDateTime"), f"{where}.effectiveDateTime"),
        (period.get("end"), f"{where}.effectivePeriod.end"),
        (period.get("start"), f"{where}.effectivePeriod.start"),
        (resource.get("effectiveInstant"), f"{where}.effectiveInstant"),
        (resource.get("issued"), f"{where}.issued"),
    ):
        span = day_range(value, at)
        if span is not None:
            return span[0] if span[0] <= today else None
    return None


@dataclass(frozen=True, slots=True)
class _Candidate:
    resource: dict[str, Any]
    where: str
    status: str
    on: date | None


def _candidates(refs: Prefetch, key: str, name: str, rules: engine.Rules, today: date) -> tuple[list[_Candidate], list[Problem]]:  # fmt: skip
    rows = [c for c in rules.ehr.codes if c.kind == "observation" and c.means == name]
    found, problems = [], []
    for number_, resource in enumerate(refs.get(key)):
        where = f"prefetch.{key}.{number_}"
        if resource.get("resourceType") != "Observation":
            continue
        try:
            pairs = codings(resource.get("code"), f"{where}.code")
            if not any(code_matches(s, c, r) for s, c in pairs for r in rows):
                continue
            status = text(resource.get("status"), f"{where}.status") or ""
            if status not in (*USABLE, PRELIMINARY):
                continue  # entered-in-error, cancelled, registered, unknown: not a result
            found.append(_Candidate(resource, where, status, _when(resource, where, today)))
        except FhirError as error:
            problems.append(unreadable(error, _label(name)))
    return found, problems


def _label(name: str) -> str:
    return "weight" if name == "weight" else engine.LAB_NAMES[name]


def latest(candidates: list[_Candidate]) -> _Candidate | None:
    """The newest final (amended, corrected) result; a preliminary one only when none is final."""
    final = [c for c in candidates if c.status in USABLE]
    return max(final or candidates, key=lambda c: c.on or date.min, default=None)


def measured(candidate: _Candidate, name: str) -> Measured | Problem:
    where, resource = candidate.where, candidate.resource
    label = "Weight" if name == "weight" else engine.LAB_NAMES[name]
    quantity = obj(resource.get("valueQuantity"), f"{where}.valueQuantity")
    value = number(quantity.get("value"), f"{where}.valueQuantity.value")
    if value is None:
        return Problem(name, f"{label}: no value in the latest result", f"{label}: the latest result has no numeric value (valueQuantity).")  # fmt: skip
    comparator = text(quantity.get("comparator"), f"{where}.valueQuantity.comparator") or ""
    if comparator and comparator not in COMPARATORS:
        return Problem(name, f"{label}: comparator {comparator!r} not read", f"{label}: the comparator {comparator!r} is not one FHIR defines for a value (<, <=, >, >=).")  # fmt: skip
    key = unit_key(quantity, f"{where}.valueQuantity")
    shown = f"{comparator}{engine.format_number(value)} {quantity.get('unit') or quantity.get('code') or ''}".strip()  # fmt: skip
    if candidate.status == PRELIMINARY:
        shown += " (preliminary)"
    base: dict[str, Any] = {"name": name, "comparator": comparator, "on": candidate.on, "status": candidate.status}  # fmt: skip
    if name == "weight":
        if key not in WEIGHT_UNITS:
            return Problem(name, "Weight: unit not understood", f"Weight: unit {key!r} is not kg, g or lb.")  # fmt: skip
        if comparator:
            return Problem(name, f"Weight {shown} is a bound: the measured weight is needed", f"Weight {shown}: a bound is not a weight; record the measured weight to check the dose.")  # fmt: skip
        unit, factor = WEIGHT_UNITS[key]
        return Measured(value=value * factor, unit=unit, shown=shown, **base)
    if name in ("anc_per_mm3", "platelets_per_mm3"):
        if key not in COUNT_UNITS:
            return Problem(name, f"{label}: unit not understood", f"{label}: unit {key!r} is not a count per µL, mm³ or L.")  # fmt: skip
        return _bounded(value * COUNT_UNITS[key], "cells/mm³", shown, base)
    return _multiple_of_uln(resource, where, value, key, shown, base)


def _multiple_of_uln(resource: dict[str, Any], where: str, value: Decimal, key: str, shown: str, base: dict[str, Any]) -> Measured | Problem:  # fmt: skip
    """ALT/AST: the value over the result's own upper limit of normal, in the same unit."""
    name = base["name"]
    label = engine.LAB_NAMES[name]
    highs = []
    for index, ranged in enumerate(many(resource.get("referenceRange"), f"{where}.referenceRange")):  # fmt: skip
        at = f"{where}.referenceRange.{index}.high"
        high = obj(obj(ranged, f"{where}.referenceRange.{index}").get("high"), at)
        limit = number(high.get("value"), f"{at}.value")
        same_unit = ENZYME_UNITS.get(unit_key(high, at), "?") == ENZYME_UNITS.get(key, "!")
        if limit and limit > 0 and same_unit:
            highs.append(limit)
    if not highs:
        return Problem(
            name,
            f"{label} {shown}: no reference range, multiple of ULN unknown",
            f"{label} {shown}: no upper limit of normal in the same unit (referenceRange.high), "
            f"so the multiple of ULN is unknown. Enter it before relying on the {label} gate.",
        )
    upper = highs[0]
    multiple = value / upper
    if multiple.adjusted() < 20:  # beyond, no rounding matters (and the engine refuses it)
        # Up to the next 0.01: a rounded multiple never falls below a gate the exact one crosses.
        multiple = multiple.quantize(STEP, rounding=ROUND_CEILING)
    return _bounded(multiple, "× ULN", f"{shown}, upper limit {engine.format_number(upper)}", base)


def _bounded(value: Decimal, unit: str, shown: str, base: dict[str, Any]) -> Measured:
    """A comparator read on the unsafe side: the value nearest the bound that the bound allows,
    with the whole range it allows (0 up to it, or from it up to the engine's maximum)."""
    comparator = base["comparator"]
    top = engine.LAB_INPUT_MAX[base["name"]]
    if not comparator:
        return Measured(value=value, unit=unit, shown=shown, **base)
    step = CELL if unit == "cells/mm³" else STEP
    if comparator.startswith("<"):
        near = value if comparator == "<=" else max(value - step, Decimal(0))
        return Measured(value=near, unit=unit, shown=shown, ends=(Decimal(0), near), **base)
    near = value if comparator == ">=" else value + step
    return Measured(value=min(near, top), unit=unit, shown=shown, ends=(min(near, top), top), **base)  # fmt: skip


def _read_result(record: Record, refs: Prefetch, name: str, key: str, rules: engine.Rules, today: date) -> None:  # fmt: skip
    """The latest usable result of one prefetch key into the record, or the Problem saying why not."""
    candidates, problems = _candidates(refs, key, name, rules, today)
    record.problems += problems
    chosen = latest(candidates)
    if chosen is None:
        return
    try:
        reading = measured(chosen, name)
    except FhirError as error:
        reading = unreadable(error, _label(name))
    if isinstance(reading, Problem):
        record.problems.append(reading)
        return
    if chosen.status == PRELIMINARY:
        record.problems.append(
            Problem(
                name,
                f"{_label(name).capitalize()}: only a preliminary result, {reading.shown}",
                f"The latest {_label(name)} is preliminary ({reading.shown}): it is used, as no "
                "final result exists; confirm it before relying on the check.",
            )
        )
    if name == "weight":
        record.weight = reading
    else:
        record.labs[name] = reading


def read_record(refs: Prefetch, rules: engine.Rules, today: date) -> Record:
    record = Record()
    for key, why in refs.outcomes.items():
        record.problems.append(
            Problem(
                key,
                f"The EHR could not prefetch {key}: treated as missing",
                f"The EHR sent an OperationOutcome for the prefetch key {key!r} ({why}): that "
                "data is treated as missing.",
            )
        )
    for key, error in refs.broken.items():
        if key != "conditions":  # conditions are read only when an order refers to one
            record.problems.append(unreadable(error, key))
    patients = [r for r in refs.get("patient") if r.get("resourceType") == "Patient"]
    age = age_range(patients[0], today) if patients else None
    if isinstance(age, Problem):
        record.problems.append(age)
    else:
        record.age = age
    if record.age is None and not isinstance(age, Problem):
        record.problems.append(
            Problem(
                "age",
                "No birth date in the record: the label's age limits were not checked",
                "No Patient.birthDate in the prefetch: the label's age limits (children from 2 "
                "years; adults only for some indications) were not checked. Record the birth date.",
            )
        )
    for name, key in PREFETCH_KEYS.items():
        _read_result(record, refs, name, key, rules, today)
    if record.weight is None and not any(p.about in ("weight",) for p in record.problems):
        record.problems.append(
            Problem(
                "weight",
                "No body weight in the record: record one to check this tocilizumab order",
                "No body weight in the record (LOINC 29463-7): record the weight to check this "
                "order. No dose is calculated without it.",
            )
        )
    return record
