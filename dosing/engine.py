"""The dosing engine: inputs and a rules snapshot in, a result out. Standard library only.

Every clinical figure comes from `Rules` (built from the content rows by `dosing.content`); this
module holds arithmetic, ordering and wording, nothing from the label. It is mirrored in the
browser by `static/dosing/engine.mjs`; `tests/vectors/engine.json` holds the cases both must pass.

Rounding, everywhere through `quantize` (ROUND_HALF_UP):
- weight: to 0.01 kg, after converting lb (1 lb = 0.45359237 kg); bands and doses use that figure,
  so what the clinician reads is what was used;
- dose: to 0.1 mg; volume: to 0.01 mL; infusion rate: to 0.1 mL/h.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

KG_PER_LB = Decimal("0.45359237")  # exact, by international definition

WEIGHT_PLACES = Decimal("0.01")
DOSE_PLACES = Decimal("0.1")
VOLUME_PLACES = Decimal("0.01")
RATE_PLACES = Decimal("0.1")

# Values no measurement can produce: beyond these an input is a typo, not a patient.
LAB_INPUT_MAX = {
    "alt_x_uln": Decimal("1000"),
    "ast_x_uln": Decimal("1000"),
    "anc_per_mm3": Decimal("1000000"),
    "platelets_per_mm3": Decimal("10000000"),
}
AGE_INPUT_MAX_YEARS = Decimal("130")

LAB_OF_INPUT = {
    "alt_x_uln": "alt_ast",
    "ast_x_uln": "alt_ast",
    "anc_per_mm3": "anc",
    "platelets_per_mm3": "platelets",
}
LAB_NAMES = {
    "alt_x_uln": "ALT",
    "ast_x_uln": "AST",
    "anc_per_mm3": "ANC",
    "platelets_per_mm3": "Platelets",
}
LAB_UNITS = {
    "alt_x_uln": "× ULN",
    "ast_x_uln": "× ULN",
    "anc_per_mm3": "cells/mm³",
    "platelets_per_mm3": "cells/mm³",
}


class Route(enum.StrEnum):
    IV = "iv"
    SC = "sc"


ROUTE_WORDS = {Route.IV: "intravenous infusion", Route.SC: "subcutaneous injection"}
ROUTE_ADJECTIVES = {Route.IV: "intravenous", Route.SC: "subcutaneous"}


class WeightUnit(enum.StrEnum):
    KG = "kg"
    LB = "lb"


class Step(enum.StrEnum):
    STARTING = "starting"
    INCREASED = "increased"


class Action(enum.StrEnum):
    GIVE = "give"
    REDUCE = "reduce"
    HOLD = "hold"
    NOT_RECOMMENDED = "not_recommended"
    DISCONTINUE = "discontinue"


# Most severe last: several findings, the highest rank wins.
ACTION_RANK = {action: rank for rank, action in enumerate(Action)}
SEVERITY_RANK = {"danger": 0, "warning": 1, "info": 2}
ACTION_SEVERITY = {
    Action.GIVE: "info",
    Action.REDUCE: "warning",
    Action.HOLD: "warning",
    Action.NOT_RECOMMENDED: "danger",
    Action.DISCONTINUE: "danger",
}
HEADLINES = {
    Action.GIVE: "Give",
    Action.REDUCE: "Give a reduced dose",
    Action.HOLD: "Hold: do not give now",
    Action.NOT_RECOMMENDED: "Not recommended: do not give",
    Action.DISCONTINUE: "Discontinue",
}


class InputError(ValueError):
    """An input outside the domain; `field` names the input, `message` says what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ---------------------------------------------------------------------------------------------
# Rules: the content snapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    label_section: str
    evidence: str
    needs_review: bool
    anchor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicationRule:
    slug: str
    name: str
    population: str
    min_age_years: Decimal | None
    adult_only: bool
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseRule:
    indication: str
    route: Route
    step: Step
    min_weight_kg: Decimal | None
    max_weight_kg: Decimal | None
    mg_per_kg: Decimal | None
    flat_mg: Decimal | None
    interval_days: int | None
    additional_doses_max: int | None
    min_hours_apart: int | None
    repeat_condition: str
    max_mg: Decimal | None
    next_step: str
    concomitant: str
    source: Source

    def covers(self, weight_kg: Decimal) -> bool:
        return in_band(weight_kg, self.min_weight_kg, self.max_weight_kg)


@dataclass(frozen=True, slots=True, kw_only=True)
class PresentationRule:
    route: Route
    device: str
    device_label: str
    strength_mg: Decimal
    volume_ml: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class BagRule:
    min_weight_kg: Decimal | None
    max_weight_kg: Decimal | None
    bag_ml: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparationRule:
    concentration_mg_per_ml: Decimal
    diluents: str
    infusion_minutes: int
    bags: tuple[BagRule, ...]
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class LabRule:
    code: str
    lab: str
    context: str
    route: Route | None
    indications: tuple[str, ...]
    above: Decimal | None
    above_inclusive: bool
    below: Decimal | None
    below_inclusive: bool
    action: Action
    reduce_to_mg_per_kg: Decimal | None
    reduce_to_interval_days: int | None
    message: str
    source: Source

    def matches(self, value: Decimal) -> bool:
        if self.above is not None and not (
            value >= self.above if self.above_inclusive else value > self.above
        ):
            return False
        return self.below is None or (
            value <= self.below if self.below_inclusive else value < self.below
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisoryRule:
    code: str
    severity: str
    route: Route | None
    indications: tuple[str, ...]
    message: str
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class PlausibleWeightRule:
    min_age_years: Decimal
    max_age_years: Decimal | None
    min_weight_kg: Decimal
    max_weight_kg: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeRule:
    """A code (RxNorm, ICD-10-CM, SNOMED CT, LOINC) and what it means: `kind` drug, indication
    or observation; `means` the indication slug or the observed input's name (weight, anc_per_mm3...)."""

    kind: str
    system: str
    code: str
    display: str
    means: str
    match_subcodes: bool
    excludes: bool
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class EhrRules:
    codes: tuple[CodeRule, ...] = ()
    dose_tolerance_percent: Decimal = Decimal(0)
    lab_max_age_days: int | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    content_version: int
    content_date: str
    max_weight_kg: Decimal
    indications: tuple[IndicationRule, ...]
    dose_rules: tuple[DoseRule, ...]
    presentations: tuple[PresentationRule, ...]
    preparation: PreparationRule
    lab_rules: tuple[LabRule, ...]
    advisories: tuple[AdvisoryRule, ...]
    plausible_weights: tuple[PlausibleWeightRule, ...]
    # The EHR integration's codes and figures (dosing/interop); the engine itself never reads them.
    ehr: EhrRules = field(default_factory=lambda: EhrRules())

    def indication(self, slug: str) -> IndicationRule | None:
        return next((i for i in self.indications if i.slug == slug), None)


# ---------------------------------------------------------------------------------------------
# Inputs and result


@dataclass(frozen=True, slots=True, kw_only=True)
class Labs:
    alt_x_uln: Decimal | None = None
    ast_x_uln: Decimal | None = None
    anc_per_mm3: Decimal | None = None
    platelets_per_mm3: Decimal | None = None

    def given(self) -> list[tuple[str, Decimal]]:
        return [
            (name, getattr(self, name)) for name in LAB_OF_INPUT if getattr(self, name) is not None
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class Inputs:
    indication: str
    route: str
    weight: Decimal
    weight_unit: str = WeightUnit.KG
    step: str = Step.STARTING
    age_years: Decimal | None = None
    starting_therapy: bool = True
    labs: Labs = field(default_factory=Labs)


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    code: str
    severity: str
    message: str
    label_section: str = ""
    anchor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Vial:
    strength_mg: Decimal
    volume_ml: Decimal
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    device: str
    label: str
    strength_mg: Decimal
    volume_ml: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Repeat:
    additional_doses_max: int
    min_hours_apart: int
    condition: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    label_section: str
    anchor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    action: Action
    indication: str
    indication_name: str
    route: Route
    step: Step
    weight_kg: Decimal
    weight_input: Decimal
    weight_unit: WeightUnit
    dose_mg: Decimal | None
    mg_per_kg: Decimal | None
    calculated_mg: Decimal | None
    capped: bool
    max_mg: Decimal | None
    interval_days: int | None
    repeat: Repeat | None
    next_step: str
    concomitant: str
    volume_ml: Decimal | None
    vials: tuple[Vial, ...]
    vial_total_mg: Decimal | None
    waste_mg: Decimal | None
    bag_ml: Decimal | None
    diluents: str
    infusion_minutes: int | None
    rate_ml_per_hour: Decimal | None
    devices: tuple[Device, ...]
    warnings: tuple[Notice, ...]
    references: tuple[Reference, ...]
    content_version: int
    display: dict[str, str]


# ---------------------------------------------------------------------------------------------
# Numbers and words


def quantize(value: Decimal, places: Decimal) -> Decimal:
    """Round half up to `places` (Decimal("0.1") means one decimal): the one rounding rule."""
    return value.quantize(places, rounding=ROUND_HALF_UP)


def format_number(value: Decimal | int) -> str:
    """ISMP style: leading zero, no trailing zero, thousands grouped (0.9, 560, 1,200.5)."""
    text = format(Decimal(value).normalize(), "f")
    whole, _, fraction = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-") or "0"
    grouped = f"{int(whole):,}"
    return f"{sign}{grouped}.{fraction}" if fraction else f"{sign}{grouped}"


def format_interval(days: int) -> str:
    if days == 7:
        return "every week"
    if days % 7 == 0:
        return f"every {days // 7} weeks"
    return "every day" if days == 1 else f"every {days} days"


def band_label(low: Decimal | None, high: Decimal | None) -> str:
    if low is None or low == 0:
        return "any weight" if high is None else f"below {format_number(high)} kg"
    if high is None:
        return f"{format_number(low)} kg and above"
    return f"{format_number(low)} kg to below {format_number(high)} kg"


def range_label(
    above: Decimal | None, above_inclusive: bool, below: Decimal | None, below_inclusive: bool
) -> str:
    parts = []
    if above is not None:
        parts.append(f"{'≥' if above_inclusive else '>'} {format_number(above)}")
    if below is not None:
        parts.append(f"{'≤' if below_inclusive else '<'} {format_number(below)}")
    return " and ".join(parts)


def in_band(weight_kg: Decimal, low: Decimal | None, high: Decimal | None) -> bool:
    return (low is None or weight_kg >= low) and (high is None or weight_kg < high)


def band_problems(bands: Iterable[tuple[Decimal | None, Decimal | None]]) -> list[str]:
    """What is wrong with a set of half-open weight bands meant to tile 0 kg upwards exactly once."""
    ordered = sorted(bands, key=lambda band: band[0] if band[0] is not None else Decimal(0))
    problems: list[str] = []
    reached: Decimal | None = Decimal(0)
    for low, high in ordered:
        start = low if low is not None else Decimal(0)
        if reached is None or start < reached:
            problems.append(f"The bands overlap: {band_label(low, high)} overlaps another band.")
        elif start > reached:
            problems.append(
                f"The bands leave a gap from {format_number(reached)} kg to {format_number(start)} kg."
            )
        if reached is not None:
            reached = None if high is None else max(high, reached)
    if reached is not None and ordered:
        problems.append(f"No band covers {format_number(reached)} kg and above.")
    return problems


def _figure(value: Decimal | None) -> str:
    return "" if value is None else format_number(value)


# ---------------------------------------------------------------------------------------------
# Calculation


def to_kg(weight: Decimal, unit: str) -> Decimal:
    """Weight in kg rounded to 0.01 kg; lb converted exactly first."""
    return quantize(weight * KG_PER_LB if unit == WeightUnit.LB else weight, WEIGHT_PLACES)


def choose_vials(dose_mg: Decimal, vials: Sequence[PresentationRule]) -> tuple[Vial, ...]:
    """The vial combination covering the dose with the least unused drug, then the fewest vials.

    Exhaustive over counts of every strength but the smallest (which fills the rest), so the
    answer is the true optimum for any set of strengths, not a greedy guess.
    """
    strengths = sorted(vials, key=lambda vial: vial.strength_mg, reverse=True)
    if not strengths:
        return ()
    best: tuple[Decimal, int, tuple[int, ...]] | None = None

    def search(index: int, remaining: Decimal, counts: tuple[int, ...]) -> None:
        nonlocal best
        vial = strengths[index]
        if index == len(strengths) - 1:
            count = max(0, int((remaining / vial.strength_mg).to_integral_value(ROUND_CEILING)))
            full = (*counts, count)
            total = sum(
                (n * v.strength_mg for n, v in zip(full, strengths, strict=True)), Decimal(0)
            )
            key = (total - dose_mg, sum(full), full)
            if best is None or key[:2] < best[:2]:
                best = key
            return
        most = max(0, int((remaining / vial.strength_mg).to_integral_value(ROUND_CEILING)))
        for count in range(most + 1):
            search(index + 1, remaining - count * vial.strength_mg, (*counts, count))

    search(0, dose_mg, ())
    assert best is not None
    return tuple(
        Vial(strength_mg=vial.strength_mg, volume_ml=vial.volume_ml, count=count)
        for vial, count in zip(strengths, best[2], strict=True)
        if count
    )


# Plain ASCII decimal numbers only, the same syntax the browser engine accepts (Python's Decimal
# would also take "1_000", "NaN", "Infinity" and other scripts' digits).
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _parse_decimal(field_name: str, value: Any) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite():
        return value
    text = "" if value is None or isinstance(value, bool) else str(value).strip()
    if not NUMBER.fullmatch(text):
        raise InputError(field_name, "Enter a number.")
    return Decimal(text)


def _check_inputs(inputs: Inputs, rules: Rules) -> tuple[IndicationRule, Route, Step, Decimal]:
    indication = rules.indication(inputs.indication)
    if indication is None:
        known = ", ".join(i.slug for i in rules.indications)
        raise InputError(
            "indication", f"Unknown indication '{inputs.indication}'. Choose one of: {known}."
        )
    routes = [
        r
        for r in Route
        if any(d.indication == indication.slug and d.route == r for d in rules.dose_rules)
    ]
    if inputs.route not in Route.__members__.values():
        raise InputError("route", "Choose iv (intravenous) or sc (subcutaneous).")
    route = Route(inputs.route)
    if route not in routes:
        have = " or ".join(f"{r.value} ({ROUTE_ADJECTIVES[r]})" for r in routes)
        raise InputError(
            "route",
            f"The label has no {ROUTE_ADJECTIVES[route]} dosing for {indication.name}; use {have}.",
        )
    if inputs.step not in Step.__members__.values():
        raise InputError("step", "Choose starting or increased.")
    step = Step(inputs.step)
    if not any(
        d.indication == indication.slug and d.route == route and d.step == step
        for d in rules.dose_rules
    ):
        raise InputError(
            "step",
            f"The label has no increased {ROUTE_ADJECTIVES[route]} dose for {indication.name}; "
            "use starting.",
        )
    if inputs.weight_unit not in WeightUnit.__members__.values():
        raise InputError("weight_unit", "Choose kg or lb.")
    weight = _parse_decimal("weight", inputs.weight)
    limit_lb = quantize(rules.max_weight_kg / KG_PER_LB, WEIGHT_PLACES)
    allowed = (
        f"Enter a weight above 0 and up to {format_number(rules.max_weight_kg)} kg "
        f"({format_number(limit_lb)} lb)."
    )
    if weight <= 0:
        raise InputError("weight", allowed)
    weight_kg = to_kg(weight, inputs.weight_unit)
    if weight_kg <= 0 or weight_kg > rules.max_weight_kg:
        raise InputError("weight", allowed)
    if inputs.age_years is not None:
        age = _parse_decimal("age_years", inputs.age_years)
        if age < 0 or age > AGE_INPUT_MAX_YEARS:
            raise InputError("age_years", f"Enter an age from 0 to {AGE_INPUT_MAX_YEARS} years.")
    for name, value in inputs.labs.given():
        number = _parse_decimal(name, value)
        if number < 0 or number > LAB_INPUT_MAX[name]:
            raise InputError(
                name,
                f"Enter a value from 0 to {format_number(LAB_INPUT_MAX[name])} {LAB_UNITS[name]}.",
            )
    return indication, route, step, weight_kg


def _verify_notice(what: str, source: Source) -> Notice:
    return Notice(
        code="verify_label",
        severity="warning",
        message=f"Verify against the current label: {what} ({source.evidence} evidence, "
        f"PI {source.label_section}) is flagged for review.",
        label_section=source.label_section,
        anchor=source.anchor,
    )


def calculate(inputs: Inputs, rules: Rules) -> Result:
    """Dose, preparation and warnings for one patient, from the rules snapshot.

    Raises InputError for input outside the domain (the field and what is allowed). A lab value
    that means hold or discontinue is a result, not an error. Units are in the field names.
    """
    indication, route, step, weight_kg = _check_inputs(inputs, rules)
    weight = _parse_decimal("weight", inputs.weight)
    age = None if inputs.age_years is None else _parse_decimal("age_years", inputs.age_years)
    labs = [(name, _parse_decimal(name, value)) for name, value in inputs.labs.given()]

    rule = next(
        (
            d
            for d in rules.dose_rules
            if d.indication == indication.slug
            and d.route == route
            and d.step == step
            and d.covers(weight_kg)
        ),
        None,
    )
    if rule is None:
        raise InputError("weight", f"No dose rule covers {format_number(weight_kg)} kg.")

    warnings: list[Notice] = []
    # The dose rule's section first: it is the "why" behind the headline figure.
    sources: list[Source] = [rule.source, indication.source]
    action = Action.GIVE
    next_step = rule.next_step

    if indication.source.needs_review:
        warnings.append(_verify_notice(indication.name, indication.source))
    if rule.source.needs_review:
        warnings.append(_verify_notice(f"this {ROUTE_ADJECTIVES[route]} dose", rule.source))

    # Age: below the label's minimum the drug is not recommended (never silently dosed).
    if age is not None and indication.min_age_years is not None and age < indication.min_age_years:
        action = Action.NOT_RECOMMENDED
        minimum = format_number(indication.min_age_years)
        who = (
            f"adults ({minimum} years and older)"
            if indication.adult_only
            else f"patients {minimum} years and older"
        )
        warnings.append(
            Notice(
                code="age_below_minimum",
                severity="danger",
                message=f"{indication.name} is approved for {who}; this patient is "
                f"{format_number(age)} years old.",
                label_section=indication.source.label_section,
                anchor=indication.source.anchor,
            )
        )

    warnings.extend(_weight_plausibility(weight_kg, age, indication, rules))

    # Labs: every finding is explained; the most severe action wins.
    context = "starting" if inputs.starting_therapy else "on_therapy"
    reduce_mg_per_kg: Decimal | None = None
    reduce_interval: int | None = None
    for name, value in labs:
        for lab_rule in rules.lab_rules:
            if (
                lab_rule.lab == LAB_OF_INPUT[name]
                and lab_rule.context in (context, "any")
                and (lab_rule.route is None or lab_rule.route == route)
                and indication.slug in lab_rule.indications
                and lab_rule.matches(value)
            ):
                sources.append(lab_rule.source)
                warnings.append(
                    Notice(
                        code=lab_rule.code,
                        severity=ACTION_SEVERITY[lab_rule.action],
                        message=f"{LAB_NAMES[name]} {format_number(value)} {LAB_UNITS[name]}: {lab_rule.message}",
                        label_section=lab_rule.source.label_section,
                        anchor=lab_rule.source.anchor,
                    )
                )
                if lab_rule.source.needs_review:
                    warnings.append(_verify_notice(f"the {LAB_NAMES[name]} rule", lab_rule.source))
                if ACTION_RANK[lab_rule.action] > ACTION_RANK[action]:
                    action = lab_rule.action
                if lab_rule.action == Action.REDUCE:
                    if lab_rule.reduce_to_mg_per_kg is not None:
                        reduce_mg_per_kg = min(
                            filter(None, (reduce_mg_per_kg, lab_rule.reduce_to_mg_per_kg))
                        )
                    if lab_rule.reduce_to_interval_days is not None:
                        reduce_interval = max(
                            reduce_interval or 0, lab_rule.reduce_to_interval_days
                        )

    for advisory in rules.advisories:
        if indication.slug in advisory.indications and advisory.route in (None, route):
            sources.append(advisory.source)
            message = advisory.message
            if advisory.source.needs_review:
                message += (
                    f" Verify against the current label ({advisory.source.evidence} evidence)."
                )
            warnings.append(
                Notice(
                    code=advisory.code,
                    severity=advisory.severity,
                    message=message,
                    label_section=advisory.source.label_section,
                    anchor=advisory.source.anchor,
                )
            )

    gives = action in (Action.GIVE, Action.REDUCE)
    mg_per_kg = rule.mg_per_kg
    interval_days = rule.interval_days
    if action == Action.REDUCE:
        if mg_per_kg is not None and reduce_mg_per_kg is not None and reduce_mg_per_kg < mg_per_kg:
            mg_per_kg = reduce_mg_per_kg
        if (
            interval_days is not None
            and reduce_interval is not None
            and reduce_interval > interval_days
        ):
            interval_days = reduce_interval
        next_step = "Return to the usual dose as the lab values allow (see the warnings)."
    elif not gives:
        next_step = "See the warnings: the most severe finding decides."

    calculated_mg = None
    dose_mg = None
    capped = False
    if gives:
        calculated_mg = (
            quantize(weight_kg * mg_per_kg, DOSE_PLACES) if mg_per_kg is not None else rule.flat_mg
        )
        assert calculated_mg is not None
        capped = rule.max_mg is not None and calculated_mg > rule.max_mg
        dose_mg = rule.max_mg if capped else calculated_mg

    preparation = rules.preparation
    vials: tuple[Vial, ...] = ()
    devices: tuple[Device, ...] = ()
    volume_ml = vial_total_mg = waste_mg = bag_ml = rate = None
    infusion_minutes = None
    diluents = ""
    if gives and dose_mg is not None:
        on_route = [p for p in rules.presentations if p.route == route]
        if route == Route.IV:
            sources.append(preparation.source)
            volume_ml = quantize(dose_mg / preparation.concentration_mg_per_ml, VOLUME_PLACES)
            vials = choose_vials(dose_mg, on_route)
            vial_total_mg = sum((v.strength_mg * v.count for v in vials), Decimal(0))
            waste_mg = vial_total_mg - dose_mg
            bag_ml = next(
                b.bag_ml
                for b in preparation.bags
                if in_band(weight_kg, b.min_weight_kg, b.max_weight_kg)
            )
            diluents = preparation.diluents
            infusion_minutes = preparation.infusion_minutes
            rate = quantize(bag_ml * 60 / infusion_minutes, RATE_PLACES)
        else:
            devices = tuple(
                Device(
                    device=p.device,
                    label=p.device_label,
                    strength_mg=p.strength_mg,
                    volume_ml=p.volume_ml,
                )
                for p in on_route
            )
            if devices:
                first = devices[0]
                volume_ml = quantize(dose_mg / first.strength_mg * first.volume_ml, VOLUME_PLACES)

    repeat = None
    if rule.additional_doses_max is not None and rule.min_hours_apart is not None:
        repeat = Repeat(
            additional_doses_max=rule.additional_doses_max,
            min_hours_apart=rule.min_hours_apart,
            condition=rule.repeat_condition,
        )

    # Severity first; within one severity, findings about this patient before standing advisories.
    advisory_codes = {a.code for a in rules.advisories}
    warnings.sort(key=lambda w: (SEVERITY_RANK[w.severity], w.code in advisory_codes))
    references = _references(sources)
    result = Result(
        action=action,
        indication=indication.slug,
        indication_name=indication.name,
        route=route,
        step=step,
        weight_kg=weight_kg,
        weight_input=weight,
        weight_unit=WeightUnit(inputs.weight_unit),
        dose_mg=dose_mg,
        mg_per_kg=mg_per_kg if gives else None,
        calculated_mg=calculated_mg,
        capped=capped,
        max_mg=rule.max_mg,
        interval_days=interval_days,
        repeat=repeat,
        next_step=next_step,
        concomitant=rule.concomitant,
        volume_ml=volume_ml,
        vials=vials,
        vial_total_mg=vial_total_mg,
        waste_mg=waste_mg,
        bag_ml=bag_ml,
        diluents=diluents,
        infusion_minutes=infusion_minutes,
        rate_ml_per_hour=rate,
        devices=devices,
        warnings=tuple(warnings),
        references=references,
        content_version=rules.content_version,
        display={},
    )
    object.__setattr__(result, "display", describe(result))
    return result


def _weight_plausibility(
    weight_kg: Decimal, age: Decimal | None, indication: IndicationRule, rules: Rules
) -> list[Notice]:
    if not rules.plausible_weights:
        return []
    if age is None and indication.adult_only and indication.min_age_years is not None:
        age = indication.min_age_years
    if age is not None:
        rows = [
            p
            for p in rules.plausible_weights
            if p.min_age_years <= age and (p.max_age_years is None or age < p.max_age_years)
        ]
        who = (
            f"a {format_number(age)}-year-old"
            if age != indication.min_age_years or not indication.adult_only
            else "an adult"
        )
    else:
        rows = list(rules.plausible_weights)
        who = "any patient"
    if not rows:
        return []
    low = min(p.min_weight_kg for p in rows)
    high = max(p.max_weight_kg for p in rows)
    if low <= weight_kg <= high:
        return []
    return [
        Notice(
            code="weight_implausible",
            severity="warning",
            message=f"Check the weight: {format_number(weight_kg)} kg is unusual for {who} "
            f"(expected {format_number(low)} to {format_number(high)} kg). "
            "The dose below uses the weight as entered.",
        )
    ]


def _references(sources: Iterable[Source]) -> tuple[Reference, ...]:
    """Each label section once, linked to the first place that cited it."""
    seen: dict[str, Reference] = {}
    for source in sources:
        seen.setdefault(
            source.label_section,
            Reference(label_section=source.label_section, anchor=source.anchor),
        )
    return tuple(seen.values())


def describe(result: Result) -> dict[str, str]:
    """The words and figures a clinician reads, formatted once for the page and the offline app."""
    route_words = ROUTE_WORDS[result.route]
    if result.weight_unit == WeightUnit.LB:
        weight = f"{format_number(result.weight_input)} lb = {format_number(result.weight_kg)} kg"
    else:
        weight = f"{format_number(result.weight_kg)} kg"
    text = {
        "headline": HEADLINES[result.action],
        "route": route_words,
        "weight": weight,
        "dose": "",
        "dose_detail": "",
        "volume": "",
        "vials": "",
        "waste": "",
        "bag": "",
        "rate": "",
        "interval": "",
        "devices": "",
    }
    if result.dose_mg is not None:
        text["dose"] = f"{format_number(result.dose_mg)} mg"
        if result.mg_per_kg is not None:
            detail = (
                f"{format_number(result.mg_per_kg)} mg/kg × {format_number(result.weight_kg)} kg"
            )
            if result.capped:
                detail += (
                    f" = calculated {format_number(result.calculated_mg)} mg, capped at the label "
                    f"maximum {format_number(result.max_mg)} mg"
                )
            text["dose_detail"] = detail
        else:
            text["dose_detail"] = "fixed dose"
    if result.volume_ml is not None:
        text["volume"] = f"{format_number(result.volume_ml)} mL"
    if result.vials:
        text["vials"] = " + ".join(
            f"{v.count} × {format_number(v.strength_mg)} mg/{format_number(v.volume_ml)} mL "
            f"{'vial' if v.count == 1 else 'vials'}"
            for v in result.vials
        )
        text["waste"] = f"{format_number(result.waste_mg)} mg unused (discard)"
    if result.bag_ml is not None:
        text["bag"] = f"Dilute to {format_number(result.bag_ml)} mL with {result.diluents}"
        text["rate"] = (
            f"{format_number(result.rate_ml_per_hour)} mL/hour over {result.infusion_minutes} minutes"
        )
    if result.devices:
        text["devices"] = " or ".join(
            f"{d.label} {format_number(d.strength_mg)} mg/{format_number(d.volume_ml)} mL"
            for d in result.devices
        )
    if result.interval_days is not None:
        text["interval"] = format_interval(result.interval_days)
    elif result.repeat is not None:
        more = result.repeat.additional_doses_max
        text["interval"] = (
            f"single dose; {result.repeat.condition}, up to {more} additional "
            f"{'dose' if more == 1 else 'doses'} at least {result.repeat.min_hours_apart} hours apart"
        )
    return text


# ---------------------------------------------------------------------------------------------
# Plain data: rules and results as JSON-ready dicts (the API, the offline app and the vectors)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def as_number(value: Decimal | None) -> int | float | None:
    """A quantized Decimal as a JSON number: 560, never 560.0 or "560.00"."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _source_dict(source: Source) -> dict[str, Any]:
    return {
        "label_section": source.label_section,
        "evidence": source.evidence,
        "needs_review": source.needs_review,
        "anchor": source.anchor,
    }


def rules_to_dict(rules: Rules) -> dict[str, Any]:
    """The snapshot as JSON data; decimals travel as strings so no figure loses a digit."""
    return {
        "content_version": rules.content_version,
        "content_date": rules.content_date,
        "max_weight_kg": _dec(rules.max_weight_kg),
        "indications": [
            {
                "slug": i.slug,
                "name": i.name,
                "population": i.population,
                "min_age_years": _dec(i.min_age_years),
                "adult_only": i.adult_only,
                "source": _source_dict(i.source),
            }
            for i in rules.indications
        ],
        "dose_rules": [
            {
                "indication": d.indication,
                "route": d.route.value,
                "step": d.step.value,
                "min_weight_kg": _dec(d.min_weight_kg),
                "max_weight_kg": _dec(d.max_weight_kg),
                "mg_per_kg": _dec(d.mg_per_kg),
                "flat_mg": _dec(d.flat_mg),
                "interval_days": d.interval_days,
                "additional_doses_max": d.additional_doses_max,
                "min_hours_apart": d.min_hours_apart,
                "repeat_condition": d.repeat_condition,
                "max_mg": _dec(d.max_mg),
                "next_step": d.next_step,
                "concomitant": d.concomitant,
                "source": _source_dict(d.source),
            }
            for d in rules.dose_rules
        ],
        "presentations": [
            {
                "route": p.route.value,
                "device": p.device,
                "device_label": p.device_label,
                "strength_mg": _dec(p.strength_mg),
                "volume_ml": _dec(p.volume_ml),
            }
            for p in rules.presentations
        ],
        "preparation": {
            "concentration_mg_per_ml": _dec(rules.preparation.concentration_mg_per_ml),
            "diluents": rules.preparation.diluents,
            "infusion_minutes": rules.preparation.infusion_minutes,
            "bags": [
                {
                    "min_weight_kg": _dec(b.min_weight_kg),
                    "max_weight_kg": _dec(b.max_weight_kg),
                    "bag_ml": _dec(b.bag_ml),
                }
                for b in rules.preparation.bags
            ],
            "source": _source_dict(rules.preparation.source),
        },
        "lab_rules": [
            {
                "code": r.code,
                "lab": r.lab,
                "context": r.context,
                "route": r.route.value if r.route else None,
                "indications": list(r.indications),
                "above": _dec(r.above),
                "above_inclusive": r.above_inclusive,
                "below": _dec(r.below),
                "below_inclusive": r.below_inclusive,
                "action": r.action.value,
                "reduce_to_mg_per_kg": _dec(r.reduce_to_mg_per_kg),
                "reduce_to_interval_days": r.reduce_to_interval_days,
                "message": r.message,
                "source": _source_dict(r.source),
            }
            for r in rules.lab_rules
        ],
        "advisories": [
            {
                "code": a.code,
                "severity": a.severity,
                "route": a.route.value if a.route else None,
                "indications": list(a.indications),
                "message": a.message,
                "source": _source_dict(a.source),
            }
            for a in rules.advisories
        ],
        "plausible_weights": [
            {
                "min_age_years": _dec(p.min_age_years),
                "max_age_years": _dec(p.max_age_years),
                "min_weight_kg": _dec(p.min_weight_kg),
                "max_weight_kg": _dec(p.max_weight_kg),
            }
            for p in rules.plausible_weights
        ],
        "ehr": _ehr_dict(rules.ehr),
    }


def _ehr_dict(ehr: EhrRules) -> dict[str, Any]:
    return {
        "codes": [
            {
                "kind": c.kind,
                "system": c.system,
                "code": c.code,
                "display": c.display,
                "means": c.means,
                "match_subcodes": c.match_subcodes,
                "excludes": c.excludes,
                "source": _source_dict(c.source),
            }
            for c in ehr.codes
        ],
        "dose_tolerance_percent": _dec(ehr.dose_tolerance_percent),
        "lab_max_age_days": ehr.lab_max_age_days,
        "source": None if ehr.source is None else _source_dict(ehr.source),
    }


def _ehr_from_dict(data: dict[str, Any] | None) -> EhrRules:
    if data is None:
        return EhrRules()
    return EhrRules(
        codes=tuple(CodeRule(**{**c, "source": _source(c["source"])}) for c in data["codes"]),
        dose_tolerance_percent=Decimal(data["dose_tolerance_percent"]),
        lab_max_age_days=data["lab_max_age_days"],
        source=None if data["source"] is None else _source(data["source"]),
    )


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _source(data: dict[str, Any]) -> Source:
    return Source(**data)


def rules_from_dict(data: dict[str, Any]) -> Rules:
    """The inverse of rules_to_dict (used by the tests and by anyone replaying a snapshot)."""
    prep = data["preparation"]
    return Rules(
        content_version=data["content_version"],
        content_date=data["content_date"],
        max_weight_kg=Decimal(data["max_weight_kg"]),
        indications=tuple(
            IndicationRule(
                slug=i["slug"],
                name=i["name"],
                population=i["population"],
                min_age_years=_d(i["min_age_years"]),
                adult_only=i["adult_only"],
                source=_source(i["source"]),
            )
            for i in data["indications"]
        ),
        dose_rules=tuple(
            DoseRule(
                indication=d["indication"],
                route=Route(d["route"]),
                step=Step(d["step"]),
                min_weight_kg=_d(d["min_weight_kg"]),
                max_weight_kg=_d(d["max_weight_kg"]),
                mg_per_kg=_d(d["mg_per_kg"]),
                flat_mg=_d(d["flat_mg"]),
                interval_days=d["interval_days"],
                additional_doses_max=d["additional_doses_max"],
                min_hours_apart=d["min_hours_apart"],
                repeat_condition=d["repeat_condition"],
                max_mg=_d(d["max_mg"]),
                next_step=d["next_step"],
                concomitant=d["concomitant"],
                source=_source(d["source"]),
            )
            for d in data["dose_rules"]
        ),
        presentations=tuple(
            PresentationRule(
                route=Route(p["route"]),
                device=p["device"],
                device_label=p["device_label"],
                strength_mg=Decimal(p["strength_mg"]),
                volume_ml=Decimal(p["volume_ml"]),
            )
            for p in data["presentations"]
        ),
        preparation=PreparationRule(
            concentration_mg_per_ml=Decimal(prep["concentration_mg_per_ml"]),
            diluents=prep["diluents"],
            infusion_minutes=prep["infusion_minutes"],
            bags=tuple(
                BagRule(
                    min_weight_kg=_d(b["min_weight_kg"]),
                    max_weight_kg=_d(b["max_weight_kg"]),
                    bag_ml=Decimal(b["bag_ml"]),
                )
                for b in prep["bags"]
            ),
            source=_source(prep["source"]),
        ),
        lab_rules=tuple(
            LabRule(
                code=r["code"],
                lab=r["lab"],
                context=r["context"],
                route=Route(r["route"]) if r["route"] else None,
                indications=tuple(r["indications"]),
                above=_d(r["above"]),
                above_inclusive=r["above_inclusive"],
                below=_d(r["below"]),
                below_inclusive=r["below_inclusive"],
                action=Action(r["action"]),
                reduce_to_mg_per_kg=_d(r["reduce_to_mg_per_kg"]),
                reduce_to_interval_days=r["reduce_to_interval_days"],
                message=r["message"],
                source=_source(r["source"]),
            )
            for r in data["lab_rules"]
        ),
        advisories=tuple(
            AdvisoryRule(
                code=a["code"],
                severity=a["severity"],
                route=Route(a["route"]) if a["route"] else None,
                indications=tuple(a["indications"]),
                message=a["message"],
                source=_source(a["source"]),
            )
            for a in data["advisories"]
        ),
        plausible_weights=tuple(
            PlausibleWeightRule(
                min_age_years=Decimal(p["min_age_years"]),
                max_age_years=_d(p["max_age_years"]),
                min_weight_kg=Decimal(p["min_weight_kg"]),
                max_weight_kg=Decimal(p["max_weight_kg"]),
            )
            for p in data["plausible_weights"]
        ),
        ehr=_ehr_from_dict(data.get("ehr")),
    )


def result_to_dict(result: Result) -> dict[str, Any]:
    """The result as JSON data; every figure a number, rounded as the page shows it."""
    return {
        "action": result.action.value,
        "indication": result.indication,
        "indication_name": result.indication_name,
        "route": result.route.value,
        "step": result.step.value,
        "weight_kg": as_number(result.weight_kg),
        "dose_mg": as_number(result.dose_mg),
        "mg_per_kg": as_number(result.mg_per_kg),
        "calculated_mg": as_number(result.calculated_mg),
        "capped": result.capped,
        "max_mg": as_number(result.max_mg),
        "interval_days": result.interval_days,
        "repeat": None
        if result.repeat is None
        else {
            "additional_doses_max": result.repeat.additional_doses_max,
            "min_hours_apart": result.repeat.min_hours_apart,
            "condition": result.repeat.condition,
        },
        "next_step": result.next_step,
        "concomitant": result.concomitant,
        "volume_ml": as_number(result.volume_ml),
        "vials": [
            {
                "strength_mg": as_number(v.strength_mg),
                "volume_ml": as_number(v.volume_ml),
                "count": v.count,
            }
            for v in result.vials
        ],
        "vial_total_mg": as_number(result.vial_total_mg),
        "waste_mg": as_number(result.waste_mg),
        "bag_ml": as_number(result.bag_ml),
        "diluents": result.diluents,
        "infusion_minutes": result.infusion_minutes,
        "rate_ml_per_hour": as_number(result.rate_ml_per_hour),
        "devices": [
            {
                "device": d.device,
                "label": d.label,
                "strength_mg": as_number(d.strength_mg),
                "volume_ml": as_number(d.volume_ml),
            }
            for d in result.devices
        ],
        "warnings": [
            {
                "code": w.code,
                "severity": w.severity,
                "message": w.message,
                "label_section": w.label_section,
                "anchor": w.anchor,
            }
            for w in result.warnings
        ],
        "references": [
            {"label_section": r.label_section, "anchor": r.anchor} for r in result.references
        ],
        "content_version": result.content_version,
        "display": dict(result.display),
    }
