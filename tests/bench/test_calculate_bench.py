"""Benchmarks, run on demand with `make bench` (in `make test` they run once, untimed)."""

from __future__ import annotations

from typing import Any

import pytest

from dosing import engine
from tests.conftest import inputs
from tests.test_views import FORM


def test_one_engine_call(benchmark: Any, rules: engine.Rules) -> None:
    patient = inputs(
        "ra",
        "iv",
        "154",
        weight_unit="lb",
        step="increased",
        labs={"alt_x_uln": "2"},
        starting_therapy=False,
        persistent_rise=True,  # a persistent rise reduces (issue 12); a first one gives
    )
    result = benchmark(engine.calculate, patient, rules)
    assert result.action == engine.Action.REDUCE


@pytest.mark.django_db
def test_one_htmx_calculate_request(benchmark: Any, client: Any) -> None:
    form = FORM  # the calculator test's form: RA, IV, increased, 154 lb
    client.post("/", form, headers={"HX-Request": "true"})  # warm the rules cache

    response = benchmark(client.post, "/", form, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b"558.8 mg" in response.content
