"""API shapes: requests to engine.Inputs, engine objects to JSON. Convert, never compute.

The engine's own dataclasses are the shapes: a response schema reads their attributes
(CalculateOut); nothing here writes JSON by hand. The stored snapshot's shape is snapshot.py's.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from django.conf import settings
from django.utils import timezone
from ninja import Field, Schema
from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from . import engine

# JSON numbers from the engine's Decimals: int is tried first and takes only a whole number,
# so 560 stays 560 (never 560.0) and 27.94 stays 27.94.
Number = Annotated[int | float, Field(union_mode="left_to_right")]


def _decimal_from_json_number(value: object) -> Decimal:
    # A JSON number only: "70" or "" or true is refused, not guessed. The API's parser
    # (actemra_site.parsers) hands over Decimal with every digit the client sent; a float (from
    # another caller) goes through str(), which keeps 29.9 as 29.9 where Decimal(float) would not.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("Enter a number.")
    return value if isinstance(value, Decimal) else Decimal(str(value))


NumberIn = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_json_number),
    WithJsonSchema({"type": "number"}),
]


def _literal(choices: type[enum.StrEnum]) -> Any:
    """The Literal of an engine enum's values: validated, documented (an OpenAPI enum) and
    refused (a literal_error) exactly as a Literal spelled out by hand would be."""
    return Literal[tuple(member.value for member in choices)]


if TYPE_CHECKING:  # a type checker cannot read a Literal built at run time; the values are str
    RouteValue: TypeAlias = str
    WeightUnitValue: TypeAlias = str
    StepValue: TypeAlias = str
    XUlnUnit: TypeAlias = str
    CountUnit: TypeAlias = str
else:
    RouteValue = _literal(engine.Route)
    WeightUnitValue = _literal(engine.WeightUnit)
    StepValue = _literal(engine.Step)
    XUlnUnit = Literal[tuple(u.value for u in engine.LAB_INPUT_UNITS["alt_x_uln"])]
    CountUnit = Literal[tuple(u.value for u in engine.LAB_INPUT_UNITS["anc_per_mm3"])]


class RequestShape(BaseModel):
    """A request body read from JSON: plain pydantic, as ResultShape, not ninja's Schema (its
    wrapper resolves attributes for ORM rows, a third of the cost of reading a calculation)."""

    model_config = ConfigDict(extra="forbid")


class LabsIn(RequestShape):
    alt_x_uln: NumberIn | None = Field(
        default=None, description="ALT as a multiple of the upper limit of normal.", examples=[1.2]
    )
    ast_x_uln: NumberIn | None = Field(
        default=None, description="AST as a multiple of the upper limit of normal.", examples=[0.8]
    )
    anc_per_mm3: NumberIn | None = Field(
        default=None,
        description="Absolute neutrophil count, cells/mm³ (= cells/µL).",
        examples=[3500],
    )
    platelets_per_mm3: NumberIn | None = Field(
        default=None, description="Platelets, cells/mm³ (= cells/µL).", examples=[210000]
    )
    # Issue 22.3: the unit each value is in (default: the one its name says).
    alt_unit: XUlnUnit | None = Field(
        default=None,
        description="Unit of alt_x_uln: x_uln (default) or u_per_l (needs alt_uln_u_per_l).",
    )
    ast_unit: XUlnUnit | None = Field(
        default=None,
        description="Unit of ast_x_uln: x_uln (default) or u_per_l (needs ast_uln_u_per_l).",
    )
    anc_unit: CountUnit | None = Field(
        default=None,
        description="Unit of anc_per_mm3: per_mm3 (cells/mm³, default), e9_per_l (×10⁹/L) or "
        "e3_per_ul (×10³/µL).",
    )
    platelets_unit: CountUnit | None = Field(
        default=None, description="Unit of platelets_per_mm3, as anc_unit."
    )
    alt_uln_u_per_l: NumberIn | None = Field(
        default=None, description="The lab's upper limit of normal for ALT, U/L (with u_per_l)."
    )
    ast_uln_u_per_l: NumberIn | None = Field(
        default=None, description="The lab's upper limit of normal for AST, U/L (with u_per_l)."
    )


class CalculateIn(RequestShape):
    indication: str = Field(
        description="Indication slug: ra, gca, ssc-ild, pjia, sjia, crs or covid-19 (see GET /indications).",
        examples=["ra"],
    )
    route: RouteValue = Field(
        description="iv (intravenous infusion) or sc (subcutaneous injection)."
    )
    weight: NumberIn = Field(
        description="Body weight in weight_unit; above 0 and up to 500 kg (1,102.31 lb).",
        examples=[70],
    )
    weight_unit: WeightUnitValue = Field(
        engine.WeightUnit.KG.value, description="kg or lb (1 lb = 0.45359237 kg)."
    )
    step: StepValue = Field(
        engine.Step.STARTING.value,
        description="starting dose, or increased after clinical response (where the label has one).",
    )
    age_years: NumberIn | None = Field(
        None,
        description="Age in years; below the label's minimum the result is not_recommended.",
        examples=[54],
    )
    starting_therapy: bool = Field(
        True,
        strict=True,
        description="true: the do-not-start lab thresholds apply; false: the on-therapy modifications apply.",
    )
    resuming_after_hold: bool = Field(
        False,
        strict=True,
        description="true: resuming after a lab hold (needs starting_therapy false); the label's "
        "resume dose where it gives one (RA: 4 mg/kg intravenous, every other week subcutaneous).",
    )
    persistent_rise: bool = Field(
        False,
        strict=True,
        description="true: the raised lab value persists, still raised after the label's first "
        "step (a DMARD adjustment or a hold); the label's step for a persistent rise then leads "
        "(ALT/AST: reduce, hold or discontinue). A repeat test that only confirms a new rise is "
        "not persistence: the label holds a confirmed rise and discontinues one that persists.",
    )
    labs: LabsIn | None = Field(None, description="Optional lab values.")
    confirmed: bool = Field(
        False,
        strict=True,
        description="true: the clinician has seen the findings that ask to confirm (the result's "
        "checks: an unusual weight, a weight near a band edge, the increased dose at the start, "
        "a dose above the uncapped-dose note, a high final concentration) and confirms the dose; "
        "a result in the check state then gives, recording that it was confirmed.",
    )

    dose_number: int = Field(
        1,
        strict=True,
        description="Single-dose courses (CRS: 1 to 4, COVID-19: 1 or 2, from the label's count "
        "in content): which dose this is. Other indications: 1.",
    )
    previous_dose_start: str | None = Field(
        None,
        description="From dose 2: when the previous dose started, ISO 8601 to the minute "
        "('2026-03-08T06:30', read in time_zone, or with an offset '2026-03-08T06:30-05:00'). "
        "A wall-clock time the zone skips is refused; one it shows twice is read as the later.",
        examples=["2026-03-08T06:30"],
    )
    time_zone: str | None = Field(
        None,
        description="IANA zone for previous_dose_start without an offset and for the times "
        "written back (default: the site's, DJANGO_TIME_ZONE). Hours are elapsed hours.",
    )
    product: str = Field(
        "actemra",
        description="The product given: actemra, tofidence, tyenne or avtozma (the published "
        "products). Each is offered only for the indications and routes its label carries: "
        "another is a 422 naming product (TOFIDENCE subcutaneous or CRS, any biosimilar "
        "SSc-ILD). Default actemra, so clients that name none get what they got before.",
        examples=["actemra"],
    )

    now: str | None = Field(
        None,
        description="When this dose would start, ISO 8601 to the minute (read in time_zone, or "
        "with an offset). Default: the server's clock when the request arrives. From dose 2, a "
        "start before the earliest one (previous_dose_start + the label's hours, elapsed) is a "
        "check (action 'check', code 'early_start', naming the earliest start) until confirmed. "
        "Send it to judge a planned start; the engine without a time makes no such check and "
        "only states the earliest start.",
        examples=["2026-03-08T14:30"],
    )

    def to_inputs(self) -> engine.Inputs:
        return engine.Inputs(
            indication=self.indication,
            route=self.route,
            weight=self.weight,
            weight_unit=self.weight_unit,
            step=self.step,
            age_years=self.age_years,
            starting_therapy=self.starting_therapy,
            resuming_after_hold=self.resuming_after_hold,
            persistent_rise=self.persistent_rise,
            confirmed=self.confirmed,
            labs=engine.Labs() if self.labs is None else engine.Labs(**self.labs.model_dump()),
            dose_number=self.dose_number,
            previous_dose_start=self.previous_dose_start,
            time_zone=self.time_zone or settings.TIME_ZONE,
            # Without a time from the client, the request's own (server clock, site zone).
            now=self.now if self.now is not None else engine.iso_minute(timezone.localtime()),
            product=self.product,
        )


class ResultShape(BaseModel):
    """Read from the engine's result objects by attribute. Plain pydantic, not ninja's Schema:
    ninja's wrapper resolves each attribute in Python (built for ORM rows), which tripled the
    cost of answering a calculation."""

    model_config = ConfigDict(from_attributes=True)


class VialOut(ResultShape):
    strength_mg: Number = Field(description="Vial strength, mg.")
    volume_ml: Number = Field(description="Vial volume, mL.")
    count: int = Field(description="How many vials of this strength.")


class DeviceOut(ResultShape):
    device: str = Field(description="syringe or autoinjector.")
    label: str = Field(description="What the clinician reads.")
    strength_mg: Number = Field(description="Device strength, mg.")
    volume_ml: Number = Field(description="Device volume, mL.")


class RepeatOut(ResultShape):
    additional_doses_max: int = Field(
        description="How many more doses the label allows after the first (the course's, not what is left)."
    )
    min_hours_apart: int = Field(description="Minimum hours between doses.")
    condition: str = Field(description="When a further dose may be given.")
    dose_number: int = Field(description="This dose of the course (1 = the first).")
    doses_max: int = Field(description="Doses the label allows in all (1 + additional_doses_max).")
    previous_dose_start: str | None = Field(
        description="From dose 2: the previous dose's start as read (ISO 8601, the zone's offset)."
    )
    not_before: str | None = Field(
        description="From dose 2: this dose's earliest start, min_hours_apart elapsed hours after "
        "the previous one (ISO 8601 with the zone's offset)."
    )


class NoticeOut(ResultShape):
    code: str = Field(
        description="Stable identifier of the warning (a content code; if-persistent-<lab rule code> for the step the label gives if a rise persists; or verify_label, age_below_minimum, weight_implausible, band_edge, increased_at_initiation, resume_not_stated, no_label_maximum, preparation_impossible, no_bag_rule)."
    )
    severity: engine.Severity = Field(
        description="danger, warning or info; warnings come ordered by severity."
    )
    message: str = Field(description="What the clinician reads.")
    label_section: str = Field(description="The PI section behind it (may be empty).")
    anchor: str = Field(description="Anchor on /monograph/ that explains it (may be empty).")


class CheckOut(ResultShape):
    code: str = Field(description="The finding to confirm: " + ", ".join(engine.CHECK_CODES) + ".")
    message: str = Field(description="What the clinician reads (also in warnings).")
    alternative: str = Field(
        description="The alternative, where there is one ('18 kg would be 216 mg every 2 weeks')."
    )
    label_section: str = Field(description="The PI section behind it (may be empty).")
    anchor: str = Field(description="Anchor on /monograph/ that explains it (may be empty).")


class ReferenceOut(ResultShape):
    label_section: str = Field(description="A PI section behind the result.")
    anchor: str = Field(description="Anchor on /monograph/.")


class PreparationStepOut(ResultShape):
    code: str = Field(description="Stable step code: vials, saline, draw, add, final, infuse, ...")
    text: str = Field(description="What the clinician reads.")
    exact: str = Field(description="The unrounded figure behind a rounded volume (may be empty).")
    label_section: str = Field(description="The PI section behind the step.")
    anchor: str = Field(description="Anchor on /monograph/.")


class StorageOut(ResultShape):
    diluent: str = Field(description="The diluent of the bag.")
    temperature: str = Field(description="Storage temperature.")
    max_hours: int = Field(description="Hours the diluted bag keeps.")


class NextDoseOut(ResultShape):
    kind: Literal["due", "no_sooner"] = Field(
        description="due: after `days`; no_sooner: a further dose at least `hours` later."
    )
    days: int | None = Field(description="Days to the next dose.")
    hours: int | None = Field(description="Minimum hours before a further dose.")
    not_before: str | None = Field(
        description="A repeat dose's own earliest start (ISO 8601): the further dose counts from it."
    )


class ProductOut(ResultShape):
    slug: str = Field(description="The product's slug, as product names it in the request.")
    brand_name: str = Field(description="TYENNE.")
    nonproprietary_name: str = Field(description="With the FDA suffix: tocilizumab-aazg.")
    biosimilar: bool = Field(description="Biosimilar to ACTEMRA (never 'interchangeable').")
    label_name: str = Field(description="The product's label the figures link to.")
    label_url: str = Field(description="Where that label is read.")
    label_revision: str | None = Field(description="Its revision date (null until confirmed).")


class CalculateOut(ResultShape):
    action: engine.Action = Field(
        description="What to do; with several lab findings the most severe wins. check: a dose "
        "that waits for the clinician to confirm the checks (send confirmed: true)."
    )
    indication: str = Field(description="Indication slug.")
    indication_name: str = Field(description="Indication name.")
    route: engine.Route = Field(description="Route.")
    step: engine.Step = Field(description="Dose step.")
    weight_kg: Number = Field(
        description="Weight as shown, kg: 0.01 kg, or up to 0.0001 kg where 0.01 kg would cross "
        "a band edge (the band and the dose use the exact weight, lb converted exactly)."
    )
    dose_mg: Number | None = Field(
        description="Dose to give, mg (0.1 mg); null when the action is hold, discontinue or "
        "not_recommended (a dose that cannot be prepared is not_recommended). While action is "
        "check: the dose once confirmed."
    )
    mg_per_kg: Number | None = Field(description="Intravenous: mg/kg used (after any reduction).")
    calculated_mg: Number | None = Field(
        description="Dose before the label maximum was applied, mg."
    )
    capped: bool = Field(description="true when the label maximum per infusion reduced the dose.")
    max_mg: Number | None = Field(
        description="The label maximum per infusion, mg (null where none is stated)."
    )
    interval_days: int | None = Field(
        description="Days between doses; null for a single-dose course and whenever no dose is "
        "given (hold, discontinue, not_recommended)."
    )
    repeat: RepeatOut | None = Field(
        description="Single-dose course (CRS, COVID-19): the repeat rule; null when no dose is given."
    )
    next_step: str = Field(
        description="What comes next, for example the increase after clinical response."
    )
    concomitant: str = Field(description="Concomitant therapy text from the label.")
    volume_ml: Number | None = Field(
        description="Volume to draw (intravenous, dose ÷ 20 mg/mL, 0.01 mL) or inject (subcutaneous)."
    )
    vials: list[VialOut] = Field(
        description="Intravenous vials: least unused drug, then fewest vials."
    )
    vial_total_mg: Number | None = Field(description="mg in the chosen vials.")
    waste_mg: Number | None = Field(description="mg left unused in the vials (discard).")
    bag_ml: Number | None = Field(
        description="Final bag volume, mL (adults 100; PJIA, SJIA, CRS 50 below 30 kg, 100 from "
        "30 kg); null when the drug does not fit with saline to spare (see the warnings)."
    )
    diluents: str = Field(description="Diluents for the bag.")
    infusion_minutes: int | None = Field(description="Infusion time, minutes.")
    rate_ml_per_hour: Number | None = Field(description="Infusion rate, mL/hour (0.1 mL/hour).")
    devices: list[DeviceOut] = Field(description="Subcutaneous devices.")
    warnings: list[NoticeOut] = Field(
        description="Every label warning that applies, most severe first."
    )
    references: list[ReferenceOut] = Field(
        description="The label sections behind the result, the dose rule's first."
    )
    content_version: int = Field(description="Published content version of the rules used.")
    content_published_on: str = Field(
        description="Publish date (YYYY-MM-DD) of that content version."
    )
    display: dict[str, str] = Field(
        description="The figures as the page shows them (ISMP style: 0.9 mL, 560 mg); "
        "intravenous volume: the one to draw ('14 mL in a 20 mL syringe = 280 mg'), "
        "volume_exact the calculated one ('13.97 mL')."
    )
    # Issue 15: preparation in order, the diluted bag's storage, the next dose, the chart note.
    preparation_steps: list[PreparationStepOut] = Field(
        description="The preparation in the order it is done (empty unless a dose is given)."
    )
    draw_ml: Number | None = Field(
        description="Intravenous: the volume to draw up, as its syringe measures it (content's "
        "syringe graduations, half up; never above the vials or the label maximum). The exact "
        "volume is volume_ml. Null while action is check."
    )
    draw_mg: Number | None = Field(
        description="Intravenous: the mg in draw_ml (0.1 mg): what goes into the bag."
    )
    syringe_ml: Number | None = Field(
        description="Intravenous: the syringe draw_ml is measured in (mL it holds; null where "
        "content sets no syringes)."
    )
    saline_remove_ml: Number | None = Field(
        description="Intravenous: saline to withdraw from the bag first (equal to the drug volume)."
    )
    use_within: list[StorageOut] = Field(
        description="Intravenous: how long the diluted bag keeps, by diluent and temperature."
    )
    next_dose: NextDoseOut | None = Field(
        description="When the next dose falls; null on a hold, discontinue or not_recommended."
    )
    chart_note: str = Field(
        description="Plain-text note for the chart, in safe notation (empty while action is check)."
    )
    checks: list[CheckOut] = Field(
        description="The findings that ask to confirm, to show under the headline: while action "
        "is check, and once confirmed (empty otherwise)."
    )
    action_if_confirmed: engine.Action | None = Field(
        description="While action is check: the action a confirmation gives (give or reduce)."
    )
    confirmed: bool = Field(description="true when the checks were confirmed (confirmed: true).")
    product: ProductOut = Field(description="The product given and its label (issue 23).")


def result_data(result: engine.Result) -> dict[str, Any]:
    """The result as the shared test vectors hold it: CalculateOut without the publish date
    (the vectors are made on a fixed snapshot; the date is the API's)."""
    out = CalculateOut.model_validate(result)
    data: dict[str, Any] = out.model_dump(mode="json", exclude={"content_published_on"})
    return data


class SectionOut(Schema):
    slug: str = Field(description="Anchor on /monograph/.")
    title: str
    body: str = Field(description="Markdown, as the content admin wrote it.")
    body_html: str = Field(description="Rendered and sanitized HTML.")
    label_section: str
    evidence: str
    needs_review: bool


class MonographOut(Schema):
    brand_name: str
    generic_name: str
    pronunciation: str
    other_names: list[str]
    drug_class: str
    mechanism: str
    label_name: str
    label_url: str
    label_revision: str | None = Field(
        description="Revision date of the label (null until confirmed)."
    )
    content_version: int
    sections: list[SectionOut]


class DoseRuleOut(Schema):
    route: engine.Route
    step: engine.Step
    band: str = Field(description="The weight band in words.")
    min_weight_kg: Number | None = Field(description="From this weight (inclusive).")
    max_weight_kg: Number | None = Field(description="Below this weight (exclusive).")
    mg_per_kg: Number | None
    flat_mg: Number | None
    interval_days: int | None
    additional_doses_max: int | None
    min_hours_apart: int | None
    max_mg: Number | None
    next_step: str
    concomitant: str
    label_section: str
    evidence: str
    needs_review: bool


class LabRuleOut(Schema):
    code: str
    lab: engine.Lab
    context: engine.RuleContext
    route: engine.Route | None
    range: str = Field(description="The range in words, for example '≥ 500 and ≤ 1,000'.")
    action: engine.Action
    message: str
    label_section: str
    evidence: str
    needs_review: bool


class PresentationOut(Schema):
    route: engine.Route
    device: str
    device_label: str
    strength_mg: Number
    volume_ml: Number


class IndicationOut(Schema):
    slug: str
    name: str
    population: str
    min_age_years: Number | None
    adult_only: bool
    routes: list[engine.Route]
    label_section: str
    evidence: str
    needs_review: bool
    dose_rules: list[DoseRuleOut]
    presentations: list[PresentationOut]
    lab_rules: list[LabRuleOut]


class VersionOut(Schema):
    number: int
    published_at: str = Field(description="ISO 8601 date and time of the publish.")
    summary: str = Field(description="The change summary the reviewer wrote.")
    label_revision: str | None = Field(description="Label revision the content follows.")
    content_hash: str = Field(description="SHA-256 of the snapshot's content.")
    clinically_reviewed: bool = Field(description="False for version 1 (seeded, not reviewed).")
    reviewed_by: str | None = Field(
        description="Who reviewed and published it: a role for anonymous callers, the user name "
        "for signed-in staff; null when nobody reviewed it."
    )
    authors: list[str] | None = Field(
        description="Who changed the draft (signed-in staff only; null for anonymous callers)."
    )
    rolled_back_from: int | None = Field(description="The earlier version it restores, if any.")
    changes: list[str] = Field(description="The clinical diff against the previous version.")
    live: bool = Field(description="True for the version the calculator uses now.")


class VersionDetailOut(VersionOut):
    snapshot: dict[str, Any] = Field(
        description="The rules the engine reads (as GET /rules) and the monograph text."
    )


class HealthOut(Schema):
    status: Literal["ok", "degraded", "unavailable"]
    content_version: int | None = None
    database: Literal["ok", "unavailable"]
    cache: Literal["ok", "unavailable", "local"]
    content: str = Field(
        "ok",
        description="ok, or why this instance serves an earlier version than the live one "
        "(a stored snapshot that fails its SHA-256 check).",
    )


class ErrorOut(Schema):
    detail: Any = Field(description="A message, or a list of {type, loc, msg}.")
