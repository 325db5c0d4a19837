from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods


@require_http_methods(["GET", "POST"])
def calculator(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Calculator coming soon.")


@require_GET
def monograph(request: HttpRequest) -> HttpResponse:
    return render(request, "dosing/monograph.html", {})
