"""The one selector that turns content rows into the engine's `Rules` snapshot.

Only this module maps ORM rows to engine types. The snapshot is kept per content version: an
edit bumps the version (signals.py), so the next request builds a new one and a stale snapshot is
never read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from django.db.models import Max, Prefetch

from . import engine
from .models import (
    Advisory,
    Code,
    ContentVersion,
    DoseRule,
    Drug,
    EhrCheck,
    Indication,
    LabRule,
    MonographSection,
    PlausibleWeight,
    Presentation,
)

# One snapshot per process, replaced when the version moves. An in-process object rather than
# Django's cache: the frozen snapshot is shared read-only, never pickled (unpickling it cost
# about 3 ms a request).
# The version is read from the database at most once a second per process: the calculate hot
# path then needs no query. A save clears this in the saving process at once (signals.py); other
# processes follow within VERSION_TTL_SECONDS. Each result names the version it used.
VERSION_TTL_SECONDS = 1.0


@dataclass(frozen=True)
class _Current:
    checked_at: float
    key: tuple[int, str]
    rules: engine.Rules


# Replaced whole, never mutated: a thread (gunicorn gthread) reads one consistent triple even
# while another thread is building the next snapshot.
_current: _Current | None = None


def forget_version() -> None:
    """Make the next current_rules() read the version from the database (called on every edit)."""
    global _current
    if _current is not None:
        _current = replace(_current, checked_at=float("-inf"))


def current_rules() -> engine.Rules:
    """The rules for the current content version, from memory when the version has not moved."""
    global _current
    now = time.monotonic()
    current = _current
    if current is None or now - current.checked_at >= VERSION_TTL_SECONDS:
        version = ContentVersion.current()
        # The timestamp joins the number because a rolled-back edit can reuse a number.
        key = (version.number, version.changed_at.isoformat())
        rules = (
            current.rules if current is not None and current.key == key else build_rules(version)
        )
        current = _current = _Current(checked_at=now, key=key, rules=rules)
    return current.rules


def last_reviewed_on() -> date | None:
    """The most recent review date of any clinical row (None until an admin reviews one)."""
    dates = [
        model.objects.aggregate(latest=Max("reviewed_on"))["latest"]
        for model in (Drug, MonographSection, Indication, DoseRule, Presentation, LabRule, Advisory)
    ]
    return max((d for d in dates if d is not None), default=None)


def dose_anchor(slug: str, route: str) -> str:
    return f"dosing-{slug}-{route}"


def _source(row, anchor: str) -> engine.Source:  # noqa: ANN001 (any ClinicalRow)
    return engine.Source(
        label_section=row.label_section,
        evidence=row.evidence,
        needs_review=row.needs_review,
        anchor=anchor,
    )


def _route(value: str) -> engine.Route | None:
    return engine.Route(value) if value else None


def build_rules(version: ContentVersion) -> engine.Rules:
    drug = Drug.objects.select_related("preparation").get()
    preparation = drug.preparation
    indications = list(Indication.objects.filter(drug=drug))
    return engine.Rules(
        content_version=version.number,
        content_date=version.changed_at.date().isoformat(),
        max_weight_kg=drug.max_weight_kg,
        indications=tuple(
            engine.IndicationRule(
                slug=i.slug,
                name=i.name,
                population=i.population,
                min_age_years=i.min_age_years,
                adult_only=i.adult_only,
                source=_source(i, f"dosing-{i.slug}"),
            )
            for i in indications
        ),
        dose_rules=tuple(
            engine.DoseRule(
                indication=d.indication.slug,
                route=engine.Route(d.route),
                step=engine.Step(d.step),
                min_weight_kg=d.min_weight_kg,
                max_weight_kg=d.max_weight_kg,
                mg_per_kg=d.mg_per_kg,
                flat_mg=d.flat_mg,
                interval_days=d.interval_days,
                additional_doses_max=d.additional_doses_max,
                min_hours_apart=d.min_hours_apart,
                repeat_condition=d.repeat_condition,
                max_mg=d.max_mg,
                next_step=d.next_step,
                concomitant=d.concomitant,
                source=_source(d, dose_anchor(d.indication.slug, d.route)),
            )
            for d in DoseRule.objects.filter(indication__drug=drug).select_related("indication")
        ),
        presentations=tuple(
            engine.PresentationRule(
                route=engine.Route(p.route),
                device=p.device,
                device_label=p.get_device_display(),
                strength_mg=p.strength_mg,
                volume_ml=p.volume_ml,
            )
            for p in Presentation.objects.filter(drug=drug, available=True)
        ),
        preparation=engine.PreparationRule(
            concentration_mg_per_ml=preparation.concentration_mg_per_ml,
            diluents=preparation.diluents,
            infusion_minutes=preparation.infusion_minutes,
            bags=tuple(
                engine.BagRule(
                    min_weight_kg=b.min_weight_kg, max_weight_kg=b.max_weight_kg, bag_ml=b.bag_ml
                )
                for b in preparation.bags.all()
            ),
            source=_source(preparation, "preparation"),
        ),
        lab_rules=tuple(
            engine.LabRule(
                code=r.code,
                lab=r.lab,
                context=r.context,
                route=_route(r.route),
                indications=tuple(i.slug for i in r.indications.all()),
                above=r.above,
                above_inclusive=r.above_inclusive,
                below=r.below,
                below_inclusive=r.below_inclusive,
                action=engine.Action(r.action),
                reduce_to_mg_per_kg=r.reduce_to_mg_per_kg,
                reduce_to_interval_days=r.reduce_to_interval_days,
                message=r.message,
                source=_source(r, f"lab-{r.code}"),
            )
            for r in LabRule.objects.prefetch_related(
                Prefetch("indications", queryset=Indication.objects.only("slug"))
            )
        ),
        advisories=tuple(
            engine.AdvisoryRule(
                code=a.code,
                severity=a.severity,
                route=_route(a.route),
                indications=tuple(i.slug for i in a.indications.all()),
                message=a.message,
                source=_source(a, f"advisory-{a.code}"),
            )
            for a in Advisory.objects.prefetch_related(
                Prefetch("indications", queryset=Indication.objects.only("slug"))
            )
        ),
        plausible_weights=tuple(
            engine.PlausibleWeightRule(
                min_age_years=p.min_age_years,
                max_age_years=p.max_age_years,
                min_weight_kg=p.min_weight_kg,
                max_weight_kg=p.max_weight_kg,
            )
            for p in PlausibleWeight.objects.all()
        ),
        ehr=ehr_rules(drug),
    )


def ehr_rules(drug: Drug) -> engine.EhrRules:
    """The EHR integration's codes and figures, part of the same snapshot as the dosing tables."""
    check = EhrCheck.objects.filter(drug=drug).first()
    return engine.EhrRules(
        codes=tuple(
            engine.CodeRule(
                kind=c.kind,
                system=c.system,
                code=c.code,
                display=c.display,
                means=c.indication.slug if c.indication_id else c.observed,
                match_subcodes=c.match_subcodes,
                excludes=c.excludes,
                source=_source(c, f"code-{c.pk}"),
            )
            for c in Code.objects.filter(drug=drug).select_related("indication")
        ),
        dose_tolerance_percent=check.dose_tolerance_percent if check else Decimal(0),
        lab_max_age_days=check.lab_max_age_days if check else None,
        source=_source(check, "ehr-check") if check else None,
    )
