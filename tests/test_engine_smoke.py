from __future__ import annotations

from decimal import Decimal

from dosing import engine
from tests.conftest import inputs


def test_ra_iv_starting_dose_is_4_mg_per_kg(rules: engine.Rules) -> None:
    result = engine.calculate(inputs("ra", "iv", "70"), rules)
    assert result.dose_mg == Decimal("280")
