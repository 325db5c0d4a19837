"""The calculator and monograph pages through Django's test client."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

FORM = {
    "indication": "ra",
    "route": "iv",
    "weight": "154",
    "weight_unit": "lb",
    "step": "increased",
    "therapy": "starting",
}


def test_the_calculator_page_answers_with_the_form(client: Any) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="result"' in html
    # Issue 22: a small status region hears the headline after Calculate; the result itself is
    # not live (it was read whole on every keystroke).
    assert '<p id="announce" class="visually-hidden" role="status"></p>' in html
    assert "aria-live" not in html
    assert 'inputmode="decimal"' in html
    assert "csrfmiddlewaretoken" in html


def test_the_persistent_rise_box_says_a_confirming_repeat_test_is_not_persistence(
    client: Any,
) -> None:
    # The label: ALT/AST 3 to 5 x ULN confirmed by a repeat test is a hold; only a rise that
    # persists is a discontinue. The box must not read as "confirmed" (it once did).
    html = client.get("/").content.decode()
    box = re.search(r'<input[^>]*id="id_persistent_rise"[^>]*>', html).group(0)
    assert 'aria-describedby="id_persistent_rise_helptext"' in box  # Django's own
    hint = re.search(r'<p class="hint" id="id_persistent_rise_helptext">([^<]*)</p>', html).group(1)
    assert "only confirms a new rise does not count" in hint
    assert "confirmed on repeat testing" not in html


def test_an_htmx_post_returns_only_the_result_partial(client: Any) -> None:
    response = client.post("/", FORM, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="result"')
    assert "<html" not in html
    assert "558.8 mg" in html
    assert "154 lb = 69.85 kg" in html
    assert "HX-Request" in response["Vary"]


def test_a_plain_post_returns_the_full_page_with_the_result(client: Any) -> None:
    # An increased dose at the start is a Check before giving: confirmed, it has figures to prepare.
    response = client.post("/", {**FORM, "confirmed": "on"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert "558.8 mg" in html
    assert "27.94 mL" in html
    assert "1 × 400 mg/20 mL vial + 2 × 80 mg/4 mL vials" in html


def test_a_capped_dose_shows_both_figures(client: Any) -> None:
    response = client.post("/", {**FORM, "weight": "120", "weight_unit": "kg"})
    assert "calculated 960 mg, capped at the label maximum 800 mg" in response.content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"weight": ""}, "weight", "Enter the weight."),
        ({"weight": "abc"}, "weight", "Enter a number."),
        ({"weight": "-3"}, "weight", "Enter a weight above 0 and up to 500 kg"),
        ({"weight": "0"}, "weight", "Enter a weight above 0 and up to 500 kg"),
        ({"weight": "501", "weight_unit": "kg"}, "weight", "up to 500 kg (1,102.31 lb)"),
        ({"weight_unit": "stone"}, "weight_unit", "Select a valid choice"),
        ({"indication": "psoriasis"}, "indication", "Select a valid choice"),
        ({"indication": "crs", "route": "sc"}, "route", "no subcutaneous dosing"),
        ({"indication": "ssc-ild", "route": "iv"}, "route", "use sc (subcutaneous)"),
        ({"indication": "pjia", "step": "increased"}, "step", "use starting"),
        ({"alt_x_uln": "-1"}, "alt_x_uln", "Enter a value from 0"),
        ({"age_years": "300"}, "age_years", "Enter an age from 0 to 130"),
        # Issue 12: absurd figures are an error on their field, never a 500; no exponents typed.
        ({"weight": "8e169"}, "weight", "without an exponent (70, not 7e1)"),
        ({"weight": "7e1"}, "weight", "without an exponent (70, not 7e1)"),
        ({"weight": "1" + "0" * 26}, "weight", "Enter a weight above 0 and up to 500 kg"),
        ({"weight": "0." + "0" * 30 + "1"}, "weight", "Enter a weight above 0 and up to 500 kg"),
        ({"age_years": "1" + "0" * 30}, "age_years", "Enter an age from 0 to 130"),
        ({"platelets_per_mm3": "9" * 40}, "platelets_per_mm3", "Enter a value from 0"),
        ({"therapy": "starting", "step": "loading"}, "step", "Select a valid choice"),
    ],
)
def test_bad_input_returns_the_form_with_the_fields_error(
    client: Any, change: dict[str, str], field: str, message: str
) -> None:
    for headers in ({}, {"HX-Request": "true"}):
        response = client.post("/", {**FORM, **change}, headers=headers)
        html = response.content.decode()
        assert response.status_code == 200
        assert message in html
        assert f'href="#id_{field}"' in html
        assert "Check the input" in html


def test_the_calculator_does_not_put_patient_figures_in_the_url(client: Any) -> None:
    html = client.get("/").content.decode()
    form = re.search(r"<form[^>]*>", html).group(0)
    assert 'method="post"' in form
    assert 'hx-post="/"' in form


def test_the_monograph_renders_the_dosing_tables_from_the_data(client: Any) -> None:
    response = client.get("/monograph/")
    html = response.content.decode()
    assert response.status_code == 200
    for anchor in (
        "dosing-ra-iv",
        "dosing-ra-sc",
        "dosing-crs-iv",
        "preparation",
        "lab-start-anc",
        "boxed-warning",
        "mechanism-of-action",
        "pronunciation",
    ):
        assert f'id="{anchor}"' in html
    assert "800\N{NO-BREAK SPACE}mg per infusion" in html
    assert "ak-TEM-ruh" in html
    assert "Not recorded: verify against the current label" in html


def test_the_monograph_compares_the_products_labels(client: Any, rules: Any) -> None:
    """Issue 23: each product's section (the anchors the results link to) and one table of the
    uses each label carries, read from the rules: TOFIDENCE without SC or CRS, no biosimilar
    SSc-ILD, TYENNE's SC PJIA flagged."""
    import re

    html = client.get("/monograph/").content.decode()
    for product in rules.products:
        assert f'id="product-{product.slug}"' in html
    table = html[html.index('id="compare-labels"') :]
    table = table[: table.index("</table>")]

    def words(cell: str) -> str:
        return " ".join(re.sub(r"<[^>]+>", " ", cell).split())

    heads = [words(h) for h in re.findall(r'<th scope="col">(.*?)</th>', table)][1:]
    assert heads == [p.brand_name for p in rules.products]
    rows = {
        words(use): [words(td) for td in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
        for use, cells in re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', table, re.S)
    }
    assert len(rows) == len({(d.indication, d.route) for d in rules.dose_rules})
    ssc = next(cells for use, cells in rows.items() if use.startswith("Systemic sclerosis"))
    assert ssc[0].startswith("PI")
    assert all("not on label" in cell for cell in ssc[1:])
    tofidence = heads.index("TOFIDENCE")
    crs = next(cells for use, cells in rows.items() if "cytokine release" in use)
    assert "not on label" in crs[tofidence]
    sc = [cells for use, cells in rows.items() if "subcutaneous" in use]
    assert sc
    assert all("not on label" in cells[tofidence] for cells in sc)
    pjia_sc = next(c for use, c in rows.items() if "olyarticular" in use and "subcutaneous" in use)
    assert pjia_sc[heads.index("TYENNE")] == "OPEN · Verify"
    assert 'id="notice-tyenne-recall-d-0827-2026"' in html


def differences(html: str) -> list[str]:
    import re

    found = re.search(r'<ul class="diff">(.*?)</ul>', html, re.S)
    assert found, "no differences listed"
    return [" ".join(re.sub(r"<[^>]+>", " ", li).split()) for li in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)]  # fmt: skip


def test_compare_labels_lists_what_tofidences_label_lacks_and_differs_in(client: Any) -> None:
    """Issue 23.4: the clinical diff of two labels (what the review page says of a change)."""
    response = client.get("/monograph/compare/", {"a": "actemra", "b": "tofidence"})
    assert response.status_code == 200
    lines = differences(html := response.content.decode())
    assert "TOFIDENCE against ACTEMRA" in html
    assert (
        "Removed dose rule: CAR T cell–induced cytokine release syndrome, intravenous, "
        "starting dose, below 30 kg." in lines
    )
    assert "Removed indication and route of a product: TOFIDENCE: Rheumatoid arthritis, subcutaneous." in lines  # fmt: skip
    assert "Removed presentation: Single-dose prefilled syringe 162 mg." in lines
    assert (
        "Intravenous preparation: diluents “0.9% or 0.45% Sodium Chloride Injection” → "
        "“0.9% Sodium Chloride Injection”." in lines
    )
    assert not any("Rheumatoid arthritis, intravenous, starting dose" in line for line in lines)
    assert 'href="/monograph/compare/"' in client.get("/monograph/").content.decode()


def test_compare_labels_names_tyennes_recall_and_open_uses(client: Any) -> None:
    lines = differences(client.get("/monograph/compare/?a=actemra&b=tyenne").content.decode())
    assert "New product notice: TYENNE notice “FDA Class I recall D-0827-2026”." in lines
    assert any(
        line.startswith("TYENNE: Polyarticular juvenile idiopathic arthritis, subcutaneous: ")
        and "“OPEN”" in line
        for line in lines
    )
    assert "Removed indication: indication Systemic sclerosis–associated interstitial lung disease (ssc-ild)." in lines  # fmt: skip


def test_compare_labels_of_one_product_with_itself_finds_nothing(client: Any) -> None:
    html = client.get("/monograph/compare/?a=avtozma&b=avtozma").content.decode()
    assert "The two labels give the same." in html


def test_compare_labels_refuses_an_unknown_product_naming_the_field(client: Any) -> None:
    response = client.get("/monograph/compare/?a=actemra&b=generic")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="compare-b-error"' in html
    assert "Unknown product &#x27;generic&#x27;. Choose one of: actemra, tofidence" in html
    assert 'class="diff"' not in html


def test_the_monograph_lists_each_products_own_presentations(client: Any) -> None:
    """Issue 23: ACTEMRA's ACTPen is its own; TOFIDENCE has no subcutaneous device; TYENNE's vial
    strengths are OPEN and say so."""
    import re

    html = client.get("/monograph/").content.decode()

    def presentations(slug: str) -> str:
        section = html[html.index(f'id="product-{slug}"') :]
        section = section[: section.index("</section>")]
        found = re.search(r"<dt>Presentations</dt><dd>(.*?)</dd>", section, re.S)
        assert found is not None
        return " ".join(
            re.sub(r"<[^>]+>", "", found.group(1)).replace("\N{NO-BREAK SPACE}", " ").split()
        )

    assert "Single-dose autoinjector (ACTPen) 162 mg/0.9 mL (PI)" in presentations("actemra")
    assert presentations("tofidence") == "; ".join(
        f"Single-dose vial {mg} mg/{ml} mL (2nd)"
        for mg, ml in (("80", "4"), ("200", "10"), ("400", "20"))
    )
    assert "Single-dose vial 400 mg/20 mL (OPEN · Verify)" in presentations("tyenne")
    for slug in ("tofidence", "tyenne", "avtozma"):
        assert "ACTPen" not in presentations(slug)
    preparation = html[html.index('id="preparation"') :]
    assert "Single-dose autoinjector (ACTPen)" in preparation[: preparation.index("</table>")]


def test_the_monograph_follows_a_publish_not_an_edit(client: Any) -> None:
    from dosing.models import DoseRule
    from tests.conftest import publish_draft

    rule = DoseRule.objects.get(indication__slug="gca", route="iv")
    rule.max_mg = 650
    rule.save()
    assert "650\N{NO-BREAK SPACE}mg per infusion" not in client.get("/monograph/").content.decode()
    publish_draft("GCA IV maximum 650 mg")
    assert "650\N{NO-BREAK SPACE}mg per infusion" in client.get("/monograph/").content.decode()


def test_a_calculation_stores_and_logs_nothing_about_the_patient(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get("/")  # build the rules snapshot first: only the calculation is under test
    caplog.set_level("DEBUG")
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/", {**FORM, "weight": "83.47", "age_years": "47.5"})
    assert response.status_code == 200
    statements = [query["sql"].split()[0].upper() for query in queries.captured_queries]
    assert set(statements) <= {"SELECT"}, statements
    assert not any(
        "83.47" in record.getMessage() or "47.5" in record.getMessage() for record in caplog.records
    )
    # Nothing in the response's headers (cookies included) carries a patient figure back.
    assert not any("83.47" in value for value in response.headers.values())
    assert not any("83.47" in cookie.value for cookie in response.cookies.values())


# "70,5" is a decimal comma, read as 70.5 (issue 22.3; tests/test_forms.py).
@pytest.mark.parametrize("weight", ["1_000", "٧٠", "NaN", "Infinity"])
def test_the_form_takes_numbers_the_engines_way_only(client: Any, weight: str) -> None:
    # The offline form (offline.mjs) applies the same syntax: one input, one answer.
    response = client.post("/", {**FORM, "weight": weight}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Weight</a>: Enter a number." in response.content.decode()


def test_a_hold_shows_no_schedule(client: Any) -> None:
    change = {"therapy": "on_therapy", "anc_per_mm3": "700"}
    html = client.post("/", {**FORM, **change}, headers={"HX-Request": "true"}).content.decode()
    assert "Hold: do not give now" in html
    assert "every 4 weeks" not in html
    assert ">When<" not in html


def test_resuming_after_a_hold_and_a_persistent_rise_reach_the_engine(client: Any) -> None:
    # RA IV 70 kg: resuming at 4 mg/kg = 280 mg; ALT 2 x ULN persistent: 4 mg/kg = 280 mg.
    resuming = {"weight": "70", "weight_unit": "kg", "therapy": "resuming"}
    html = client.post("/", {**FORM, **resuming}).content.decode()
    assert "280 mg" in html
    assert "Then increase to 8 mg/kg" in html
    labs = {**FORM, "weight": "70", "weight_unit": "kg", "therapy": "on_therapy", "alt_x_uln": "2"}
    html = client.post("/", labs).content.decode()
    assert "560 mg" in html
    assert "if the rise persists" in html
    html = client.post("/", {**labs, "persistent_rise": "on"}).content.decode()
    assert "Give a reduced dose" in html
    assert "280 mg" in html


def test_the_180_kg_child_shows_check_before_giving_until_confirmed(client: Any) -> None:
    child = {"indication": "sjia", "route": "iv", "weight": "180", "age_years": "6"}
    child |= {"weight_unit": "kg", "step": "starting", "therapy": "starting"}
    html = client.post("/", child, headers={"HX-Request": "true"}).content.decode()
    assert "Check before giving" in html
    assert "✓" not in html
    assert "18 kg would be 216 mg every 2 weeks" in html
    assert 'class="prep' not in html
    # Nothing to prepare from, on screen or paper, until the tap: the dose, not what to draw up.
    assert re.findall(r"<dt>([^<]*)</dt>", html) == ["Dose", "When", "With"]
    assert "72 mL" not in html
    confirmed = client.post("/", {**child, "confirmed": "on"}, headers={"HX-Request": "true"})
    assert 'class="prep' in confirmed.content.decode()
    assert (
        "<dt>Draw up</dt><dd>72 mL in 2 fills of a 60 mL syringe = 1,440 mg"
        in confirmed.content.decode()
    )
    assert "Confirmed before giving: the weight" in confirmed.content.decode()


def test_each_lab_has_its_units_beside_it_named_for_screen_readers(client: Any) -> None:
    """Issue 22.3: the units labs report, the engine's own first and chosen."""
    html = client.get("/").content.decode()
    expected = {
        "alt_unit": ("ALT unit", ["× ULN", "U/L"]),
        "ast_unit": ("AST unit", ["× ULN", "U/L"]),
        "anc_unit": ("ANC unit", ["cells/mm³", "×10⁹/L", "×10³/µL"]),
        "platelets_unit": ("Platelets unit", ["cells/mm³", "×10⁹/L", "×10³/µL"]),
    }
    for name, (label, units) in expected.items():
        select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
        assert select, name
        assert f'aria-label="{label}"' in select.group(0)
        assert re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1)) == units
        assert re.search(r"<option[^>]*selected>", select.group(1)).group(0).count("selected") == 1
    # The value's label no longer names one unit (the choice beside it does).
    assert '<label for="id_anc_per_mm3">ANC</label>' in html
    # U/L needs the lab's upper limit of normal: its field is in the page (shown with U/L, app.css).
    assert 'name="alt_uln_u_per_l"' in html
    assert 'name="ast_uln_u_per_l"' in html
    # One autocomplete="off" on the form: no browser offers another patient's figures.
    assert html.count('autocomplete="off"') == 1
    assert re.search(r'<form class="calc"[^>]*autocomplete="off"', html)


def test_anc_0_9_in_cells_asks_whether_900_was_meant_and_gives_no_action(client: Any) -> None:
    form = {
        **FORM,
        "weight_unit": "kg",
        "weight": "70",
        "step": "starting",
        "therapy": "on_therapy",
    }
    html = client.post("/", {**form, "anc_per_mm3": "0.9"}).content.decode()
    assert "Check the input" in html
    assert "0.9: did you mean 900 cells/mm³ (0.9 ×10⁹/L)?" in html
    assert "action-hold" not in html
    assert "action-discontinue" not in html
    # The same value in ×10⁹/L is read as 900 cells/mm³: a hold, the reading echoed.
    html = client.post("/", {**form, "anc_per_mm3": "0.9", "anc_unit": "e9_per_l"}).content.decode()
    assert "action-hold" in html
    assert "ANC 0.9 ×10⁹/L = 900 cells/mm³" in html
    assert re.search(r'<option value="e9_per_l" selected>', html)  # the choice is kept


def test_alt_in_u_per_l_without_the_upper_limit_asks_for_it_on_its_field(client: Any) -> None:
    form = {
        **FORM,
        "weight_unit": "kg",
        "weight": "70",
        "step": "starting",
        "therapy": "on_therapy",
    }
    html = client.post("/", {**form, "alt_x_uln": "160", "alt_unit": "u_per_l"}).content.decode()
    assert '<p class="error" id="id_alt_uln_u_per_l-error">Enter the upper limit of normal' in html
    field = re.search(r'<input[^>]*name="alt_uln_u_per_l"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field
    assert '<details class="labs" open>' in html


def test_the_monograph_leads_with_the_boxed_warning_and_folds_the_evidence_legend(
    client: Any,
) -> None:
    html = client.get("/monograph/").content.decode()
    sections = re.findall(r'<section id="([a-z0-9-]+)" aria-labelledby="h-', html)
    assert sections[0] == "boxed-warning"
    assert '<section id="boxed-warning" aria-labelledby="h-boxed-warning" class="boxed">' in html
    assert '<details class="legend"><summary>What the evidence tags mean</summary>' in html
    # Phone cards: every dosing and lab cell names its column.
    assert '<td data-label="Dose">' in html
    assert '<td data-label="Value">' in html


# ---- issue 23: the product choice on the page --------------------------------------------------

RA_IV = {**FORM, "weight": "70", "weight_unit": "kg", "step": "starting", "age_years": "50"}


def test_the_page_offers_the_product_before_the_indication_with_its_default(
    client: Any,
) -> None:
    html = client.get("/").content.decode()
    assert '<label for="id_product">Product</label><select name="product" id="id_product">' in html
    assert '<option value="actemra" selected>ACTEMRA (tocilizumab)</option>' in html
    for name in ("TOFIDENCE (tocilizumab-bavi)", "TYENNE (tocilizumab-aazg)", "AVTOZMA (tocilizumab-anoh)"):  # fmt: skip
        assert f">{name}</option>" in html
    assert html.index('id="id_product"') < html.index('id="id_indication"')
    # The heading names no one product: the choice below it does.
    assert "<h1>Tocilizumab dose</h1>" in html


def test_tofidence_sc_is_refused_on_the_product_field_naming_tofidence(client: Any) -> None:
    html = client.post("/", {**RA_IV, "product": "tofidence", "route": "sc"}).content.decode()
    assert (
        '<li data-field="product"><a href="#id_product">Product</a>: TOFIDENCE (tocilizumab-bavi) '
        "is not offered for Rheumatoid arthritis, subcutaneous: its label has intravenous dosing "
        "for it only. Offered by: ACTEMRA, TYENNE, AVTOZMA.</li>"
    ) in html
    assert '<p class="error" id="id_product-error">TOFIDENCE (tocilizumab-bavi) is not' in html
    select = re.search(r"<select name=\"product\"[^>]*>", html).group(0)
    assert 'aria-invalid="true"' in select
    assert re.search(r'<option value="tofidence"[^>]* selected[ >]', html)  # kept as posted


def test_tyenne_iv_for_ra_gives_a_result_naming_tyenne(client: Any) -> None:
    html = client.post("/", {**RA_IV, "product": "tyenne"}).content.decode()
    assert "Give 280 mg" in " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "TYENNE (tocilizumab-aazg) preparation sheet" in html
    assert "TYENNE (tocilizumab-aazg) 280 mg intravenous infusion" in html
    assert "ACTEMRA (tocilizumab) preparation sheet" not in html


def test_no_product_posted_gives_the_default_product(client: Any) -> None:
    html = client.post("/", RA_IV).content.decode()
    assert "ACTEMRA (tocilizumab) preparation sheet" in html
    assert "ACTEMRA (tocilizumab) 280 mg intravenous infusion" in html
