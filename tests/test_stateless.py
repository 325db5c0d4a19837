"""Session, auth and messages middleware skipped on the stateless API paths (issue 24.2,
actemra_site/stateless.py), and only there."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, RequestFactory

from actemra_site.stateless import stateless

BODY = {"indication": "ra", "route": "iv", "weight": 70, "step": "increased"}


@pytest.mark.parametrize(
    "path",
    ["/api/v1/calculate", "/api/v1/health", "/api/v1/rules", "/api/v1/indications/ra",
     "/api/v1/monograph", "/cds-services", "/cds-services/tocilizumab-order-sign",
     "/fhir/MedicationKnowledge"],
)  # fmt: skip
def test_the_stateless_paths(path: str) -> None:
    assert stateless(RequestFactory().get(path))


@pytest.mark.parametrize(
    "path",
    ["/", "/monograph/", "/admin/", "/api/v1/versions", "/api/v1/docs", "/api/v1/openapi.json",
     "/api/v1/calculatex", "/fhirx"],
)  # fmt: skip
def test_pages_the_admin_and_the_release_history_keep_every_middleware(path: str) -> None:
    assert not stateless(RequestFactory().get(path))


@pytest.mark.django_db
def test_a_calculation_by_a_logged_in_user_sets_no_cookie_and_varies_on_none(
    staff_client: Any,
) -> None:
    response = staff_client.post(
        "/api/v1/calculate", json.dumps(BODY), content_type="application/json"
    )
    assert response.status_code == 200
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


@pytest.mark.django_db
def test_the_release_history_still_knows_a_staff_user(staff_client: Any) -> None:
    staff = staff_client.get("/api/v1/versions").json()[0]
    public = Client().get("/api/v1/versions").json()[0]
    assert staff["authors"] is not None  # staff see the authors; the public does not
    assert public["authors"] is None
