"""The calculator form: checks shape and type, hands back engine.Inputs. Ranges come from the rules."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar, cast

from django import forms
from django.conf import settings
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import capfirst

from . import engine

LAB_FIELDS = (
    "alt_x_uln",
    "ast_x_uln",
    "anc_per_mm3",
    "platelets_per_mm3",
    *engine.LAB_UNIT_FIELDS.values(),
    *engine.LAB_ULN_FIELDS.values(),
)


E = TypeVar("E", bound=enum.StrEnum)


class NumberField(forms.DecimalField):
    """A decimal written the engine's way only, so the offline form (offline.mjs) agrees.

    Typed text takes no exponent: "7e1" is far likelier a slip than 70. The engine checks the
    range (an absurd figure is an error on its field, never a 500).
    """

    def __init__(self, *args: Any, thousands: bool = False, **kwargs: Any) -> None:
        self.thousands = thousands
        super().__init__(*args, **kwargs)

    # django-stubs types DecimalField as the IntegerField it subclasses, whose to_python returns
    # int; Django's own DecimalField.to_python returns Decimal, as this does.
    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return super().to_python(value)
        # One reading of typed text for both forms (engine.typed_number; engine.mjs mirrors it):
        # a decimal comma where unambiguous, a count's thousands, no exponent.
        try:
            return Decimal(engine.typed_number("", str(value), counts=self.thousands))
        except engine.InputError as error:
            raise forms.ValidationError(error.message, code="invalid") from error


def _decimal(
    label: str, *, required: bool = False, thousands: bool = False, **attrs: str
) -> NumberField:
    # type=text with inputmode=decimal: a numeric keypad on phones without the browser's own
    # number parsing (which silently drops "70,5" or "1e3"). No digit limits here: the engine
    # checks each range and rounds to the places it shows.
    return NumberField(
        label=label,
        required=required,
        thousands=thousands,
        # enterkeyhint: the phone's Enter key says what it does here (Calculate).
        # autocomplete="off" is the form's (calculator.html): a browser never offers another
        # patient's figures.
        widget=forms.TextInput(attrs={"inputmode": "decimal", "enterkeyhint": "go", **attrs}),
        error_messages={"invalid": "Enter a number.", "required": "Enter the weight."},
    )


def _lab_unit(name: str) -> forms.ChoiceField:
    """The unit a lab value is typed in: the units labs report, the engine's own first."""
    units = engine.LAB_INPUT_UNITS[name]
    label = f"{engine.LAB_NAMES[name]} unit"
    return forms.ChoiceField(
        label=label,
        choices=[(u.value, engine.LAB_UNIT_WORDS[u]) for u in units],
        initial=units[0].value,
        required=False,
        # Beside the value, named for screen readers (the value's own label is the lab's name).
        widget=forms.Select(attrs={"aria-label": label}),
    )


def _pairs(pairs: set[tuple[str, str]]) -> str:
    """Indication and route pairs as a data-* attribute: "ra:iv ra:sc"."""
    return " ".join(sorted(f"{slug}:{route}" for slug, route in pairs))


def _choices(words: Mapping[E, str]) -> list[tuple[str, str]]:
    """Radio choices from an engine enum: the engine's values, in its order, with these words."""
    return [(member.value, words[member]) for member in type(next(iter(words)))]


# The form's own words: the therapy choice is the form's alone (the API takes two booleans), and
# beside a radio button the increased step is said shorter than in the monograph.
THERAPY_WORDS = {
    engine.TherapyContext.STARTING: "Starting therapy",
    engine.TherapyContext.ON_THERAPY: "Already on therapy",
    engine.TherapyContext.RESUMING: "Resuming after a lab hold",
}
STEP_WORDS = engine.STEP_WORDS | {engine.Step.INCREASED: "Increased (after response)"}


def course_max(rules: engine.Rules, indication: object, route: object) -> int:
    """1 + content's additional_doses_max for this indication and route (0: no course)."""
    counts = [
        1 + d.additional_doses_max
        for d in rules.dose_rules
        if d.indication == indication
        and d.route.value == route
        and d.additional_doses_max is not None
    ]
    return max(counts, default=0)


def product_lacks(rules: engine.Rules, product: engine.ProductRule) -> str:
    """The indication and route pairs content doses that this product's label does not carry
    ("ra:sc crs:iv"), as app.mjs reads them; the engine refuses them (its "product" error)."""
    return _pairs(
        {(d.indication, d.route.value) for d in rules.dose_rules}
        - {(r.indication, r.route.value) for r in product.routes}
    )


class ProductSelect(forms.Select):
    """The product choice; each option says what its label lacks (data-lacks), so the page
    offers only that product's indications and routes (app.mjs). The few pairs a product lacks
    weigh less in the first load than the many it offers."""

    lacks: Mapping[str, str] = {}

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if lacks := self.lacks.get(str(value)):
            option["attrs"]["data-lacks"] = lacks
        return option


class AliasedChoiceField(forms.ChoiceField):
    """A choice that also reads an old value as the word that replaced it, and shows it so.

    Pages served before the therapy choice took the engine's word (a cached offline page, an
    open tab) post "continuing": it meant on therapy, so it is read as on_therapy.
    """

    def __init__(self, *args: Any, aliases: Mapping[str, str], **kwargs: Any) -> None:
        self.aliases = aliases
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        return self.aliases.get(value, value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        return self.aliases.get(data, data) if isinstance(data, str) else data


class CalculatorForm(forms.Form):
    # Issue 23: the product in hand, the site's default until chosen (no product posted: the
    # default, so pages and clients from before the choice keep working). Which indications and
    # routes it has is the engine's to refuse, on this field.
    product = forms.ChoiceField(label="Product", required=False, widget=ProductSelect)
    indication = forms.ChoiceField(label="Indication")
    route = forms.ChoiceField(
        label="Route",
        choices=_choices({r: capfirst(words) for r, words in engine.ROUTE_ADJECTIVES.items()}),
        initial=engine.Route.IV.value,
        widget=forms.RadioSelect,
    )
    weight = _decimal("Weight", required=True, placeholder="e.g. 70")
    weight_unit = forms.ChoiceField(
        label="Unit",
        choices=_choices({unit: unit.value for unit in engine.WeightUnit}),
        initial=engine.WeightUnit.KG.value,
        widget=forms.RadioSelect,
    )
    step = forms.ChoiceField(
        label="Dose step",
        choices=_choices(STEP_WORDS),
        initial=engine.Step.STARTING.value,
        widget=forms.RadioSelect,
    )
    age_years = _decimal("Age (years, optional)")
    therapy = AliasedChoiceField(
        label="Therapy",
        choices=_choices(THERAPY_WORDS),
        aliases={"continuing": engine.TherapyContext.ON_THERAPY.value},
        initial=engine.TherapyContext.STARTING.value,
        widget=forms.RadioSelect,
    )
    # Issue 22.3: each lab in the unit the lab reports, its *_unit choice (the engine's own by
    # default); the engine converts (engine.read_lab). Declared in the page's order, which the
    # offline form's error list follows (offline.mjs).
    alt_x_uln = _decimal("ALT")
    alt_unit = _lab_unit("alt_x_uln")
    alt_uln_u_per_l = _decimal("ALT upper limit of normal (U/L)")
    ast_x_uln = _decimal("AST")
    ast_unit = _lab_unit("ast_x_uln")
    ast_uln_u_per_l = _decimal("AST upper limit of normal (U/L)")
    anc_per_mm3 = _decimal("ANC", thousands=True)
    anc_unit = _lab_unit("anc_per_mm3")
    platelets_per_mm3 = _decimal("Platelets", thousands=True)
    platelets_unit = _lab_unit("platelets_per_mm3")
    persistent_rise = forms.BooleanField(
        label="The raised value persists",
        # The label tells the two apart: a raised ALT/AST confirmed by a repeat test is held; only
        # a rise that persists after that is discontinued (the lab rules in content say where).
        help_text="Still raised after the label's first step. A repeat test that only confirms "
        "a new rise does not count.",
        required=False,
    )
    # Issue 22: the clinician confirms the findings of a "Check before giving" result.
    confirmed = forms.BooleanField(label="Confirmed", required=False)
    # Issue 22.5: a single-dose course's repeat doses (the page offers them only where content
    # gives the indication a count, CRS and COVID-19); the choices are that count, 1st to Nth.
    dose_number = forms.ChoiceField(
        label="Dose of the course", initial="1", required=False, widget=forms.RadioSelect
    )
    previous_dose_start = forms.CharField(
        label="Previous dose started",
        required=False,
        # The phone's own picker; the text "2026-03-08 06:30" where it has none.
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "enterkeyhint": "go"}),
    )

    def __init__(self, *args: Any, rules: engine.Rules, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules = rules
        doses = cast(forms.ChoiceField, self.fields["dose_number"])
        largest = max(
            (course_max(rules, d.indication, d.route) for d in rules.dose_rules), default=1
        )
        doses.choices = [(str(n), engine.ordinal(n)) for n in range(1, max(largest, 1) + 1)]
        if self.is_bound and not self.data.get("dose_number"):
            # Fields that were not on the page (another indication's form) mean the first dose,
            # and show it chosen when they appear.
            data = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
            data["dose_number"] = "1"
            self.data = data
        # Offered: this indication's count only (a posted larger number is the engine's to refuse).
        doses.widget.choices = doses.choices[: self.course_max() or 1]
        product = cast(forms.ChoiceField, self.fields["product"])
        product.choices = [(p.slug, engine.product_name(p)) for p in rules.products]
        product.initial = settings.DOSING_DEFAULT_PRODUCT
        cast(ProductSelect, product.widget).lacks = {
            p.slug: product_lacks(rules, p) for p in rules.products
        }
        field = cast(forms.ChoiceField, self.fields["indication"])
        field.choices = [(i.slug, i.name) for i in rules.indications]
        field.initial = rules.indications[0].slug if rules.indications else None
        field.widget.attrs["data-routes"] = " ".join(
            f"{i.slug}:{','.join(sorted({d.route.value for d in rules.dose_rules if d.indication == i.slug}))}"
            for i in rules.indications
        )
        # Where a choice changes the answer (from content): the page offers it only there.
        field.widget.attrs["data-step-choice"] = _pairs(
            {
                (d.indication, d.route.value)
                for d in rules.dose_rules
                if d.step != engine.Step.STARTING
            }
        )
        pairs = {(d.indication, d.route) for d in rules.dose_rules}
        contextual: tuple[engine.LabRule | engine.AdvisoryRule, ...] = (
            *rules.lab_rules,
            *rules.advisories,
        )
        field.widget.attrs["data-therapy-choice"] = _pairs(
            {
                (slug, route.value)
                for rule in contextual
                if rule.context != engine.RuleContext.ANY
                for slug, route in pairs
                if slug in rule.indications and rule.route in (None, route)
            }
            | {(r.indication, r.route.value) for r in rules.resume_rules}
        )

    def course_max(self) -> int:
        """Doses the label allows the chosen indication and route in all (content's repeat
        count); 0 for a repeating schedule, or before an indication with a course is chosen."""
        if not self.is_bound:
            return 0
        return course_max(self.rules, self.data.get("indication"), self.data.get("route"))

    def full_clean(self) -> None:
        super().full_clean()
        self.mark_errors()

    def mark_errors(self) -> None:
        """Each field in error says so itself, for screen readers too (the page shows the text)."""
        for name, field in self.fields.items():
            if name in self.errors:
                field.widget.attrs["aria-invalid"] = "true"
                # The unit's error shows under the weight, with which it is typed.
                slot = "weight" if name == "weight_unit" else name
                field.widget.attrs["aria-describedby"] = f"id_{slot}-error"
            else:
                field.widget.attrs.pop("aria-invalid", None)
                field.widget.attrs.pop("aria-describedby", None)

    def to_inputs(self) -> engine.Inputs:
        data = self.cleaned_data
        return engine.Inputs(
            indication=data["indication"],
            route=data["route"],
            weight=data["weight"],
            weight_unit=data["weight_unit"],
            step=data["step"],
            age_years=data.get("age_years"),
            starting_therapy=data["therapy"] == engine.TherapyContext.STARTING,
            resuming_after_hold=data["therapy"] == engine.TherapyContext.RESUMING,
            persistent_rise=data.get("persistent_rise", False),
            confirmed=data.get("confirmed", False),
            labs=engine.Labs(**{name: data.get(name) or None for name in LAB_FIELDS}),
            dose_number=data.get("dose_number") or "1",
            previous_dose_start=data.get("previous_dose_start") or None,
            time_zone=settings.TIME_ZONE,
            # The request's time on the server's clock, in the site's zone: a repeat dose before
            # its earliest start is a check (the engine reads no clock itself).
            now=engine.iso_minute(timezone.localtime()),
            # The product chosen; none posted (a page from before the choice): the site's default.
            product=data.get("product") or settings.DOSING_DEFAULT_PRODUCT,
        )

    def calculate(self, rules: engine.Rules) -> engine.Result | None:
        """The result, or None with the engine's complaint attached to the field it names."""
        if not self.is_valid():
            return None
        try:
            return engine.calculate(self.to_inputs(), rules)
        except engine.InputError as error:
            field = error.field if error.field in self.fields else None
            self.add_error(field, error.message)
            self.mark_errors()
            return None
