"""Builders for CDS Hooks requests and FHIR R4 resources used by the interop tests and the bench."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ROUTE_CODES = {"iv": "47625008", "sc": "34206005"}
# One ICD-10-CM code per indication, among those the content (migration 0004) lists.
DIAGNOSES = {"ra": "M06.9", "gca": "M31.6", "ssc-ild": "M34.81", "pjia": "M08.3", "sjia": "M08.20",
             "crs": "D89.832", "covid-19": "U07.1"}  # fmt: skip
ISSUER = "https://ehr.example.org"


def medication_request(
    *,
    indication: str | None = "ra",
    route: str | None = "iv",
    dose: float | None = None,
    unit: str = "mg",
    rxnorm: str = "612865",
    ident: str = "draft-1",
    reason_code: str | None = None,
) -> dict[str, Any]:
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": ident,
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxnorm}]},
    }
    if indication or reason_code:
        code = reason_code or DIAGNOSES[indication or ""]
        order["reasonCode"] = [{"coding": [{"system": ICD10CM, "code": code}]}]
    dosage: dict[str, Any] = {
        "timing": {"repeat": {"frequency": 1, "period": 4, "periodUnit": "wk"}}
    }
    if route:
        dosage["route"] = {"coding": [{"system": SNOMED, "code": ROUTE_CODES[route]}]}
    if dose is not None:
        dosage["doseAndRate"] = [
            {"doseQuantity": {"value": dose, "unit": unit, "system": UCUM, "code": unit}}
        ]
    order["dosageInstruction"] = [dosage]
    return order


def count_calls(monkeypatch: Any, module: Any, *names: str) -> dict[str, int]:
    """Wrap the named functions of `module` so each call is counted (work budgets, not timings)."""
    counts = dict.fromkeys(names, 0)

    def counted(name: str) -> Any:
        original = getattr(module, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return original(*args, **kwargs)

        return call

    for name in names:
        monkeypatch.setattr(module, name, counted(name))
    return counts


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def observation(
    loinc: str, value: float, unit: str, *, on: str | None = None, high: float | None = None
) -> dict[str, Any]:
    """A final Observation, taken 13 days ago unless `on` says (inside every result-age limit
    the content ships: the check's age cards are not what most tests are about)."""
    on = on or days_ago(13)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"obs-{loinc}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": loinc}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": on,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }
    if high is not None:
        resource["referenceRange"] = [
            {"high": {"value": high, "unit": unit, "system": UCUM, "code": unit}}
        ]
    return resource


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def patient(age_years: int | None = None, today: date | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
    if age_years is not None:
        today = today or date.today()
        born = today.replace(year=today.year - age_years)
        resource["birthDate"] = born.isoformat()
    return resource


def prefetch(
    *,
    weight: tuple[float, str] | None = (70, "kg"),
    age_years: int | None = 50,
    labs: dict[str, float] | None = None,
    on_therapy: bool | None = False,
) -> dict[str, Any]:
    """A full prefetch; labs in engine units (cells/mm³, × ULN with an upper limit of 40 U/L).
    on_therapy None leaves the earlier orders out (the EHR did not prefetch them)."""
    labs = labs or {}
    data: dict[str, Any] = {
        "patient": patient(age_years),
        "weight": searchset(observation("29463-7", *weight)) if weight else searchset(),
        "conditions": searchset(),
        "tocilizumabOrders": searchset(),
    }
    codes = {"anc_per_mm3": ("neutrophils", "751-8"), "platelets_per_mm3": ("platelets", "777-3")}
    for name, (key, loinc) in codes.items():
        data[key] = (
            searchset(observation(loinc, labs[name], "/uL")) if name in labs else searchset()
        )
    for name, key, loinc in (("alt_x_uln", "alt", "1742-6"), ("ast_x_uln", "ast", "1920-8")):
        value = float(Decimal(str(labs[name])) * 40) if name in labs else None
        data[key] = (
            searchset(observation(loinc, value, "U/L", high=40))
            if value is not None
            else searchset()
        )
    if on_therapy is None:
        del data["tocilizumabOrders"]
    elif on_therapy:
        earlier = medication_request(ident="earlier-1")
        earlier["status"] = "active"
        data["tocilizumabOrders"] = searchset(earlier)
    return data


def cds_request(
    order: dict[str, Any], prefetch_data: dict[str, Any], hook: str = "order-sign"
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "userId": "Practitioner/1",
        "patientId": "p1",
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": order}],
        },
    }
    if hook == "order-select":
        context["selections"] = [f"MedicationRequest/{order['id']}"]
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": prefetch_data,
    }


def new_key(alg: str = "ES384") -> tuple[Any, dict[str, Any]]:
    """A key pair (P-384 for ES384, RSA 2048 for RS384): the private key and the public JWK Set
    a client configuration holds."""
    if alg == "RS384":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    else:
        private = ec.generate_private_key(ec.SECP384R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    public.update({"kid": "key-1", "alg": alg, "use": "sig"})
    return private, {"keys": [public]}


def token(
    private: Any,
    audience: str,
    *,
    issuer: str = ISSUER,
    exp_seconds: int | None = 60,
    **claims: Any,
) -> str:
    """A signed token; exp_seconds None gives the longest life the service accepts (5 minutes)."""
    now = int(time.time())
    payload = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + (300 if exp_seconds is None else exp_seconds),
        "jti": str(uuid.uuid4()),
    }
    payload.update(claims)
    alg = "RS384" if isinstance(private, rsa.RSAPrivateKey) else "ES384"
    return jwt.encode(payload, private, algorithm=alg, headers={"kid": "key-1"})
