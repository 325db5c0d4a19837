"""The live published content version as one immutable snapshot, and the draft rows -> Rules.

Only this module maps ORM rows to engine types. Clinicians only ever see the live published
version (`PublishedVersion`, the highest number): its stored snapshot holds the figures, the
number, the publish date, the ETag and the monograph text together, so no answer can pair one
version's number with another's figures. Editing rows changes the draft only (publishing.py turns
a reviewed draft into a new version); whatever the draft holds, the live snapshot keeps serving.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol

from django.apps import apps as django_apps
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models import Max, Prefetch

from . import engine
from . import snapshot as snapshot_format
from .markdown import render_markdown
from .models import PublishedVersion, clinical_models
from .snapshot import SnapshotTampered, UnreadableSnapshot

# The live version is looked up at most once a second per process: the calculate hot path then
# needs no query, and every process (gunicorn worker) follows a publish within that second.
# With REDIS_URL the live key is shared by every instance (LIVE_VERSION_KEY, at most
# VERSION_TTL_SECONDS old, deleted on a publish) and asked on every request: one Redis GET.
VERSION_TTL_SECONDS = 1.0
LIVE_VERSION_KEY = "dosing:live-version"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveKey:
    """What identifies the live version: enough to know whether the cached snapshot is current."""

    number: int
    content_hash: str


def live_version(*, from_cache: bool = True) -> LiveKey | None:
    """The live published version's number and hash (None before any publish).

    The one lookup of "which version is live", through the shared cache when there is one
    (`from_cache=False`: the database decides). Raises DatabaseError while the database is
    unreachable (current_snapshot keeps its own).
    """
    shared = settings.DOSING_SHARED_CACHE
    cached = cache.get(LIVE_VERSION_KEY) if shared and from_cache else None
    if cached is not None:
        return LiveKey(*cached)
    row = PublishedVersion.objects.order_by("-number").values_list("number", "content_hash").first()
    # Never share a key read inside a transaction: the publish it saw may yet roll back.
    if row is not None and shared and not transaction.get_connection().in_atomic_block:
        cache.set(LIVE_VERSION_KEY, tuple(row), timeout=VERSION_TTL_SECONDS)
    return None if row is None else LiveKey(*row)


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One published version, whole: figures, number, publish date, summary and ETag together."""

    number: int
    published_at: datetime
    content_hash: str
    summary: str
    clinically_reviewed: bool
    # The stored document upgraded to the current format (snapshot.py), and its rules.
    data: dict[str, Any] = field(repr=False)
    rules: engine.Rules = field(repr=False)

    @cached_property
    def rules_dict(self) -> dict[str, Any]:
        """The body of GET /api/v1/rules: the rules and their format (snapshot.served_rules)."""
        return snapshot_format.served_rules(self.rules)

    @property
    def monograph(self) -> dict[str, Any]:
        text: dict[str, Any] = self.data["monograph"]
        return text

    @property
    def etag(self) -> str:
        # The format too: a release that changes the format changes every body, not the content.
        number, digest = self.number, self.content_hash[:16]
        return f'"content-{number}-{digest}-f{snapshot_format.FORMAT}"'

    @property
    def published_on(self) -> str:
        return self.rules.content_date

    @classmethod
    def of(cls, version: PublishedVersion) -> Snapshot:
        """The stored version read through snapshot.load: SHA-256 checked, upgraded, parsed."""
        loaded = snapshot_format.load(
            version.snapshot, sha256=version.content_hash, number=version.number
        )
        return cls(
            number=version.number,
            published_at=version.published_at,
            content_hash=version.content_hash,
            summary=version.summary,
            clinically_reviewed=version.clinically_reviewed,
            data=loaded.document,
            rules=loaded.rules,
        )


@dataclass(frozen=True)
class _Current:
    checked_at: float
    snapshot: Snapshot


# Replaced whole, never mutated: a thread (gunicorn gthread) reads one consistent snapshot even
# while another thread loads the next one.
_current: _Current | None = None


class NoPublishedVersion(LookupError):
    pass


def forget_version() -> None:
    """Make the next current_snapshot() look the live version up again (after a publish)."""
    global _current
    if _current is not None:
        _current = _Current(checked_at=float("-inf"), snapshot=_current.snapshot)
    if settings.DOSING_SHARED_CACHE:
        cache.delete(LIVE_VERSION_KEY)  # and every other instance, at its next request


def current_snapshot() -> Snapshot:
    """The live published version, from memory while it has not moved. Fetch once per request."""
    global _current
    now = time.monotonic()
    current = _current
    # With a shared cache every request asks it (one Redis GET), so instances agree within the
    # cached key's VERSION_TTL_SECONDS; without one, the database is asked once a second.
    recheck_seconds = 0.0 if settings.DOSING_SHARED_CACHE else VERSION_TTL_SECONDS
    if current is None or now - current.checked_at >= recheck_seconds:
        forced = current is not None and current.checked_at == float("-inf")
        try:
            key = live_version(from_cache=not forced)
        except DatabaseError:
            if current is None:
                raise  # nothing to serve: the caller answers 503
            logger.warning("Database unreachable: serving content version %s held in memory.",
                           current.snapshot.number)  # fmt: skip
            # Ask the database again a second later rather than on every request.
            _current = _Current(checked_at=now + VERSION_TTL_SECONDS, snapshot=current.snapshot)
            return current.snapshot
        if key is None:
            raise NoPublishedVersion("No content version has been published (run migrate).")
        # Numbers only grow (a rollback publishes a new one): a lower number from the shared
        # cache is a key that lagged a publish, never a reason to go back. A forced look-up
        # (after a publish in this process) asks the database, which decides.
        held = current.snapshot if current is not None else None
        if held is not None and (held.number, held.content_hash) == (key.number, key.content_hash):
            # The live version is the one held (a refused one was rolled back or repaired):
            # nothing is served instead of it any more.
            snapshot = held
            _clear_problem()
        elif held is not None and key.number < held.number and not forced:
            snapshot = held
        else:
            snapshot = _load(key, current)
        current = _current = _Current(checked_at=now, snapshot=snapshot)
    return current.snapshot


# What this process serves instead of the live version, and why (health says it); the live key
# it refused, so that a tampered version is not hashed again every second.
_problem: str | None = None
_refused: LiveKey | None = None


def serving_problem() -> str | None:
    """Why this process serves a version other than the live one (None: it serves the live one)."""
    return _problem


def _load(key: LiveKey, current: _Current | None) -> Snapshot:
    global _problem, _refused
    if current is not None and key == _refused:
        return current.snapshot
    try:
        snapshot = Snapshot.of(PublishedVersion.objects.get(number=key.number))
    except (SnapshotTampered, UnreadableSnapshot) as error:
        # Never served: the last good version keeps serving (this process's, or the newest
        # earlier one it can read), and health says so until a good version is live. Unreadable:
        # a newer release published a format this one cannot read (a rolling deploy).
        served = current.snapshot if current is not None else _last_good(key.number)
        _problem, _refused = f"{error} Serving version {served.number}.", key
        logger.error("%s", _problem)
        return served
    except (DatabaseError, KeyError, TypeError, ValueError, ArithmeticError):
        # The database is down, or a stored snapshot this code cannot read (a serializer change
        # without a migration): keep serving the version this process has, loudly, rather than
        # fail every request.
        if current is None:
            raise
        logger.exception("Content version %s cannot be read; still serving version %s",
                         key.number, current.snapshot.number)  # fmt: skip
        return current.snapshot
    _clear_problem()
    return snapshot


def _clear_problem() -> None:
    global _problem, _refused
    _problem = _refused = None


def _last_good(number: int) -> Snapshot:
    for version in PublishedVersion.objects.filter(number__lt=number).order_by("-number"):
        try:
            return Snapshot.of(version)
        except (KeyError, TypeError, ValueError, ArithmeticError):  # tampered, unreadable
            continue
    raise NoPublishedVersion(f"No published version before {number} passes its SHA-256 check.")


def current_rules() -> engine.Rules:
    """The live version's rules (they carry its number and publish date)."""
    return current_snapshot().rules


# ---------------------------------------------------------------------------------------------
# The draft: today's content rows, serialized the way a published version stores them


class Stamp(Protocol):
    @property
    def number(self) -> int: ...

    @property
    def changed_at(self) -> datetime: ...


@dataclass(frozen=True)
class DraftStamp:
    number: int
    changed_at: datetime


def last_reviewed_on(registry: Any = django_apps) -> date | None:
    """The most recent review date of any clinical row (None until an admin reviews one).

    Every clinical model of the registry; a migration's registry may predate some of them.
    """
    dates = []
    for model in clinical_models():
        try:
            rows = registry.get_model("dosing", model.__name__).objects
        except LookupError:
            continue
        dates.append(rows.aggregate(latest=Max("reviewed_on"))["latest"])
    return max((d for d in dates if d is not None), default=None)


def build_monograph(registry: Any = django_apps) -> dict[str, Any]:
    """The monograph text of the draft, with its HTML rendered (sanitized) once, at publish."""
    drug = registry.get_model("dosing", "Drug").objects.get()
    sections = registry.get_model("dosing", "MonographSection").objects.filter(drug=drug)
    reviewed = last_reviewed_on(registry)
    return {
        "brand_name": drug.brand_name,
        "generic_name": drug.generic_name,
        "pronunciation": drug.pronunciation,
        "other_names": [name for name in drug.other_names.splitlines() if name.strip()],
        "drug_class": drug.drug_class,
        "mechanism": drug.mechanism,
        "label_name": drug.label_name,
        "label_url": drug.label_url,
        "label_revision": drug.label_revision.isoformat() if drug.label_revision else None,
        "last_reviewed_on": reviewed.isoformat() if reviewed else None,
        "sections": [
            {
                "slug": s.slug,
                "title": s.title,
                "body": s.body,
                "body_html": render_markdown(s.body),
                "label_section": s.label_section,
                "evidence": s.evidence,
                "needs_review": s.needs_review,
            }
            for s in sections.order_by("order", "pk")
        ],
    }


def build_snapshot(stamp: Stamp, registry: Any = django_apps) -> dict[str, Any]:
    """What a published version stores (snapshot.dump): the draft's rules and its monograph.

    `registry` is Django's app registry, or a migration's (so 0004 can snapshot version 1).
    """
    return snapshot_format.dump(build_rules(stamp, registry), build_monograph(registry))


def dose_anchor(slug: str, route: str) -> str:
    return f"dosing-{slug}-{route}"


def _source(row: Any, anchor: str) -> engine.Source:  # any ClinicalRow, live or historical
    return engine.Source(
        label_section=row.label_section,
        evidence=row.evidence,
        needs_review=row.needs_review,
        anchor=anchor,
    )


def _route(value: str) -> engine.Route | None:
    return engine.Route(value) if value else None


def build_rules(version: Stamp, registry: Any = django_apps) -> engine.Rules:
    """The draft rows as engine rules, stamped with `version`'s number and date."""
    # Looked up in the registry given (a migration's historical models, or the live ones).
    Drug, Indication, DoseRule, Presentation, LabRule, Advisory, PlausibleWeight, ResumeRule = (  # noqa: N806
        registry.get_model("dosing", name)
        for name in (
            "Drug",
            "Indication",
            "DoseRule",
            "Presentation",
            "LabRule",
            "Advisory",
            "PlausibleWeight",
            "ResumeRule",
        )
    )
    drug = Drug.objects.select_related("preparation").get()
    preparation = drug.preparation
    indications = list(Indication.objects.filter(drug=drug))
    return engine.Rules(
        content_version=version.number,
        content_date=version.changed_at.date().isoformat(),
        max_weight_kg=drug.max_weight_kg,
        band_margin_percent=drug.band_margin_percent,
        uncapped_note_above_mg=drug.uncapped_note_above_mg,
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
            _presentation(p) for p in Presentation.objects.filter(drug=drug, available=True)
        ),
        preparation=engine.PreparationRule(
            concentration_mg_per_ml=preparation.concentration_mg_per_ml,
            diluents=preparation.diluents,
            infusion_minutes=preparation.infusion_minutes,
            min_saline_ml=preparation.min_saline_ml,
            bags=tuple(
                engine.BagRule(
                    indications=tuple(i.slug for i in b.indications.all()),
                    min_weight_kg=b.min_weight_kg,
                    max_weight_kg=b.max_weight_kg,
                    bag_ml=b.bag_ml,
                )
                for b in preparation.bags.prefetch_related(
                    Prefetch("indications", queryset=Indication.objects.only("slug"))
                )
            ),
            source=_source(preparation, "preparation"),
            concentration_limit=_concentration_limit(preparation, registry),
        ),
        lab_rules=tuple(
            engine.LabRule(
                code=r.code,
                lab=engine.Lab(r.lab),
                context=engine.RuleContext(r.context),
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
                persistence=engine.Persistence(r.persistence),
                source=_source(r, f"lab-{r.code}"),
            )
            for r in LabRule.objects.prefetch_related(
                Prefetch("indications", queryset=Indication.objects.only("slug"))
            )
        ),
        advisories=tuple(
            engine.AdvisoryRule(
                code=a.code,
                severity=engine.Severity(a.severity),
                route=_route(a.route),
                indications=tuple(i.slug for i in a.indications.all()),
                context=engine.RuleContext(a.context),
                message=a.message,
                source=_source(a, f"advisory-{a.code}"),
            )
            for a in Advisory.objects.prefetch_related(
                Prefetch("indications", queryset=Indication.objects.only("slug"))
            )
        ),
        resume_rules=tuple(
            engine.ResumeRule(
                indication=r.indication.slug,
                route=engine.Route(r.route),
                min_weight_kg=r.min_weight_kg,
                max_weight_kg=r.max_weight_kg,
                mg_per_kg=r.mg_per_kg,
                interval_days=r.interval_days,
                next_step=r.next_step,
                source=_source(r, f"resume-{r.indication.slug}-{r.route}"),
            )
            for r in ResumeRule.objects.filter(indication__drug=drug).select_related("indication")
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
        handling=_handling(drug, preparation, registry),
        ehr=ehr_rules(drug, registry),
        rounding=_rounding(preparation, registry),
        products=_products(drug, preparation, registry),
    )


def _products(drug: Any, preparation: Any, registry: Any) -> tuple[engine.ProductRule, ...]:
    """The products the drug's rows serve (issue 23); none in a migration before 0017 (its
    reseed rebuilds version 1 with them)."""
    model = _model_if_migrated(registry, "Product")
    if model is None:
        return ()
    products = model.objects.filter(drug=drug).prefetch_related("routes__indication", "notices")
    # Before 0019 every product came in the drug's presentations (None says so).
    by_product = _product_presentations(drug, registry)
    return tuple(
        engine.ProductRule(
            slug=p.slug,
            brand_name=p.brand_name,
            nonproprietary_name=p.nonproprietary_name,
            holder=p.holder,
            biosimilar=p.biosimilar,
            bla=p.bla,
            label_name=p.label_name,
            label_url=p.label_url,
            label_revision=p.label_revision.isoformat() if p.label_revision else None,
            # Empty: the drug's preparation's, written out (the snapshot holds what is shown).
            diluents=p.diluents or preparation.diluents,
            routes=tuple(
                engine.ProductRouteRule(
                    indication=r.indication.slug,
                    route=engine.Route(r.route),
                    source=_source(r, f"product-{p.slug}"),
                )
                for r in sorted(
                    p.routes.all(), key=lambda r: (r.indication.order, r.indication.pk, r.route)
                )
            ),
            notices=tuple(
                engine.ProductNoticeRule(
                    code=n.code,
                    route=_route(n.route),
                    title=n.title,
                    text=n.text,
                    severity=engine.Severity(n.severity),
                    active=n.active,
                    source=_source(n, f"product-{p.slug}"),
                )
                for n in sorted(p.notices.all(), key=lambda n: n.code)
            ),
            presentations=None if by_product is None else by_product.get(p.pk, ()),
            source=_source(p, f"product-{p.slug}"),
        )
        for p in products.order_by("order", "pk")
    )


def _presentation(
    p: Any, *, name: str = "", source: engine.Source | None = None
) -> engine.PresentationRule:
    label = p.get_device_display()
    return engine.PresentationRule(
        route=engine.Route(p.route),
        device=p.device,
        device_label=f"{label} ({name})" if name else label,
        strength_mg=p.strength_mg,
        volume_ml=p.volume_ml,
        source=source,
    )


def _product_presentations(
    drug: Any, registry: Any
) -> dict[int, tuple[engine.PresentationRule, ...]] | None:
    """Each product's presentations (product pk -> rules), in the drug's presentation order;
    None in a migration before 0019."""
    model = _model_if_migrated(registry, "ProductPresentation")
    if model is None:
        return None
    rows = (
        # The drug's own rows only (an admin could link another drug's).
        model.objects.filter(
            product__drug=drug, presentation__drug=drug, presentation__available=True
        )
        .select_related("presentation", "product")
        .order_by(
            "product", "presentation__route", "presentation__device", "presentation__strength_mg"
        )
    )
    found: dict[int, list[engine.PresentationRule]] = {}
    for row in rows:
        found.setdefault(row.product_id, []).append(
            _presentation(
                row.presentation,
                name=row.name,
                source=_source(row, f"product-{row.product.slug}"),
            )
        )
    return {pk: tuple(rules) for pk, rules in found.items()}


def _concentration_limit(preparation: Any, registry: Any) -> engine.ConcentrationLimitRule | None:
    try:
        model = registry.get_model("dosing", "ConcentrationLimit")
    except LookupError:  # a migration before 0014 (0008 snapshots version 1 through this code)
        return None
    limit = model.objects.filter(preparation=preparation).first()
    if limit is None:
        return None
    return engine.ConcentrationLimitRule(
        max_mg_per_ml=limit.max_mg_per_ml,
        message=limit.message,
        source=_source(limit, "preparation"),
    )


def _rounding(preparation: Any, registry: Any) -> engine.RoundingRule | None:
    """The site's rounding policy (issue 22.4), in the snapshot even while off, so turning it on
    is a reviewed change like any other."""
    model = _model_if_migrated(registry, "RoundingPolicy")
    policy = None if model is None else model.objects.filter(preparation=preparation).first()
    if policy is None:
        return None
    return engine.RoundingRule(
        enabled=policy.enabled,
        within_percent=policy.within_percent,
        source=_source(policy, "preparation"),
    )


def _model_if_migrated(registry: Any, name: str) -> Any:
    """A content model, or None in an earlier migration's state (a reseed before it existed)."""
    try:
        return registry.get_model("dosing", name)
    except LookupError:
        return None


def _syringes(preparation: Any, registry: Any) -> tuple[engine.SyringeRule, ...]:
    model = _model_if_migrated(registry, "Syringe")
    if model is None:
        return ()
    return tuple(
        engine.SyringeRule(
            capacity_ml=s.capacity_ml,
            graduation_ml=s.graduation_ml,
            source=_source(s, "preparation"),
        )
        for s in model.objects.filter(preparation=preparation).order_by(
            "capacity_ml", "graduation_ml", "pk"
        )
    )


def _handling(drug: Any, preparation: Any, registry: Any) -> engine.HandlingRule:
    """Preparation steps' words and the diluted bag's storage (issue 15)."""
    return engine.HandlingRule(
        drug_name=f"{drug.brand_name} ({drug.generic_name})",
        syringe_precision_ml=preparation.syringe_precision_ml,
        mixing=preparation.mixing,
        line=preparation.line_instructions,
        light=preparation.light,
        storage=tuple(
            engine.StorageRule(diluent=s.diluent, temperature=s.temperature, max_hours=s.max_hours)
            for s in preparation.storage.all()
        ),
        sc_warm_minutes=preparation.sc_warm_minutes,
        source=_source(preparation, "preparation"),
        syringes=_syringes(preparation, registry),
    )


def _code_relations(model: Any) -> tuple[str, ...]:
    names = {f.name for f in model._meta.get_fields()}
    return tuple(name for name in ("indication", "product") if name in names)


RESULT_AGE_FIELDS = (
    "child_weight_max_age_days",
    "adult_weight_max_age_days",
    "adult_from_age_years",
)


def ehr_rules(drug: Any, registry: Any = django_apps) -> engine.EhrRules:
    """The EHR integration's codes and figures, part of the same snapshot as the dosing tables."""
    EhrCheck, Code = (registry.get_model("dosing", name) for name in ("EhrCheck", "Code"))  # noqa: N806
    check = EhrCheck.objects.filter(drug=drug).first()
    return engine.EhrRules(
        codes=tuple(
            engine.CodeRule(
                kind=c.kind,
                system=c.system,
                code=c.code,
                display=c.display,
                means=c.indication.slug
                if c.indication_id
                else (c.observed or getattr(c, "route", "")),
                match_subcodes=c.match_subcodes,
                excludes=c.excludes,
                source=_source(c, f"code-{c.pk}"),
                # A migration's registry before 0017 has no Code.product.
                product=c.product.slug if getattr(c, "product_id", None) else "",
            )
            for c in Code.objects.filter(drug=drug).select_related(*_code_relations(Code))
        ),
        dose_tolerance_percent=check.dose_tolerance_percent if check else Decimal(0),
        lab_max_age_days=check.lab_max_age_days if check else None,
        # Only the fields the row has: a content migration before 0013 builds rules from rows
        # without them (issue 23 item 1), which then keep EhrRules' defaults (no figure here).
        **{field: getattr(check, field) for field in RESULT_AGE_FIELDS if hasattr(check, field)},
        source=_source(check, "ehr-check") if check else None,
    )
