"""Content governance (issue 20): one registry of content models, and no route around the
two-person rule for any of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin

from dosing import content, models, publishing
from dosing.admin import ContentAdmin
from dosing.models import (
    Advisory,
    BagVolume,
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
)
from tests.conftest import edit

pytestmark = pytest.mark.django_db


# ---- one registry ------------------------------------------------------------------------------


def test_every_model_with_history_is_a_registered_content_model() -> None:
    with_history = {
        model
        for model in apps.get_app_config("dosing").get_models()
        if hasattr(model._meta, "simple_history_manager_attribute")
    }
    assert with_history == set(models.content_models())


def test_the_registry_is_every_content_row_and_nothing_else() -> None:
    names = [model.__name__ for model in models.content_models()]
    assert names == [
        "Advisory", "BagVolume", "Code", "ConcentrationLimit", "DilutedStorage", "DoseRule",
        "Drug", "EhrCheck", "Indication", "LabRule", "MonographSection", "PlausibleWeight",
        "Preparation", "Presentation", "Product", "ProductNotice", "ProductPresentation",
        "ProductRoute",
        "PublishingBounds", "ResumeRule", "RoundingPolicy", "Syringe",
    ]  # fmt: skip
    assert PublishedVersion not in models.content_models()  # what a publish makes, not content
    assert ContentVersion not in models.content_models()


def test_every_content_model_is_edited_through_a_content_admin() -> None:
    inlines = {
        inline.model
        for model_admin in admin.site._registry.values()
        for inline in getattr(model_admin, "inlines", [])
    }
    for model in models.content_models():
        model_admin = admin.site._registry.get(model)
        assert isinstance(model_admin, ContentAdmin) or model in inlines, model.__name__


def test_editors_write_every_content_model_but_the_bounds_and_nothing_else(roles: dict) -> None:
    editor = roles["editor"]
    for model in apps.get_app_config("dosing").get_models():
        name = model._meta.model_name
        may_write = model in models.content_models() and model is not PublishingBounds
        assert editor.has_perm(f"dosing.change_{name}") == may_write, name
        assert editor.has_perm(f"dosing.view_{name}"), name


# An edit of one row of each content model that changes the draft (or, for the bounds, what
# the draft is checked against). Figures are arbitrary: nothing here is published to a patient.
EDITS: dict[type, Callable[[Any], Any]] = {
    Advisory: lambda u: edit(Advisory.objects.first(), u, message="Edited advisory."),
    BagVolume: lambda u: edit(BagVolume.objects.filter(bag_ml=100).first(), u, bag_ml=D(250)),
    Code: lambda u: edit(Code.objects.first(), u, display="Edited display"),
    ConcentrationLimit: lambda u: edit(ConcentrationLimit.objects.get(), u, max_mg_per_ml=D(10)),
    DilutedStorage: lambda u: edit(DilutedStorage.objects.first(), u, max_hours=48),
    DoseRule: lambda u: edit(
        DoseRule.objects.get(indication__slug="ra", route="iv", step="increased"), u, max_mg=D(750)
    ),
    Drug: lambda u: edit(Drug.objects.get(), u, drug_class="Edited class"),
    EhrCheck: lambda u: edit(EhrCheck.objects.get(), u, dose_tolerance_percent=D(50)),
    Indication: lambda u: edit(Indication.objects.get(slug="ra"), u, population="Edited."),
    LabRule: lambda u: edit(LabRule.objects.get(code="start-anc"), u, message="Edited lab."),
    MonographSection: lambda u: edit(MonographSection.objects.first(), u, body="Edited body."),
    PlausibleWeight: lambda u: edit(PlausibleWeight.objects.first(), u, max_weight_kg=D(400)),
    Preparation: lambda u: edit(Preparation.objects.get(), u, infusion_minutes=30),
    Presentation: lambda u: edit(Presentation.objects.first(), u, available=False),
    Product: lambda u: edit(Product.objects.get(slug="tyenne"), u, holder="Edited holder"),
    # Issue 23: what a product offers and its notices are under the same two-person rule.
    ProductNotice: lambda u: edit(
        ProductNotice.objects.get(code="tyenne-recall-d-0827-2026"), u, active=False
    ),
    ProductPresentation: lambda u: edit(
        ProductPresentation.objects.get(
            product__slug="tyenne", presentation__route="iv", presentation__strength_mg=400
        ),
        u,
        evidence="PI",
        needs_review=False,
    ),
    ProductRoute: lambda u: edit(
        ProductRoute.objects.get(product__slug="tyenne", indication__slug="pjia", route="sc"),
        u,
        evidence="PI",
        needs_review=False,
    ),
    PublishingBounds: lambda u: edit(PublishingBounds.objects.get(), u, max_mg_per_kg=D(25)),
    ResumeRule: lambda u: edit(ResumeRule.objects.first(), u, next_step="Edited next step."),
    RoundingPolicy: lambda u: edit(RoundingPolicy.objects.get(), u, enabled=True),
    Syringe: lambda u: edit(Syringe.objects.get(capacity_ml=20), u, graduation_ml=D("0.5")),
}


def test_every_content_model_has_an_edit_below() -> None:
    assert set(EDITS) == set(models.content_models())


@pytest.mark.parametrize("model", sorted(EDITS, key=lambda m: m.__name__), ids=lambda m: m.__name__)
def test_whoever_edits_a_row_of_any_content_model_cannot_publish(model: type, roles: dict) -> None:
    editor, reviewer, other = roles["editor"], roles["reviewer"], roles["reviewer2"]
    # Something to publish besides: an editor's RA cap.
    edit(DoseRule.objects.get(indication__slug="ra", route="iv", step="increased"), editor,
         max_mg=D(700))  # fmt: skip
    revision = ContentVersion.current().number
    EDITS[model](reviewer)  # a reviewer who edits becomes an author
    assert ContentVersion.current().number > revision  # the draft marker moved
    current = publishing.review()
    assert current.authors.get(reviewer.pk) == "reviewer"
    with pytest.raises(publishing.PublishRefused) as refused:
        publishing.publish(
            reviewer, "x", confirmed=True, draft_hash=current.draft.content_hash, live_number=1
        )
    assert any("You changed this draft" in reason for reason in refused.value.reasons)
    version = publishing.publish(
        other, "x", confirmed=True, draft_hash=current.draft.content_hash, live_number=1
    )
    # Besides: '(not recorded)' where a data migration changed rows after version 1 (0011 on
    # main: its change was folded into version 1 by reseed_initial_version, see the notes).
    assert {"editor", "reviewer"} <= set(version.authors)


def test_last_reviewed_counts_every_clinical_model() -> None:
    row = EhrCheck.objects.get()
    edit(row, reviewed_on=date(2026, 11, 30))  # the EHR check: not among the nine counted before
    assert content.last_reviewed_on() == date(2026, 11, 30)


# ---- authorship survives a rollback -----------------------------------------------------------


def ra_cap() -> DoseRule:
    return DoseRule.objects.get(indication__slug="ra", route="iv", step="increased")


def publish_as(user: Any, summary: str = "x") -> PublishedVersion:
    current = publishing.review()
    return publishing.publish(
        user,
        summary,
        confirmed=True,
        draft_hash=current.draft.content_hash,
        live_number=current.live_number,
    )


def roll_back(user: Any, number: int, **kwargs: Any) -> PublishedVersion:
    live = PublishedVersion.objects.order_by("-number").first().number
    return publishing.rollback(
        user, number, "Roll back", confirmed=True, live_number=live, **kwargs
    )


@pytest.fixture
def both_roles(django_user_model: Any) -> Any:
    """A superuser: an editor and a reviewer at once."""
    return django_user_model.objects.create_superuser("both", "both@example.org", "pw-unused-1")


def test_edit_roll_back_alone_then_publish_is_refused(roles: dict, both_roles: Any) -> None:
    edit(ra_cap(), roles["editor"], max_mg=D(750))
    publish_as(roles["reviewer"], "RA cap 750 mg")  # version 2
    edit(ra_cap(), both_roles, max_mg=D(700))  # their own change, waiting in the draft
    roll_back(both_roles, 1)  # version 3, alone
    current = publishing.review()
    # The rollback wiped no one: the editor's rolled-back edit and theirs are both pending.
    assert set(current.authors.values()) == {"editor", "both"}
    with pytest.raises(publishing.PublishRefused) as refused:
        publish_as(both_roles)
    assert any("You changed this draft" in r for r in refused.value.reasons)
    assert PublishedVersion.objects.count() == 3


def test_whoever_rolled_back_does_not_publish_the_draft_next(roles: dict) -> None:
    edit(ra_cap(), roles["editor"], max_mg=D(750))
    publish_as(roles["reviewer"])  # version 2
    roll_back(roles["reviewer2"], 1)  # no edit of theirs
    assert publishing.review().changes  # the 750 mg cap is in the draft again
    with pytest.raises(publishing.PublishRefused) as refused:
        publish_as(roles["reviewer2"])  # would undo their own rollback
    assert any("You changed this draft" in r for r in refused.value.reasons)
    assert publish_as(roles["reviewer"]).number == 4  # a second person may


def test_a_rollback_can_reset_the_draft_to_that_version(roles: dict) -> None:
    editor, reviewer, other = roles["editor"], roles["reviewer"], roles["reviewer2"]
    v1_cap = ra_cap().max_mg
    edit(ra_cap(), editor, max_mg=D(750))
    code = Code.objects.filter(kind="drug").first()
    code.pk = None
    edit(code, editor, code="999999")  # a row made after version 1
    storage = DilutedStorage.objects.first()  # loaded without history before 0012
    edit(storage, editor, max_hours=48)
    section = MonographSection.objects.last()
    section_pk = section.pk
    section.delete()  # a row deleted after version 1
    lab = LabRule.objects.get(code="start-anc")
    lab.indications.remove(Indication.objects.get(slug="gca"))
    publish_as(reviewer)  # version 2
    assert publishing.review().changes == []

    roll_back(other, 1, reset=True)

    assert publishing.review().changes == [], publishing.review().changes  # version 1 again
    assert ra_cap().max_mg == v1_cap
    assert not Code.objects.filter(code="999999").exists()
    v1_storage = PublishedVersion.objects.get(number=1).snapshot["rules"]["handling"]["storage"]
    assert [s.max_hours for s in DilutedStorage.objects.all()] == [
        s["max_hours"] for s in v1_storage
    ]
    assert MonographSection.objects.filter(pk=section_pk).exists()
    assert "gca" in set(lab.indications.values_list("slug", flat=True))
    assert ra_cap().history.first().history_user == other  # the reset is theirs, recorded


def test_rollback_keeps_the_draft_unless_asked_and_says_so(client: Any, roles: dict) -> None:
    edit(ra_cap(), roles["editor"], max_mg=D(750))
    publish_as(roles["reviewer"])
    client.force_login(roles["reviewer2"])
    page = client.post(
        "/admin/dosing/publishedversion/1/rollback/",
        {"summary": "Back to 1", "confirm": "yes", "live_number": "2"},
        follow=True,
    ).content.decode()
    assert "Published version 3: the content of version 1 again." in page
    assert "The draft still holds its edits" in page
    assert "Also reset the draft to this version" in page
    page = client.post(
        "/admin/dosing/publishedversion/2/rollback/",
        {"summary": "Forward to 2", "confirm": "yes", "reset": "yes", "live_number": "3"},
        follow=True,
    ).content.decode()
    assert "The draft is reset to version 2&#x27;s content." in page


def test_a_user_in_both_roles_is_the_author_by_every_route(client: Any, both_roles: Any) -> None:
    from tests.test_admin import _page_data

    client.force_login(both_roles)
    rule = ra_cap()
    url = f"/admin/dosing/doserule/{rule.pk}/change/"
    data = _page_data(client.get(url)) | {"max_mg": "750"}
    assert client.post(url, data).status_code == 302  # the change form
    assert publishing.review().authors == {both_roles.pk: "both"}
    reviewer = type(both_roles).objects.create_superuser("other", "o@example.org", "pw-unused-2")
    publish_as(reviewer)
    # The 'mark reviewed' action is an edit too.
    response = client.post(
        "/admin/dosing/ehrcheck/",
        {"action": "mark_reviewed", "_selected_action": [EhrCheck.objects.get().pk]},
    )
    assert response.status_code == 302
    assert publishing.draft_authors() == {both_roles.pk: "both"}


# ---- integrity covers the EHR path -----------------------------------------------------------

EHR_BREAKS = {
    "the drug codes": (
        lambda: Code.objects.filter(kind="drug").delete(),
        "The EHR order check has no drug code: no tocilizumab order would be recognised",
    ),
    "the weight code": (
        lambda: Code.objects.filter(kind="observation", observed="weight").delete(),
        "The EHR order check has no code for body weight",
    ),
    "the ANC codes": (
        lambda: Code.objects.filter(observed="anc_per_mm3").delete(),
        "The EHR order check has no code for ANC results: the lab rules for",
    ),
    "the AST code": (
        lambda: Code.objects.filter(observed="ast_x_uln").delete(),
        "The EHR order check has no code for AST results",
    ),
}


@pytest.mark.parametrize("name", EHR_BREAKS)
def test_removing_a_code_the_ehr_check_needs_is_refused_at_publish(name: str, roles: dict) -> None:
    remove, message = EHR_BREAKS[name]
    remove()
    findings = publishing.review().draft.findings
    assert any(f.startswith(message) for f in findings), findings
    with pytest.raises(publishing.PublishRefused) as refused:
        publish_as(roles["reviewer"])
    assert any("integrity check" in r for r in refused.value.reasons)


def test_the_seeded_codes_pass_the_ehr_check() -> None:
    assert publishing._check_ehr_codes(content.current_rules(), PublishingBounds.current()) == []


# ---- publishing is serialized; a tampered snapshot is never served ---------------------------


def test_a_publish_reviewed_against_an_earlier_live_version_is_refused_in_words(
    roles: dict,
) -> None:
    edit(ra_cap(), roles["editor"], max_mg=D(750))
    publish_as(roles["reviewer"], "RA cap 750 mg")  # version 2
    # An emergency rollback lands while a second reviewer still has the page of version 2 open.
    roll_back(roles["reviewer2"], 1)  # version 3
    seen = publishing.review()
    with pytest.raises(publishing.PublishRefused) as refused:
        publishing.publish(
            roles["reviewer"], "x", confirmed=True, draft_hash=seen.draft.content_hash,
            live_number=2,
        )  # fmt: skip
    (reason,) = refused.value.reasons
    assert reason.startswith(
        "Version 3 went live after you opened this page (published by reviewer2 at "
    )
    assert reason.endswith("not version 2 you reviewed against. Nothing was published: review "
                           "the page again.")  # fmt: skip
    with pytest.raises(publishing.PublishRefused) as refused:
        publishing.rollback(roles["reviewer"], 2, "again", confirmed=True, live_number=2)
    assert "Nothing was rolled back: review the page again." in refused.value.reasons[0]
    assert PublishedVersion.objects.count() == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_reviewers_publishing_at_once_make_one_version_and_one_refusal(
    roles: dict, monkeypatch: Any
) -> None:
    """Threads, each with its own connection. On PostgreSQL the second waits for the first's
    lock and is refused because version 2 went live; on SQLite it cannot take the write lock."""
    import threading

    from django.db import connection, connections

    edit(ra_cap(), roles["editor"], max_mg=D(750))
    seen = publishing.review()
    both_in = threading.Barrier(2, timeout=30)
    serialized = publishing._serialized

    def at_once(*args: Any) -> Any:
        both_in.wait()  # both passed every check against version 1; now both publish
        return serialized(*args)

    monkeypatch.setattr(publishing, "_serialized", at_once)
    outcomes: dict[str, Any] = {}

    def publish(name: str) -> None:
        try:
            outcomes[name] = publishing.publish(
                roles[name], name, confirmed=True, draft_hash=seen.draft.content_hash,
                live_number=seen.live_number,
            ).number  # fmt: skip
        except publishing.PublishRefused as refusal:
            outcomes[name] = refusal.reasons
        except Exception as error:  # noqa: BLE001 (anything else is the failure shown)
            outcomes[name] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish, args=(n,)) for n in ("reviewer", "reviewer2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes.values(), key=lambda v: isinstance(v, list))[0] == 2, outcomes
    (refusal,) = [v for v in outcomes.values() if isinstance(v, list)]
    if connection.vendor == "postgresql":
        assert refusal[0].startswith("Version 2 went live after you opened this page"), refusal
    else:
        assert "Nothing was published: review the page again." in refusal[0], refusal
    assert list(PublishedVersion.objects.values_list("number", flat=True)) == [2, 1]


def tamper(number: int) -> None:
    """Change a stored figure directly in the database (the model refuses a save)."""
    row = PublishedVersion.objects.get(number=number)
    data = row.snapshot
    for rule in data["rules"]["dose_rules"]:
        if rule["max_mg"] is not None:
            rule["max_mg"] = "8000"
    PublishedVersion.objects.filter(number=number).update(snapshot=data)


def test_a_tampered_snapshot_is_not_served_and_health_says_so(client: Any, roles: dict) -> None:
    edit(ra_cap(), roles["editor"], max_mg=D(750))
    publish_as(roles["reviewer"])  # version 2
    tamper(2)
    monkeypatch_restart()  # a process starting now: nothing held in memory
    answer = client.post(
        "/api/v1/calculate",
        {"indication": "ra", "route": "iv", "weight": 110, "step": "increased"},
        content_type="application/json",
    ).json()
    assert (answer["content_version"], answer["dose_mg"]) == (1, 800)  # the last good version
    health = client.get("/api/v1/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "degraded"
    assert body["content"].startswith(
        "Content version 2's stored snapshot does not match the SHA-256 recorded when it was "
        "published"
    )
    assert body["content"].endswith("it was changed in the database. Serving version 1.")
    roll_back(roles["reviewer2"], 1)  # the way out: a good version goes live again
    content.forget_version()
    client.get("/api/v1/rules")
    assert client.get("/api/v1/health").json() | {"content_version": 0} == {
        "status": "ok", "content_version": 0, "database": "ok", "cache": "local", "content": "ok",
    }  # fmt: skip


def test_a_tampered_new_version_leaves_the_one_in_memory_serving(client: Any, roles: dict) -> None:
    assert content.current_snapshot().number == 1
    edit(ra_cap(), roles["editor"], max_mg=D(750))
    publish_as(roles["reviewer"])
    tamper(2)
    content.forget_version()
    assert content.current_snapshot().number == 1
    assert "Serving version 1." in (content.serving_problem() or "")


def test_once_the_held_version_is_live_again_nothing_is_served_instead(roles: dict) -> None:
    """The refusal is not remembered past it: when the live version is again the one held
    (here the tampered row is gone, as when its transaction rolls back), health says ok."""
    edit(ra_cap(), roles["editor"], max_mg=D(750))
    publish_as(roles["reviewer"])
    tamper(2)
    content.forget_version()
    assert content.current_snapshot().number == 1
    assert content.serving_problem() is not None
    PublishedVersion.objects.filter(number=2).delete()  # the queryset: the model refuses
    content.forget_version()
    assert content.current_snapshot().number == 1
    assert content.serving_problem() is None


def test_a_tampered_version_cannot_be_rolled_back_to(roles: dict) -> None:
    edit(ra_cap(), roles["editor"], max_mg=D(750))
    publish_as(roles["reviewer"])  # version 2
    edit(ra_cap(), roles["editor"], max_mg=D(700))
    publish_as(roles["reviewer"])  # version 3
    tamper(2)
    with pytest.raises(publishing.PublishRefused) as refused:
        roll_back(roles["reviewer2"], 2)
    assert refused.value.reasons == [
        "Version 2's stored snapshot does not match the SHA-256 recorded when it was published: "
        "it was changed in the database and cannot be published again."
    ]


def monkeypatch_restart() -> None:
    content._current = None


@pytest.fixture(autouse=True)
def nothing_refused_after() -> Any:
    """A test that tampered leaves no refused version behind for the next one (health)."""
    yield
    content._problem = content._refused = content._current = None


# ---- every change in words -------------------------------------------------------------------

NOT_FIELDS = {"format", "rules", "monograph", "sections", "source", "anchor", "body_html", "bags", "storage",
              "codes", "handling", "ehr", "content_version", "content_date", "last_reviewed_on",
              "dose_rules", "presentations", "preparation", "lab_rules", "advisories",
              "plausible_weights", "resume_rules", "concentration_limit", "syringes",
              "rounding", "products", "routes", "notices"}  # fmt: skip


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {k for k in value if k not in NOT_FIELDS} | {
            key for item in value.values() for key in _keys(item)
        }
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


def test_every_field_of_the_snapshot_and_the_bounds_has_one_description() -> None:
    snapshot = PublishedVersion.objects.get(number=1).snapshot
    fields = _keys(snapshot) | set(publishing.BOUNDS_FIELDS)
    assert fields - set(publishing.FIELD_WORDS) == set()


def sjia_under_30() -> DoseRule:
    return DoseRule.objects.get(indication__slug="sjia", route="iv", max_weight_kg=30)


def test_a_ten_fold_slip_is_flagged_named_and_needs_the_new_value_typed(roles: dict) -> None:
    rule = sjia_under_30()
    old = rule.mg_per_kg
    edit(rule, roles["editor"], mg_per_kg=old / 10)
    current = publishing.review()
    (line,) = current.changes
    assert line == (
        "Systemic juvenile idiopathic arthritis, intravenous, starting dose, below 30 kg: dose "
        f"{old.normalize()} mg per kg → {(old / 10).normalize()} mg per kg (10 times smaller: "
        "type the new value to confirm)."
    )
    (flag,) = current.flags
    assert flag.new_value == str((old / 10).normalize())
    # The affected cases hold a child in the middle of the band, not only its edges.
    labels = [case.label for case in current.affected]
    assert any("kg" in label and "1, " not in label for label in labels), labels
    middle = [c for c in current.affected if c.label.endswith(", 15 kg")]
    assert middle, labels
    with pytest.raises(publishing.PublishRefused) as refused:
        publish_as(roles["reviewer"])
    assert refused.value.reasons == [
        f"Type the new value {flag.new_value} to confirm this change of 10 times smaller: {flag}."
    ]
    version = publishing.publish(
        roles["reviewer"], "x", confirmed=True, draft_hash=current.draft.content_hash,
        live_number=1, typed=[flag.new_value],
    )  # fmt: skip
    assert version.number == 2


def test_affected_cases_that_change_alike_are_one_line() -> None:
    edit(ra_cap(), max_mg=D(750))
    labels = [case.label for case in publishing.review().affected]
    assert all(label.count(" kg") == 1 for label in labels)
    assert any(", 200, " in label for label in labels), labels  # 199.99, 200, ... kg together


DANGEROUS = {
    "a storage time": (
        lambda: edit(DilutedStorage.objects.order_by("order", "pk").first(), max_hours=48),
        "diluted storage in 0.9% Sodium Chloride Injection at 2 to 8 °C: keeps for at most 24 h → "
        "48 h (+100 %).",
    ),
    "a tolerance": (
        lambda: edit(EhrCheck.objects.get(), dose_tolerance_percent=D(50)),
        "EHR order check: ordered vs calculated dose tolerance 0 % → 50 %.",
    ),
    "a long message": (
        lambda: edit(
            LabRule.objects.get(code="start-anc"),
            message=LabRule.objects.get(code="start-anc").message.replace("not ", "", 1)
            + " Recheck the count before every infusion and record it in the chart.",
        ),
        "lab rule start-anc (both routes): message, in words: ",
    ),
    "the bounds": (
        lambda: edit(PublishingBounds.objects.get(), max_mg_per_kg=D(25)),
        "Publishing bounds: largest dose 20 mg per kg → 25 mg per kg (+25 %).",
    ),
    "an EHR code": (
        lambda: edit(Code.objects.get(kind="observation", observed="weight"), code="3141-9"),
        "New EHR code: observation code 3141-9 (Body weight).",
    ),
    # Issue 22.4: the volume drawn moves with a syringe's graduations; rounding is a site policy.
    "a syringe graduation": (
        lambda: edit(Syringe.objects.get(capacity_ml=20), graduation_ml=D("0.5")),
        "20 mL syringe: graduations every 1 mL → 0.5 mL (−50 %).",
    ),
    "the site rounding policy": (
        lambda: edit(RoundingPolicy.objects.get(), enabled=True),
        "Site rounding policy (whole vials): in use no → yes.",
    ),
}


@pytest.mark.parametrize("name", DANGEROUS)
def test_a_dangerous_change_is_shown_in_words(name: str) -> None:
    change, words = DANGEROUS[name]
    change()
    changes = publishing.review().changes
    assert any(line.startswith(words) for line in changes), changes
    assert not any("{" in line or "':" in line for line in changes), changes


def test_a_long_text_shows_the_words_that_changed() -> None:
    old = "Hold until the ANC is above 1,000 cells per mm3, then resume at the usual dose."
    new = "Hold until the ANC is above 500 cells per mm3, then resume at the usual dose today."
    assert publishing.word_diff(f"{old} {old}", f"{new} {new}") == (
        "“…the ANC is above [1,000 → 500] cells per mm3, then…”; “…resume at the usual "
        "[dose. → dose today.] Hold until the ANC…”; “…the ANC is above [1,000 → 500] cells per "
        "mm3, then…”; “…resume at the usual [dose. → dose today.]”"
    )


def test_no_edit_of_any_content_model_reaches_the_reviewer_as_a_dump(roles: dict) -> None:
    for change in EDITS.values():
        change(roles["editor"])
    changes = publishing.review().changes
    assert len(changes) >= len(EDITS) - 1  # the drug's class and its section: one line each
    assert not any("{" in line or "':" in line for line in changes), changes


# ---- save messages say it is a draft, in words ------------------------------------------------


def _save(client: Any, row: Any, **changes: str) -> str:
    from tests.test_admin import _page_data

    url = f"/admin/dosing/{row._meta.model_name}/{row.pk}/change/"
    data = _page_data(client.get(url)) | changes
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_a_save_says_draft_not_live_with_the_change_in_words(client: Any, roles: dict) -> None:
    client.force_login(roles["editor"])
    rule = sjia_under_30()
    old = rule.mg_per_kg
    new = old / 10
    page = _save(client, rule, mg_per_kg=str(new))
    assert (
        f"Saved to the draft (not live): dose {old.normalize()} → {new.normalize()} mg per kg "
        "(−90 %, 10 times smaller). "
        '<a href="/admin/dosing/publishedversion/review/">Review page →</a>'
    ) in page
    assert "changed successfully" not in page


def test_a_save_outside_the_bounds_is_warned_at_once(client: Any, roles: dict) -> None:
    client.force_login(roles["editor"])
    page = _save(client, ra_cap(), max_mg="5000")
    assert "a maximum of 5,000 mg is outside the publishing bounds (100 to 2,000 mg): the draft " \
           "cannot be published until it is corrected." in page  # fmt: skip


# ---- the password again, and a working shift --------------------------------------------------


def test_publishing_asks_for_the_password_once_the_window_has_passed(
    client: Any, roles: dict
) -> None:
    from dosing.admin import REAUTH_KEY

    reviewer = roles["reviewer"]
    reviewer.set_password("pw-reviewer-1")
    reviewer.save()
    edit(ra_cap(), roles["editor"], max_mg=D(750))
    client.force_login(reviewer)
    session = client.session
    session[REAUTH_KEY] = 0  # signed in long before the window
    session.save()
    current = publishing.review()
    form = {"summary": "RA cap", "confirm": "yes", "draft_hash": current.draft.content_hash,
            "live_number": "1"}  # fmt: skip
    url = "/admin/dosing/publishedversion/review/"
    assert 'type="password"' in client.get(url).content.decode()
    response = client.post(url, form)
    assert response.status_code == 422
    assert "Enter your password again: publishing and rolling back ask for it when you last " \
           "gave it more than 5 minutes ago. Nothing was published." in response.content.decode()  # fmt: skip
    response = client.post(url, form | {"password": "wrong"})
    assert "That is not your password. Nothing was published." in response.content.decode()
    assert PublishedVersion.objects.count() == 1
    response = client.post(url, form | {"password": "pw-reviewer-1"}, follow=True)
    assert "Published version 2" in response.content.decode()
    # Given just now: the next publish or rollback within the window does not ask again.
    page = client.post(
        "/admin/dosing/publishedversion/1/rollback/",
        {"summary": "Back", "confirm": "yes", "live_number": "2"},
        follow=True,
    ).content.decode()
    assert "Published version 3: the content of version 1 again." in page


def test_a_rollback_past_the_window_needs_the_password(client: Any, roles: dict) -> None:
    from dosing.admin import REAUTH_KEY

    edit(ra_cap(), roles["editor"], max_mg=D(750))
    publish_as(roles["reviewer"])
    client.force_login(roles["reviewer2"])
    session = client.session
    session[REAUTH_KEY] = 0
    session.save()
    page = client.post(
        "/admin/dosing/publishedversion/1/rollback/",
        {"summary": "Back", "confirm": "yes", "live_number": "2"},
        follow=True,
    ).content.decode()
    assert "Rollback to version 1 refused: Enter your password again" in page
    assert PublishedVersion.objects.count() == 2


def test_an_admin_session_lasts_a_working_shift() -> None:
    from django.conf import settings

    assert 8 * 3600 <= settings.SESSION_COOKIE_AGE <= 12 * 3600


@pytest.mark.parametrize("hours", ["7", "13", "ten"])
def test_a_session_length_outside_a_shift_refuses_to_start(hours: str) -> None:
    from tests.test_settings import manage

    result = manage("check", DJANGO_DEBUG="1", DJANGO_ADMIN_SESSION_HOURS=hours)
    assert result.returncode != 0
    assert (
        "DJANGO_ADMIN_SESSION_HOURS must be a whole number of hours from 8 to 12" in result.stderr
    )
