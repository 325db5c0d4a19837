"""Every error under /api/, /cds-services and /fhir is JSON (issue 24.4): unknown paths, wrong
methods, a Host not allowed, a body too large, a refused permission, a server error. Pages keep
their HTML error pages. (The 415, 500 and 503 cases of the API are in tests/test_faults.py.)"""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import Client, RequestFactory

from actemra_site.faults import as_json

pytestmark = pytest.mark.django_db

JSON_PATHS = [
    "/api/v1/nothing-here",
    "/api/nothing",
    "/api",
    "/cds-services/x/y/z",
    "/fhir/Nothing",
]
BODY = {"indication": "ra", "route": "iv", "weight": 70, "step": "increased"}


def media_type(response: Any) -> str:
    return response["Content-Type"].split(";")[0]


def detail(response: Any) -> str:
    """The message, from {"detail": ...} or from a FHIR OperationOutcome."""
    body = response.json()
    if media_type(response) == "application/fhir+json":
        assert body["resourceType"] == "OperationOutcome"
        return body["issue"][0]["diagnostics"]
    return body["detail"]


@pytest.mark.parametrize("path", JSON_PATHS)
def test_an_unknown_path_under_a_json_prefix_answers_404_in_json(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert media_type(response) in {"application/json", "application/fhir+json"}
    assert path in detail(response)


def test_a_404_under_fhir_is_an_operation_outcome(client: Any) -> None:
    response = client.get("/fhir/Nothing")
    assert response["Content-Type"] == "application/fhir+json"
    assert response.json()["issue"][0]["code"] == "not-found"


@pytest.mark.parametrize("path", ["/nothing-here/", "/cds-servicesx", "/fhirish", "/apis/v1/x"])
def test_an_unknown_page_still_answers_the_html_404(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert media_type(response) == "text/html"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/api/v1/calculate", "POST"),
        ("put", "/api/v1/health", "GET"),
        ("get", "/cds-services/tocilizumab-order-sign", "POST"),
        ("post", "/fhir/MedicationKnowledge", "GET"),
    ],
)
def test_a_wrong_method_answers_405_in_json_naming_the_allowed_ones(
    client: Any, method: str, path: str, allowed: str
) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert media_type(response) in {"application/json", "application/fhir+json"}
    assert response["Allow"] == allowed
    assert f"answers {allowed}" in detail(response)


def test_a_host_not_allowed_answers_400_in_json_under_the_api_and_html_elsewhere() -> None:
    client = Client(HTTP_HOST="evil.example")
    api, page = client.get("/api/v1/health"), client.get("/")
    assert (api.status_code, media_type(api)) == (400, "application/json")
    assert api.json() == {"detail": "Bad request."}
    assert (page.status_code, media_type(page)) == (400, "text/html")


def padded_to(size: int) -> str:
    """The calculate body, valid JSON, padded with whitespace to `size` bytes."""
    body = json.dumps(BODY)
    return body + " " * (size - len(body))


@pytest.mark.parametrize("path", ["/api/v1/calculate", "/cds-services/tocilizumab-order-sign"])
def test_a_body_one_byte_over_the_upload_limit_answers_413_in_json(
    client: Any, settings: Any, path: str
) -> None:
    settings.CDS_ALLOW_UNSIGNED = True  # past the JWT check, which runs before the body is read
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post(path, padded_to(limit + 1), content_type="application/json")
    assert response.status_code == 413
    assert media_type(response) == "application/json"
    assert f"{limit} bytes" in detail(response)


def test_a_body_of_exactly_the_upload_limit_is_read(client: Any) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = client.post("/api/v1/calculate", padded_to(limit), content_type="application/json")
    assert response.status_code == 200


def test_the_upload_limit_is_one_mebibyte() -> None:
    # deploy/nginx.conf refuses the same bodies (client_max_body_size 1m; tests/test_proxy.py).
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1024 * 1024


def test_a_permission_refused_outside_a_view_answers_403_in_json_under_the_api() -> None:
    client = Client(raise_request_exception=False)
    with mock.patch(
        "django.middleware.common.CommonMiddleware.process_request",
        side_effect=PermissionDenied("internal reason"),
    ):
        api, fhir, page = client.get("/api/v1/health"), client.get("/fhir/x"), client.get("/")
    assert (api.status_code, api.json()) == (403, {"detail": "Forbidden."})
    assert (fhir.status_code, fhir.json()["issue"][0]["code"]) == (403, "forbidden")
    assert (page.status_code, media_type(page)) == (403, "text/html")


@pytest.mark.parametrize("path", ["/cds-services", "/fhir/MedicationKnowledge"])
def test_an_unhandled_error_under_cds_hooks_and_fhir_answers_500_in_json(path: str) -> None:
    client = Client(raise_request_exception=False)
    with mock.patch("dosing.interop.api.current_rules", side_effect=RuntimeError("bug")):
        response = client.get(path)
    assert response.status_code == 500
    assert media_type(response) in {"application/json", "application/fhir+json"}
    assert detail(response) == "Internal server error; the failure was logged."


def test_a_library_error_page_under_a_json_path_is_rewritten_keeping_status_and_retry_after() -> (
    None
):
    busy = HttpResponse("<h1>busy</h1>", status=503, headers={"Retry-After": "7"})
    rewritten = as_json(RequestFactory().get("/api/v1/calculate"), busy)
    assert (rewritten.status_code, rewritten["Retry-After"]) == (503, "7")
    assert json.loads(rewritten.content) == {"detail": "Service Unavailable."}
    assert as_json(RequestFactory().get("/monograph/"), busy) is busy
