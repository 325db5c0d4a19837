"""How the site answers when something is wrong: JSON under /api/, a clear page elsewhere.

- The database unreachable: 503 with Retry-After (a JSON body under /api/, a page elsewhere).
  Calculations do not get here while a rules snapshot is held (dosing/content.py).
- Any other unhandled error under /api/: 500 with a short JSON message, never Django's HTML page.
- A JSON endpoint sent a body that is not declared JSON: 415 saying what to send.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 30
SERVER_ERROR = "Internal server error; the failure was logged."
DATABASE_DOWN = "The content database is unavailable; try again shortly."
SEND_JSON = (
    "Send the body as JSON with the header Content-Type: application/json "
    "(the body was sent as {declared})."
)


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def database_unavailable(request: HttpRequest, error: DatabaseError) -> HttpResponse:
    logger.warning("Database unavailable on %s %s: %s", request.method, request.path, error)
    if is_api(request):
        response: HttpResponse = JsonResponse({"detail": DATABASE_DOWN}, status=503)
    else:
        context = {"message": DATABASE_DOWN, "rules": _held_rules()}
        response = render(request, "errors/503.html", context, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _held_rules() -> object | None:
    """The snapshot this process holds, for the page footer's content version, if any."""
    from dosing.content import current_rules

    try:
        return current_rules()
    except DatabaseError:
        return None


def api_server_error(request: HttpRequest, error: Exception) -> HttpResponse:
    """Ninja's handler for anything unhandled: logged with its traceback, answered in JSON."""
    if isinstance(error, DatabaseError):
        return database_unavailable(request, error)
    # The traceback, never the request body: calculator inputs are patient data.
    logger.error("Unhandled error on %s %s", request.method, request.path, exc_info=error)
    return JsonResponse({"detail": SERVER_ERROR}, status=500)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: also reached by errors raised outside views (in a middleware), where neither
    ninja's handler nor process_exception sees them."""
    error = sys.exc_info()[1]
    if isinstance(error, DatabaseError):
        return database_unavailable(request, error)
    if is_api(request):
        return JsonResponse({"detail": SERVER_ERROR}, status=500)
    return defaults.server_error(request)


class FaultsMiddleware:
    """503 for pages while the database is down; 415 for a JSON API body sent as anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_api(request) and _has_body(request) and not _declares_json(request):
            declared = request.META.get("CONTENT_TYPE") or "no Content-Type"
            return JsonResponse({"detail": SEND_JSON.format(declared=declared)}, status=415)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DatabaseError):
            return database_unavailable(request, exception)
        return None


def _has_body(request: HttpRequest) -> bool:
    if request.method not in {"POST", "PUT", "PATCH"}:
        return False
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return True


def _declares_json(request: HttpRequest) -> bool:
    content_type = (request.content_type or "").lower()
    return content_type == "application/json" or content_type.endswith("+json")
