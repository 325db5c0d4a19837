"""The order check names the product an order's codes name (issue 23): its label's indications
and routes, its notices, its name on the cards; an ingredient-only order names those it could be."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dosing import engine
from dosing.interop import fhir_in, service
from dosing.interop.schemas import Card, CdsRequest
from tests import cds_helpers as h

pytestmark = pytest.mark.django_db

NDC = fhir_in.NDC


def cards(rules: engine.Rules, order: dict[str, Any], **prefetch: Any) -> list[Card]:
    request = CdsRequest.model_validate(h.cds_request(order, h.prefetch(**prefetch)))
    ctx = service.Context(rules=rules, base_url="http://testserver", today=date.today())
    return service.check(request, ctx).cards


def order(codes: list[tuple[str, str]], **kwargs: Any) -> dict[str, Any]:
    resource = h.medication_request(**kwargs)
    resource["medicationCodeableConcept"] = {
        "coding": [{"system": system, "code": code} for system, code in codes]
    }
    return resource


def test_a_tyenne_syringe_order_is_checked_on_tyennes_label_and_named(rules: engine.Rules) -> None:
    found = cards(rules, order([(NDC, "65219-598-10")], route="sc", dose=162), weight=(70, "kg"))
    first = found[0]
    assert first.summary.startswith("TYENNE 162 mg matches the calculated 162 mg"), first.summary
    assert first.indicator == "info"
    assert service.md("TYENNE (tocilizumab-aazg, biosimilar), Fresenius Kabi USA") in first.detail
    assert first.source.label.startswith("TYENNE US label")
    assert not any("recall" in c.summary for c in found)  # the recall is for its IV products


def test_a_tyenne_intravenous_order_carries_the_recall_as_a_critical_card(rules: engine.Rules) -> None:  # fmt: skip
    found = cards(rules, order([(NDC, "65219-590-10")], dose=560), weight=(70, "kg"))
    recall = [c for c in found if "Class I recall D-0827-2026" in c.summary]
    assert len(recall) == 1
    assert recall[0].indicator == "critical"
    assert recall[0].summary.startswith("TYENNE: ")
    assert found[0].summary.startswith("TYENNE 560 mg")  # the dose card still leads


def test_a_tyenne_order_says_its_vial_strengths_are_not_confirmed(rules: engine.Rules) -> None:
    """TYENNE's vials are its own presentations, strengths OPEN (reference): the dose card names
    each vial drawn as not confirmed on its label, never ACTEMRA's as if confirmed."""
    found = cards(rules, order([(NDC, "65219-590-10")], dose=280), weight=(70, "kg"))
    assert found[0].summary == "TYENNE 280 mg matches the calculated 280 mg"
    for vial in ("80 mg/4 mL", "200 mg/10 mL"):  # 280 mg: 1 x 200 mg + 1 x 80 mg
        assert (
            f"TYENNE's label is not confirmed for the single-dose vial {vial} " in found[0].detail
        )
    assert "vial 400 mg/20 mL" not in found[0].detail  # not drawn, not flagged


def test_a_tofidence_order_is_prepared_with_its_labels_diluent_only(rules: engine.Rules) -> None:
    """The engine runs on the order's product: TOFIDENCE's label names 0.9% saline only, so its
    preparation card never offers ACTEMRA's 0.45% (nor its warnings another product's notices)."""
    found = cards(rules, order([(NDC, "64406-022-01")], dose=280), weight=(70, "kg"))
    preparation = next(c for c in found if "Dilute to 100 mL" in c.detail)
    assert "Dilute to 100 mL with 0.9% Sodium Chloride Injection." in preparation.detail
    assert "0.45%" not in preparation.detail
    assert "TOFIDENCE's manufacturer names only 0.9%" in found[0].detail
    assert "TYENNE" not in found[0].detail


@pytest.mark.parametrize(
    ("codes", "indication", "route", "summary"),
    [
        ([(h.RXNORM, "2680287")], "ra", "sc", "TOFIDENCE subcutaneous is not labelled for"),
        ([(NDC, "64406-022-01")], "crs", "iv", "TOFIDENCE intravenous is not labelled for"),
        ([(NDC, "72606-045-01")], "ssc-ild", "sc", "AVTOZMA subcutaneous is not labelled for"),
    ],
)
def test_an_order_for_a_use_its_products_label_lacks_gets_no_dose(
    rules: engine.Rules, codes: list[tuple[str, str]], indication: str, route: str, summary: str
) -> None:
    found = cards(rules, order(codes, indication=indication, route=route, dose=162))
    assert found[0].indicator == "critical"
    assert found[0].summary.startswith(summary), found[0].summary
    assert not any("matches" in c.summary or "calculated" in c.summary for c in found)


def test_the_lacking_use_says_what_the_label_does_carry(rules: engine.Rules) -> None:
    found = cards(rules, order([(h.RXNORM, "2680287")], route="sc", dose=162))
    assert "its label gives intravenous" in found[0].summary
    none = cards(rules, order([(NDC, "72606-045-01")], indication="ssc-ild", route="sc", dose=162))
    assert "its label does not carry it" in none[0].summary


def test_an_open_use_is_never_a_plain_match(rules: engine.Rules) -> None:
    # TYENNE's label for subcutaneous PJIA is OPEN in the reference: offered, flagged.
    pjia = order([(NDC, "65219-598-10")], indication="pjia", route="sc", dose=162)
    found = cards(rules, pjia, weight=(40, "kg"), age_years=12)
    first = found[0]
    assert first.indicator != "info"
    assert "TYENNE" in first.summary


def test_an_ingredient_order_names_the_products_it_could_be(rules: engine.Rules) -> None:
    found = cards(rules, h.medication_request(dose=280), weight=(70, "kg"))
    first = found[0]
    assert first.summary.startswith("Tocilizumab 280 mg matches")  # as before products
    assert first.indicator == "info"
    for name in ("ACTEMRA (tocilizumab)", "TOFIDENCE (tocilizumab-bavi, biosimilar)",
                 "TYENNE (tocilizumab-aazg, biosimilar)", "AVTOZMA (tocilizumab-anoh, biosimilar)"):  # fmt: skip
        assert service.md(name) in first.detail
    assert first.source.label.startswith("ACTEMRA US label")


def test_an_ingredient_order_for_ssc_ild_could_only_be_actemra(rules: engine.Rules) -> None:
    ssc = h.medication_request(indication="ssc-ild", route="sc", dose=162)
    first = cards(rules, ssc, weight=(70, "kg"))[0]
    assert service.md("it could be ACTEMRA (tocilizumab).") in first.detail
    assert "TYENNE" not in first.detail


def test_codes_naming_two_products_ask_which_and_give_no_dose(rules: engine.Rules) -> None:
    both = order([(NDC, "65219-598-10"), (NDC, "72606-045-01")], route="sc", dose=162)
    found = cards(rules, both)
    assert found[0].summary == "Tocilizumab order names several products (TYENNE, AVTOZMA): keep one"  # fmt: skip
    assert not any("calculated" in c.summary for c in found)


def test_a_product_ndc_names_its_packages_and_no_other_product(rules: engine.Rules) -> None:
    rule = next(c for c in rules.ehr.codes if c.code == "65219-590")
    assert fhir_in.code_matches(NDC, "65219-590-10", rule)
    assert fhir_in.code_matches(NDC, "65219-590", rule)
    assert not fhir_in.code_matches(NDC, "65219-5901-01", rule)
    assert not fhir_in.code_matches(h.RXNORM, "65219-590-10", rule)


def test_an_ndc_no_product_has_is_not_a_tocilizumab_order(rules: engine.Rules) -> None:
    assert cards(rules, order([(NDC, "65219-5901-01")], dose=560)) == []


def test_the_prefetch_asks_for_earlier_orders_of_every_product(rules: engine.Rules) -> None:
    from dosing.interop import api

    query = api.prefetch(rules)["tocilizumabOrders"]
    assert f"{h.RXNORM}|612865" in query
    assert f"{NDC}|65219-598-10" in query
    assert f"{h.RXNORM}|2680287" in query


# FHIR: a MedicationKnowledge per product


def knowledge(client: Any) -> dict[str, dict[str, Any]]:
    from fhir.resources.bundle import Bundle

    body = client.get("/fhir/MedicationKnowledge").json()
    Bundle.model_validate(body)
    return {e["resource"]["id"].rsplit("-v", 1)[0]: e["resource"] for e in body["entry"]}


def test_fhir_has_one_medication_knowledge_per_product(client: Any, rules: engine.Rules) -> None:
    found = knowledge(client)
    assert list(found) == [p.slug for p in rules.products]
    assert found["actemra"]["code"]["text"] == "tocilizumab (ACTEMRA)"
    assert found["tyenne"]["code"]["text"] == "tocilizumab-aazg (TYENNE, biosimilar)"
    tyenne_codes = {c["code"] for c in found["tyenne"]["code"]["coding"]}
    assert "65219-598-10" in tyenne_codes
    assert "612865" not in tyenne_codes
    related = found["avtozma"]["relatedMedicationKnowledge"][0]
    assert related["reference"][0]["reference"] == f"MedicationKnowledge/actemra-v{rules.content_version}"  # fmt: skip
    assert "interchangeability not confirmed" in related["type"]["text"]
    assert "relatedMedicationKnowledge" not in found["actemra"]


def test_each_medication_knowledge_carries_only_its_labels_uses(client: Any) -> None:
    found = knowledge(client)
    names = {g["indication"][0]["concept"]["text"] for g in found["tofidence"]["indicationGuideline"]}  # fmt: skip
    actemra = {g["indication"][0]["concept"]["text"] for g in found["actemra"]["indicationGuideline"]}  # fmt: skip
    assert len(actemra) == 7
    assert len(names) == 5  # no SSc-ILD, no CRS
    routes = {
        d["route"]["coding"][0]["code"]
        for g in found["tofidence"]["indicationGuideline"]
        for dg in g["dosingGuideline"]
        for d in dg["dosage"][0]["dosage"]
    }
    assert routes == {"47625008"}  # intravenous only
    assert all("ACTPen" not in p["name"] for p in found["tofidence"]["contained"])
    assert all(
        "subcutaneous" not in p["description"].lower() for p in found["tofidence"]["contained"]
    )
    assert any("subcutaneous" in p["description"].lower() for p in found["tyenne"]["contained"])
    # Each product's own presentations: TYENNE's vial strengths are OPEN, no biosimilar ACTPen.
    vials = [p for p in found["tyenne"]["contained"] if "vial" in p["name"]]
    assert len(vials) == 3
    assert all("not confirmed on TYENNE's label (OPEN)" in p["description"] for p in vials)
    assert all("ACTPen" not in p["name"] for p in found["avtozma"]["contained"])
    assert any("ACTPen" in p["name"] for p in found["actemra"]["contained"])
    texts = [
        d["text"]
        for g in found["tyenne"]["indicationGuideline"]
        for dg in g["dosingGuideline"]
        for d in dg["dosage"][0]["dosage"]
        if d["route"]["coding"][0]["code"] == "34206005"
        and "juvenile" in g["indication"][0]["concept"]["text"].lower()  # fmt: skip
    ]
    assert texts
    assert all("not confirmed (OPEN)" in t for t in texts)


def test_each_product_is_read_by_its_id_and_an_old_id_is_404(client: Any, rules: engine.Rules) -> None:  # fmt: skip
    for product in rules.products:
        one = client.get(f"/fhir/MedicationKnowledge/{product.slug}-v{rules.content_version}")
        assert one.status_code == 200
        assert one.json()["id"] == f"{product.slug}-v{rules.content_version}"
    assert client.get("/fhir/MedicationKnowledge/tyenne-v0").status_code == 404
