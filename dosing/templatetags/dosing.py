"""Template filters that format figures the one way the engine does (ISMP style)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import template

from .. import engine, snapshot

register = template.Library()


@register.simple_tag
def snapshot_format() -> int:
    """The rules format this release serves and its offline engine reads (dosing/snapshot.py)."""
    return snapshot.FORMAT


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
def severity(warnings: list, level: str) -> list:
    return [w for w in warnings if w.severity == level]


@register.simple_tag
def band(row: engine.DoseRule | engine.BagRule) -> str:
    """A rule's weight band in words ("30 kg and above")."""
    return engine.band_label(row.min_weight_kg, row.max_weight_kg)


# A figure and its unit, and "× ULN", never broken across lines on a phone (issue 22.7).
_UNIT_SPACE = re.compile(r"(?<=\d) (?=mg\b|kg\b|mL\b|×|cells/mm³|hours\b|minutes\b)|(?<=×) (?=ULN)")


@register.filter(is_safe=True)
def keep_units(text: str) -> str:
    """`text` with a no-break space between each figure and its unit ("4\u00a0mg/kg")."""
    return _UNIT_SPACE.sub("\u00a0", str(text))


@register.filter
def step_words(step: str) -> str:
    return engine.STEP_WORDS[engine.Step(step)]


@register.filter
def lab_words(lab: str) -> str:
    return engine.lab_words(lab)


@register.filter
def action_words(action: str) -> str:
    return engine.ACTION_WORDS[engine.Action(action)]


@register.filter
def context_words(context: str) -> str:
    """When a rule applies, in words ("before starting")."""
    return engine.RULE_CONTEXT_WORDS[engine.RuleContext(context)]


@register.filter
def limited_to(context: str) -> str:
    """The context words of a rule that does not apply at any time; "" for one that does."""
    return "" if context == engine.RuleContext.ANY else context_words(context)


@register.simple_tag
def lab_range(rule: engine.LabRule) -> str:
    """A lab rule's range in the engine's words ("≥ 500 and ≤ 1,000")."""
    return engine.range_label(rule.above, rule.above_inclusive, rule.below, rule.below_inclusive)


@register.simple_tag(takes_context=True)
def draft_status(context: template.Context) -> dict:
    """What the admin index says about the draft (publishing.draft_status)."""
    from ..publishing import draft_status as status

    return status(context["request"].user)


@register.simple_tag
def arrange(result: engine.Result, rules: engine.Rules) -> dict[str, Any]:
    """The result's notices in the order a clinician needs them (offline.mjs mirrors this).

    `deciding`: the finding that made the headline (the lab rule whose action it is, or the danger
    finding behind a "do not give"); `findings`: this patient's other findings; `advisories`:
    standing warnings (content's advisories); `notes`: information, folded away.
    """
    advisory_codes = {a.code for a in rules.advisories}
    lab_actions = {lab.code: lab.action for lab in rules.lab_rules}
    shown = [w for w in result.warnings if w.severity != engine.Severity.INFO]
    findings = [w for w in shown if w.code not in advisory_codes]
    deciding = None
    # The findings to confirm are shown apart, under the headline (issue 22), never twice.
    checked = {(c.code, c.message) for c in result.checks}
    findings = [w for w in findings if (w.code, w.message) not in checked]
    if result.action not in (engine.Action.GIVE, engine.Action.CHECK):
        deciding = next(
            (w for w in findings if lab_actions.get(w.code) == result.action),
            next((w for w in findings if w.severity == engine.Severity.DANGER), None),
        )
    return {
        "deciding": deciding,
        "findings": [w for w in findings if w is not deciding],
        "advisories": [w for w in shown if w.code in advisory_codes],
        "notes": [w for w in result.warnings if w.severity == engine.Severity.INFO],
    }
