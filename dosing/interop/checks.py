"""Deploy checks for the EHR integration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def unsigned_cds_requests(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if not settings.CDS_ALLOW_UNSIGNED:
        return []
    return [
        Warning(
            "DJANGO_CDS_ALLOW_UNSIGNED is set: CDS Hooks requests are accepted without a signed "
            "JWT. It is for development and tests only.",
            hint="Unset DJANGO_CDS_ALLOW_UNSIGNED and list the EHRs' keys in "
            "DJANGO_CDS_CLIENTS_FILE.",
            id="dosing.W001",
        )
    ]
