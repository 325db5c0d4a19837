"""Any saved or deleted content row marks the draft as changed (ContentVersion, the draft revision).

An edit never changes what clinicians see: only a publish does (publishing.py).
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from .models import (
    Advisory,
    BagVolume,
    Code,
    ContentVersion,
    DilutedStorage,
    DoseRule,
    Drug,
    EhrCheck,
    Indication,
    LabRule,
    MonographSection,
    PlausibleWeight,
    Preparation,
    Presentation,
    PublishingBounds,
    ResumeRule,
)

CONTENT_MODELS = (
    Advisory,
    BagVolume,
    DilutedStorage,
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
    PublishingBounds,
    ResumeRule,
)


def bump_content_version(sender: type, raw: bool = False, **kwargs: Any) -> None:
    if not raw:  # fixtures being loaded are not edits
        ContentVersion.bump()


for model in CONTENT_MODELS:
    post_save.connect(
        bump_content_version, sender=model, dispatch_uid=f"bump-save-{model.__name__}"
    )
    post_delete.connect(
        bump_content_version, sender=model, dispatch_uid=f"bump-delete-{model.__name__}"
    )


@receiver(m2m_changed, sender=LabRule.indications.through, dispatch_uid="bump-m2m-lab")
@receiver(m2m_changed, sender=Advisory.indications.through, dispatch_uid="bump-m2m-advisory")
@receiver(m2m_changed, sender=BagVolume.indications.through, dispatch_uid="bump-m2m-bag")
def bump_on_m2m(sender: type, action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        ContentVersion.bump()
