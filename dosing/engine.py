"""The dosing engine: inputs and a rules snapshot in, a result out. Standard library only.

Every clinical figure comes from `Rules` (built from the content rows by `dosing.content`); this
module holds arithmetic, ordering and wording, nothing from the label. It is mirrored in the
browser by `static/dosing/engine.mjs`; `tests/vectors/engine.json` holds the cases both must pass.

Rounding, everywhere through `quantize` (ROUND_HALF_UP):
- weight: never before use. The band and the dose use the weight as entered (lb converted
  exactly, 1 lb = 0.45359237 kg); the weight shown is rounded to 0.01 kg, or to more places where
  0.01 kg would cross a band edge (29.996 kg is shown as 29.996, never as 30), see `shown_kg`;
- dose: to 0.1 mg, once, at the end; volume: to 0.01 mL; infusion rate: to 0.1 mL/h.

Input numbers are bounded before any arithmetic (`_parse_decimal`): at most 30 significant digits
and a magnitude between 1e-15 and 1e16, so arithmetic is exact (a local precision of 100 digits)
and 8e169 or 1e-999999 is an input error naming the field, never an overflow.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache
from itertools import product
from math import gcd
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_T = TypeVar("_T")

KG_PER_LB = Decimal("0.45359237")  # exact, by international definition

WEIGHT_PLACES = Decimal("0.01")
DOSE_PLACES = Decimal("0.1")
VOLUME_PLACES = Decimal("0.01")
RATE_PLACES = Decimal("0.1")
CONCENTRATION_PLACES = Decimal("0.1")
# Places tried, in order, for the weight shown near a band edge (see shown_kg).
SHOWN_WEIGHT_PLACES = (Decimal("0.01"), Decimal("0.001"), Decimal("0.0001"))
# Inputs beyond these are typos (or attacks), refused before any arithmetic; within them the
# arithmetic below (EXACT_PRECISION digits) is exact.
INPUT_MAX_DIGITS = 30
INPUT_MAX_ADJUSTED_EXPONENT = 15  # |value| < 1e16
INPUT_MIN_ADJUSTED_EXPONENT = -15  # |value| >= 1e-15, or 0
EXACT_PRECISION = 100

# Values no measurement can produce: beyond these an input is a typo, not a patient.
LAB_INPUT_MAX = {
    "alt_x_uln": Decimal("1000"),
    "ast_x_uln": Decimal("1000"),
    "anc_per_mm3": Decimal("1000000"),
    "platelets_per_mm3": Decimal("10000000"),
}
AGE_INPUT_MAX_YEARS = Decimal("130")

# The app's vocabulary: every choice is spelled once, here. Model choices (models.py), form
# choices (forms.py) and the API's Literals (schemas.py) are built from these enums; the words
# beside them are what the engine, the monograph, the admin and the form show.


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


STEP_WORDS = {Step.STARTING: "Starting dose", Step.INCREASED: "Increased after clinical response"}


class TherapyContext(enum.StrEnum):
    """Where the patient is: the calculator's therapy choice."""

    STARTING = "starting"
    ON_THERAPY = "on_therapy"
    RESUMING = "resuming"


class RuleContext(enum.StrEnum):
    """When a lab rule or an advisory applies (resuming after a hold is on therapy)."""

    STARTING = TherapyContext.STARTING.value
    ON_THERAPY = TherapyContext.ON_THERAPY.value
    ANY = "any"


RULE_CONTEXT_WORDS = {
    RuleContext.STARTING: "before starting",
    RuleContext.ON_THERAPY: "on therapy",
    RuleContext.ANY: "any time",
}


class Lab(enum.StrEnum):
    """What a lab rule tests; each lab input (LAB_OF_INPUT) belongs to one."""

    ALT_AST = "alt_ast"
    ANC = "anc"
    PLATELETS = "platelets"


class Persistence(enum.StrEnum):
    """When a lab rule applies: always, only to a rise not (yet) confirmed, or only to one that is."""

    ANY = "any"
    UNCONFIRMED = "unconfirmed"
    PERSISTENT = "persistent"


class Action(enum.StrEnum):
    GIVE = "give"
    REDUCE = "reduce"
    # A dose to give once the clinician confirms a finding (issue 22): never a lab rule's action.
    CHECK = "check"
    HOLD = "hold"
    NOT_RECOMMENDED = "not_recommended"
    DISCONTINUE = "discontinue"


# What a lab rule may decide: every action but CHECK, which only the engine's own findings make.
LAB_ACTIONS = tuple(action for action in Action if action != Action.CHECK)
# Listed in the order the admin offers them (not the rank's).
ACTION_WORDS = {
    Action.GIVE: "Give",
    Action.REDUCE: "Reduce",
    Action.HOLD: "Hold",
    Action.DISCONTINUE: "Discontinue",
    Action.NOT_RECOMMENDED: "Not recommended",
    Action.CHECK: "Check before giving",
}


class Severity(enum.StrEnum):
    DANGER = "danger"
    WARNING = "warning"
    INFO = "info"


LAB_OF_INPUT = {
    "alt_x_uln": Lab.ALT_AST,
    "ast_x_uln": Lab.ALT_AST,
    "anc_per_mm3": Lab.ANC,
    "platelets_per_mm3": Lab.PLATELETS,
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


class LabUnit(enum.StrEnum):
    """The units labs report (issue 22.3); the engine's own are cells/mm³ and × ULN."""

    PER_MM3 = "per_mm3"
    E9_PER_L = "e9_per_l"
    E3_PER_UL = "e3_per_ul"
    X_ULN = "x_uln"
    U_PER_L = "u_per_l"


LAB_UNIT_WORDS = {
    LabUnit.PER_MM3: "cells/mm³",
    LabUnit.E9_PER_L: "×10⁹/L",
    LabUnit.E3_PER_UL: "×10³/µL",
    LabUnit.X_ULN: "× ULN",
    LabUnit.U_PER_L: "U/L",
}
# The units each lab input is read in, the engine's own first (the default).
LAB_INPUT_UNITS = {
    "alt_x_uln": (LabUnit.X_ULN, LabUnit.U_PER_L),
    "ast_x_uln": (LabUnit.X_ULN, LabUnit.U_PER_L),
    "anc_per_mm3": (LabUnit.PER_MM3, LabUnit.E9_PER_L, LabUnit.E3_PER_UL),
    "platelets_per_mm3": (LabUnit.PER_MM3, LabUnit.E9_PER_L, LabUnit.E3_PER_UL),
}
# Unit identities, not clinical figures: 1 ×10⁹/L = 10⁶/mL = 10³/µL, and 1 µL = 1 mm³.
COUNT_PER_MM3 = {LabUnit.PER_MM3: 1, LabUnit.E9_PER_L: 1000, LabUnit.E3_PER_UL: 1000}
# The input naming each lab value's unit, and (U/L) its upper limit of normal.
LAB_UNIT_FIELDS = {name: f"{name.split('_')[0]}_unit" for name in LAB_INPUT_UNITS}
LAB_ULN_FIELDS = {"alt_x_uln": "alt_uln_u_per_l", "ast_x_uln": "ast_uln_u_per_l"}


def lab_words(lab: str) -> str:
    """A lab rule's lab as the monograph names it, from the inputs it tests: "ALT or AST (× ULN)"."""
    names = [name for name, of in LAB_OF_INPUT.items() if of == lab]
    return f"{' or '.join(LAB_NAMES[name] for name in names)} ({LAB_UNITS[names[0]]})"


# Most severe last: several findings, the highest rank wins.
ACTION_RANK = {action: rank for rank, action in enumerate(Action)}
# Most severe first: warnings come in this order. Keyed by value: a notice's severity is a str.
SEVERITY_RANK = {severity.value: rank for rank, severity in enumerate(Severity)}
ACTION_SEVERITY = {
    # a lab finding that still gives asks for a step (adjust DMARDs)
    Action.GIVE: Severity.WARNING,
    Action.REDUCE: Severity.WARNING,
    Action.CHECK: Severity.WARNING,
    Action.HOLD: Severity.WARNING,
    Action.NOT_RECOMMENDED: Severity.DANGER,
    Action.DISCONTINUE: Severity.DANGER,
}
HEADLINES = {
    Action.GIVE: "Give",
    Action.REDUCE: "Give a reduced dose",
    Action.CHECK: "Check before giving",
    Action.HOLD: "Hold: do not give now",
    Action.NOT_RECOMMENDED: "Not recommended: do not give",
    Action.DISCONTINUE: "Discontinue",
}
# A dose whose drug volume has no bag to go in (issue 22): not a dose to give, in any surface.
UNPREPARABLE_HEADLINE = "Cannot be prepared as the label says: contact pharmacy"

# Findings that ask the clinician to confirm before a dose is given (issue 22): with any of them
# a give or a reduce becomes CHECK until the input says `confirmed`. The words name what was
# confirmed in the chart note.
CHECK_WORDS = {
    "weight_implausible": "the weight",
    "band_edge": "the weight near a band edge",
    "increased_at_initiation": "the increased dose at the start of therapy",
    "no_label_maximum": "a dose the label does not cap",
    "concentration_above_limit": "the final concentration",
    "age_needed": "the weight with no age entered",
    "early_start": "the earliest start time",
}
CHECK_CODES = tuple(CHECK_WORDS)


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
    # A product's presentation: its grade on that product's label (TYENNE's vial strengths are
    # OPEN). None: the drug's catalogue (Rules.presentations).
    source: Source | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BagRule:
    indications: tuple[str, ...]
    min_weight_kg: Decimal | None
    max_weight_kg: Decimal | None
    bag_ml: Decimal

    def serves(self, indication: str, weight_kg: Decimal) -> bool:
        return indication in self.indications and in_band(
            weight_kg, self.min_weight_kg, self.max_weight_kg
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparationRule:
    concentration_mg_per_ml: Decimal
    diluents: str
    infusion_minutes: int
    bags: tuple[BagRule, ...]
    # The bag must keep more than this much saline beside the drug (0: the drug volume must stay
    # below the final volume, as the label's "withdraw, then add" preparation needs).
    min_saline_ml: Decimal = Decimal(0)
    source: Source
    # Above this final concentration a notice asks for pharmacy review (content; None: no check).
    concentration_limit: ConcentrationLimitRule | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConcentrationLimitRule:
    """The largest final concentration (dose / final volume) before pharmacy review."""

    max_mg_per_ml: Decimal
    message: str
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeRule:
    """The dose after a lab hold, where the label gives one: replaces the dose rule's figures."""

    indication: str
    route: Route
    min_weight_kg: Decimal | None
    max_weight_kg: Decimal | None
    mg_per_kg: Decimal | None
    interval_days: int | None
    next_step: str
    source: Source

    def covers(self, weight_kg: Decimal) -> bool:
        return in_band(weight_kg, self.min_weight_kg, self.max_weight_kg)


@dataclass(frozen=True, slots=True, kw_only=True)
class LabRule:
    code: str
    lab: Lab
    context: RuleContext
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
    persistence: Persistence = Persistence.ANY
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
    severity: Severity
    route: Route | None
    indications: tuple[str, ...]
    message: str
    source: Source
    context: RuleContext = RuleContext.ANY  # as LabRule.context


@dataclass(frozen=True, slots=True, kw_only=True)
class PlausibleWeightRule:
    min_age_years: Decimal
    max_age_years: Decimal | None
    min_weight_kg: Decimal
    max_weight_kg: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageRule:
    """How long a diluted bag keeps in one diluent at one temperature."""

    diluent: str
    temperature: str
    max_hours: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SyringeRule:
    """A syringe the site draws with: what it holds and the step its graduations mark (issue
    22.4). Site content, not label: the reference gives no graduations, so rows ship OPEN."""

    capacity_ml: Decimal
    graduation_ml: Decimal
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlingRule:
    """The words and figures of preparing and giving a dose that are not the dose itself."""

    drug_name: str
    # The one graduation used where no syringe in `syringes` is set (snapshots before 22.4).
    syringe_precision_ml: Decimal
    mixing: str
    line: str
    light: str
    storage: tuple[StorageRule, ...]
    sc_warm_minutes: int | None
    source: Source
    syringes: tuple[SyringeRule, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RoundingRule:
    """A site's dose rounding policy (issue 22.4; local policy, the label states none): an
    intravenous dose is drawn as whole vials when they are within `within_percent` of it."""

    enabled: bool
    within_percent: Decimal
    source: Source


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
    # A drug code's product (its slug, issue 23); empty: the ingredient, any product.
    product: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class EhrRules:
    codes: tuple[CodeRule, ...] = ()
    dose_tolerance_percent: Decimal = Decimal(0)
    lab_max_age_days: int | None = None
    child_weight_max_age_days: int | None = None
    adult_weight_max_age_days: int | None = None
    adult_from_age_years: int = 18
    source: Source | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductRouteRule:
    """An indication and route a product's label carries (issue 23). Evidence OPEN: offered,
    flagged (the clinician is told to verify against that product's label). No rule: not offered."""

    indication: str
    route: Route
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductNoticeRule:
    """A notice content attaches to a product (a recall); shown while `active`, on results for
    `route` (None: every route)."""

    code: str
    route: Route | None
    title: str
    text: str
    severity: Severity
    active: bool
    source: Source


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductRule:
    """A tocilizumab product: it doses by the rules' dose rules, for the indications and routes
    it offers; its own are the names, the label a figure links to, the diluents and notices."""

    slug: str
    brand_name: str
    nonproprietary_name: str
    holder: str
    biosimilar: bool  # never "interchangeable": OPEN for every biosimilar (reference)
    bla: str
    label_name: str
    label_url: str
    label_revision: str | None  # YYYY-MM-DD, None until confirmed
    diluents: str
    routes: tuple[ProductRouteRule, ...]
    notices: tuple[ProductNoticeRule, ...] = ()
    # What it comes in (issue 23: no ACTPen for a biosimilar). None: the rules' presentations
    # (a format-4 snapshot, where every product came in the drug's).
    presentations: tuple[PresentationRule, ...] | None = None
    source: Source

    def offers(self, indication: str, route: str) -> ProductRouteRule | None:
        return next(
            (r for r in self.routes if r.indication == indication and r.route == route), None
        )


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
    resume_rules: tuple[ResumeRule, ...] = ()
    # Within this percentage of a weight where the dose or the bag changes, a warning names both.
    band_margin_percent: Decimal = Decimal(0)
    # Doses the label does not cap get a note above this (None: never).
    uncapped_note_above_mg: Decimal | None = None
    # Preparation steps, storage and device handling (issue 15); None in snapshots made before it.
    handling: HandlingRule | None = None
    # The EHR integration's codes and figures (dosing/interop); the engine itself never reads them.
    ehr: EhrRules = field(default_factory=lambda: EhrRules())
    # The site's rounding to whole vials (None or not enabled: the dose as calculated).
    rounding: RoundingRule | None = None
    # The products these dose rules serve (issue 23): ACTEMRA and its biosimilars.
    products: tuple[ProductRule, ...] = ()
    # What depends on the content alone, built once with the snapshot (issue 24): never set by a
    # caller, rebuilt by dataclasses.replace, never compared, never a patient's figure.
    compiled: _Compiled = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", _compile(self))

    def indication(self, slug: str) -> IndicationRule | None:
        if type(slug) is not str:  # an enum or anything a caller sent: the plain scan decides
            return next((i for i in self.indications if i.slug == slug), None)
        return self.compiled.indications.get(slug)

    def product(self, slug: str) -> ProductRule | None:
        if type(slug) is not str:
            return next((p for p in self.products if p.slug == slug), None)
        return self.compiled.products.get(slug)

    def reference_product(self) -> ProductRule | None:
        """The product the biosimilars are biosimilar to (ACTEMRA): its label is the drug's."""
        return next((p for p in self.products if not p.biosimilar), None)

    def presentations_of(self, product: ProductRule) -> tuple[PresentationRule, ...]:
        """What `product` comes in: its own presentations, or the drug's (format 4)."""
        return self.presentations if product.presentations is None else product.presentations


def _key(value: str) -> str:
    """A plain str for an index key: an enum member hashes by its name, not by its value."""
    return str.__str__(value)


@dataclass(frozen=True, slots=True)
class _Compiled:
    """The rules indexed for one calculation's look-ups (keys are plain str, see `_key`).

    Every entry keeps the content's order, so a look-up yields what the scan over the rules it
    replaces yielded, in the same order.
    """

    indications: dict[str, IndicationRule]
    products: dict[str, ProductRule]
    # Indication -> the routes its dose rules have (Route's order).
    routes: dict[str, tuple[Route, ...]]
    # (indication, route, step) -> its dose rules; (indication, route) -> its resume rules.
    dose_rules: dict[tuple[str, str, str], tuple[DoseRule, ...]]
    resume_rules: dict[tuple[str, str], tuple[ResumeRule, ...]]
    # Indication -> its band edges (dose rules and bags, for the weight shown).
    edges: dict[str, tuple[Decimal, ...]]
    # (lab input name, indication, route, rule context) -> the lab rules that can apply.
    lab_rules: dict[tuple[str, str, str, str], tuple[LabRule, ...]]
    # (indication, route, rule context) -> each standing advisory's source and notice.
    advisories: dict[tuple[str, str, str], tuple[tuple[Source, Notice], ...]]
    advisory_codes: frozenset[str]
    deciding: dict[str, Action]
    # Product -> its vial search (None: no vial), its subcutaneous devices, and the presentations
    # its label is not confirmed for (flagged, OPEN).
    iv_search: dict[str, _VialSearch | None]
    sc_devices: dict[str, tuple[Device, ...]]
    unconfirmed: dict[str, tuple[PresentationRule, ...]]
    syringes: tuple[SyringeRule, ...]  # by capacity, then graduation
    caps_mg: tuple[Decimal, ...]
    # A result's diluents -> the bag's storage in them and the words for it (`_bag_storage`).
    storage: dict[str, tuple[tuple[StorageRule, ...], str]]


def _compile(rules: Rules) -> _Compiled:
    indications: dict[str, IndicationRule] = {}
    for indication in rules.indications:
        indications.setdefault(_key(indication.slug), indication)
    products: dict[str, ProductRule] = {}
    for item in rules.products:
        products.setdefault(_key(item.slug), item)
    dose_rules: dict[tuple[str, str, str], list[DoseRule]] = {}
    for d in rules.dose_rules:
        dose_rules.setdefault((_key(d.indication), _key(d.route), _key(d.step)), []).append(d)
    slugs = {_key(d.indication) for d in rules.dose_rules} | set(indications)
    routes = {
        slug: tuple(r for r in Route if any(k[:2] == (slug, r.value) for k in dose_rules))
        for slug in slugs
    }
    resume_rules: dict[tuple[str, str], list[ResumeRule]] = {}
    for r in rules.resume_rules:
        resume_rules.setdefault((_key(r.indication), _key(r.route)), []).append(r)
    edges = {}
    for slug in slugs:
        rows: list[DoseRule | BagRule] = [
            *(d for d in rules.dose_rules if d.indication == slug),
            *(b for b in rules.preparation.bags if slug in b.indications),
        ]
        edges[slug] = tuple(
            {e for row in rows for e in (row.min_weight_kg, row.max_weight_kg) if e}
        )
    lab_slugs = slugs | {slug for lab_rule in rules.lab_rules for slug in lab_rule.indications}
    lab_rules = _index_lab_rules(rules, lab_slugs)
    advisories = _index_advisories(rules, lab_slugs)
    offered = {item.slug: rules.presentations_of(item) for item in products.values()}
    handling = rules.handling
    return _Compiled(
        indications=indications,
        products=products,
        routes=routes,
        dose_rules={k: tuple(v) for k, v in dose_rules.items()},
        resume_rules={k: tuple(v) for k, v in resume_rules.items()},
        edges=edges,
        lab_rules=lab_rules,
        advisories=advisories,
        advisory_codes=frozenset(a.code for a in rules.advisories),
        deciding={r.code: r.action for r in rules.lab_rules} | DECIDING_CODES,
        iv_search={
            slug: _vial_search.__wrapped__(vials) if vials else None
            for slug, vials in (
                (slug, tuple(p for p in shown if p.route == Route.IV))
                for slug, shown in offered.items()
            )
        },
        sc_devices={
            slug: tuple(
                Device(
                    device=p.device,
                    label=p.device_label,
                    strength_mg=p.strength_mg,
                    volume_ml=p.volume_ml,
                )
                for p in shown
                if p.route == Route.SC
            )
            for slug, shown in offered.items()
        },
        unconfirmed={
            slug: tuple(p for p in shown if p.source is not None and p.source.needs_review)
            for slug, shown in offered.items()
        },
        syringes=()
        if handling is None
        else tuple(sorted(handling.syringes, key=lambda s: (s.capacity_ml, s.graduation_ml))),
        caps_mg=tuple(d.max_mg for d in rules.dose_rules if d.max_mg is not None),
        storage={}
        if handling is None
        else {
            diluents: _storage_of(diluents, rules, handling)
            for diluents in {"", rules.preparation.diluents, *(p.diluents for p in rules.products)}
        },
    )


THERAPY_RULE_CONTEXTS = (RuleContext.STARTING, RuleContext.ON_THERAPY)  # what _rule_context gives


def _index_lab_rules(
    rules: Rules, slugs: set[str]
) -> dict[tuple[str, str, str, str], tuple[LabRule, ...]]:
    index = {}
    for name, lab in LAB_OF_INPUT.items():
        for slug, route, context in product(slugs, Route, THERAPY_RULE_CONTEXTS):
            rows = tuple(
                lab_rule
                for lab_rule in rules.lab_rules
                if lab_rule.lab == lab
                and lab_rule.context in (context, RuleContext.ANY)
                and (lab_rule.route is None or lab_rule.route == route)
                and slug in lab_rule.indications
            )
            if rows:
                index[(name, slug, route.value, context.value)] = rows
    return index


def _index_advisories(
    rules: Rules, slugs: set[str]
) -> dict[tuple[str, str, str], tuple[tuple[Source, Notice], ...]]:
    slugs = slugs | {slug for advisory in rules.advisories for slug in advisory.indications}
    return {
        (slug, route.value, context.value): tuple(
            (advisory.source, _advisory_notice(advisory))
            for advisory in rules.advisories
            if slug in advisory.indications
            and advisory.route in (None, route)
            and advisory.context in (context, RuleContext.ANY)
        )
        for slug, route, context in product(slugs, Route, THERAPY_RULE_CONTEXTS)
    }


def _advisory_notice(advisory: AdvisoryRule) -> Notice:
    message = advisory.message
    if advisory.source.needs_review:
        message += f" Verify against the current label ({advisory.source.evidence} evidence)."
    return Notice.sourced(advisory.code, advisory.severity, message, advisory.source)


# ---------------------------------------------------------------------------------------------
# Inputs and result


@dataclass(frozen=True, slots=True, kw_only=True)
class Labs:
    alt_x_uln: Decimal | None = None
    ast_x_uln: Decimal | None = None
    anc_per_mm3: Decimal | None = None
    platelets_per_mm3: Decimal | None = None
    # Issue 22.3: each value is read in its unit (None: the engine's own, as the names say);
    # ALT/AST in U/L need the lab's upper limit of normal. read_lab converts, in one place.
    # Any: a LabUnit value as sent, checked by read_lab as every input is (and callers fill Labs
    # from a dict of values keyed by name).
    alt_unit: Any = None
    ast_unit: Any = None
    anc_unit: Any = None
    platelets_unit: Any = None
    alt_uln_u_per_l: Decimal | None = None
    ast_uln_u_per_l: Decimal | None = None

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
    # Resuming after a lab hold (on therapy): the label's resume dose where content has one.
    resuming_after_hold: bool = False
    # The raised lab value persists: still raised after the label's first step. A repeat test
    # that only confirms a new rise is not persistence (ALT/AST 3 to 5 x ULN confirmed: hold).
    persistent_rise: bool = False
    labs: Labs = field(default_factory=Labs)
    # The clinician has seen the findings that ask to confirm (CHECK_CODES) and confirms the dose.
    confirmed: bool = False
    # A single-dose course (CRS, COVID-19: content's additional_doses_max): which dose this is and
    # when the previous one started ("2026-03-08T06:30", read in time_zone, or with an offset).
    dose_number: Any = 1
    previous_dose_start: str | None = None
    time_zone: str = "UTC"  # the site's zone (IANA name): how times are read and written
    # When this dose would start (ISO 8601, read in time_zone; the site's or the device's clock,
    # passed in: the engine reads no clock). A repeat dose before its earliest start is then a
    # check ("early_start"); None: no such check, the words name the earliest start as always.
    now: str | None = None
    # The product given (issue 23): a product's slug in the rules (ACTEMRA or a biosimilar).
    product: str = "actemra"


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    code: str
    severity: str
    message: str
    label_section: str = ""
    anchor: str = ""

    @classmethod
    def sourced(cls, code: str, severity: str, message: str, source: Source) -> Notice:
        """A notice that links to the label section its source names."""
        return cls(
            code=code,
            severity=severity,
            message=message,
            label_section=source.label_section,
            anchor=source.anchor,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """A finding that asks to confirm, with the alternative where there is one ("18 kg would be
    216 mg every 2 weeks"); the same finding stands in the warnings with the same message."""

    code: str
    message: str
    alternative: str = ""
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
    additional_doses_max: int  # the label's, after the first dose
    min_hours_apart: int
    condition: str
    dose_number: int = 1  # this dose, of doses_max in all
    doses_max: int = 1
    # From the 2nd dose: the previous dose's start and this one's earliest (ISO 8601 to the minute,
    # with the site zone's offset), min_hours_apart elapsed hours after it.
    previous_dose_start: str | None = None
    not_before: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    label_section: str
    anchor: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparationStep:
    code: str
    text: str
    exact: str = ""  # the unrounded figure, shown on request
    label_section: str = ""
    anchor: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class NextDose:
    """When the next dose falls: `due` after interval_days, or `no_sooner` than hours later."""

    kind: str
    days: int | None = None
    hours: int | None = None
    not_before: str | None = None  # this dose's own earliest start (a repeat dose), ISO 8601


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultProduct:
    """The product a result is for and the label its figures link to (issue 23)."""

    slug: str
    brand_name: str
    nonproprietary_name: str
    biosimilar: bool
    label_name: str
    label_url: str
    label_revision: str | None


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
    content_published_on: str  # the publish date (YYYY-MM-DD) of that content version
    display: dict[str, str]
    # Filled by prepare() (issue 15): the work at the bedside, in the order it is done.
    preparation_steps: tuple[PreparationStep, ...] = ()
    draw_ml: Decimal | None = None
    # Issue 22.4: the mg in draw_ml and the syringe it is measured in (None: content's single
    # graduation, no syringe table).
    draw_mg: Decimal | None = None
    syringe_ml: Decimal | None = None
    saline_remove_ml: Decimal | None = None
    use_within: tuple[StorageRule, ...] = ()
    next_dose: NextDose | None = None
    chart_note: str = ""
    # Issue 22: the findings to confirm (while CHECK, or once confirmed), the action a
    # confirmation gives, and whether this result was confirmed.
    checks: tuple[Check, ...] = ()
    action_if_confirmed: Action | None = None
    confirmed: bool = False
    product: ResultProduct | None = None  # always set by calculate()


# ---------------------------------------------------------------------------------------------
# Numbers and words


def quantize(value: Decimal, places: Decimal) -> Decimal:
    """Round half up to `places` (Decimal("0.1") means one decimal): the one rounding rule."""
    return value.quantize(places, rounding=ROUND_HALF_UP)


def format_number(value: Decimal | int) -> str:
    """ISMP style: leading zero, no trailing zero, thousands grouped (0.9, 560, 1,200.5)."""
    if type(value) is not Decimal:
        value = Decimal(value)
    return format(value.normalize(), ",f")


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


def _figure(value: Decimal | None) -> str:
    return "" if value is None else format_number(value)


# ---------------------------------------------------------------------------------------------
# Calculation


def to_kg(weight: Decimal, unit: str) -> Decimal:
    """Weight in kg, exact: lb converted by the exact factor, nothing rounded (call it inside
    `localcontext(prec=EXACT_PRECISION)`, where the product of bounded inputs is exact)."""
    return weight * KG_PER_LB if unit == WeightUnit.LB else weight


def shown_kg(weight_kg: Decimal, edges: Iterable[Decimal]) -> Decimal:
    """The weight to show: 0.01 kg, or more places where that would cross a band edge.

    A shown weight never reads as the other side of an edge it was dosed by: 29.996 kg is shown
    as 29.996 (0.01 kg would read 30, the upper band), 99.99897 kg as 99.999.
    """
    edges = tuple(edges)
    for places in SHOWN_WEIGHT_PLACES:
        shown = quantize(weight_kg, places)
        if not any((weight_kg < edge) != (shown < edge) for edge in edges):
            return shown
    return weight_kg.quantize(SHOWN_WEIGHT_PLACES[-1], rounding=ROUND_DOWN)


def _scaled(values: Sequence[Decimal]) -> tuple[list[int], int]:
    """Decimals as integers over one power of ten (for gcd and bounds)."""
    places = max(max(0, -int(v.as_tuple().exponent)) for v in values)
    return [int(v.scaleb(places)) for v in values], places


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True, slots=True)
class _VialSearch:
    """What the vial search needs from the presentations alone (content, not the patient)."""

    vials: tuple[PresentationRule, ...]  # largest strength first
    numbers: tuple[int, ...]  # strengths as integers over 10 ** places
    places: int
    bounds: tuple[int, ...]  # fewer than this many of each smaller strength in an optimum
    smaller: int  # the most the smaller strengths hold together in an optimum


@lru_cache(maxsize=16)
def _vial_search(vials: tuple[PresentationRule, ...]) -> _VialSearch:
    ordered = tuple(sorted(vials, key=lambda vial: vial.strength_mg, reverse=True))
    numbers, places = _scaled([v.strength_mg for v in ordered])
    largest = numbers[0]
    bounds = (0, *(largest // gcd(n, largest) for n in numbers[1:]))
    smaller = sum((b - 1) * n for b, n in zip(bounds[1:], numbers[1:], strict=True))
    return _VialSearch(ordered, tuple(numbers), places, bounds, smaller)


def choose_vials(dose_mg: Decimal, vials: Sequence[PresentationRule]) -> tuple[Vial, ...]:
    """The vial combination covering the dose with the least unused drug, then the fewest vials.

    Exact for any strengths, in time bounded by the strengths alone, whatever the dose. With L the
    largest strength, an optimum holds fewer than L / gcd(s, L) vials of each smaller strength s
    (that many could be swapped for s / gcd(s, L) vials of L: the same mg, fewer vials). So the
    smaller vials hold at most B mg, the optimum has at least (dose - B) / L vials of L, and those
    are set aside before the exhaustive search, which then covers at most B + L mg.

    In integers: strengths over 10 ** places, and the dose rounded up to one such unit (every
    vial total is a whole number of units, so covering one covers the other, and the least
    total is the least unused drug).
    """
    if not vials:
        return ()
    return _choose_vials(dose_mg, _vial_search(tuple(vials)))


def _choose_vials(dose_mg: Decimal, plan: _VialSearch) -> tuple[Vial, ...]:
    numbers, last = plan.numbers, len(plan.numbers) - 1
    target = int(dose_mg.scaleb(plan.places).to_integral_value(ROUND_CEILING))
    preset = max(0, _ceil_div(target - plan.smaller, numbers[0]) - 1)
    best: tuple[int, int, tuple[int, ...]] | None = None

    def search(index: int, remaining: int, counts: tuple[int, ...]) -> None:
        nonlocal best
        most = max(0, _ceil_div(remaining, numbers[index]))
        if index == last:
            full = (*counts, most)
            key = (sum(n * c for n, c in zip(numbers, full, strict=True)), sum(full), full)
            if best is None or key[:2] < best[:2]:
                best = key
            return
        if index:
            most = min(most, plan.bounds[index] - 1)
        for count in range(most + 1):
            search(index + 1, remaining - count * numbers[index], (*counts, count))

    search(0, target - preset * numbers[0], ())
    chosen = _required(best, "a vial combination")[2]
    counts = (chosen[0] + preset, *chosen[1:])
    return tuple(
        Vial(strength_mg=vial.strength_mg, volume_ml=vial.volume_ml, count=count)
        for vial, count in zip(plan.vials, counts, strict=True)
        if count
    )


def vials_at_most(dose_mg: Decimal, vials: Sequence[PresentationRule]) -> tuple[Vial, ...]:
    """The whole vials holding the most drug not above the dose, then the fewest vials (a site's
    rounding down, issue 22.4); () when the smallest vial holds more than the dose.

    The bound of choose_vials holds here too (fewer than L / gcd(s, L) of each smaller strength
    s in an optimum), so the search runs over the smaller strengths only.
    """
    if not vials:
        return ()
    return _vials_at_most(dose_mg, _vial_search(tuple(vials)))


def _vials_at_most(dose_mg: Decimal, plan: _VialSearch) -> tuple[Vial, ...]:
    target = int(dose_mg.scaleb(plan.places).to_integral_value(ROUND_DOWN))
    best: tuple[tuple[int, int], tuple[int, ...]] | None = None
    for smaller in product(*(range(bound) for bound in plan.bounds[1:])):
        held = sum(n * c for n, c in zip(plan.numbers[1:], smaller, strict=True))
        if held > target:
            continue
        counts = ((target - held) // plan.numbers[0], *smaller)
        key = (-(held + counts[0] * plan.numbers[0]), sum(counts))
        if best is None or key < best[0]:
            best = (key, counts)
    if best is None or best[0][0] == 0:
        return ()
    return tuple(
        Vial(strength_mg=vial.strength_mg, volume_ml=vial.volume_ml, count=count)
        for vial, count in zip(plan.vials, best[1], strict=True)
        if count
    )


# Plain ASCII decimal numbers only, the same syntax the browser engine accepts (Python's Decimal
# would also take "1_000", "NaN", "Infinity" and other scripts' digits). The API's JSON numbers
# may carry an exponent (8e169); typed text may not (FORM_NUMBER: "7e1" is a typo, not 70).
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
FORM_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)", re.ASCII)
# Counts the app itself prints with thousands separators ("1,000 cells/mm³"): typed that way they
# are accepted, in groups of three only.
THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)
# One separator followed by exactly three digits ("1.500", "1,500"): a thousands separator in
# some locales, a decimal one in others.
THREE_AFTER = re.compile(r"[+-]?\d{1,3}[.,]\d{3}", re.ASCII)
DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+", re.ASCII)
EXPONENT_REFUSED = "Write the number without an exponent (70, not 7e1)."


def typed_number(field_name: str, text: str, *, counts: bool = False) -> str:
    """Typed text as the engine's number syntax, or InputError naming the field (issue 22.3).

    A decimal comma is read where it is unambiguous ("1,5" is 1.5); a count's thousands
    separator too ("1,500" cells/mm³). "1.500" in a count, or "1,500" anywhere else, could be
    either: the message asks for the number without the doubt. No exponent ("7e1" is a slip).
    """
    text = text.strip()
    if counts and THOUSANDS.fullmatch(text):
        return text.replace(",", "")
    if THREE_AFTER.fullmatch(text) and (counts or "," in text):
        whole, _, part = text.replace(",", ".").partition(".")
        raise InputError(
            field_name,
            f"{text} could be {whole}{part} or {format_number(Decimal(f'{whole}.{part}'))}: "
            "write it without a thousands separator.",
        )
    if DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    if not FORM_NUMBER.fullmatch(text):
        if "," in text and "." in text:
            raise InputError(
                field_name, "Write the number with one decimal point and no thousands separator."
            )
        raise InputError(
            field_name, EXPONENT_REFUSED if NUMBER.fullmatch(text) else "Enter a number."
        )
    return text


def _parse_decimal(field_name: str, value: Any, out_of_range: str) -> Decimal:
    """The number, or InputError: "Enter a number." for text that is none, `out_of_range` for a
    number too large, too small or too long to be a measurement (checked without arithmetic)."""
    if isinstance(value, Decimal) and value.is_finite():
        number = value
    else:
        text = "" if value is None or isinstance(value, bool) else str(value).strip()
        if not NUMBER.fullmatch(text):
            raise InputError(field_name, "Enter a number.")
        number = Decimal(text)
    if number:
        significant = len(_rstrip_zeros(number.as_tuple().digits))
        adjusted = number.adjusted()
        if (
            significant > INPUT_MAX_DIGITS
            or adjusted > INPUT_MAX_ADJUSTED_EXPONENT
            or adjusted < INPUT_MIN_ADJUSTED_EXPONENT
        ):
            raise InputError(field_name, out_of_range)
    return number


def _rstrip_zeros(digits: tuple[int, ...]) -> tuple[int, ...]:
    end = len(digits)
    while end > 1 and digits[end - 1] == 0:
        end -= 1
    return digits[:end]


@dataclass(frozen=True, slots=True)
class _Checked:
    indication: IndicationRule
    route: Route
    step: Step
    context: TherapyContext
    weight: Decimal
    weight_kg: Decimal
    age: Decimal | None
    labs: tuple[tuple[str, Decimal], ...]
    weight_unit: WeightUnit
    # Each lab as read, in the words the reasons repeat ("0.9 ×10⁹/L = 900 cells/mm³").
    lab_echoes: dict[str, str]
    product: ProductRule
    dose_number: int = 1


def _check_product(inputs: Inputs, rules: Rules) -> ProductRule:
    product = rules.product(inputs.product)
    if product is None:
        known = ", ".join(p.slug for p in rules.products)
        raise InputError("product", f"Unknown product '{inputs.product}'. Choose one of: {known}.")
    return product


def product_name(product: ProductRule) -> str:
    """'TYENNE (tocilizumab-aazg)': how the chart note, the steps and the sheet name it."""
    return f"{product.brand_name} ({product.nonproprietary_name})"


def _check_offered(
    product: ProductRule, indication: IndicationRule, route: Route, rules: Rules
) -> None:
    """No product route: not on that product's label (TOFIDENCE SC, any biosimilar SSc-ILD)."""
    if product.offers(indication.slug, route) is not None:
        return
    others = [r.route for r in product.routes if r.indication == indication.slug]
    lacks = (
        f"its label has {' and '.join(ROUTE_ADJECTIVES[r] for r in others)} dosing for it only"
        if others
        else "its label does not carry this indication"
    )
    offering = [p.brand_name for p in rules.products if p.offers(indication.slug, route)]
    instead = f" Offered by: {', '.join(offering)}." if offering else ""
    raise InputError(
        "product",
        f"{product_name(product)} is not offered for {indication.name}, "
        f"{ROUTE_ADJECTIVES[route]}: {lacks}.{instead}",
    )


def _check_choices(inputs: Inputs, rules: Rules) -> tuple[IndicationRule, Route, Step, ProductRule]:
    product = _check_product(inputs, rules)
    indication = rules.indication(inputs.indication)
    if indication is None:
        known = ", ".join(i.slug for i in rules.indications)
        raise InputError(
            "indication", f"Unknown indication '{inputs.indication}'. Choose one of: {known}."
        )
    routes = rules.compiled.routes.get(_key(indication.slug), ())
    if inputs.route not in Route.__members__.values():
        raise InputError("route", "Choose iv (intravenous) or sc (subcutaneous).")
    route = Route(inputs.route)
    if route not in routes:
        have = " or ".join(f"{r.value} ({ROUTE_ADJECTIVES[r]})" for r in routes)
        raise InputError(
            "route",
            f"The label has no {ROUTE_ADJECTIVES[route]} dosing for {indication.name}; use {have}.",
        )
    _check_offered(product, indication, route, rules)
    if inputs.step not in Step.__members__.values():
        raise InputError("step", "Choose starting or increased.")
    step = Step(inputs.step)
    if (_key(indication.slug), route.value, step.value) not in rules.compiled.dose_rules:
        raise InputError(
            "step",
            f"The label has no increased {ROUTE_ADJECTIVES[route]} dose for {indication.name}; "
            "use starting.",
        )
    return indication, route, step, product


@lru_cache(maxsize=8)  # keyed by a content figure, never by a patient's
def _weight_allowed(max_weight_kg: Decimal) -> str:
    limit_lb = (max_weight_kg / KG_PER_LB).quantize(WEIGHT_PLACES, rounding=ROUND_DOWN)
    return (
        f"Enter a weight above 0 and up to {format_number(max_weight_kg)} kg "
        f"({format_number(limit_lb)} lb)."
    )


def _check_inputs(inputs: Inputs, rules: Rules) -> _Checked:
    indication, route, step, product = _check_choices(inputs, rules)
    if inputs.resuming_after_hold and inputs.starting_therapy:
        raise InputError(
            "resuming_after_hold",
            "Resuming after a hold is on therapy: set starting_therapy to false.",
        )
    context = (
        TherapyContext.STARTING
        if inputs.starting_therapy
        else TherapyContext.RESUMING
        if inputs.resuming_after_hold
        else TherapyContext.ON_THERAPY
    )
    dose_number = _dose_number(inputs.dose_number)
    if dose_number > 1 and context == TherapyContext.STARTING:
        # A repeat dose of a course is not a start: initiation-only gates do not apply to it.
        context = TherapyContext.ON_THERAPY
    if inputs.weight_unit not in WeightUnit.__members__.values():
        raise InputError("weight_unit", "Choose kg or lb.")
    weight = _parse_decimal("weight", inputs.weight, _weight_allowed(rules.max_weight_kg))
    weight_kg = to_kg(weight, inputs.weight_unit)
    # A weight shown as 0 kg is no weight: refused, as any weight above the maximum.
    if weight <= 0 or quantize(weight_kg, WEIGHT_PLACES) <= 0 or weight_kg > rules.max_weight_kg:
        raise InputError("weight", _weight_allowed(rules.max_weight_kg))
    age = None
    if inputs.age_years is not None:
        allowed_age = f"Enter an age from 0 to {AGE_INPUT_MAX_YEARS} years."
        age = _parse_decimal("age_years", inputs.age_years, allowed_age)
        if age < 0 or age > AGE_INPUT_MAX_YEARS:
            raise InputError("age_years", allowed_age)
    labs = []
    echoes = {}
    for name, value in inputs.labs.given():
        unit = getattr(inputs.labs, LAB_UNIT_FIELDS[name])
        uln = getattr(inputs.labs, LAB_ULN_FIELDS[name]) if name in LAB_ULN_FIELDS else None
        number, echoes[name] = read_lab(name, value, unit, uln)
        labs.append((name, number))
    return _Checked(
        indication=indication,
        route=route,
        step=step,
        context=context,
        weight=weight,
        weight_kg=weight_kg,
        age=age,
        labs=tuple(labs),
        weight_unit=WeightUnit(inputs.weight_unit),
        lab_echoes=echoes,
        product=product,
        dose_number=dose_number,
    )


DOSE_NUMBER_ALLOWED = (
    "Enter the dose number as a whole number: 1 for the first dose, 2 for the second."
)


def _dose_number(value: Any) -> int:
    """The dose of a course: a whole number from 1 (text digits too, as a form sends them)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError("dose_number", DOSE_NUMBER_ALLOWED)
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,3}", value.strip()):
        raise InputError("dose_number", DOSE_NUMBER_ALLOWED)
    number = int(value)
    if number < 1:
        raise InputError("dose_number", DOSE_NUMBER_ALLOWED)
    return number


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th ... 11th, 12th, 13th, 21st."""
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


@dataclass(frozen=True, slots=True)
class _Course:
    """This dose of a single-dose course (content's repeat rule), its previous dose, its start."""

    dose_number: int
    doses_max: int
    previous: datetime | None
    not_before: datetime | None
    now: datetime | None = None  # when this dose would start (Inputs.now), if given


def _course(checked: _Checked, rule: DoseRule, inputs: Inputs) -> _Course | None:
    """The dose number against the label's count, and the earliest start of a repeat dose
    (elapsed hours after the previous dose started). None for a repeating schedule."""
    number = checked.dose_number
    name = checked.indication.name
    if rule.additional_doses_max is None or rule.min_hours_apart is None:
        if number != 1:
            raise InputError(
                "dose_number",
                f"{name} has no numbered course of doses in the label: leave the dose number at 1.",
            )
        return None
    doses_max = 1 + rule.additional_doses_max
    if number > doses_max:
        raise InputError(
            "dose_number",
            f"The label allows {name} up to {doses_max} doses in all (the first and up to "
            f"{rule.additional_doses_max} more): a {ordinal(number)} dose is outside the label.",
        )
    if number == 1:
        return _Course(dose_number=1, doses_max=doses_max, previous=None, not_before=None)
    zone = time_zone(inputs.time_zone)
    if inputs.previous_dose_start is None or not str(inputs.previous_dose_start).strip():
        raise InputError(
            "previous_dose_start",
            f"Enter when the previous dose started (date and time): a {ordinal(number)} dose "
            f"starts at least {rule.min_hours_apart} hours after it.",
        )
    previous = read_moment("previous_dose_start", inputs.previous_dose_start, zone)
    not_before = after_hours(previous, rule.min_hours_apart)
    now = None
    if inputs.now is not None and str(inputs.now).strip():
        # The earlier reading of a doubtful now (seconds dropped, a repeated hour's first): a
        # start is never judged later than it is.
        now = read_moment("now", inputs.now, zone, earliest=True)
    return _Course(
        dose_number=number, doses_max=doses_max, previous=previous, not_before=not_before, now=now
    )


def _early_start_notice(course: _Course | None, rule: DoseRule) -> Notice | None:
    """A repeat dose asked for before its earliest start (the previous start + the label's
    hours, elapsed): a finding to confirm, naming the earliest start (reference, repeat doses)."""
    if course is None or course.now is None or course.not_before is None:
        return None
    now, not_before = course.now, course.not_before
    if _utc(now) >= _utc(not_before):
        return None
    previous = _required(course.previous, "the previous dose's start")
    hours = _required(rule.min_hours_apart, "the hours between doses")
    dose = f"the {ordinal(course.dose_number)} dose"
    if _utc(previous) > _utc(now):
        message = (
            f"The previous dose's start entered ({format_moment(previous)}) is later than now "
            f"({format_moment(now)}): check the date and time. {dose.capitalize()} may not start "
            f"before {format_moment(not_before)}, {hours} hours after it."
        )
    else:
        wait = -(-int((_utc(not_before) - _utc(now)).total_seconds()) // 60)
        message = (
            f"Too early: {dose} may not start before {format_moment(not_before)}, {hours} hours "
            f"after the previous dose started ({format_moment(previous)}); it is now "
            f"{format_moment(now)} ({_duration(wait)} to wait). Start it then, or check the "
            "previous dose's start time."
        )
    return Notice.sourced("early_start", Severity.WARNING, message, rule.source)


def read_lab(name: str, value: Any, unit: Any, uln: Any = None) -> tuple[Decimal, str]:
    """A lab value in the unit the lab reported, in the engine's unit (cells/mm³, × ULN), with
    its words as read; the one place units are converted (engine.mjs mirrors it).

    A value no lab reports in that unit is a question on its field (InputError), never an
    action: 0.9 cells/mm³ is no count ("did you mean 900 cells/mm³?").
    """
    units = LAB_INPUT_UNITS[name]
    unit_field = LAB_UNIT_FIELDS[name]
    if unit is None or unit == "":
        unit = units[0]
    if unit not in units:
        choices = ", ".join(f"{u.value} ({LAB_UNIT_WORDS[u]})" for u in units)
        raise InputError(unit_field, f"Choose the {LAB_NAMES[name]} unit: {choices}.")
    unit = LabUnit(unit)
    if unit in COUNT_PER_MM3:
        return _read_count(name, value, unit)
    if unit == LabUnit.X_ULN:
        allowed = f"Enter a value from 0 to {format_number(LAB_INPUT_MAX[name])} × ULN."
        number = _parse_decimal(name, value, allowed)
        if number < 0:
            raise InputError(name, allowed)
        if number > LAB_INPUT_MAX[name]:
            raise InputError(
                name,
                f"{format_number(number)} × ULN: did you mean {format_number(number)} U/L? "
                "Choose U/L and enter the upper limit of normal from the lab report.",
            )
        return number, f"{format_number(number)} × ULN"
    uln_field = LAB_ULN_FIELDS[name]
    need_uln = (
        f"Enter the upper limit of normal for {LAB_NAMES[name]} in U/L, from the lab report "
        "(or give the value as × ULN)."
    )
    if uln is None or uln == "":
        raise InputError(uln_field, need_uln)
    limit = _parse_decimal(uln_field, uln, need_uln)
    if limit <= 0:
        raise InputError(uln_field, need_uln)
    allowed = f"Enter a value from 0 U/L to {format_number(LAB_INPUT_MAX[name])} × ULN."
    number = _parse_decimal(name, value, allowed)
    if number < 0 or number > LAB_INPUT_MAX[name] * limit:
        raise InputError(name, allowed)
    ratio = number / limit
    shown = quantize(ratio, Decimal("0.01"))
    words = (
        f"{format_number(number)} U/L (upper limit {format_number(limit)} U/L) "
        f"= {'' if shown == ratio else 'about '}{format_number(shown)} × ULN"
    )
    return ratio, words


def _read_count(name: str, value: Any, unit: LabUnit) -> tuple[Decimal, str]:
    """A cell count in cells/mm³, ×10⁹/L or ×10³/µL, in cells/mm³."""
    factor = COUNT_PER_MM3[unit]
    words = LAB_UNIT_WORDS[unit]
    most = LAB_INPUT_MAX[name] / factor
    allowed = f"Enter a value from 0 to {format_number(most)} {words}."
    number = _parse_decimal(name, value, allowed)
    if number < 0:
        raise InputError(name, allowed)
    per_mm3 = number * factor
    if unit == LabUnit.PER_MM3:
        # A count is whole cells; a platelet count is reported in thousands (so below 1,000 it
        # is far likelier ×10³/µL): ask which was meant, never act on either reading.
        if number != number.to_integral_value() or (
            name == "platelets_per_mm3" and 0 < number < 1000
        ):
            raise InputError(
                name,
                f"{format_number(number)}: did you mean {format_number(number * 1000)} "
                f"cells/mm³ ({format_number(number)} ×10⁹/L)? Choose the unit the lab reports.",
            )
        if number > LAB_INPUT_MAX[name]:
            raise InputError(name, allowed)
        return number, f"{format_number(number)} cells/mm³"
    if number > most:
        raise InputError(
            name,
            f"{format_number(number)} {words}: did you mean {format_number(number)} cells/mm³? "
            "Choose the unit the lab reports.",
        )
    return per_mm3, f"{format_number(number)} {words} = {format_number(per_mm3)} cells/mm³"


def _required(value: _T | None, what: str) -> _T:
    """A figure the rules or an earlier phase guarantee: its absence is a bug, never a dose."""
    if value is None:
        raise ValueError(f"Inconsistent rules or result: {what} is missing.")
    return value


def _verify_notice(what: str, source: Source) -> Notice:
    return Notice.sourced(
        "verify_label",
        Severity.WARNING,
        f"Verify against the current label: {what} ({source.evidence} evidence, "
        f"PI {source.label_section}) is flagged for review.",
        source,
    )


def _dose_at(rule: DoseRule, mg_per_kg: Decimal | None, weight_kg: Decimal) -> Decimal:
    """The dose one rule gives at one weight: per kg (0.1 mg, capped) or flat."""
    if mg_per_kg is None:
        return _required(rule.flat_mg, "the dose rule's flat dose")
    dose = quantize(weight_kg * mg_per_kg, DOSE_PLACES)
    return min(dose, rule.max_mg) if rule.max_mg is not None else dose


def _dose_words(rule: DoseRule, weight_kg: Decimal, *, interval: bool) -> str:
    """A dose rule at one weight in words: "10 mg per kg (296 mg)", "162 mg every 2 weeks"."""
    if rule.mg_per_kg is not None:
        words = (
            f"{format_number(rule.mg_per_kg)} mg per kg "
            f"({format_number(_dose_at(rule, rule.mg_per_kg, weight_kg))} mg)"
        )
    else:
        words = f"{format_number(_dose_at(rule, None, weight_kg))} mg"
    if interval and rule.interval_days is not None:
        words += f" {format_interval(rule.interval_days)}"
    return words


def _same_dose(a: DoseRule, b: DoseRule) -> bool:
    return (a.mg_per_kg, a.flat_mg, a.interval_days, a.max_mg, a.additional_doses_max) == (
        b.mg_per_kg,
        b.flat_mg,
        b.interval_days,
        b.max_mg,
        b.additional_doses_max,
    )


def _below(low: Decimal | None, high: Decimal | None, edge: Decimal) -> bool:
    """The half-open band [low, high) holds the weights just under `edge`."""
    return (low is None or low < edge) and high is not None and high >= edge


def _side(
    dose: DoseRule | None,
    bag: BagRule | None,
    at_kg: Decimal,
    changes: tuple[bool, bool, bool],
    patient_side: bool,
) -> str:
    """One side of a band edge in words: what changes there (dose, bag or both)."""
    dose_changes, bag_changes, interval = changes
    if dose_changes:
        verb = "the dose is" if patient_side else "it would be"
        words = f"{verb} {_dose_words(_required(dose, 'the dose rule'), at_kg, interval=interval)}"
        if bag_changes:
            words += f" in a {format_number(_required(bag, 'the bag rule').bag_ml)} mL bag"
        return words
    bag_ml = _required(bag, "the bag rule").bag_ml
    return f"{'the bag is' if patient_side else 'it would be'} {format_number(bag_ml)} mL"


def _band_edge_notices(
    checked: _Checked, rule: DoseRule, rules: Rules, shown: Decimal
) -> list[tuple[Notice, str]]:
    """Near a weight where the dose or the bag changes, both sides in words (content margin)."""
    weight_kg = checked.weight_kg
    slug = checked.indication.slug
    siblings = rules.compiled.dose_rules.get((_key(slug), _key(rule.route), _key(rule.step)), ())
    bags: list[BagRule] = (
        [b for b in rules.preparation.bags if slug in b.indications]
        if rule.route == Route.IV
        else []
    )
    rows: list[DoseRule | BagRule] = [*siblings, *bags]
    edges = sorted({e for row in rows for e in (row.min_weight_kg, row.max_weight_kg) if e})
    notices = []
    for edge in edges:
        if abs(weight_kg - edge) * 100 > edge * rules.band_margin_percent:
            continue
        dose_under = next(
            (d for d in siblings if _below(d.min_weight_kg, d.max_weight_kg, edge)), None
        )
        dose_at = next((d for d in siblings if d.covers(edge)), None)
        bag_under = next((b for b in bags if _below(b.min_weight_kg, b.max_weight_kg, edge)), None)
        bag_at = next((b for b in bags if in_band(edge, b.min_weight_kg, b.max_weight_kg)), None)
        dose_changes = dose_under and dose_at and not _same_dose(dose_under, dose_at)
        bag_changes = bag_under and bag_at and bag_under.bag_ml != bag_at.bag_ml
        if not (dose_changes or bag_changes):
            continue
        interval = bool(
            dose_changes and dose_under.interval_days != dose_at.interval_days  # type: ignore[union-attr]
        )

        changes = (bool(dose_changes), bool(bag_changes), interval)
        edge_text = format_number(edge)
        if weight_kg < edge:
            here = f"under {edge_text} kg {_side(dose_under, bag_under, weight_kg, changes, True)}"
            other = f"at {edge_text} kg {_side(dose_at, bag_at, edge, changes, False)}"
        else:
            here = f"at {edge_text} kg and over {_side(dose_at, bag_at, weight_kg, changes, True)}"
            other = (
                f"under {edge_text} kg {_side(dose_under, bag_under, weight_kg, changes, False)}"
            )
        notice = Notice.sourced(
            "band_edge",
            Severity.WARNING,
            f"{format_number(shown)} kg: {here}; {other}. Confirm the weight.",
            rule.source,
        )
        notices.append((notice, other))
    return notices


def _age_notice(indication: IndicationRule, age: Decimal | None) -> Notice | None:
    """Below the label's minimum age the drug is not recommended (never silently dosed)."""
    if age is None or indication.min_age_years is None or age >= indication.min_age_years:
        return None
    minimum = format_number(indication.min_age_years)
    who = (
        f"adults ({minimum} years and older)"
        if indication.adult_only
        else f"patients {minimum} years and older"
    )
    return Notice.sourced(
        "age_below_minimum",
        Severity.DANGER,
        f"{indication.name} is approved for {who}; this patient is {format_number(age)} years old.",
        indication.source,
    )


def _rule_context(checked: _Checked) -> RuleContext:
    """The rules that apply to this patient: resuming after a hold is on therapy."""
    if checked.context == TherapyContext.STARTING:
        return RuleContext.STARTING
    return RuleContext.ON_THERAPY


def _lab_rules(checked: _Checked, name: str, rules: Rules) -> tuple[LabRule, ...]:
    """The lab rules for this lab, indication, route and context, in content order (the rest,
    persistence and the value, is the patient's)."""
    key = (name, _key(checked.indication.slug), checked.route.value, _rule_context(checked).value)
    return rules.compiled.lab_rules.get(key, ())


def _lab_applies(lab_rule: LabRule, value: Decimal, persistent: bool) -> bool:
    """One of `_lab_rules` for this patient: its persistence and its range."""
    return (
        lab_rule.persistence == Persistence.ANY
        or (lab_rule.persistence == Persistence.PERSISTENT) == persistent
    ) and lab_rule.matches(value)


@dataclass(slots=True)
class _Findings:
    action: Action = Action.GIVE
    reduce_mg_per_kg: Decimal | None = None
    reduce_interval: int | None = None
    reduce_source: Source | None = None
    warnings: list[Notice] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    # A check's alternative, keyed by the check's message ("at 30 kg it would be ...").
    alternatives: dict[str, str] = field(default_factory=dict)


def _lab_findings(checked: _Checked, persistent: bool, rules: Rules, found: _Findings) -> None:
    """Every matching lab rule explained; the most severe action wins."""
    for name, value in checked.labs:
        for lab_rule in _lab_rules(checked, name, rules):
            if not _lab_applies(lab_rule, value, persistent):
                continue
            found.sources.append(lab_rule.source)
            found.warnings.append(
                Notice.sourced(
                    lab_rule.code,
                    ACTION_SEVERITY[lab_rule.action],
                    f"{LAB_NAMES[name]} {checked.lab_echoes[name]}: {lab_rule.message}",
                    lab_rule.source,
                )
            )
            if lab_rule.source.needs_review:
                found.warnings.append(
                    _verify_notice(f"the {LAB_NAMES[name]} rule", lab_rule.source)
                )
            if ACTION_RANK[lab_rule.action] > ACTION_RANK[found.action]:
                found.action = lab_rule.action
            if lab_rule.action == Action.REDUCE:
                found.reduce_source = found.reduce_source or lab_rule.source
                if lab_rule.reduce_to_mg_per_kg is not None:
                    found.reduce_mg_per_kg = min(
                        filter(None, (found.reduce_mg_per_kg, lab_rule.reduce_to_mg_per_kg))
                    )
                if lab_rule.reduce_to_interval_days is not None:
                    found.reduce_interval = max(
                        found.reduce_interval or 0, lab_rule.reduce_to_interval_days
                    )


def _if_persistent_notices(checked: _Checked, rule: DoseRule, rules: Rules) -> list[Notice]:
    """A rise not confirmed: the step the label gives if it persists, with its own figures."""
    notices = []
    for name, value in checked.labs:
        for lab_rule in _lab_rules(checked, name, rules):
            if lab_rule.persistence != Persistence.PERSISTENT or not _lab_applies(
                lab_rule, value, True
            ):
                continue
            figures = ""
            if lab_rule.action == Action.REDUCE:
                if lab_rule.reduce_to_mg_per_kg is not None and rule.mg_per_kg is not None:
                    mg_per_kg = min(lab_rule.reduce_to_mg_per_kg, rule.mg_per_kg)
                    dose = _dose_at(rule, mg_per_kg, checked.weight_kg)
                    figures = f"{format_number(dose)} mg ({format_number(mg_per_kg)} mg per kg); "
                elif (
                    lab_rule.reduce_to_interval_days is not None
                    and rule.interval_days is not None
                    and rule.flat_mg is not None
                ):
                    days = max(lab_rule.reduce_to_interval_days, rule.interval_days)
                    figures = f"{format_number(_dose_at(rule, None, checked.weight_kg))} mg {format_interval(days)}; "
            notices.append(
                Notice.sourced(
                    f"if-persistent-{lab_rule.code}",
                    ACTION_SEVERITY[lab_rule.action],
                    f"{LAB_NAMES[name]} {checked.lab_echoes[name]}, "
                    f"if the rise persists: {figures}"
                    f"{lab_rule.message}",
                    lab_rule.source,
                )
            )
    return notices


def _advisory_notices(checked: _Checked, rules: Rules, found: _Findings) -> None:
    # Standing advisories apply in their context, as lab rules do (resuming is on therapy).
    key = (_key(checked.indication.slug), checked.route.value, _rule_context(checked).value)
    for source, notice in rules.compiled.advisories.get(key, ()):
        found.sources.append(source)
        found.warnings.append(notice)


def _product_notices(checked: _Checked, found: _Findings) -> None:
    """A route the product's label is not confirmed for (OPEN), and the product's active
    notices for this route (a recall), as findings (issue 23)."""
    product = checked.product
    offered = product.offers(checked.indication.slug, checked.route)
    if offered is not None and offered.source.needs_review:
        found.sources.append(offered.source)
        found.warnings.append(
            Notice.sourced(
                "product_route_open",
                Severity.WARNING,
                f"{product.brand_name}'s label is not confirmed for "
                f"{checked.indication.name}, {ROUTE_ADJECTIVES[checked.route]} "
                f"({offered.source.evidence} evidence): verify against its label.",
                offered.source,
            )
        )
    for notice in product.notices:
        if notice.active and notice.route in (None, checked.route):
            found.sources.append(notice.source)
            found.warnings.append(
                Notice.sourced(
                    f"product-{notice.code}",
                    notice.severity,
                    f"{product.brand_name}: {notice.title}. {notice.text}",
                    notice.source,
                )
            )


def _presentation_notices(
    checked: _Checked, prepared: _Prepared, rules: Rules, found: _Findings
) -> None:
    """A vial or device this result uses that its product's label is not confirmed for (OPEN:
    TYENNE's vial strengths, a biosimilar autoinjector's name), named with its grade (issue 23)."""
    used = {("vial", v.strength_mg) for v in prepared.vials} | {
        (d.device, d.strength_mg) for d in prepared.devices
    }
    for p in rules.compiled.unconfirmed[checked.product.slug]:
        if p.route != checked.route or (p.device, p.strength_mg) not in used:
            continue
        source = _required(p.source, "an unconfirmed presentation's source")
        found.sources.append(source)
        found.warnings.append(
            Notice.sourced(
                "product_presentation_open",
                Severity.WARNING,
                f"{checked.product.brand_name}'s label is not confirmed for the "
                f"{p.device_label[:1].lower()}{p.device_label[1:]} "
                f"{format_number(p.strength_mg)} mg/{format_number(p.volume_ml)} mL "
                f"({source.evidence} evidence): check the carton against its label.",
                source,
            )
        )


def _initiation_notice(
    checked: _Checked, rule: DoseRule, rules: Rules
) -> tuple[Notice, str] | None:
    """The increased step chosen when starting: the label starts at the starting dose."""
    if checked.step != Step.INCREASED or checked.context != TherapyContext.STARTING:
        return None
    starting = next(
        (
            d
            for d in rules.compiled.dose_rules.get(
                (_key(rule.indication), _key(rule.route), Step.STARTING.value), ()
            )
            if d.covers(checked.weight_kg)
        ),
        None,
    )
    if starting is None or _same_dose(starting, rule):
        return None
    words = _dose_words(starting, checked.weight_kg, interval=True)
    notice = Notice.sourced(
        "increased_at_initiation",
        Severity.WARNING,
        "Starting therapy: the label starts at the starting dose, "
        f"{words}, and increases it based on "
        "clinical response. Confirm the increased dose is intended.",
        starting.source,
    )
    return notice, f"the starting dose would be {words}"


def _resume_rule(checked: _Checked, rules: Rules) -> ResumeRule | None:
    return next(
        (
            r
            for r in rules.compiled.resume_rules.get(
                (_key(checked.indication.slug), checked.route.value), ()
            )
            if r.covers(checked.weight_kg)
        ),
        None,
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    volume_ml: Decimal | None = None
    vials: tuple[Vial, ...] = ()
    vial_total_mg: Decimal | None = None
    waste_mg: Decimal | None = None
    bag_ml: Decimal | None = None
    diluents: str = ""
    infusion_minutes: int | None = None
    rate: Decimal | None = None
    devices: tuple[Device, ...] = ()
    impossible: bool = False  # the drug has no bag to go in (UNPREPARABLE_CODES)
    drawn: Drawn | None = None  # the volume drawn up, as a syringe measures it (issue 22.4)


@dataclass(frozen=True, slots=True, kw_only=True)
class Drawn:
    """The one volume to draw (issue 22.4): as the syringe measures it, and the mg it holds."""

    ml: Decimal
    mg: Decimal
    graduation_ml: Decimal
    syringe_ml: Decimal | None = None  # None: no syringe table, content's single graduation
    fills: int = 1  # more than one: the volume is more than the largest syringe holds
    needs_review: bool = False  # the syringe's row is flagged (OPEN)


def measure(mg: Decimal, most_mg: Decimal, rules: Rules) -> Drawn | None:
    """`mg` as a volume a syringe measures: the smallest syringe in content that holds it (else
    the largest, filled more than once), the volume rounded half up to its graduation, or down
    where half up would hold more than `most_mg` (the vials, the label maximum). None without
    handling. Volumes in mL, mg to 0.1 mg."""
    handling = rules.handling
    if handling is None:
        return None
    conc = rules.preparation.concentration_mg_per_ml
    exact_ml = mg / conc
    syringes = rules.compiled.syringes
    syringe = next((s for s in syringes if exact_ml <= s.capacity_ml), None)
    fills = 1
    if syringe is None and syringes:
        syringe = syringes[-1]
        fills = int((exact_ml / syringe.capacity_ml).to_integral_value(ROUND_CEILING))
    step = handling.syringe_precision_ml if syringe is None else syringe.graduation_ml
    ml = round_to_step(exact_ml, step)
    if ml * conc > most_mg:
        ml = (exact_ml / step).to_integral_value(ROUND_DOWN) * step
    return Drawn(
        ml=ml,
        mg=quantize(ml * conc, DOSE_PLACES),
        graduation_ml=step,
        syringe_ml=None if syringe is None else syringe.capacity_ml,
        fills=fills,
        needs_review=syringe is not None and syringe.source.needs_review,
    )


def drawn_words(drawn: Drawn) -> str:
    """'14 mL in a 20 mL syringe = 280 mg': the volume, where it is measured, what it holds."""
    volume = f"{format_number(drawn.ml)} mL"
    if drawn.syringe_ml is not None:
        syringe = f"{format_number(drawn.syringe_ml)} mL syringe"
        volume += (
            f" in a {syringe}" if drawn.fills == 1 else f" in {drawn.fills} fills of a {syringe}"
        )
    return f"{volume} = {format_number(drawn.mg)} mg"


def _prepare_iv(
    checked: _Checked, dose_mg: Decimal, max_mg: Decimal | None, rules: Rules, found: _Findings
) -> _Prepared:
    preparation = rules.preparation
    found.sources.append(preparation.source)
    search = rules.compiled.iv_search[checked.product.slug]
    volume_ml = quantize(dose_mg / preparation.concentration_mg_per_ml, VOLUME_PLACES)
    vials = () if search is None else _choose_vials(dose_mg, search)
    vial_total_mg = sum((v.strength_mg * v.count for v in vials), Decimal(0))
    draw_mg = dose_mg
    whole = _whole_vials(dose_mg, max_mg, vial_total_mg, search, rules, found)
    if whole is not None:
        vials, vial_total_mg = whole, sum((v.strength_mg * v.count for v in whole), Decimal(0))
        draw_mg = vial_total_mg
    # Never more than the vials hold, nor above the label maximum (a capped 750 mg is 37.5 mL:
    # a 1 mL graduation draws 37 mL, not 38 mL = 760 mg).
    drawn = measure(draw_mg, vial_total_mg if max_mg is None else min(vial_total_mg, max_mg), rules)
    bag = next(
        (b for b in preparation.bags if b.serves(checked.indication.slug, checked.weight_kg)), None
    )
    bag_ml = None if bag is None else bag.bag_ml
    # What goes into the bag is the volume drawn up (issue 22.4).
    in_bag_ml = volume_ml if drawn is None else drawn.ml
    # ... and the mg it holds: the final concentration is of the mg drawn, as the final step
    # says (PJIA 248 kg: 1,984 mg drawn as 99 mL = 1,980 mg in 100 mL).
    in_bag_mg = draw_mg if drawn is None else drawn.mg
    dose_words = f"{format_number(dose_mg)} mg ({format_number(in_bag_ml)} mL of drug)"
    if bag_ml is None:
        found.warnings.append(
            Notice.sourced(
                "no_bag_rule",
                Severity.DANGER,
                f"No final bag volume is set for {checked.indication.name} at this "
                f"weight: {dose_words} cannot be prepared. Contact pharmacy.",
                preparation.source,
            )
        )
    elif bag_ml - in_bag_ml <= preparation.min_saline_ml:
        found.warnings.append(
            Notice.sourced(
                "preparation_impossible",
                Severity.DANGER,
                f"{dose_words} does not fit a "
                f"{format_number(bag_ml)} mL bag with saline to spare: the label's preparation "
                "cannot be followed, and no dose is given. Contact pharmacy.",
                preparation.source,
            )
        )
        bag_ml = None
    elif (limit := preparation.concentration_limit) is not None and (
        in_bag_mg > limit.max_mg_per_ml * bag_ml
    ):
        _concentration_notices(in_bag_mg, bag_ml, limit, found)
    return _Prepared(
        volume_ml=volume_ml,
        vials=vials,
        vial_total_mg=vial_total_mg,
        # What the vials keep after the volume drawn.
        waste_mg=vial_total_mg - (draw_mg if drawn is None else drawn.mg),
        bag_ml=bag_ml,
        diluents=preparation.diluents if bag_ml is not None else "",
        infusion_minutes=preparation.infusion_minutes if bag_ml is not None else None,
        rate=None
        if bag_ml is None
        else quantize(bag_ml * 60 / preparation.infusion_minutes, RATE_PLACES),
        impossible=bag_ml is None,
        drawn=drawn,
    )


def _concentration_notices(
    in_bag_mg: Decimal, bag_ml: Decimal, limit: ConcentrationLimitRule, found: _Findings
) -> None:
    """A bag above the content's final concentration limit (mg/mL to 0.1, rounded half up), of
    the mg drawn into it."""
    found.sources.append(limit.source)
    found.warnings.append(
        Notice.sourced(
            "concentration_above_limit",
            Severity.WARNING,
            f"Final concentration {format_number(quantize(in_bag_mg / bag_ml, CONCENTRATION_PLACES))} "
            f"mg/mL ({format_number(in_bag_mg)} mg in {format_number(bag_ml)} mL) is above "
            f"{format_number(limit.max_mg_per_ml)} mg/mL: {limit.message}",
            limit.source,
        )
    )
    if limit.source.needs_review:
        found.warnings.append(_verify_notice("the final concentration limit", limit.source))


def _whole_vials(
    dose_mg: Decimal,
    max_mg: Decimal | None,
    vial_total_mg: Decimal,
    search: _VialSearch | None,
    rules: Rules,
    found: _Findings,
) -> tuple[Vial, ...] | None:
    """The site's rounding (issue 22.4): the whole vials nearest the dose (the fewer mg on a
    tie), within the policy's percentage and never above the label maximum; the deviation is
    shown. None: no policy, already whole vials, or none near enough."""
    policy = rules.rounding
    if policy is None or not policy.enabled or search is None or vial_total_mg == dose_mg:
        return None
    below = _vials_at_most(dose_mg, search)
    below_mg = sum((v.strength_mg * v.count for v in below), Decimal(0))
    options = [(below_mg, below)] if below_mg > 0 else []
    if max_mg is None or vial_total_mg <= max_mg:
        options.append((vial_total_mg, _choose_vials(dose_mg, search)))
    near = [o for o in options if abs(o[0] - dose_mg) * 100 <= dose_mg * policy.within_percent]
    if not near:
        return None
    total_mg, chosen = min(near, key=lambda o: (abs(o[0] - dose_mg), o[0]))
    found.sources.append(policy.source)
    found.warnings.append(
        Notice.sourced(
            "site_rounding",
            Severity.WARNING,
            f"Site rounding policy: whole vials, {format_number(total_mg)} mg for the "
            f"calculated {format_number(dose_mg)} mg ({_deviation(total_mg, dose_mg)}; the site "
            f"rounds within {format_number(policy.within_percent)} %). The label states no "
            "rounding rule.",
            policy.source,
        )
    )
    return chosen


def _deviation(given_mg: Decimal, dose_mg: Decimal) -> str:
    """'+0.2 %', '−2 %', 'less than 0.1 % more': the rounded dose against the calculated one."""
    percent = quantize((given_mg - dose_mg) * 100 / dose_mg, Decimal("0.1"))
    if percent == 0:
        return f"less than 0.1 % {'more' if given_mg > dose_mg else 'less'}"
    return f"{'+' if percent > 0 else '−'}{format_number(abs(percent))} %"


def _prepare_sc(checked: _Checked, dose_mg: Decimal, rules: Rules) -> _Prepared:
    devices = rules.compiled.sc_devices[checked.product.slug]
    volume_ml = None
    if devices:
        first = devices[0]
        volume_ml = quantize(dose_mg / first.strength_mg * first.volume_ml, VOLUME_PLACES)
    return _Prepared(volume_ml=volume_ml, devices=devices)


def calculate(inputs: Inputs, rules: Rules) -> Result:
    """Dose, preparation and warnings for one patient, from the rules snapshot.

    Raises InputError for input outside the domain (the field and what is allowed). A lab value
    that means hold or discontinue is a result, not an error. Units are in the field names.
    """
    with localcontext(prec=EXACT_PRECISION):
        return _calculate(inputs, rules)


@dataclass(frozen=True, slots=True)
class _Plan:
    """The dose the label gives before any finding reduces or stops it."""

    mg_per_kg: Decimal | None
    interval_days: int | None
    next_step: str


@dataclass(frozen=True, slots=True)
class _Dose:
    """The dose given now (none when the action gives nothing)."""

    mg_per_kg: Decimal | None
    calculated_mg: Decimal
    dose_mg: Decimal
    capped: bool


@dataclass(frozen=True, slots=True)
class _Schedule:
    """No dose, no schedule: a hold or a discontinue carries no interval and no repeat."""

    interval_days: int | None = None
    repeat: Repeat | None = None


def _calculate(inputs: Inputs, rules: Rules, *, would_be: bool = True) -> Result:
    checked = _check_inputs(inputs, rules)
    rule = _choose_rule(checked, rules)
    course = _course(checked, rule, inputs)
    shown = _shown_weight(checked, rules)
    # The dose rule's section first: it is the "why" behind the headline figure.
    found = _Findings(sources=[rule.source, checked.indication.source])
    alternative = (lambda weight: _would_be(inputs, rules, weight)) if would_be else None
    _patient_notices(checked, rule, shown, rules, found, alternative)
    early = _early_start_notice(course, rule)
    if early is not None:
        found.warnings.append(early)
    plan = _usual_or_resume(checked, rule, rules, found)
    plan = _lab_action(checked, inputs.persistent_rise, rule, plan, rules, found)
    _advisory_notices(checked, rules, found)
    _product_notices(checked, found)
    dose = _dose(checked, rule, plan, shown, rules, found)
    prepared = _preparation(checked, dose, rule.max_mg, rules, found)
    if prepared.diluents:  # the product's (TOFIDENCE names 0.9 % only), wherever the bag is named
        prepared = replace(prepared, diluents=checked.product.diluents)
    impossible = prepared.impossible
    if not impossible:
        _presentation_notices(checked, prepared, rules, found)
    if impossible:
        # A dose with nowhere to go is not a dose to give: no figures, no schedule, the danger.
        found.action = Action.NOT_RECOMMENDED
        plan = replace(plan, next_step="Contact pharmacy: see the warnings.")
        dose, prepared = None, _Prepared()
    step_words = _step_words(checked, plan, found)
    checks, action_if_confirmed = _checks(found, rules, confirmed=inputs.confirmed)
    headline = UNPREPARABLE_HEADLINE if impossible else HEADLINES[found.action]
    schedule = _schedule(rule, plan, dose, course)
    display = describe(found.action, checked, shown, dose, rule.max_mg, prepared, schedule)
    display["step"] = step_words
    display["headline"] = headline
    display["product"] = product_name(checked.product)
    drawn_now = _drawn_now(found.action, prepared)
    result = Result(
        action=found.action,
        indication=checked.indication.slug,
        indication_name=checked.indication.name,
        route=checked.route,
        step=checked.step,
        weight_kg=shown,
        weight_input=checked.weight,
        weight_unit=checked.weight_unit,
        dose_mg=None if dose is None else dose.dose_mg,
        mg_per_kg=None if dose is None else dose.mg_per_kg,
        calculated_mg=None if dose is None else dose.calculated_mg,
        capped=dose is not None and dose.capped,
        max_mg=rule.max_mg,
        interval_days=schedule.interval_days,
        repeat=schedule.repeat,
        next_step=plan.next_step,
        concomitant=rule.concomitant,
        volume_ml=prepared.volume_ml,
        vials=prepared.vials,
        vial_total_mg=prepared.vial_total_mg,
        waste_mg=prepared.waste_mg,
        bag_ml=prepared.bag_ml,
        diluents=prepared.diluents,
        infusion_minutes=prepared.infusion_minutes,
        rate_ml_per_hour=prepared.rate,
        devices=prepared.devices,
        warnings=_ordered_warnings(found.warnings, rules, first=bool(checks)),
        references=_references(found.sources),
        content_version=rules.content_version,
        content_published_on=rules.content_date,
        display=display,
        checks=checks,
        action_if_confirmed=action_if_confirmed,
        confirmed=bool(checks) and action_if_confirmed is None,
        draw_ml=None if drawn_now is None else drawn_now.ml,
        draw_mg=None if drawn_now is None else drawn_now.mg,
        syringe_ml=None if drawn_now is None else drawn_now.syringe_ml,
        product=_result_product(checked.product),
    )
    extra = _preparation_fields(result, rules, prepared.drawn)
    if extra:
        # `result` was built just above and no one holds it yet: filled in place, not copied.
        for name, value in extra.items():
            object.__setattr__(result, name, value)
    return result


def _result_product(product: ProductRule) -> ResultProduct:
    return ResultProduct(
        slug=product.slug,
        brand_name=product.brand_name,
        nonproprietary_name=product.nonproprietary_name,
        biosimilar=product.biosimilar,
        label_name=product.label_name,
        label_url=product.label_url,
        label_revision=product.label_revision,
    )


def _drawn_now(action: Action, prepared: _Prepared) -> Drawn | None:
    """The volume to draw for a dose to prepare now: none while it waits for a check, or with
    no bag to go in (the figures still say it; nothing is drawn)."""
    if action == Action.CHECK or prepared.bag_ml is None:
        return None
    return prepared.drawn


def _checks(
    found: _Findings, rules: Rules, *, confirmed: bool
) -> tuple[tuple[Check, ...], Action | None]:
    """The findings to confirm before a dose is given, and the action they hold back: a give or
    a reduce becomes CHECK until confirmed (found.action is set). No dose, nothing to confirm."""
    if found.action not in (Action.GIVE, Action.REDUCE):
        return (), None
    checks = tuple(
        Check(
            code=w.code,
            message=w.message,
            alternative=found.alternatives.get(w.message, ""),
            label_section=w.label_section,
            anchor=w.anchor,
        )
        for w in _ordered_warnings(found.warnings, rules)
        if w.code in CHECK_CODES
    )
    if not checks or confirmed:
        return checks, None
    held, found.action = found.action, Action.CHECK
    return checks, held


def _choose_rule(checked: _Checked, rules: Rules) -> DoseRule:
    """The dose rule for this indication, route and step whose band holds the weight."""
    key = (_key(checked.indication.slug), checked.route.value, checked.step.value)
    for d in rules.compiled.dose_rules.get(key, ()):
        if d.covers(checked.weight_kg):
            return d
    raise InputError("weight", f"No dose rule covers {format_number(checked.weight_kg)} kg.")


def _shown_weight(checked: _Checked, rules: Rules) -> Decimal:
    """The weight as shown: rounded, but never across an edge of this indication's bands."""
    return shown_kg(checked.weight_kg, rules.compiled.edges.get(_key(checked.indication.slug), ()))


def _patient_notices(
    checked: _Checked,
    rule: DoseRule,
    shown: Decimal,
    rules: Rules,
    found: _Findings,
    would_be: Callable[[Decimal], str] | None,
) -> None:
    """Content under review, age, an unusual weight, the increased step when starting."""
    indication = checked.indication
    if indication.source.needs_review:
        found.warnings.append(_verify_notice(indication.name, indication.source))
    if rule.source.needs_review:
        route = ROUTE_ADJECTIVES[checked.route]
        found.warnings.append(_verify_notice(f"this {route} dose", rule.source))
    age_notice = _age_notice(indication, checked.age)
    if age_notice is not None:
        found.action = Action.NOT_RECOMMENDED
        found.warnings.append(age_notice)
    if checked.age is None and not indication.adult_only:
        found.warnings.append(_age_needed_notice(shown, indication))
    weight = _weight_plausibility(checked, shown, rules, would_be)
    if weight is not None:
        found.warnings.append(weight[0])
        found.alternatives[weight[0].message] = weight[1]
    initiation = _initiation_notice(checked, rule, rules)
    if initiation is not None:
        found.warnings.append(initiation[0])
        found.alternatives[initiation[0].message] = initiation[1]


def _usual_or_resume(checked: _Checked, rule: DoseRule, rules: Rules, found: _Findings) -> _Plan:
    """The usual dose; resuming after a hold, the label's resume dose where content has one."""
    plan = _Plan(rule.mg_per_kg, rule.interval_days, rule.next_step)
    if checked.context != TherapyContext.RESUMING:
        return plan
    resume = _resume_rule(checked, rules)
    if resume is None:
        found.warnings.append(
            Notice.sourced(
                "resume_not_stated",
                Severity.WARNING,
                f"The label gives no dose for resuming {checked.indication.name} "
                f"({ROUTE_ADJECTIVES[checked.route]}) after a hold: the usual dose is shown. "
                "Decide the dose with the prescriber.",
                rule.source,
            )
        )
        return plan
    found.sources.append(resume.source)
    if resume.source.needs_review:
        found.warnings.append(_verify_notice("the dose after a hold", resume.source))
    return _Plan(
        mg_per_kg=resume.mg_per_kg
        if resume.mg_per_kg is not None and plan.mg_per_kg is not None
        else plan.mg_per_kg,
        interval_days=resume.interval_days
        if resume.interval_days is not None
        else plan.interval_days,
        next_step=resume.next_step,
    )


def _lab_action(
    checked: _Checked,
    persistent: bool,
    rule: DoseRule,
    plan: _Plan,
    rules: Rules,
    found: _Findings,
) -> _Plan:
    """Lab findings decide the action; a reduction lowers the dose or lengthens the interval."""
    _lab_findings(checked, persistent, rules, found)
    if not persistent:
        found.warnings.extend(_if_persistent_notices(checked, rule, rules))
    if found.action == Action.GIVE:
        return plan
    if found.action != Action.REDUCE:
        return replace(plan, next_step="See the warnings: the most severe finding decides.")
    mg_per_kg, interval_days = plan.mg_per_kg, plan.interval_days
    reduce_mg, reduce_days = found.reduce_mg_per_kg, found.reduce_interval
    if mg_per_kg is not None and reduce_mg is not None and reduce_mg < mg_per_kg:
        mg_per_kg = reduce_mg
    if interval_days is not None and reduce_days is not None and reduce_days > interval_days:
        interval_days = reduce_days
    if (mg_per_kg, interval_days) == (plan.mg_per_kg, plan.interval_days):
        # Already at the reduced step (reference, lab section): "never chart a 'reduced dose'
        # that equals the current one"; the label's remaining step is to hold.
        found.action = Action.HOLD
        found.warnings.append(_already_reduced_notice(plan, found.reduce_source or rule.source))
        return replace(plan, next_step="See the warnings: the most severe finding decides.")
    return _Plan(
        mg_per_kg=mg_per_kg,
        interval_days=interval_days,
        next_step="Return to the usual dose as the lab values allow (see the warnings).",
    )


def _reduced_words(plan: _Plan) -> str:
    """The reduced step in its figure: '4 mg/kg', or the interval ('every 2 weeks')."""
    if plan.mg_per_kg is not None:
        return f"{format_number(plan.mg_per_kg)} mg/kg"
    return format_interval(_required(plan.interval_days, "the interval"))


def _step_words(checked: _Checked, plan: _Plan, found: _Findings) -> str:
    """The chart note's and the sheet's words for the step (reference, lab section): a resume
    dose, a reduced dose or a hold at the reduced step is not 'the starting dose', though RA's
    4 mg/kg is both."""
    if checked.context == TherapyContext.RESUMING:
        return "resuming after a hold"
    if any(w.code == "already_reduced" for w in found.warnings):
        return f"already at the reduced dose ({_reduced_words(plan)})"
    if found.action == Action.REDUCE:
        return f"reduced dose, from the {checked.step.value} dose"
    return f"{checked.step.value} dose"


def _already_reduced_notice(plan: _Plan, source: Source) -> Notice:
    reduced = _reduced_words(plan)
    return Notice.sourced(
        "already_reduced",
        Severity.WARNING,
        f"Already at the reduced dose ({reduced}): the label has no further reduction. "
        "Hold until the values are normal, the label's other step.",
        source,
    )


def _dose(
    checked: _Checked,
    rule: DoseRule,
    plan: _Plan,
    shown: Decimal,
    rules: Rules,
    found: _Findings,
) -> _Dose | None:
    """The dose (0.1 mg, capped at the label maximum), with the warnings about its figure."""
    if found.action not in (Action.GIVE, Action.REDUCE):
        return None
    mg_per_kg = plan.mg_per_kg
    calculated_mg = (
        quantize(checked.weight_kg * mg_per_kg, DOSE_PLACES)
        if mg_per_kg is not None
        else _required(rule.flat_mg, "the dose rule's flat dose")
    )
    max_mg = rule.max_mg
    capped = max_mg is not None and calculated_mg > max_mg
    dose_mg = max_mg if max_mg is not None and capped else calculated_mg
    for notice, other in _band_edge_notices(checked, rule, rules, shown):
        found.warnings.append(notice)
        found.alternatives[notice.message] = other
    threshold = rules.uncapped_note_above_mg
    if max_mg is None and mg_per_kg is not None and threshold is not None and dose_mg > threshold:
        found.warnings.append(
            Notice.sourced(
                "no_label_maximum",
                Severity.WARNING,
                f"The label states no maximum dose for {checked.indication.name}: "
                f"{format_number(dose_mg)} mg is above {_threshold_words(threshold, rules)}. "
                "Check the weight and the dose.",
                rule.source,
            )
        )
    return _Dose(mg_per_kg=mg_per_kg, calculated_mg=calculated_mg, dose_mg=dose_mg, capped=capped)


def _threshold_words(threshold: Decimal, rules: Rules) -> str:
    """What the uncapped-dose note's figure is: content seeds it as the largest maximum the label
    states (800 mg: RA, CRS, COVID-19); a site may set another, and the words then say so."""
    caps = rules.compiled.caps_mg
    if caps and threshold == max(caps):
        return f"{format_number(threshold)} mg, the largest maximum dose the label states for any indication"
    return f"{format_number(threshold)} mg, the threshold this site set for doses the label does not cap"


def _preparation(
    checked: _Checked, dose: _Dose | None, max_mg: Decimal | None, rules: Rules, found: _Findings
) -> _Prepared:
    """Vials, bag and rate (intravenous) or devices (subcutaneous) for the dose given now."""
    if dose is None:
        return _Prepared()
    if checked.route == Route.IV:
        return _prepare_iv(checked, dose.dose_mg, max_mg, rules, found)
    return _prepare_sc(checked, dose.dose_mg, rules)


def _schedule(rule: DoseRule, plan: _Plan, dose: _Dose | None, course: _Course | None) -> _Schedule:
    if dose is None:
        return _Schedule()
    repeat = None
    if (
        course is not None
        and rule.additional_doses_max is not None
        and rule.min_hours_apart is not None
    ):
        repeat = Repeat(
            additional_doses_max=rule.additional_doses_max,
            min_hours_apart=rule.min_hours_apart,
            condition=rule.repeat_condition,
            dose_number=course.dose_number,
            doses_max=course.doses_max,
            previous_dose_start=None if course.previous is None else iso_minute(course.previous),
            not_before=None if course.not_before is None else iso_minute(course.not_before),
        )
    return _Schedule(interval_days=plan.interval_days, repeat=repeat)


def _ordered_warnings(
    warnings: list[Notice], rules: Rules, *, first: bool = False
) -> tuple[Notice, ...]:
    # Severity first; within one severity, findings about this patient before standing advisories.
    # With a dose to confirm (`first`), the findings to confirm lead (issue 22).
    advisory_codes = rules.compiled.advisory_codes
    return tuple(
        sorted(
            warnings,
            key=lambda w: (
                first and w.code not in CHECK_CODES,
                SEVERITY_RANK[w.severity],
                w.code in advisory_codes,
            ),
        )
    )


def _plausible_weights(
    age: Decimal | None, indication: IndicationRule, rules: Rules
) -> tuple[Decimal, Decimal, str] | None:
    """The usual weights for this patient (lowest, highest, who) from content, or None."""
    if not rules.plausible_weights:
        return None
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
        return None
    return min(p.min_weight_kg for p in rows), max(p.max_weight_kg for p in rows), who


def _weight_plausibility(
    checked: _Checked,
    shown: Decimal,
    rules: Rules,
    would_be: Callable[[Decimal], str] | None,
) -> tuple[Notice, str] | None:
    """An unusual weight for the age, with the weight one digit shorter or longer (180 for 18,
    7 for 70) named where that weight is usual: `would_be` computes its dose."""
    usual = _plausible_weights(checked.age, checked.indication, rules)
    if usual is None:
        return None
    low, high, who = usual
    if low <= checked.weight_kg <= high:
        return None
    alternative = ""
    if would_be is not None:
        other = checked.weight / 10 if checked.weight_kg > high else checked.weight * 10
        if low <= to_kg(other, checked.weight_unit) <= high:
            alternative = would_be(other)
    message = (
        f"Check the weight: {format_number(shown)} kg is unusual for {who} "
        f"(expected {format_number(low)} to {format_number(high)} kg)."
    )
    if alternative:
        message += f" {alternative}."
    notice = Notice(
        code="weight_implausible",
        severity=Severity.WARNING,
        message=f"{message} The dose below uses the weight as entered.",
    )
    return notice, alternative


def _would_be(inputs: Inputs, rules: Rules, weight: Decimal) -> str:
    """ "18 kg would be 216 mg every 2 weeks": the same patient at another weight, through the
    engine ("" where that weight gives no dose)."""
    try:
        other = _calculate(replace(inputs, weight=weight, confirmed=True), rules, would_be=False)
    except InputError:
        return ""
    if other.dose_mg is None:
        return ""
    words = f"{format_number(weight)} {other.weight_unit.value} would be {other.display['dose']}"
    if other.interval_days is not None:
        words += f" {format_interval(other.interval_days)}"
    return words


def _age_needed_notice(shown: Decimal, indication: IndicationRule) -> Notice:
    """No age for an indication that also treats children: the weight cannot be checked for age."""
    return Notice.sourced(
        "age_needed",
        Severity.WARNING,
        f"Enter the age: {indication.name} is also for children, and without an age "
        f"{format_number(shown)} kg cannot be checked against the usual weights for age.",
        indication.source,
    )


def _references(sources: Iterable[Source]) -> tuple[Reference, ...]:
    """Each label section once, linked to the first place that cited it."""
    seen: dict[str, Reference] = {}
    for source in sources:
        if source.label_section not in seen:
            seen[source.label_section] = Reference(
                label_section=source.label_section, anchor=source.anchor
            )
    return tuple(seen.values())


def describe(
    action: Action,
    checked: _Checked,
    shown: Decimal,
    dose: _Dose | None,
    max_mg: Decimal | None,
    prepared: _Prepared,
    schedule: _Schedule,
) -> dict[str, str]:
    """The words and figures a clinician reads, formatted once for the page and the offline app."""
    if checked.weight_unit == WeightUnit.LB:
        weight = f"{format_number(checked.weight)} lb = {format_number(shown)} kg"
    else:
        weight = f"{format_number(shown)} kg"
    dose_text, dose_detail = _dose_texts(dose, shown, max_mg)
    return {
        "headline": HEADLINES[action],
        "route": ROUTE_WORDS[checked.route],
        "weight": weight,
        "dose": dose_text,
        "dose_detail": dose_detail,
        **_preparation_texts(prepared),
        "interval": _interval_text(schedule),
        "step": f"{checked.step.value} dose",  # _calculate sets the words (_step_words)
        "devices": " or ".join(
            f"{d.label} {format_number(d.strength_mg)} mg/{format_number(d.volume_ml)} mL"
            for d in prepared.devices
        ),
    }


def _dose_texts(dose: _Dose | None, shown: Decimal, max_mg: Decimal | None) -> tuple[str, str]:
    """The dose and how it was reached: per kg (and the cap), or a fixed dose."""
    if dose is None:
        return "", ""
    if dose.mg_per_kg is None:
        return f"{format_number(dose.dose_mg)} mg", "fixed dose"
    detail = f"{format_number(dose.mg_per_kg)} mg/kg × {format_number(shown)} kg"
    if dose.capped:
        detail += (
            f" = calculated {format_number(dose.calculated_mg)} mg, capped at the label "
            f"maximum {format_number(_required(max_mg, 'the label maximum'))} mg"
        )
    return f"{format_number(dose.dose_mg)} mg", detail


def _preparation_texts(prepared: _Prepared) -> dict[str, str]:
    """Volume, vials, waste, bag and rate, each empty where the route or the action has none."""
    text = {"volume": "", "volume_exact": "", "vials": "", "waste": "", "bag": "", "rate": ""}
    if prepared.drawn is not None:
        # The measurable volume leads; the calculated one is on request (issue 22.4).
        text["volume"] = drawn_words(prepared.drawn)
        text["volume_exact"] = f"{format_number(_required(prepared.volume_ml, 'the volume'))} mL"
    elif prepared.volume_ml is not None:
        text["volume"] = f"{format_number(prepared.volume_ml)} mL"
    if prepared.vials:
        text["vials"] = " + ".join(
            f"{v.count} × {format_number(v.strength_mg)} mg/{format_number(v.volume_ml)} mL "
            f"{'vial' if v.count == 1 else 'vials'}"
            for v in prepared.vials
        )
        waste = _required(prepared.waste_mg, "the waste")
        text["waste"] = f"{format_number(waste)} mg unused (discard)"
    if prepared.bag_ml is not None:
        rate = _required(prepared.rate, "the rate")
        text["bag"] = f"Dilute to {format_number(prepared.bag_ml)} mL with {prepared.diluents}"
        text["rate"] = f"{format_number(rate)} mL/hour over {prepared.infusion_minutes} minutes"
    return text


def _interval_text(schedule: _Schedule) -> str:
    if schedule.interval_days is not None:
        return format_interval(schedule.interval_days)
    if schedule.repeat is None:
        return ""
    repeat = schedule.repeat
    hours = repeat.min_hours_apart
    if repeat.not_before is None:
        more = repeat.additional_doses_max
        return (
            f"single dose; {repeat.condition}, up to {more} additional "
            f"{'dose' if more == 1 else 'doses'} at least {hours} hours apart"
        )
    # A repeat dose (issue 22.5): its place in the course and its earliest start, from content's
    # count and spacing; the last one says the label allows no further dose.
    left = repeat.doses_max - repeat.dose_number
    after = (
        f"{repeat.condition}, up to {left} more at least {hours} hours apart"
        if left
        else "the label allows no further dose"
    )
    return (
        f"{ordinal(repeat.dose_number)} of up to {repeat.doses_max} doses; not before "
        f"{format_moment(datetime.fromisoformat(repeat.not_before))}, {hours} hours after the "
        f"previous dose started; {after}"
    )


# ---------------------------------------------------------------------------------------------
# Plain data: rules and results as JSON-ready dicts (the API, the offline app and the vectors)


def as_number(value: Decimal | None) -> int | float | None:
    """A quantized Decimal as a JSON number: 560, never 560.0 or "560.00"."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


# ---------------------------------------------------------------------------------------------
# Preparation (issue 15): the bedside work in the order it is done, the next dose, the chart note.
# A phase after calculate(): it reads the finished result and the rules, and changes no figure
# of the dose. Clock-dependent words (dates) are separate functions taking `now`, so the page
# can use the phone's clock and the tests a fixed one.

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def round_to_step(value: Decimal, step: Decimal) -> Decimal:
    """`value` to the nearest multiple of `step` (half up): what a syringe graduated in `step` measures."""
    return quantize(value / step, Decimal(1)) * step


def _hours(hours: int) -> str:
    return f"{hours} hour{'' if hours == 1 else 's'}"


def storage_words(storage: Sequence[StorageRule]) -> str:
    """'in A up to 24 hours at 2 to 8 °C or at room temperature; in B up to ...'."""
    diluents: dict[str, list[StorageRule]] = {}
    for row in storage:
        diluents.setdefault(row.diluent, []).append(row)
    parts = []
    for diluent, rows in diluents.items():
        if len({r.max_hours for r in rows}) == 1:
            places = " or ".join(f"at {r.temperature}" for r in rows)
            parts.append(f"in {diluent} up to {_hours(rows[0].max_hours)} {places}")
        else:
            places = " or ".join(f"{_hours(r.max_hours)} at {r.temperature}" for r in rows)
            parts.append(f"in {diluent} up to {places}")
    return "; ".join(parts)


def product_storage(
    result: Result, rules: Rules, handling: HandlingRule
) -> tuple[StorageRule, ...]:
    """The diluted bag's storage in the diluents the product names (TOFIDENCE: 0.9 % only, so
    never the 0.45 % rows); every row where they are the preparation's own."""
    return _bag_storage(result.diluents, rules, handling)[0]


def _bag_storage(
    diluents: str, rules: Rules, handling: HandlingRule
) -> tuple[tuple[StorageRule, ...], str]:
    """`product_storage` and its words, from the index where the handling is the rules' own."""
    if handling is rules.handling:
        known = rules.compiled.storage.get(diluents)
        if known is not None:
            return known
    return _storage_of(diluents, rules, handling)


def _storage_of(
    diluents: str, rules: Rules, handling: HandlingRule
) -> tuple[tuple[StorageRule, ...], str]:
    if not diluents or diluents == rules.preparation.diluents:
        kept = handling.storage
    else:
        kept = tuple(s for s in handling.storage if s.diluent in diluents)
    words = f"If not started at once, the diluted bag keeps {storage_words(kept)}." if kept else ""
    return kept, words


def _iv_steps(
    result: Result, drawn: Drawn, rules: Rules, handling: HandlingRule
) -> list[PreparationStep]:
    conc = rules.preparation.concentration_mg_per_ml
    dose = format_number(_required(result.dose_mg, "the dose"))
    draw = drawn.ml
    measured = f"measured to the nearest {format_number(drawn.graduation_ml)} mL"
    if drawn.syringe_ml is not None:
        measured += f" on a {format_number(drawn.syringe_ml)} mL syringe"
    if drawn.needs_review:
        measured += (
            " (the syringe graduations are site content flagged for review: check them "
            "against the syringe used)"
        )
    bag = format_number(_required(result.bag_ml, "the bag volume"))
    vial_total = format_number(_required(result.vial_total_mg, "the vial total"))
    volume = format_number(_required(result.volume_ml, "the volume"))
    rate = format_number(_required(result.rate_ml_per_hour, "the rate"))
    waste = (
        f"{format_number(result.waste_mg)} mg will be left unused: discard it (single-dose vials)"
        if result.waste_mg
        else "nothing is left over"
    )
    storage_text = _bag_storage(result.diluents, rules, handling)[1]
    texts = [
        ("vials", f"Take {result.display['vials']} from the refrigerator "
         f"({vial_total} mg); {waste}.", ""),
        ("saline", f"From a {bag} mL bag of {result.diluents}, withdraw "
         f"and discard {format_number(draw)} mL of saline, equal to the drug volume.", ""),
        ("draw", f"Draw up {drawn_words(drawn)} of {result.display['product']} "
         f"{format_number(conc)} mg/mL from the vials.",
         f"Calculated volume {volume} mL ({dose} mg ÷ "
         f"{format_number(conc)} mg/mL), {measured}."),
        ("add", handling.mixing, ""),
        ("final", f"Final volume {bag} mL ({format_number(drawn.mg)} mg in {bag} mL).", ""),
        ("infuse", f"Infuse over {result.infusion_minutes} minutes at "
         f"{rate} mL/hour.", ""),
        ("line", handling.line, ""),
        ("storage", storage_text, ""),
        ("light", handling.light, ""),
    ]  # fmt: skip
    source = handling.source
    return [
        PreparationStep(
            code=code,
            text=text,
            exact=exact,
            label_section=source.label_section,
            anchor=source.anchor,
        )
        for code, text, exact in texts
        if text
    ]


def _sc_steps(result: Result, handling: HandlingRule) -> list[PreparationStep]:
    dose_mg = _required(result.dose_mg, "the dose")
    volume_ml = _required(result.volume_ml, "the volume")
    first = result.devices[0]
    labels = " or ".join(d.label[:1].lower() + d.label[1:] for d in result.devices)
    strength = f"{format_number(first.strength_mg)} mg/{format_number(first.volume_ml)} mL"
    take = f"Take one {labels} ({strength}) from the refrigerator"
    if handling.sc_warm_minutes:
        take += (
            f" and leave it out of the refrigerator for about {handling.sc_warm_minutes} minutes "
            "to reach room temperature before injecting"
        )
    texts = [
        ("take", take + "."),
        (
            "inject",
            f"Inject the full {format_number(volume_ml)} mL "
            f"({format_number(dose_mg)} mg) subcutaneously.",
        ),
    ]
    source = handling.source
    return [
        PreparationStep(
            code=code, text=text, label_section=source.label_section, anchor=source.anchor
        )
        for code, text in texts
    ]


def next_dose_of(result: Result) -> NextDose | None:
    """None unless a dose is given now: a hold, a stop or a not-recommended has no next dose."""
    if result.action not in (Action.GIVE, Action.REDUCE):
        return None
    if result.interval_days is not None:
        return NextDose(kind="due", days=result.interval_days)
    repeat = result.repeat
    if repeat is not None and repeat.dose_number < repeat.doses_max:
        return NextDose(
            kind="no_sooner", hours=repeat.min_hours_apart, not_before=repeat.not_before
        )
    return None


# The engine's own findings that decide an action (lab rules carry theirs).
DECIDING_CODES = {
    "already_reduced": Action.HOLD,
    "age_below_minimum": Action.NOT_RECOMMENDED,
    "no_bag_rule": Action.NOT_RECOMMENDED,
    "preparation_impossible": Action.NOT_RECOMMENDED,
}


def reasons(result: Result, rules: Rules) -> tuple[Notice, ...]:
    """The findings that decided a result other than a give (the lab value that holds, the age,
    the bag): what the chart note says first, before the standing warnings."""
    if result.action in (Action.GIVE, Action.CHECK):
        return ()
    deciding = rules.compiled.deciding
    actions = {result.action}
    if any(w.code == "already_reduced" for w in result.warnings):
        actions.add(Action.REDUCE)  # the persistent rise the reduced step cannot take further
    return tuple(w for w in result.warnings if deciding.get(w.code) in actions)


def _chart_note(
    result: Result, steps: tuple[PreparationStep, ...], handling: HandlingRule, rules: Rules
) -> str:
    """Plain text for the patient's chart: safe notation (no trailing zero, words not codes).
    The reason for a hold, a reduction or a stop comes first, then the standing warnings."""
    d = result.display
    lines = []
    if result.dose_mg is not None:
        when = f", {d['interval']}" if d["interval"] else ""
        headline = "" if result.action == Action.GIVE else f" {d['headline']}."
        lines.append(f"{d['product']}: {d['dose']} by {ROUTE_WORDS[result.route]}{when}.{headline}")
    else:
        lines.append(f"{d['product']}: {d['headline']}.")
    product = result.product
    if product is not None and product.biosimilar:
        lines.append(f"Product: {d['product']}, biosimilar; its label: {product.label_name}.")
    why = reasons(result, rules)
    if why:
        lines.append("Reason: " + " ".join(w.message for w in why))
    lines.append(f"Indication: {result.indication_name}; {d['step']}.")
    lines.append(f"Weight used: {d['weight']}.")
    if result.dose_mg is not None:
        if result.capped:
            basis = d["dose_detail"]
        elif result.mg_per_kg is not None:
            basis = f"{d['dose_detail']} = {d['dose']}"
        else:
            basis = f"fixed dose of {d['dose']}"
        lines.append(f"Dose basis: {basis}.")
    if result.route == Route.IV and steps and result.draw_ml is not None:
        lines.append(_iv_chart_line(result, result.draw_ml))
    elif result.devices and result.volume_ml is not None:
        lines.append(
            f"Preparation: {d['devices']}; full {format_number(result.volume_ml)} mL injected "
            "subcutaneously."
        )
    if result.confirmed:
        seen = "; ".join(dict.fromkeys(CHECK_WORDS[c.code] for c in result.checks))
        lines.append(f"Confirmed before giving: {seen}.")
    applied = [w.message for w in result.warnings if w.severity != Severity.INFO and w not in why]
    lines.append("Warnings: " + (" ".join(applied) if applied else "none."))
    sections = ", ".join(r.label_section for r in result.references)
    lines.append(f"Content version {result.content_version} (US label sections {sections}).")
    return "\n".join(lines)


def _iv_chart_line(result: Result, draw_ml: Decimal) -> str:
    """Saline removed equals the volume drawn (prepare)."""
    waste = format_number(_required(result.waste_mg, "the waste"))
    draw = format_number(draw_ml)
    bag = format_number(_required(result.bag_ml, "the bag volume"))
    rate = format_number(_required(result.rate_ml_per_hour, "the rate"))
    return (
        f"Preparation: {result.display['vials']}, {waste} mg unused and discarded; "
        f"{result.display['volume']} drawn up and added to a {bag} mL bag of {result.diluents} "
        f"after removing {draw} mL of saline; final volume {bag} mL; infused over "
        f"{result.infusion_minutes} minutes at {rate} mL/hour with an infusion set."
    )


def prepare(result: Result, rules: Rules, drawn: Drawn | None) -> Result:
    """The result with its preparation steps, next dose and chart note (figures unchanged).

    The volume to draw is the one `measure` gave (`result.draw_ml`, `drawn`): the syringe's
    graduation, half up; the exact figure stays in `volume_ml` and in the draw step's `exact`.
    """
    extra = _preparation_fields(result, rules, drawn)
    return replace(result, **extra) if extra else result


def _preparation_fields(result: Result, rules: Rules, drawn: Drawn | None) -> dict[str, Any]:
    """What `prepare` adds to the result ({}: nothing to add)."""
    handling = rules.handling
    if handling is None or result.action == Action.CHECK:
        # Nothing to prepare, print or chart until the clinician confirms (issue 22).
        return {}
    # The saline removed equals the drug volume as measured (label: "equal to the drug volume").
    draw_ml = result.draw_ml
    steps: tuple[PreparationStep, ...] = ()
    if result.dose_mg is not None and drawn is not None and draw_ml is not None:
        # A drug volume that fills the bag cannot be prepared as the label says (reference,
        # "Preparing an IV dose"): no steps pretend otherwise; the warnings name the danger.
        if draw_ml < _required(result.bag_ml, "the bag volume"):
            steps = tuple(_iv_steps(result, drawn, rules, handling))
    elif result.dose_mg is not None and result.devices and result.volume_ml is not None:
        steps = tuple(_sc_steps(result, handling))
    return {
        "next_dose": next_dose_of(result),
        "draw_ml": draw_ml,
        "saline_remove_ml": draw_ml,
        "use_within": () if draw_ml is None else product_storage(result, rules, handling),
        "preparation_steps": steps,
        "chart_note": _chart_note(result, steps, handling, rules),
    }


def format_day(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def format_moment(moment: datetime) -> str:
    """'14:30 on Sunday 8 March 2026': the wall-clock time of `moment` in its own zone."""
    return f"{moment.hour:02d}:{moment.minute:02d} on {format_day(moment.date())}"


# Clocks (issue 22.5). Times are aware datetimes in the site's zone; hours are added as elapsed
# time (through UTC), never on the wall clock: 8 hours from 01:30 on the night the clocks go
# forward is 10:30, not the 09:30 that wall-clock arithmetic gives (7 elapsed hours, too soon).
MOMENT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
MOMENT_ALLOWED = "Enter the date and time as YYYY-MM-DD HH:MM (for example 2026-03-08 06:30)."
MOMENT_YEARS = (2000, 2199)


@lru_cache(maxsize=8)  # keyed by a setting, never by a patient's figure
def time_zone(name: str) -> tzinfo:
    """The IANA zone `name` (the site's, a setting) from the standard library's database."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise InputError(
            "time_zone", f"Unknown time zone '{name}': use an IANA name such as Europe/London."
        ) from error


def after_hours(moment: datetime, hours: int) -> datetime:
    """`hours` elapsed hours after `moment`, in its zone (naive: plain wall-clock arithmetic)."""
    if moment.tzinfo is None:
        return moment + timedelta(hours=hours)
    return (moment.astimezone(UTC) + timedelta(hours=hours)).astimezone(moment.tzinfo)


def iso_minute(moment: datetime) -> str:
    """'2026-03-08T14:30-04:00': to the minute, with the zone's offset at that moment."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hh, mm = divmod(abs(minutes), 60)
    return f"{moment:%Y-%m-%dT%H:%M}{sign}{hh:02d}:{mm:02d}"


def read_moment(field_name: str, value: Any, zone: tzinfo, *, earliest: bool = False) -> datetime:
    """A typed date and time in `zone` (or with its own offset), aware, in `zone`.

    A wall-clock time the zone skips (the clocks went forward) is an error; one it shows twice
    (the clocks went back) is read as the later, so the hours counted from it are never short.
    Seconds round up to the next minute, for the same reason. `earliest` (a "now" to compare
    with a start): the earlier instead, seconds dropped.
    """
    text = value.strip() if isinstance(value, str) else ""
    match = MOMENT.fullmatch(text)
    if match is None:
        raise InputError(field_name, MOMENT_ALLOWED)
    year, month, day, hour, minute, second = (int(g or 0) for g in match.groups()[:6])
    offset = match.group(7)
    if not MOMENT_YEARS[0] <= year <= MOMENT_YEARS[1]:
        raise InputError(field_name, MOMENT_ALLOWED)
    try:
        wall = datetime(year, month, day, hour, minute, second)
        if offset:
            sign = -1 if offset[0] == "-" else 1
            delta = (
                timedelta(0)
                if offset == "Z"
                else sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
            )
            moment = wall.replace(tzinfo=timezone(delta)).astimezone(zone)
        else:
            moment = wall.replace(tzinfo=zone, fold=0 if earliest else 1)
    except ValueError as error:
        raise InputError(field_name, MOMENT_ALLOWED) from error
    if not offset and moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        raise InputError(
            field_name,
            f"{hour:02d}:{minute:02d} on {format_day(wall.date())} does not exist in {zone}: "
            "the clocks went forward that night. Enter the time the clock showed.",
        )
    if second and earliest:
        moment = moment.replace(second=0)
    elif second:
        moment = (moment.replace(second=0).astimezone(UTC) + timedelta(minutes=1)).astimezone(zone)
    return moment.astimezone(zone)


def _utc(moment: datetime) -> datetime:
    # Aware datetimes sharing a tzinfo compare and subtract on the wall clock: compare in UTC.
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment


def _moment_in(text: str, now: datetime) -> datetime:
    """An ISO 8601 moment from a result, in the zone of `now`."""
    moment = datetime.fromisoformat(text)
    return moment.astimezone(now.tzinfo) if now.tzinfo is not None else moment


def next_dose_text(next_dose: NextDose | None, now: datetime) -> str:
    """'Next dose due on <date>' from today, or the earliest further dose from now ('' if none).

    `now` is aware, in the site's zone (naive: wall-clock arithmetic); hours are elapsed hours.
    A repeat dose that may not start yet counts from its own earliest start.
    """
    if next_dose is None:
        return ""
    if next_dose.kind == "due" and next_dose.days is not None:
        due = now.date() + timedelta(days=next_dose.days)
        return (
            f"Next dose due on {format_day(due)} ({format_interval(next_dose.days)}), "
            "if this dose is given today."
        )
    hours = _required(next_dose.hours, "the hours to the next dose")
    start = now
    if next_dose.not_before is not None and _utc(_moment_in(next_dose.not_before, now)) > _utc(now):
        start = _moment_in(next_dose.not_before, now)
        return (
            f"A further dose, if needed, no sooner than {hours} hours after this infusion "
            f"starts: if it starts at its earliest ({start.hour:02d}:{start.minute:02d}), "
            f"not before {format_moment(after_hours(start, hours))}."
        )
    return (
        f"A further dose, if needed, no sooner than {hours} hours after this infusion "
        f"starts: if it starts now ({now.hour:02d}:{now.minute:02d}), not before "
        f"{format_moment(after_hours(now, hours))}."
    )


def _duration(minutes: int) -> str:
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def start_text(repeat: Repeat | None, now: datetime) -> str:
    """Whether a repeat dose may start now: its earliest start against `now` ('' for a first dose)."""
    if repeat is None or repeat.not_before is None or repeat.previous_dose_start is None:
        return ""
    previous = _moment_in(repeat.previous_dose_start, now)
    not_before = _moment_in(repeat.not_before, now)
    if _utc(previous) > _utc(now):
        return (
            f"The previous dose's start entered ({format_moment(previous)}) is later than now "
            f"({now.hour:02d}:{now.minute:02d}): check the date and time."
        )
    if _utc(now) < _utc(not_before):
        wait = -(-int((_utc(not_before) - _utc(now)).total_seconds()) // 60)
        return (
            f"Not yet: do not start before {format_moment(not_before)} ("
            f"{_duration(wait)} from now), {repeat.min_hours_apart} hours after the previous dose."
        )
    return (
        f"The {repeat.min_hours_apart} hours since the previous dose started "
        f"({format_moment(previous)}) have passed: this dose may start now."
    )


def use_by_text(storage: StorageRule, now: datetime) -> str:
    """When a bag diluted now must be used by (elapsed hours), for one diluent and temperature."""
    return (
        f"In {storage.diluent} at {storage.temperature}: use by "
        f"{format_moment(after_hours(now, storage.max_hours))} if diluted now."
    )
