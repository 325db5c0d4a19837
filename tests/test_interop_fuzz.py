"""A fuzz of the CDS Hooks request schema (hypothesis, 1,000 cases, the same on every run): every
well-formed request (the hook, a hookInstance, a context with draftOrders, the required prefetch)
is answered 200, whatever its FHIR holds; no case answers a 500 (issue 21, "what it must show")."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import cds_helpers as h
from tests.test_interop import SELECT, SIGN

pytestmark = pytest.mark.django_db

# Any JSON at all, for any element: FHIR says what it should be; the fuzz sends whatever.
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),  # fmt: skip
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),  # fmt: skip
    max_leaves=6,
)
SYSTEMS = st.sampled_from([h.SNOMED, h.ICD10CM, h.RXNORM, h.LOINC, h.UCUM, "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration", "urn:oid:1.2"])  # fmt: skip
CODES = st.sampled_from(["612865", "M06.9", "M06.1", "69896004", "U07.1", "D89.832", "M08.20", "47625008", "34206005", "IVINFUS", "SQ", "C38276", "29463-7", "751-8", "777-3", "1742-6", "1920-8", "x"])  # fmt: skip
UNITS = st.sampled_from(["mg", "g", "ug", "mcg", "mg/kg", "milligram", "kg", "kilogram", "[lb_av]", "g", "/uL", "10*3/uL", "K/uL", "U/L", "IU/L", "mL", "", "µg"])  # fmt: skip
DATES = st.sampled_from(["2026-11-20", "2026-11", "2026", "1970-06", "2099-01-01", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00.5+02:00", "20261120", "2026-13-01", "2026-02-30"])  # fmt: skip


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right shape, sometimes any JSON, sometimes left out (None drops the member)."""
    return st.one_of(strategy, strategy, strategy, JSON, st.none())


def concept() -> st.SearchStrategy[Any]:
    coding = st.fixed_dictionaries({}, optional={"system": maybe(SYSTEMS), "code": maybe(CODES)})
    return st.fixed_dictionaries({}, optional={"coding": maybe(st.lists(maybe(coding), max_size=3)), "text": maybe(st.text(max_size=10))})  # fmt: skip


def quantity() -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(
        {},
        optional={
            "value": maybe(st.integers(0, 10**6) | st.floats(0, 1e6)),
            "unit": maybe(UNITS),
            "code": maybe(UNITS),
            "system": maybe(st.just(h.UCUM)),
            "comparator": maybe(st.sampled_from(["<", "<=", ">", ">=", "ad", "~"])),
        },
    )


def dosage() -> st.SearchStrategy[Any]:
    repeat = st.fixed_dictionaries({}, optional={
        "frequency": maybe(st.integers(0, 6)), "period": maybe(st.integers(0, 30) | st.floats(0, 30)),
        "periodUnit": maybe(st.sampled_from(["h", "d", "wk", "mo", "a", "s", "min", "x"])),
        "count": maybe(st.integers(0, 10)), "countMax": maybe(st.integers(0, 10)),
        "boundsDuration": maybe(quantity()),
    })  # fmt: skip
    rate = st.fixed_dictionaries({}, optional={"doseQuantity": maybe(quantity()), "doseRange": maybe(st.fixed_dictionaries({}, optional={"low": maybe(quantity()), "high": maybe(quantity())}))})  # fmt: skip
    return st.fixed_dictionaries({}, optional={
        "route": maybe(concept()), "timing": maybe(st.fixed_dictionaries({}, optional={"repeat": maybe(repeat)})),
        "doseAndRate": maybe(st.lists(maybe(rate), max_size=3) | rate), "doseQuantity": maybe(quantity()),
    })  # fmt: skip


def reference() -> st.SearchStrategy[Any]:
    target = st.sampled_from(["#m1", "#c1", "Medication/m1", "Condition/c1", "urn:uuid:1", "http://x/Condition/c1", "", "Condition/"])  # fmt: skip
    return st.fixed_dictionaries({}, optional={"reference": maybe(target)})


def medication_request() -> st.SearchStrategy[Any]:
    contained = st.lists(st.fixed_dictionaries({"resourceType": st.sampled_from(["Medication", "Condition"]), "id": st.sampled_from(["m1", "c1"])}, optional={"code": maybe(concept())}), max_size=2)  # fmt: skip
    return st.fixed_dictionaries(
        {"resourceType": st.just("MedicationRequest"), "id": maybe(st.sampled_from(["d1", "d2"]))},
        optional={
            "status": maybe(st.sampled_from(["draft", "active", "completed"])),
            "medicationCodeableConcept": maybe(concept()),
            "medicationReference": maybe(reference()),
            "reasonCode": maybe(st.lists(maybe(concept()), max_size=2) | concept()),
            "reasonReference": maybe(st.lists(maybe(reference()), max_size=2)),
            "dosageInstruction": maybe(st.lists(maybe(dosage()), max_size=3) | dosage()),
            "contained": maybe(contained),
            "priorPrescription": maybe(reference()),
            "authoredOn": maybe(DATES),
        },
    )


def observation() -> st.SearchStrategy[Any]:
    period = st.fixed_dictionaries({}, optional={"start": maybe(DATES), "end": maybe(DATES)})
    ranged = st.fixed_dictionaries({}, optional={"high": maybe(quantity())})
    return st.fixed_dictionaries(
        {"resourceType": st.just("Observation")},
        optional={
            "status": maybe(st.sampled_from(["final", "amended", "corrected", "preliminary", "entered-in-error", "registered"])),  # fmt: skip
            "code": maybe(concept()),
            "valueQuantity": maybe(quantity()),
            "effectiveDateTime": maybe(DATES), "effectivePeriod": maybe(period),
            "effectiveInstant": maybe(DATES), "issued": maybe(DATES),
            "referenceRange": maybe(st.lists(maybe(ranged), max_size=2)),
        },
    )  # fmt: skip


def bundle(resource: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    entry = st.fixed_dictionaries({}, optional={"resource": maybe(resource), "fullUrl": maybe(st.sampled_from(["urn:uuid:1", "http://x/Condition/c1"]))})  # fmt: skip
    outcome = st.just({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]})  # fmt: skip
    return st.one_of(
        st.fixed_dictionaries(
            {"resourceType": st.just("Bundle")},
            optional={
                "type": maybe(st.sampled_from(["searchset", "collection"])),
                "entry": maybe(st.lists(maybe(entry), max_size=4)),
            },
        ),  # fmt: skip
        resource,
        outcome,
        st.none(),
        JSON,
    )


def request() -> st.SearchStrategy[Any]:
    patient = st.fixed_dictionaries({"resourceType": st.just("Patient")}, optional={"birthDate": maybe(DATES)})  # fmt: skip
    condition = st.fixed_dictionaries({"resourceType": st.just("Condition"), "id": st.just("c1")}, optional={"code": maybe(concept())})  # fmt: skip
    medication = st.fixed_dictionaries({"resourceType": st.just("Medication"), "id": st.just("m1")}, optional={"code": maybe(concept())})  # fmt: skip
    prefetch = st.fixed_dictionaries(
        {"patient": bundle(patient), "weight": bundle(observation())},
        optional={
            "neutrophils": bundle(observation()), "platelets": bundle(observation()),
            "alt": bundle(observation()), "ast": bundle(observation()),
            "conditions": bundle(condition), "tocilizumabOrders": bundle(medication_request()),
            "medications": bundle(medication), "other": JSON,
        },
    )  # fmt: skip
    hook = st.sampled_from(["order-sign", "order-select"])
    orders = st.fixed_dictionaries({"resourceType": st.just("Bundle")}, optional={"type": maybe(st.just("collection")), "entry": st.lists(st.fixed_dictionaries({"resource": medication_request()}), max_size=3)})  # fmt: skip
    return st.fixed_dictionaries(
        {
            "hook": hook,
            "hookInstance": st.uuids().map(str),
            "prefetch": prefetch,
            "context": st.fixed_dictionaries(
                {"draftOrders": st.one_of(orders, medication_request())},
                optional={
                    "patientId": st.text(max_size=5),
                    "selections": maybe(
                        st.lists(
                            st.sampled_from(["MedicationRequest/d1", "MedicationRequest/d2", "x"]),
                            max_size=2,
                        )
                    ),
                },
            ),
        },  # fmt: skip
        optional={"fhirServer": st.just("https://ehr.example.org/fhir")},
    )


def _drop_none(value: Any) -> Any:
    """None members are left out (FHIR JSON has no nulls inside resources)."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


@given(body=request())
@settings(
    max_examples=int(os.environ.get("CDS_FUZZ_EXAMPLES", "1000")),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],  # fmt: skip
)
def test_a_well_formed_cds_request_is_always_answered_200(client: Any, settings: Any, body: dict[str, Any]) -> None:  # fmt: skip
    settings.CDS_ALLOW_UNSIGNED = True  # authentication has its own tests
    cache.clear()
    prefetch = body["prefetch"]
    body = _drop_none({k: v for k, v in body.items() if k != "prefetch"})
    body["prefetch"] = {k: _drop_none(v) for k, v in prefetch.items()}  # a null key: no data
    if not isinstance(body["context"].get("draftOrders"), dict):
        body["context"]["draftOrders"] = {"resourceType": "Bundle"}
    url = SELECT if body["hook"] == "order-select" else SIGN
    response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, (response.content[:500], json.dumps(body)[:2000])
    for card in response.json()["cards"]:
        assert len(card["summary"]) < 140
