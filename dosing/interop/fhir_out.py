"""The live content as an R5 MedicationKnowledge: an indicationGuideline per indication, a
dosingGuideline per weight band and step, doses in UCUM mg/kg or mg, caps as
maxDosePerAdministration, and the presentations as packaging. Built from the rules snapshot and
validated by fhir.resources' R5 model before it is served."""

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


def _codes(rules: engine.Rules, kind: str, means: str = "") -> list[dict[str, Any]]:
    return [
        {"system": c.system, "code": c.code, **({"display": c.display} if c.display else {})}
        for c in rules.ehr.codes
        # The product's own codes (issue 23) belong to a MedicationKnowledge per product.
        if c.kind == kind and c.means == means and not c.excludes and not c.product
    ]


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


def _dosage(rule: engine.DoseRule) -> dict[str, Any]:
    dose = (
        _quantity(rule.mg_per_kg, "mg/kg")
        if rule.mg_per_kg is not None
        else _quantity(rule.flat_mg, "mg")  # type: ignore[arg-type]
    )
    dosage: dict[str, Any] = {
        "text": f"{engine.format_number(dose['value'])} {dose['unit']}, "
        f"{engine.format_interval(rule.interval_days) if rule.interval_days else 'single dose'} "
        f"(PI section {rule.source.label_section}, {rule.source.evidence})",
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


def _guideline(rule: engine.DoseRule) -> dict[str, Any]:
    band = _weight_range(rule)
    return {
        "treatmentIntent": {"text": f"{rule.step.value} dose"},
        "dosage": [
            {
                "type": {"text": f"{engine.ROUTE_ADJECTIVES[rule.route]}, {rule.step.value}"},
                "dosage": [_dosage(rule)],
            }
        ],
        **({"patientCharacteristic": [band]} if band else {}),
    }


def _packaging(rules: engine.Rules) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    contained, packaging = [], []
    for index, p in enumerate(rules.presentations, start=1):
        ident = f"pack-{index}"
        contained.append(
            {
                "resourceType": "PackagedProductDefinition",
                "id": ident,
                "name": f"{p.device_label} {engine.format_number(p.strength_mg)} mg / "
                f"{engine.format_number(p.volume_ml)} mL",
                "description": f"{engine.ROUTE_WORDS[p.route]}",
            }
        )
        packaging.append({"packagedProduct": {"reference": f"#{ident}"}})
    return contained, packaging


def medication_knowledge(rules: engine.Rules) -> dict[str, Any]:
    contained, packaging = _packaging(rules)
    resource = {
        "resourceType": "MedicationKnowledge",
        "id": f"tocilizumab-v{rules.content_version}",
        "meta": {"versionId": str(rules.content_version)},
        "contained": contained,
        "status": "active",
        "code": {"coding": _codes(rules, "drug"), "text": "tocilizumab (ACTEMRA)"},
        "packaging": packaging,
        "indicationGuideline": [
            {
                "indication": [
                    {"concept": {"coding": _codes(rules, "indication", i.slug), "text": i.name}}
                ],
                "dosingGuideline": [
                    _guideline(d) for d in rules.dose_rules if d.indication == i.slug
                ],
            }
            for i in rules.indications
        ],
    }
    return MedicationKnowledge.model_validate(resource).model_dump(mode="json", exclude_none=True)


def searchset(rules: engine.Rules, base_url: str) -> dict[str, Any]:
    resource = medication_knowledge(rules)
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"{base_url}/fhir/MedicationKnowledge/{resource['id']}",
                "resource": resource,
                "search": {"mode": "match"},
            }
        ],
    }
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)
