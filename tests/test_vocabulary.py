"""One vocabulary (issue 11.3): every choice stored, posted, documented or shown comes from the
engine's enums (dosing/engine.py), never from a second spelling."""

from __future__ import annotations

import enum
import html
import re
from collections.abc import Iterable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import models as django_models

from dosing import engine, models
from dosing.forms import CalculatorForm

pytestmark = pytest.mark.django_db

MODEL_FIELDS = [
    (models.DoseRule, "route", engine.Route),
    (models.DoseRule, "step", engine.Step),
    (models.Presentation, "route", engine.Route),
    (models.ResumeRule, "route", engine.Route),
    (models.LabRule, "lab", engine.Lab),
    (models.LabRule, "context", engine.RuleContext),
    (models.LabRule, "route", engine.Route),
    (models.LabRule, "action", engine.LAB_ACTIONS),  # every action but CHECK, the engine's own
    (models.LabRule, "persistence", engine.Persistence),
    (models.Advisory, "severity", engine.Severity),
    (models.Advisory, "route", engine.Route),
    (models.Advisory, "context", engine.RuleContext),
]


@pytest.mark.parametrize(("model", "name", "words"), MODEL_FIELDS)
def test_every_model_choice_is_an_engine_value(
    model: type[django_models.Model], name: str, words: Iterable[enum.StrEnum]
) -> None:
    field = model._meta.get_field(name)
    assert sorted(value for value, _ in field.choices or ()) == sorted(w.value for w in words)


def test_the_choices_come_from_the_engine_with_the_admins_labels() -> None:
    assert models.ROUTE_CHOICES == [
        ("iv", "Intravenous infusion"),
        ("sc", "Subcutaneous injection"),
    ]
    assert dict(models.STEP_CHOICES)["increased"] == "Increased after clinical response"
    assert dict(models.ACTION_CHOICES)["not_recommended"] == "Not recommended"
    assert dict(models.LAB_CHOICES) == {
        "alt_ast": "ALT or AST (× ULN)",
        "anc": "Absolute neutrophil count (cells/mm³)",
        "platelets": "Platelets (cells/mm³)",
    }


def test_an_engine_word_without_an_admin_label_stops_the_start() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="Severity info"):
        models._choices({engine.Severity.DANGER: "Danger", engine.Severity.WARNING: "Warning"})


def test_the_models_need_no_migration_for_the_derived_choices() -> None:
    # Same values, same labels, same order as the migrations record: makemigrations sees nothing.
    call_command("makemigrations", "dosing", check=True, dry_run=True, verbosity=0)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("route", engine.Route),
        ("weight_unit", engine.WeightUnit),
        ("step", engine.Step),
        ("therapy", engine.TherapyContext),
    ],
)
def test_every_form_choice_is_an_engine_value(
    rules: engine.Rules, name: str, words: type[enum.StrEnum]
) -> None:
    field: Any = CalculatorForm(rules=rules).fields[name]
    assert [value for value, _ in field.choices] == [w.value for w in words]


FORM = {"indication": "ra", "route": "iv", "weight": "70", "weight_unit": "kg", "step": "starting"}
ON_THERAPY_LABS = {**FORM, "anc_per_mm3": "700", "alt_x_uln": "2"}


def test_the_form_posts_the_engines_on_therapy(client: Any) -> None:
    page = client.get("/").content.decode()
    assert 'name="therapy" value="on_therapy"' in page
    assert "continuing" not in page


def test_an_old_page_posting_continuing_is_read_as_on_therapy(
    rules: engine.Rules, client: Any
) -> None:
    old = CalculatorForm({**ON_THERAPY_LABS, "therapy": "continuing"}, rules=rules)
    assert old.is_valid(), old.errors
    inputs = old.to_inputs()
    assert (inputs.starting_therapy, inputs.resuming_after_hold) == (False, False)
    # The answer is the on-therapy one (ANC 700 on therapy: hold), and the page sent back shows
    # on_therapy chosen, so the next post carries the engine's word.
    htmx = {"HX-Request": "true"}
    answer = client.post("/", {**ON_THERAPY_LABS, "therapy": "continuing"}, headers=htmx)
    same = client.post("/", {**ON_THERAPY_LABS, "therapy": "on_therapy"}, headers=htmx)
    clock = re.compile(r"\d\d:\d\d on \w+day")
    assert "Hold: do not give now" in answer.content.decode()
    assert clock.sub("", answer.content.decode()) == clock.sub("", same.content.decode())
    page = client.post("/", {**ON_THERAPY_LABS, "therapy": "continuing"}).content.decode()
    assert re.search(r'value="on_therapy" id="id_therapy_\d" required checked', page)


def test_an_unknown_therapy_is_refused_on_its_field(rules: engine.Rules) -> None:
    bound = CalculatorForm({**FORM, "therapy": "later"}, rules=rules)
    assert not bound.is_valid()
    assert "therapy" in bound.errors


def test_the_api_documents_and_refuses_exactly_the_engines_values(client: Any) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    fields = schema["components"]["schemas"]["CalculateIn"]["properties"]
    for name, words in (
        ("route", engine.Route),
        ("weight_unit", engine.WeightUnit),
        ("step", engine.Step),
    ):
        assert fields[name]["enum"] == [w.value for w in words], name
    refused = client.post(
        "/api/v1/calculate",
        {"indication": "ra", "route": "im", "weight": 70},
        content_type="application/json",
    ).json()
    assert refused["detail"][0]["type"] == "literal_error"
    assert refused["detail"][0]["loc"][-1] == "route"


def test_the_monograph_words_each_lab_rule_as_the_engine_does(
    rules: engine.Rules, client: Any
) -> None:
    page = client.get("/monograph/").content.decode()
    assert rules.lab_rules
    for rule in rules.lab_rules:
        row = re.search(rf'<tr id="lab-{re.escape(rule.code)}">(.*?)</tr>', page, re.S)
        assert row, rule.code
        # The words, whichever space keeps a figure with its unit (templatetags keep_units).
        cells = [
            html.unescape(re.sub(r"<[^>]+>", "", c)).replace("\N{NO-BREAK SPACE}", " ").strip()
            for c in row[1].split("</td>")
        ]
        assert cells[0] == engine.lab_words(rule.lab)
        assert cells[1] == engine.RULE_CONTEXT_WORDS[engine.RuleContext(rule.context)]
        assert cells[2] == engine.range_label(
            rule.above, rule.above_inclusive, rule.below, rule.below_inclusive
        )
        assert cells[4].startswith(f"{engine.ACTION_WORDS[rule.action]}: ")


def test_the_engine_names_each_lab_from_the_inputs_it_tests() -> None:
    assert engine.lab_words(engine.Lab.ALT_AST) == "ALT or AST (× ULN)"
    assert engine.lab_words(engine.Lab.ANC) == "ANC (cells/mm³)"
    assert {engine.LAB_OF_INPUT[name] for name in engine.LAB_OF_INPUT} == set(engine.Lab)
