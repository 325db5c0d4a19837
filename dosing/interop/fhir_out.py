"""The live content as R5 MedicationKnowledge, one per product (issue 23): an indicationGuideline
per indication its label carries, a dosingGuideline per weight band, step and route it carries,
doses in UCUM mg/kg or mg, caps as maxDosePerAdministration, and the presentations as packaging.
Built from the rules snapshot and validated by fhir.resources' R5 model before it is served."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fhir.resources.bundle import Bundle
from fhir.resources.medicationknowledge import MedicationKnowledge

from dosing import engine

UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
ROUTE_CODES = {engine.Route.IV: "47625008", engine.Route.SC: "34206005"}


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    return {"value": engine.as_number(value), "unit": unit, "system": UCUM, "code": unit}


def _codes(rules: engine.Rules, kind: str, means: str = "", product: str = "") -> list[dict[str, Any]]:  # fmt: skip
    return [
        {"system": c.system, "code": c.code, **({"display": c.display} if c.display else {})}
        for c in rules.ehr.codes
        if c.kind == kind and c.means == means and not c.excludes and c.product == product
    ]


def resource_id(rules: engine.Rules, product: engine.ProductRule | None) -> str:
    return f"{product.slug if product else 'tocilizumab'}-v{rules.content_version}"


def _weight_range(rule: engine.DoseRule) -> dict[str, Any] | None:
    if rule.min_weight_kg in (None, Decimal(0)) and rule.max_weight_kg is None:
        return None
    band: dict[str, Any] = {}
    if rule.min_weight_kg is not None and rule.min_weight_kg != 0:
        band["low"] = _quantity(rule.min_weight_kg, "kg")
    if rule.max_weight_kg is not None:
        band["high"] = _quantity(rule.max_weight_kg, "kg")
    return {
        "type": {
            "text": f"body weight: {engine.band_label(rule.min_weight_kg, rule.max_weight_kg)}"
        },
        "valueRange": band,
    }


def _dosage(rule: engine.DoseRule, open_use: bool = False) -> dict[str, Any]:
    dose = (
        _quantity(rule.mg_per_kg, "mg/kg")
        if rule.mg_per_kg is not None
        else _quantity(rule.flat_mg, "mg")  # type: ignore[arg-type]
    )
    dosage: dict[str, Any] = {
        "text": f"{engine.format_number(dose['value'])} {dose['unit']}, "
        f"{engine.format_interval(rule.interval_days) if rule.interval_days else 'single dose'} "
        f"(PI section {rule.source.label_section}, {rule.source.evidence})"
        + (
            "; this product's label for this use is not confirmed (OPEN): verify"
            if open_use
            else ""
        ),
        "route": {
            "coding": [{"system": SNOMED, "code": ROUTE_CODES[rule.route]}],
            "text": engine.ROUTE_WORDS[rule.route],
        },
        "doseAndRate": [{"doseQuantity": dose}],
    }
    if rule.interval_days:
        dosage["timing"] = {
            "repeat": {"frequency": 1, "period": rule.interval_days, "periodUnit": "d"}
        }
    if rule.max_mg is not None:
        dosage["maxDosePerAdministration"] = _quantity(rule.max_mg, "mg")
    return dosage


def _guideline(rule: engine.DoseRule, open_use: bool = False) -> dict[str, Any]:
    band = _weight_range(rule)
    return {
        "treatmentIntent": {"text": f"{rule.step.value} dose"},
        "dosage": [
            {
                "type": {"text": f"{engine.ROUTE_ADJECTIVES[rule.route]}, {rule.step.value}"},
                "dosage": [_dosage(rule, open_use)],
            }
        ],
        **({"patientCharacteristic": [band]} if band else {}),
    }


def _packaging(rules: engine.Rules, product: engine.ProductRule | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    contained, packaging = [], []
    routes = {r.route for r in product.routes} if product else None
    # None: the reference product, whose presentations name its ACTPen.
    reference = product or rules.reference_product()
    offered = rules.presentations if reference is None else rules.presentations_of(reference)
    shown = [p for p in offered if routes is None or p.route in routes]
    for index, p in enumerate(shown, start=1):
        ident = f"pack-{index}"
        strength = f"{engine.format_number(p.strength_mg)} mg / {engine.format_number(p.volume_ml)} mL"  # fmt: skip
        name = f"{product.brand_name} " if product is not None and product.biosimilar else ""
        name += f"{p.device_label} {strength}"
        words = engine.ROUTE_WORDS[p.route]
        if p.source is not None and p.source.needs_review and product is not None:
            # TYENNE's vial strengths, a biosimilar autoinjector's name: said, never implied.
            words += f"; not confirmed on {product.brand_name}'s label ({p.source.evidence})"
        contained.append(
            {
                "resourceType": "PackagedProductDefinition",
                "id": ident,
                "name": name,
                "description": words,
            }  # fmt: skip
        )
        packaging.append({"packagedProduct": {"reference": f"#{ident}"}})
    return contained, packaging


def medication_knowledge(rules: engine.Rules, product: engine.ProductRule | None = None) -> dict[str, Any]:  # fmt: skip
    """One product's MedicationKnowledge (None: the reference product, ACTEMRA): the uses its
    label carries, OPEN ones said so in their dosage text."""
    product = product or rules.reference_product()
    contained, packaging = _packaging(rules, product)

    def use(indication: str, route: engine.Route) -> engine.ProductRouteRule | None | bool:
        return product.offers(indication, route) if product else True

    def open_use(rule: engine.DoseRule) -> bool:
        offered = use(rule.indication, rule.route)
        return isinstance(offered, engine.ProductRouteRule) and offered.source.evidence == "OPEN"

    reference = rules.reference_product()
    if product is None or product is reference:
        # The reference product: the ingredient's codes and any of its own.
        own = _codes(rules, "drug", product=product.slug) if product else []
        coding = _codes(rules, "drug") + own
        text = f"{product.nonproprietary_name} ({product.brand_name})" if product else "tocilizumab"
    else:
        coding = _codes(rules, "drug", product=product.slug)
        text = f"{product.nonproprietary_name} ({product.brand_name}, biosimilar)"
    resource: dict[str, Any] = {
        "resourceType": "MedicationKnowledge",
        "id": resource_id(rules, product),
        "meta": {"versionId": str(rules.content_version)},
        "contained": contained,
        "status": "active",
        "code": {**({"coding": coding} if coding else {}), "text": text},
        "packaging": packaging,
        "indicationGuideline": [
            {
                "indication": [
                    {"concept": {"coding": _codes(rules, "indication", i.slug), "text": i.name}}
                ],
                "dosingGuideline": [
                    _guideline(d, open_use(d))
                    for d in rules.dose_rules
                    if d.indication == i.slug and use(d.indication, d.route)
                ],
            }
            for i in rules.indications
            if any(d.indication == i.slug and use(d.indication, d.route) for d in rules.dose_rules)
        ],
    }
    if product is not None and product.biosimilar and reference is not None:
        resource["relatedMedicationKnowledge"] = [
            {
                # Interchangeability is OPEN for every biosimilar (reference): never claimed.
                "type": {"text": "biosimilar to (interchangeability not confirmed)"},
                "reference": [
                    {"reference": f"MedicationKnowledge/{resource_id(rules, reference)}"}
                ],
            }
        ]
    return MedicationKnowledge.model_validate(resource).model_dump(mode="json", exclude_none=True)


def all_products(rules: engine.Rules) -> list[dict[str, Any]]:
    """Every product's MedicationKnowledge, the reference product first (content's order)."""
    if not rules.products:
        return [medication_knowledge(rules)]
    return [medication_knowledge(rules, p) for p in rules.products]


def searchset(rules: engine.Rules, base_url: str) -> dict[str, Any]:
    resources = all_products(rules)
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{base_url}/fhir/MedicationKnowledge/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
            for resource in resources
        ],
    }
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)
