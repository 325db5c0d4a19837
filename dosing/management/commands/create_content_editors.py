"""Creates (or refreshes) the two content roles.

"Content editors" edit the draft (every content table; never users, versions or the bounds).
"Content reviewers" see everything, publish and roll back versions, and set the publishing bounds.
Members need `is_staff` to sign in to the admin.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db.models import Q

EDITORS = "Content editors"
REVIEWERS = "Content reviewers"
GROUP_NAME = EDITORS  # the name earlier callers import

# Only a publish changes what clinicians see: editors never touch versions or the bounds.
NOT_FOR_EDITORS = (
    Q(content_type__model__in=["contentversion", "publishedversion"])
    & Q(codename__regex=r"^(add|change|delete)_")
    | Q(codename="publish_content")
    | Q(content_type__model="publishingbounds", codename__regex=r"^(add|change|delete)_")
)


class Command(BaseCommand):
    help = 'Create the "Content editors" and "Content reviewers" groups.'

    def handle(self, *args: Any, **options: Any) -> None:
        models = [m._meta.model_name for m in apps.get_app_config("dosing").get_models()]
        dosing = Permission.objects.filter(
            content_type__app_label="dosing", content_type__model__in=models
        )
        editors = dosing.exclude(NOT_FOR_EDITORS)
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
