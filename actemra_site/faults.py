"""How the site answers when something is wrong: JSON under the machine-read prefixes (/api/,
/cds-services, /fhir), a clear page elsewhere.

- The database unreachable: 503 with Retry-After (a JSON body under those prefixes, a page
  elsewhere). Calculations do not get here while a rules snapshot is held (dosing/content.py).
- Any other unhandled error under them: 500 with a short JSON message, never Django's HTML page.
- 400, 403 and 404 raised outside a view (an unknown path, a Host not allowed, CSRF): the same
  status in JSON there (handler400/403/404); a body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413.
- Anything else an API view or a library answers in another type (ninja's 405 is text/html):
  rewritten to JSON with its status and headers kept (FaultsMiddleware).
- A JSON endpoint of /api/ sent a body that is not declared JSON: 415 saying what to send.
Under /fhir the JSON is a FHIR OperationOutcome (application/fhir+json); elsewhere {"detail": ...}.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.views import defaults

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Where clients are programs: every error is JSON. The same prefixes as CORS_URLS_REGEX, and /fhir.
JSON_PATHS = re.compile(r"^/(api|cds-services|fhir)(/|$)")
FHIR_PATHS = re.compile(r"^/fhir(/|$)")
FHIR_JSON = "application/fhir+json"
# FHIR's issue-type codes (http://hl7.org/fhir/issue-type) for the statuses answered here.
FHIR_ISSUE_CODES = {400: "invalid", 403: "forbidden", 404: "not-found", 405: "not-supported",
                    413: "too-costly", 415: "not-supported", 429: "throttled", 503: "transient"}  # fmt: skip
NOT_FOUND = "Nothing here: {path} is not an endpoint of this API."
BAD_REQUEST = "Bad request."
FORBIDDEN = "Forbidden."
TOO_LARGE = "The request body is larger than the {limit} bytes accepted."
# Kept when a non-JSON error answer is rewritten: they say what to do next.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
RETRY_AFTER_SECONDS = 30
SERVER_ERROR = "Internal server error; the failure was logged."
DATABASE_DOWN = "The content database is unavailable; try again shortly."
SEND_JSON = (
    "Send the body as JSON with the header Content-Type: application/json "
    "(the body was sent as {declared})."
)


def is_api(request: HttpRequest) -> bool:
    """A path whose errors answer JSON."""
    return JSON_PATHS.match(request.path) is not None


def json_error(request: HttpRequest, message: str, status: int) -> JsonResponse:
    """`{"detail": message}`, or an OperationOutcome under /fhir, with `status`."""
    if FHIR_PATHS.match(request.path):
        issue = {
            "severity": "error",
            "code": FHIR_ISSUE_CODES.get(status, "exception"),
            "diagnostics": message,
        }
        body = {"resourceType": "OperationOutcome", "issue": [issue]}
        return JsonResponse(body, status=status, content_type=FHIR_JSON)
    return JsonResponse({"detail": message}, status=status)


def database_unavailable(request: HttpRequest, error: DatabaseError) -> HttpResponse:
    logger.warning("Database unavailable on %s %s: %s", request.method, request.path, error)
    if is_api(request):
        response: HttpResponse = json_error(request, DATABASE_DOWN, 503)
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
    return json_error(request, SERVER_ERROR, 500)


def api_suspicious(request: HttpRequest, error: SuspiciousOperation) -> HttpResponse:
    """Ninja's handler for what Django answers 400 (a body over the size limit: 413): reading
    the body happens inside ninja's view, whose catch-all would otherwise make it a 500."""
    if isinstance(error, RequestDataTooBig):
        return too_large(request)
    logger.warning("Refused %s %s: %s", request.method, request.path, type(error).__name__)
    return json_error(request, BAD_REQUEST, 400)


def too_large(request: HttpRequest) -> JsonResponse:
    return json_error(request, TOO_LARGE.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE), 413)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: also reached by errors raised outside views (in a middleware), where neither
    ninja's handler nor process_exception sees them."""
    error = sys.exc_info()[1]
    if isinstance(error, DatabaseError):
        return database_unavailable(request, error)
    if is_api(request):
        return json_error(request, SERVER_ERROR, 500)
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a Host not allowed, a body too large read outside ninja, a bad cookie..."""
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return too_large(request)
        return json_error(request, BAD_REQUEST, 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403 (Django's PermissionDenied); the message is not echoed: it may be internal."""
    if is_api(request):
        return json_error(request, FORBIDDEN, 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a path no route matches (ninja's own 404s are JSON already)."""
    if is_api(request):
        return json_error(request, NOT_FOUND.format(path=request.path), 404)
    return defaults.page_not_found(request, exception)


def as_json(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """An error answered in another type under a JSON path, rewritten to JSON (same status and
    the headers that say what to do next): ninja's 405, any library's HTML error."""
    if response.status_code < 400 or not is_api(request):
        return response
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        return response
    phrase = HTTPStatus(response.status_code).phrase if response.status_code < 600 else "Error"
    allowed = response.get("Allow")
    message = f"{phrase}: this path answers {allowed}." if allowed else f"{phrase}."
    rewritten = json_error(request, message, response.status_code)
    for header in KEPT_HEADERS:
        if header in response:
            rewritten[header] = response[header]
    return rewritten


class FaultsMiddleware:
    """503 for pages while the database is down; 415 for a JSON API body sent as anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if (
            request.path.startswith(API_PREFIX)
            and _has_body(request)
            and not _declares_json(request)
        ):
            declared = request.META.get("CONTENT_TYPE") or "no Content-Type"
            return JsonResponse({"detail": SEND_JSON.format(declared=declared)}, status=415)
        return as_json(request, self.get_response(request))

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
