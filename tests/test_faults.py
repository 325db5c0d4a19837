"""Faults and abuse: the database or Redis down, API errors in JSON, rate limits, login lockout,
client addresses behind proxies (the multi-instance versions are in tests/test_instances.py)."""

from __future__ import annotations

import json
import logging
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.test import RequestFactory, override_settings

from actemra_site.client_ip import client_ip
from dosing import content

pytestmark = pytest.mark.django_db

API_BODY = {"indication": "ra", "route": "iv", "weight": 70, "step": "increased"}
FORM = {"indication": "ra", "route": "iv", "weight": "70", "weight_unit": "kg", "step": "increased"}
DOWN = OperationalError("connection refused")


@pytest.fixture(autouse=True)
def fresh_counters() -> None:
    cache.clear()


def api_post(client: Any, **headers: str) -> Any:
    return client.post(
        "/api/v1/calculate", json.dumps(API_BODY), content_type="application/json", headers=headers
    )


# --- the database down ---------------------------------------------------------------------


def database_down() -> Any:
    return mock.patch("dosing.models.PublishedVersion.objects.order_by", side_effect=DOWN)


def test_with_the_database_down_calculate_answers_from_the_snapshot_held(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    held = api_post(client).json()["content_version"]
    content.forget_version()  # the next request must ask the database
    with database_down(), caplog.at_level(logging.WARNING, logger="dosing.content"):
        api = api_post(client)
        page = client.post("/", FORM)
    assert api.status_code == 200
    assert api.json()["content_version"] == held
    assert page.status_code == 200
    assert f"Content version {held} " in page.content.decode()
    assert f"serving content version {held} held in memory" in caplog.text


def test_with_the_database_down_and_no_snapshot_calculate_answers_503_in_json(
    client: Any,
) -> None:
    with database_down(), mock.patch.object(content, "_current", None):
        response = api_post(client)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "database is unavailable" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0


def test_a_page_that_needs_the_database_answers_a_clear_503_page(client: Any) -> None:
    # Pages render from the snapshot held; with none held (a process that started during the
    # outage) the page needs the database.
    with database_down(), mock.patch.object(content, "_current", None):
        response = client.get("/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "Temporarily unavailable" in response.content.decode()
    assert int(response["Retry-After"]) > 0


def test_health_is_503_with_the_database_down_and_200_again_after(client: Any) -> None:
    with database_down():
        down = [client.get("/api/v1/health").status_code for _ in range(5)]
    assert down == [503] * 5
    assert client.get("/api/v1/health").json()["database"] == "ok"


# --- Redis down ----------------------------------------------------------------------------

DEAD_REDIS = {
    "default": {
        "BACKEND": "actemra_site.cache.FailSoftRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # port 1: nothing listens, the connection is refused
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}


@override_settings(CACHES=DEAD_REDIS, DOSING_SHARED_CACHE=True, DOSING_CALCULATE_RATE="2/m")
def test_with_redis_down_calculations_continue_with_a_warning_and_no_limit_is_enforced(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from actemra_site.cache import FailSoftRedisCache

    FailSoftRedisCache._down_until = 0.0
    with caplog.at_level(logging.WARNING, logger="actemra_site.cache"):
        statuses = [api_post(client).status_code for _ in range(4)]
        page = client.post("/", FORM)
        health = client.get("/api/v1/health")
    assert statuses == [200] * 4  # fail open: the limit needs the shared counters
    assert page.status_code == 200
    assert "Redis unavailable" in caplog.text
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["cache"] == "unavailable"
    FailSoftRedisCache._down_until = 0.0


# --- API errors are JSON -------------------------------------------------------------------


def test_an_unhandled_error_under_the_api_answers_500_in_json(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        mock.patch("dosing.api.engine.calculate", side_effect=RuntimeError("bug")),
        caplog.at_level(logging.ERROR, logger="actemra_site.faults"),
    ):
        response = api_post(client)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Internal server error; the failure was logged."}
    assert "RuntimeError: bug" in caplog.text
    assert "70" not in caplog.records[-1].getMessage()  # the inputs are not logged


@pytest.mark.parametrize("content_type", ["text/plain", ""])
def test_a_json_body_not_declared_json_gets_415_saying_what_to_send(
    client: Any, content_type: str
) -> None:
    response = client.generic(
        "POST", "/api/v1/calculate", json.dumps(API_BODY), content_type=content_type
    )
    assert response.status_code == 415
    assert response["Content-Type"] == "application/json"
    assert "Content-Type: application/json" in response.json()["detail"]


# --- rate limits ---------------------------------------------------------------------------


@override_settings(DOSING_CALCULATE_RATE="3/m")
def test_the_html_calculator_has_the_apis_limit_and_answers_a_429_page(client: Any) -> None:
    statuses = [client.post("/", FORM).status_code for _ in range(3)]
    limited = client.post("/", FORM)
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert "Too many requests" in limited.content.decode()
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert client.get("/").status_code == 200  # reading the page is not limited


@override_settings(DOSING_CALCULATE_RATE="3/m")
def test_the_page_and_the_api_share_one_bucket_per_client(client: Any) -> None:
    statuses = [client.post("/", FORM).status_code, api_post(client).status_code]
    statuses += [client.post("/", FORM).status_code, api_post(client).status_code]
    assert statuses == [200, 200, 200, 429]


@override_settings(DOSING_CALCULATE_RATE="2/m", TRUSTED_PROXIES=0)
def test_without_a_trusted_proxy_a_spoofed_forwarded_for_changes_nothing(client: Any) -> None:
    statuses = [api_post(client, X_Forwarded_For=f"203.0.113.{n}").status_code for n in range(1, 4)]
    assert statuses == [200, 200, 429]


@override_settings(DOSING_CALCULATE_RATE="2/m", TRUSTED_PROXIES=1)
def test_behind_one_trusted_proxy_each_client_has_its_own_bucket(client: Any) -> None:
    first = [api_post(client, X_Forwarded_For="203.0.113.1").status_code for _ in range(3)]
    # The client prepends a fake address; the proxy appends the real one, which is what counts.
    second = api_post(client, X_Forwarded_For="203.0.113.1, 203.0.113.2").status_code
    assert first == [200, 200, 429]
    assert second == 200


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "192.0.2.1"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),
        (2, "198.51.100.7, 203.0.113.9", "198.51.100.7"),
        (2, "203.0.113.9", "192.0.2.1"),  # fewer entries than proxies: nothing is vouched for
        (1, "not-an-address", "192.0.2.1"),
        (1, "", "192.0.2.1"),
    ],
)
def test_the_client_address_is_read_only_through_the_trusted_proxies(
    proxies: int, forwarded: str, expected: str
) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXIES=proxies):
        assert client_ip(request) == expected


# --- admin login lockout -------------------------------------------------------------------


def login(client: Any, username: str, password: str, address: str = "192.0.2.1") -> Any:
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


@pytest.fixture
def admin_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("admin", "a@example.org", "right-pw-1")


@override_settings(AXES_FAILURE_LIMIT=5)
def test_after_five_wrong_passwords_even_the_right_one_is_refused(
    client: Any, admin_user: Any
) -> None:
    wrong = [login(client, "admin", f"wrong-{n}").status_code for n in range(5)]
    right = login(client, "admin", "right-pw-1")
    assert wrong == [200] * 4 + [429]  # the form again with its error; the fifth locks
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


@override_settings(AXES_FAILURE_LIMIT=5)
def test_the_lockout_follows_the_user_name_across_addresses(client: Any, admin_user: Any) -> None:
    for n in range(5):
        login(client, "admin", "wrong", address=f"198.51.100.{n}")
    assert login(client, "admin", "right-pw-1", address="198.51.100.99").status_code == 429


@override_settings(AXES_FAILURE_LIMIT=5)
def test_the_lockout_follows_the_address_across_user_names(client: Any, admin_user: Any) -> None:
    for n in range(5):
        login(client, f"guess-{n}", "wrong", address="198.51.100.1")
    assert login(client, "admin", "right-pw-1", address="198.51.100.1").status_code == 429
    other = login(client, "admin", "right-pw-1", address="198.51.100.2")
    assert other.status_code == 302  # logged in from an address with no failures


@override_settings(AXES_FAILURE_LIMIT=5, TRUSTED_PROXIES=1)
def test_the_lockout_uses_the_same_client_address_behind_a_proxy(
    client: Any, admin_user: Any
) -> None:
    for n in range(5):
        client.post(
            "/admin/login/",
            {"username": f"guess-{n}", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )
    locked = client.post(
        "/admin/login/",
        {"username": "admin", "password": "right-pw-1"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )
    elsewhere = client.post(
        "/admin/login/?next=/admin/",
        {"username": "admin", "password": "right-pw-1"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.6",
    )
    assert locked.status_code == 429
    assert elsewhere.status_code == 302


@pytest.mark.parametrize(
    ("error", "status"), [(RuntimeError("bug"), 500), (OperationalError("down"), 503)]
)
def test_an_error_raised_in_a_middleware_still_answers_json_under_the_api(
    error: Exception, status: int
) -> None:
    from django.test import Client

    client = Client(raise_request_exception=False)
    with mock.patch(
        # CommonMiddleware runs on every path (the session's is skipped on stateless ones).
        "django.middleware.common.CommonMiddleware.process_request",
        side_effect=error,
    ):
        api = client.get("/api/v1/health")
        page = client.get("/monograph/")
    assert api.status_code == status
    assert api["Content-Type"] == "application/json"
    assert page.status_code == status
    assert page["Content-Type"].startswith("text/html")
