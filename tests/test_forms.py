"""The calculator form: thousands separators where the app prints them, errors on the field."""

from __future__ import annotations

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
    ("field", "typed"),
    [
        ("platelets_per_mm3", "80,00"),  # not groups of three: refused, never guessed
        ("anc_per_mm3", ",800"),
        ("weight", "70,5"),  # a decimal comma in the weight is refused, not read as 705
        ("weight", "1,000"),  # the app never prints a weight with a separator
        ("alt_x_uln", "1,000"),
    ],
)
def test_other_commas_are_refused_on_their_field(rules: Any, field: str, typed: str) -> None:
    bound = form(rules, **{field: typed})
    assert bound.calculate(rules) is None
    assert bound.errors[field] == ["Enter a number."]
    html = str(bound[field])
    assert 'aria-invalid="true"' in html
    assert f'aria-describedby="id_{field}-error"' in html


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
    # CRS has no lab rules by context; latent TB testing "before starting" covers it (advisory).
    assert "ra:iv" in therapy
    assert "covid-19:iv" not in therapy
    assert not any(pair.startswith("ssc-ild:iv") for pair in therapy)  # no such route
