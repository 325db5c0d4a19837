"""Creates (or refreshes) the "Content editors" group: may edit every content table, not users."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand

GROUP_NAME = "Content editors"


class Command(BaseCommand):
    help = 'Create the "Content editors" group with permission to edit dosing content only.'

    def handle(self, *args: Any, **options: Any) -> None:
        models = apps.get_app_config("dosing").get_models()
        permissions = Permission.objects.filter(
            content_type__app_label="dosing",
            content_type__model__in=[model._meta.model_name for model in models],
        ).exclude(content_type__model="contentversion", codename__regex=r"^(add|change|delete)_")
        group, created = Group.objects.get_or_create(name=GROUP_NAME)
        group.permissions.set(permissions)
        verb = "Created" if created else "Updated"
        self.stdout.write(f'{verb} "{GROUP_NAME}" with {permissions.count()} permissions.')
