"""The order check: draft tocilizumab orders in, CDS Hooks cards out, every figure from the engine.

Nothing here computes a dose and nothing here reads FHIR: fhir_in.py reads the request once into
facts (orders, record), and the cards are built from those facts and engine.calculate. What is
missing or unreadable becomes a card that says so: no dose is ever guessed, and an order not
fully read never "matches". A bound (a comparator, a partial birth date) is judged on its unsafe
side; where its two ends decide differently, the card asks for the value.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from dosing import engine

from . import fhir_in
from .fhir_in import Measured, Order, Problem, Record
from .schemas import Action, Card, CdsRequest, CdsResponse, Indicator, Link, Source, Suggestion

GATED = (engine.Action.HOLD, engine.Action.NOT_RECOMMENDED, engine.Action.DISCONTINUE)
STEP_WORDS = {engine.Step.STARTING: "starting dose", engine.Step.INCREASED: "increased dose"}
SUMMARY_MAX = 139  # the specification: "less than 140 characters"
# The engine's notices for an IV dose the label's preparation cannot hold (reference, "Preparing
# an IV dose": no "give", no preparation; name the danger, ask for pharmacy review).
UNPREPARABLE = ("preparation_impossible", "no_bag_rule")
ROUTE_NAMES = {engine.Route.IV: "intravenous", engine.Route.SC: "subcutaneous"}
# CommonMark's backslash escapes for every character that could open markup (links, images,
# HTML, emphasis, code, headings, tables); GFM autolinks are broken at "://" and "www.".
_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z]):(?=//)|(?<=www)\.")


class PrefetchMissing(Exception):
    """Required prefetch keys absent and no FHIR server queried: the specification's 412."""

    def __init__(self, keys: list[str]) -> None:
        super().__init__(", ".join(keys))
        self.keys = keys


def md(value: object) -> str:
    """Text (content's, the EHR's, the engine's words) as Markdown that renders as that text."""
    return _AUTOLINK.sub(lambda m: "\\" + m.group(0), _MARKUP.sub(r"\\\1", str(value)))


def fit(summary: str) -> str:
    """Under 140 characters, cut at a word and marked, never mid-word."""
    summary = " ".join(summary.split())
    if len(summary) <= SUMMARY_MAX:
        return summary
    cut = summary[: SUMMARY_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


@dataclass(frozen=True)
class Context:
    rules: engine.Rules
    base_url: str
    today: date
    # The product one order names by its codes (issue 23); None: the ingredient's code only,
    # checked on the reference product's label, whose figures every biosimilar shares.
    product: engine.ProductRule | None = None
    could_be: tuple[engine.ProductRule, ...] = ()  # for an ingredient-only order

    @property
    def drug(self) -> str:
        """What the cards call the ordered drug: the product, or the ingredient."""
        return self.product.brand_name if self.product else "Tocilizumab"

    @property
    def label(self) -> engine.ProductRule | None:
        """The product whose label the figures and links come from."""
        return self.product or self.rules.reference_product()


def check(request: CdsRequest, ctx: Context) -> CdsResponse:
    """Cards for every draft tocilizumab order (and for orders whose drug cannot be read);
    other drugs get none. Raises FhirError (draftOrders unreadable) and PrefetchMissing."""
    refs = fhir_in.read_prefetch(request.prefetch)
    orders = [
        o for o in fhir_in.read_orders(request.context, refs, ctx.rules) if o.drug is not False
    ]
    if not orders:
        return CdsResponse(cards=[])
    missing = [key for key in fhir_in.REQUIRED_PREFETCH if refs.missing(key)]
    if missing:
        raise PrefetchMissing(missing)
    record = fhir_in.read_record(refs, ctx.rules, ctx.today)
    earlier = fhir_in.earlier_orders(refs, ctx.rules)
    cards: list[Card] = []
    memo: Memo = {}  # one record, so the engine's answer per indication, route and therapy
    for order in orders:
        cards += order_cards(order, record, earlier, ctx, memo)
    return CdsResponse(cards=cards)


def _therapy(order: Order, earlier: list[Order] | None) -> tuple[str, str]:
    """ "on", "starting" or "unknown" (no tocilizumabOrders prefetched), and the words for the card."""
    if order.prior:
        return "on", "on therapy (the order names a prior prescription)"
    if earlier is None:
        return "unknown", "starting therapy for the lab limits (no earlier orders were prefetched)"
    if any(_given(o, order) for o in earlier):
        return "on", "on therapy (an earlier tocilizumab order is in the record)"
    return "starting", "starting therapy (no earlier tocilizumab order in the record)"


def _given(earlier: Order, order: Order) -> bool:
    return earlier.id != order.id and earlier.status in ("active", "completed", "on-hold")


def _indication(order: Order) -> tuple[str | None, Problem | None]:
    slugs = sorted(order.indications)
    if len(slugs) == 1:
        return slugs[0], None
    if not slugs:
        return None, Problem(
            "indication",
            "Tocilizumab order: no approved indication among its reasons",
            "No indication: the order's reason (reasonCode or reasonReference) has no code for "
            "an approved indication. Add the diagnosis to the order to check the dose.",
        )
    names = ", ".join(slugs)
    return None, Problem(
        "indication",
        f"Several indications in the order's reasons ({names}): keep one.",
        f"Several indications: the order's reasons (reasonCode or reasonReference) name more "
        f"than one approved indication ({names}), and the dose depends on the indication. Keep "
        "the one this order treats to check the dose.",
    )


def order_cards(order: Order, record: Record, earlier: list[Order] | None, ctx: Context, memo: Memo | None = None) -> list[Card]:  # fmt: skip
    if order.drug is None:
        return [_problem_card(p, ctx) for p in order.problems]
    indication, indication_problem = _indication(order)
    problems = [*order.problems, *([indication_problem] if indication_problem else [])]
    problems += record.problems
    cards = [_problem_card(p, ctx) for p in problems]
    stale = _stale(record, ctx)
    if stale:
        cards.append(stale)
    ctx, product_cards, stop = _product(order, indication, ctx)
    cards += product_cards
    if stop or indication is None or order.route is None or record.weight is None:
        return cards  # asked for above; never a guessed dose
    if not any(d.indication == indication and d.route == order.route for d in ctx.rules.dose_rules):  # fmt: skip
        cards.insert(0, _unapproved_route_card(indication, order.route, ctx))
        return cards
    if ctx.product is not None and ctx.product.offers(indication, order.route) is None:
        cards.insert(0, _product_route_card(ctx.product, indication, order.route, ctx))
        return cards
    state, therapy = _therapy(order, earlier)
    try:
        results, undecided = _decided(indication, order.route, record, state == "on", ctx, memo)
    except engine.InputError as error:
        cards.insert(
            0,
            _card(
                f"{ctx.drug} order not checked: {error.message}",
                "warning",
                f"The record gives a value the calculator does not accept ({md(error.field)}): "
                f"{md(error.message)}",
                ctx,
            ),
        )
        return cards
    if undecided:
        cards.insert(0, undecided)
        return cards
    chosen = results[0] if state == "starting" else _chosen(results, order.doses)
    if chosen.action in GATED:
        cards.insert(0, _gate_card(chosen, therapy, record, ctx))
        return cards
    dose_card, preparable = _dose_card(order, chosen, results, state, therapy, record, earlier, ctx)
    cards.insert(0, dose_card)
    if preparable and not order.problems:
        cards.append(_preparation_card(chosen, ctx))
    return cards


Memo = dict[tuple[str, str, engine.Route, bool], tuple[list[engine.Result], bool]]


def _decided(
    indication: str,
    route: engine.Route,
    record: Record,
    on_therapy: bool,
    ctx: Context,
    memo: Memo | None,
) -> tuple[list[engine.Result], Card | None]:
    """The engine's results, and the card asking for a value when a bound does not decide; the
    engine runs once per indication, route and therapy of a request, however many orders."""
    key = (ctx.product.slug if ctx.product else "", indication, route, on_therapy)
    if memo is not None and key in memo:
        results, asks = memo[key]
        return results, (_undecided(indication, route, record, on_therapy, ctx, results) if asks else None)  # fmt: skip
    results = _results(indication, route, record, on_therapy, ctx)
    undecided = _undecided(indication, route, record, on_therapy, ctx, results)
    if memo is not None:
        memo[key] = (results, undecided is not None)
    return results, undecided


def _steps(indication: str, route: engine.Route, rules: engine.Rules) -> list[engine.Step]:
    return [
        step
        for step in engine.Step
        if any(
            d.indication == indication and d.route == route and d.step == step
            for d in rules.dose_rules
        )
    ] or [engine.Step.STARTING]  # none: the engine names what is wrong


def _results(
    indication: str,
    route: engine.Route,
    record: Record,
    on_therapy: bool,
    ctx: Context,
    *,
    labs: dict[str, Decimal] | None = None,
    age: Decimal | None = None,
) -> list[engine.Result]:
    """One result per dose step, on the order's product's label (its notices, its words)."""
    assert record.weight is not None
    given = {name: m.value for name, m in record.labs.items()}
    given.update(labs or {})
    years = age if age is not None else (record.age.low if record.age else None)
    inputs = engine.Inputs(
        indication=indication,
        route=route,
        weight=record.weight.value,
        weight_unit=record.weight.unit,
        age_years=years,
        starting_therapy=not on_therapy,
        labs=engine.Labs(**given),
    )
    if ctx.label is not None:
        inputs = dataclasses.replace(inputs, product=ctx.label.slug)
    return [
        engine.calculate(dataclasses.replace(inputs, step=step), ctx.rules)
        for step in _steps(indication, route, ctx.rules)
    ]


def _outcome(results: list[engine.Result]) -> list[tuple[Any, ...]]:
    return [(r.action, r.dose_mg, r.bag_ml) for r in results]


def _undecided(
    indication: str,
    route: engine.Route,
    record: Record,
    on_therapy: bool,
    ctx: Context,
    results: list[engine.Result],
) -> Card | None:
    """A bound whose two ends give different answers: the card asks for the value."""
    seen = _outcome(results)
    for reading in record.labs.values():
        if reading.ends is None:
            continue
        for end in reading.ends:
            other = _results(indication, route, record, on_therapy, ctx, labs={reading.name: end})
            if _outcome(other) != seen:
                return _ask_card(
                    f"{engine.LAB_NAMES[reading.name]} {reading.shown}",
                    "the bound allows values that change the answer",
                    [*results, *other],
                    ctx,
                )
    if record.age is not None and record.age.low != record.age.high:
        other = _results(indication, route, record, on_therapy, ctx, age=record.age.high)
        if _outcome(other) != seen:
            return _ask_card(
                f"Birth date {record.age.born}",
                f"the patient is {engine.format_number(record.age.low)} or "
                f"{engine.format_number(record.age.high)} years old, and the answer differs",
                [*results, *other],
                ctx,
            )
    return None


def _ask_card(what: str, why: str, results: list[engine.Result], ctx: Context) -> Card:
    gated = any(r.action in GATED for r in results)
    then = "it may mean do not give" if gated else "the dose depends on it"
    return _card(
        f"{what}: enter the exact value; {then}",
        "critical" if gated else "warning",
        f"**{md(what)}:** {md(why)}. Enter the exact value to check this order; until then the "
        "order is not confirmed.",
        ctx,
    )


def _chosen(results: list[engine.Result], doses: tuple[fhir_in.Dose, ...]) -> engine.Result:
    """The step the order means: its mg/kg when ordered per kg, else the nearest dose."""
    giving = [r for r in results if r.dose_mg is not None]
    if not doses or not giving:
        return results[0]
    dose = max(doses, key=lambda d: _mg(d, giving[0]))
    if dose.per_kg:
        same = [r for r in giving if r.mg_per_kg == dose.value]
        if same:
            return same[0]
    mg = _mg(dose, giving[0])
    return min(giving, key=lambda r: abs(mg - r.dose_mg))  # type: ignore[operator]


def _mg(dose: fhir_in.Dose, result: engine.Result) -> Decimal:
    """The ordered dose in mg on the exact weight the engine dosed (never the shown one)."""
    return dose.value * result.weight_kg if dose.per_kg else dose.value


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
    """`detail` is Markdown already built from md()-escaped text; the only links are ours."""
    section = f", PI section {reference.label_section}" if reference else ""
    url = _url(ctx, reference.anchor if reference else "")
    label = f"{ctx.label.brand_name} US label" if ctx.label else "US label"
    links = [Link(label=fit(f"{label}{section}"), url=url, type="absolute")]
    if ctx.product is not None and ctx.product.label_url:
        links.append(Link(label=fit(f"{label} (full text)"), url=ctx.product.label_url, type="absolute"))  # fmt: skip
    return Card(
        uuid=str(uuid.uuid4()),
        summary=fit(summary),
        indicator=indicator,
        detail=detail,
        source=Source(label=f"{label}{section} (content v{ctx.rules.content_version})", url=url),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        links=links,
    )


def _problem_card(problem: Problem, ctx: Context) -> Card:
    return _card(problem.summary, "warning", md(problem.message), ctx)


def _unapproved_route_card(indication: str, route: engine.Route, ctx: Context) -> Card:
    approved = sorted(
        {ROUTE_NAMES[d.route] for d in ctx.rules.dose_rules if d.indication == indication}
    )
    name = next((i.name for i in ctx.rules.indications if i.slug == indication), indication)
    routes = " or ".join(approved) or "none"
    return _card(
        f"{ctx.drug} {ROUTE_NAMES[route]} is not approved for {name}: the label gives {routes}",
        "critical",
        f"**Route not approved.** The label gives no {md(ROUTE_NAMES[route])} dose for "
        f"{md(name)}; its approved route is {md(routes)}. Change the route or the order.",
        ctx,
    )


def _product(order: Order, indication: str | None, ctx: Context) -> tuple[Context, list[Card], bool]:  # fmt: skip
    """The product the order's codes name (issue 23): one, and the check runs on its label;
    several, and the card asks which; none (the ingredient), and the dose card names those it
    could be. With the cards, and whether to stop before any dose."""
    named = [p for p in ctx.rules.products if p.slug in order.products]
    if len(named) > 1:
        names = ", ".join(p.brand_name for p in named)
        return ctx, [_card(
            f"Tocilizumab order names several products ({names}): keep one",
            "warning",
            f"**Several products.** The order's medication codes name {md(names)}. Their "
            "labels differ in the indications and routes they carry: keep the product "
            "dispensed to check the dose.",
            ctx,
        )], True  # fmt: skip
    if named:
        ctx = dataclasses.replace(ctx, product=named[0])
        return ctx, _notice_cards(named[0], order.route, ctx), False
    could = tuple(
        p for p in ctx.rules.products
        if indication is None or order.route is None or p.offers(indication, order.route)
    )  # fmt: skip
    return dataclasses.replace(ctx, could_be=could), [], False


def _product_name(product: engine.ProductRule) -> str:
    kind = ", biosimilar" if product.biosimilar else ""
    return f"{product.brand_name} ({product.nonproprietary_name}{kind})"


def _product_route_card(product: engine.ProductRule, indication: str, route: engine.Route, ctx: Context) -> Card:  # fmt: skip
    name = next((i.name for i in ctx.rules.indications if i.slug == indication), indication)
    carried = sorted({ROUTE_NAMES[r.route] for r in product.routes if r.indication == indication})
    routes = " or ".join(carried)
    gives = f"its label gives {routes}" if carried else "its label does not carry it"
    return _card(
        f"{product.brand_name} {ROUTE_NAMES[route]} is not labelled for {name}: {gives}",
        "critical",
        f"**Not on this product's label.** {md(_product_name(product))}: its label carries no "
        f"{md(ROUTE_NAMES[route])} use for {md(name)}"
        f"{md('; it gives ' + routes) if carried else ''}. Change the route or the product.",
        ctx,
    )


NOTICE_INDICATORS: dict[engine.Severity, Indicator] = {
    engine.Severity.DANGER: "critical",
    engine.Severity.WARNING: "warning",
    engine.Severity.INFO: "info",
}


def _notice_cards(product: engine.ProductRule, route: engine.Route | None, ctx: Context) -> list[Card]:  # fmt: skip
    """The notices content attaches to the product (a recall), while active, for this route
    (an unknown route: every notice of the product)."""
    return [
        _card(
            f"{product.brand_name}: {notice.title}",
            NOTICE_INDICATORS[notice.severity],
            f"**{md(notice.title)}.** {md(notice.text)}"
            f"{' (not confirmed: verify)' if notice.source.needs_review else ''}",
            ctx,
        )
        for notice in product.notices
        if notice.active and (notice.route is None or route is None or notice.route == route)
    ]


def _child(record: Record, ehr: engine.EhrRules) -> bool:
    """Held to the child's weight age unless the age is known to be adult."""
    return record.age is None or record.age.low < ehr.adult_from_age_years


def _max_age(reading: Measured, record: Record, ehr: engine.EhrRules) -> int | None:
    if reading.name != "weight":
        return ehr.lab_max_age_days
    if _child(record, ehr):
        return ehr.child_weight_max_age_days
    return ehr.adult_weight_max_age_days


def _too_old(reading: Measured, record: Record, ctx: Context) -> int | None:
    """The content's age limit this reading is past (an undated reading is past any limit)."""
    days = _max_age(reading, record, ctx.rules.ehr)
    if days is None:
        return None
    return days if reading.on is None or (ctx.today - reading.on).days > days else None


def old_weight(record: Record, ctx: Context) -> bool:
    """A child's weight past its age limit: a dose from it is not confirmed (the reference)."""
    weight = record.weight
    return (
        weight is not None
        and _child(record, ctx.rules.ehr)
        and _too_old(weight, record, ctx) is not None
    )


def _stale(record: Record, ctx: Context) -> Card | None:
    readings = [r for r in [record.weight, *record.labs.values()] if r is not None]
    old = [(r, days) for r in readings if (days := _too_old(r, record, ctx)) is not None]
    if not old:
        return None
    names = ", ".join(_label(r.name) for r, _ in old)
    lines = "\n".join(
        f"- {md(_label(r.name))} {md(r.shown)} on {md(r.on or 'an unknown date')} "
        f"(limit {days} days{md(_whose(r, record, ctx))})"
        for r, days in old
    )
    return _card(
        f"Results older than the content's limits: {names}",
        "warning",
        f"These results are older than the ages set in content (local policy); repeat them "
        f"before relying on the check:\n\n{lines}",
        ctx,
    )


def _whose(reading: Measured, record: Record, ctx: Context) -> str:
    if reading.name != "weight":
        return ""
    if not _child(record, ctx.rules.ehr):
        return " for an adult's weight"
    return (
        " for a child's weight" if record.age is not None else " for a child's weight: age unknown"
    )


def _label(name: str) -> str:
    return "Weight" if name == "weight" else engine.LAB_NAMES[name]


def _product_line(ctx: Context) -> str:
    if ctx.product is not None:
        p = ctx.product
        return f"- **Product:** {md(_product_name(p))}, {md(p.holder)}: checked on its label."
    if len(ctx.rules.products) < 2 or not ctx.could_be:
        return ""  # one product only, or none carries it (the route card says so)
    names = "; ".join(_product_name(p) for p in ctx.could_be)
    checked = ctx.label.brand_name if ctx.label else "the reference product"
    return (
        f"- **Product:** ordered as tocilizumab (the ingredient); it could be {md(names)}. "
        f"Checked on {md(checked)}'s figures, which every biosimilar label seen shares; order "
        "the product dispensed to check its own label and notices."
    )


def _facts_lines(result: engine.Result, therapy: str, record: Record, ctx: Context) -> str:
    assert record.weight is not None
    lines = [
        f"- **Indication:** {md(result.indication_name)}; **route:** "
        f"{md(result.display['route'])}; assessed as {md(therapy)}.",
        f"- **Weight:** {md(record.weight.shown)} on {md(record.weight.on or 'an unknown date')} "
        f"({md(result.display['weight'])} used).",
    ]
    if record.age is not None:
        low, high = (engine.format_number(v) for v in (record.age.low, record.age.high))
        lines.append(f"- **Age:** {md(low if low == high else f'{low} to {high}')} years.")
    for reading in record.labs.values():
        lines.append(
            f"- **{md(_label(reading.name))}:** {md(reading.shown)} on "
            f"{md(reading.on or 'an unknown date')}."
        )
    product = _product_line(ctx)
    return "\n".join([*lines, product] if product else lines)


def _warnings(result: engine.Result) -> str:
    if not result.warnings:
        return ""
    return "\n\n**Warnings**\n\n" + "\n".join(f"- {md(w.message)}" for w in result.warnings)


def _gate_card(result: engine.Result, therapy: str, record: Record, ctx: Context) -> Card:
    """Hold, do not start, discontinue: the findings that decided it come first."""
    deciding = {r.code for r in ctx.rules.lab_rules} | {"age_below_minimum"}
    findings = [w for w in result.warnings if w.code in deciding] or list(result.warnings)
    first = findings[0] if findings else None
    summary = f"{engine.HEADLINES[result.action]}: {first.message if first else ''}"
    detail = (
        f"**{md(engine.HEADLINES[result.action])}.** {md(result.next_step)}\n\n"
        f"{_facts_lines(result, therapy, record, ctx)}{_warnings(result)}"
    )
    reference = (
        engine.Reference(label_section=first.label_section, anchor=first.anchor)
        if first and first.label_section
        else None
    )
    return _card(summary, "critical", detail, ctx, reference=reference)


def _dose_text(result: engine.Result) -> str:
    return f"{engine.format_number(result.dose_mg)} mg"  # type: ignore[arg-type]


def _round(value: Decimal, places: str) -> Decimal:
    """Rounded for words; a figure too large for Decimal's precision is shown as it is."""
    return engine.quantize(value, Decimal(places)).normalize() if value.adjusted() < 20 else value


def _shown_mg(mg: Decimal) -> str:
    return f"{engine.format_number(_round(mg, '0.01'))} mg"


def _dose_card(
    order: Order,
    chosen: engine.Result,
    results: list[engine.Result],
    state: str,
    therapy: str,
    record: Record,
    earlier: list[Order] | None,
    ctx: Context,
) -> tuple[Card, bool]:
    """The dose card and whether the dose can be prepared (a preparation card follows only then)."""
    assert chosen.dose_mg is not None
    dose = _dose_text(chosen)
    tolerance = chosen.dose_mg * ctx.rules.ehr.dose_tolerance_percent / 100
    over, under = [], []
    for ordered in order.doses:
        mg = _mg(ordered, chosen)
        same_per_kg = ordered.per_kg and chosen.mg_per_kg == ordered.value and not chosen.capped
        if same_per_kg:
            continue  # the label's own mg/kg on the exact weight: the engine's dose itself
        if (chosen.max_mg is not None and mg > chosen.max_mg) or mg > chosen.dose_mg + tolerance:
            over.append((mg, ordered))
        elif mg < chosen.dose_mg - tolerance:
            under.append((mg, ordered))
    dangers = [w for w in chosen.warnings if w.code in UNPREPARABLE]
    limits = _limit_lines(order, chosen, results, state, earlier)
    indicator, summary = _verdict(order, chosen, record, over, under, dangers, limits)
    summary = summary.replace("Tocilizumab", ctx.drug, 1)
    offered = ctx.product.offers(chosen.indication, chosen.route) if ctx.product else None
    if indicator == "info" and offered is not None and offered.source.evidence == "OPEN":
        indicator = "warning"
        summary += f"; not confirmed: {ctx.drug}'s label for this use is OPEN"
    if indicator == "info" and old_weight(record, ctx):
        # The reference: a dose from an old child's weight is not confirmed.
        indicator = "warning"
        summary += "; not confirmed: the child's weight is past its age limit"
    steps = "\n".join(
        f"- {md(STEP_WORDS[r.step])}: {md(r.display['dose_detail'])} = {md(_dose_text(r))}"
        for r in results
        if r.dose_mg is not None
    )
    interval = chosen.display["interval"]
    ordered_words = (
        "; ".join(f"{d.shown} = {_shown_mg(_mg(d, chosen))}" for d in order.doses)
        or "no dose in mg or mg/kg"
    )
    limit_text = "".join(f" {md(line)}" for _, line in limits) or _timing_words(order)
    danger_text = "".join(f"\n\n**Danger:** {md(w.message)}" for w in dangers)
    danger_text += "".join(
        f"\n\n**Check before giving:** {md(c.message)}{md(' ' + c.alternative) if c.alternative else ''}"
        for c in (chosen.checks if chosen.action == engine.Action.CHECK else ())
    )
    detail = (
        f"**Calculated ({md(STEP_WORDS[chosen.step])}):** {md(chosen.display['dose_detail'])} = "
        f"{md(dose)}{md(', ' + interval) if interval else ''}.{danger_text}\n\n"
        f"**Ordered:** {md(ordered_words)} (tolerance "
        f"{md(engine.format_number(ctx.rules.ehr.dose_tolerance_percent))} % from content)."
        f"{limit_text}\n\n"
        f"**Doses the label gives this patient**\n\n{steps}\n\n"
        f"{_facts_lines(chosen, therapy, record, ctx)}{_warnings(chosen)}"
    )
    suggestions = (
        [_suggestion(order, r, r is chosen) for r in results if r.dose_mg is not None]
        if indicator != "info" and not dangers
        else []
    )
    reference = chosen.references[0] if chosen.references else None
    card = _card(summary, indicator, detail, ctx, reference=reference, suggestions=suggestions)
    preparable = not dangers and chosen.action != engine.Action.CHECK  # nothing prepared yet
    return card, preparable and (chosen.route != engine.Route.IV or chosen.bag_ml is not None)


def _verdict(
    order: Order,
    chosen: engine.Result,
    record: Record,
    over: list[tuple[Decimal, fhir_in.Dose]],
    under: list[tuple[Decimal, fhir_in.Dose]],
    dangers: list[engine.Notice],
    limits: list[tuple[bool, str]],
) -> tuple[Indicator, str]:
    """The dose card's indicator and summary: the most serious finding speaks."""
    dose = _dose_text(chosen)
    indicator: Indicator
    if dangers:
        indicator = "critical"
        summary = f"Tocilizumab {dose} cannot be given as ordered: {dangers[0].message}"
    elif over:
        mg, _ = max(over, key=lambda item: item[0])
        cap = (
            f", above the label maximum {engine.format_number(chosen.max_mg)} mg"
            if chosen.max_mg is not None and mg > chosen.max_mg
            else ""
        )
        indicator = "critical"
        summary = f"Tocilizumab {_shown_mg(mg)} exceeds the calculated {dose}{cap}"
    elif any(critical for critical, _ in limits):
        indicator = "critical"
        summary = f"Tocilizumab: {next(line for critical, line in limits if critical)}"
    elif any(p.about == "dose" for p in order.problems):
        indicator = "warning"
        summary = f"Tocilizumab: a dose on the order was not read; calculated {dose}"
    elif not order.doses:
        indicator = "warning"
        summary = f"Tocilizumab: no dose in mg on the order; calculated {dose}"
    elif under:
        mg, _ = min(under, key=lambda item: item[0])
        indicator = "warning"
        summary = f"Tocilizumab {_shown_mg(mg)} is below the calculated {dose}"
    else:
        indicator = "info"
        summary = f"Tocilizumab {_shown_mg(_mg(order.doses[0], chosen))} matches the calculated {dose}"  # fmt: skip
    unread = sorted({p.about for p in (*order.problems, *record.problems) if p.about != "age" or record.age is None})  # fmt: skip
    if indicator == "info" and unread:
        # Something the check needed was not read: the dose agrees, the order is not confirmed.
        summary += f"; not confirmed: {', '.join(unread)} not read"
    if indicator == "info" and (chosen.action == engine.Action.REDUCE or limits or unread):
        indicator = "warning"
    if chosen.action == engine.Action.CHECK and indicator != "critical":
        # A finding the engine asks the bedside to confirm (issue 22): never a plain "matches".
        indicator = "warning"
        first = chosen.checks[0].message if chosen.checks else "a finding to confirm"
        summary = f"Tocilizumab {dose}: check before giving: {first}"
    return indicator, summary


def _limit_lines(
    order: Order,
    chosen: engine.Result,
    results: list[engine.Result],
    state: str,
    earlier: list[Order] | None,
) -> list[tuple[bool, str]]:
    """The ordered timing against the label: (critical, words) per finding."""
    found: list[tuple[bool, str]] = []
    repeat = chosen.repeat
    if repeat is not None:
        for timing in order.timings:
            if timing.every_hours is not None and timing.every_hours < repeat.min_hours_apart:
                hours = engine.format_number(_round(timing.every_hours, "0.1"))
                found.append(
                    (
                        True,
                        f"doses every {hours} h: the label's are at least {repeat.min_hours_apart} hours apart.",
                    )  # fmt: skip
                )
        before = sum(
            1
            for o in earlier or []
            if _given(o, order) and (not o.indications or chosen.indication in o.indications)
        )
        here = max((t.doses or 1 for t in order.timings), default=1)
        allowed = 1 + repeat.additional_doses_max
        if before + here > allowed:
            had = f" ({before} already in the record)" if before else ""
            found.append((True, f"{before + here} doses{had}: the label allows at most {allowed}."))
        return found
    intervals = [r.interval_days for r in results if r.interval_days is not None]
    if state == "starting" and chosen.interval_days is not None:
        intervals, words = [chosen.interval_days], " (the step a new patient starts on)"
    else:
        words = ""
    if not intervals:
        return found
    for timing in order.timings:
        if timing.every_hours is None:
            continue
        days = timing.every_hours / 24
        shown = engine.format_number(_round(days, "0.1"))
        if days < min(intervals):
            label = engine.format_interval(min(intervals))
            found.append((False, f"Ordered every {shown} days: more often than the label's {label}{words}."))  # fmt: skip
    return found


def _timing_words(order: Order) -> str:
    every = [t.every_hours for t in order.timings if t.every_hours is not None]
    if not every:
        return ""
    days = engine.format_number(_round(min(every) / 24, "0.1"))
    return f" Ordered every {md(days)} days."


def _suggestion(order: Order, result: engine.Result, recommended: bool) -> Suggestion:
    resource = copy.deepcopy(order.resource)
    dosages = resource.get("dosageInstruction")
    if not isinstance(dosages, list) or not dosages or not isinstance(dosages[0], dict):
        dosages = resource["dosageInstruction"] = [{}]
    dosages[0].pop("doseQuantity", None)
    dosages[0]["doseAndRate"] = [
        {
            "doseQuantity": {
                "value": engine.as_number(result.dose_mg),
                "unit": "mg",
                "system": fhir_in.UCUM,
                "code": "mg",
            }
        }
    ]
    text = f"{_dose_text(result)} ({STEP_WORDS[result.step]}, {result.display['dose_detail']})"
    return Suggestion(
        label=fit(f"Change the dose to {text}"),
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
            f"- Draw {md(shown['volume'])} from {md(shown['vials'])} ({md(shown['waste'])}).\n"
            f"- {md(shown['bag'])}.\n- Infuse at {md(shown['rate'])}."
        )
        anchor = "preparation"
    else:
        summary = f"Give {shown['dose']} by {shown['route']}: {shown['devices']}"
        detail = f"- {md(shown['devices'])}, {md(shown['interval'])}."
        anchor = ""
    reference = next(
        (r for r in result.references if r.anchor == anchor or "preparation" in r.label_section),
        None,
    )
    return _card(summary, "info", detail, ctx, reference=reference)
