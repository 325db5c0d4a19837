"""The order check: draft tocilizumab orders in, CDS Hooks cards out, every figure from the engine.

Nothing here computes a dose. It reads the record into engine inputs, calls engine.calculate once
per dose step the label offers for that indication and route, and compares the ordered dose with
the engine's. What is missing (weight, indication, route) becomes a card that asks for it: no
dose is ever guessed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from dosing import engine

from . import fhir_in
from .fhir_in import Measured, Problem
from .schemas import Action, Card, CdsRequest, CdsResponse, Indicator, Source, Suggestion

GATED = (engine.Action.HOLD, engine.Action.NOT_RECOMMENDED, engine.Action.DISCONTINUE)
STEP_WORDS = {engine.Step.STARTING: "starting dose", engine.Step.INCREASED: "increased dose"}


@dataclass
class Facts:
    """What the record says about the patient, in engine terms, and what it failed to say."""

    age_years: Decimal | None = None
    weight: Measured | None = None
    labs: dict[str, Measured] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Conditions and earlier orders are read (so validated) only when an order needs them.
    prefetch: dict[str, Any] = field(default_factory=dict)
    _earlier: list[MedicationRequest] | None = field(default=None, repr=False)

    def conditions(self, ids: set[str]) -> list[Condition]:
        """The prefetched Conditions with these ids (the ones an order's reasonReference names)."""
        return fhir_in.entries(
            self.prefetch.get("conditions"), Condition, "prefetch.conditions", wanted_ids=ids
        )

    def earlier_orders(self) -> list[MedicationRequest] | None:
        """The prefetched tocilizumab orders; None when the EHR did not prefetch them."""
        if self.prefetch.get("tocilizumabOrders") is None:
            return None
        if self._earlier is None:
            self._earlier = fhir_in.entries(
                self.prefetch["tocilizumabOrders"], MedicationRequest, "prefetch.tocilizumabOrders"
            )
        return self._earlier


@dataclass(frozen=True)
class Context:
    rules: engine.Rules
    base_url: str
    today: date


def gather(prefetch: dict[str, Any], rules: engine.Rules, today: date) -> Facts:
    facts = Facts(prefetch=prefetch)
    patients = fhir_in.entries(prefetch.get("patient"), Patient, "prefetch.patient")
    facts.age_years = fhir_in.age_years(patients[0] if patients else None, today)
    for name, key in fhir_in.PREFETCH_KEYS.items():
        observations = fhir_in.entries(prefetch.get(key), Observation, f"prefetch.{key}")
        found = fhir_in.latest(observations, name, rules)
        if found is None:
            continue
        reading = fhir_in.measured(found, name)
        if isinstance(reading, Problem):
            facts.problems.append(reading)
        elif name == "weight":
            facts.weight = reading
        else:
            facts.labs[name] = reading
    if facts.weight is None and not any(p.about == "weight" for p in facts.problems):
        facts.problems.append(
            Problem(
                "weight",
                "No body weight in the record: record one to check this tocilizumab order",
                "No body weight in the record (LOINC 29463-7): record the weight to check this "
                "order. No dose is calculated without it.",
            )
        )
    return facts


def check(request: CdsRequest, ctx: Context) -> CdsResponse:
    """Cards for every draft tocilizumab order in the request; other drugs get none."""
    orders = [
        o for o in fhir_in.draft_orders(request.context) if fhir_in.is_drug_order(o, ctx.rules)
    ]
    if not orders:
        return CdsResponse(cards=[])
    facts = gather(request.prefetch or {}, ctx.rules, ctx.today)
    cards: list[Card] = []
    for order in orders:
        cards += order_cards(order, facts, ctx)
    return CdsResponse(cards=cards)


def _therapy(order: MedicationRequest, facts: Facts, rules: engine.Rules) -> tuple[str, str]:
    """ "on", "starting" or "unknown" (no tocilizumabOrders prefetched), and the words for the card."""
    if order.priorPrescription is not None:
        return "on", "on therapy (the order names a prior prescription)"
    prefetched = facts.earlier_orders()
    if prefetched is None:
        return "unknown", "starting therapy for the lab limits (no earlier orders were prefetched)"
    earlier = [
        o
        for o in prefetched
        if o.id != order.id
        and o.status in ("active", "completed", "on-hold")
        and fhir_in.is_drug_order(o, rules)
    ]
    if earlier:
        return "on", "on therapy (an earlier tocilizumab order is in the record)"
    return "starting", "starting therapy (no earlier tocilizumab order in the record)"


def order_cards(order: MedicationRequest, facts: Facts, ctx: Context) -> list[Card]:
    indication, indication_problem = fhir_in.order_indication(order, facts.conditions, ctx.rules)
    route, route_problem = fhir_in.order_route(order)
    problems = [p for p in (indication_problem, route_problem) if p] + facts.problems
    cards = [_problem_card(p, ctx) for p in problems]
    stale = _stale(facts, ctx)
    if stale:
        cards.append(stale)
    if indication is None or route is None or facts.weight is None:
        return cards  # asked for above; never a guessed dose
    state, therapy = _therapy(order, facts, ctx.rules)
    try:
        results = _results(indication, route, facts, state == "on", ctx.rules)
    except engine.InputError as error:
        cards.append(
            _card(
                f"Tocilizumab order not checked: {error.message}"[:140],
                "warning",
                f"The record gives a value the calculator does not accept ({error.field}): "
                f"{error.message}",
                ctx,
            )
        )
        return cards
    # A patient starting therapy gets the starting dose (the label increases it on response).
    chosen = results[0] if state == "starting" else _chosen(results, fhir_in.ordered_dose(order))
    if chosen.action in GATED:
        cards.insert(0, _gate_card(chosen, therapy, facts, ctx))
        return cards
    cards.insert(0, _dose_card(order, chosen, results, therapy, facts, ctx))
    cards.append(_preparation_card(chosen, ctx))
    return cards


def _results(
    indication: str, route: engine.Route, facts: Facts, on_therapy: bool, rules: engine.Rules
) -> list[engine.Result]:
    assert facts.weight is not None
    steps = [
        step
        for step in engine.Step
        if any(
            d.indication == indication and d.route == route and d.step == step
            for d in rules.dose_rules
        )
    ] or [engine.Step.STARTING]  # none: the engine names what is wrong
    labs = engine.Labs(**{name: m.value for name, m in facts.labs.items()})
    return [
        engine.calculate(
            engine.Inputs(
                indication=indication,
                route=route,
                weight=facts.weight.value,
                weight_unit=facts.weight.unit,
                step=step,
                age_years=facts.age_years,
                starting_therapy=not on_therapy,
                labs=labs,
            ),
            rules,
        )
        for step in steps
    ]


def ordered_mg(ordered: tuple[Decimal, str] | None, weight_kg: Decimal) -> Decimal | None:
    if ordered is None:
        return None
    value, unit = ordered
    return value if unit == "mg" else engine.quantize(value * weight_kg, engine.DOSE_PLACES)


def _chosen(results: list[engine.Result], ordered: tuple[Decimal, str] | None) -> engine.Result:
    """The step the order means: its mg/kg when ordered per kg, else the nearest dose."""
    giving = [r for r in results if r.dose_mg is not None]
    if ordered is None or not giving:
        return results[0]
    if ordered[1] == "mg/kg":
        same = [r for r in giving if r.mg_per_kg == ordered[0]]
        if same:
            return same[0]
    mg = ordered_mg(ordered, giving[0].weight_kg)
    assert mg is not None
    return min(giving, key=lambda r: abs(mg - r.dose_mg))  # type: ignore[operator]


def _url(ctx: Context, anchor: str) -> str:
    return f"{ctx.base_url}/monograph/#{anchor}" if anchor else f"{ctx.base_url}/monograph/"


def _card(
    summary: str,
    indicator: Indicator,
    detail: str,
    ctx: Context,
    *,
    reference: engine.Reference | None = None,
    suggestions: list[Suggestion] | None = None,
) -> Card:
    section = f", PI section {reference.label_section}" if reference else ""
    return Card(
        uuid=str(uuid.uuid4()),
        summary=summary if len(summary) <= 140 else summary[:139] + "…",
        indicator=indicator,
        detail=detail,
        source=Source(
            label=f"ACTEMRA US label{section} (content v{ctx.rules.content_version})",
            url=_url(ctx, reference.anchor if reference else ""),
        ),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
    )


def _problem_card(problem: Problem, ctx: Context) -> Card:
    return _card(problem.summary, "warning", problem.message, ctx)


def _stale(facts: Facts, ctx: Context) -> Card | None:
    days = ctx.rules.ehr.lab_max_age_days
    if days is None:
        return None
    readings = [r for r in [facts.weight, *facts.labs.values()] if r is not None]
    old = [r for r in readings if r.on is None or (ctx.today - r.on).days > days]
    if not old:
        return None
    names = ", ".join(_label(r.name) for r in old)
    lines = "\n".join(f"- {_label(r.name)} {r.shown} on {r.on or 'an unknown date'}" for r in old)
    return _card(
        f"Results older than {days} days: {names}",
        "warning",
        f"These results are older than the {days} days set in content; repeat them before "
        f"relying on the check:\n\n{lines}",
        ctx,
    )


def _label(name: str) -> str:
    return "Weight" if name == "weight" else engine.LAB_NAMES[name]


def _facts_lines(result: engine.Result, therapy: str, facts: Facts) -> str:
    assert facts.weight is not None
    lines = [
        f"- **Indication:** {result.indication_name}; **route:** {result.display['route']}; "
        f"assessed as {therapy}.",
        f"- **Weight:** {facts.weight.shown} on {facts.weight.on or 'an unknown date'} "
        f"({result.display['weight']} used).",
    ]
    if facts.age_years is not None:
        lines.append(f"- **Age:** {engine.format_number(facts.age_years)} years.")
    for reading in facts.labs.values():
        lines.append(
            f"- **{_label(reading.name)}:** {reading.shown} on {reading.on or 'an unknown date'}."
        )
    return "\n".join(lines)


def _warnings(result: engine.Result) -> str:
    if not result.warnings:
        return ""
    return "\n\n**Warnings**\n\n" + "\n".join(f"- {w.message}" for w in result.warnings)


def _gate_card(result: engine.Result, therapy: str, facts: Facts, ctx: Context) -> Card:
    """Hold, do not start, discontinue: the findings that decided it come first."""
    deciding = {r.code for r in ctx.rules.lab_rules} | {"age_below_minimum"}
    findings = [w for w in result.warnings if w.code in deciding] or list(result.warnings)
    first = findings[0] if findings else None
    summary = f"{engine.HEADLINES[result.action]}: {first.message if first else ''}"
    detail = (
        f"**{engine.HEADLINES[result.action]}.** {result.next_step}\n\n"
        f"{_facts_lines(result, therapy, facts)}{_warnings(result)}"
    )
    reference = (
        engine.Reference(label_section=first.label_section, anchor=first.anchor)
        if first and first.label_section
        else None
    )
    return _card(summary, "critical", detail, ctx, reference=reference)


def _dose_text(result: engine.Result) -> str:
    return f"{engine.format_number(result.dose_mg)} mg"  # type: ignore[arg-type]


def _dose_card(
    order: MedicationRequest,
    chosen: engine.Result,
    results: list[engine.Result],
    therapy: str,
    facts: Facts,
    ctx: Context,
) -> Card:
    assert chosen.dose_mg is not None
    mg = ordered_mg(fhir_in.ordered_dose(order), chosen.weight_kg)
    tolerance_mg = chosen.dose_mg * ctx.rules.ehr.dose_tolerance_percent / 100
    over_cap = mg is not None and chosen.max_mg is not None and mg > chosen.max_mg
    dose = _dose_text(chosen)
    indicator: Indicator
    if mg is None:
        indicator = "warning"
        summary = f"Tocilizumab: no dose in mg on the order; calculated {dose}"
    elif over_cap or mg > chosen.dose_mg + tolerance_mg:
        cap = (
            f", above the label maximum {engine.format_number(chosen.max_mg)} mg"
            if over_cap and chosen.max_mg is not None  # over_cap implies it; mypy cannot see it
            else ""
        )
        indicator = "critical"
        summary = f"Tocilizumab {engine.format_number(mg)} mg exceeds the calculated {dose}{cap}"
    elif mg < chosen.dose_mg - tolerance_mg:
        indicator = "warning"
        summary = f"Tocilizumab {engine.format_number(mg)} mg is below the calculated {dose}"
    else:
        indicator = "info"
        summary = f"Tocilizumab {engine.format_number(mg)} mg matches the calculated {dose}"
    timing = _timing_line(order, results)
    if (chosen.action == engine.Action.REDUCE or "more often" in timing) and indicator == "info":
        indicator = "warning"
    steps = "\n".join(
        f"- {STEP_WORDS[r.step]}: {r.display['dose_detail']} = {_dose_text(r)}"
        for r in results
        if r.dose_mg is not None
    )
    interval = chosen.display["interval"]
    detail = (
        f"**Calculated ({STEP_WORDS[chosen.step]}):** {chosen.display['dose_detail']} = {dose}"
        f"{', ' + interval if interval else ''}.\n\n"
        f"**Ordered:** {engine.format_number(mg) + ' mg' if mg is not None else 'no dose in mg or mg/kg'}"
        f" (tolerance {engine.format_number(ctx.rules.ehr.dose_tolerance_percent)} % from content)."
        f"{timing}\n\n"
        f"**Doses the label gives this patient**\n\n{steps}\n\n"
        f"{_facts_lines(chosen, therapy, facts)}{_warnings(chosen)}"
    )
    suggestions = (
        [_suggestion(order, r, r is chosen) for r in results if r.dose_mg is not None]
        if indicator != "info"
        else []
    )
    reference = chosen.references[0] if chosen.references else None
    return _card(summary, indicator, detail, ctx, reference=reference, suggestions=suggestions)


def _timing_line(order: MedicationRequest, results: list[engine.Result]) -> str:
    days = fhir_in.ordered_interval_days(order)
    intervals = [r.interval_days for r in results if r.interval_days is not None]
    if days is None or not intervals:
        return ""
    ordered = f" Ordered every {engine.format_number(engine.quantize(days, Decimal('0.1')))} days"
    if days < min(intervals):
        return f"{ordered}: more often than the label's {engine.format_interval(min(intervals))}."
    return f"{ordered}."


def _suggestion(order: MedicationRequest, result: engine.Result, recommended: bool) -> Suggestion:
    resource = order.model_dump(mode="json", exclude_none=True)
    dosages = resource.setdefault("dosageInstruction", [{}])
    dose_and_rate = dosages[0].setdefault("doseAndRate", [{}])
    dose_and_rate[0].pop("doseRange", None)
    dose_and_rate[0]["doseQuantity"] = {
        "value": engine.as_number(result.dose_mg),
        "unit": "mg",
        "system": fhir_in.UCUM,
        "code": "mg",
    }
    text = f"{_dose_text(result)} ({STEP_WORDS[result.step]}, {result.display['dose_detail']})"
    return Suggestion(
        label=f"Change the dose to {text}"[:140],
        uuid=str(uuid.uuid4()),
        isRecommended=recommended,
        actions=[
            Action(
                type="update",
                description=f"Set the tocilizumab dose to {text}.",
                resource=resource,
            )
        ],
    )


def _preparation_card(result: engine.Result, ctx: Context) -> Card:
    shown = result.display
    if result.route == engine.Route.IV:
        summary = f"Prepare {shown['dose']}: {shown['volume']} from {shown['vials']}"
        detail = (
            f"- Draw {shown['volume']} from {shown['vials']} ({shown['waste']}).\n"
            f"- {shown['bag']}.\n- Infuse at {shown['rate']}."
        )
        anchor = "preparation"
    else:
        summary = f"Give {shown['dose']} by {shown['route']}: {shown['devices']}"
        detail = f"- {shown['devices']}, {shown['interval']}."
        anchor = ""
    reference = next(
        (r for r in result.references if r.anchor == anchor or "preparation" in r.label_section),
        None,
    )
    return _card(summary, "info", detail, ctx, reference=reference)
