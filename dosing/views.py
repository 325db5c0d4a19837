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

from . import engine, publishing
from .content import current_snapshot
from .forms import CalculatorForm
from .ratelimit import TOO_MANY_REQUESTS, calculate_wait_seconds


class HtmxHttpRequest(HttpRequest):
    """For typing: django-htmx's middleware adds `.htmx` to every request."""

    htmx: HtmxDetails


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def calculator(request: HtmxHttpRequest) -> HttpResponse:
    snapshot = current_snapshot()  # once: the result and the page name the same version
    rules = snapshot.rules
    if request.method == "POST" and (wait_seconds := calculate_wait_seconds(request)):
        context = {"message": TOO_MANY_REQUESTS, "rules": rules}
        response = render(request, "errors/429.html", context, status=429)
        response["Retry-After"] = str(wait_seconds)
        return response
    form = CalculatorForm(request.POST or None, rules=rules)
    result = form.calculate(rules) if form.is_bound else None
    template = "dosing/calculator.html" + ("#result" if request.htmx else "")
    context = {
        "form": form,
        "result": result,
        "rules": rules,
        "snapshot": snapshot,
        "course_max": form.course_max(),
        "time_zone": settings.TIME_ZONE,
    }
    if request.htmx:
        # The repeat-dose fields are not in the first load (its 30 KB budget): htmx brings them
        # out of band when the course the form shows differs from the chosen indication's.
        shown = request.POST.get("course_max", "")
        context["course_swap"] = shown != (
            str(context["course_max"]) if context["course_max"] else ""
        )
        context["course_shown"] = bool(shown)
    return render(request, template, context)


BOXED_WARNING_SLUG = "boxed-warning"


@require_GET
def monograph(request: HtmxHttpRequest) -> HttpResponse:
    """The live version's monograph and the tables the calculator uses, from its snapshot."""
    snapshot = current_snapshot()
    rules = snapshot.rules
    context = {
        "snapshot": snapshot,
        "rules": rules,
        "text": snapshot.monograph,
        # Issue 22.7: the boxed warning before everything else, as on the label; then content's order.
        "sections": sorted(
            snapshot.monograph["sections"], key=lambda s: s["slug"] != BOXED_WARNING_SLUG
        ),
        "tables": monograph_tables(rules),
    }
    return render(request, "dosing/monograph.html", context)


@require_GET
def compare_labels(request: HtmxHttpRequest) -> HttpResponse:
    """Two products' labels compared in the review page's words (issue 23.4): the clinical diff
    of what each label gives, from the live version."""
    snapshot = current_snapshot()
    products = snapshot.rules.products
    slugs = [p.slug for p in products]
    reference = snapshot.rules.reference_product()
    first = request.GET.get("a") or (reference.slug if reference else slugs[0])
    second = request.GET.get("b") or next((s for s in slugs if s != first), first)
    errors = {
        field: f"Unknown product '{value}'. Choose one of: {', '.join(slugs)}."
        for field, value in (("a", first), ("b", second))
        if value not in slugs
    }
    names = {p.slug: p.brand_name for p in products}
    context = {
        "snapshot": snapshot,
        "products": products,
        "first": first,
        "second": second,
        "first_name": names.get(first, first),
        "second_name": names.get(second, second),
        "errors": errors,
        "lines": [] if errors else publishing.compare_labels(snapshot.rules, first, second),
    }
    return render(request, "dosing/compare.html", context, status=400 if errors else 200)


def monograph_tables(rules: engine.Rules) -> dict[str, Any]:
    """What the monograph's "data used by the calculator" tables list: exactly the rules' rows."""
    presentations = _reference_presentations(rules)
    by_indication = {
        i.slug: [
            (route, [d for d in rules.dose_rules if d.indication == i.slug and d.route == route])
            for route in engine.Route
        ]
        for i in rules.indications
    }
    return {
        "dosing": [
            (i, [(route, rows) for route, rows in by_indication[i.slug] if rows])
            for i in rules.indications
        ],
        # The reference product's (ACTEMRA's ACTPen is its own); each product's are in its section.
        "vials": [p for p in presentations if p.route == engine.Route.IV],
        "devices": [p for p in presentations if p.route == engine.Route.SC],
        # Each bag with the indications it serves, as the admin list names them.
        "bags": [
            (", ".join(slug.upper() for slug in b.indications), b) for b in rules.preparation.bags
        ],
        **product_tables(rules),
    }


def _reference_presentations(rules: engine.Rules) -> tuple[engine.PresentationRule, ...]:
    reference = rules.reference_product()
    return rules.presentations if reference is None else rules.presentations_of(reference)


def product_tables(rules: engine.Rules) -> dict[str, Any]:
    """The labels compared (issue 23): each dosed use against each product, with the grade its
    label carries it on (None: not on that label), and each product's own facts and notices."""
    names = {i.slug: i.name for i in rules.indications}
    uses = [
        (indication, route)
        for indication in names
        for route in engine.Route
        if any(d.indication == indication and d.route == route for d in rules.dose_rules)
    ]
    return {
        "products": rules.products,
        "sections": [(p, rules.presentations_of(p)) for p in rules.products],
        "uses": [
            (names[indication], route, [(p, p.offers(indication, route)) for p in rules.products])
            for indication, route in uses
        ],
    }


@require_GET
def offline(request: HtmxHttpRequest) -> HttpResponse:
    """Shown by the service worker for a page it has not saved, when the network is gone."""
    snapshot = current_snapshot()
    return render(request, "dosing/offline.html", {"rules": snapshot.rules, "snapshot": snapshot})


# What the service worker saves on install: the shell, offline calculation and the icons.
APP_STATIC = (
    "dosing/app.css",
    "dosing/app.mjs",
    "dosing/offline.mjs",
    "dosing/engine.mjs",
    "dosing/preparation.mjs",
    "dosing/prep-actions.mjs",
    "dosing/preparation.css",
    "dosing/monograph.css",
    "dosing/why.mjs",
    "dosing/restore.mjs",
    "dosing/product.mjs",
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


def _static_path(name: str) -> str:
    """Where the finders keep a static file (development only: names are not hashed there)."""
    found = finders.find(name)
    if not isinstance(found, str):
        raise FileNotFoundError(f"Static file {name} not found by the staticfiles finders.")
    return found


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The worker, named by what it saves: new static files or new content make a new worker."""
    rules = current_snapshot().rules
    pages = [reverse("dosing:calculator"), reverse("dosing:monograph"), reverse("dosing:offline")]
    assets = [static(name) for name in APP_STATIC]
    if settings.DEBUG:  # htmx_script adds its debug helper then
        assets.append(static("django_htmx/django-htmx.js"))
    rules_url = reverse("api:rules")
    precache = [*pages, *assets, reverse("dosing:manifest"), rules_url]
    versions: list[Any] = [precache, rules.content_version, rules.content_date]
    if settings.DEBUG:  # names are not hashed in development: file times stand in for hashes
        versions.append([os.path.getmtime(_static_path(name)) for name in APP_STATIC])
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
