"""Schema-driven fuzzing of the API against its own OpenAPI document (schemathesis, in process)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    response_schema_conformance,
)

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_test_connection():
    # The WSGI handler closes "obsolete" connections at request end, and inside the test's
    # transaction that means the PostgreSQL one. Django's test Client detaches the same hooks.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    # Issue 12: at least 200 examples per operation, the same ones on every run (derandomized,
    # no example database), so a failure reproduces and a pass means the same thing each time.
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_5xx_and_every_response_matches_the_schema(case: Any) -> None:
    cache.clear()  # the rate limit is not under test here
    # Schema-valid input may still be refused with a 422 by the domain: the indications are
    # content (an import-time enum would go stale) and the routes, steps and weight limit depend
    # on them. Every other check stands, among them no 5xx and response schema conformance.
    # The two checks issue 12 names run explicitly, on top of the defaults.
    case.call_and_validate(
        checks=[not_a_server_error, response_schema_conformance],
        excluded_checks=[positive_data_acceptance],
    )
