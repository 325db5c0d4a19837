"""Fixtures shared by every test module: the migrated content as engine rules, and clients."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from dosing import engine
from tests import factories


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Transactional tests run after every other test but the browser ones (pytest-django puts
    # tests it sees as database-free after them): their flush leaves the database empty, and
    # tests that read the migrated content through the session `rules` fixture are not marked,
    # yet need it. The browser tests keep the end: they start Playwright's loop in this thread.
    items.sort(key=_run_order)
    # pytest-django sets up the test database only for a run that collects a django_db test, and
    # the `rules` fixture reads it: a run of engine tests alone (pytest tests/test_engine.py)
    # marks them. Only then: in a whole run the mark would open a transaction per test, which
    # Django refuses once the browser tests' Playwright loop is running in this thread.
    if any(item.get_closest_marker("django_db") for item in items):
        return
    for item in items:
        # A module that imports tests/factories.py's `rules` reads the seed without a database.
        seeded = getattr(getattr(item, "module", None), "rules", None) is factories.rules
        if "rules" in getattr(item, "fixturenames", ()) and not seeded:
            item.add_marker(pytest.mark.django_db)


def _run_order(item: pytest.Item) -> int:
    if item.get_closest_marker("browser") or item.nodeid.startswith("tests/browser/"):
        return 2
    marker = item.get_closest_marker("django_db")
    flushes = bool(marker and marker.kwargs.get("transaction"))
    return 1 if flushes or "transactional_db" in getattr(item, "fixturenames", ()) else 0


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
    """The live version's rules: version 1, published by the migrations (session scope: hypothesis)."""
    from dosing.content import Snapshot
    from dosing.models import PublishedVersion

    with django_db_blocker.unblock():
        yield Snapshot.of(PublishedVersion.objects.get(number=1)).rules


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


def publish_draft(summary: str = "Test publish", reviewer: Any = None) -> Any:
    """Publish the draft as a reviewer who made none of its changes (the two-person rule)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from dosing import publishing

    if reviewer is None:
        model = get_user_model()
        reviewer = model.objects.create_user(f"reviewer-{model.objects.count() + 1}", is_staff=True)
        reviewer.user_permissions.add(Permission.objects.get(codename="publish_content"))
        reviewer = model.objects.get(pk=reviewer.pk)  # fresh permission cache
    current = publishing.review()
    return publishing.publish(
        reviewer,
        summary,
        confirmed=True,
        draft_hash=current.draft.content_hash,
        live_number=current.live_number,
    )


def edit(row: Any, user: Any = None, **fields: Any) -> Any:
    """Save a content row as `user` would through the admin (history records the author)."""
    for name, value in fields.items():
        setattr(row, name, value)
    row._history_user = user
    row.save()
    return row


@pytest.fixture
def roles(django_user_model: Any) -> dict[str, Any]:
    """An editor and two reviewers, in the groups create_content_editors makes."""
    from django.contrib.auth.models import Group

    call_command("create_content_editors", stdout=open("/dev/null", "w"))  # noqa: SIM115
    users = {}
    for name, group in (
        ("editor", "Content editors"),
        ("reviewer", "Content reviewers"),
        ("reviewer2", "Content reviewers"),
    ):
        user = django_user_model.objects.create_user(name, password="pw-unused-1", is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        users[name] = django_user_model.objects.get(pk=user.pk)
    return users


def iv_vials(*strengths: str) -> list[engine.PresentationRule]:
    """Intravenous vials of these strengths at the label's 20 mg/mL."""
    return [
        engine.PresentationRule(
            route=engine.Route.IV,
            device="vial",
            device_label="Vial",
            strength_mg=Decimal(s),
            volume_ml=Decimal(s) / 20,
        )
        for s in strengths
    ]
