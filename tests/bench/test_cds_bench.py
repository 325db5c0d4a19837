"""On-demand timing of one CDS Hooks order-sign call in process, beside the health endpoint through
the same client (`make bench`; untimed in `make test`). Per-call times in process are the steadier
figure on a shared machine; scripts/loadtest.py gives the throughput under load."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts import cds_load
from tests import cds_helpers as h

ROUNDS = 300


@pytest.mark.django_db
def test_health_request(benchmark: Any, client: Any) -> None:
    client.get("/api/v1/health")  # warm
    response = benchmark.pedantic(client.get, ("/api/v1/health",), rounds=ROUNDS, warmup_rounds=10)
    assert response.status_code == 200


@pytest.mark.django_db
def test_one_signed_order_sign_request(benchmark: Any, client: Any, settings: Any) -> None:
    private, jwks = h.new_key("RS384")
    settings.CDS_CLIENTS = [{"iss": h.ISSUER, "jwks": jwks}]
    settings.CDS_ALLOW_UNSIGNED = False
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
