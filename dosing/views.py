"""Pages: parse, calculate, render; and the files that make the site an installable app."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

from .content import current_rules, last_reviewed_on
from .forms import CalculatorForm
from .models import Drug


class HtmxHttpRequest(HttpRequest):
    """For typing: django-htmx's middleware adds `.htmx` to every request."""

    htmx: HtmxDetails


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def calculator(request: HtmxHttpRequest) -> HttpResponse:
    rules = current_rules()
    form = CalculatorForm(request.POST or None, rules=rules)
    result = form.calculate(rules) if form.is_bound else None
    template = "dosing/calculator.html" + ("#result" if request.htmx else "")
    return render(request, template, {"form": form, "result": result, "rules": rules})


@require_GET
def monograph(request: HtmxHttpRequest) -> HttpResponse:
    drug = (
        Drug.objects.prefetch_related(
            "sections", "indications__dose_rules", "presentations", "preparation__bags"
        )
        .select_related("preparation")
        .get()
    )
    context = {"drug": drug, "rules": current_rules(), "last_reviewed_on": last_reviewed_on()}
    return render(request, "dosing/monograph.html", context)


@require_GET
def offline(request: HtmxHttpRequest) -> HttpResponse:
    """Shown by the service worker for a page it has not saved, when the network is gone."""
    return render(request, "dosing/offline.html", {"rules": current_rules()})


# What the service worker saves on install: the shell, offline calculation and the icons.
APP_STATIC = (
    "dosing/app.css",
    "dosing/app.mjs",
    "dosing/offline.mjs",
    "dosing/engine.mjs",
    "dosing/why.mjs",
    "django_htmx/htmx-2.min.js",
    "dosing/icons/icon-192.png",
    "dosing/icons/icon-512.png",
    "dosing/icons/maskable-192.png",
    "dosing/icons/maskable-512.png",
    "dosing/icons/apple-touch-icon.png",
    "dosing/icons/favicon-32.png",
)


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    icon = {"type": "image/png"}
    data = {
        "id": "/",
        "name": "ACTEMRA dose calculator",
        "short_name": "ACTEMRA dose",
        "description": "Bedside dosing for ACTEMRA (tocilizumab) from the US label; works offline.",
        "lang": "en-US",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": "#0b4f6c",
        "background_color": "#ffffff",
        "categories": ["medical"],
        "icons": [
            {**icon, "src": static(f"dosing/icons/icon-{size}.png"), "sizes": f"{size}x{size}"}
            for size in (192, 512)
        ]
        + [
            {
                **icon,
                "src": static(f"dosing/icons/maskable-{size}.png"),
                "sizes": f"{size}x{size}",
                "purpose": "maskable",
            }
            for size in (192, 512)
        ],
    }
    response = JsonResponse(data, content_type="application/manifest+json")
    patch_cache_control(response, no_cache=True)
    return response


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The worker, named by what it saves: new static files or new content make a new worker."""
    rules = current_rules()
    pages = [reverse("dosing:calculator"), reverse("dosing:monograph"), reverse("dosing:offline")]
    assets = [static(name) for name in APP_STATIC]
    if settings.DEBUG:  # htmx_script adds its debug helper then
        assets.append(static("django_htmx/django-htmx.js"))
    rules_url = reverse("api:rules")
    precache = [*pages, *assets, reverse("dosing:manifest"), rules_url]
    versions: list[Any] = [precache, rules.content_version, rules.content_date]
    if settings.DEBUG:  # names are not hashed in development: file times stand in for hashes
        versions.append([os.path.getmtime(finders.find(name)) for name in APP_STATIC])
    stamp = json.dumps(versions)
    config = {
        "cache": "actemra-" + hashlib.sha256(stamp.encode()).hexdigest()[:12],
        "precache": precache,
        "pages": pages,
        "offline": reverse("dosing:offline"),
        "rules": rules_url,
        "static": settings.STATIC_URL,
    }
    response = render(
        request,
        "dosing/sw.js",
        {"config": json.dumps(config, indent=2)},
        content_type="text/javascript; charset=utf-8",
    )
    # Browsers check the worker for updates on each visit; a cached copy would delay content.
    patch_cache_control(response, no_cache=True)
    return response
