"""Pages: parse, calculate, render. Nothing else happens here."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
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
