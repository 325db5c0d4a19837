from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import SuspiciousOperation
from django.urls import include, path
from ninja import NinjaAPI

from actemra_site import faults
from actemra_site.parsers import DecimalJSONParser
from actemra_site.renderers import JSONRenderer
from dosing.interop.api import api as interop_api

admin.site.site_header = "ACTEMRA dosing content"
admin.site.site_title = "ACTEMRA content admin"
admin.site.index_title = "Monograph and dosing tables"

api = NinjaAPI(
    title="ACTEMRA dosing API",
    version="1",
    description=(
        "The content and the calculation behind the ACTEMRA (tocilizumab) bedside calculator, "
        "from the US label. Figures are JSON numbers rounded as the page shows them. Invalid "
        "input answers 422 naming the field. Public: no login, CORS for any origin without "
        "credentials."
    ),
    urls_namespace="api",
    renderer=JSONRenderer(),
    # JSON numbers as Decimal, never through float: 29.99999999999999999 kg stays under 30 kg.
    parser=DecimalJSONParser(),
)
api.add_router("", "dosing.api.router")
# Unhandled errors under /api/ answer JSON (503 for the database, 500 otherwise), never HTML.
# ninja types a handler's argument as the exception or its class (`Exc`), but passes only
# instances (ninja/operation.py), which is what api_server_error takes.
api.add_exception_handler(Exception, faults.api_server_error)  # type: ignore[arg-type]
api.add_exception_handler(SuspiciousOperation, faults.api_suspicious)  # type: ignore[arg-type]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("dosing.urls")),
    # /cds-services (CDS Hooks 2.0) and /fhir; after the pages, which own "/" (ninja's api root).
    path("", interop_api.urls),
]

# Errors raised outside views (an unknown path, a Host not allowed, a middleware's error): JSON
# under /api/, /cds-services and /fhir (actemra_site/faults.py), 503 for the database.
handler400 = "actemra_site.faults.bad_request"
handler403 = "actemra_site.faults.permission_denied"
handler404 = "actemra_site.faults.page_not_found"
handler500 = "actemra_site.faults.server_error"
