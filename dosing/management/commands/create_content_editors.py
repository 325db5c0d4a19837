"""Creates (or refreshes) the two content roles.

"Content editors" edit the draft (every content model of the registry, models.content_models();
never users, versions, the bounds or anything that is not content).
"Content reviewers" see everything, publish and roll back versions, and set the publishing bounds.
Members need `is_staff` to sign in to the admin.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db.models import Q

from dosing.models import PublishingBounds, content_models

EDITORS = "Content editors"
REVIEWERS = "Content reviewers"
GROUP_NAME = EDITORS  # the name earlier callers import

WRITES = r"^(add|change|delete)_"


class Command(BaseCommand):
    help = 'Create the "Content editors" and "Content reviewers" groups.'

    def handle(self, *args: Any, **options: Any) -> None:
        models = [m._meta.model_name for m in apps.get_app_config("dosing").get_models()]
        dosing = Permission.objects.filter(
            content_type__app_label="dosing", content_type__model__in=models
        )
        # Only a publish changes what clinicians see: editors write content rows (not the bounds,
        # which decide what may be published) and see the rest.
        content = [m._meta.model_name for m in content_models() if m is not PublishingBounds]
        editors = dosing.filter(
            Q(codename__startswith="view_")
            | Q(content_type__model__in=content, codename__regex=WRITES)
        )
        reviewers = dosing.filter(
            Q(codename__startswith="view_")
            | Q(codename="publish_content")
            | Q(content_type__model="publishingbounds", codename="change_publishingbounds")
        )
        for name, permissions in ((EDITORS, editors), (REVIEWERS, reviewers)):
            group, created = Group.objects.get_or_create(name=name)
            group.permissions.set(permissions)
            verb = "Created" if created else "Updated"
            self.stdout.write(f'{verb} "{name}" with {permissions.count()} permissions.')
