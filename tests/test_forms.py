"""The calculator form: thousands separators where the app prints them, errors on the field."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from dosing.forms import CalculatorForm

pytestmark = pytest.mark.django_db

BASE = {"indication": "ra", "route": "iv", "weight": "70", "weight_unit": "kg", "step": "starting"}


def form(rules: Any, **data: str) -> CalculatorForm:
    return CalculatorForm({**BASE, "therapy": "on_therapy", **data}, rules=rules)


@pytest.mark.parametrize(
    ("typed", "read"),
    [("80,000", Decimal(80000)), ("1,000", Decimal(1000)), ("100,000.5", Decimal("100000.5"))],
)
def test_counts_accept_the_thousands_separators_the_app_prints(
    rules: Any, typed: str, read: Decimal
) -> None:
    bound = form(rules, platelets_per_mm3=typed, anc_per_mm3=typed)
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["platelets_per_mm3"] == read
    assert bound.cleaned_data["anc_per_mm3"] == read


@pytest.mark.parametrize(
    ("field", "typed", "read"),
    [
        ("weight", "70,5", Decimal("70.5")),  # a decimal comma, unambiguous (issue 22.3)
        ("alt_x_uln", "1,5", Decimal("1.5")),
        ("age_years", "6,5", Decimal("6.5")),
    ],
)
def test_a_decimal_comma_is_read_where_it_is_unambiguous(
    rules: Any, field: str, typed: str, read: Decimal
) -> None:
    bound = form(rules, **{field: typed})
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data[field] == read


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        # "1.500" reads 1.5 in one locale and 1,500 in another: never guessed (issue 22.3).
        ("anc_per_mm3", "1.500", "1.500 could be 1500 or 1.5: write it without a thousands separator."),
        ("weight", "1,000", "1,000 could be 1000 or 1: write it without a thousands separator."),
        ("alt_x_uln", "1,000", "1,000 could be 1000 or 1: write it without a thousands separator."),
        ("platelets_per_mm3", "1.234,5", "Write the number with one decimal point and no thousands separator."),
        ("weight", "7e1", "Write the number without an exponent (70, not 7e1)."),
        ("weight", "seventy", "Enter a number."),
    ],
)  # fmt: skip
def test_doubtful_numbers_are_refused_on_their_field(
    rules: Any, field: str, typed: str, message: str
) -> None:
    bound = form(rules, **{field: typed})
    assert bound.calculate(rules) is None
    assert bound.errors[field] == [message]
    html = str(bound[field])
    assert 'aria-invalid="true"' in html
    assert f'aria-describedby="id_{field}-error"' in html


def test_anc_0_9_in_cells_is_a_question_on_its_field_never_an_action(rules: Any) -> None:
    bound = form(rules, anc_per_mm3="0,9")
    assert bound.calculate(rules) is None
    assert bound.errors["anc_per_mm3"] == [
        "0.9: did you mean 900 cells/mm³ (0.9 ×10⁹/L)? Choose the unit the lab reports."
    ]
    result = form(rules, anc_per_mm3="0,9", anc_unit="e9_per_l").calculate(rules)
    assert result is not None
    assert result.action == "hold"
    assert any(
        w.message.startswith("ANC 0.9 ×10⁹/L = 900 cells/mm³: hold") for w in result.warnings
    )


def test_alt_in_u_per_l_needs_the_upper_limit_of_normal(rules: Any) -> None:
    bound = form(rules, alt_x_uln="160", alt_unit="u_per_l")
    assert bound.calculate(rules) is None
    assert "upper limit of normal" in bound.errors["alt_uln_u_per_l"][0]
    result = form(rules, alt_x_uln="160", alt_unit="u_per_l", alt_uln_u_per_l="40").calculate(rules)
    assert result is not None
    # 160 U/L over an upper limit of 40 U/L is 4 x ULN: above 3 to 5 x ULN, a hold.
    assert result.action == "hold"
    assert any("ALT 160 U/L (upper limit 40 U/L) = 4 × ULN" in w.message for w in result.warnings)


def test_an_engine_error_marks_its_field(rules: Any) -> None:
    bound = form(rules, weight="700")
    assert bound.calculate(rules) is None
    assert "weight" in bound.errors
    assert 'aria-invalid="true"' in str(bound["weight"])
    assert "aria-invalid" not in str(bound["age_years"])


def test_choices_are_offered_where_content_gives_them(rules: Any) -> None:
    attrs = CalculatorForm(rules=rules).fields["indication"].widget.attrs
    steps = attrs["data-step-choice"].split()
    therapy = attrs["data-therapy-choice"].split()
    # The label has an increased step for RA only (IV 4 -> 8 mg/kg; SC under 100 kg weekly).
    assert steps == ["ra:iv", "ra:sc"]
    # Latent TB testing is "before starting and during therapy" (one advisory for both), but
    # COVID-19's ANC and ALT/AST limits are for starting only (reference, labs): the second
    # infusion is told apart by the therapy choice.
    assert "ra:iv" in therapy
    assert "covid-19:iv" in therapy
    assert not any(pair.startswith("ssc-ild:iv") for pair in therapy)  # no such route


# ---- issue 23: the product in hand ---------------------------------------------------------------


def test_the_product_choice_offers_the_four_products_before_the_indication(rules: Any) -> None:
    unbound = CalculatorForm(rules=rules)
    field = unbound.fields["product"]
    assert list(field.choices) == [
        ("actemra", "ACTEMRA (tocilizumab)"),
        ("tofidence", "TOFIDENCE (tocilizumab-bavi)"),
        ("tyenne", "TYENNE (tocilizumab-aazg)"),
        ("avtozma", "AVTOZMA (tocilizumab-anoh)"),
    ]
    assert field.initial == "actemra"  # settings.DOSING_DEFAULT_PRODUCT
    assert list(unbound.fields).index("product") < list(unbound.fields).index("indication")


def test_each_product_option_says_what_its_label_lacks(rules: Any) -> None:
    """The page offers only the product's indications and routes (app.mjs reads data-lacks):
    what the engine refuses, derived from the same rules (the reference's product table)."""
    html = str(CalculatorForm(rules=rules)["product"])
    lacks = dict(re.findall(r'<option value="([^"]+)"(?: data-lacks="([^"]*)")?', html))
    assert lacks == {
        "actemra": "",
        "tofidence": "crs:iv gca:sc pjia:sc ra:sc sjia:sc ssc-ild:sc",
        "tyenne": "ssc-ild:sc",
        "avtozma": "ssc-ild:sc",
    }
    for product in rules.products:
        for pair in filter(None, lacks[product.slug].split()):
            indication, route = pair.split(":")
            assert product.offers(indication, route) is None


@pytest.mark.parametrize(
    ("product", "indication", "route", "named"),
    [
        ("tofidence", "ra", "sc", "TOFIDENCE (tocilizumab-bavi) is not offered for Rheumatoid arthritis, subcutaneous"),
        ("tofidence", "crs", "iv", "TOFIDENCE (tocilizumab-bavi) is not offered for CAR T cell–induced"),
        ("tyenne", "ssc-ild", "sc", "TYENNE (tocilizumab-aazg) is not offered for Systemic sclerosis"),
        ("avtozma", "ssc-ild", "sc", "AVTOZMA (tocilizumab-anoh) is not offered for Systemic sclerosis"),
    ],
)  # fmt: skip
def test_what_the_product_lacks_is_an_error_on_the_product_field(
    rules: Any, product: str, indication: str, route: str, named: str
) -> None:
    bound = form(rules, product=product, indication=indication, route=route, age_years="50")
    assert bound.calculate(rules) is None
    (message,) = bound.errors["product"]
    assert message.startswith(named), message
    assert not bound.non_field_errors()
    html = str(bound["product"])
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_product-error"' in html


def test_tyenne_iv_for_ra_is_tyennes_answer(rules: Any) -> None:
    result = form(rules, product="tyenne", age_years="50").calculate(rules)
    assert result is not None
    assert result.product is not None
    assert result.product.slug == "tyenne"
    assert result.display["product"] == "TYENNE (tocilizumab-aazg)"
    assert result.chart_note.startswith("TYENNE (tocilizumab-aazg): 280 mg by intravenous")


def test_no_product_posted_is_the_sites_default(rules: Any, settings: Any) -> None:
    result = form(rules, age_years="50").calculate(rules)
    assert result is not None
    assert result.product is not None
    assert result.product.slug == "actemra"
    settings.DOSING_DEFAULT_PRODUCT = "tyenne"
    bound = form(rules, age_years="50")
    assert bound.fields["product"].initial == "tyenne"
    result = bound.calculate(rules)
    assert result is not None
    assert result.product is not None
    assert result.product.slug == "tyenne"


def test_an_unknown_product_is_refused_on_its_field(rules: Any) -> None:
    bound = form(rules, product="biosimilar-x")
    assert bound.calculate(rules) is None
    assert list(bound.errors) == ["product"]
