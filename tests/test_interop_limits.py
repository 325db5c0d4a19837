"""Bounded work per CDS call (issue 21.6): a body-size limit, caps on draft orders and prefetched
entries with a clear 413, and the largest accepted request within a work budget counted in what
is processed (engine calls, resources read), not timed."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from dosing import engine
from dosing.interop import api, fhir_in, service
from dosing.interop.schemas import CdsRequest
from tests import cds_helpers as h
from tests.test_interop import SIGN, call, key  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def largest(orders: int = api.MAX_DRAFT_ORDERS, entries: int = api.MAX_PREFETCH_ENTRIES) -> dict[str, Any]:  # fmt: skip
    """As much as the service accepts: 50 draft orders, 500 prefetched entries (mostly earlier
    orders and old weights, as a long record gives), every lab given as a bound."""
    data = h.prefetch(labs={"anc_per_mm3": 3000, "platelets_per_mm3": 200000, "alt_x_uln": 1, "ast_x_uln": 1})  # fmt: skip
    for name in ("neutrophils", "platelets"):
        data[name]["entry"][0]["resource"]["valueQuantity"]["comparator"] = ">"
    used = sum(api._entries(v) for v in data.values())
    weights = [h.observation("29463-7", 70 + i % 7, "kg", on=f"20{10 + i % 15}-01-01") for i in range(200)]  # fmt: skip
    data["weight"]["entry"] += [{"resource": w} for w in weights]
    earlier = []
    for i in range(entries - used - len(weights)):
        order = h.medication_request(ident=f"earlier-{i}", dose=560)
        order["status"] = "completed"
        earlier.append(order)
    data["tocilizumabOrders"] = h.searchset(*earlier)
    request = h.cds_request(h.medication_request(dose=560), data)
    request["context"]["draftOrders"]["entry"] = [
        {"resource": h.medication_request(ident=f"draft-{i}", dose=560 + i)} for i in range(orders)
    ]
    return request


def test_the_largest_accepted_request_is_accepted_and_one_more_is_not(call: Callable[..., Any]) -> None:  # noqa: F811  # fmt: skip
    request = largest()
    body = json.dumps(request)
    assert len(body) < api.MAX_BODY_BYTES
    assert sum(api._entries(v) for v in request["prefetch"].values()) == api.MAX_PREFETCH_ENTRIES
    answered = call(SIGN, request)
    assert answered.status_code == 200
    assert len(answered.content) < 1024 * 1024  # 50 orders' cards: bounded too
    more_orders = largest(orders=api.MAX_DRAFT_ORDERS + 1)
    refused = call(SIGN, more_orders)
    assert refused.status_code == 413
    assert refused.json()["detail"][0]["loc"] == ["context", "draftOrders"]
    more_entries = largest()
    more_entries["prefetch"]["weight"]["entry"].append(more_entries["prefetch"]["weight"]["entry"][0])  # fmt: skip
    refused = call(SIGN, more_entries)
    assert refused.status_code == 413
    assert refused.json()["detail"][0]["loc"] == ["prefetch"]


def test_a_body_over_1_mib_is_a_413_before_it_is_parsed(client: Any, settings: Any, key: Any) -> None:  # noqa: F811  # fmt: skip
    settings.CDS_CLIENTS = [{"iss": h.ISSUER, "jwks": key[1]}]
    settings.CDS_ALLOW_UNSIGNED = False
    request = h.cds_request(h.medication_request(dose=560), h.prefetch())
    request["padding"] = "x" * api.MAX_BODY_BYTES
    token = h.token(key[0], f"http://testserver{SIGN}")
    response = client.post(
        SIGN, json.dumps(request), content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert response.status_code == 413
    assert "1 MiB" in response.json()["detail"]


def test_the_largest_request_stays_within_its_work_budget(rules: engine.Rules, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Counted, not timed: the engine runs once per step and per end of each bound (the memo
    serves the other 49 orders), and every resource is read once."""
    engine_calls = h.count_calls(monkeypatch, engine, "calculate")
    order_reads = h.count_calls(monkeypatch, fhir_in, "read_order")
    request = CdsRequest.model_validate(largest())
    ctx = service.Context(rules=rules, base_url="http://testserver", today=date.today())
    answer = service.check(request, ctx)
    assert len(answer.cards) >= api.MAX_DRAFT_ORDERS
    earlier = len(request.prefetch["tocilizumabOrders"]["entry"])  # type: ignore[index]
    assert order_reads["read_order"] == api.MAX_DRAFT_ORDERS + earlier  # each read once
    # One indication, route and therapy: 2 steps, at the bounds' unsafe values and at both ends
    # of each of the 2 bounds, once for all 50 orders (the memo): 2 x (1 + 2 x 2) = 10.
    assert engine_calls["calculate"] == 2 * (1 + 2 * 2)
