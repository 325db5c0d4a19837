"""The stored content snapshot's format: dump, load, and the upgrade steps between formats.

A published version stores one JSON document, `{"format": N, "rules": ..., "monograph": ...}`:
the engine's rules (figures as text) and the monograph text. GET /api/v1/rules serves the rules
with the format beside them, and the offline engine reads that. Only this module knows the shape.

A stored document is never read with today's types directly: `load` checks its SHA-256, then
upgrades it one format at a time (UPGRADES, N -> N+1) to FORMAT, and only then reads it. A change
to the shape is a new FORMAT and a new step, tested against a stored document of the format
before it (tests/snapshots/format-N.json).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from . import engine

# The format this code writes; the offline page is told it (data-rules-format) and calculates
# only with rules of this format.
FORMAT = 5

Document = dict[str, Any]

# pydantic reads and writes the engine's own dataclasses: the types are the schema.
_RULES = TypeAdapter(engine.Rules)


class UnreadableSnapshot(ValueError):
    """A stored document of a format this code has no upgrade for (a newer deploy wrote it)."""


class SnapshotTampered(ValueError):
    """A stored snapshot whose SHA-256 is not the one recorded when it was published."""


def _figures_as_text(data: Any) -> Any:
    # Every digit kept and no trailing zero ("0.5", "800", never "8.00" as a DecimalField reads):
    # the offline engine parses exactly the figure stored, and a figure is stored one way only.
    # pydantic's own JSON mode would write str(Decimal), trailing zeros and all.
    if isinstance(data, Decimal):
        return format(data.normalize(), "f")
    if isinstance(data, dict):
        return {key: _figures_as_text(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_figures_as_text(value) for value in data]
    return data


def dump_rules(rules: engine.Rules) -> dict[str, Any]:
    """The rules as JSON data, figures as text (the shared vectors hold exactly this)."""
    data: dict[str, Any] = _figures_as_text(_RULES.dump_python(rules))
    return data


def load_rules(data: dict[str, Any]) -> engine.Rules:
    """Rules of the current FORMAT from JSON data (pydantic.ValidationError, a ValueError)."""
    return _RULES.validate_python(data)


def dump(rules: engine.Rules, monograph: dict[str, Any]) -> Document:
    """What a published version stores, in the current FORMAT."""
    return {"format": FORMAT, "rules": dump_rules(rules), "monograph": monograph}


def served_rules(rules: engine.Rules) -> dict[str, Any]:
    """The body of GET /api/v1/rules: the rules and the format they are written in."""
    return {"format": FORMAT, **dump_rules(rules)}


def content_hash(document: Document) -> str:
    """SHA-256 of the stored document but the version's number and date (the row holds them), so
    the same content hashes the same under any number or date.

    A document stored before formats were numbered has no "format" key and hashes as it did
    when it was published; a numbered one hashes its format too (changing it is tampering).
    """
    rules = {
        k: v for k, v in document["rules"].items() if k not in ("content_version", "content_date")
    }
    hashed = {"rules": rules, "monograph": document["monograph"]}
    if "format" in document:
        hashed["format"] = document["format"]
    canonical = json.dumps(hashed, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify(document: Document, sha256: str, number: int) -> None:
    """Raise SnapshotTampered unless the stored document hashes to its recorded SHA-256."""
    found = content_hash(document)
    if found != sha256:
        raise SnapshotTampered(
            f"Content version {number}'s stored snapshot does not match the SHA-256 "
            f"recorded when it was published ({sha256[:12]}…, found "
            f"{found[:12]}…): it was changed in the database."
        )


# ---------------------------------------------------------------------------------------------
# Upgrades: one step per format, each written against the stored shape of its format, never
# against today's types (so a later change to the types cannot change what an old step does).


def _format_1_to_2(document: Document) -> Document:
    """Format 1: every snapshot stored before formats were numbered (no "format" key).

    Fields added to the rules after versions were first stored (issues 12, 15, the EHR check and
    its result ages, the advisory context, the concentration limit) are missing from the older
    ones, which were read through the defaults of today's types, or not at all (a bag's
    indications has no default). Format 2 holds every field; these are those defaults and that
    meaning, written out.
    """
    rules = dict(document["rules"])
    rules.setdefault("resume_rules", [])
    rules.setdefault("band_margin_percent", "0")
    rules.setdefault("uncapped_note_above_mg", None)
    rules.setdefault("handling", None)
    ehr: dict[str, Any] = {
        "codes": [],
        "dose_tolerance_percent": "0",
        "lab_max_age_days": None,
        "child_weight_max_age_days": None,
        "adult_weight_max_age_days": None,
        "adult_from_age_years": 18,
        "source": None,
    }
    rules["ehr"] = {**ehr, **rules.get("ehr", {})}
    # Before issue 12 a bag served every indication, by weight alone (the first version's 50 mL
    # under 30 kg went to adults too); written out, that is every indication of the snapshot.
    every = [row["slug"] for row in rules["indications"]]
    preparation = {"min_saline_ml": "0", "concentration_limit": None, **rules["preparation"]}
    preparation["bags"] = [{"indications": every, **bag} for bag in preparation["bags"]]
    rules["preparation"] = preparation
    rules["lab_rules"] = [{"persistence": "any", **row} for row in rules["lab_rules"]]
    rules["advisories"] = [{"context": "any", **row} for row in rules["advisories"]]
    return {**document, "format": 2, "rules": rules}


def _format_2_to_3(document: Document) -> Document:
    """Format 3 (issue 22.4): the syringes volumes are drawn in (handling.syringes) and the site
    rounding policy (rules.rounding). A format-2 version had neither: every volume was drawn to
    the preparation's one graduation (syringe_precision_ml), and no dose was rounded."""
    rules = dict(document["rules"])
    rules.setdefault("rounding", None)
    if rules.get("handling") is not None:
        rules["handling"] = {"syringes": [], **rules["handling"]}
    return {**document, "format": 3, "rules": rules}


def _format_3_to_4(document: Document) -> Document:
    """Format 4 (issue 23): the products (rules.products) and a drug code's product. A format-3
    version served one product, the drug itself, for every indication and route it had a dose
    for, on the drug's label: written out, that is one product (the brand's slug, the
    monograph's names and label) whose routes are PI, and every drug code the ingredient's."""
    rules = dict(document["rules"])
    monograph = document["monograph"]
    source = {"label_section": "1", "evidence": "PI", "needs_review": False}
    slug = str(monograph["brand_name"]).lower()
    pairs = {(row["indication"], row["route"]) for row in rules["dose_rules"]}
    routes = [
        {"indication": i["slug"], "route": route, "source": {**source, "anchor": f"product-{slug}"}}
        for i in rules["indications"]
        for route in ("iv", "sc")
        if (i["slug"], route) in pairs
    ]
    rules.setdefault(
        "products",
        [
            {
                "slug": slug,
                "brand_name": monograph["brand_name"],
                "nonproprietary_name": monograph["generic_name"],
                "holder": "",
                "biosimilar": False,
                "bla": "",
                "label_name": monograph["label_name"],
                "label_url": monograph["label_url"],
                "label_revision": monograph.get("label_revision"),
                "diluents": rules["preparation"]["diluents"],
                "routes": routes,
                "notices": [],
                "source": {**source, "anchor": f"product-{slug}"},
            }
        ],
    )
    ehr = dict(rules.get("ehr") or {})
    ehr["codes"] = [{"product": "", **code} for code in ehr.get("codes", [])]
    rules["ehr"] = ehr
    return {**document, "format": 4, "rules": rules}


# Format 5's device words without a brand: a format-4 drug row named ACTEMRA's ACTPen.
_DEVICE_WORDS_5 = {
    "vial": "Single-dose vial",
    "syringe": "Single-dose prefilled syringe",
    "autoinjector": "Single-dose autoinjector",
}


def _format_4_to_5(document: Document) -> Document:
    """Format 5 (issue 23): each product's own presentations, each with its grade on that
    product's label. A format-4 version offered every product the drug's presentations, as the
    reference product's label names them. Written out: the reference product's are the drug's
    (`presentations: null`); a biosimilar's are the drug's rows unconfirmed for it (OPEN,
    flagged, as the products reference grades them unless it says otherwise) and never under
    ACTEMRA's device name (a format-4 biosimilar result said "ACTPen")."""
    rules = dict(document["rules"])
    rules["presentations"] = [{"source": None, **row} for row in rules["presentations"]]
    products = []
    for row in rules.get("products", []):
        own = None
        if row.get("biosimilar"):
            source = {
                "label_section": "Presentations",
                "evidence": "OPEN",
                "needs_review": True,
                "anchor": f"product-{row['slug']}",
            }
            own = [
                {
                    **p,
                    "device_label": _DEVICE_WORDS_5.get(p["device"], p["device_label"]),
                    "source": source,
                }
                for p in rules["presentations"]
            ]
        products.append({"presentations": own, **row})
    rules["products"] = products
    return {**document, "format": 5, "rules": rules}


# UPGRADES[n] takes a document of format n to format n + 1, in order up to FORMAT.
UPGRADES: dict[int, Callable[[Document], Document]] = {
    1: _format_1_to_2,
    2: _format_2_to_3,
    3: _format_3_to_4,
    4: _format_4_to_5,
}


def format_of(document: Document) -> int:
    """The document's format number (1: stored before formats were numbered)."""
    found = document.get("format", 1)
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise UnreadableSnapshot(f"The stored snapshot's format is not a format number: {found!r}.")
    return found


def upgrade(document: Document, number: int = 0) -> Document:
    """`document` in the current FORMAT (a copy: the stored one is never changed).

    Raises UnreadableSnapshot for a format this code has no upgrade for (`number` names the
    version in the message).
    """
    found = format_of(document)
    if found > FORMAT:
        raise UnreadableSnapshot(
            f"Content version {number}'s stored snapshot is in format {found}, and this release "
            f"reads formats 1 to {FORMAT}: a newer release published it."
        )
    upgraded = copy.deepcopy(document)
    for step in range(found, FORMAT):
        upgraded = UPGRADES[step](upgraded)
    return upgraded


@dataclass(frozen=True)
class Loaded:
    """A stored document read: upgraded to the current FORMAT, and its rules parsed."""

    document: Document
    rules: engine.Rules

    @property
    def monograph(self) -> dict[str, Any]:
        text: dict[str, Any] = self.document["monograph"]
        return text


def load(document: Document, *, sha256: str | None = None, number: int = 0) -> Loaded:
    """Read a stored document of any known format: its SHA-256 checked first (when `sha256` is
    the one recorded at publish), then upgraded, then parsed.

    Raises SnapshotTampered, UnreadableSnapshot (both ValueError), or pydantic's ValidationError.
    """
    if sha256 is not None:
        verify(document, sha256, number)
    upgraded = upgrade(document, number)
    return Loaded(upgraded, load_rules(upgraded["rules"]))
