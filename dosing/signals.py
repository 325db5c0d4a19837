"""Any saved or deleted content row bumps the content version (caches and offline clients key on it)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .content import forget_version
from .models import (
    Advisory,
    BagVolume,
    Code,
    ContentVersion,
    DoseRule,
    Drug,
    EhrCheck,
    Indication,
    LabRule,
    MonographSection,
    PlausibleWeight,
    Preparation,
    Presentation,
)

CONTENT_MODELS = (
    Advisory,
    BagVolume,
    Code,
    DoseRule,
    Drug,
    EhrCheck,
    Indication,
    LabRule,
    MonographSection,
    PlausibleWeight,
    Presentation,
    Preparation,
)


def bump_content_version(sender: type, raw: bool = False, **kwargs: Any) -> None:
    if not raw:  # fixtures being loaded are not edits
        _forget_now_and_on_commit()


def _forget_now_and_on_commit() -> None:
    ContentVersion.bump()
    # Now, so this process shows the edit at once; on commit too, in case a read inside the
    # transaction cached content that might yet be rolled back.
    forget_version()
    transaction.on_commit(forget_version)


for model in CONTENT_MODELS:
    post_save.connect(
        bump_content_version, sender=model, dispatch_uid=f"bump-save-{model.__name__}"
    )
    post_delete.connect(
        bump_content_version, sender=model, dispatch_uid=f"bump-delete-{model.__name__}"
    )


@receiver(m2m_changed, sender=LabRule.indications.through, dispatch_uid="bump-m2m-lab")
@receiver(m2m_changed, sender=Advisory.indications.through, dispatch_uid="bump-m2m-advisory")
def bump_on_m2m(sender: type, action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        _forget_now_and_on_commit()
