"""On-demand timing of one CDS Hooks order-sign call in process (`make bench`; untimed in `make test`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts import cds_load
from tests import cds_helpers as h


@pytest.mark.django_db
def test_one_signed_order_sign_request(benchmark: Any, client: Any, settings: Any) -> None:
    private, jwks = h.new_key("RS384")
    settings.CDS_CLIENTS = [{"iss": h.ISSUER, "jwks": jwks}]
    settings.CDS_ALLOW_UNSIGNED = False
    body = json.dumps(cds_load.BODY)
    audience = f"http://testserver{cds_load.PATH}"

    def call() -> Any:
        signed = h.token(private, audience)  # a fresh jti each call (signing is counted too)
        return client.post(
            cds_load.PATH, body, content_type="application/json",
            headers={"Authorization": f"Bearer {signed}"},
        )  # fmt: skip

    call()  # warm the rules snapshot
    response = benchmark(call)
    assert response.status_code == 200
    assert "matches the calculated 560 mg" in response.json()["cards"][0]["summary"]
