"""Settings from the environment, secure by default."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from csp.decorators import csp_update
from csp.utils import build_policy
from django.db import connection
from django.http import HttpResponse

from actemra_site.csp import CSPMiddleware

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_database_is_the_one_database_url_names() -> None:
    url = os.environ.get("DATABASE_URL", "sqlite://")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected


def test_debug_off_without_a_secret_key_refuses_to_start() -> None:
    result = manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_check_without_warnings() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="dosing.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_postgres_database_url_selects_the_postgresql_backend() -> None:
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])",
        DJANGO_DEBUG="1",
        DATABASE_URL="postgres://user:pw@db.example.org:5432/actemra",
    )
    assert result.stdout.strip().splitlines()[-1] == "django.db.backends.postgresql", result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/api/v1/health", "/api/v1/rules"])
def test_the_policy_built_once_is_django_csps_own(client: Any, url: str) -> None:
    assert client.get(url)["Content-Security-Policy"] == build_policy()


def test_a_response_with_its_own_policy_gets_it_built_by_django_csp(rf: Any) -> None:
    @csp_update({"img-src": "https://example.org"})
    def view(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    policy = CSPMiddleware(view)(rf.get("/"))["Content-Security-Policy"]
    assert "img-src 'self' data: https://example.org" in policy
    assert (
        CSPMiddleware(lambda request: HttpResponse())(rf.get("/"))["Content-Security-Policy"]
        == build_policy()
    )


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/monograph/", "/admin/login/"])
def test_every_page_sends_a_strict_content_security_policy(client: Any, url: str) -> None:
    policy = client.get(url)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/monograph/"])
def test_pages_carry_no_inline_script_or_style(client: Any, url: str) -> None:
    html = client.get(url).content.decode()
    assert "<style" not in html
    assert " style=" not in html
    assert " onclick=" not in html
    assert " hx-on" not in html
    for tag in html.split("<script")[1:]:
        assert " src=" in tag.split(">", 1)[0], "an inline <script>"


def test_markdown_from_admins_renders_inert() -> None:
    from dosing.models import MonographSection

    section = MonographSection(
        body='<script>alert(1)</script> **bold** [x](javascript:alert(1)) <img src=x onerror="alert(1)"> <a href="https://example.org" onclick="x()">ok</a>'
    )
    html = section.body_html
    assert "<script" not in html
    assert "onerror" not in html
    assert "onclick" not in html
    assert "javascript:" not in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html


def _hsts_settings(**env: str) -> str:
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; "
        "print(settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD)",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="dosing.example.org",
        **env,
    )
    return result.stdout.strip().splitlines()[-1]


def test_hsts_preload_and_include_subdomains_are_opt_in() -> None:
    assert _hsts_settings() == "False False"
    opted_in = {"DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "DJANGO_SECURE_HSTS_PRELOAD": "1"}
    assert _hsts_settings(**opted_in) == "True True"


def test_the_deploy_check_stays_clean_with_hsts_preload_opted_in() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="dosing.example.org",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        DJANGO_SECURE_HSTS_PRELOAD="1",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
