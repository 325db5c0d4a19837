"""Issue 21, class by class: every FHIR shape the reader handles, every limit the label sets,
the specification's edges and the card Markdown. Each test names the request that shows it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from markdown_it import MarkdownIt

from dosing import engine
from dosing.interop import service
from dosing.interop.schemas import CdsRequest
from tests import cds_helpers as h
from tests.conftest import publish_draft
from tests.test_interop import SIGN, call, cards, key, plain  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
V3 = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
NCI = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"


def sign(call: Callable[..., Any], order: dict[str, Any], data: dict[str, Any] | None = None, **prefetch: Any) -> list[dict[str, Any]]:  # noqa: F811  # fmt: skip
    return cards(call(SIGN, h.cds_request(order, data if data is not None else h.prefetch(**prefetch))))  # fmt: skip


def dosed(value: float, unit: str, **kwargs: Any) -> dict[str, Any]:
    order = h.medication_request(**kwargs)
    order["dosageInstruction"][0]["doseAndRate"] = [
        {"doseQuantity": {"value": value, "unit": unit}}
    ]
    return order


def lab(loinc: str, value: float, unit: str, comparator: str | None = None, high: float | None = None) -> dict[str, Any]:  # fmt: skip
    resource = h.observation(loinc, value, unit, high=high)
    if comparator:
        resource["valueQuantity"]["comparator"] = comparator
    return h.searchset(resource)


# 1. Shapes FHIR R4 and the CDS Hooks examples allow


def test_a_draft_orders_bundle_without_type_is_read_as_a_collection(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    request = h.cds_request(h.medication_request(dose=560), h.prefetch(on_therapy=True))
    del request["context"]["draftOrders"]["type"]
    found = cards(call(SIGN, request))
    assert "matches the calculated 560 mg" in found[0]["summary"]


def test_reason_code_and_category_as_single_objects_are_read(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    order = h.medication_request(dose=560)
    order["reasonCode"] = order["reasonCode"][0]  # one CodeableConcept, not a list
    order["category"] = {"coding": [{"code": "outpatient"}]}
    assert "matches the calculated 560 mg" in sign(call, order, on_therapy=True)[0]["summary"]


def test_snomed_rheumatoid_arthritis_by_urn_uuid_reference_is_ra(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    order = h.medication_request(indication=None, dose=560)
    order["reasonReference"] = [{"reference": "urn:uuid:6c1f0d1e-0000-4000-8000-000000000001"}]
    data = h.prefetch(on_therapy=True)
    condition = {"resourceType": "Condition", "id": "c1", "code": {"coding": [{"system": h.SNOMED, "code": "69896004"}]}}  # fmt: skip
    data["conditions"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"fullUrl": "urn:uuid:6c1f0d1e-0000-4000-8000-000000000001", "resource": condition}]}  # fmt: skip
    found = sign(call, order, data)
    assert "matches the calculated 560 mg" in found[0]["summary"]
    assert "Rheumatoid arthritis" in plain(found[0]["detail"])


@pytest.mark.parametrize("code", ["M06.1", "M061", "M06.10"])
def test_adult_onset_stills_disease_is_not_rheumatoid_arthritis(call: Callable[..., Any], code: str) -> None:  # noqa: F811  # fmt: skip
    found = sign(call, h.medication_request(reason_code=code, dose=560))
    assert [c["summary"] for c in found] == ["Tocilizumab order: no approved indication among its reasons"]  # fmt: skip


@pytest.mark.parametrize("where", ["contained", "prefetch"])
def test_medication_reference_is_read(call: Callable[..., Any], where: str) -> None:  # noqa: F811
    order = h.medication_request(dose=900)
    coded = order.pop("medicationCodeableConcept")
    medication = {"resourceType": "Medication", "id": "m1", "code": coded}
    data = h.prefetch()
    if where == "contained":
        order["contained"] = [medication]
        order["medicationReference"] = {"reference": "#m1"}
    else:
        data["medications"] = h.searchset(medication)
        order["medicationReference"] = {"reference": "Medication/m1"}
    assert sign(call, order, data)[0]["indicator"] == "critical"


def test_an_unresolved_medication_reference_is_named(call: Callable[..., Any]) -> None:  # noqa: F811
    order = h.medication_request(dose=900)
    del order["medicationCodeableConcept"]
    order["medicationReference"] = {"reference": "Medication/elsewhere"}
    found = sign(call, order)
    assert [c["indicator"] for c in found] == ["warning"]
    assert "medicationReference" in found[0]["summary"]


def test_a_second_dosage_instruction_of_2800_mg_is_critical(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    order = h.medication_request(dose=560)
    second = copy.deepcopy(order["dosageInstruction"][0])
    second["doseAndRate"][0]["doseQuantity"]["value"] = 2800
    order["dosageInstruction"].append(second)
    found = sign(call, order, on_therapy=True)
    assert found[0]["indicator"] == "critical"
    assert "2,800 mg exceeds" in found[0]["summary"]


def test_every_dose_and_rate_is_read_and_a_range_on_its_high_end(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    order = h.medication_request(dose=560)
    order["dosageInstruction"][0]["doseAndRate"].append({"doseRange": {"low": {"value": 500, "code": "mg"}, "high": {"value": 900, "code": "mg"}}})  # fmt: skip
    assert "900 mg exceeds" in sign(call, order, on_therapy=True)[0]["summary"]


@pytest.mark.parametrize(
    ("value", "unit", "indicator", "words"),
    [
        (0.56, "g", "info", "560 mg matches"),
        (560000, "ug", "info", "560 mg matches"),
        (560000, "mcg", "info", "560 mg matches"),
        (560, "milligram", "info", "560 mg matches"),
        (0.56, "grams", "info", "560 mg matches"),
        (11.2, "g", "critical", "11,200 mg exceeds"),  # 20-fold: critical, never a unit warning
        (8, "mg/kg", "info", "560 mg matches"),
        (0.008, "g/kg", "info", "560 mg matches"),
        (28, "mL", "warning", "was not read"),  # not a mass: unknown, never guessed
    ],
)
def test_dose_units_convert_or_are_named(
    call: Callable[..., Any],  # noqa: F811
    value: float,
    unit: str,
    indicator: str,
    words: str,
) -> None:
    found = sign(call, dosed(value, unit), on_therapy=True)
    assert found[0]["indicator"] == indicator
    assert words in found[0]["summary"]


@pytest.mark.parametrize(
    ("system", "code", "route"),
    [
        (V3, "IVINFUS", "iv"),
        (V3, "IV", "iv"),
        (V3, "SQ", "sc"),
        (NCI, "C38276", "iv"),
        (NCI, "C38299", "sc"),
    ],  # fmt: skip
)
def test_route_codes_of_hl7_v3_and_nci_are_read(call: Callable[..., Any], system: str, code: str, route: str) -> None:  # noqa: F811  # fmt: skip
    order = h.medication_request(dose=560 if route == "iv" else 162, route=route)
    order["dosageInstruction"][0]["route"] = {"coding": [{"system": system, "code": code}]}
    found = sign(call, order, on_therapy=True)
    assert "matches the calculated" in found[0]["summary"]


def test_an_unknown_route_code_is_named(call: Callable[..., Any]) -> None:  # noqa: F811
    order = h.medication_request(dose=560)
    order["dosageInstruction"][0]["route"] = {"coding": [{"system": V3, "code": "PO"}]}
    found = sign(call, order, on_therapy=True)
    assert found[0]["summary"] == "Tocilizumab order: no intravenous or subcutaneous route read"
    assert "PO" in plain(found[0]["detail"])


def _weights(*observations: dict[str, Any]) -> dict[str, Any]:
    data = h.prefetch(on_therapy=True)
    data["weight"] = h.searchset(*observations)
    return data


def _weight(value: float, *, unit: str = "kg", status: str = "final", **when: Any) -> dict[str, Any]:  # fmt: skip
    resource = h.observation("29463-7", value, unit)
    del resource["effectiveDateTime"]
    resource.update(status=status, **when)
    return resource


@pytest.mark.parametrize(
    "newer",
    [
        {"effectivePeriod": {"start": "2026-11-01", "end": "2026-11-02"}},
        {"effectivePeriod": {"start": "2026-11-01"}},
        {"effectiveInstant": "2026-11-02T10:00:00Z"},
        {"issued": "2026-11-02T10:00:00.123+01:00"},
        {"effectiveDateTime": "2026-11"},
    ],
)
def test_every_effective_date_shape_dates_a_result(call: Callable[..., Any], newer: dict[str, Any]) -> None:  # noqa: F811  # fmt: skip
    data = _weights(_weight(50, effectiveDateTime="2015-03-01"), _weight(70, **newer))
    assert "matches the calculated 560 mg" in sign(call, h.medication_request(dose=560), data)[0]["summary"]  # fmt: skip


def test_a_future_dated_result_is_not_the_latest(call: Callable[..., Any]) -> None:  # noqa: F811
    data = _weights(_weight(70, effectiveDateTime="2026-11-01"), _weight(50, effectiveDateTime="2099-01-01"))  # fmt: skip
    assert "matches the calculated 560 mg" in sign(call, h.medication_request(dose=560), data)[0]["summary"]  # fmt: skip


def test_statuses_final_amended_corrected_only_and_preliminary_named(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    data = _weights(
        _weight(70, status="amended", effectiveDateTime="2026-11-01"),
        _weight(50, status="preliminary", effectiveDateTime="2026-11-20"),  # newer, not final
        _weight(40, status="entered-in-error", effectiveDateTime="2026-11-25"),
        _weight(45, status="registered", effectiveDateTime="2026-11-26"),
    )
    found = sign(call, h.medication_request(dose=560), data)
    assert "matches the calculated 560 mg" in found[0]["summary"]
    only = _weights(_weight(70, status="preliminary", effectiveDateTime="2026-11-20"))
    named = sign(call, h.medication_request(dose=560), only)
    assert any(c["summary"].startswith("Weight: only a preliminary result") for c in named)
    assert named[0]["indicator"] == "warning"  # matches, but not confirmed


@pytest.mark.parametrize("unit", ["kilogram", "kilograms", "KG"])
def test_weight_unit_words_are_read(call: Callable[..., Any], unit: str) -> None:  # noqa: F811
    data = _weights(_weight(70, unit=unit, effectiveDateTime="2026-11-01"))
    assert "matches the calculated 560 mg" in sign(call, h.medication_request(dose=560), data)[0]["summary"]  # fmt: skip


@pytest.mark.parametrize(
    ("born", "status"),
    [("2025", 200), ("1970-06", 200), ("1970-06-15", 200), ("2026-11", 200)],
)
def test_partial_birth_dates_never_500(call: Callable[..., Any], born: str, status: int) -> None:  # noqa: F811  # fmt: skip
    data = h.prefetch(on_therapy=True)
    data["patient"]["birthDate"] = born
    assert call(SIGN, h.cds_request(h.medication_request(dose=560), data)).status_code == status


def test_a_birth_year_straddling_an_age_limit_asks_for_the_age(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    data = h.prefetch(weight=(12, "kg"), on_therapy=True)
    data["patient"]["birthDate"] = str(date.today().year - 2)  # 1 or 2 years old: PJIA starts at 2
    found = sign(call, h.medication_request(indication="pjia", dose=120), data)
    assert found[0]["indicator"] == "critical"
    assert found[0]["summary"].startswith(f"Birth date {date.today().year - 2}: enter the exact value")  # fmt: skip
    grown = h.prefetch(weight=(60, "kg"), on_therapy=True)
    grown["patient"]["birthDate"] = str(date.today().year - 40)  # 39 or 40: no limit between
    assert "matches" in sign(call, h.medication_request(indication="pjia", dose=8, unit="mg/kg"), grown)[0]["summary"]  # fmt: skip


def test_no_patient_in_the_prefetch_is_named(call: Callable[..., Any]) -> None:  # noqa: F811
    data = h.prefetch(on_therapy=True)
    data["patient"] = None  # the specification: no data for that query
    found = sign(call, h.medication_request(dose=560), data)
    assert any(c["summary"].startswith("No birth date in the record") for c in found)
    assert found[0]["indicator"] == "warning"


# Comparators on the unsafe side


@pytest.mark.parametrize(
    (
        "indication",
        "prefetch_key",
        "loinc",
        "value",
        "unit",
        "comparator",
        "high",
        "on",
        "expected",
    ),
    [
        ("covid-19", "neutrophils", "751-8", 1000, "/uL", "<", None, False, "Not recommended"),
        ("ra", "neutrophils", "751-8", 500, "/uL", "<", None, True, "Discontinue"),
        ("ra", "platelets", "777-3", 50000, "/uL", "<", None, True, "Discontinue"),
        ("ra", "platelets", "777-3", 50, "10*3/uL", "<", None, True, "Discontinue"),
        ("ra", "alt", "1742-6", 60, "U/L", ">", 40, False, "Not recommended"),  # > 1.5 × ULN
        ("ra", "alt", "1742-6", 200, "U/L", ">", 40, True, "Discontinue"),  # > 5 × ULN
    ],
)
def test_a_comparator_is_read_on_its_unsafe_side(
    call: Callable[..., Any],  # noqa: F811
    indication: str,
    prefetch_key: str,
    loinc: str,
    value: float,
    unit: str,
    comparator: str,
    high: float | None,
    on: bool,
    expected: str,
) -> None:
    data = h.prefetch(on_therapy=on)
    data[prefetch_key] = lab(loinc, value, unit, comparator, high)
    dose = 8 if indication == "covid-19" else (4 if not on else 8)
    found = sign(call, h.medication_request(indication=indication, dose=dose, unit="mg/kg"), data)
    assert found[0]["indicator"] == "critical"
    assert found[0]["summary"].startswith(expected), found[0]["summary"]


def test_a_bound_that_does_not_decide_asks_for_the_value(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    data = h.prefetch(on_therapy=True)
    data["neutrophils"] = lab("751-8", 1000, "/uL", "<")  # hold (500-1000) or discontinue (<500)
    found = sign(call, h.medication_request(dose=560), data)
    assert found[0]["indicator"] == "critical"
    assert found[0]["summary"].startswith("ANC <1,000 /uL: enter the exact value")
    safe = h.prefetch(on_therapy=True)
    safe["neutrophils"] = lab("751-8", 5000, "/uL", ">")  # above every threshold: decided
    assert "matches the calculated 560 mg" in sign(call, h.medication_request(dose=560), safe)[0]["summary"]  # fmt: skip


# 2. Everything the label limits


def test_weekly_sc_at_initiation_below_100_kg_is_flagged(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    order = h.medication_request(route="sc", dose=162)
    order["dosageInstruction"][0]["timing"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "wk"}}  # fmt: skip
    found = sign(call, order, on_therapy=False)
    assert found[0]["indicator"] == "warning"
    assert "Ordered every 7 days: more often than the label's every 2 weeks (the step a new patient starts on)" in plain(found[0]["detail"])  # fmt: skip
    assert sign(call, order, on_therapy=True)[0]["indicator"] == "info"  # weekly after response


def _repeated(indication: str, *, period: float = 8, unit: str = "h", count: int | None = None) -> dict[str, Any]:  # fmt: skip
    order = h.medication_request(indication=indication, dose=8, unit="mg/kg")
    repeat: dict[str, Any] = {"frequency": 1, "period": period, "periodUnit": unit}
    if count is not None:
        repeat["count"] = count
    order["dosageInstruction"][0]["timing"] = {"repeat": repeat}
    return order


@pytest.mark.parametrize(
    ("order", "words"),
    [
        (_repeated("crs", period=4), "doses every 4 h: the label's are at least 8 hours apart"),
        (_repeated("crs", count=6), "6 doses: the label allows at most 4"),
        (_repeated("covid-19", count=3), "3 doses: the label allows at most 2"),
    ],
    ids=["crs-every-4-h", "crs-6-doses", "covid-3-infusions"],
)
def test_crs_and_covid_repeat_limits_are_critical(call: Callable[..., Any], order: dict[str, Any], words: str) -> None:  # noqa: F811  # fmt: skip
    found = sign(call, order)
    assert found[0]["indicator"] == "critical"
    assert words in plain(found[0]["summary"] + found[0]["detail"])
    assert sign(call, _repeated("crs", count=4))[0]["indicator"] == "info"


def test_doses_already_given_count_towards_the_covid_limit(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    data = h.prefetch()
    given = []
    for number in (1, 2):
        earlier = h.medication_request(indication="covid-19", ident=f"earlier-{number}", dose=8, unit="mg/kg")  # fmt: skip
        earlier["status"] = "completed"
        given.append(earlier)
    data["tocilizumabOrders"] = h.searchset(given[0])
    assert sign(call, _repeated("covid-19"), data)[0]["indicator"] == "info"  # the second infusion
    data["tocilizumabOrders"] = h.searchset(*given)
    found = sign(call, _repeated("covid-19"), data)
    assert found[0]["indicator"] == "critical"
    assert "3 doses (2 already in the record): the label allows at most 2" in found[0]["summary"]


@pytest.mark.parametrize(
    ("indication", "route", "approved"),
    [
        ("crs", "sc", "intravenous"),
        ("covid-19", "sc", "intravenous"),
        ("ssc-ild", "iv", "subcutaneous"),
    ],  # fmt: skip
)
def test_a_route_the_label_does_not_approve_is_critical(call: Callable[..., Any], indication: str, route: str, approved: str) -> None:  # noqa: F811  # fmt: skip
    found = sign(call, h.medication_request(indication=indication, route=route, dose=162))
    assert found[0]["indicator"] == "critical"
    assert found[0]["summary"].endswith(f"the label gives {approved}")
    assert "not checked" not in found[0]["summary"]


def test_a_dose_no_bag_can_hold_is_critical_with_no_preparation_card(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    found = sign(call, h.medication_request(indication="sjia", dose=2080), weight=(260, "kg"), age_years=15)  # fmt: skip
    assert found[0]["indicator"] == "critical"
    assert found[0]["summary"].startswith("Not recommended: do not give: 2,080 mg (104 mL of drug) does not fit a 100 mL bag")  # fmt: skip
    assert not any(c["summary"].startswith("Prepare") for c in found)
    assert not found[0].get("suggestions")


def test_an_order_of_the_labels_mg_per_kg_is_never_flagged_on_any_weight(rules: engine.Rules) -> None:  # fmt: skip
    """8 mg/kg at 500 weights in lb (the shown weight is rounded; the engine doses the exact one)."""
    ctx = service.Context(rules=rules, base_url="http://testserver", today=date.today())
    flagged = []
    for tenth in range(1100, 1600):
        pounds = Decimal(tenth) / 10 + Decimal("0.07")
        data = h.prefetch(weight=(float(pounds), "[lb_av]"), on_therapy=True)
        request = CdsRequest.model_validate(h.cds_request(h.medication_request(dose=8, unit="mg/kg"), data))  # fmt: skip
        first = service.check(request, ctx).cards[0]
        if first.indicator != "info":
            flagged.append((pounds, first.summary))
    assert flagged == []


# 3. The specification's edges


def test_required_prefetch_missing_is_412(call: Callable[..., Any]) -> None:  # noqa: F811
    response = call(SIGN, h.cds_request(h.medication_request(dose=560), {}))
    assert response.status_code == 412
    assert "patient, weight" in response.json()["detail"]
    other_drug = call(SIGN, h.cds_request(h.medication_request(rxnorm="1191", dose=5), {}))
    assert other_drug.status_code == 200  # nothing to check, nothing needed


def test_an_operation_outcome_in_a_prefetch_key_is_that_data_missing(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    data = h.prefetch(on_therapy=True)
    data["weight"] = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout", "diagnostics": "query timed out"}]}  # fmt: skip
    found = sign(call, h.medication_request(dose=560), data)
    assert [c["summary"] for c in found] == [
        "The EHR could not prefetch weight: treated as missing"
    ]
    assert "query timed out" in plain(found[0]["detail"])


def test_a_request_without_draft_orders_is_a_400_naming_the_field(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    request = h.cds_request(h.medication_request(dose=560), h.prefetch())
    del request["context"]["draftOrders"]
    response = call(SIGN, request)
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["context", "draftOrders"]


@pytest.mark.parametrize("length", [138, 139, 140, 141, 200])
def test_summaries_are_under_140_characters_and_cut_at_a_word(length: int) -> None:
    words = ("tocilizumab " * 30)[:length].strip()
    fitted = service.fit(words)
    assert len(fitted) < 140
    assert fitted == words or (fitted.endswith("…") and words.startswith(fitted[:-1]) and words[len(fitted) - 1] == " ")  # fmt: skip


def test_cards_link_to_the_label_section(call: Callable[..., Any]) -> None:  # noqa: F811
    found = sign(call, h.medication_request(dose=900), on_therapy=True)
    link = found[0]["links"][0]
    assert link["type"] == "absolute"
    assert link["url"].startswith("http://testserver/monograph/#")
    assert link["url"] == found[0]["source"]["url"]


@pytest.mark.parametrize(
    "item",
    [
        {"card": "c1", "outcome": "accepted", "outcomeTimestamp": "2026-11-25T18:00:00Z"},  # no ids
        {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "yesterday"},
        {"card": "c1", "outcome": "ignored", "outcomeTimestamp": "2026-11-25T18:00:00Z"},
        {
            "card": "c1",
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-25T18:00:00Z",
            "overrideReason": {"reason": {"code": 1}},
        },  # fmt: skip
    ],
)
def test_feedback_is_validated(call: Callable[..., Any], item: dict[str, Any]) -> None:  # noqa: F811
    assert call(f"{SIGN}/feedback", {"feedback": [item]}).status_code == 422


# 4. Markdown from escaped text


def _rendered(found: list[dict[str, Any]]) -> str:
    return "".join(MarkdownIt("commonmark").enable("table").render(c.get("detail") or "") for c in found)  # fmt: skip


def test_content_and_ehr_text_cannot_add_links_images_or_html(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    hostile = "[click](javascript:alert(1)) ![x](https://evil.example/x.png) <img src=x onerror=alert(1)> https://evil.example www.evil.example"  # fmt: skip
    from dosing.models import Indication

    indication = Indication.objects.get(slug="ra")
    indication.name = f"Rheumatoid arthritis {hostile}"
    indication.save()
    publish_draft("Hostile wording (test)")
    data = h.prefetch(labs={"alt_x_uln": 2}, on_therapy=True)
    data["weight"]["entry"][0]["resource"]["valueQuantity"]["unit"] = f"kg {hostile}"
    found = sign(call, h.medication_request(dose=900), data)
    html = _rendered(found)
    for tag in ("<a ", "<img", "<script"):
        assert tag not in html
    assert "javascript:alert" in html  # said as text, not dropped


# 5. The request read once


def test_one_order_sign_reads_each_resource_once(rules: engine.Rules, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from dosing.interop import fhir_in

    counted = h.count_calls(monkeypatch, fhir_in, "read_order", "read_record")
    data = h.prefetch(labs={"anc_per_mm3": 3000, "platelets_per_mm3": 200000, "alt_x_uln": 1, "ast_x_uln": 1}, on_therapy=True)  # fmt: skip
    request = CdsRequest.model_validate(h.cds_request(h.medication_request(dose=560), data))
    ctx = service.Context(rules=rules, base_url="http://testserver", today=date.today())
    service.check(request, ctx)
    assert counted == {"read_order": 2, "read_record": 1}  # the draft and the one earlier order
    assert json.dumps(request.prefetch)  # the request itself untouched
