"""The products (issue 23 items 2 and 4): ACTEMRA and its three US biosimilars as content, from
shared/reference/tocilizumab-products.md, reviewed and published like every content row."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from dosing import content, engine, publishing
from dosing.models import (
    Code,
    Indication,
    Product,
    ProductNotice,
    ProductPresentation,
    ProductRoute,
)
from tests.conftest import edit

pytestmark = pytest.mark.django_db

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NDC = "http://hl7.org/fhir/sid/ndc"


def offered(slug: str) -> set[tuple[str, str]]:
    product = content.current_rules().product(slug)
    assert product is not None
    return {(r.indication, r.route.value) for r in product.routes}


def test_the_four_products_are_published_with_their_names() -> None:
    products = content.current_rules().products
    assert [(p.slug, p.brand_name, p.nonproprietary_name, p.biosimilar) for p in products] == [
        ("actemra", "ACTEMRA", "tocilizumab", False),
        ("tofidence", "TOFIDENCE", "tocilizumab-bavi", True),
        ("tyenne", "TYENNE", "tocilizumab-aazg", True),
        ("avtozma", "AVTOZMA", "tocilizumab-anoh", True),
    ]


def test_actemra_carries_the_drug_rows_label() -> None:
    actemra = content.current_rules().product("actemra")
    monograph = content.current_snapshot().monograph
    assert actemra is not None
    assert (actemra.label_name, actemra.label_url, actemra.label_revision) == (
        monograph["label_name"],
        monograph["label_url"],
        monograph["label_revision"],
    )
    assert (actemra.holder, actemra.bla) == ("Genentech", "125276")


def test_actemra_offers_every_indication_and_route_it_has_a_dose_for() -> None:
    rules = content.current_rules()
    assert offered("actemra") == {(r.indication, r.route.value) for r in rules.dose_rules}


@pytest.mark.parametrize(
    ("product", "indication", "route"),
    [
        ("tofidence", "ra", "sc"),
        ("tofidence", "gca", "sc"),
        ("tofidence", "pjia", "sc"),
        ("tofidence", "crs", "iv"),
        ("tofidence", "ssc-ild", "sc"),
        ("tyenne", "ssc-ild", "sc"),
        ("avtozma", "ssc-ild", "sc"),
    ],
)
def test_what_a_products_label_lacks_is_not_offered(
    product: str, indication: str, route: str
) -> None:
    assert (indication, route) not in offered(product)


def test_tofidence_is_intravenous_only() -> None:
    assert {route for _, route in offered("tofidence")} == {"iv"}


@pytest.mark.parametrize(
    ("product", "indication", "route", "evidence"),
    [
        ("tofidence", "ra", "iv", "PI"),
        ("tofidence", "gca", "iv", "2nd"),
        ("tofidence", "covid-19", "iv", "2nd"),
        ("tyenne", "pjia", "sc", "OPEN"),
        ("tyenne", "sjia", "iv", "2nd"),
        ("tyenne", "sjia", "sc", "OPEN"),
        ("tyenne", "crs", "iv", "PI"),
        ("avtozma", "ra", "sc", "2nd"),
        ("avtozma", "pjia", "sc", "OPEN"),
        ("actemra", "sjia", "iv", "PI-old"),
        ("actemra", "sjia", "sc", "2nd"),
        ("actemra", "crs", "iv", "PI-old"),
    ],
)
def test_each_route_carries_the_references_grade(
    product: str, indication: str, route: str, evidence: str
) -> None:
    rule = content.current_rules().product(product)
    assert rule is not None
    found = rule.offers(indication, route)
    assert found is not None
    assert found.source.evidence == evidence
    assert found.source.needs_review == (evidence == "OPEN")


def test_every_open_row_is_flagged_for_review() -> None:
    for model in (Product, ProductRoute, ProductNotice):
        assert not model.objects.filter(evidence="OPEN", needs_review=False).exists()
    # Interchangeability is OPEN for every biosimilar: each is flagged.
    assert set(Product.objects.filter(biosimilar=True).values_list("needs_review", flat=True)) == {
        True
    }


def test_tofidence_names_only_normal_saline() -> None:
    rules = content.current_rules()
    tofidence, tyenne = rules.product("tofidence"), rules.product("tyenne")
    assert tofidence is not None
    assert tyenne is not None
    assert tofidence.diluents == "0.9% Sodium Chloride Injection"
    assert "0.45%" not in tofidence.diluents
    # Not read in TYENNE's label: the drug's preparation's, with an OPEN notice beside it.
    assert tyenne.diluents == rules.preparation.diluents
    assert "tyenne-preparation-open" in {n.code for n in tyenne.notices}


def test_the_tyenne_recall_is_an_active_intravenous_notice() -> None:
    tyenne = content.current_rules().product("tyenne")
    assert tyenne is not None
    (recall,) = (n for n in tyenne.notices if n.code == "tyenne-recall-d-0827-2026")
    assert (recall.route, recall.severity, recall.active) == (
        engine.Route.IV,
        engine.Severity.DANGER,
        True,
    )
    for ndc in ("65219-590", "65219-592", "65219-594"):
        assert ndc in recall.text
    assert recall.source.evidence == "PI"
    assert recall.source.needs_review  # reason and lots OPEN


def test_drug_codes_name_their_product_and_the_ingredient_none() -> None:
    codes = {(c.system, c.code): c.product for c in content.current_rules().ehr.codes}
    assert codes[(RXNORM, "612865")] == ""  # tocilizumab, the ingredient: any product
    assert codes[(NDC, "64406-022-01")] == "tofidence"
    assert codes[(NDC, "65219-598-10")] == "tyenne"
    assert codes[(RXNORM, "2679431")] == "tyenne"
    assert codes[(RXNORM, "2680287")] == "tofidence"
    assert codes[(NDC, "72606-045-03")] == "avtozma"
    # The RxNorm term types are OPEN: said in the display, and flagged.
    row = Code.objects.get(system=RXNORM, code="2686045")
    assert "term type OPEN" in row.display
    assert row.needs_review


def test_only_drug_codes_name_a_product() -> None:
    row = Code.objects.filter(kind="indication").first()
    assert row is not None
    row.product = Product.objects.get(slug="tyenne")
    with pytest.raises(ValidationError, match="Only drug codes name a product"):
        row.full_clean()


def test_an_open_route_must_be_flagged() -> None:
    row = ProductRoute.objects.get(product__slug="tyenne", indication__slug="pjia", route="sc")
    row.needs_review = False
    with pytest.raises(ValidationError, match="OPEN evidence must be flagged"):
        row.full_clean()


# ---- review: the clinical diff and the integrity check ---------------------------------------


def test_lifting_the_recall_reads_as_a_change_to_its_notice(roles: dict) -> None:
    edit(ProductNotice.objects.get(code="tyenne-recall-d-0827-2026"), roles["editor"], active=False)
    assert publishing.review().changes == [
        "TYENNE notice “FDA Class I recall D-0827-2026”: shown yes → no."
    ]


def test_a_route_removed_from_a_product_is_named(roles: dict) -> None:
    row = ProductRoute.objects.get(product__slug="tyenne", indication__slug="pjia", route="sc")
    row._history_user = roles["editor"]
    row.delete()
    assert publishing.review().changes == [
        "Removed indication and route of a product: TYENNE: "
        "Polyarticular juvenile idiopathic arthritis, subcutaneous."
    ]


def test_a_products_label_change_is_named(roles: dict) -> None:
    edit(Product.objects.get(slug="avtozma"), roles["editor"], bla="761420")
    assert publishing.review().changes == [
        "product AVTOZMA (tocilizumab-anoh): BLA none → “761420”."
    ]


def test_a_product_offering_an_indication_without_a_dose_rule_is_refused(roles: dict) -> None:
    ProductRoute.objects.create(
        product=Product.objects.get(slug="tofidence"),
        indication=Indication.objects.get(slug="crs"),
        route="sc",
        label_section="1",
        evidence="OPEN",
        needs_review=True,
    )
    findings = publishing.read_draft().findings
    assert (
        "TOFIDENCE offers CAR T cell–induced cytokine release syndrome, subcutaneous, which has no dose rule: "
        "it cannot be calculated."
    ) in findings


def test_a_product_offering_a_route_it_comes_in_nothing_for_is_refused() -> None:
    ProductPresentation.objects.filter(product__slug="tyenne", presentation__route="sc").delete()
    findings = publishing.read_draft().findings
    assert (
        "TYENNE offers subcutaneous doses but comes in no available syringe or autoinjector: "
        "nothing could be prepared. Add its presentation (the product's presentations) or "
        "remove those routes."
    ) in findings


def test_an_available_presentation_no_product_comes_in_is_refused() -> None:
    from dosing.models import Drug, Presentation

    Presentation.objects.create(
        drug=Drug.objects.get(), route="iv", device="vial", strength_mg=160, volume_ml=8,
        label_section="3", evidence="OPEN", needs_review=True,
    )  # fmt: skip
    assert (
        "The single-dose vial 160 mg/8 mL is available but no product comes in it: add it to "
        "the products' presentations or untick 'available'."
    ) in publishing.read_draft().findings


def test_a_products_presentation_regraded_is_named(roles: dict) -> None:
    row = ProductPresentation.objects.get(
        product__slug="tyenne", presentation__route="iv", presentation__strength_mg=400
    )
    edit(row, roles["editor"], evidence="PI", needs_review=False)
    assert publishing.review().changes == [
        "TYENNE: Single-dose vial 400 mg: evidence “OPEN” → “PI”; flagged for review yes → no."
    ]


def test_a_presentation_of_another_drug_is_refused() -> None:
    row = ProductPresentation.objects.filter(product__slug="tyenne").first()
    assert row is not None
    row.presentation.drug_id = row.product.drug_id + 1  # as if another drug's row
    with pytest.raises(ValidationError, match="must be one of the product's drug"):
        row.clean()


@override_settings(DOSING_DEFAULT_PRODUCT="tyenne")
def test_a_site_default_that_is_a_product_passes() -> None:
    assert publishing.read_draft().findings == ()


def test_a_site_default_product_missing_from_the_draft_is_refused() -> None:
    with override_settings(DOSING_DEFAULT_PRODUCT="biosimilar-x"):
        (finding,) = publishing.read_draft().findings
    assert finding.startswith("The site's default product (biosimilar-x) is not in the draft")


# ---- admin -------------------------------------------------------------------------------------


def test_the_product_page_shows_its_routes_and_notices(staff_client: Any) -> None:
    tyenne = Product.objects.get(slug="tyenne")
    page = staff_client.get(f"/admin/dosing/product/{tyenne.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "FDA Class I recall D-0827-2026" in text
    assert 'name="routes-TOTAL_FORMS" value="10"' in text


# ---- the engine: input `product` (both engines share these through tests/vectors) ------------


def calc(rules: engine.Rules, **inputs: Any) -> engine.Result:
    from tests.conftest import inputs as make

    base = {"indication": "ra", "route": "iv", "weight": "70", "age_years": 50}
    return engine.calculate(make(**{**base, **inputs}), rules)


def test_no_product_named_is_actemra_exactly(rules: engine.Rules) -> None:
    named = calc(rules, product="actemra")
    assert calc(rules) == named
    assert named.product is not None
    assert (named.product.slug, named.product.biosimilar) == ("actemra", False)
    assert named.display["product"] == "ACTEMRA (tocilizumab)"
    assert named.chart_note.startswith("ACTEMRA (tocilizumab): 280 mg by intravenous infusion")


@pytest.mark.parametrize(
    ("product", "indication", "route", "message"),
    [
        ("tofidence", "ra", "sc", "TOFIDENCE (tocilizumab-bavi) is not offered for Rheumatoid "
         "arthritis, subcutaneous: its label has intravenous dosing for it only. Offered by: "
         "ACTEMRA, TYENNE, AVTOZMA."),
        ("tofidence", "crs", "iv", "TOFIDENCE (tocilizumab-bavi) is not offered for CAR T "
         "cell–induced cytokine release syndrome, intravenous: its label does not carry this "
         "indication. Offered by: ACTEMRA, TYENNE, AVTOZMA."),
        ("tyenne", "ssc-ild", "sc", "TYENNE (tocilizumab-aazg) is not offered for Systemic "
         "sclerosis–associated interstitial lung disease, subcutaneous: its label does not carry "
         "this indication. Offered by: ACTEMRA."),
    ],
)  # fmt: skip
def test_what_a_product_lacks_is_an_error_on_product(
    rules: engine.Rules, product: str, indication: str, route: str, message: str
) -> None:
    with pytest.raises(engine.InputError) as error:
        calc(rules, product=product, indication=indication, route=route, age_years=10)
    assert (error.value.field, error.value.message) == ("product", message)


def test_an_unknown_product_is_an_error_on_product(rules: engine.Rules) -> None:
    with pytest.raises(engine.InputError) as error:
        calc(rules, product="biosimilar-x")
    assert error.value.field == "product"
    assert error.value.message == (
        "Unknown product 'biosimilar-x'. Choose one of: actemra, tofidence, tyenne, avtozma."
    )


def test_an_open_route_is_offered_with_a_warning(rules: engine.Rules) -> None:
    result = calc(rules, product="tyenne", indication="pjia", route="sc", weight="25", age_years=8)
    assert result.action == engine.Action.GIVE
    (warning,) = (w for w in result.warnings if w.code == "product_route_open")
    assert warning.severity == engine.Severity.WARNING
    assert warning.message == (
        "TYENNE's label is not confirmed for Polyarticular juvenile idiopathic arthritis, "
        "subcutaneous (OPEN evidence): verify against its label."
    )
    assert warning.label_section == "1"


@pytest.mark.parametrize("product", ["tyenne", "avtozma"])
def test_a_biosimilar_autoinjector_is_never_an_actpen(rules: engine.Rules, product: str) -> None:
    result = calc(rules, product=product, route="sc")
    assert [d.label for d in result.devices] == [
        "Single-dose autoinjector",
        "Single-dose prefilled syringe",
    ]
    assert "ACTPen" not in result.chart_note
    assert not any("ACTPen" in step.text for step in result.preparation_steps)
    # Its device name is OPEN (reference): said beside the result.
    (warning,) = (w for w in result.warnings if w.code == "product_presentation_open")
    assert warning.message.startswith(
        f"{product.upper()}'s label is not confirmed for the single-dose autoinjector 162 mg/0.9 "
        "mL (2nd evidence)"
    )
    assert (warning.label_section, warning.anchor) == ("Presentations", f"product-{product}")


def test_actemras_autoinjector_is_its_actpen_unflagged(rules: engine.Rules) -> None:
    result = calc(rules, route="sc")
    assert result.devices[0].label == "Single-dose autoinjector (ACTPen)"
    assert not any(w.code == "product_presentation_open" for w in result.warnings)


def test_tyennes_vials_are_drawn_with_their_strength_flagged(rules: engine.Rules) -> None:
    # "Strength per NDC OPEN; assume the same three strengths only as OPEN": each vial drawn.
    result = calc(rules, product="tyenne", weight="70")
    assert [(v.strength_mg, v.count) for v in result.vials] == [(200, 1), (80, 1)]
    flagged = [w.message for w in result.warnings if w.code == "product_presentation_open"]
    # In the product's presentation order; the 400 mg vial is not drawn, so not flagged.
    assert flagged == [
        f"TYENNE's label is not confirmed for the single-dose vial {mg} mg/{ml} mL (OPEN "
        "evidence): check the carton against its label."
        for mg, ml in (("80", "4"), ("200", "10"))
    ]
    # AVTOZMA's and TOFIDENCE's vials are graded 2nd or PI: nothing to flag.
    for other in ("avtozma", "tofidence"):
        assert not any(
            w.code == "product_presentation_open" for w in calc(rules, product=other).warnings
        )


def test_a_product_without_its_own_rows_comes_in_the_drugs(rules: engine.Rules) -> None:
    """A format-4 snapshot's product (presentations None) is offered the drug's presentations."""
    drugs = dataclasses.replace(
        rules,
        products=tuple(dataclasses.replace(p, presentations=None) for p in rules.products),
    )
    result = calc(drugs, product="avtozma", route="sc")
    assert [d.label for d in result.devices] == [p.device_label for p in drugs.presentations if p.route == engine.Route.SC]  # fmt: skip


def test_the_recall_is_a_finding_on_tyenne_intravenous_only(rules: engine.Rules) -> None:
    iv = calc(rules, product="tyenne")
    assert iv.warnings[0].code == "product-tyenne-recall-d-0827-2026"  # danger first
    assert iv.warnings[0].severity == engine.Severity.DANGER
    assert "65219-590" in iv.chart_note
    sc = calc(rules, product="tyenne", route="sc")
    assert not [w for w in sc.warnings if w.code.startswith("product-tyenne-recall")]
    # The figures are ACTEMRA's: the recall is a finding, not a different dose.
    actemra = calc(rules)
    assert (iv.action, iv.dose_mg, iv.draw_ml, iv.bag_ml) == (
        actemra.action,
        actemra.dose_mg,
        actemra.draw_ml,
        actemra.bag_ml,
    )


def test_a_lifted_notice_is_no_finding(rules: engine.Rules) -> None:
    lifted = tuple(
        dataclasses.replace(
            p, notices=tuple(dataclasses.replace(n, active=False) for n in p.notices)
        )
        for p in rules.products
    )
    result = calc(dataclasses.replace(rules, products=lifted), product="tyenne")
    assert not [w for w in result.warnings if w.code.startswith("product-")]


def test_tofidence_is_prepared_in_normal_saline_only(rules: engine.Rules) -> None:
    result = calc(rules, product="tofidence")
    assert result.diluents == "0.9% Sodium Chloride Injection"
    assert result.display["bag"].endswith("with 0.9% Sodium Chloride Injection")
    assert {s.diluent for s in result.use_within} == {"0.9% Sodium Chloride Injection"}
    assert "0.45%" not in result.chart_note
    steps = {s.code: s.text for s in result.preparation_steps}
    assert "0.45%" not in steps["storage"]
    assert "of TOFIDENCE (tocilizumab-bavi) 20 mg/mL" in steps["draw"]
    # ACTEMRA keeps both diluents and every storage row.
    assert len(calc(rules).use_within) == len(rules.handling.storage)  # type: ignore[union-attr]


def test_a_biosimilars_chart_note_names_it_and_its_label(rules: engine.Rules) -> None:
    result = calc(rules, product="avtozma", route="sc")
    lines = result.chart_note.splitlines()
    assert (
        lines[0] == "AVTOZMA (tocilizumab-anoh): 162 mg by subcutaneous injection, every 2 weeks."
    )
    assert lines[1] == (
        "Product: AVTOZMA (tocilizumab-anoh), biosimilar; its label: AVTOZMA "
        "(tocilizumab-anoh) US Prescribing Information (label address OPEN: Drugs@FDA)."
    )
    assert result.product is not None
    assert result.product.label_url == "https://www.accessdata.fda.gov/scripts/cder/daf/"


# ---- the API and the page ----------------------------------------------------------------------


def post(client: Any, **body: Any) -> Any:
    base = {"indication": "ra", "route": "iv", "weight": 70, "age_years": 50}
    return client.post("/api/v1/calculate", {**base, **body}, content_type="application/json")


def test_the_api_answers_for_the_product_named(client: Any) -> None:
    body = post(client, product="tyenne").json()
    assert body["product"] == {
        "slug": "tyenne",
        "brand_name": "TYENNE",
        "nonproprietary_name": "tocilizumab-aazg",
        "biosimilar": True,
        "label_name": "TYENNE (tocilizumab-aazg) US Prescribing Information, BLA 761275 "
        "(DailyMed mirror, revised 3/2024)",
        "label_url": "https://fda.report/DailyMed/ad76441d-da59-47df-8d9d-2243005180f0",
        "label_revision": None,
    }
    assert body["dose_mg"] == 280
    assert post(client).json()["product"]["slug"] == "actemra"


@pytest.mark.parametrize(
    ("product", "indication", "route"),
    [("tofidence", "ra", "sc"), ("tofidence", "crs", "iv"), ("avtozma", "ssc-ild", "sc"),
     ("biosimilar-x", "ra", "iv")],
)  # fmt: skip
def test_the_api_refuses_what_the_product_lacks_naming_product(
    client: Any, product: str, indication: str, route: str
) -> None:
    response = post(client, product=product, indication=indication, route=route, age_years=10)
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "payload", "product"]


def test_the_api_documents_product(client: Any) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    text = json.dumps(schema)
    assert "TOFIDENCE subcutaneous or CRS" in text


@override_settings(DOSING_DEFAULT_PRODUCT="tofidence")
def test_the_sheet_names_the_site_default_product(client: Any) -> None:
    form = {"indication": "ra", "route": "iv", "weight": "70", "weight_unit": "kg",
            "step": "starting", "therapy": "starting", "age_years": "50"}  # fmt: skip
    page = client.post("/", form).content.decode()
    assert "TOFIDENCE (tocilizumab-bavi) preparation sheet" in page
    assert "TOFIDENCE (tocilizumab-bavi) 280 mg intravenous infusion" in page
    assert "ACTEMRA (tocilizumab) preparation sheet" not in page
