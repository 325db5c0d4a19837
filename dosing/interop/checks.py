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


def _per_process(database: Any) -> bool:
    name = str(database.get("NAME", ""))
    return "sqlite" in database.get("ENGINE", "") and (
        name in ("", ":memory:") or "mode=memory" in name
    )


@register(Tags.security, deploy=True)
def replay_memory_shared(app_configs: Any, **kwargs: Any) -> list[Warning]:
    """The CDS tokens already used live in the database (auth.UsedToken): shared by every worker
    and instance, unless that database is SQLite in memory, which each process holds alone."""
    if settings.CDS_ALLOW_UNSIGNED or not _per_process(settings.DATABASES["default"]):
        return []
    return [
        Warning(
            "CDS Hooks replay memory is per process: the database is SQLite in memory, so a "
            "token used on one worker would be accepted again on another.",
            hint="Set DATABASE_URL to the shared PostgreSQL database.",
            id="dosing.W002",
        )
    ]
