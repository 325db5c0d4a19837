"""How content admins see and edit the monograph and every dosing table.

Every model keeps its history (django-simple-history: who, when, old and new values, revert).
Weight bands are validated as a set, by one check (dosing/bands.py): in an inline the formset
checks the bands being submitted together; on a single row, the row is checked against its
siblings already saved (DoseRule.validate_constraints, BagVolumeForm).
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.dispatch import receiver
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST
from simple_history.admin import SimpleHistoryAdmin

from . import engine, publishing
from .bands import Band, BandProblem, check_band_sets
from .content import serving_problem
from .models import (
    Advisory,
    BagVolume,
    CdsFeedback,
    Code,
    ConcentrationLimit,
    ContentVersion,
    DilutedStorage,
    DoseRule,
    Drug,
    EhrCheck,
    Indication,
    LabRule,
    MonographSection,
    PlausibleWeight,
    Preparation,
    Presentation,
    Product,
    ProductNotice,
    ProductPresentation,
    ProductRoute,
    PublishedVersion,
    PublishingBounds,
    ResumeRule,
    RoundingPolicy,
    Syringe,
    WeightBand,
    bag_band_problems,
    band_errors,
)

REVIEW_FIELDS = ("label_section", "evidence", "needs_review", "reviewed_by", "reviewed_on")
REVIEW_FIELDSET = ("Source and review", {"fields": REVIEW_FIELDS})


class BandFormSet(BaseInlineFormSet):
    """Checks the weight bands submitted together as sets: no overlap, no gap. Each problem is
    shown above the rows and on the edge at fault in each row it concerns."""

    def kept_forms(self) -> list[Any]:
        return [
            form
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
        ]

    def sibling_problems(self, rows: list[Any]) -> list[BandProblem]:
        raise NotImplementedError

    def clean(self) -> None:
        super().clean()
        rows = self.kept_forms()
        problems = self.sibling_problems(rows)
        for problem in problems:
            for fault in problem.faults:  # a fault names a row by its position in `rows`
                form, field = rows[cast(int, fault.band)], WeightBand.EDGE_FIELDS[fault.edge]
                if field in form.fields and not form.has_error(field):
                    form.add_error(field, problem)
        if problems:
            raise ValidationError(problems)


class DoseRuleFormSet(BandFormSet):
    """Dose rules are banded per route and step (the indication is the page's)."""

    def sibling_problems(self, rows: list[Any]) -> list[BandProblem]:
        groups: dict[str, list[Band]] = defaultdict(list)
        for position, form in enumerate(rows):
            data = form.cleaned_data
            key = " ".join(str(data[name]) for name in ("route", "step") if data.get(name))
            groups[key].append((data.get("min_weight_kg"), data.get("max_weight_kg"), position))
        return check_band_sets(groups)


class BagFormSet(BandFormSet):
    """Bags are banded per indication (a bag row names the indications it serves)."""

    def sibling_problems(self, rows: list[Any]) -> list[BandProblem]:
        return bag_band_problems(
            (
                [i.slug for i in form.cleaned_data.get("indications") or []],
                form.cleaned_data.get("min_weight_kg"),
                form.cleaned_data.get("max_weight_kg"),
            )
            for form in rows
        )


class BagVolumeForm(forms.ModelForm):
    """One bag edited on its own: checked against the saved bags of each indication it serves."""

    class Meta:
        model = BagVolume
        fields = (
            "preparation",
            "indications",
            "min_weight_kg",
            "max_weight_kg",
            "bag_ml",
            *REVIEW_FIELDS,
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        indications = data.get("indications")
        preparation = data.get("preparation")
        edges_valid = not (self.has_error("min_weight_kg") or self.has_error("max_weight_kg"))
        if indications is None or preparation is None or not edges_valid:
            return data
        siblings = list(
            BagVolume.objects.filter(preparation=preparation)
            .exclude(pk=self.instance.pk)
            .prefetch_related("indications")
        )
        rows = [
            ([i.slug for i in bag.indications.all()], bag.min_weight_kg, bag.max_weight_kg)
            for bag in siblings
        ]
        rows.append(
            ([i.slug for i in indications], data.get("min_weight_kg"), data.get("max_weight_kg"))
        )
        this = len(rows) - 1  # bag_band_problems names bags by position
        for field, problems in band_errors(bag_band_problems(rows), this).items():
            for problem in problems:
                self.add_error(None if field == NON_FIELD_ERRORS else field, problem)
        return data


@admin.action(description="Mark selected rows as reviewed by me today")
def mark_reviewed(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    count = 0
    for row in queryset:
        row.reviewed_by = request.user
        row.reviewed_on = timezone.localdate()
        row.save(
            update_fields=["reviewed_by", "reviewed_on"]
        )  # saves history and bumps the version
        count += 1
    modeladmin.message_user(request, f"{count} rows marked as reviewed.", messages.SUCCESS)


def change_words(form: forms.ModelForm) -> list[str]:
    """What a saved form changed, in the review's words (publishing.FIELD_WORDS): 'dose 12 →
    1.2 mg per kg (−90 %)'."""
    words = []
    for field in form.changed_data:
        if field in ("DELETE", "id") or field not in form.cleaned_data:
            continue
        old, new = form.initial.get(field), form.cleaned_data.get(field)
        name, unit = publishing.FIELD_WORDS.get(
            field, (str(form.fields[field].label or field).lower(), "")
        )
        if (
            isinstance(new, models.Model | QuerySet)
            or hasattr(new, "__iter__")
            and not isinstance(new, str)
        ):
            words.append(f"{name} changed")
            continue
        if isinstance(new, str) and len(new) > publishing.LONG_TEXT:
            words.append(f"{name}: {publishing.word_diff(str(old or ''), new)}")
            continue
        before, after = (publishing._value_words(field, v) for v in (old, new))
        if unit and before.endswith(f" {unit}") and after.endswith(f" {unit}"):
            before = before.removesuffix(f" {unit}")  # '12 → 1.2 mg per kg'
        text = f"{name} {before} → {after}" + (publishing.percent_words(old, new) if unit else "")
        factor = publishing.size_factor(field, old, new)
        if factor is not None:  # a decimal slip reads as one: '(−90 %, 10 times smaller)'
            text = text.removesuffix(")") + f", {publishing.factor_words(factor)})"
        words.append(text)
    return words


def bounds_warnings(row: Any) -> list[str]:
    """A dose or cap outside the publishing bounds, said at save (publishing refuses it)."""
    if not isinstance(row, DoseRule):
        return []
    bounds = PublishingBounds.current()
    checks = (
        ("mg_per_kg", "a dose of", "mg per kg", bounds.min_mg_per_kg, bounds.max_mg_per_kg),
        ("flat_mg", "a dose of", "mg", bounds.min_flat_mg, bounds.max_flat_mg),
        ("max_mg", "a maximum of", "mg", bounds.min_cap_mg, bounds.max_cap_mg),
    )
    found = []
    for field, what, unit, low, high in checks:
        value = getattr(row, field)
        if value is not None and not low <= value <= high:
            found.append(
                f"{row}: {what} {engine.format_number(value)} {unit} is outside the publishing "
                f"bounds ({engine.format_number(low)} to {engine.format_number(high)} {unit}): "
                "the draft cannot be published until it is corrected."
            )
    return found


class ContentAdmin(SimpleHistoryAdmin):
    """The admin of every content model (models.content_models(); a test holds each to it):
    history, and an edit that says it went to the draft, in words, with the bounds it breaks."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._note(request, obj, form, named=False)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        for inline in formset.forms:
            if inline.has_changed() and not inline.cleaned_data.get("DELETE"):
                self._note(request, inline.instance, inline, named=True)

    def _note(self, request: HttpRequest, obj: Any, form: Any, *, named: bool) -> None:
        notes = request.__dict__.setdefault("_draft_notes", {"words": [], "warnings": []})
        words = change_words(form)
        if words:
            notes["words"].append(
                f"{obj}: {', '.join(words)}" if notes["words"] else ", ".join(words)
            )
        notes["warnings"] += bounds_warnings(obj)

    def message_user(
        self,
        request: HttpRequest,
        message: str,
        level: int = messages.INFO,
        extra_tags: str = "",
        fail_silently: bool = False,
    ) -> None:
        notes = request.__dict__.pop("_draft_notes", None)
        if level != messages.SUCCESS or notes is None:
            super().message_user(request, message, level, extra_tags, fail_silently)
            return
        changed = "; ".join(notes["words"]) or "no figure changed"
        text = format_html(
            'Saved to the draft (not live): {}. <a href="{}">Review page →</a>',
            changed,
            reverse("admin:dosing_review"),
        )
        super().message_user(request, text, level, extra_tags, fail_silently)
        for warning in notes["warnings"]:
            super().message_user(request, warning, messages.WARNING, extra_tags, fail_silently)


class ClinicalAdmin(ContentAdmin):
    actions = [mark_reviewed]
    list_filter: tuple = ("evidence", "needs_review")
    readonly_fields: tuple = ()


class DoseRuleInline(admin.TabularInline):
    model = DoseRule
    formset = DoseRuleFormSet
    extra = 0
    fields = (
        "route",
        "step",
        "min_weight_kg",
        "max_weight_kg",
        "mg_per_kg",
        "flat_mg",
        "interval_days",
        "additional_doses_max",
        "min_hours_apart",
        "max_mg",
        "evidence",
        "needs_review",
    )
    show_change_link = True


@admin.register(Indication)
class IndicationAdmin(ClinicalAdmin):
    list_display = (
        "name",
        "slug",
        "routes_list",
        "min_age_years",
        "adult_only",
        "evidence",
        "needs_review",
        "reviewed_on",
    )
    list_filter = ("adult_only", "evidence", "needs_review")
    search_fields = ("name", "slug", "population")
    inlines = [DoseRuleInline]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "drug",
                    "slug",
                    "name",
                    "population",
                    "min_age_years",
                    "adult_only",
                    "order",
                )
            },
        ),
        REVIEW_FIELDSET,
    )

    @admin.display(description="routes")
    def routes_list(self, obj: Indication) -> str:
        return ", ".join(route.upper() for route in obj.routes)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("dose_rules")


@admin.register(DoseRule)
class DoseRuleAdmin(ClinicalAdmin):
    # What a reviewer checks first, readable on a phone: band and dose, then whose and which way.
    list_display = (
        "band",
        "dose",
        "maximum",
        "short_indication",
        "route",
        "step",
        "interval_days",
        "evidence",
        "needs_review",
        "reviewed_on",
    )
    list_display_links = ("band",)
    list_filter = ("indication", "route", "step", "evidence", "needs_review")
    search_fields = ("indication__name", "indication__slug", "next_step", "concomitant")
    list_select_related = ("indication",)
    fieldsets = (
        (None, {"fields": ("indication", "route", "step")}),
        ("Weight band", {"fields": ("min_weight_kg", "max_weight_kg")}),
        ("Dose", {"fields": ("mg_per_kg", "flat_mg", "max_mg", "interval_days")}),
        (
            "Single-dose course",
            {"fields": ("additional_doses_max", "min_hours_apart", "repeat_condition")},
        ),
        ("What the clinician reads", {"fields": ("next_step", "concomitant")}),
        REVIEW_FIELDSET,
    )

    @admin.display(description="indication", ordering="indication__order")
    def short_indication(self, obj: DoseRule) -> str:
        return obj.indication.slug.upper()

    @admin.display(description="maximum", ordering="max_mg")
    def maximum(self, obj: DoseRule) -> str:
        return "—" if obj.max_mg is None else f"{engine.format_number(obj.max_mg)} mg"

    @admin.display(description="dose")
    def dose(self, obj: DoseRule) -> str:
        if obj.mg_per_kg is not None:
            return f"{engine.format_number(obj.mg_per_kg)} mg/kg"
        return f"{engine.format_number(obj.flat_mg)} mg" if obj.flat_mg is not None else "—"


class SectionInline(admin.StackedInline):
    model = MonographSection
    extra = 0
    fields = ("order", "slug", "title", "body", "label_section", "evidence", "needs_review")
    show_change_link = True


@admin.register(Drug)
class DrugAdmin(ClinicalAdmin):
    list_display = (
        "brand_name",
        "generic_name",
        "label_revision",
        "evidence",
        "needs_review",
        "reviewed_on",
    )
    search_fields = ("brand_name", "generic_name", "other_names")
    inlines = [SectionInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "brand_name",
                    "generic_name",
                    "pronunciation",
                    "other_names",
                    "drug_class",
                    "mechanism",
                    "max_weight_kg",
                    "band_margin_percent",
                    "uncapped_note_above_mg",
                )
            },
        ),
        ("Label source", {"fields": ("label_name", "label_url", "label_revision")}),
        REVIEW_FIELDSET,
    )


class ProductRouteInline(admin.TabularInline):
    model = ProductRoute
    extra = 0
    fields = ("indication", "route", "label_section", "evidence", "needs_review")


class ProductPresentationInline(admin.TabularInline):
    model = ProductPresentation
    extra = 0
    fields = ("presentation", "name", "label_section", "evidence", "needs_review")


class ProductNoticeInline(admin.StackedInline):
    model = ProductNotice
    extra = 0
    fields = (
        ("code", "route", "severity", "active"),
        "title",
        "text",
        ("label_section", "evidence", "needs_review"),
    )
    show_change_link = True


@admin.register(Product)
class ProductAdmin(ClinicalAdmin):
    """A product (issue 23): its names, its label, what it offers (no row: not offered) and its
    notices (a recall: attach it, untick 'active' to lift it)."""

    list_display = (
        "brand_name",
        "nonproprietary_name",
        "holder",
        "biosimilar",
        "bla",
        "order",
        "evidence",
        "needs_review",
        "reviewed_on",
    )
    list_filter = ("biosimilar", "evidence", "needs_review")
    search_fields = ("brand_name", "nonproprietary_name", "slug")
    inlines = [ProductRouteInline, ProductPresentationInline, ProductNoticeInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "drug",
                    "slug",
                    "brand_name",
                    "nonproprietary_name",
                    "holder",
                    "biosimilar",
                    "bla",
                    "diluents",
                    "order",
                )
            },
        ),
        ("Label source", {"fields": ("label_name", "label_url", "label_revision")}),
        REVIEW_FIELDSET,
    )


@admin.register(ProductRoute)
class ProductRouteAdmin(ClinicalAdmin):
    list_display = ("__str__", "product", "indication", "route", "evidence", "needs_review")
    list_filter = ("product", "indication", "route", "evidence", "needs_review")
    list_select_related = ("product", "indication")


@admin.register(ProductPresentation)
class ProductPresentationAdmin(ClinicalAdmin):
    """Which presentations a product comes in (issue 23): no row, never offered for it."""

    list_display = ("__str__", "product", "presentation", "name", "evidence", "needs_review")
    list_filter = ("product", "evidence", "needs_review")
    list_select_related = ("product", "presentation")


@admin.register(ProductNotice)
class ProductNoticeAdmin(ClinicalAdmin):
    list_display = ("title", "product", "route", "severity", "active", "evidence", "needs_review")
    list_filter = ("product", "active", "severity", "evidence", "needs_review")
    search_fields = ("code", "title", "text")
    list_select_related = ("product",)
    fieldsets = (
        (None, {"fields": ("product", "code", "route", "severity", "active", "title", "text")}),
        REVIEW_FIELDSET,
    )


@admin.register(MonographSection)
class MonographSectionAdmin(ClinicalAdmin):
    list_display = (
        "title",
        "slug",
        "order",
        "label_section",
        "evidence",
        "needs_review",
        "reviewed_on",
    )
    list_editable = ("order",)
    search_fields = ("title", "slug", "body")
    readonly_fields = ("preview",)
    fields = ("drug", "order", "slug", "title", "body", "preview", *REVIEW_FIELDS)

    @admin.display(description="preview (sanitized)")
    def preview(self, obj: MonographSection) -> str:
        return format_html("<div>{}</div>", obj.body_html) if obj.pk else "—"


@admin.register(Presentation)
class PresentationAdmin(ClinicalAdmin):
    list_display = (
        "__str__",
        "route",
        "device",
        "strength_mg",
        "volume_ml",
        "available",
        "evidence",
        "reviewed_on",
    )
    list_filter = ("route", "device", "available", "evidence", "needs_review")
    search_fields = ("device",)


class BagInline(admin.TabularInline):
    model = BagVolume
    formset = BagFormSet
    extra = 0
    fields = (
        "indications",
        "min_weight_kg",
        "max_weight_kg",
        "bag_ml",
        "label_section",
        "evidence",
        "needs_review",
    )


class StorageInline(admin.TabularInline):
    model = DilutedStorage
    extra = 0
    fields = (
        "order",
        "diluent",
        "temperature",
        "max_hours",
        "label_section",
        "evidence",
        "needs_review",
    )


class SyringeInline(admin.TabularInline):
    model = Syringe
    extra = 0
    fields = ("capacity_ml", "graduation_ml", "label_section", "evidence", "needs_review")


class RoundingInline(admin.StackedInline):
    model = RoundingPolicy
    extra = 0
    max_num = 1
    fields = ("enabled", "within_percent", "label_section", "evidence", "needs_review")


@admin.register(Preparation)
class PreparationAdmin(ClinicalAdmin):
    list_display = (
        "__str__",
        "concentration_mg_per_ml",
        "diluents",
        "infusion_minutes",
        "evidence",
        "reviewed_on",
    )
    inlines = [BagInline, StorageInline, SyringeInline, RoundingInline]
    fields = (
        "drug",
        "concentration_mg_per_ml",
        "diluents",
        "infusion_minutes",
        "min_saline_ml",
        "instructions",
        "syringe_precision_ml",
        "mixing",
        "line_instructions",
        "light",
        "sc_warm_minutes",
        *REVIEW_FIELDS,
    )


@admin.register(ConcentrationLimit)
class ConcentrationLimitAdmin(ClinicalAdmin):
    list_display = ("__str__", "max_mg_per_ml", "evidence", "needs_review", "reviewed_on")
    fieldsets = (
        (None, {"fields": ("preparation", "max_mg_per_ml", "message")}),
        REVIEW_FIELDSET,
    )


@admin.register(BagVolume)
class BagVolumeAdmin(ClinicalAdmin):
    form = BagVolumeForm
    list_display = ("__str__", "population", "band", "bag_ml", "evidence", "reviewed_on")
    filter_horizontal = ("indications",)


@admin.register(ResumeRule)
class ResumeRuleAdmin(ClinicalAdmin):
    list_display = (
        "indication",
        "route",
        "band",
        "mg_per_kg",
        "interval_days",
        "evidence",
        "needs_review",
        "reviewed_on",
    )
    list_filter = ("indication", "route", "evidence", "needs_review")
    list_select_related = ("indication",)


@admin.register(LabRule)
class LabRuleAdmin(ClinicalAdmin):
    list_display = (
        "code",
        "lab",
        "context",
        "route",
        "range_text",
        "action",
        "indication_list",
        "evidence",
        "needs_review",
        "reviewed_on",
    )
    list_filter = ("lab", "context", "route", "action", "indications", "evidence", "needs_review")
    search_fields = ("code", "message")
    filter_horizontal = ("indications",)
    fieldsets = (
        (None, {"fields": ("code", "lab", "context", "route", "indications", "persistence")}),
        ("Range", {"fields": (("above", "above_inclusive"), ("below", "below_inclusive"))}),
        (
            "Action",
            {"fields": ("action", "reduce_to_mg_per_kg", "reduce_to_interval_days", "message")},
        ),
        REVIEW_FIELDSET,
    )

    @admin.display(description="range")
    def range_text(self, obj: LabRule) -> str:
        return obj.range_text

    @admin.display(description="indications")
    def indication_list(self, obj: LabRule) -> str:
        return ", ".join(i.slug.upper() for i in obj.indications.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("indications")


@admin.register(Advisory)
class AdvisoryAdmin(ClinicalAdmin):
    list_display = (
        "code",
        "severity",
        "route",
        "context",
        "indication_list",
        "evidence",
        "needs_review",
        "order",
        "reviewed_on",
    )
    list_filter = ("severity", "route", "context", "indications", "evidence", "needs_review")
    search_fields = ("code", "message")
    filter_horizontal = ("indications",)
    fields = (
        "code",
        "severity",
        "route",
        "context",
        "indications",
        "message",
        "order",
        *REVIEW_FIELDS,
    )

    @admin.display(description="indications")
    def indication_list(self, obj: Advisory) -> str:
        return ", ".join(i.slug.upper() for i in obj.indications.all())

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("indications")


@admin.register(PlausibleWeight)
class PlausibleWeightAdmin(ContentAdmin):
    list_display = ("__str__", "min_age_years", "max_age_years", "min_weight_kg", "max_weight_kg")


@admin.register(ContentVersion)
class ContentVersionAdmin(admin.ModelAdmin):
    """Read-only: the draft revision moves by itself whenever content is saved."""

    list_display = ("number", "changed_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PublishingBounds)
class PublishingBoundsAdmin(ContentAdmin):
    list_display = ("__str__", "smallest_weight_kg", "min_cap_mg", "max_cap_mg")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not PublishingBounds.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PublishedVersion)
class PublishedVersionAdmin(admin.ModelAdmin):
    """Immutable release history; the review page publishes and rolls back (publishing.py)."""

    list_display = ("number", "published_at", "summary", "reviewer_name", "clinically_reviewed")
    exclude = ("snapshot",)
    change_list_template = "admin/dosing/publishedversion/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        review = self.admin_site.admin_view(review_view)
        rollback = self.admin_site.admin_view(require_POST(rollback_view))
        return [
            path("review/", review, name="dosing_review"),
            path("<int:number>/rollback/", rollback, name="dosing_rollback"),
            *super().get_urls(),
        ]


REAUTH_KEY = "dosing_authenticated_at"


@receiver(user_logged_in, dispatch_uid="dosing-authenticated-at")
def _signed_in(sender: type, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[REAUTH_KEY] = time.time()


def _needs_password(request: HttpRequest) -> bool:
    given = request.session.get(REAUTH_KEY)
    window = settings.DOSING_REAUTH_MINUTES * 60
    return not isinstance(given, int | float) or time.time() - given > window


def _reauthenticated(request: HttpRequest, nothing: str) -> list[str]:
    """Why the reviewer must give their password again (empty: they gave it recently, or now)."""
    if not _needs_password(request):
        return []
    password = request.POST.get("password", "")
    minutes = settings.DOSING_REAUTH_MINUTES
    if not password:
        return [
            f"Enter your password again: publishing and rolling back ask for it when you last "
            f"gave it more than {minutes} minutes ago. {nothing}."
        ]
    if not request.user.check_password(password):
        return [f"That is not your password. {nothing}."]
    request.session[REAUTH_KEY] = time.time()
    return []


def _may_view(request: HttpRequest) -> bool:
    return request.user.has_perm("dosing.view_publishedversion") or request.user.has_perm(
        publishing.PUBLISH_PERMISSION
    )


@require_http_methods(["GET", "POST"])
def review_view(request: HttpRequest) -> HttpResponse:
    """The draft against the live version: diff, integrity, affected cases; publish."""
    if not _may_view(request):
        raise PermissionDenied
    refused: list[str] = []
    if request.method == "POST":
        refused = _reauthenticated(request, "Nothing was published")
    if request.method == "POST" and not refused:
        try:
            version = publishing.publish(
                request.user,
                request.POST.get("summary", ""),
                confirmed=request.POST.get("confirm") == "yes",
                draft_hash=request.POST.get("draft_hash", ""),
                live_number=_live_number(request),
                typed=request.POST.getlist("typed"),
            )
        except publishing.PublishRefused as refusal:
            refused = refusal.reasons
        else:
            messages.success(
                request, f"Published version {version.number}: phones and the API use it now."
            )
            return redirect("admin:dosing_review")
    current = publishing.review()
    context = {
        **admin.site.each_context(request),
        "title": "Review and publish content",
        "review": current,
        "refused": refused,
        "blocked": current.refusals(request.user),
        "serving_problem": serving_problem(),
        "needs_password": _needs_password(request),
        "reauth_minutes": settings.DOSING_REAUTH_MINUTES,
        "is_author": request.user.pk in current.authors,
        "may_publish": request.user.has_perm(publishing.PUBLISH_PERMISSION),
        "versions": PublishedVersion.objects.defer("snapshot")[:20],
        "summary": request.POST.get("summary", ""),
    }
    return render(request, "admin/dosing/review.html", context, status=422 if refused else 200)


def _live_number(request: HttpRequest) -> int:
    """The live version the page showed when the reviewer chose (0: the form did not say)."""
    value = request.POST.get("live_number", "")
    return int(value) if value.isdecimal() else 0


def rollback_view(request: HttpRequest, number: int) -> HttpResponse:
    for reason in _reauthenticated(request, "Nothing was rolled back"):
        messages.error(request, f"Rollback to version {number} refused: {reason}")
        return redirect("admin:dosing_review")
    try:
        version = publishing.rollback(
            request.user,
            number,
            request.POST.get("summary", ""),
            confirmed=request.POST.get("confirm") == "yes",
            live_number=_live_number(request),
            reset=request.POST.get("reset") == "yes",
        )
    except publishing.PublishRefused as refusal:
        for reason in refusal.reasons:
            messages.error(request, f"Rollback to version {number} refused: {reason}")
    else:
        messages.success(
            request,
            f"Published version {version.number}: the content of version {number} again.",
        )
        if request.POST.get("reset") == "yes":
            left = publishing.review().changes
            messages.info(
                request,
                f"The draft is reset to version {number}'s content."
                if not left
                else f"The draft is reset, but {len(left)} difference{'s' if len(left) != 1 else ''}"
                " from it remain (listed below).",
            )
        else:
            messages.warning(
                request,
                "The draft still holds its edits (their authors stay authors): publishing it "
                "would bring them back. Roll back with 'reset the draft' to drop them.",
            )
    return redirect("admin:dosing_review")


# EHR integration content (dosing/interop): codes and the order check's figures.
@admin.register(Code)
class CodeAdmin(ClinicalAdmin):
    list_display = (
        "code",
        "display",
        "kind",
        "system",
        "product",
        "indication",
        "observed",
        "match_subcodes",
        "excludes",
        "evidence",
        "needs_review",
    )
    list_filter = ("kind", "system", "product", "indication", "evidence", "needs_review")
    search_fields = ("code", "display")
    fieldsets = (
        (None, {"fields": ("drug", "kind", "system", "code", "display", "product")}),
        (
            "Meaning",
            {"fields": ("indication", "observed", "route", "match_subcodes", "excludes")},
        ),
        REVIEW_FIELDSET,
    )


@admin.register(EhrCheck)
class EhrCheckAdmin(ClinicalAdmin):
    list_display = ("__str__", "dose_tolerance_percent", "lab_max_age_days", "needs_review")
    fieldsets = (
        (None, {"fields": ("drug", "dose_tolerance_percent")}),
        (
            "Result ages (local policy)",
            {
                "fields": (
                    "lab_max_age_days",
                    "child_weight_max_age_days",
                    "adult_weight_max_age_days",
                    "adult_from_age_years",
                )
            },
        ),
        REVIEW_FIELDSET,
    )


@admin.register(CdsFeedback)
class CdsFeedbackAdmin(admin.ModelAdmin):
    list_display = ("day", "service", "outcome", "count")
    list_filter = ("service", "outcome")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
