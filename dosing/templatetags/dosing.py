"""Template filters that format figures the one way the engine does (ISMP style)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from .. import engine
from ..models import Step

register = template.Library()


@register.filter
def num(value: Decimal | int | None) -> str:
    return "" if value is None or value == "" else engine.format_number(value)


@register.filter
def interval(days: int | None) -> str:
    return "" if days is None else engine.format_interval(days)


@register.filter
def route_words(route: str) -> str:
    return engine.ROUTE_WORDS.get(engine.Route(route), route) if route else "both routes"


@register.filter
def words(value: str) -> str:
    return str(value).replace("_", " ")


@register.filter
def severity(warnings: list, level: str) -> list:
    return [w for w in warnings if w.severity == level]


@register.simple_tag
def band(row: engine.DoseRule | engine.BagRule) -> str:
    """A rule's weight band in words ("30 kg and above")."""
    return engine.band_label(row.min_weight_kg, row.max_weight_kg)


@register.filter
def step_words(step: str) -> str:
    return str(dict(Step.choices).get(str(step), str(step).replace("_", " ")))


@register.simple_tag(takes_context=True)
def draft_status(context: template.Context) -> dict:
    """What the admin index says about the draft (publishing.draft_status)."""
    from ..publishing import draft_status as status

    return status(context["request"].user)
