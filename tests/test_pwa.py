"""The installable app's server side: manifest, service worker, offline page, first-load weight."""

from __future__ import annotations

import json
import re
import struct
from typing import Any

import pytest
from django.conf import settings

from dosing.models import DoseRule

pytestmark = pytest.mark.django_db


def _worker_config(client: Any) -> dict[str, Any]:
    response = client.get("/sw.js")
    assert response.status_code == 200
    match = re.search(r"const CONFIG = (\{.*?\n\});", response.content.decode(), re.DOTALL)
    assert match, "the worker's configuration"
    return json.loads(match.group(1))


def _static_file(url: str):
    assert url.startswith(settings.STATIC_URL)
    return settings.STATIC_ROOT / url.removeprefix(settings.STATIC_URL)


def test_the_manifest_makes_the_app_installable(client: Any) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    assert manifest["scope"] == "/"
    assert manifest["name"]
    assert manifest["short_name"]
    assert manifest["description"]
    assert manifest["theme_color"]
    assert manifest["background_color"]
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert sizes == {
        ("192x192", "any"),
        ("512x512", "any"),
        ("192x192", "maskable"),
        ("512x512", "maskable"),
    }
    for icon in manifest["icons"]:
        png = _static_file(icon["src"]).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])
        assert f"{width}x{height}" == icon["sizes"]


@pytest.mark.parametrize("path", ["/", "/monograph/", "/offline/"])
def test_every_page_links_the_manifest_and_the_touch_icon(client: Any, path: str) -> None:
    html = client.get(path).content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    icon = re.search(r'<link rel="apple-touch-icon" href="([^"]+)"', html)
    assert icon
    assert struct.unpack(">II", _static_file(icon.group(1)).read_bytes()[16:24]) == (
        180,
        180,
    )
    assert 'data-sw-url="/sw.js"' in html


def test_the_worker_saves_the_shell_and_the_rules(client: Any) -> None:
    response = client.get("/sw.js")
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    config = _worker_config(client)
    precache = config["precache"]
    for url in ("/", "/monograph/", "/offline/", "/api/v1/rules", "/manifest.webmanifest"):
        assert url in precache
    hashed = [url for url in precache if url.startswith(settings.STATIC_URL)]
    for name in ("app.mjs", "offline.mjs", "engine.mjs", "app.css", "htmx-2.min"):
        assert any(name.split(".")[0] in url for url in hashed), name
    for url in hashed:  # content-hashed names that exist, so cache-first never serves stale code
        assert re.search(r"\.[0-9a-f]{12}\.", url), url
        assert _static_file(url).exists(), url
    assert config["rules"] == "/api/v1/rules"


def test_a_published_version_makes_a_new_worker_and_a_draft_edit_does_not(client: Any) -> None:
    from tests.conftest import publish_draft

    before = _worker_config(client)["cache"]
    assert before == _worker_config(client)["cache"]  # stable while nothing changes
    rule = DoseRule.objects.filter(indication__slug="ra", max_mg__isnull=False).first()
    rule.max_mg = 750
    rule.save()
    assert _worker_config(client)["cache"] == before  # a draft never reaches phones
    publish_draft("RA maximum 750 mg")
    assert _worker_config(client)["cache"] != before


def test_the_offline_page_says_what_works_offline(client: Any) -> None:
    response = client.get("/offline/")
    assert response.status_code == 200
    assert "No network" in response.content.decode()


def test_the_first_load_weighs_under_30_kb(client: Any) -> None:
    """HTML as served, plus every file the page pulls in, as whitenoise serves it (Brotli).

    The apple-touch-icon is not pulled in: iOS fetches it only when the page is added to the
    home screen (Chrome never does).
    """
    html = client.get("/").content
    total = len(html)
    for url in re.findall(
        rb'<(?:link|script)(?! rel="apple-touch-icon")[^>]*(?:href|src)="(/static/[^"]+)"', html
    ):
        path = _static_file(url.decode())
        compressed = path.with_name(path.name + ".br")
        total += (compressed if compressed.exists() else path).stat().st_size
    assert total < 30_000, total
