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


def test_the_rate_limits_count_in_local_memory(benchmark: Any, settings: Any) -> None:
    """One count per request (Redis: one round trip; measured apart, see the notes of issue 24)."""
    from django.test import RequestFactory

    from dosing.ratelimit import calculate_wait_seconds

    settings.DOSING_CALCULATE_RATE = "100000000/m"
    request = RequestFactory().post("/api/v1/calculate", REMOTE_ADDR="192.0.2.44")
    assert benchmark(calculate_wait_seconds, request) is None
