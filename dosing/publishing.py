"""Services that turn the draft (today's content rows) into a published version.

integrity_findings: what stops a draft going live, in words a pharmacist reads.
clinical_diff:      the draft against the live version, row by row, in words.
affected_cases:     reference cases (every indication, route, step, band edge and lab threshold)
                    computed under both versions; the ones whose dose, volume, bag, interval or
                    action change.
publish / rollback: a new immutable PublishedVersion; two people, a confirmation and a summary.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import MultipleObjectsReturned, ObjectDoesNotExist
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from . import engine
from . import snapshot as snapshot_format
from .bands import check_bands
from .content import (
    DraftStamp,
    Snapshot,
    build_snapshot,
    current_snapshot,
    forget_version,
)
from .models import (
    CodeKind,
    ContentRow,
    ContentVersion,
    Observed,
    PublishedVersion,
    PublishingBounds,
    content_models,
)

PUBLISH_PERMISSION = "dosing.publish_content"
INITIAL_SUMMARY = (
    "Initial content from the ACTEMRA US label, loaded by migration: not yet clinically reviewed."
)

User = AbstractUser | AnonymousUser


class PublishRefused(Exception):
    """Publishing (or rolling back) was refused; `reasons` say why, in words."""

    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = list(reasons)


# ---------------------------------------------------------------------------------------------
# The draft


@dataclass(frozen=True)
class Draft:
    data: dict[str, Any] | None  # None when the rows cannot even be read as rules
    findings: tuple[str, ...]
    rules: engine.Rules | None

    @property
    def content_hash(self) -> str:
        return snapshot_format.content_hash(self.data) if self.data is not None else ""


def read_draft(number: int = 0, now: datetime | None = None) -> Draft:
    """The draft rows as a snapshot, with every integrity finding (none: it may be published)."""
    stamp = DraftStamp(number=number, changed_at=now or timezone.now())
    try:
        data = build_snapshot(stamp)
    except MultipleObjectsReturned:
        return Draft(None, (_MANY_DRUGS,), None)
    except ObjectDoesNotExist as error:
        return Draft(None, (_missing_message(error),), None)
    # Read back as a stored version will be: what passes the integrity check is what serves.
    rules = snapshot_format.load(data).rules
    return Draft(data, tuple(integrity_findings(rules, PublishingBounds.current())), rules)


_MANY_DRUGS = (
    "There is more than one drug: the calculator serves exactly one (ACTEMRA). "
    "Delete the extra drug."
)


def _missing_message(error: ObjectDoesNotExist) -> str:
    text = str(error).lower()
    if "preparation" in text:
        return (
            "The intravenous preparation is missing: no intravenous dose can be prepared. "
            "Restore it (history) before publishing."
        )
    return "The drug is missing: nothing can be calculated. Restore it (history) before publishing."


# ---------------------------------------------------------------------------------------------
# Integrity


def _figure(value: Decimal | None, unit: str) -> str:
    return "none" if value is None else f"{engine.format_number(value)} {unit}"


def _group_label(rules: engine.Rules, indication: str, route: engine.Route, step: str) -> str:
    found = rules.indication(indication)
    name = found.name if found else indication
    return f"{name}, {engine.ROUTE_ADJECTIVES[route]}, {step} dose"


def _rule_label(rules: engine.Rules, rule: engine.DoseRule) -> str:
    band = engine.band_label(rule.min_weight_kg, rule.max_weight_kg)
    return f"{_group_label(rules, rule.indication, rule.route, rule.step.value)}, {band}"


def _groups(rules: engine.Rules) -> dict[tuple[str, engine.Route, str], list[engine.DoseRule]]:
    groups: dict[tuple[str, engine.Route, str], list[engine.DoseRule]] = {}
    for rule in rules.dose_rules:
        groups.setdefault((rule.indication, rule.route, rule.step.value), []).append(rule)
    return groups


def integrity_findings(rules: engine.Rules, bounds: PublishingBounds) -> list[str]:
    """Everything that stops these rules going live; empty when they may be published."""
    findings: list[str] = []
    checks = (
        _check_coverage,
        _check_bounds,
        _check_presentations,
        _check_products,
        _check_ehr_codes,
        _check_cases,
    )
    for check in checks:
        findings.extend(check(rules, bounds))
    return findings


def _check_coverage(rules: engine.Rules, bounds: PublishingBounds) -> list[str]:
    findings = []
    groups = _groups(rules)
    for indication in rules.indications:
        if not any(key[0] == indication.slug for key in groups):
            findings.append(f"{indication.name} has no dose rule: it cannot be calculated.")
    # Only the weights the calculator accepts need a band here: overlaps and uncovered weights.
    accepted = (bounds.smallest_weight_kg, rules.max_weight_kg)
    for (slug, route, step), group in groups.items():
        bands = [(r.min_weight_kg, r.max_weight_kg, None) for r in group]
        label = _group_label(rules, slug, route, step)
        findings.extend(f"{label}: {problem}" for problem in check_bands(bands, accepted=accepted))
    if any(route == engine.Route.IV for _, route, _ in groups) and not rules.preparation.bags:
        findings.append("There is no final bag volume: no intravenous dose can be prepared.")
    return findings


def _check_bounds(rules: engine.Rules, bounds: PublishingBounds) -> list[str]:
    findings = []
    for rule in rules.dose_rules:
        label = _rule_label(rules, rule)
        checks = (
            (rule.mg_per_kg, "mg per kg", bounds.min_mg_per_kg, bounds.max_mg_per_kg, "a dose of"),
            (rule.flat_mg, "mg", bounds.min_flat_mg, bounds.max_flat_mg, "a dose of"),
            (rule.max_mg, "mg", bounds.min_cap_mg, bounds.max_cap_mg, "a maximum of"),
        )
        for value, unit, low, high, what in checks:
            if value is not None and not low <= value <= high:
                findings.append(
                    f"{label}: {what} {_figure(value, unit)} is outside the sane range "
                    f"{engine.format_number(low)} to {_figure(high, unit)} (publishing bounds)."
                )
    return findings


DEVICES_OF_ROUTE = {engine.Route.IV: "vial", engine.Route.SC: "syringe or autoinjector"}


def _check_presentations(rules: engine.Rules, bounds: PublishingBounds) -> list[str]:
    findings = []
    concentration = rules.preparation.concentration_mg_per_ml
    routes = {rule.route for rule in rules.dose_rules}
    for presentation in rules.presentations:
        if presentation.route != engine.Route.IV:
            continue
        holds = presentation.strength_mg / presentation.volume_ml
        if holds != concentration:
            findings.append(
                f"The {engine.format_number(presentation.strength_mg)} mg vial holds "
                f"{engine.format_number(presentation.strength_mg)} mg in "
                f"{engine.format_number(presentation.volume_ml)} mL "
                f"({engine.format_number(engine.quantize(holds, Decimal('0.01')))} mg/mL); "
                f"the preparation says {engine.format_number(concentration)} mg/mL. "
                "The volume to draw would be wrong."
            )
    for route, device in DEVICES_OF_ROUTE.items():
        if route in routes and not any(p.route == route for p in rules.presentations):
            findings.append(
                f"No {device} is available for the {engine.ROUTE_ADJECTIVES[route]} doses."
            )
    return findings


def _check_products(rules: engine.Rules, bounds: PublishingBounds) -> list[str]:
    """Every calculation names a product (issue 23): the site's default must be there, and
    each indication and route a product offers must have the dose rules to compute it."""
    default = settings.DOSING_DEFAULT_PRODUCT
    findings = []
    if rules.product(default) is None:
        findings.append(
            f"The site's default product ({default}) is not in the draft: a calculation that "
            "names no product would be refused. Restore the product (history) or change "
            "DJANGO_DEFAULT_PRODUCT."
        )
    dosed = {(rule.indication, rule.route) for rule in rules.dose_rules}
    for product in rules.products:
        for offered in product.routes:
            if (offered.indication, offered.route) not in dosed:
                indication = rules.indication(offered.indication)
                name = indication.name if indication else offered.indication
                route = engine.ROUTE_ADJECTIVES[offered.route]
                findings.append(
                    f"{product.brand_name} offers {name}, {route}, which has no dose rule: "
                    "it cannot be calculated."
                )
        shown = rules.presentations_of(product)
        for route, device in DEVICES_OF_ROUTE.items():
            offers = any(r.route == route for r in product.routes)
            if offers and not any(p.route == route for p in shown):
                findings.append(
                    f"{product.brand_name} offers {engine.ROUTE_ADJECTIVES[route]} doses but "
                    f"comes in no available {device}: nothing could be prepared. Add its "
                    "presentation (the product's presentations) or remove those routes."
                )
    comes_in = {
        (p.route, p.device, p.strength_mg)
        for product in rules.products
        for p in rules.presentations_of(product)
    }
    for p in rules.presentations:
        if rules.products and (p.route, p.device, p.strength_mg) not in comes_in:
            findings.append(
                f"The {p.device_label[:1].lower()}{p.device_label[1:]} "
                f"{engine.format_number(p.strength_mg)} mg/{engine.format_number(p.volume_ml)} mL "
                "is available but no product comes in it: add it to the products' presentations "
                "or untick 'available'."
            )
    return findings


ROUTE_KIND = "route"


def _check_ehr_codes(rules: engine.Rules, bounds: PublishingBounds) -> list[str]:
    """The EHR order check recognises an order, a weight and each lab only by its codes: without
    one, every check that needs it goes silent (no card), so it is a finding, not a choice."""
    codes = rules.ehr.codes
    findings = []
    if not any(c.kind == CodeKind.DRUG and not c.excludes for c in codes):
        findings.append(
            "The EHR order check has no drug code: no tocilizumab order would be recognised, "
            "so every EHR order check would go silent. Restore the drug's codes (history)."
        )
    observed = {c.means for c in codes if c.kind == CodeKind.OBSERVATION}
    if Observed.WEIGHT not in observed:
        findings.append(
            "The EHR order check has no code for body weight: no order dose could be checked, "
            "so every EHR order check would go silent. Restore the weight code (history)."
        )
    tested = {rule.lab for rule in rules.lab_rules}
    for name, lab in engine.LAB_OF_INPUT.items():
        if lab in tested and name not in observed:
            findings.append(
                f"The EHR order check has no code for {engine.LAB_NAMES[name]} results: the "
                f"lab rules for {engine.lab_words(lab)} would go silent on EHR orders. Restore "
                "the code (history)."
            )
    # Route codes are checked once they are content (a "route" kind meaning iv or sc); until
    # then they are SNOMED CT's, fixed in dosing/interop/fhir_in.py.
    if ROUTE_KIND in CodeKind.values:
        routes = {c.means for c in codes if c.kind == ROUTE_KIND}
        for route in sorted({r.route for r in rules.dose_rules}):
            if route.value not in routes:
                findings.append(
                    f"The EHR order check has no code for the {engine.ROUTE_ADJECTIVES[route]} "
                    "route: orders by that route would go unchecked. Restore the code (history)."
                )
    return findings


def _check_cases(rules: engine.Rules, bounds: PublishingBounds) -> list[str]:
    # One line per indication, route, step and kind of failure, naming every weight it hit.
    failed: dict[tuple[str, str], list[Decimal]] = {}
    for case in reference_cases([rules], bounds):
        outcome = run_case(case, rules)
        if outcome.failure:
            group = _group_label(rules, case.indication, engine.Route(case.route), case.step)
            failed.setdefault((group, outcome.failure), []).append(case.weight_kg)
    return [
        f"{group}: {failure} (reference cases at "
        f"{', '.join(engine.format_number(w) for w in sorted(set(weights)))} kg)."
        for (group, failure), weights in failed.items()
    ]


# ---------------------------------------------------------------------------------------------
# Reference cases


@dataclass(frozen=True, order=True)
class Case:
    indication: str
    route: str
    step: str
    weight_kg: Decimal
    starting_therapy: bool = True
    lab: tuple[str, Decimal] | None = None

    def inputs(self) -> engine.Inputs:
        labs = engine.Labs(**{self.lab[0]: self.lab[1]}) if self.lab else engine.Labs()
        return engine.Inputs(
            indication=self.indication,
            route=self.route,
            weight=self.weight_kg,
            step=self.step,
            starting_therapy=self.starting_therapy,
            labs=labs,
            # The dose content gives: a finding that asks the bedside to confirm (issue 22's
            # check) is not what a content change moves.
            confirmed=True,
        )

    def label(self, rules: engine.Rules, weights: Sequence[Decimal] = ()) -> str:
        shown = ", ".join(engine.format_number(w) for w in weights or [self.weight_kg])
        text = (
            f"{_group_label(rules, self.indication, engine.Route(self.route), self.step)}, "
            f"{shown} kg"
        )
        if self.lab:
            name, value = self.lab
            when = "before starting" if self.starting_therapy else "on therapy"
            text += (
                f", {engine.LAB_NAMES[name]} {engine.format_number(value)} "
                f"{engine.LAB_UNITS[name]} {when}"
            )
        return text


@dataclass(frozen=True)
class Outcome:
    summary: str
    key: tuple[Any, ...]
    failure: str = ""


LAB_STEP = {
    engine.Lab.ALT_AST: Decimal("0.01"),
    engine.Lab.ANC: Decimal("1"),
    engine.Lab.PLATELETS: Decimal("1"),
}
LAB_INPUT_OF = {lab: name for name, lab in reversed(engine.LAB_OF_INPUT.items())}
CASE_WEIGHT_KG = Decimal("60")  # lab cases: one weight inside every label band set


def _case_weights(rules: engine.Rules, bounds: PublishingBounds) -> set[Decimal]:
    weights = {bounds.smallest_weight_kg, rules.max_weight_kg}
    edges = [e for r in rules.dose_rules for e in (r.min_weight_kg, r.max_weight_kg)]
    edges += [e for b in rules.preparation.bags for e in (b.min_weight_kg, b.max_weight_kg)]
    # Where each cap starts to bind: a cap change shows there, not only at the band edges.
    edges += [
        engine.quantize(r.max_mg / r.mg_per_kg, engine.WEIGHT_PLACES)
        for r in rules.dose_rules
        if r.max_mg is not None and r.mg_per_kg
    ]
    for edge in edges:
        if edge is not None and edge > 0:
            weights.update({edge - engine.WEIGHT_PLACES, edge})
    return {w for w in weights if bounds.smallest_weight_kg <= w <= rules.max_weight_kg}


def reference_cases(
    versions: Sequence[engine.Rules], bounds: PublishingBounds | None = None
) -> list[Case]:
    """Every indication, route and step at every band edge and every weight where a cap starts
    to bind (both sides), the smallest and the largest weight; every lab rule's thresholds (both
    sides); for the union of `versions`."""
    bounds = bounds or PublishingBounds.current()
    cases: set[Case] = set()
    for rules in versions:
        weights = _case_weights(rules, bounds)
        for slug, route, step in _groups(rules):
            cases.update(Case(slug, route.value, step, w) for w in weights)
        for lab_rule in rules.lab_rules:
            cases.update(_lab_cases(rules, lab_rule))
    return sorted(cases)


def _lab_cases(rules: engine.Rules, lab_rule: engine.LabRule) -> Iterable[Case]:
    lab = engine.Lab(lab_rule.lab)
    name = LAB_INPUT_OF[lab]
    nudge = LAB_STEP.get(lab, Decimal("0.01"))
    values = set()
    for edge in (lab_rule.above, lab_rule.below):
        if edge is not None:
            values.update({edge, edge + nudge, max(edge - nudge, Decimal(0))})
    if lab_rule.context == engine.RuleContext.ANY:
        contexts = [True, False]
    else:
        contexts = [lab_rule.context == engine.RuleContext.STARTING]
    for slug in lab_rule.indications:
        for route in {r.route for r in rules.dose_rules if r.indication == slug}:
            if lab_rule.route is not None and route != lab_rule.route:
                continue
            for starting in contexts:
                for value in values:
                    yield Case(
                        slug,
                        route.value,
                        engine.Step.STARTING.value,
                        CASE_WEIGHT_KG,
                        starting,
                        (name, value),
                    )


def _words(value: Decimal | None, unit: str) -> str:
    return "" if value is None else f"{engine.format_number(value)} {unit}"


def run_case(case: Case, rules: engine.Rules) -> Outcome:
    """The case's action, dose, volume, bag and interval under `rules` (or why it cannot run)."""
    try:
        result = engine.calculate(case.inputs(), rules)
    except engine.InputError as error:
        return Outcome(f"refused: {error.message}", ("refused", error.message))
    except Exception as error:  # noqa: BLE001 (any crash is a finding, never a 500)
        reason = _crash_reason(error, case)
        return Outcome(f"cannot be calculated: {reason}", ("crash",), failure=reason)
    failure = ""
    if result.route == engine.Route.IV:
        # A drug volume too large for any bag is the engine's own danger for that patient
        # (preparation_impossible), not a content gap: only a missing bag rule is a finding.
        if any(w.code == "no_bag_rule" for w in result.warnings):
            failure = "no final bag volume covers the weight"
        elif result.dose_mg is not None and not result.vials:
            failure = "no vial is available"
    parts = [engine.HEADLINES.get(result.action, result.action.value)]
    parts += [
        _words(result.dose_mg, "mg") + (" (capped)" if result.capped else ""),
        # The volume drawn, as its syringe measures it (issue 22.4): a syringe edit moves it.
        result.display.get("volume") or _words(result.volume_ml, "mL"),
        _words(result.bag_ml, "mL bag"),
        engine.format_interval(result.interval_days) if result.interval_days else "",
    ]
    key = (
        result.action,
        result.dose_mg,
        result.volume_ml,
        result.display.get("volume"),
        result.bag_ml,
        result.interval_days,
    )
    figures = ", ".join(p for p in parts[1:] if p)
    return Outcome(f"{parts[0]} {figures}".strip(), key, failure)


def _crash_reason(error: Exception, case: Case) -> str:
    if isinstance(error, StopIteration):
        return "no final bag volume covers the weight"
    return f"the calculator fails ({type(error).__name__}: {error})"


@dataclass(frozen=True)
class AffectedCase:
    label: str
    before: str
    after: str


def affected_cases(live: engine.Rules, draft: engine.Rules) -> list[AffectedCase]:
    """Reference cases whose action, dose, volume, bag or interval differ between the two, with
    a mid-band weight of every band; cases of one group that change alike are one line."""
    bounds = PublishingBounds.current()
    cases = set(reference_cases([live, draft], bounds))
    for rules in (live, draft):
        cases.update(_mid_band_cases(rules, bounds))
    grouped: dict[tuple[Any, ...], tuple[Case, list[Decimal], str, str]] = {}
    for case in sorted(cases):
        before, after = run_case(case, live), run_case(case, draft)
        if before.key == after.key:
            continue
        key = (case.indication, case.route, case.step, case.starting_therapy, case.lab,
               before.summary, after.summary)  # fmt: skip
        grouped.setdefault(key, (case, [], before.summary, after.summary))[1].append(case.weight_kg)
    return [
        AffectedCase(first.label(draft, weights), before, after)
        for first, weights, before, after in grouped.values()
    ]


def _mid_band_cases(rules: engine.Rules, bounds: PublishingBounds) -> Iterable[Case]:
    """A weight in the middle of each band (the geometric middle, within the plausible weights
    of the indication's ages): a typical patient of the band, not only its edges."""
    for (slug, route, step), group in _groups(rules).items():
        indication = rules.indication(slug)
        youngest = (indication.min_age_years if indication else None) or Decimal(0)
        plausible = [
            p
            for p in rules.plausible_weights
            if p.max_age_years is None or p.max_age_years > youngest
        ]
        low_limit = min((p.min_weight_kg for p in plausible), default=bounds.smallest_weight_kg)
        high_limit = max((p.max_weight_kg for p in plausible), default=rules.max_weight_kg)
        for rule in group:
            low = max(rule.min_weight_kg or bounds.smallest_weight_kg, low_limit)
            high = min(rule.max_weight_kg or rules.max_weight_kg, high_limit)
            if low >= high:
                continue
            middle = engine.quantize((low * high).sqrt(), Decimal("1"))
            if low <= middle < high:
                yield Case(slug, route.value, step, middle)


# ---------------------------------------------------------------------------------------------
# Clinical diff, in words

# The one description of each field a snapshot row (or the bounds) holds: its name and unit in
# the review's words. Every key of every row is here (a test holds every snapshot to it): a
# field the differ does not know would otherwise reach the reviewer as a dump.
FIELD_WORDS = {
    # doses, caps, bands
    "mg_per_kg": ("dose", "mg per kg"),
    "flat_mg": ("dose", "mg"),
    "max_mg": ("maximum", "mg"),
    "min_weight_kg": ("from", "kg"),
    "max_weight_kg": ("below", "kg"),
    "interval_days": ("interval", "days"),
    "additional_doses_max": ("further doses at most", ""),
    "min_hours_apart": ("hours apart at least", "h"),
    "repeat_condition": ("when a further dose may follow", ""),
    "next_step": ("next step", ""),
    "concomitant": ("concomitant therapy", ""),
    "step": ("dose step", ""),
    "route": ("route", ""),
    "indication": ("indication", ""),
    "indications": ("indications", ""),
    # indications
    "slug": ("code", ""),
    "name": ("name", ""),
    "population": ("population", ""),
    "adult_only": ("adults only", ""),
    "min_age_years": ("minimum age", "years"),
    "max_age_years": ("up to age", "years"),
    # presentations and preparation
    "device": ("device", ""),
    "device_label": ("device", ""),
    "strength_mg": ("strength", "mg"),
    "volume_ml": ("volume", "mL"),
    "bag_ml": ("final volume", "mL"),
    "concentration_mg_per_ml": ("concentration", "mg/mL"),
    "diluents": ("diluents", ""),
    "max_mg_per_ml": ("largest final concentration", "mg/mL"),
    "infusion_minutes": ("infusion", "minutes"),
    "min_saline_ml": ("saline to spare", "mL"),
    # handling (issue 15)
    "drug_name": ("drug name", ""),
    "syringe_precision_ml": ("syringe precision", "mL"),
    "mixing": ("mixing", ""),
    "line": ("the line", ""),
    "light": ("light protection", ""),
    "sc_warm_minutes": ("subcutaneous device: minutes to warm", "minutes"),
    "diluent": ("diluent", ""),
    "temperature": ("temperature", ""),
    "max_hours": ("keeps for at most", "h"),
    # syringes and the site's rounding policy (issue 22.4)
    "capacity_ml": ("holds", "mL"),
    "graduation_ml": ("graduations every", "mL"),
    "enabled": ("in use", ""),
    "within_percent": ("whole vials within", "%"),
    # lab rules and advisories
    "code": ("code", ""),
    "lab": ("lab", ""),
    "context": ("when", ""),
    "above": ("above", ""),
    "above_inclusive": ("or equal to the lower bound", ""),
    "below": ("below", ""),
    "below_inclusive": ("or equal to the upper bound", ""),
    "action": ("action", ""),
    "reduce_to_mg_per_kg": ("reduce to", "mg per kg"),
    "reduce_to_interval_days": ("reduce to an interval of", "days"),
    "message": ("message", ""),
    "persistence": ("applies to", ""),
    "severity": ("severity", ""),
    # the EHR order check
    "kind": ("kind", ""),
    "system": ("code system", ""),
    "display": ("display", ""),
    "means": ("means", ""),
    "match_subcodes": ("also matches the codes below it", ""),
    "excludes": ("an exclusion", ""),
    "dose_tolerance_percent": ("ordered vs calculated dose tolerance", "%"),
    "lab_max_age_days": ("maximum age of lab results", "days"),
    "child_weight_max_age_days": ("maximum age of a child's weight", "days"),
    "adult_weight_max_age_days": ("maximum age of an adult's weight", "days"),
    "adult_from_age_years": ("adult from age", "years"),
    # products (issue 23)
    "nonproprietary_name": ("nonproprietary name", ""),
    "holder": ("holder", ""),
    "biosimilar": ("biosimilar", ""),
    "bla": ("BLA", ""),
    "product": ("product", ""),
    "text": ("text", ""),
    "active": ("shown", ""),
    # the drug and the monograph
    "band_margin_percent": ("band-edge warning margin", "%"),
    "uncapped_note_above_mg": ("note uncapped doses above", "mg"),
    "brand_name": ("brand name", ""),
    "generic_name": ("generic name", ""),
    "pronunciation": ("pronunciation", ""),
    "other_names": ("other names", ""),
    "drug_class": ("drug class", ""),
    "mechanism": ("mechanism of action", ""),
    "label_name": ("label", ""),
    "label_url": ("label address", ""),
    "label_revision": ("label revision", ""),
    "title": ("title", ""),
    "body": ("text", ""),
    # where a row comes from
    "label_section": ("label section", ""),
    "evidence": ("evidence", ""),
    "needs_review": ("flagged for review", ""),
    # the publishing bounds
    "smallest_weight_kg": ("smallest weight every band set must cover", "kg"),
    "min_mg_per_kg": ("smallest dose", "mg per kg"),
    "max_mg_per_kg": ("largest dose", "mg per kg"),
    "min_flat_mg": ("smallest flat dose", "mg"),
    "max_flat_mg": ("largest flat dose", "mg"),
    "min_cap_mg": ("smallest maximum per infusion", "mg"),
    "max_cap_mg": ("largest maximum per infusion", "mg"),
}
# Figures the size-of-change check watches: a change to 2 times or more, or to half or less.
DOSE_FIELDS = frozenset({"mg_per_kg", "flat_mg", "max_mg", "reduce_to_mg_per_kg"})
LONG_TEXT = 90
DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")  # figures travel in the snapshot as decimal strings
# Digits that name, never count: a BLA is "761420", not 761,420.
IDENTIFIERS = frozenset({"bla", "code", "slug"})
ENUM_WORDS: dict[str, Callable[[str], str]] = {
    "route": lambda v: engine.ROUTE_ADJECTIVES[engine.Route(v)],
    "action": lambda v: engine.ACTION_WORDS[engine.Action(v)],
    "step": lambda v: engine.STEP_WORDS[engine.Step(v)],
}


def _value_words(field: str, value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    unit = FIELD_WORDS.get(field, ("", ""))[1]
    if field == "interval_days" or field == "reduce_to_interval_days":
        return engine.format_interval(int(value))
    if field in ENUM_WORDS:
        try:
            return ENUM_WORDS[field](value)
        except (KeyError, ValueError):
            return f"“{value}”"
    if isinstance(value, str) and (not DECIMAL.fullmatch(value) or field in IDENTIFIERS):
        return f"“{value}”"
    try:
        number = engine.format_number(Decimal(str(value)))
    except ArithmeticError:
        return f"“{value}”"
    return f"{number} {unit}".strip()


def size_factor(field: str, old: Any, new: Any) -> Decimal | None:
    """new / old for a dose or cap that changed to 2 times or more, or to half or less."""
    if field not in DOSE_FIELDS or old in (None, "") or new in (None, ""):
        return None
    before, after = Decimal(str(old)), Decimal(str(new))
    if before <= 0 or after <= 0:
        return None
    factor = after / before
    return factor if factor >= 2 or factor <= Decimal("0.5") else None


def factor_words(factor: Decimal) -> str:
    if factor >= 1:
        return f"{engine.format_number(engine.quantize(factor, Decimal('0.1')))} times larger"
    return f"{engine.format_number(engine.quantize(1 / factor, Decimal('0.1')))} times smaller"


def percent_words(old: Any, new: Any) -> str:
    """(−90 %) beside a figure that changed; empty where either side is not a figure."""
    try:
        before, after = Decimal(str(old)), Decimal(str(new))
    except ArithmeticError:
        return ""
    if before == 0:
        return ""
    change = engine.quantize((after - before) / before * 100, Decimal("1"))
    return f" ({'+' if change > 0 else '−'}{engine.format_number(abs(change))} %)"


def word_diff(old: str, new: str, context: int = 4) -> str:
    """The words that changed in a long text, each with a few words around it."""
    a, b = old.split(), new.split()
    parts = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        before = " ".join(a[max(i1 - context, 0) : i1])
        after = " ".join(a[i2 : i2 + context])
        removed, added = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        change = (
            f"[removed: {removed}]"
            if not added
            else f"[added: {added}]"
            if not removed
            else f"[{removed} → {added}]"
        )
        lead = "…" if i1 - context > 0 else ""
        tail = "…" if i2 + context < len(a) else ""
        parts.append(
            f"“{lead}{before} {change} {after}{tail}”".replace("“ ", "“").replace(" ”", "”")
        )
    return "; ".join(parts) or "only spacing changed"


def _field_change(field: str, old: Any, new: Any) -> str:
    name = FIELD_WORDS.get(field, (field.replace("_", " "), ""))[0]
    if isinstance(new, str) and isinstance(old, str) and max(len(old), len(new)) > LONG_TEXT:
        return f"{name}, in words: {word_diff(old, new)}"
    text = f"{name} {_value_words(field, old)} → {_value_words(field, new)}"
    factor = size_factor(field, old, new)
    if factor is not None:
        text += f" ({factor_words(factor)}: type the new value to confirm)"
    elif FIELD_WORDS.get(field, ("", ""))[1] and field not in ("interval_days",):
        text += percent_words(old, new)
    return text


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in row.items() if k != "source"}
    flat.update(row.get("source") or {})
    flat.pop("anchor", None)
    return flat


def _diff_rows(
    kind: str,
    old: list[dict[str, Any]],
    new: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], Any],
    label: Callable[[dict[str, Any]], str],
    key_fields: tuple[str, ...] = (),
) -> list[str]:
    before = {key(r): r for r in old}
    after = {key(r): r for r in new}
    lines = []
    for k, row in after.items():
        if k not in before:
            lines.append(f"New {kind}: {label(row)}.")
            continue
        a, b = _flat(before[k]), _flat(row)
        changes = [
            _field_change(f, a.get(f), b.get(f))
            for f in b
            if f not in key_fields and a.get(f) != b.get(f)
        ]
        if changes:
            lines.append(f"{label(row)}: {'; '.join(changes)}.")
    lines += [f"Removed {kind}: {label(r)}." for k, r in before.items() if k not in after]
    return lines


def clinical_diff(live: dict[str, Any], draft: dict[str, Any]) -> list[str]:
    """The draft against the live snapshot, one line per changed row, in a pharmacist's words."""
    old, new = live["rules"], draft["rules"]
    names = {i["slug"]: i["name"] for i in (*old["indications"], *new["indications"])}

    def route(value: str | None) -> str:
        return engine.ROUTE_ADJECTIVES[engine.Route(value)] if value else "both routes"

    def band(row: dict[str, Any]) -> str:
        low, high = row.get("min_weight_kg"), row.get("max_weight_kg")
        return engine.band_label(
            None if low is None else Decimal(low), None if high is None else Decimal(high)
        )

    def dose(row: dict[str, Any]) -> str:
        return (
            f"{names.get(row['indication'], row['indication'])}, {route(row['route'])}, "
            f"{row['step']} dose, {band(row)}"
        )

    def dose_key(row: dict[str, Any]) -> Any:
        return (row["indication"], row["route"], row["step"], band(row))

    lines: list[str] = []
    if old["max_weight_kg"] != new["max_weight_kg"]:
        lines.append(
            f"Largest weight accepted: {_value_words('max_weight_kg', old['max_weight_kg'])} → "
            f"{_value_words('max_weight_kg', new['max_weight_kg'])}"
            f"{percent_words(old['max_weight_kg'], new['max_weight_kg'])}."
        )
    lines += _diff_rows(
        "indication", old["indications"], new["indications"], lambda r: r["slug"],
        lambda r: f"indication {r['name']} ({r['slug']})", ("slug",),
    )  # fmt: skip
    lines += _diff_rows(
        "dose rule", old["dose_rules"], new["dose_rules"], dose_key, dose,
        ("indication", "route", "step", "min_weight_kg", "max_weight_kg"),
    )  # fmt: skip
    lines += _diff_rows(
        "presentation", old["presentations"], new["presentations"],
        _presentation_key,
        lambda r: f"{r['device_label']} {_value_words('strength_mg', r['strength_mg'])}",
        ("route", "device", "device_label", "strength_mg"),
    )  # fmt: skip
    nested = ("bags", "concentration_limit")
    prep_old = {k: v for k, v in old["preparation"].items() if k not in nested}
    prep_new = {k: v for k, v in new["preparation"].items() if k not in nested}
    lines += _diff_rows("preparation", [prep_old], [prep_new], lambda r: 0,
                        lambda r: "Intravenous preparation")  # fmt: skip
    limit_old, limit_new = (
        [limit] if (limit := rules["preparation"].get("concentration_limit")) else []
        for rules in (old, new)
    )
    # Changed: the figure is in the change itself; added or removed: the label names it.
    lines += _diff_rows("final concentration limit", limit_old, limit_new, lambda r: 0,
                        lambda r: "Final concentration limit" if limit_old and limit_new
                        else _value_words("max_mg_per_ml", r["max_mg_per_ml"]))  # fmt: skip
    lines += _diff_rows(
        "final bag volume", old["preparation"]["bags"], new["preparation"]["bags"],
        # Sorted: PostgreSQL's jsonb does not keep the keys' order.
        lambda r: tuple(sorted((k, str(v)) for k, v in r.items() if k != "bag_ml")),
        lambda r: f"final bag volume {_value_words('bag_ml', r['bag_ml'])}, {band(r)}",
        ("min_weight_kg", "max_weight_kg"),
    )  # fmt: skip
    lines += _diff_rows(
        "lab rule", old["lab_rules"], new["lab_rules"], lambda r: r["code"],
        lambda r: f"lab rule {r['code']} ({route(r['route'])})", ("code",),
    )  # fmt: skip
    lines += _diff_rows(
        "advisory", old["advisories"], new["advisories"], lambda r: r["code"],
        lambda r: f"advisory {r['code']}", ("code",),
    )  # fmt: skip
    lines += _diff_rows(
        "plausible weight range", old["plausible_weights"], new["plausible_weights"],
        lambda r: r["min_age_years"],
        lambda r: f"plausible weights from age {_value_words('min_age_years', r['min_age_years'])}",
        ("min_age_years",),
    )  # fmt: skip
    lines += _diff_rows(
        "resume rule", old.get("resume_rules") or [], new.get("resume_rules") or [],
        lambda r: (r["indication"], r["route"], band(r)),
        lambda r: f"Resume after a lab hold: {names.get(r['indication'], r['indication'])}, "
        f"{route(r['route'])}, {band(r)}",
        ("indication", "route", "min_weight_kg", "max_weight_kg"),
    )  # fmt: skip
    for key in ("band_margin_percent", "uncapped_note_above_mg"):
        if old.get(key) != new.get(key):
            lines.append(f"Drug: {_field_change(key, old.get(key), new.get(key))}.")
    lines += _handling_diff(old.get("handling") or {}, new.get("handling") or {})
    lines += _ehr_diff(old.get("ehr") or {}, new.get("ehr") or {})
    lines += _rounding_diff(old.get("rounding"), new.get("rounding"))
    kept = {_presentation_key(r) for r in old["presentations"]} & {
        _presentation_key(r) for r in new["presentations"]
    }
    lines += _products_diff(old.get("products") or [], new.get("products") or [], names, kept)
    lines += _other_rules_diff(old, new)
    lines += _monograph_diff(live["monograph"], draft["monograph"])
    return lines


def label_document(rules: engine.Rules, slug: str) -> dict[str, Any]:
    """What one product's label gives (issue 23), as a document clinical_diff reads: the uses it
    carries and their dose rules, its presentations' routes, its diluents and their storage, its
    codes, and its own product row under one key, so two products' rows pair field by field."""
    product = rules.product(slug)
    if product is None:
        raise KeyError(slug)
    offered = {(r.indication, r.route) for r in product.routes}
    routes = {route for _, route in offered}
    handling = rules.handling
    if handling is not None:
        storage = tuple(s for s in handling.storage if s.diluent in product.diluents)
        handling = dataclasses.replace(handling, storage=storage)
    label = dataclasses.replace(
        rules,
        indications=tuple(i for i in rules.indications if any(i.slug == u for u, _ in offered)),
        dose_rules=tuple(d for d in rules.dose_rules if (d.indication, d.route) in offered),
        presentations=tuple(p for p in rules.presentations_of(product) if p.route in routes),
        preparation=dataclasses.replace(rules.preparation, diluents=product.diluents),
        handling=handling,
        ehr=dataclasses.replace(
            rules.ehr, codes=tuple(c for c in rules.ehr.codes if c.product in ("", slug))
        ),
        # Its presentations are compared as the label's presentations, above.
        products=(dataclasses.replace(product, slug="label", presentations=None),),
    )
    return {"rules": snapshot_format.dump_rules(label), "monograph": {"sections": []}}


def compare_labels(rules: engine.Rules, first: str, second: str) -> list[str]:
    """The second product's label against the first's, in the review page's words: "New" is on
    the second label only, "Removed" on the first only, "a → b" the first's, then the second's."""
    return clinical_diff(label_document(rules, first), label_document(rules, second))


def _handling_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    steps_old = {k: v for k, v in old.items() if k not in ("storage", "syringes")}
    steps_new = {k: v for k, v in new.items() if k not in ("storage", "syringes")}
    lines = _diff_rows("preparation steps", [steps_old], [steps_new], lambda r: 0,
                       lambda r: "Preparation steps") if steps_old or steps_new else []  # fmt: skip
    return lines + _diff_rows(
        "diluted storage", old.get("storage") or [], new.get("storage") or [],
        lambda r: (r["diluent"], r["temperature"]),
        lambda r: f"diluted storage in {r['diluent']} at {r['temperature']}",
        ("diluent", "temperature"),
    ) + _diff_rows(
        "syringe", old.get("syringes") or [], new.get("syringes") or [],
        lambda r: r["capacity_ml"],
        lambda r: f"{_value_words('capacity_ml', r['capacity_ml'])} syringe",
        ("capacity_ml",),
    )  # fmt: skip


def _rounding_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """The site's rounding policy (issue 22.4): one row, or none."""
    return _diff_rows(
        "site rounding policy", [old] if old else [], [new] if new else [], lambda r: 0,
        lambda r: "Site rounding policy (whole vials)",
    )  # fmt: skip


def _presentation_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["route"], row["device"], row["strength_mg"])


def _products_diff(
    old: list[dict[str, Any]], new: list[dict[str, Any]], names: dict[str, str], kept: set[Any]
) -> list[str]:
    """The products (issue 23): each product's own fields, then what it offers, comes in and its
    notices, one line per row ("TYENNE: Polyarticular juvenile idiopathic arthritis,
    subcutaneous"). A product's presentation is listed only where the drug's row is in both
    (`kept`): a drug's presentation removed is one line, not one per product."""
    brands = {p["slug"]: p["brand_name"] for p in (*old, *new)}

    def top(products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        parts = ("routes", "notices", "presentations")
        return [{k: v for k, v in p.items() if k not in parts} for p in products]

    def comes_in(products: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows(products, "presentations") if _presentation_key(r) in kept]

    def rows(products: list[dict[str, Any]], part: str) -> list[dict[str, Any]]:
        return [{"product": p["slug"], **row} for p in products for row in p.get(part) or []]

    def offered(row: dict[str, Any]) -> str:
        route = engine.ROUTE_ADJECTIVES[engine.Route(row["route"])]
        name = names.get(row["indication"], row["indication"])
        return f"{brands[row['product']]}: {name}, {route}"

    return (
        _diff_rows("product", top(old), top(new), lambda r: r["slug"],
                   lambda r: f"product {r['brand_name']} ({r['nonproprietary_name']})",
                   ("slug",))
        + _diff_rows("indication and route of a product", rows(old, "routes"),
                     rows(new, "routes"), lambda r: (r["product"], r["indication"], r["route"]),
                     offered, ("product", "indication", "route"))
        + _diff_rows("presentation of a product", comes_in(old), comes_in(new),
                     lambda r: (r["product"], *_presentation_key(r)),
                     lambda r: f"{brands[r['product']]}: {r['device_label']} "
                     f"{_value_words('strength_mg', r['strength_mg'])}",
                     ("product", "route", "device", "strength_mg"))
        + _diff_rows("product notice", rows(old, "notices"), rows(new, "notices"),
                     lambda r: (r["product"], r["code"]),
                     lambda r: f"{brands[r['product']]} notice “{r['title']}”",
                     ("product", "code"))
    )  # fmt: skip


def _ehr_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    check_old = {k: v for k, v in old.items() if k != "codes"}
    check_new = {k: v for k, v in new.items() if k != "codes"}
    lines = _diff_rows("EHR order check", [check_old], [check_new], lambda r: 0,
                       lambda r: "EHR order check") if check_old or check_new else []  # fmt: skip
    return lines + _diff_rows(
        "EHR code", old.get("codes") or [], new.get("codes") or [],
        lambda r: (r["kind"], r["system"], r["code"], r["means"]),
        lambda r: f"{r['kind']} code {r['code']} ({r['display'] or r['means'] or r['system']})",
        ("kind", "system", "code", "means"),
    )  # fmt: skip


def bounds_diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The publishing bounds (not in the snapshot: they decide what may be published)."""
    changes = [
        _field_change(field, before.get(field), value)
        for field, value in after.items()
        if before.get(field) != value
    ]
    return [f"Publishing bounds: {'; '.join(changes)}."] if changes else []


BOUNDS_FIELDS = (
    "smallest_weight_kg", "min_mg_per_kg", "max_mg_per_kg", "min_flat_mg", "max_flat_mg",
    "min_cap_mg", "max_cap_mg",
)  # fmt: skip


def _bounds_values(row: Any) -> dict[str, Any]:
    return {f: None if row is None else str(getattr(row, f)) for f in BOUNDS_FIELDS}


def bounds_changes() -> list[str]:
    """The bounds now against the bounds when the live content was published (their history)."""
    origin, _ = draft_origin()
    then = (
        PublishingBounds.history.filter(history_date__lte=origin.published_at)
        .order_by("-history_date", "-history_id")
        .first()
    )
    now = PublishingBounds.objects.order_by("pk").first()
    if then is None or now is None:
        return []
    return bounds_diff(_bounds_values(then), _bounds_values(now))


KNOWN_RULES_KEYS = {
    "resume_rules",
    "band_margin_percent",
    "uncapped_note_above_mg",
    "handling",
    "ehr",
    "rounding",
    "products",
    "content_version",
    "content_date",
    "max_weight_kg",
    "indications",
    "dose_rules",
    "presentations",
    "preparation",
    "lab_rules",
    "advisories",
    "plausible_weights",
}


def _other_rules_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Content the engine gained after this differ was written: listed, never silently skipped."""
    lines = []
    for key in sorted((old.keys() | new.keys()) - KNOWN_RULES_KEYS):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        name = key.replace("_", " ")
        if isinstance(before, list) or isinstance(after, list):
            before, after = before or [], after or []
            dumped = {json.dumps(r, sort_keys=True): r for r in before}
            added = {json.dumps(r, sort_keys=True): r for r in after}
            lines += [f"New {name}: {_row_words(r)}." for k, r in added.items() if k not in dumped]
            lines += [
                f"Removed {name}: {_row_words(r)}." for k, r in dumped.items() if k not in added
            ]
        else:
            lines.append(f"{name.capitalize()}: {_row_words(before)} → {_row_words(after)}.")
    return lines


def _row_words(row: Any) -> str:
    if isinstance(row, dict):
        return "; ".join(
            f"{k.replace('_', ' ')} {_value_words(k, v)}" for k, v in _flat(row).items()
        )
    return _value_words("", row)


def _monograph_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    drug_old = {k: v for k, v in old.items() if k not in ("sections", "last_reviewed_on")}
    drug_new = {k: v for k, v in new.items() if k not in ("sections", "last_reviewed_on")}
    lines = _diff_rows("drug", [drug_old], [drug_new], lambda r: 0, lambda r: "Drug")
    strip = ("body_html",)
    return lines + _diff_rows(
        "monograph section",
        [{k: v for k, v in s.items() if k not in strip} for s in old["sections"]],
        [{k: v for k, v in s.items() if k not in strip} for s in new["sections"]],
        lambda r: r["slug"],
        lambda r: f"monograph section “{r['title']}”",
        ("slug",),
    )


# ---------------------------------------------------------------------------------------------
# Who changed the draft


@dataclass(frozen=True)
class SizeFlag:
    """A dose or cap changed to 2 times or more, or to half or less: confirmed by typing it."""

    what: str
    field: str
    old: str
    new: str
    factor: Decimal

    @property
    def new_value(self) -> str:
        return engine.format_number(Decimal(self.new))

    def __str__(self) -> str:
        name, unit = FIELD_WORDS[self.field]
        return (
            f"{self.what}: {name} {engine.format_number(Decimal(self.old))} → {self.new_value} "
            f"{unit} ({factor_words(self.factor)})"
        )


def size_flags(live: dict[str, Any], draft: dict[str, Any]) -> list[SizeFlag]:
    """Every dose or cap of a row kept from live to draft that changed by 2 times or more."""
    old, new = live["rules"], draft["rules"]
    names = {i["slug"]: i["name"] for i in (*old["indications"], *new["indications"])}

    def dose(row: dict[str, Any]) -> str:
        band = engine.band_label(
            *(
                None if row.get(k) is None else Decimal(row[k])
                for k in ("min_weight_kg", "max_weight_kg")
            )
        )
        return (
            f"{names.get(row['indication'], row['indication'])}, "
            f"{engine.ROUTE_ADJECTIVES[engine.Route(row['route'])]}, {row['step']} dose, {band}"
        )

    flags = []
    tables: list[tuple[str, Callable[[dict[str, Any]], Any], Callable[[dict[str, Any]], str]]] = [
        ("dose_rules", lambda r: (r["indication"], r["route"], r["step"], r.get("min_weight_kg"), r.get("max_weight_kg")), dose),
        ("resume_rules", lambda r: (r["indication"], r["route"], r.get("min_weight_kg"), r.get("max_weight_kg")), lambda r: f"Resume: {dose({**r, 'step': 'resumed'})}"),
        ("lab_rules", lambda r: r["code"], lambda r: f"lab rule {r['code']}"),
    ]  # fmt: skip
    for table, key, label in tables:
        before = {key(r): r for r in old.get(table) or []}
        for row in new.get(table) or []:
            was = before.get(key(row))
            if was is None:
                continue
            for field in sorted(DOSE_FIELDS):
                factor = size_factor(field, was.get(field), row.get(field))
                if factor is not None:
                    flags.append(
                        SizeFlag(label(row), field, str(was[field]), str(row[field]), factor)
                    )
    return flags


def draft_origin() -> tuple[PublishedVersion, list[PublishedVersion]]:
    """The version whose content the live one is (the last publish of a draft, followed back
    through rollbacks), and the rollbacks since it.

    The draft differs from the live content by every edit since that publish: after a rollback
    to version 1, the edits published in version 2 and rolled back are pending again, and their
    authors are still their authors.
    """
    live = _live_row()
    origin, seen = live, {live.number}
    while origin.rolled_back_from is not None:
        target = PublishedVersion.objects.filter(number=origin.rolled_back_from).first()
        if target is None or target.number in seen:
            break
        origin = target
        seen.add(target.number)
    rollbacks = list(
        PublishedVersion.objects.filter(number__gt=origin.number, rolled_back_from__isnull=False)
        .select_related("reviewed_by")
        .order_by("number")
    )
    return origin, rollbacks


def draft_authors() -> dict[int | None, str]:
    """Who changed the draft against the live content (None: a change with no recorded user).

    Every user with a history record of any content model since the draft's origin, by any
    route (a form, an inline, an action, a revert, a reset), and whoever rolled back since: a
    rollback changes what the draft is compared against, so its author publishes nothing next.
    """
    origin, rollbacks = draft_origin()
    authors: dict[int | None, str] = {}
    for model in content_models():
        records = model.history.filter(history_date__gt=origin.published_at).select_related(
            "history_user"
        )
        for record in records:
            user = record.history_user
            authors[user.pk if user else None] = user.get_username() if user else "(not recorded)"
    for version in rollbacks:
        if version.reviewed_by_id is not None:
            authors[version.reviewed_by_id] = version.reviewer_name or str(version.reviewed_by_id)
    return authors


# ---------------------------------------------------------------------------------------------
# Reset the draft to a published version


def _in_dependency_order(models: Iterable[type[ContentRow]]) -> list[type[ContentRow]]:
    """Parents before children (a row's foreign keys exist before it is saved)."""
    pending, ordered = list(models), []
    while pending:
        for model in pending:
            parents = {
                f.related_model
                for f in model._meta.concrete_fields
                if f.is_relation and f.related_model in pending and f.related_model is not model
            }
            if not parents:
                ordered.append(model)
                pending.remove(model)
                break
        else:  # a cycle: keep the rest as they are (none exists today)
            ordered += pending
            break
    return ordered


def reset_draft(user: User, number: int) -> list[str]:
    """Make the draft rows what they were when version `number`'s content was published.

    Each row is restored from its history as of then, as an edit by `user` (so they become an
    author); rows made since are deleted. Returns what still differs from version `number`, in
    words (empty: the draft is that version again).
    """
    if not user.has_perm(PUBLISH_PERMISSION):
        raise PublishRefused(["You do not have the permission to publish (Content reviewers)."])
    target = PublishedVersion.objects.filter(number=number).first()
    if target is None:
        raise PublishRefused([f"There is no version {number}."])
    stored = _upgraded(target)  # before any row changes: refused in words, if at all
    with transaction.atomic():
        _reset_rows(user, target)
        draft = read_draft(number)
    if draft.data is None:
        return list(draft.findings)
    return clinical_diff(stored, draft.data)


def _reset_rows(user: User, target: PublishedVersion) -> None:
    number = target.number
    origin = target
    while origin.rolled_back_from is not None:
        origin = PublishedVersion.objects.get(number=origin.rolled_back_from)
    when = origin.published_at
    reason = f"Draft reset to version {number} by {user.get_username()}"
    ordered = _in_dependency_order(content_models())
    with transaction.atomic():
        kept: dict[type[ContentRow], list[Any]] = {}
        for model in ordered:
            records = model.history.filter(history_date__lte=when).latest_of_each()
            kept[model] = [r for r in records if r.history_type != "-"]
        for model in reversed(ordered):
            keep = {r.instance.pk for r in kept[model]}
            for gone in model._default_manager.exclude(pk__in=keep):
                row: Any = gone  # simple-history reads who and why from the instance
                row._history_user = user
                row._change_reason = reason
                row.delete()
        for model in ordered:
            m2m = {f.name: f.remote_field.model for f in model._meta.local_many_to_many}
            for record in kept[model]:
                row = record.instance
                row._history_user = user
                row._change_reason = reason
                row.save()
                for name, related_model in m2m.items():
                    target_name = related_model._meta.model_name
                    related = [getattr(t, f"{target_name}_id") for t in getattr(record, name).all()]
                    # Records loaded by the seed migrations hold no m2m rows: an empty list there
                    # is "not recorded", kept as it is (a difference left shows on the review page).
                    if related:
                        getattr(row, name).set(related)


# ---------------------------------------------------------------------------------------------
# Review, publish, roll back


@dataclass(frozen=True)
class Review:
    live: Snapshot
    draft: Draft
    changes: list[str]
    affected: list[AffectedCase]
    authors: dict[int | None, str]
    # The newest published version: the live one, unless its snapshot fails its SHA-256 check
    # and `live` (what is served) is the last good one (content.serving_problem says why).
    live_number: int = 0
    flags: list[SizeFlag] = dataclasses.field(default_factory=list)

    @property
    def waiting(self) -> bool:
        return bool(self.changes)

    def refusals(self, user: User) -> list[str]:
        """Why `user` may not publish this draft now (empty: they may)."""
        reasons = []
        if not user.has_perm(PUBLISH_PERMISSION):
            reasons.append("You do not have the permission to publish (Content reviewers).")
        if user.pk in self.authors:
            reasons.append(
                "You changed this draft, so you cannot publish it: a second person who made "
                "none of its changes must review and publish it."
            )
        if not self.changes:
            reasons.append(
                f"The draft is the same as the live version {self.live.number}: nothing to publish."
            )
        if self.draft.findings:
            reasons.append(
                f"The draft fails the integrity check ({len(self.draft.findings)} "
                f"finding{'s' if len(self.draft.findings) != 1 else ''} listed above)."
            )
        return reasons


def review() -> Review:
    live = current_snapshot()
    newest = _live_row().number
    draft = read_draft(newest + 1)
    if draft.data is None or draft.rules is None:
        return Review(live, draft, [], [], {}, newest)
    changes = clinical_diff(live.data, draft.data)
    affected = affected_cases(live.rules, draft.rules) if changes else []
    changes += bounds_changes()
    flags = size_flags(live.data, draft.data)
    return Review(live, draft, changes, affected, draft_authors(), newest, flags)


def draft_status(user: User) -> dict[str, Any]:
    """For the admin index: does a draft wait for review, and did `user` write part of it?"""
    live = current_snapshot()
    try:
        data = build_snapshot(DraftStamp(number=live.number + 1, changed_at=timezone.now()))
    except (ObjectDoesNotExist, MultipleObjectsReturned):
        waiting = True
    else:
        # Like with like: the live version as read (upgraded to today's format), not as stored.
        waiting = snapshot_format.content_hash(data) != snapshot_format.content_hash(live.data)
    authors = draft_authors() if waiting else {}
    return {
        "waiting": waiting,
        "live": live,
        "is_author": user.pk in authors,
        "may_publish": user.has_perm(PUBLISH_PERMISSION),
    }


def _live_row() -> PublishedVersion:
    return PublishedVersion.objects.order_by("-number").first()  # type: ignore[return-value]


def _checks(user: User, summary: str, confirmed: bool) -> list[str]:
    reasons = []
    if not confirmed:
        reasons.append("Tick the confirmation: you checked the changes against the label.")
    if not summary.strip():
        reasons.append("Write a change summary: phones show it to clinicians.")
    return reasons


def _moved(live: PublishedVersion, reviewed_against: int, nothing: str) -> str:
    by = live.reviewer_name or "the migrations"
    return (
        f"Version {live.number} went live after you opened this page (published by {by} at "
        f"{timezone.localtime(live.published_at):%H:%M:%S}: “{live.summary}”), not version "
        f"{reviewed_against} you reviewed against. {nothing}: review the page again."
    )


@contextmanager
def _serialized(reviewed_against: int, nothing: str) -> Iterator[PublishedVersion]:
    """One publish or rollback at a time, and only against the live version it was reviewed
    against: a second reviewer, or a publish racing an emergency rollback, is refused in words.

    The first statement writes the draft marker's row (a no-op update): PostgreSQL holds that
    row's lock, SQLite its write lock, until commit, so the other waits and then reads the
    version the first one made.
    """
    try:
        with transaction.atomic():
            if not ContentVersion.objects.update(number=F("number")):
                ContentVersion.objects.create()
            live = _live_row()
            if live.number != reviewed_against:
                raise PublishRefused([_moved(live, reviewed_against, nothing)])
            yield live
    except (IntegrityError, OperationalError) as error:
        # The other took the version number, or the lock outlasted the wait.
        raise PublishRefused(
            [
                "Another publish or rollback was being saved at the same moment (or the "
                f"database did not answer in time). {nothing}: review the page again."
            ]
        ) from error


def publish(
    user: User,
    summary: str,
    *,
    confirmed: bool,
    draft_hash: str,
    live_number: int,
    typed: Sequence[str] = (),
) -> PublishedVersion:
    """Publish the draft as the next version, or raise PublishRefused with every reason.

    `live_number`: the live version the reviewer compared the draft with (the review page's).
    `typed`: the new value of each size flag (review().flags), typed by the reviewer, in order.
    """
    current = review()
    reasons = current.refusals(user) + _checks(user, summary, confirmed)
    typed = [value.strip() for value in typed]
    for position, flag in enumerate(current.flags):
        given = typed[position] if position < len(typed) else ""
        if given.replace(",", "") != flag.new_value.replace(",", ""):
            reasons.append(
                f"Type the new value {flag.new_value} to confirm this change of "
                f"{factor_words(flag.factor)}: {flag}."
            )
    if not reasons and current.live_number != live_number:
        reasons.append(_moved(_live_row(), live_number, "Nothing was published"))
    elif not reasons and current.draft.content_hash != draft_hash:
        reasons.append(
            "The draft changed after you opened this page: review it again before publishing."
        )
    if reasons:
        raise PublishRefused(reasons)
    with _serialized(live_number, "Nothing was published") as live:
        number = live.number + 1
        now = timezone.now()
        draft = read_draft(number, now)
        if draft.findings or draft.data is None or draft.content_hash != draft_hash:
            raise PublishRefused(["The draft changed while publishing: review it again."])
        version = _create(
            number, draft.data, now, summary, user, changes=current.changes,
            authors=sorted(current.authors.values()),
        )  # fmt: skip
    _forget_live()
    return version


def rollback(
    user: User,
    number: int,
    summary: str,
    *,
    confirmed: bool,
    live_number: int,
    reset: bool = False,
) -> PublishedVersion:
    """Publish version `number`'s snapshot again, as a new version; nothing is deleted.

    `live_number`: the live version the reviewer saw when choosing to roll back. The draft
    keeps its edits (their authors stay authors, and `user` becomes one) unless `reset`: then
    the draft rows are also made version `number`'s again (reset_draft).
    """
    reasons = _checks(user, summary, confirmed)
    if not user.has_perm(PUBLISH_PERMISSION):
        reasons.insert(0, "You do not have the permission to publish (Content reviewers).")
    target = PublishedVersion.objects.filter(number=number).first()
    live = _live_row()
    if target is None:
        reasons.append(f"There is no version {number}.")
    elif target.number == live.number:
        reasons.append(f"Version {number} is the live version already.")
    else:
        try:
            stored = _stored(target)
        except PublishRefused as refused:
            reasons += refused.reasons
    if reasons:
        raise PublishRefused(reasons)
    assert target is not None
    nothing = "Nothing was rolled back"
    with _serialized(live_number, nothing) as live:
        new_number = live.number + 1
        now = timezone.now()
        # The old version as snapshot.load reads it (upgraded to today's format), restamped.
        rules = dataclasses.replace(
            stored.rules, content_version=new_number, content_date=now.date().isoformat()
        )
        findings = integrity_findings(rules, PublishingBounds.current())
        if findings:
            raise PublishRefused([f"Version {number} fails today's integrity check:", *findings])
        data = snapshot_format.dump(rules, stored.monograph)
        changes = clinical_diff(_upgraded(live), data)
        version = _create(
            new_number, data, now, summary, user, changes=changes, authors=[],
            rolled_back_from=number, clinically_reviewed=target.clinically_reviewed,
        )  # fmt: skip
        if reset:
            _reset_rows(user, target)
    _forget_live()
    return version


def _stored(version: PublishedVersion) -> snapshot_format.Loaded:
    """A stored version through snapshot.load (SHA-256 checked, upgraded, parsed), else refused."""
    try:
        return snapshot_format.load(
            version.snapshot, sha256=version.content_hash, number=version.number
        )
    except snapshot_format.SnapshotTampered as error:
        raise PublishRefused(
            [
                f"Version {version.number}'s stored snapshot does not match the SHA-256 recorded "
                "when it was published: it was changed in the database and cannot be published "
                "again."
            ]
        ) from error
    except ValueError as error:  # a format this release has no upgrade for, or not a snapshot
        raise PublishRefused(
            [f"Version {version.number}'s stored snapshot cannot be read by this release: {error}"]
        ) from error


def _upgraded(version: PublishedVersion) -> dict[str, Any]:
    """A stored version's document in today's format (for a diff: its hash is not checked)."""
    try:
        return snapshot_format.upgrade(version.snapshot, version.number)
    except ValueError as error:
        raise PublishRefused(
            [f"Version {version.number}'s stored snapshot cannot be read by this release: {error}"]
        ) from error


def _forget_live() -> None:
    # Now (a read later in this transaction sees the new version) and on commit (a read that
    # cached the old version meanwhile looks again); re-reading is always safe.
    forget_version()
    transaction.on_commit(forget_version)


def _create(
    number: int,
    data: dict[str, Any],
    now: datetime,
    summary: str,
    user: User,
    **fields: Any,
) -> PublishedVersion:
    return PublishedVersion.objects.create(
        number=number,
        snapshot=data,
        content_hash=snapshot_format.content_hash(data),
        label_revision=data["monograph"].get("label_revision") or "",
        summary=summary.strip(),
        reviewed_by_id=user.pk if isinstance(user, AbstractUser) else None,
        reviewer_name=user.get_username() if user.pk else "",
        published_at=now,
        **fields,
    )


def create_initial_version(registry: Any) -> None:
    """Version 1 from the seeded content (called by migration 0008_governance)."""
    published = registry.get_model("dosing", "PublishedVersion")
    if published.objects.exists():
        return
    now = timezone.now()
    data = build_snapshot(DraftStamp(number=1, changed_at=now), registry)
    published.objects.create(
        number=1,
        snapshot=data,
        content_hash=snapshot_format.content_hash(data),
        label_revision=data["monograph"].get("label_revision") or "",
        summary=INITIAL_SUMMARY,
        changes=[],
        authors=[],
        clinically_reviewed=False,
        published_at=now,
    )


def reseed_initial_version(registry: Any) -> bool:
    """For a data migration that changes content after 0008: if version 1 (the seed, never
    clinically reviewed) is the only published version, rebuild its snapshot from the draft rows
    and recompute its hash, so a fresh install serves the corrected seed. Otherwise the change
    stays in the draft for a reviewer to publish (the two-person rule): nothing is published here.
    True when version 1 was rebuilt."""
    published = registry.get_model("dosing", "PublishedVersion")
    versions = list(published.objects.values_list("number", "clinically_reviewed")[:2])
    if versions != [(1, False)]:
        return False
    # An admin's unpublished edit is never made live by a migration (bedcontent, issue 22).
    if _draft_edited_in_admin(registry):
        return False
    first = published.objects.get(number=1)
    # Dated now: the migration's own history rows then predate the version, so they are not
    # pending edits by an unrecorded author.
    now = timezone.now()
    data = build_snapshot(DraftStamp(number=1, changed_at=now), registry)
    # .update(): the row is immutable through save(); this is the one sanctioned rewrite of the
    # unreviewed seed, before any reviewer has published anything.
    published.objects.filter(pk=first.pk).update(
        snapshot=data,
        content_hash=snapshot_format.content_hash(data),
        label_revision=data["monograph"].get("label_revision") or "",
        published_at=now,
    )
    forget_version()
    return True


def _draft_edited_in_admin(registry: Any) -> bool:
    """Whether any content row's history has a change by a user (migrations record none)."""
    for model in registry.get_app_config("dosing").get_models():
        name = model.__name__
        if not name.startswith("Historical") or name == "HistoricalPublishingBounds":
            continue
        if any(f.name == "history_user" for f in model._meta.fields) and (
            model.objects.filter(history_user__isnull=False).exists()
        ):
            return True
    return False
