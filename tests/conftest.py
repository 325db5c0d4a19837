"""Fixtures shared by every test module: the migrated content as engine rules, and clients."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from dosing import engine


@pytest.fixture(scope="session", autouse=True)
def collected_static() -> None:
    """Production static storage (hashed, compressed) needs a manifest before any page renders.

    `make test` collects afresh; this covers a bare `pytest` after a static file changed.
    """
    manifest = settings.STATIC_ROOT / "staticfiles.json"
    sources = [
        path for root in settings.STATICFILES_DIRS for path in root.rglob("*") if path.is_file()
    ]
    newest = max((path.stat().st_mtime for path in sources), default=0)
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        call_command("collectstatic", "--noinput", verbosity=0)


@pytest.fixture(autouse=True)
def fresh_content_version() -> None:
    """Each test reads the version afresh: a rolled-back edit must not leak into the next test."""
    from dosing.content import forget_version

    forget_version()


@pytest.fixture(scope="session")
def rules(django_db_setup: Any, django_db_blocker: Any) -> Iterator[engine.Rules]:
    """The rules snapshot built from the content the migrations load (session scope: hypothesis)."""
    from dosing.content import build_rules
    from dosing.models import ContentVersion

    with django_db_blocker.unblock():
        yield build_rules(ContentVersion.current())


@pytest.fixture
def staff_client(client: Any, django_user_model: Any) -> Any:
    user = django_user_model.objects.create_superuser("admin", "admin@example.org", "pw-unused-1")
    client.force_login(user)
    return client


def inputs(indication: str, route: str, weight: str | Decimal, **kwargs: Any) -> engine.Inputs:
    """Engine inputs with strings accepted for decimals, for readable tests."""
    labs = {name: Decimal(str(value)) for name, value in kwargs.pop("labs", {}).items()}
    if "age_years" in kwargs and kwargs["age_years"] is not None:
        kwargs["age_years"] = Decimal(str(kwargs["age_years"]))
    return engine.Inputs(
        indication=indication,
        route=route,
        weight=Decimal(str(weight)),
        labs=engine.Labs(**labs),
        **kwargs,
    )
