"""Clock-dependent words of the preparation block (issue 15), from the server's clock in the
site's zone (settings.TIME_ZONE, DJANGO_TIME_ZONE), never the server's UTC day.

The page replaces them with the phone's clock (static/dosing/preparation.mjs); these are what a
page without JavaScript shows and prints.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from .. import engine

register = template.Library()


def _now() -> datetime:
    # Aware, in the site's zone: the engine adds elapsed hours (a daylight-saving night included).
    return timezone.localtime().replace(second=0, microsecond=0)


@register.simple_tag
def next_dose_text(next_dose: engine.NextDose | None) -> str:
    return engine.next_dose_text(next_dose, _now())


@register.simple_tag
def use_by_text(storage: engine.StorageRule) -> str:
    return engine.use_by_text(storage, _now())


@register.simple_tag
def clock_text() -> str:
    return engine.format_moment(_now())


@register.simple_tag
def start_text(repeat: engine.Repeat | None) -> str:
    return engine.start_text(repeat, _now())
