"""The JSON API through the HTTP layer."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.test import override_settings

from dosing import engine, schemas, snapshot
from dosing.models import DoseRule

pytestmark = pytest.mark.django_db

VECTORS = Path(__file__).parent / "vectors" / "engine.json"


def post(client: Any, body: object) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/api/v1/calculate", data, content_type="application/json")


@pytest.fixture(autouse=True)
def fresh_rate_limit() -> None:
    cache.clear()


CASES = [
    {"indication": "ra", "route": "iv", "weight": 154, "weight_unit": "lb", "step": "increased"},
    {"indication": "ra", "route": "iv", "weight": 120, "step": "increased"},
    {"indication": "ra", "route": "sc", "weight": 100},
    {"indication": "pjia", "route": "iv", "weight": 29.9, "age_years": 8},
    {"indication": "crs", "route": "iv", "weight": 25},
    {"indication": "covid-19", "route": "iv", "weight": 80, "labs": {"anc_per_mm3": 900}},
    {
        "indication": "ra",
        "route": "iv",
        "weight": 70,
        "starting_therapy": False,
        "labs": {"alt_x_uln": 2, "platelets_per_mm3": 40000},
    },
    {"indication": "pjia", "route": "iv", "weight": 20, "age_years": 1},
]


def engine_result(rules: engine.Rules, case: dict[str, Any]) -> dict[str, Any]:
    labs = {k: Decimal(str(v)) for k, v in case.get("labs", {}).items()}
    inputs = engine.Inputs(
        **{
            k: Decimal(str(v)) if k in ("weight", "age_years") else v
            for k, v in case.items()
            if k != "labs"
        },
        labs=engine.Labs(**labs),
    )
    return schemas.CalculateOut.model_validate(engine.calculate(inputs, rules)).model_dump()


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c['indication']}-{c['route']}-{c['weight']}"
)
def test_calculate_gives_exactly_the_engines_result(
    client: Any, rules: engine.Rules, case: dict
) -> None:
    response = post(client, case)
    assert response.status_code == 200
    assert response.json() == engine_result(rules, case)


@pytest.mark.skipif(
    not VECTORS.exists(), reason="the shared vectors are generated with the offline engine"
)
def test_calculate_matches_every_shared_vector(client: Any) -> None:
    cases = json.loads(VECTORS.read_text())["cases"]
    for case in cases:
        response = post(client, case["inputs"])
        # The API takes JSON numbers only: figures sent as text (or null) are refused up front.
        inputs = case["inputs"]
        as_text = [
            k
            for k in ("weight", "age_years", "dose_number")
            if k in inputs and not isinstance(inputs[k], int | float)
        ]
        as_text += [
            k
            for k, v in inputs.get("labs", {}).items()
            if k in engine.LAB_OF_INPUT and not isinstance(v, int | float)
        ]
        if as_text:
            assert response.status_code == 422, case["name"]
            assert response.json()["detail"][0]["loc"][-1] == as_text[0], case["name"]
        elif "error" in case:
            assert response.status_code == 422, case["name"]
            assert response.json()["detail"][0]["loc"][-1] == case["error"]["field"], case["name"]
        else:
            assert response.status_code == 200, case["name"]
            body = response.json()
            body.pop("content_published_on")  # the vectors are version-free
            assert body == case["result"], case["name"]


def test_figures_are_json_numbers_without_trailing_zeros(client: Any) -> None:
    body = post(
        client, {"indication": "ra", "route": "iv", "weight": 70, "step": "increased"}
    ).content.decode()
    for figure in ('"dose_mg": ?560,', '"volume_ml": ?28,', '"weight_kg": ?70,'):
        assert re.search(figure, body), figure
    body = post(client, {"indication": "ra", "route": "sc", "weight": 70}).content.decode()
    assert re.search('"volume_ml": ?0.9,', body)


@pytest.mark.parametrize(
    ("body", "loc", "fragment"),
    [
        ({"route": "iv", "weight": 70}, ["body", "payload", "indication"], "Field required"),
        ({"indication": "ra", "route": "iv"}, ["body", "payload", "weight"], "Field required"),
        (
            {"indication": "ra", "route": "iv", "weight": -1},
            ["body", "payload", "weight"],
            "above 0 and up to 500 kg",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": 0},
            ["body", "payload", "weight"],
            "above 0",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": 501},
            ["body", "payload", "weight"],
            "up to 500 kg (1,102.31 lb)",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": "abc"},
            ["body", "payload", "weight"],
            "Enter a number",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": "70"},
            ["body", "payload", "weight"],
            "Enter a number",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": True},
            ["body", "payload", "weight"],
            "Enter a number",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": 70, "starting_therapy": 0},
            ["body", "payload", "starting_therapy"],
            "valid boolean",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": 70, "weight_unit": "st"},
            ["body", "payload", "weight_unit"],
            "'kg' or 'lb'",
        ),
        (
            {"indication": "psoriasis", "route": "iv", "weight": 70},
            ["body", "payload", "indication"],
            "Choose one of: ra, gca",
        ),
        (
            {"indication": "crs", "route": "sc", "weight": 70},
            ["body", "payload", "route"],
            "use iv (intravenous)",
        ),
        (
            {"indication": "ssc-ild", "route": "iv", "weight": 70},
            ["body", "payload", "route"],
            "use sc (subcutaneous)",
        ),
        (
            {"indication": "ra", "route": "im", "weight": 70},
            ["body", "payload", "route"],
            "'iv' or 'sc'",
        ),
        (
            {"indication": "pjia", "route": "iv", "weight": 20, "step": "increased"},
            ["body", "payload", "step"],
            "use starting",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": 70, "labs": {"anc_per_mm3": -4}},
            ["body", "payload", "labs", "anc_per_mm3"],
            "from 0 to 1,000,000",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": 70, "age_years": 200},
            ["body", "payload", "age_years"],
            "from 0 to 130",
        ),
        (
            {"indication": "ra", "route": "iv", "weight": 70, "dose": 5},
            ["body", "payload", "dose"],
            "Extra inputs",
        ),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: Any, body: dict, loc: list[str], fragment: str
) -> None:
    response = post(client, body)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == loc
    assert fragment in error["msg"]


@pytest.mark.parametrize("body", ["{bad json", "", "[1, 2]", '"text"', "null"])
def test_malformed_json_is_a_4xx_with_a_message_never_a_500(client: Any, body: str) -> None:
    response = post(client, body)
    assert response.status_code in (400, 422)
    assert response.json()["detail"]


def test_calculate_needs_no_login_and_no_csrf_token(rules: engine.Rules) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post(strict, CASES[0]).status_code == 200


def test_cors_allows_any_origin_without_credentials(client: Any) -> None:
    response = client.options(
        "/api/v1/calculate",
        headers={
            "Origin": "https://ehr.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
    get = client.get("/api/v1/health", headers={"Origin": "https://ehr.example"})
    assert get["Access-Control-Allow-Origin"] == "*"


@override_settings(DOSING_CALCULATE_RATE="3/m")
def test_calculate_is_rate_limited_with_retry_after(client: Any) -> None:
    statuses = [post(client, CASES[0]).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = post(client, CASES[0])
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many requests" in response.json()["detail"]


def test_health_reports_the_content_version(client: Any, rules: engine.Rules) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "content_version": rules.content_version,
        "database": "ok",
        "cache": "local",
        "content": "ok",
    }


def test_health_is_503_when_the_database_is_unreachable(client: Any) -> None:
    with mock.patch(
        "dosing.api.PublishedVersion.objects.order_by", side_effect=OperationalError("down")
    ):
        response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_rules_is_the_engines_snapshot_with_an_etag_and_304(
    client: Any, rules: engine.Rules
) -> None:
    response = client.get("/api/v1/rules")
    assert response.status_code == 200
    assert response.json() == {"format": snapshot.FORMAT, **snapshot.dump_rules(rules)}
    etag = response["ETag"]
    assert "no-cache" in response["Cache-Control"]
    assert client.get("/api/v1/rules", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/api/v1/rules", headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get("/api/v1/rules", headers={"If-None-Match": "*"}).status_code == 304
    assert client.get("/api/v1/rules", headers={"If-None-Match": '"stale"'}).status_code == 200
    # Django's conditional GET (RFC 9110): a precondition on another version fails.
    assert client.get("/api/v1/rules", headers={"If-Match": '"stale"'}).status_code == 412


def test_a_published_edit_changes_the_etag_and_the_rules(client: Any) -> None:
    from tests.conftest import publish_draft

    etag = client.get("/api/v1/rules")["ETag"]
    rule = DoseRule.objects.get(indication__slug="gca", route="iv")
    rule.max_mg = Decimal(650)
    rule.save()
    assert client.get("/api/v1/rules", headers={"If-None-Match": etag}).status_code == 304
    publish_draft("GCA IV maximum 650 mg")
    response = client.get("/api/v1/rules", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response["ETag"] != etag
    gca = next(
        d for d in response.json()["dose_rules"] if d["indication"] == "gca" and d["route"] == "iv"
    )
    assert gca["max_mg"] == "650"
    dose = post(client, {"indication": "gca", "route": "iv", "weight": 120}).json()
    assert dose["dose_mg"] == 650


@pytest.mark.parametrize(
    "url", ["/api/v1/indications", "/api/v1/indications/ra", "/api/v1/monograph"]
)
def test_content_gets_send_validators(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert client.get(url, headers={"If-None-Match": response["ETag"]}).status_code == 304


def test_indications_list_every_indication_with_its_tables(client: Any) -> None:
    body = client.get("/api/v1/indications").json()
    assert [i["slug"] for i in body] == ["ra", "gca", "ssc-ild", "pjia", "sjia", "crs", "covid-19"]
    crs = next(i for i in body if i["slug"] == "crs")
    assert crs["routes"] == ["iv"]
    assert {d["band"] for d in crs["dose_rules"]} == {"below 30 kg", "30 kg and above"}
    assert {p["route"] for p in crs["presentations"]} == {"iv"}


def test_one_indication_and_an_unknown_slug(client: Any) -> None:
    ra = client.get("/api/v1/indications/ra").json()
    assert ra["name"] == "Rheumatoid arthritis"
    assert any(
        r["code"] == "ra-alt-ast-1-3-iv" and r["action"] == "reduce" for r in ra["lab_rules"]
    )
    assert any(d["max_mg"] == 800 for d in ra["dose_rules"])
    missing = client.get("/api/v1/indications/psoriasis")
    assert missing.status_code == 404
    assert "Unknown indication 'psoriasis'" in missing.json()["detail"]


def test_the_monograph_has_markdown_and_sanitized_html(client: Any) -> None:
    body = client.get("/api/v1/monograph").json()
    assert body["brand_name"] == "ACTEMRA"
    assert body["label_revision"] is None
    boxed = next(s for s in body["sections"] if s["slug"] == "boxed-warning")
    assert boxed["body"].startswith("Patients treated")
    assert "<li>" in boxed["body_html"]


def test_the_openapi_schema_describes_every_field_and_has_examples(client: Any) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    components = schema["components"]["schemas"]
    for name in ("CalculateIn", "CalculateOut", "LabsIn", "NoticeOut"):
        for field, spec in components[name]["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"
    examples = schema["paths"]["/api/v1/calculate"]["post"]["requestBody"]["content"][
        "application/json"
    ]["examples"]
    assert "ra-iv-lb" in examples


def test_the_docs_page_works_under_the_strict_csp_with_local_assets(client: Any) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/static/"), url
    for tag in re.findall(r"<script([^>]*)>", html):
        assert "src=" in tag or 'type="application/json"' in tag


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ('{"indication": "ra", "route": "iv", "weight": 8e169}', "weight"),
        ('{"indication": "ra", "route": "iv", "weight": 1e26}', "weight"),
        ('{"indication": "ra", "route": "iv", "weight": 1e26, "weight_unit": "lb"}', "weight"),
        ('{"indication": "ra", "route": "iv", "weight": 1e400}', "weight"),
        ('{"indication": "ra", "route": "iv", "weight": 1e-400}', "weight"),
        ('{"indication": "ra", "route": "iv", "weight": 70, "age_years": 1e30}', "age_years"),
        (
            '{"indication": "ra", "route": "iv", "weight": 70, "labs": {"anc_per_mm3": 1e300}}',
            "anc_per_mm3",
        ),
        (
            '{"indication": "ra", "route": "iv", "weight": 70, "persistent_rise": 1}',
            "persistent_rise",
        ),
        (
            '{"indication": "ra", "route": "iv", "weight": 70, "resuming_after_hold": true}',
            "resuming_after_hold",
        ),
    ],
)
def test_absurd_numbers_get_a_422_naming_the_field(client: Any, body: str, loc: str) -> None:
    # Issue 12: 8e169 and 1e26 answered 500 (the weight was rounded before its range was checked).
    response = post(client, body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == loc


def test_a_hold_has_no_schedule_in_the_api(client: Any) -> None:
    body = {"indication": "ra", "route": "iv", "weight": 70, "starting_therapy": False}
    data = post(client, {**body, "labs": {"anc_per_mm3": 700}}).json()
    assert (data["action"], data["interval_days"], data["repeat"]) == ("hold", None, None)
    data = post(
        client, {"indication": "covid-19", "route": "iv", "weight": 70, "age_years": 12}
    ).json()
    assert (data["action"], data["interval_days"], data["repeat"]) == (
        "not_recommended",
        None,
        None,
    )


def test_the_180_kg_child_waits_for_a_confirmation_in_the_api(client: Any) -> None:
    child = {"indication": "sjia", "route": "iv", "weight": 180, "age_years": 6}
    body = post(client, child).json()
    assert body["action"] == "check"
    assert body["action_if_confirmed"] == "give"
    assert body["checks"][0]["alternative"] == "18 kg would be 216 mg every 2 weeks"
    assert body["next_dose"] is None
    assert body["chart_note"] == ""
    confirmed = post(client, {**child, "confirmed": True}).json()
    assert confirmed["action"] == "give"
    assert confirmed["confirmed"] is True
    assert "Confirmed before giving: the weight" in confirmed["chart_note"]


def test_confirmed_must_be_a_boolean(client: Any) -> None:
    response = post(client, {"indication": "ra", "route": "iv", "weight": 70, "confirmed": "yes"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "confirmed"


def test_a_dose_that_cannot_be_prepared_has_no_dose_interval_or_next_dose(client: Any) -> None:
    body = post(client, {"indication": "pjia", "route": "iv", "weight": 260}).json()
    assert body["action"] == "not_recommended"
    assert body["display"]["headline"] == engine.UNPREPARABLE_HEADLINE
    assert (body["dose_mg"], body["interval_days"], body["next_dose"]) == (None, None, None)
    assert body["warnings"][0]["code"] == "preparation_impossible"
    assert body["chart_note"].startswith(f"ACTEMRA (tocilizumab): {engine.UNPREPARABLE_HEADLINE}.")


@pytest.mark.parametrize(
    "weight",
    ["29.99999999999999999", "29.999999999999999999999", "99.9999999999999999999"],
)
def test_json_weights_with_17_or_more_digits_pick_the_band_the_form_picks(
    client: Any, weight: str
) -> None:
    # A float reads 29.99999999999999999 as 30.0: the upper band. The form reads the text.
    body = f'{{"indication": "pjia", "route": "iv", "weight": {weight}, "confirmed": true}}'
    api = post(client, body).json()
    form = {"indication": "pjia", "route": "iv", "weight": weight, "weight_unit": "kg"}
    form |= {"step": "starting", "therapy": "starting", "confirmed": "on"}
    html = client.post("/", form, headers={"HX-Request": "true"}).content.decode()
    # PJIA under 30 kg is 10 mg/kg; 30 kg and over 8 mg/kg.
    assert api["mg_per_kg"] == (10 if Decimal(weight) < 30 else 8)
    assert f"{api['mg_per_kg']} mg/kg" in html
    assert api["dose_mg"] == float(
        engine.quantize(Decimal(weight) * api["mg_per_kg"], Decimal("0.1"))
    )


def test_the_api_parser_reads_json_numbers_as_decimals() -> None:
    from django.test import RequestFactory

    from actemra_site.parsers import DecimalJSONParser

    request = RequestFactory().post(
        "/", '{"weight": 29.99999999999999999, "n": 3}', content_type="application/json"
    )
    data = DecimalJSONParser().parse_body(request)
    assert data["weight"] == Decimal("29.99999999999999999")
    assert isinstance(data["n"], int)


def test_anc_0_9_gets_a_question_on_its_field_in_the_api(client: Any) -> None:
    base = {"indication": "ra", "route": "iv", "weight": 70, "starting_therapy": False}
    response = post(client, {**base, "labs": {"anc_per_mm3": 0.9}})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "payload", "labs", "anc_per_mm3"]
    assert "did you mean 900 cells/mm³" in detail["msg"]
    body = post(client, {**base, "labs": {"anc_per_mm3": 0.9, "anc_unit": "e9_per_l"}}).json()
    assert body["action"] == "hold"


@pytest.mark.parametrize(
    ("labs", "field"),
    [
        ({"anc_per_mm3": 900, "anc_unit": "mmol_per_l"}, "anc_unit"),
        ({"alt_x_uln": 2, "alt_unit": "per_mm3"}, "alt_unit"),
        ({"alt_x_uln": 160, "alt_unit": "u_per_l"}, "alt_uln_u_per_l"),
        ({"alt_x_uln": 160, "alt_unit": "u_per_l", "alt_uln_u_per_l": 0}, "alt_uln_u_per_l"),
    ],
)
def test_a_bad_lab_unit_is_a_422_naming_the_field(
    client: Any, labs: dict[str, Any], field: str
) -> None:
    body = {"indication": "ra", "route": "iv", "weight": 70, "labs": labs}
    response = post(client, body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
