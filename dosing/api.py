"""The public JSON API (/api/v1/): parse, calculate, serialize. Nothing else happens here."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from ninja import Router, Status
from ninja.errors import HttpError, ValidationError

from . import engine, schemas
from .content import Snapshot, current_snapshot, serving_problem
from .models import PublishedVersion
from .ratelimit import TOO_MANY_REQUESTS, calculate_wait_seconds

router = Router(tags=["dosing"])
JSON_UTF8 = "application/json; charset=utf-8"  # as ninja's renderer says it

CALCULATE_EXAMPLES = {
    "ra-iv-lb": {
        "summary": "RA, intravenous, increased dose, weight in lb",
        "value": {
            "indication": "ra",
            "route": "iv",
            "weight": 154,
            "weight_unit": "lb",
            "step": "increased",
        },
    },
    "pjia-child": {
        "summary": "PJIA, 25 kg child of 8",
        "value": {"indication": "pjia", "route": "iv", "weight": 25, "age_years": 8},
    },
    "ra-on-therapy-labs": {
        "summary": "RA on therapy with raised ALT",
        "value": {
            "indication": "ra",
            "route": "sc",
            "weight": 82,
            "starting_therapy": False,
            "labs": {"alt_x_uln": 2.1},
        },
    },
}


def _content_response(request: HttpRequest, snapshot: Snapshot, build: Any) -> HttpResponse:
    """A JSON body built from `snapshot` alone, with that snapshot's ETag; Django's conditional
    GET answers 304 to an If-None-Match naming it (and 412 to an If-Match that does not)."""
    response = get_conditional_response(request, etag=snapshot.etag) or JsonResponse(
        build(snapshot), safe=False, json_dumps_params={"ensure_ascii": False}
    )
    response["ETag"] = snapshot.etag
    patch_cache_control(response, no_cache=True)  # always revalidate: content edits are immediate
    return response


@router.post(
    "/calculate",
    response={
        200: schemas.CalculateOut,
        400: schemas.ErrorOut,
        422: schemas.ErrorOut,
        429: schemas.ErrorOut,
    },
    openapi_extra={
        "requestBody": {"content": {"application/json": {"examples": CALCULATE_EXAMPLES}}}
    },
    summary="Dose, preparation and warnings for one patient",
)
def calculate(request: HttpRequest, payload: schemas.CalculateIn) -> Any:
    """The same calculation as the bedside page. Inputs are not stored or logged."""
    wait_seconds = calculate_wait_seconds(request)
    if wait_seconds is not None:
        response = JsonResponse({"detail": TOO_MANY_REQUESTS}, status=429)
        response["Retry-After"] = str(wait_seconds)
        return response
    try:
        # One snapshot: the figures, the version number and its date agree.
        result = engine.calculate(payload.to_inputs(), current_snapshot().rules)
    except engine.InputError as error:
        loc = (
            ["body", "payload", "labs", error.field]
            if error.field in engine.LAB_OF_INPUT
            or error.field in engine.LAB_UNIT_FIELDS.values()
            or error.field in engine.LAB_ULN_FIELDS.values()
            else ["body", "payload", error.field]
        )
        raise ValidationError(
            [{"type": "value_error", "loc": loc, "msg": error.message}]
        ) from error
    # Read from the result once and written by pydantic-core in the same pass: returning the
    # model would have ninja validate it again, dump it to a dict and encode that (issue 24.2).
    body = schemas.CalculateOut.model_validate(result).model_dump_json()
    return HttpResponse(body, content_type=JSON_UTF8)


@router.get(
    "/rules",
    response={200: engine.Rules, 304: None},
    summary="The rules snapshot the engine runs on",
)
def rules(request: HttpRequest) -> HttpResponse:
    """Everything the offline app needs to calculate; decimals are strings so no digit is lost.

    `format` beside the rules is the snapshot format they are written in (dosing/snapshot.py):
    a client built for another format must not calculate with them. Send If-None-Match with the last ETag: 304 while the content version is unchanged.
    """
    return _content_response(request, current_snapshot(), lambda snapshot: snapshot.rules_dict)


def _indication(rules: engine.Rules, indication: engine.IndicationRule) -> dict[str, Any]:
    number = engine.as_number
    dose_rules = [d for d in rules.dose_rules if d.indication == indication.slug]
    routes = [route.value for route in engine.Route if any(d.route == route for d in dose_rules)]
    return {
        "slug": indication.slug,
        "name": indication.name,
        "population": indication.population,
        "min_age_years": number(indication.min_age_years),
        "adult_only": indication.adult_only,
        "routes": routes,
        "label_section": indication.source.label_section,
        "evidence": indication.source.evidence,
        "needs_review": indication.source.needs_review,
        "dose_rules": [
            {
                "route": d.route.value,
                "step": d.step.value,
                "band": engine.band_label(d.min_weight_kg, d.max_weight_kg),
                "min_weight_kg": number(d.min_weight_kg),
                "max_weight_kg": number(d.max_weight_kg),
                "mg_per_kg": number(d.mg_per_kg),
                "flat_mg": number(d.flat_mg),
                "interval_days": d.interval_days,
                "additional_doses_max": d.additional_doses_max,
                "min_hours_apart": d.min_hours_apart,
                "max_mg": number(d.max_mg),
                "next_step": d.next_step,
                "concomitant": d.concomitant,
                "label_section": d.source.label_section,
                "evidence": d.source.evidence,
                "needs_review": d.source.needs_review,
            }
            for d in dose_rules
        ],
        "presentations": [
            {
                "route": p.route.value,
                "device": p.device,
                "device_label": p.device_label,
                "strength_mg": number(p.strength_mg),
                "volume_ml": number(p.volume_ml),
            }
            for p in rules.presentations
            if p.route.value in routes
        ],
        "lab_rules": [
            {
                "code": r.code,
                "lab": r.lab,
                "context": r.context,
                "route": r.route.value if r.route else None,
                "range": engine.range_label(r.above, r.above_inclusive, r.below, r.below_inclusive),
                "action": r.action.value,
                "message": r.message,
                "label_section": r.source.label_section,
                "evidence": r.source.evidence,
                "needs_review": r.source.needs_review,
            }
            for r in rules.lab_rules
            if indication.slug in r.indications
        ],
    }


@router.get(
    "/indications",
    response=list[schemas.IndicationOut],
    summary="Indications with their dosing tables",
)
def indications(request: HttpRequest) -> HttpResponse:
    def build(snapshot: Snapshot) -> Any:
        return [_indication(snapshot.rules, i) for i in snapshot.rules.indications]

    return _content_response(request, current_snapshot(), build)


@router.get(
    "/indications/{slug}",
    response={200: schemas.IndicationOut, 404: schemas.ErrorOut},
    summary="One indication with its dosing tables",
)
def indication(request: HttpRequest, slug: str) -> HttpResponse:
    snapshot = current_snapshot()
    found = snapshot.rules.indication(slug)
    if found is None:
        known = ", ".join(i.slug for i in snapshot.rules.indications)
        raise HttpError(404, f"Unknown indication '{slug}'. Known: {known}.")
    return _content_response(request, snapshot, lambda s: _indication(s.rules, found))


@router.get(
    "/monograph", response=schemas.MonographOut, summary="The drug and its monograph sections"
)
def monograph(request: HttpRequest) -> HttpResponse:
    def build(snapshot: Snapshot) -> dict[str, Any]:
        text = snapshot.monograph
        return {
            **{key: value for key, value in text.items() if key != "last_reviewed_on"},
            "content_version": snapshot.number,
        }

    return _content_response(request, current_snapshot(), build)


def _version_out(request: HttpRequest, version: PublishedVersion, live: int) -> dict[str, Any]:
    staff = request.user.is_authenticated and request.user.is_staff
    if not version.reviewer_name:
        reviewer = None
    else:
        reviewer = version.reviewer_name if staff else "Content reviewer"
    return {
        "number": version.number,
        "published_at": version.published_at.isoformat(),
        "summary": version.summary,
        "label_revision": version.label_revision or None,
        "content_hash": version.content_hash,
        "clinically_reviewed": version.clinically_reviewed,
        "reviewed_by": reviewer,
        "authors": version.authors if staff else None,
        "rolled_back_from": version.rolled_back_from,
        "changes": version.changes,
        "live": version.number == live,
    }


@router.get("/versions", response=list[schemas.VersionOut], summary="Release history, newest first")
def versions(request: HttpRequest) -> Any:
    """Every published content version; the live one is the newest. Nothing is ever deleted."""
    rows = list(PublishedVersion.objects.defer("snapshot").order_by("-number"))
    live = rows[0].number if rows else 0
    return [_version_out(request, row, live) for row in rows]


@router.get(
    "/versions/{number}",
    response={200: schemas.VersionDetailOut, 404: schemas.ErrorOut, 422: schemas.ErrorOut},
    summary="One published version with its full snapshot",
)
def version(request: HttpRequest, number: int) -> Any:
    found = PublishedVersion.objects.filter(number=number).first()
    if found is None:
        raise HttpError(404, f"There is no content version {number}.")
    live = PublishedVersion.objects.order_by("-number").values_list("number", flat=True).first()
    return {**_version_out(request, found, live or 0), "snapshot": found.snapshot}


@router.get(
    "/health",
    response={200: schemas.HealthOut, 503: schemas.HealthOut},
    summary="For load balancers",
)
def health(request: HttpRequest) -> Any:
    """One cheap query (the live published version) and, with REDIS_URL, one PING.

    503 while the database cannot answer. Redis down is "degraded" with 200: the app still
    calculates without it, and a load balancer must not take every instance out at once.
    """
    cache_state = "local"
    if hasattr(cache, "reachable"):  # the shared Redis cache (actemra_site/cache.py)
        cache_state = "ok" if cache.reachable() else "unavailable"
    try:
        version = (
            PublishedVersion.objects.order_by("-number").values_list("number", flat=True).first()
        )
    except DatabaseError:
        body: dict[str, str | int | None] = {
            "status": "unavailable",
            "database": "unavailable",
            "cache": cache_state,
        }
        return Status(503, body)
    # A live snapshot that fails its SHA-256 check is not served (content.py): degraded, in words.
    problem = serving_problem()
    status = "degraded" if cache_state == "unavailable" or problem else "ok"
    body = {
        "status": status,
        "content_version": version,
        "database": "ok",
        "cache": cache_state,
        "content": problem or "ok",
    }
    return Status(200, body)
