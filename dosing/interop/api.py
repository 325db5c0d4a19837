"""CDS Hooks 2.0 (/cds-services) and FHIR (/fhir) routes: parse, check, serialize. Nothing else."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from ninja import NinjaAPI, Router

from actemra_site import faults
from dosing import engine
from dosing.content import current_rules
from dosing.models import CdsFeedback

from . import auth, fhir_in, fhir_out, service
from .schemas import CdsRequest, CdsResponse, Discovery, Feedback, Service

cds = Router(tags=["CDS Hooks"])
fhir = Router(tags=["FHIR"])

SERVICES = {
    "tocilizumab-order-select": ("order-select", "when a tocilizumab order is selected"),
    "tocilizumab-order-sign": ("order-sign", "before a tocilizumab order is signed"),
}
FHIR_JSON = "application/fhir+json"


def _codes(rules: engine.Rules, kind: str, means: str = "") -> str:
    return ",".join(
        f"{c.system}|{c.code}"
        for c in rules.ehr.codes
        if c.kind == kind and c.means == means  # a product's own codes too (issue 23)
    )


def prefetch(rules: engine.Rules) -> dict[str, str]:
    """One key each; the codes come from content, so an admin's new code reaches the templates."""
    patient = "{{context.patientId}}"
    templates = {
        "patient": f"Patient/{patient}",
        "conditions": f"Condition?patient={patient}&clinical-status=active",
        "tocilizumabOrders": f"MedicationRequest?patient={patient}&code={_codes(rules, 'drug')}",
    }
    for name, key in fhir_in.PREFETCH_KEYS.items():
        templates[key] = (
            f"Observation?patient={patient}&code={_codes(rules, 'observation', name)}"
            "&_sort=-date&_count=1"
        )
    return templates


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@cds.get("", response=Discovery, exclude_none=True, summary="CDS Hooks discovery")
def discovery(request: HttpRequest) -> Discovery:
    templates = prefetch(current_rules())
    return Discovery(
        services=[
            Service(
                hook=hook,
                id=service_id,
                title=f"Tocilizumab dose check ({hook})",
                description=f"Checks a tocilizumab order {when} against the ACTEMRA US label: "
                "the dose for the weight and indication, the caps, the lab gates and the "
                "preparation.",
                prefetch=templates,
            )
            for service_id, (hook, when) in SERVICES.items()
        ]
    )


MAX_BODY_BYTES = 1024 * 1024  # the largest real request seen is ~25 kB; 1 MiB leaves room
MAX_DRAFT_ORDERS = 50
MAX_PREFETCH_ENTRIES = 500


class TooLarge(Exception):
    """A request past the limits above: 413, naming what is too large."""


def signed_client(request: HttpRequest) -> bool:
    """ninja auth: runs before the body is parsed, so an unauthenticated caller learns nothing
    and an oversized body is refused before any JSON is read."""
    auth.verify(request, request.build_absolute_uri(request.path))
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes (1 MiB).")
    if not declared.isdigit() and len(request.body) > MAX_BODY_BYTES:
        raise TooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes (1 MiB).")
    return True


def _entries(value: Any) -> int:
    if isinstance(value, dict) and isinstance(value.get("entry"), list):
        return len(value["entry"])
    return 1 if value is not None else 0


def _field_error(loc: list[str], message: str, status: int) -> JsonResponse:
    return JsonResponse(
        {"detail": [{"type": "value_error", "loc": loc, "msg": message}]}, status=status
    )


def _refused(message: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@cds.post(
    "/{service_id}",
    response={
        200: CdsResponse,
        400: dict[str, Any],
        401: dict[str, Any],
        404: dict[str, Any],
        412: dict[str, Any],
        413: dict[str, Any],
    },
    summary="Check draft tocilizumab orders",
    auth=signed_client,
)
def call_service(request: HttpRequest, service_id: str, payload: CdsRequest) -> JsonResponse:
    """Cards for the draft orders; the patient data stays in this request (never stored or logged)."""
    if service_id not in SERVICES:
        return _refused(f"No CDS service {service_id!r}.", 404)
    if payload.hook != SERVICES[service_id][0]:
        return _refused(f"hook: this service answers {SERVICES[service_id][0]}.", 400)
    if payload.context.get("draftOrders") is None:
        return _field_error(
            ["context", "draftOrders"], f"{payload.hook} requires context.draftOrders.", 400
        )
    if _entries(payload.context["draftOrders"]) > MAX_DRAFT_ORDERS:
        return _field_error(
            ["context", "draftOrders"], f"At most {MAX_DRAFT_ORDERS} draft orders a call.", 413
        )
    prefetched = sum(_entries(v) for v in (payload.prefetch or {}).values())
    if prefetched > MAX_PREFETCH_ENTRIES:
        return _field_error(
            ["prefetch"], f"At most {MAX_PREFETCH_ENTRIES} prefetched entries a call.", 413
        )
    ctx = service.Context(
        rules=current_rules(), base_url=_base_url(request), today=timezone.now().date()
    )
    try:
        answer = service.check(payload, ctx)
    except fhir_in.FhirError as error:
        return _field_error(error.where.split("."), error.message, 400)
    except service.PrefetchMissing as missing:
        # The specification: 412 when the service cannot get the data it needs (it queries
        # no FHIR server, so the prefetch is all it has).
        return JsonResponse(
            {"detail": f"Required prefetch missing: {missing}. Prefetch them (see discovery)."},
            status=412,
        )
    # Built and validated as CdsResponse; serialized here so unset optional members stay out.
    return JsonResponse(answer.model_dump(mode="json", exclude_none=True))


@cds.post(
    "/{service_id}/feedback",
    response={200: dict[str, Any], 401: dict[str, Any], 404: dict[str, Any]},
    summary="Record what the clinician did with the cards",
    auth=signed_client,
)
def feedback(request: HttpRequest, service_id: str, payload: Feedback) -> JsonResponse:
    """Counts accepted and overridden cards per service and day: nothing else is kept."""
    if service_id not in SERVICES:
        return _refused(f"No CDS service {service_id!r}.", 404)
    today = timezone.localdate()
    for outcome in ("accepted", "overridden"):
        count = sum(1 for item in payload.feedback if item.outcome == outcome)
        if count:
            row, _ = CdsFeedback.objects.get_or_create(
                service=service_id, outcome=outcome, day=today
            )
            CdsFeedback.objects.filter(pk=row.pk).update(count=F("count") + count)
    return JsonResponse({})


@fhir.get("/MedicationKnowledge", response=dict[str, Any], summary="The dosing content as FHIR R5")
def medication_knowledge_search(request: HttpRequest) -> JsonResponse:
    """A searchset Bundle: one MedicationKnowledge per product of the live content version."""
    body = fhir_out.searchset(current_rules(), _base_url(request))
    return JsonResponse(body, content_type=FHIR_JSON, json_dumps_params={"ensure_ascii": False})


@fhir.get("/MedicationKnowledge/{resource_id}", response=dict[str, Any], summary="One version")
def medication_knowledge(request: HttpRequest, resource_id: str) -> JsonResponse:
    rules = current_rules()
    product = next(
        (p for p in rules.products if fhir_out.resource_id(rules, p) == resource_id), None
    )
    body = fhir_out.medication_knowledge(rules, product) if product or not rules.products else None
    if body is None or body["id"] != resource_id:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {"severity": "error", "code": "not-found", "diagnostics": "Not the live version."}
            ],
        }
        return JsonResponse(outcome, status=404, content_type=FHIR_JSON)
    return JsonResponse(body, content_type=FHIR_JSON, json_dumps_params={"ensure_ascii": False})


api = NinjaAPI(
    title="ACTEMRA CDS Hooks and FHIR",
    version="2.0",
    urls_namespace="interop",
    docs_url=None,
    openapi_url=None,
)
api.add_router("/cds-services", cds)
api.add_router("/fhir", fhir)


# As the public API (actemra_site/urls.py): nothing under /cds-services or /fhir answers HTML.
api.add_exception_handler(Exception, faults.api_server_error)  # type: ignore[arg-type]
api.add_exception_handler(SuspiciousOperation, faults.api_suspicious)  # type: ignore[arg-type]


@api.exception_handler(auth.AuthError)
def refused(request: HttpRequest, error: auth.AuthError) -> JsonResponse:
    return _refused(str(error), 401)


@api.exception_handler(TooLarge)
def too_large(request: HttpRequest, error: TooLarge) -> JsonResponse:
    return _refused(str(error), 413)
