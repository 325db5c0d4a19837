"""Any saved or deleted content row marks the draft as changed (ContentVersion, the draft revision).

An edit never changes what clinicians see: only a publish does (publishing.py). Which models are
content is the registry's answer (models.content_models()), never a list kept here.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import ContentVersion, content_models


def bump_content_version(sender: type, raw: bool = False, **kwargs: Any) -> None:
    if not raw:  # fixtures being loaded are not edits
        ContentVersion.bump()


def bump_on_m2m(sender: type, action: str, **kwargs: Any) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        ContentVersion.bump()


def connect() -> None:
    for model in content_models():
        name = model.__name__
        post_save.connect(bump_content_version, sender=model, dispatch_uid=f"bump-save-{name}")
        post_delete.connect(bump_content_version, sender=model, dispatch_uid=f"bump-delete-{name}")
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            m2m_changed.connect(
                bump_on_m2m, sender=through, dispatch_uid=f"bump-m2m-{name}-{field.name}"
            )


connect()
