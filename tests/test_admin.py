"""Django admin for content admins: access, validation messages, history, the editors group."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from dosing.models import BagVolume, ContentVersion, DoseRule, Indication, Preparation

pytestmark = pytest.mark.django_db

# CDS Hooks feedback counts are not content: none exist until an EHR sends feedback (test_interop).
MODELS = [
    model
    for model in admin.site._registry
    if model._meta.app_label == "dosing" and model._meta.model_name != "cdsfeedback"
]


def admin_url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:dosing_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_changelist_and_change_form_answers_staff(staff_client: Any, model: type) -> None:
    assert staff_client.get(admin_url(model, "changelist")).status_code == 200
    row = model.objects.first()
    assert row is not None, f"{model.__name__} has no migrated content"
    assert staff_client.get(admin_url(model, "change", row.pk)).status_code == 200
    assert staff_client.get(admin_url(model, "history", row.pk)).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_anonymous_users_are_sent_to_the_login(client: Any, model: type) -> None:
    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_changelists_filter_and_search(staff_client: Any) -> None:
    response = staff_client.get(admin_url(DoseRule, "changelist"), {"route": "sc", "q": "pjia"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2


def _inline_post(indication: Indication, overrides: dict[int, dict[str, str]]) -> dict[str, str]:
    """The indication change form as the browser would post it, with some rows changed."""
    rules = list(indication.dose_rules.order_by("pk"))
    data = {
        "drug": str(indication.drug_id),
        "slug": indication.slug,
        "name": indication.name,
        "population": indication.population,
        "min_age_years": str(indication.min_age_years),
        "order": str(indication.order),
        "label_section": indication.label_section,
        "evidence": indication.evidence,
        "dose_rules-TOTAL_FORMS": str(len(rules)),
        "dose_rules-INITIAL_FORMS": str(len(rules)),
        "dose_rules-MIN_NUM_FORMS": "0",
        "dose_rules-MAX_NUM_FORMS": "1000",
    }
    for i, rule in enumerate(rules):
        row = {
            "id": str(rule.pk),
            "indication": str(indication.pk),
            "route": rule.route,
            "step": rule.step,
            "min_weight_kg": "" if rule.min_weight_kg is None else str(rule.min_weight_kg),
            "max_weight_kg": "" if rule.max_weight_kg is None else str(rule.max_weight_kg),
            "mg_per_kg": "" if rule.mg_per_kg is None else str(rule.mg_per_kg),
            "flat_mg": "" if rule.flat_mg is None else str(rule.flat_mg),
            "interval_days": "" if rule.interval_days is None else str(rule.interval_days),
            "additional_doses_max": ""
            if rule.additional_doses_max is None
            else str(rule.additional_doses_max),
            "min_hours_apart": "" if rule.min_hours_apart is None else str(rule.min_hours_apart),
            "max_mg": "" if rule.max_mg is None else str(rule.max_mg),
            "evidence": rule.evidence,
        }
        row.update(overrides.get(i, {}))
        data.update({f"dose_rules-{i}-{key}": value for key, value in row.items()})
    return data


def test_an_overlapping_band_is_refused_with_its_message(staff_client: Any) -> None:
    pjia = Indication.objects.get(slug="pjia")
    iv_rows = [i for i, r in enumerate(pjia.dose_rules.order_by("pk")) if r.route == "iv"]
    upper = next(i for i in iv_rows if pjia.dose_rules.order_by("pk")[i].min_weight_kg == 30)
    data = _inline_post(pjia, {upper: {"min_weight_kg": "25"}})
    response = staff_client.post(admin_url(Indication, "change", pjia.pk), data)
    assert response.status_code == 200  # the form again, not a redirect
    assert "The bands overlap" in response.content.decode()
    assert DoseRule.objects.filter(indication=pjia, route="iv", min_weight_kg=25).count() == 0


def test_moving_a_boundary_in_both_rows_at_once_is_accepted(staff_client: Any) -> None:
    pjia = Indication.objects.get(slug="pjia")
    rows = list(pjia.dose_rules.order_by("pk"))
    lower = next(i for i, r in enumerate(rows) if r.route == "iv" and r.max_weight_kg == 30)
    upper = next(i for i, r in enumerate(rows) if r.route == "iv" and r.min_weight_kg == 30)
    data = _inline_post(pjia, {lower: {"max_weight_kg": "35"}, upper: {"min_weight_kg": "35"}})
    response = staff_client.post(admin_url(Indication, "change", pjia.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert DoseRule.objects.get(pk=rows[upper].pk).min_weight_kg == Decimal("35")


def test_a_gap_left_by_a_single_row_edit_is_refused(staff_client: Any) -> None:
    rule = DoseRule.objects.get(indication__slug="sjia", route="iv", min_weight_kg=30)
    response = staff_client.post(
        admin_url(DoseRule, "change", rule.pk),
        {
            "indication": rule.indication_id, "route": "iv", "step": "starting",
            "min_weight_kg": "32", "max_weight_kg": "", "mg_per_kg": "8", "flat_mg": "",
            "max_mg": "", "interval_days": "14", "additional_doses_max": "", "min_hours_apart": "",
            "repeat_condition": "", "next_step": "", "concomitant": "", "label_section": "2",
            "evidence": "PI-old",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert "gap from 30 kg to 32 kg" in response.content.decode()


def test_an_edit_is_recorded_with_who_and_the_old_value(staff_client: Any) -> None:
    rule = DoseRule.objects.get(indication__slug="gca", route="iv")
    version = ContentVersion.current().number
    data = {
        "indication": rule.indication_id, "route": "iv", "step": "starting", "min_weight_kg": "",
        "max_weight_kg": "", "mg_per_kg": "6", "flat_mg": "", "max_mg": "650",
        "interval_days": "28", "additional_doses_max": "", "min_hours_apart": "",
        "repeat_condition": "", "next_step": "", "concomitant": rule.concomitant,
        "label_section": "2", "evidence": "2nd",
    }  # fmt: skip
    response = staff_client.post(admin_url(DoseRule, "change", rule.pk), data)
    assert response.status_code == 302
    latest, previous = rule.history.all()[:2]
    assert latest.max_mg == Decimal("650")
    assert latest.history_user.username == "admin"
    assert previous.max_mg == Decimal("600")
    assert [c.field for c in latest.diff_against(previous).changes] == ["max_mg"]
    assert ContentVersion.current().number > version
    history = staff_client.get(admin_url(DoseRule, "history", rule.pk)).content.decode()
    assert "admin" in history


def test_an_edit_can_be_reverted_from_the_history(staff_client: Any) -> None:
    rule = DoseRule.objects.get(indication__slug="gca", route="iv")
    rule.max_mg = Decimal("650")
    rule.save()
    original = rule.history.order_by("history_date").first()
    url = reverse("admin:dosing_doserule_simple_history", args=[rule.pk, original.history_id])
    page = staff_client.get(url)
    assert page.status_code == 200
    # The revert form is the change form filled with the old values; posting it restores them.
    assert page.context["adminform"].form.initial["max_mg"] == Decimal("600")
    data = {
        "indication": rule.indication_id, "route": "iv", "step": "starting", "min_weight_kg": "",
        "max_weight_kg": "", "mg_per_kg": "6", "flat_mg": "", "max_mg": "600",
        "interval_days": "28", "additional_doses_max": "", "min_hours_apart": "",
        "repeat_condition": "", "next_step": "", "concomitant": rule.concomitant,
        "label_section": "2", "evidence": "2nd",
    }  # fmt: skip
    assert staff_client.post(url, data).status_code == 302
    rule.refresh_from_db()
    assert rule.max_mg == Decimal("600")
    assert rule.history.first().max_mg == Decimal("600")


def test_mark_reviewed_sets_who_and_when(staff_client: Any) -> None:
    rule = DoseRule.objects.get(indication__slug="gca", route="iv")
    response = staff_client.post(
        admin_url(DoseRule, "changelist"),
        {"action": "mark_reviewed", "_selected_action": [rule.pk]},
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.reviewed_by.username == "admin"
    assert rule.reviewed_on is not None


def test_content_editors_may_edit_content_but_not_users() -> None:
    call_command("create_content_editors", stdout=None)
    group = Group.objects.get(name="Content editors")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"change_doserule", "add_labrule", "delete_advisory", "view_contentversion"} <= codenames
    assert "change_contentversion" not in codenames
    assert not any(code.endswith("_user") or code.endswith("_group") for code in codenames)


def test_the_dose_rule_list_leads_with_band_and_dose_and_short_names(staff_client: Any) -> None:
    ra = Indication.objects.get(slug="ra")
    response = staff_client.get(admin_url(DoseRule, "changelist"), {"indication__id__exact": ra.pk})
    html = response.content.decode()
    columns = [c for c in response.context["cl"].list_display if c != "action_checkbox"]
    assert columns[:6] == ["band", "dose", "maximum", "short_indication", "route", "step"]
    rows = response.context["cl"].result_count
    assert html.count('<td class="field-short_indication">RA</td>') == rows > 0
    assert html.count("Rheumatoid arthritis (ra)") == 1  # in the filter only, not on every row
    filters = response.context["cl"].filter_specs
    assert {"indication", "route"} <= {getattr(f, "field_path", None) for f in filters}


@pytest.mark.parametrize(
    ("edge", "value", "fault"),
    [
        ("max_weight_kg", "35", "max_weight_kg"),  # runs into the 30 kg and over band
        ("max_weight_kg", "25", "max_weight_kg"),  # stops short of it: a gap
        ("min_weight_kg", "25", "min_weight_kg"),  # the upper band starts inside the lower one
    ],
)
def test_a_band_error_marks_the_edge_at_fault(
    staff_client: Any, edge: str, value: str, fault: str
) -> None:
    """PJIA IV: under 30 kg and 30 kg and over (reference). Editing one edge of one row."""
    rows = DoseRule.objects.filter(indication__slug="pjia", route="iv", step="starting")
    rule = (
        rows.get(min_weight_kg__isnull=True)
        if edge == "max_weight_kg"
        else rows.get(min_weight_kg=30)
    )
    data = {
        "indication": str(rule.indication_id),
        "route": rule.route,
        "step": rule.step,
        "min_weight_kg": "" if rule.min_weight_kg is None else str(rule.min_weight_kg),
        "max_weight_kg": "" if rule.max_weight_kg is None else str(rule.max_weight_kg),
        "mg_per_kg": str(rule.mg_per_kg),
        "flat_mg": "",
        "max_mg": "" if rule.max_mg is None else str(rule.max_mg),
        "interval_days": str(rule.interval_days),
        "additional_doses_max": "",
        "min_hours_apart": "",
        "repeat_condition": "",
        "next_step": rule.next_step,
        "concomitant": rule.concomitant,
        "label_section": rule.label_section,
        "evidence": rule.evidence,
        edge: value,
    }
    response = staff_client.post(admin_url(DoseRule, "change", rule.pk), data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(form.errors) == {fault}, form.errors


def _page_data(response: Any) -> dict[str, Any]:
    """What the change page would post back unchanged: the form, each inline row, each
    management form."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict[str, Any] = {}
    for form in forms:
        for field in form:
            value = field.value()
            if isinstance(value, list | tuple):
                data[field.html_name] = [str(v) for v in value]
            elif isinstance(value, bool):
                if value:
                    data[field.html_name] = "on"
            else:
                data[field.html_name] = "" if value is None else str(value)
    return data


def _children_bag_row(formset: Any) -> int:
    return next(i for i, f in enumerate(formset.forms) if f.instance.max_weight_kg == 30)


def test_a_bag_row_overlapping_another_for_an_indication_is_refused_in_the_inline(
    staff_client: Any,
) -> None:
    """Preparation page: adding RA to the 50 mL bag (below 30 kg) overlaps RA's 100 mL bag."""
    preparation = Preparation.objects.get()
    url = admin_url(Preparation, "change", preparation.pk)
    page = staff_client.get(url)
    bags = next(i for i in page.context["inline_admin_formsets"] if i.formset.prefix == "bags")
    row = _children_bag_row(bags.formset)
    data = _page_data(page)
    ra = Indication.objects.get(slug="ra")
    data[f"bags-{row}-indications"] = [*data[f"bags-{row}-indications"], str(ra.pk)]
    response = staff_client.post(url, data)
    assert response.status_code == 200  # the page again, not a redirect
    message = "ra: The bands overlap: any weight overlaps another band."
    assert message in response.content.decode()
    refused = next(
        i for i in response.context["inline_admin_formsets"] if i.formset.prefix == "bags"
    )
    assert refused.formset.non_form_errors() == [message]
    assert ra not in BagVolume.objects.get(max_weight_kg=30).indications.all()


def test_a_bag_band_edit_that_leaves_a_gap_is_refused_on_its_own_page(staff_client: Any) -> None:
    """The 50 mL children's bag edited alone: ending at 25 kg leaves 25 to 30 kg without a bag."""
    bag = BagVolume.objects.get(max_weight_kg=30)
    url = admin_url(BagVolume, "change", bag.pk)
    data = _page_data(staff_client.get(url))
    data["max_weight_kg"] = "25"
    response = staff_client.post(url, data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(form.errors) == {"max_weight_kg"}, form.errors
    slugs = sorted(i.slug for i in bag.indications.all())
    assert form.errors["max_weight_kg"] == [
        f"{slug}: The bands leave a gap from 25 kg to 30 kg." for slug in slugs
    ]
    assert "pjia: The bands leave a gap from 25 kg to 30 kg." in response.content.decode()
    bag.refresh_from_db()
    assert bag.max_weight_kg == 30


def test_an_unchanged_bag_page_saves(staff_client: Any) -> None:
    # The check above refuses the edit, not the page: the same bag posted back as it is saves.
    bag = BagVolume.objects.get(max_weight_kg=30)
    url = admin_url(BagVolume, "change", bag.pk)
    response = staff_client.post(url, _page_data(staff_client.get(url)))
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_a_dose_rule_inline_overlap_marks_the_row_at_fault(staff_client: Any) -> None:
    """Indication page: the PJIA IV upper band moved to 25 kg; the message above the rows, and
    on that row's lower edge and the band under it's upper edge."""
    pjia = Indication.objects.get(slug="pjia")
    rows = list(pjia.dose_rules.order_by("pk"))
    upper = next(i for i, r in enumerate(rows) if r.route == "iv" and r.min_weight_kg == 30)
    lower = next(i for i, r in enumerate(rows) if r.route == "iv" and r.max_weight_kg == 30)
    response = staff_client.post(
        admin_url(Indication, "change", pjia.pk),
        _inline_post(pjia, {upper: {"min_weight_kg": "25"}}),
    )
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    message = "iv starting: The bands overlap: 25 kg and above overlaps another band."
    assert formset.non_form_errors() == [message]
    assert formset.forms[upper].errors == {"min_weight_kg": [message]}
    assert formset.forms[lower].errors == {"max_weight_kg": [message]}
