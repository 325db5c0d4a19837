"""Content rows that content admins edit: the monograph and every dosing table.

Nothing clinical lives in code. Every figure the calculator uses is a row here, carries the label
section it comes from and its evidence level, and records its history. These rows are the draft:
saving one bumps `ContentVersion` (the draft revision, signals.py) and changes nothing clinicians
see. A second person publishes the draft as an immutable `PublishedVersion` (publishing.py).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Hashable, Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ImproperlyConfigured, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import capfirst
from simple_history.models import HistoricalRecords

from . import engine
from .bands import Band, BandProblem, Edge, check_band_sets, check_bands
from .markdown import render_markdown

POSITIVE = MinValueValidator(Decimal("0.01"), message="Must be greater than zero.")
SLUG = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    message="Use lower-case letters, digits and single hyphens (for example ssc-ild).",
)


class Evidence(models.TextChoices):
    PI = "PI", "PI: current label text"
    PI_OLD = "PI-old", "PI-old: earlier label, believed unchanged"
    SECONDARY = "2nd", "2nd: label-derived secondary references"
    OPEN = "OPEN", "OPEN: not confirmed, verify against the current label"


E = TypeVar("E", bound=enum.StrEnum)


def _choices(labels: Mapping[E, str], of: Iterable[E] | None = None) -> list[tuple[str, str]]:
    """An engine enum as Django choices: the engine's values (stored as they are) with these
    labels, in this order. Every member (of `of`, where only some are choices) needs a label: a
    word added to the engine stops the start until the admin can name it."""
    kind = type(next(iter(labels)))
    if missing := [member.value for member in (of or kind) if member not in labels]:
        raise ImproperlyConfigured(f"No admin label for {kind.__name__} {', '.join(missing)}.")
    return [(member.value, label) for member, label in labels.items()]


# The choices of every content row come from the engine's vocabulary (engine.Route, engine.Step
# ...): the labels are the engine's words where the admin shows the same, its own where it says
# more. Values and labels are those the migrations record, so none is needed.
ROUTE_CHOICES = _choices({route: capfirst(words) for route, words in engine.ROUTE_WORDS.items()})
STEP_CHOICES = _choices(engine.STEP_WORDS)
LAB_CHOICES = _choices(
    {lab: engine.lab_words(lab) for lab in engine.Lab}
    | {engine.Lab.ANC: "Absolute neutrophil count (cells/mm³)"}
)
CONTEXT_CHOICES = _choices(
    {
        engine.RuleContext.STARTING: "Before starting therapy",
        engine.RuleContext.ON_THERAPY: "On therapy",
        engine.RuleContext.ANY: "Before starting and on therapy",
    }
)
PERSISTENCE_CHOICES = _choices(
    {
        engine.Persistence.ANY: "Any raised value",
        engine.Persistence.UNCONFIRMED: "Only a rise that does not (yet) persist",
        engine.Persistence.PERSISTENT: "Only a rise that persists after the first step",
    }
)
# A lab rule never decides CHECK (the engine's own findings do): it is no admin choice.
ACTION_CHOICES = _choices(
    {
        action: words
        for action, words in engine.ACTION_WORDS.items()
        if action in engine.LAB_ACTIONS
    },
    of=engine.LAB_ACTIONS,
)
SEVERITY_CHOICES = _choices(
    {
        engine.Severity.DANGER: "Danger",
        engine.Severity.WARNING: "Warning",
        engine.Severity.INFO: "Information",
    }
)


class ContentVersion(models.Model):
    """One row: the draft-changed marker, bumped whenever any content row is saved or deleted.

    It numbers draft revisions, not what clinicians see: the calculator, the API and the offline
    app only ever use the live `PublishedVersion` (content.py).
    """

    number = models.PositiveIntegerField(default=1)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "draft revision"

    def __str__(self) -> str:
        return f"draft revision {self.number} ({self.changed_at:%Y-%m-%d %H:%M})"

    @classmethod
    def current(cls) -> ContentVersion:
        version = cls.objects.order_by("pk").first()
        return version or cls.objects.create()

    @classmethod
    def bump(cls) -> None:
        with transaction.atomic():
            updated = cls.objects.update(number=F("number") + 1, changed_at=timezone.now())
            if not updated:
                cls.objects.create()


class ContentRow(models.Model):
    """Reviewed content: every concrete subclass is part of the draft, under the two-person rule.

    Subclassing is registering: `content_models()` lists every model built on this base, and
    history, the draft marker (signals.py), authorship, "last reviewed", the clinical diff and
    the admin all read that one list. Every content model keeps its history.
    """

    history: ClassVar[Any]  # each subclass's HistoricalRecords (a test holds every one to it)

    class Meta:
        abstract = True


def content_models() -> tuple[type[ContentRow], ...]:
    """Every content model, by name: the one registry (read once the app registry is ready)."""
    from django.apps import apps

    found = (m for m in apps.get_app_config("dosing").get_models() if issubclass(m, ContentRow))
    return tuple(sorted(found, key=lambda model: model.__name__))


def clinical_models() -> tuple[type[ClinicalRow], ...]:
    """The content models that carry a label section, an evidence level and a review."""
    return tuple(m for m in content_models() if issubclass(m, ClinicalRow))


class ClinicalRow(ContentRow):
    """Fields every clinical row carries: where it comes from, how sure we are, who checked it."""

    label_section = models.CharField(
        max_length=40, help_text="PI section behind this row, for example 2.1 or 5.3."
    )
    evidence = models.CharField(max_length=8, choices=Evidence.choices, default=Evidence.PI)
    needs_review = models.BooleanField(
        default=False,
        help_text="Shown to clinicians as 'verify against the current label'. "
        "Always set for OPEN evidence.",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="last reviewed by",
    )
    reviewed_on = models.DateField("last reviewed on", null=True, blank=True)

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        if self.evidence == Evidence.OPEN and not self.needs_review:
            raise ValidationError(
                {"needs_review": "Rows with OPEN evidence must be flagged for review."}
            )


class Drug(ClinicalRow):
    brand_name = models.CharField(max_length=80)
    generic_name = models.CharField(max_length=80)
    pronunciation = models.CharField(max_length=80, blank=True)
    other_names = models.TextField(blank=True, help_text="One name a line (biosimilars, codes).")
    drug_class = models.CharField(max_length=200)
    mechanism = models.TextField("mechanism of action")
    label_name = models.CharField(max_length=200, help_text="The label this content restates.")
    label_url = models.URLField(max_length=400)
    label_revision = models.DateField(
        null=True, blank=True, help_text="Revision date of that label; empty until confirmed."
    )
    max_weight_kg = models.DecimalField(
        "largest weight accepted (kg)",
        max_digits=6,
        decimal_places=2,
        default=Decimal("500"),
        validators=[POSITIVE],
        help_text="Weights above this are refused as input errors.",
    )
    band_margin_percent = models.DecimalField(
        "band-edge warning margin (%)",
        max_digits=4,
        decimal_places=2,
        default=Decimal("2"),
        validators=[MinValueValidator(0)],
        help_text="A weight within this percentage of a weight where the dose or the bag "
        "changes gets a warning naming both sides (0: only exactly at the edge).",
    )
    uncapped_note_above_mg = models.DecimalField(
        "note uncapped doses above (mg)",
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[POSITIVE],
        help_text="A per-kg dose the label does not cap, above this, gets a note that the label "
        "states no maximum. Empty: no note.",
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.brand_name} ({self.generic_name})"


class MonographSection(ClinicalRow):
    drug = models.ForeignKey(Drug, on_delete=models.CASCADE, related_name="sections")
    slug = models.SlugField(max_length=60, help_text="Anchor on the monograph page.")
    title = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=0)
    body = models.TextField(help_text="Markdown. HTML is sanitized when shown.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["drug", "slug"], name="unique_section_slug"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def body_html(self) -> str:
        return render_markdown(self.body)


class Indication(ClinicalRow):
    drug = models.ForeignKey(Drug, on_delete=models.CASCADE, related_name="indications")
    slug = models.CharField(max_length=40, unique=True, validators=[SLUG])
    name = models.CharField(max_length=160)
    population = models.TextField()
    min_age_years = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    adult_only = models.BooleanField(default=False, help_text="Not approved under 18 years.")
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def routes(self) -> list[str]:
        present = {rule.route for rule in self.dose_rules.all()}
        return [route.value for route in engine.Route if route in present]


class Product(ClinicalRow):
    """A tocilizumab product (ACTEMRA or a biosimilar, issue 23): its dosing is its drug's rows,
    offered only for the indications and routes its ProductRoutes name (reference: "A product's
    dosing reuses ACTEMRA's rules ... what differs is availability, presentations, diluents,
    codes and the label a figure links to")."""

    drug = models.ForeignKey(
        Drug,
        on_delete=models.CASCADE,
        related_name="products",
        help_text="Whose dosing rows this product uses.",
    )
    slug = models.CharField(
        max_length=40, unique=True, validators=[SLUG], help_text="As inputs name it: tyenne."
    )
    brand_name = models.CharField(max_length=80)
    nonproprietary_name = models.CharField(
        max_length=80, help_text="With the FDA suffix: tocilizumab-aazg."
    )
    holder = models.CharField("holder (US)", max_length=200, blank=True)
    # Never "interchangeable": the Purple Book status is OPEN for every biosimilar (reference).
    biosimilar = models.BooleanField(default=False, help_text="Biosimilar to ACTEMRA.")
    bla = models.CharField("BLA", max_length=80, blank=True, help_text="Empty while OPEN.")
    label_name = models.CharField(max_length=200, help_text="The label of this product.")
    label_url = models.URLField(max_length=400)
    label_revision = models.DateField(
        null=True, blank=True, help_text="Revision date of that label; empty until confirmed."
    )
    diluents = models.CharField(
        max_length=200,
        blank=True,
        help_text="The diluents the preparation names for this product; empty: the drug's "
        "preparation's.",
    )
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return f"{self.brand_name} ({self.nonproprietary_name})"


class ProductRoute(ClinicalRow):
    """An indication and route a product's label carries. No row: not offered for that product.
    An OPEN row is offered, flagged: the clinician is told to verify against that label."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="routes")
    indication = models.ForeignKey(
        Indication, on_delete=models.CASCADE, related_name="product_routes"
    )
    route = models.CharField(max_length=2, choices=ROUTE_CHOICES)
    history = HistoricalRecords()

    class Meta:
        ordering = ["product", "indication__order", "route"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "indication", "route"], name="unique_product_route"
            ),
        ]

    def __str__(self) -> str:
        route = engine.ROUTE_ADJECTIVES[engine.Route(self.route)]
        return f"{self.product.brand_name}: {self.indication.name}, {route}"

    def clean(self) -> None:
        super().clean()
        linked = self.product_id and self.indication_id
        if linked and self.indication.drug_id != self.product.drug_id:
            raise ValidationError(
                {"indication": "The indication must be one of the product's drug."}
            )


class ProductNotice(ClinicalRow):
    """A notice tied to a product (a recall): content an admin attaches and lifts (untick
    active), shown as a finding on that product's results for its route (empty: every route)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="notices")
    code = models.SlugField(max_length=60, unique=True)
    route = models.CharField(
        max_length=2, choices=ROUTE_CHOICES, blank=True, help_text="Empty: every route."
    )
    title = models.CharField(max_length=200)
    text = models.TextField()
    severity = models.CharField(
        max_length=8, choices=SEVERITY_CHOICES, default=engine.Severity.WARNING.value
    )
    active = models.BooleanField(default=True, help_text="Untick to lift the notice.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["product", "code"]

    def __str__(self) -> str:
        return f"{self.product.brand_name}: {self.title}"


class WeightBand(models.Model):
    """A half-open weight range [min, max): 30.0 kg belongs to the ">= 30 kg" band."""

    EDGE_FIELDS = {Edge.LOWER: "min_weight_kg", Edge.UPPER: "max_weight_kg"}

    min_weight_kg = models.DecimalField(
        "from (kg, inclusive)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    max_weight_kg = models.DecimalField(
        "below (kg, exclusive)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[POSITIVE],
    )

    class Meta:
        abstract = True

    @property
    def band(self) -> str:
        return engine.band_label(self.min_weight_kg, self.max_weight_kg)

    def clean(self) -> None:
        super().clean()
        low, high = self.min_weight_kg, self.max_weight_kg
        if low is not None and high is not None and low >= high:
            raise ValidationError(
                {"max_weight_kg": "The upper bound must be greater than the lower bound."}
            )


def band_errors(problems: Iterable[BandProblem], band: Hashable) -> dict[str, list[str]]:
    """Each problem on the field of `band`'s edge at fault; problems elsewhere in the set (a
    sibling's), on the form as a whole."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        fields = [WeightBand.EDGE_FIELDS[edge] for edge in sorted(problem.edges_of(band))]
        for field in fields or [NON_FIELD_ERRORS]:
            errors.setdefault(field, []).append(str(problem))
    return errors


class DoseRule(ClinicalRow, WeightBand):
    indication = models.ForeignKey(Indication, on_delete=models.CASCADE, related_name="dose_rules")
    route = models.CharField(max_length=2, choices=ROUTE_CHOICES)
    step = models.CharField(max_length=10, choices=STEP_CHOICES, default=engine.Step.STARTING.value)
    mg_per_kg = models.DecimalField(
        "dose (mg/kg)", max_digits=6, decimal_places=2, null=True, blank=True, validators=[POSITIVE]
    )
    flat_mg = models.DecimalField(
        "dose (flat mg)",
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[POSITIVE],
    )
    interval_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Leave empty for a single-dose course.",
    )
    additional_doses_max = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Single-dose course: how many more doses may follow."
    )
    min_hours_apart = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)]
    )
    repeat_condition = models.CharField(
        max_length=200, blank=True, help_text="When a further dose of the course may be given."
    )
    max_mg = models.DecimalField(
        "maximum per infusion (mg)",
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[POSITIVE],
        help_text="Leave empty where the label states no maximum.",
    )
    next_step = models.CharField(max_length=240, blank=True)
    concomitant = models.CharField("concomitant therapy", max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        # "-step" puts starting before increased (alphabetically the other way round).
        ordering = ["indication__order", "route", "-step", F("min_weight_kg").asc(nulls_first=True)]
        constraints = [
            models.CheckConstraint(
                condition=Q(mg_per_kg__isnull=True) ^ Q(flat_mg__isnull=True),
                name="dose_is_per_kg_or_flat",
                violation_error_message="Give either a mg/kg dose or a flat mg dose, not both.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indication.slug} {self.route.upper()} {self.step} {self.band}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        if (self.mg_per_kg is None) == (self.flat_mg is None):
            errors["mg_per_kg"] = "Give either a mg/kg dose or a flat mg dose, not both."
        if self.route == engine.Route.SC and self.mg_per_kg is not None:
            errors["mg_per_kg"] = "Subcutaneous doses are flat (mg), not per kg."
        if self.interval_days is None and self.additional_doses_max is None:
            errors["interval_days"] = (
                "Give an interval, or leave it empty and describe the single-dose course "
                "(additional doses)."
            )
        if self.interval_days is not None and self.additional_doses_max is not None:
            errors["additional_doses_max"] = "A repeating schedule has no single-dose course."
        if self.additional_doses_max and not self.min_hours_apart:
            errors["min_hours_apart"] = "Say how many hours apart further doses must be."
        if errors:
            raise ValidationError(errors)

    # The fields that place a band among its siblings; the weights are checked with them.
    SET_FIELDS = frozenset({"indication", "route", "step", "min_weight_kg", "max_weight_kg"})

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        """Django's constraints, then the band among the saved siblings of its indication, route
        and step. An inline formset leaves the indication out (Django excludes the parent's key
        from an inline row): that formset checks the bands it submits as a set (admin.py)."""
        errors: dict[str, list[ValidationError]] = {}
        try:
            super().validate_constraints(exclude)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if self.indication_id and not self.SET_FIELDS & set(exclude or ()):
            siblings = DoseRule.objects.filter(
                indication_id=self.indication_id, route=self.route, step=self.step
            ).exclude(pk=self.pk)
            this = object()  # the row being checked: it may have no pk yet
            bands: list[Band] = [(r.min_weight_kg, r.max_weight_kg, r.pk) for r in siblings]
            bands.append((self.min_weight_kg, self.max_weight_kg, this))
            for field, problems in band_errors(check_bands(bands), this).items():
                errors.setdefault(field, []).extend(ValidationError(p) for p in problems)
        if errors:
            raise ValidationError(errors)


class Presentation(ClinicalRow):
    class Device(models.TextChoices):
        VIAL = "vial", "Single-dose vial"
        SYRINGE = "syringe", "Single-dose prefilled syringe"
        # The device's brand name (ACTPen) is the product's (ProductPresentation.name).
        AUTOINJECTOR = "autoinjector", "Single-dose autoinjector"

    drug = models.ForeignKey(Drug, on_delete=models.CASCADE, related_name="presentations")
    route = models.CharField(max_length=2, choices=ROUTE_CHOICES)
    device = models.CharField(max_length=20, choices=Device.choices)
    strength_mg = models.DecimalField(max_digits=7, decimal_places=2, validators=[POSITIVE])
    volume_ml = models.DecimalField(max_digits=6, decimal_places=2, validators=[POSITIVE])
    available = models.BooleanField(default=True, help_text="Offered by the calculator.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["route", "device", "strength_mg"]

    def __str__(self) -> str:
        return f"{self.get_device_display()} {engine.format_number(self.strength_mg)} mg / {engine.format_number(self.volume_ml)} mL"

    @property
    def concentration_mg_per_ml(self) -> Decimal:
        return self.strength_mg / self.volume_ml


class ProductPresentation(ClinicalRow):
    """A presentation a product comes in (issue 23): ACTEMRA's vials, syringe and ACTPen; a
    biosimilar only what its label or the products reference names, graded (TYENNE's vial
    strengths OPEN, no TOFIDENCE syringe). No row: the calculator never offers it for that
    product."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="presentations")
    presentation = models.ForeignKey(
        Presentation, on_delete=models.CASCADE, related_name="products"
    )
    name = models.CharField(
        max_length=40,
        blank=True,
        help_text="The device's name on this product's label (ACTPen); empty while not named.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = [
            "product",
            "presentation__route",
            "presentation__device",
            "presentation__strength_mg",
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "presentation"], name="unique_product_presentation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.brand_name}: {self.presentation}{f' ({self.name})' if self.name else ''}"

    def clean(self) -> None:
        super().clean()
        linked = self.product_id and self.presentation_id
        if linked and self.presentation.drug_id != self.product.drug_id:
            raise ValidationError(
                {"presentation": "The presentation must be one of the product's drug."}
            )


class Preparation(ClinicalRow):
    """How an intravenous dose is prepared and given."""

    drug = models.OneToOneField(Drug, on_delete=models.CASCADE, related_name="preparation")
    concentration_mg_per_ml = models.DecimalField(
        "vial concentration (mg/mL)", max_digits=6, decimal_places=2, validators=[POSITIVE]
    )
    diluents = models.CharField(max_length=200)
    infusion_minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    min_saline_ml = models.DecimalField(
        "saline to spare (mL)",
        max_digits=6,
        decimal_places=2,
        default=Decimal(0),
        validators=[MinValueValidator(0)],
        help_text="The bag must keep more than this much saline beside the drug; otherwise the "
        "calculator says the preparation cannot be made as labelled (0: the drug volume must "
        "stay below the final volume).",
    )
    instructions = models.TextField(help_text="Markdown: how to dilute, infuse, store.")
    # The preparation steps (issue 15): the calculator's words for them, each from this section.
    syringe_precision_ml = models.DecimalField(
        "syringe precision (mL)",
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.1"),
        validators=[POSITIVE],
        help_text="Volumes to draw up are shown to this step where no syringe is set "
        "(Syringes: each has its own graduations).",
    )
    mixing = models.CharField(
        max_length=300, blank=True, help_text="The step after drawing up: how to add and mix."
    )
    line_instructions = models.CharField(
        max_length=300, blank=True, help_text="Infusion set, no push or bolus, the line."
    )
    light = models.CharField(
        max_length=200, blank=True, help_text="Light protection of the diluted solution."
    )
    sc_warm_minutes = models.PositiveSmallIntegerField(
        "subcutaneous device: minutes to warm",
        null=True,
        blank=True,
        help_text="Minutes out of the refrigerator before a subcutaneous injection.",
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return "Intravenous preparation"

    def clean(self) -> None:
        super().clean()
        if not self.drug_id:
            return
        vials = self.drug.presentations.filter(route=engine.Route.IV)
        for vial in vials:
            if vial.concentration_mg_per_ml != self.concentration_mg_per_ml:
                raise ValidationError(
                    {
                        "concentration_mg_per_ml": f"{vial} is {engine.format_number(vial.concentration_mg_per_ml)} mg/mL; "
                        "the vials and the preparation must agree."
                    }
                )


class ConcentrationLimit(ClinicalRow):
    """The largest final concentration in the bag before the calculator asks for pharmacy review.

    Local policy, not label (reference, "Preparing an IV dose"): the label's largest labelled dose,
    800 mg in 100 mL, is 8 mg/mL; an uncapped dose above it is nearly undiluted drug, a preparation
    the label does not describe. Its own row so it carries its own evidence (OPEN until the site
    confirms it). No row: no check.
    """

    preparation = models.OneToOneField(
        Preparation, on_delete=models.CASCADE, related_name="concentration_limit"
    )
    max_mg_per_ml = models.DecimalField(
        "largest final concentration (mg/mL)",
        max_digits=6,
        decimal_places=2,
        validators=[POSITIVE],
        help_text="A bag above this (dose in mg / final volume in mL) gets a notice.",
    )
    message = models.TextField(help_text="What the clinician reads after the figures.")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "final concentration limit"

    def __str__(self) -> str:
        return f"Final concentration above {engine.format_number(self.max_mg_per_ml)} mg/mL"


class BagVolume(ClinicalRow, WeightBand):
    """The final volume for some indications (the label's populations) and a weight band."""

    preparation = models.ForeignKey(Preparation, on_delete=models.CASCADE, related_name="bags")
    indications = models.ManyToManyField(
        Indication,
        related_name="bags",
        help_text="The indications this bag serves (adults: any weight; children: by band).",
    )
    bag_ml = models.DecimalField(
        "final bag volume (mL)", max_digits=6, decimal_places=1, validators=[POSITIVE]
    )
    history = HistoricalRecords(m2m_fields=[indications])

    class Meta:
        ordering = [F("min_weight_kg").asc(nulls_first=True)]

    def __str__(self) -> str:
        return f"{engine.format_number(self.bag_ml)} mL bag, {self.band}"

    @property
    def population(self) -> str:
        """The indications served, in words (for the monograph and the admin list)."""
        return ", ".join(i.slug.upper() for i in self.indications.all()) or "no indication"

    # Bands are checked per indication, a many-to-many the row does not hold until it is saved:
    # the admin's single-row form and inline formset check them (bag_band_problems, admin.py).


def bag_band_problems(
    bags: Iterable[tuple[Iterable[str], Decimal | None, Decimal | None]],
) -> list[BandProblem]:
    """Per indication, the bags' bands must tile 0 kg upwards exactly once. A bag row is
    (the indications it serves, from kg, below kg); a fault names the bag by its position."""
    per_indication: dict[str, list[Band]] = {}
    for position, (slugs, low, high) in enumerate(bags):
        for slug in slugs:
            per_indication.setdefault(slug, []).append((low, high, position))
    return check_band_sets(dict(sorted(per_indication.items())))


class ResumeRule(ClinicalRow, WeightBand):
    """The dose after a lab hold, where the label gives one (RA: resume at 4 mg/kg ...)."""

    indication = models.ForeignKey(
        Indication, on_delete=models.CASCADE, related_name="resume_rules"
    )
    route = models.CharField(max_length=2, choices=ROUTE_CHOICES)
    mg_per_kg = models.DecimalField(
        "resume at (mg/kg)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[POSITIVE],
        help_text="Intravenous: the dose to resume at. Empty: the usual dose.",
    )
    interval_days = models.PositiveSmallIntegerField(
        "resume every (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Subcutaneous: the interval to resume at. Empty: the usual interval.",
    )
    next_step = models.CharField(max_length=240, blank=True, help_text="What follows the resume.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["indication__order", "route", F("min_weight_kg").asc(nulls_first=True)]

    def __str__(self) -> str:
        return f"{self.indication.slug} {self.route.upper()} resume {self.band}"

    def clean(self) -> None:
        super().clean()
        if self.route == engine.Route.SC and self.mg_per_kg is not None:
            raise ValidationError({"mg_per_kg": "Subcutaneous doses are flat (mg), not per kg."})


class Syringe(ClinicalRow):
    """A syringe the site draws intravenous doses with (issue 22.4): the smallest that holds the
    volume is used, and the volume is rounded to its graduations. Site content, not label: the
    reference gives no syringe sizes, so the seeded rows are OPEN until a site confirms them."""

    preparation = models.ForeignKey(Preparation, on_delete=models.CASCADE, related_name="syringes")
    capacity_ml = models.DecimalField(
        "holds (mL)", max_digits=6, decimal_places=2, validators=[POSITIVE]
    )
    graduation_ml = models.DecimalField(
        "graduations every (mL)",
        max_digits=4,
        decimal_places=2,
        validators=[POSITIVE],
        help_text="The smallest step marked on the barrel: volumes drawn in this syringe are "
        "rounded to it.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["capacity_ml", "graduation_ml"]

    def __str__(self) -> str:
        return (
            f"{engine.format_number(self.capacity_ml)} mL syringe, graduations every "
            f"{engine.format_number(self.graduation_ml)} mL"
        )

    def clean(self) -> None:
        super().clean()
        if self.capacity_ml is None or not self.graduation_ml:
            return
        if self.graduation_ml > self.capacity_ml or self.capacity_ml % self.graduation_ml:
            raise ValidationError(
                {"graduation_ml": "The capacity must be a whole number of graduations."}
            )


class RoundingPolicy(ClinicalRow):
    """A site's dose rounding (issue 22.4), off unless a site turns it on: an intravenous dose
    is drawn as whole vials when they hold within `within_percent` of it (the nearest whole
    vials, never above the label maximum), and the deviation is shown. Local policy: the label
    states no rounding rule."""

    preparation = models.OneToOneField(
        Preparation, on_delete=models.CASCADE, related_name="rounding"
    )
    enabled = models.BooleanField(
        "in use", default=False, help_text="Off: every dose is drawn as calculated."
    )
    within_percent = models.DecimalField(
        "round to whole vials within (%)",
        max_digits=4,
        decimal_places=1,
        default=Decimal(10),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal(50))],
        help_text="The site's policy: the largest deviation from the calculated dose, either way.",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "site rounding policy"
        verbose_name_plural = "site rounding policy"

    def __str__(self) -> str:
        state = "in use" if self.enabled else "off"
        return f"Whole vials within {engine.format_number(self.within_percent)} % ({state})"


class DilutedStorage(ClinicalRow):
    """How long a diluted bag keeps, by diluent and temperature (shown as a use-by time)."""

    preparation = models.ForeignKey(Preparation, on_delete=models.CASCADE, related_name="storage")
    order = models.PositiveSmallIntegerField(default=0)
    diluent = models.CharField(
        max_length=120, help_text="For example 0.9% Sodium Chloride Injection."
    )
    temperature = models.CharField(max_length=60, help_text="For example 2 to 8 °C.")
    max_hours = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "pk"]
        verbose_name_plural = "diluted storage"

    def __str__(self) -> str:
        return f"{self.diluent} at {self.temperature}: {self.max_hours} h"


class LabRule(ClinicalRow):
    """A lab range and what it means for one group of indications and one route."""

    code = models.SlugField(max_length=60, unique=True)
    lab = models.CharField(max_length=12, choices=LAB_CHOICES)
    context = models.CharField(max_length=12, choices=CONTEXT_CHOICES)
    route = models.CharField(
        max_length=2, choices=ROUTE_CHOICES, blank=True, help_text="Empty: both routes."
    )
    indications = models.ManyToManyField(Indication, related_name="lab_rules")
    above = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Applies to values above this (empty: no lower bound).",
    )
    above_inclusive = models.BooleanField("… or equal to it", default=False)
    below = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Applies to values below this (empty: no upper bound).",
    )
    below_inclusive = models.BooleanField("… or equal to it", default=False)
    action = models.CharField(max_length=16, choices=ACTION_CHOICES)
    reduce_to_mg_per_kg = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[POSITIVE],
        help_text="Reduce, intravenous: the reduced dose.",
    )
    reduce_to_interval_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Reduce, subcutaneous: the longer interval.",
    )
    message = models.TextField(help_text="What the clinician reads.")
    persistence = models.CharField(
        "applies to",
        max_length=12,
        choices=PERSISTENCE_CHOICES,
        default=engine.Persistence.ANY.value,
        help_text="Where the label's step depends on whether a rise persists: one row for a "
        "rise that does not (yet) persist, one for a rise that persists after the first step. A "
        "repeat test that only confirms a new rise is not persistence. The calculator asks.",
    )
    # m2m_fields: which indications a rule applies to is audited and reverted like any field.
    history = HistoricalRecords(m2m_fields=[indications])

    class Meta:
        ordering = ["context", "lab", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def range_text(self) -> str:
        return engine.range_label(
            self.above, self.above_inclusive, self.below, self.below_inclusive
        )

    def clean(self) -> None:
        super().clean()
        if self.above is None and self.below is None:
            raise ValidationError({"above": "Give a lower bound, an upper bound or both."})
        if self.above is not None and self.below is not None and self.above >= self.below:
            raise ValidationError({"below": "The upper bound must be greater than the lower one."})
        if self.action == engine.Action.REDUCE:
            if self.route == engine.Route.IV and self.reduce_to_mg_per_kg is None:
                raise ValidationError({"reduce_to_mg_per_kg": "Say what dose to reduce to."})
            if self.route == engine.Route.SC and self.reduce_to_interval_days is None:
                raise ValidationError({"reduce_to_interval_days": "Say what interval to use."})
            if not self.route:
                raise ValidationError({"route": "A reduction is specific to one route."})


class Advisory(ClinicalRow):
    """A label warning shown with every result for the indications (and route) it names."""

    code = models.SlugField(max_length=60, unique=True)
    severity = models.CharField(max_length=8, choices=SEVERITY_CHOICES)
    route = models.CharField(
        max_length=2, choices=ROUTE_CHOICES, blank=True, help_text="Empty: both routes."
    )
    indications = models.ManyToManyField(Indication, related_name="advisories")
    # Shown only in its context: "test for latent TB before starting" is not for a patient on therapy.
    context = models.CharField(
        max_length=12, choices=CONTEXT_CHOICES, default=engine.RuleContext.ANY.value
    )
    message = models.TextField()
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords(m2m_fields=[indications])

    class Meta:
        ordering = ["order", "code"]
        verbose_name_plural = "advisories"

    def __str__(self) -> str:
        return self.code


class PlausibleWeight(ContentRow):
    """Weights outside these ranges get a 'check the weight' warning: a typo catcher, not a rule."""

    min_age_years = models.DecimalField(
        max_digits=4, decimal_places=1, validators=[MinValueValidator(0)]
    )
    max_age_years = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="Exclusive; empty: no limit.",
    )
    min_weight_kg = models.DecimalField(max_digits=6, decimal_places=2, validators=[POSITIVE])
    max_weight_kg = models.DecimalField(max_digits=6, decimal_places=2, validators=[POSITIVE])
    history = HistoricalRecords()

    class Meta:
        ordering = ["min_age_years"]

    def __str__(self) -> str:
        upper = (
            f"{engine.format_number(self.max_age_years)}" if self.max_age_years is not None else "…"
        )
        return f"{engine.format_number(self.min_age_years)}–{upper} years: {engine.format_number(self.min_weight_kg)}–{engine.format_number(self.max_weight_kg)} kg"

    def clean(self) -> None:
        super().clean()
        if (
            self.min_weight_kg is not None
            and self.max_weight_kg is not None
            and self.min_weight_kg >= self.max_weight_kg
        ):
            raise ValidationError({"max_weight_kg": "Must be greater than the lowest weight."})


class PublishingBounds(ContentRow):
    """Sane bounds a draft must respect to be published: a typo catcher, not a clinical rule.

    One row. The integrity check (publishing.py) refuses a draft whose doses or caps fall outside
    these, or whose weight bands leave any weight from `smallest_weight_kg` up to the drug's
    largest accepted weight without a dose.
    """

    smallest_weight_kg = models.DecimalField(
        "smallest weight every band set must cover (kg)",
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[POSITIVE],
    )
    min_mg_per_kg = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("1"))
    max_mg_per_kg = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("20"))
    min_flat_mg = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("20"))
    max_flat_mg = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal("1000"))
    min_cap_mg = models.DecimalField(
        "smallest maximum per infusion (mg)", max_digits=7, decimal_places=2, default=Decimal("100")
    )
    max_cap_mg = models.DecimalField(
        "largest maximum per infusion (mg)", max_digits=7, decimal_places=2, default=Decimal("2000")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "publishing bounds"
        verbose_name_plural = "publishing bounds"

    def __str__(self) -> str:
        return "Bounds checked before publishing"

    @classmethod
    def current(cls) -> PublishingBounds:
        return cls.objects.order_by("pk").first() or cls()


class PublishedVersion(models.Model):
    """One published content version: immutable once saved; rollback publishes a new one."""

    number = models.PositiveIntegerField(unique=True)
    snapshot = models.JSONField(help_text="The rules the engine reads and the monograph text.")
    content_hash = models.CharField(max_length=64)
    label_revision = models.CharField(max_length=40, blank=True)
    summary = models.TextField()
    changes = models.JSONField(default=list, help_text="The clinical diff, in words.")
    authors = models.JSONField(default=list, help_text="Who changed the draft (user names).")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewer_name = models.CharField(max_length=150, blank=True)
    clinically_reviewed = models.BooleanField(default=True)
    rolled_back_from = models.PositiveIntegerField(null=True, blank=True)
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-number"]
        verbose_name = "published version"
        permissions = [("publish_content", "Can review and publish content versions")]

    def __str__(self) -> str:
        return f"version {self.number} ({self.published_at:%Y-%m-%d})"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValidationError("A published version is immutable: publish a new one instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValidationError("A published version is never deleted: roll back instead.")


# ---------------------------------------------------------------------------------------------
# EHR integration (CDS Hooks, FHIR): codes and the checks' own figures, content like the rest.


class CodeKind(models.TextChoices):
    DRUG = "drug", "Drug (recognises a tocilizumab order)"
    INDICATION = "indication", "Indication (recognises the reason for the order)"
    OBSERVATION = "observation", "Observation (weight or a lab result)"
    ROUTE = "route", "Route (recognises intravenous or subcutaneous in an order)"


class Observed(models.TextChoices):
    """What an observation code measures; the names match the engine's inputs."""

    WEIGHT = "weight", "Body weight"
    ANC = "anc_per_mm3", "Neutrophils"
    PLATELETS = "platelets_per_mm3", "Platelets"
    ALT = "alt_x_uln", "ALT"
    AST = "ast_x_uln", "AST"


class Code(ClinicalRow):
    """One code of a standard code system (RxNorm, ICD-10-CM, SNOMED CT, LOINC) and what it means here."""

    drug = models.ForeignKey(Drug, on_delete=models.CASCADE, related_name="codes")
    kind = models.CharField(max_length=12, choices=CodeKind.choices)
    system = models.CharField(
        max_length=200, help_text="The code system URI, for example http://loinc.org."
    )
    code = models.CharField(max_length=40)
    display = models.CharField(max_length=200, blank=True)
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="codes",
        help_text="For drug codes: the product this code names; empty: the ingredient only "
        "(an order naming it could be any product).",
    )
    indication = models.ForeignKey(
        Indication,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="codes",
        help_text="For indication codes: the indication this code means.",
    )
    observed = models.CharField(
        max_length=20,
        choices=Observed.choices,
        blank=True,
        help_text="For observation codes: what the result measures.",
    )
    route = models.CharField(
        max_length=2,
        choices=ROUTE_CHOICES,
        blank=True,
        help_text="For route codes: the route this code means.",
    )
    match_subcodes = models.BooleanField(
        default=False,
        help_text="Also matches every code below this one (M06 matches M06.9; dots are ignored).",
    )
    excludes = models.BooleanField(
        default=False,
        help_text="An exclusion: a code matching this row does NOT mean the indication "
        "(rheumatoid arthritis: M06 but not M06.4).",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "system", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["drug", "kind", "system", "code", "indication"], name="unique_code"
            ),
        ]

    def __str__(self) -> str:
        prefix = "not " if self.excludes else ""
        return f"{prefix}{self.code} {self.display}".strip()

    def clean(self) -> None:
        super().clean()
        if self.kind == CodeKind.INDICATION and self.indication_id is None:
            raise ValidationError({"indication": "An indication code needs its indication."})
        if self.kind != CodeKind.INDICATION and self.indication_id is not None:
            raise ValidationError({"indication": "Only indication codes name an indication."})
        if self.kind == CodeKind.OBSERVATION and not self.observed:
            raise ValidationError({"observed": "An observation code needs what it measures."})
        if self.kind != CodeKind.OBSERVATION and self.observed:
            raise ValidationError({"observed": "Only observation codes measure something."})
        if self.excludes and self.kind != CodeKind.INDICATION:
            raise ValidationError({"excludes": "Only indication codes can be exclusions."})
        if self.product_id is not None and self.kind != CodeKind.DRUG:
            raise ValidationError({"product": "Only drug codes name a product."})
        if (self.kind == CodeKind.ROUTE) != bool(self.route):
            raise ValidationError({"route": "A route code, and only a route code, names a route."})


class EhrCheck(ClinicalRow):
    """The figures the EHR order check uses besides the label's: local policy, reviewed as content."""

    drug = models.OneToOneField(Drug, on_delete=models.CASCADE, related_name="ehr_check")
    dose_tolerance_percent = models.DecimalField(
        "ordered vs calculated dose tolerance (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
        help_text="An order above the calculated dose by more than this share is critical; "
        "0 flags any excess.",
    )
    # Result ages are local policy, not label: the reference ships 30 / 30 / 90 days flagged for
    # the site to confirm ("Reading EHR data (FHIR) safely").
    lab_max_age_days = models.PositiveIntegerField(
        "maximum age of lab results (days)",
        null=True,
        blank=True,
        help_text="Lab results older than this are named as old in the cards; "
        "empty: no age is set, and every result's date is shown.",
    )
    child_weight_max_age_days = models.PositiveIntegerField(
        "maximum age of a child's weight (days)",
        null=True,
        blank=True,
        help_text="A child's weight older than this is named, and a dose from it is not confirmed; "
        "empty: no age is set.",
    )
    adult_weight_max_age_days = models.PositiveIntegerField(
        "maximum age of an adult's weight (days)",
        null=True,
        blank=True,
        help_text="An adult's weight older than this is named as old; empty: no age is set.",
    )
    adult_from_age_years = models.PositiveIntegerField(
        "adult from age (years)",
        default=18,
        validators=[MinValueValidator(1)],
        help_text="Which weight age applies: a patient whose age may be below this, or is "
        "unknown, is held to the child's limit.",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "EHR order check"

    def __str__(self) -> str:
        return "EHR order check"


class UsedToken(models.Model):
    """A CDS client's token already used (its issuer and jti, hashed), kept until it expires:
    the replay memory every worker shares. A unique insert is the atomic check, and it survives a
    cache (Redis) restart. Not content: no history, no snapshot, no patient data."""

    key = models.CharField(max_length=64, unique=True)  # sha256 of issuer and jti
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "used CDS token"

    def __str__(self) -> str:
        return f"used token until {self.expires_at:%Y-%m-%d %H:%M}"


class CdsFeedback(models.Model):
    """Counts of what clinicians did with the cards: no patient data, no card content."""

    service = models.CharField(max_length=40)
    outcome = models.CharField(max_length=12)
    day = models.DateField(default=timezone.localdate)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "CDS Hooks feedback"
        verbose_name_plural = "CDS Hooks feedback"
        constraints = [
            models.UniqueConstraint(fields=["service", "outcome", "day"], name="unique_feedback"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.outcome} {self.day}: {self.count}"
