"""On-demand timing of one CDS Hooks order-sign call in process, beside the health endpoint through
the same client, and of its stages (`make bench`; untimed in `make test`). Per-call times in
process are the steadier figure on a shared machine; scripts/loadtest_cds.py gives the throughput
under load. Timed in the thread's CPU time (time.thread_time): another engineer's process taking
the core does not count as this request's cost, which wall-clock medians here mostly measured."""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import pytest
from django.test import RequestFactory

from dosing import engine
from dosing.interop import auth, fhir_in, service
from dosing.interop.schemas import CdsRequest
from scripts import cds_load
from tests import cds_helpers as h

ROUNDS = 300
CPU = pytest.mark.benchmark(timer=time.thread_time)
PAYLOAD = CdsRequest.model_validate(cds_load.BODY)
TODAY = date.today()  # the bench's results are 13 days old (cds_helpers), inside every age limit


def _signed_client(settings: Any, alg: str = "RS384") -> Any:
    private, jwks = h.new_key(alg)
    settings.CDS_CLIENTS = [{"iss": h.ISSUER, "jwks": jwks}]
    settings.CDS_ALLOW_UNSIGNED = False
    return private


@CPU
@pytest.mark.django_db
def test_health_request(benchmark: Any, client: Any) -> None:
    client.get("/api/v1/health")  # warm
    response = benchmark.pedantic(client.get, ("/api/v1/health",), rounds=ROUNDS, warmup_rounds=10)
    assert response.status_code == 200


@CPU
@pytest.mark.django_db
def test_one_signed_order_sign_request(benchmark: Any, client: Any, settings: Any) -> None:
    private = _signed_client(settings)
    body = json.dumps(cds_load.BODY)
    audience = f"http://testserver{cds_load.PATH}"

    def signed() -> tuple[tuple[str], dict[str, Any]]:
        # A fresh token per call (a replayed jti is refused), signed outside the timed call as
        # an EHR signs it: the service's verification is timed, the client's signing is not.
        return (h.token(private, audience),), {}

    def call(token: str) -> Any:
        return client.post(
            cds_load.PATH, body, content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip

    call(signed()[0][0])  # warm the rules snapshot
    response = benchmark.pedantic(call, setup=signed, rounds=ROUNDS, warmup_rounds=10)
    assert response.status_code == 200
    assert "matches the calculated 560 mg" in response.json()["cards"][0]["summary"]


# The stages of one order-sign request, each timed alone (group "order-sign stages").


@CPU
@pytest.mark.django_db  # verification records the token's jti (UsedToken) against replay
@pytest.mark.benchmark(group="order-sign stages")
@pytest.mark.parametrize("alg", ["ES384", "RS384"])  # the EHR's choice; the cost differs
def test_stage_jwt_verification(benchmark: Any, settings: Any, alg: str) -> None:
    private = _signed_client(settings, alg)
    audience = f"http://testserver{cds_load.PATH}"

    def request() -> tuple[tuple[Any, str], dict[str, Any]]:
        token = h.token(private, audience)
        signed = RequestFactory().post(cds_load.PATH, headers={"Authorization": f"Bearer {token}"})
        return (signed, audience), {}

    benchmark.pedantic(auth.verify, setup=request, rounds=ROUNDS, warmup_rounds=10)


@CPU
@pytest.mark.benchmark(group="order-sign stages")
def test_stage_reading_the_request_into_facts(benchmark: Any, rules: engine.Rules) -> None:
    """The draft order, the Patient, five Observations and the earlier order, read once into
    facts (fhir_in: only the elements the check uses, each validated)."""

    def read() -> tuple[list[Any], Any, Any]:
        refs = fhir_in.read_prefetch(PAYLOAD.prefetch)
        orders = fhir_in.read_orders(PAYLOAD.context, refs, rules)
        return orders, fhir_in.read_record(refs, rules, TODAY), fhir_in.earlier_orders(refs, rules)

    orders, record, earlier = benchmark.pedantic(read, rounds=ROUNDS, warmup_rounds=10)
    assert [o.drug for o in orders] == [True]
    assert record.weight is not None
    assert len(record.labs) == 4
    assert earlier is not None
    assert len(earlier) == 1


@CPU
@pytest.mark.benchmark(group="order-sign stages")
def test_stage_two_engine_calls(benchmark: Any, rules: engine.Rules) -> None:
    record = fhir_in.read_record(fhir_in.read_prefetch(PAYLOAD.prefetch), rules, TODAY)
    ctx = service.Context(rules=rules, base_url="http://testserver", today=TODAY)
    results = benchmark.pedantic(
        service._results, ("ra", engine.Route.IV, record, True, ctx), rounds=ROUNDS, warmup_rounds=10
    )  # fmt: skip
    assert [r.dose_mg for r in results] == [280, 560]


@CPU
@pytest.mark.benchmark(group="order-sign stages")
def test_stage_the_whole_check(benchmark: Any, rules: engine.Rules) -> None:
    """Reading, validation, two engine calls and the cards: the service without HTTP and JWT."""
    ctx = service.Context(rules=rules, base_url="http://testserver", today=TODAY)
    answer = benchmark.pedantic(service.check, (PAYLOAD, ctx), rounds=ROUNDS, warmup_rounds=10)
    assert "matches the calculated 560 mg" in answer.cards[0].summary
