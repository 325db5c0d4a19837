"""The stored snapshot's format (dosing/snapshot.py): dump, load, upgrades, against stored ones.

tests/snapshots/format-1.json is version 1 exactly as the code before formats were numbered
stored it (migrate on an empty database at f7af985, the row's snapshot and content_hash
dumped). tests/snapshots/format-1-first.json is version 1 as the first release that stored
versions wrote it (b8ba77e, content governance), before issues 12, 15 and 21 added fields.
tests/snapshots/format-2.json is format-1.json as the code of c7e42c4 wrote it (snapshot.dump).
tests/snapshots/format-3.json is version 1 as the code of 93f6347 wrote it at migrate (issue
22.4's syringes and rounding policy added). tests/snapshots/format-4.json is version 1 as the
code of 52ac3b2 wrote it at migrate (issue 23's products added). tests/snapshots/format-5.json is
version 1 as this code writes it at migrate (each product's own presentations).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dosing import content, engine, publishing, snapshot
from dosing.models import DoseRule, PublishedVersion
from tests.conftest import edit
from tests.test_governance import monkeypatch_restart, nothing_refused_after, roll_back

__all__ = ["nothing_refused_after"]  # a fixture used here (roles: conftest)

STORED = Path(__file__).parent / "snapshots"


def stored(name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((STORED / name).read_text())
    return record


FORMAT_1 = stored("format-1.json")
FIRST = stored("format-1-first.json")

# What b8ba77e's own engine gave on FIRST (dose mg, volume mL, bag mL, interval days), run once.
FIRST_RELEASE_FIGURES = [
    ("ra", "iv", "70", "starting", "280", "14", "100", 28),
    ("ra", "iv", "130", "increased", "800", "40", "100", 28),
    ("ra", "sc", "70", "starting", "162", "0.9", None, 14),
    ("pjia", "iv", "25", "starting", "250", "12.5", "50", 28),
    ("sjia", "iv", "20", "starting", "240", "12", "50", 14),
    ("sjia", "iv", "40", "starting", "320", "16", "100", 14),
    ("gca", "iv", "70", "starting", "420", "21", "100", 28),
    ("crs", "iv", "20", "starting", "240", "12", "50", None),
    ("covid-19", "iv", "90", "starting", "720", "36", "100", None),
]


def shape(value: Any, path: str = "") -> set[str]:
    """Every key path of a document (list items merged): what a format fixes."""
    if isinstance(value, dict):
        return {f"{path}/{key}" for key in value} | {
            found for key, item in value.items() for found in shape(item, f"{path}/{key}")
        }
    if isinstance(value, list):
        return {found for item in value for found in shape(item, f"{path}[]")}
    return set()


@pytest.mark.django_db
def test_what_this_release_stores_has_the_shape_of_its_format() -> None:
    """A field added to (or dropped from) the snapshot is a new format: this fails until it is."""
    written = PublishedVersion.objects.get(number=1).snapshot  # by this code, at migrate
    fixture = stored(f"format-{snapshot.FORMAT}.json")["snapshot"]
    assert written["format"] == fixture["format"] == snapshot.FORMAT
    assert shape(written) ^ shape(fixture) == set(), (
        "The stored snapshot's fields changed: raise snapshot.FORMAT, add the upgrade step from "
        "the old format (snapshot.UPGRADES) and store tests/snapshots/format-<new>.json"
    )


def test_the_format_1_fixture_is_what_was_stored_then() -> None:
    document = FORMAT_1["snapshot"]
    assert "format" not in document
    assert snapshot.format_of(document) == 1
    assert snapshot.content_hash(document) == FORMAT_1["content_hash"]


def kept(stored: Any, upgraded: Any) -> bool:
    """Every key and value of `stored` is in `upgraded` unchanged (an upgrade only adds)."""
    if isinstance(stored, dict):
        return isinstance(upgraded, dict) and all(
            key in upgraded and kept(value, upgraded[key]) for key, value in stored.items()
        )
    if isinstance(stored, list):
        return (
            isinstance(upgraded, list)
            and len(stored) == len(upgraded)
            and all(kept(a, b) for a, b in zip(stored, upgraded, strict=True))
        )
    return bool(stored == upgraded)


@pytest.mark.parametrize("record", [FORMAT_1, FIRST], ids=["format-1", "format-1-first"])
def test_a_format_1_snapshot_loads_with_every_figure_it_stored(record: dict[str, Any]) -> None:
    loaded = snapshot.load(record["snapshot"], sha256=record["content_hash"], number=1)
    assert loaded.document["format"] == snapshot.FORMAT
    assert kept(record["snapshot"], loaded.document)
    # Nothing lost or reworded in the reading: the rules write back to the upgraded text.
    assert snapshot.dump_rules(loaded.rules) == loaded.document["rules"]


def test_the_newest_format_1_snapshot_needed_no_field_filled_in() -> None:
    upgraded = snapshot.UPGRADES[1](copy.deepcopy(FORMAT_1["snapshot"]))
    assert {**upgraded, "format": 1} == {**FORMAT_1["snapshot"], "format": 1}


FORMAT_2 = stored("format-2.json")


def test_a_format_2_snapshot_draws_to_its_one_graduation_and_rounds_nothing() -> None:
    # Format 3 (issue 22.4) added the syringes and the site rounding policy; a format-2 version
    # had neither: its volumes are drawn to the preparation's one graduation (0.1 mL).
    document = FORMAT_2["snapshot"]
    loaded = snapshot.load(document, sha256=FORMAT_2["content_hash"], number=1)
    assert kept({**document, "format": snapshot.FORMAT}, loaded.document)
    assert loaded.document["rules"]["handling"]["syringes"] == []
    assert loaded.document["rules"]["rounding"] is None
    result = engine.calculate(
        engine.Inputs(indication="pjia", route="iv", weight=Decimal("24.5"), age_years=Decimal(8)),
        loaded.rules,
    )
    assert (result.draw_ml, result.draw_mg, result.syringe_ml) == (
        Decimal("12.3"),
        Decimal("246"),
        None,
    )


FORMAT_3 = stored("format-3.json")


def test_a_format_3_snapshot_serves_one_product_the_drug_for_each_of_its_routes() -> None:
    # Format 4 (issue 23) added the products; a format-3 version served the drug alone, on its
    # label, for every indication and route it had a dose rule for.
    document = FORMAT_3["snapshot"]
    loaded = snapshot.load(document, sha256=FORMAT_3["content_hash"], number=1)
    assert kept({**document, "format": snapshot.FORMAT}, loaded.document)
    (product,) = loaded.rules.products
    monograph = document["monograph"]
    assert (product.slug, product.brand_name, product.nonproprietary_name) == (
        "actemra",
        "ACTEMRA",
        "tocilizumab",
    )
    assert (product.label_name, product.label_url, product.label_revision) == (
        monograph["label_name"],
        monograph["label_url"],
        monograph["label_revision"],
    )
    assert not product.biosimilar
    assert product.diluents == document["rules"]["preparation"]["diluents"]
    dosed = {(r["indication"], r["route"]) for r in document["rules"]["dose_rules"]}
    assert {(r.indication, r.route.value) for r in product.routes} == dosed
    assert {r.source.evidence for r in product.routes} == {"PI"}
    assert all(code.product == "" for code in loaded.rules.ehr.codes)
    assert snapshot.dump_rules(loaded.rules) == loaded.document["rules"]


@pytest.mark.django_db
def test_the_upgraded_format_3_product_offers_what_the_seeded_actemra_offers() -> None:
    """The 3 -> 4 step and migration 0018 agree on ACTEMRA's indications and routes (the
    seed grades each as the reference does; the step, which has no grades, says PI)."""
    upgraded = snapshot.load(FORMAT_3["snapshot"]).rules.products[0]
    seeded = content.current_rules().product("actemra")
    assert seeded is not None
    assert [(r.indication, r.route) for r in upgraded.routes] == [
        (r.indication, r.route) for r in seeded.routes
    ]


FORMAT_4 = stored("format-4.json")


def test_a_format_4_snapshot_offers_its_presentations_and_no_biosimilar_an_actpen() -> None:
    # A format-4 version offered every product the drug's presentations. Upgraded: ACTEMRA's
    # are still the drug's, ACTPen and all; a biosimilar's are the same rows, never named
    # ACTPen, and unconfirmed for it (OPEN, flagged), so each one drawn is said so.
    document = FORMAT_4["snapshot"]
    loaded = snapshot.load(document, sha256=FORMAT_4["content_hash"], number=1)
    assert kept({**document, "format": 5}, loaded.document)
    assert [p.slug for p in loaded.rules.products] == ["actemra", "tofidence", "tyenne", "avtozma"]
    actemra, *biosimilars = loaded.rules.products
    assert actemra.presentations is None
    assert all(p.source is None for p in loaded.rules.presentations)
    assert "Single-dose autoinjector (ACTPen)" in [
        p.device_label for p in loaded.rules.presentations
    ]
    for product in biosimilars:
        own = loaded.rules.presentations_of(product)
        assert [(p.route, p.device, p.strength_mg) for p in own] == [
            (p.route, p.device, p.strength_mg) for p in loaded.rules.presentations
        ]
        assert not any("ACTPen" in p.device_label for p in own)
        assert all(p.source is not None and p.source.needs_review for p in own)

    def calc(product: str) -> engine.Result:
        return engine.calculate(
            engine.Inputs(
                indication="ra", route="sc", weight=Decimal(70), weight_unit="kg",
                step="starting", product=product, age_years=50,
            ),
            loaded.rules,
        )  # fmt: skip

    assert "ACTPen" in calc("actemra").display["devices"]
    avtozma = calc("avtozma")
    assert "ACTPen" not in avtozma.display["devices"]
    assert "ACTPen" not in avtozma.chart_note
    assert {w.code for w in avtozma.warnings} >= {"product_presentation_open"}
    assert snapshot.dump_rules(loaded.rules) == loaded.document["rules"]


@pytest.mark.django_db
def test_the_seeded_format_5_products_come_in_their_own_presentations() -> None:
    """What 0020 seeds: the ACTPen is ACTEMRA's alone, TOFIDENCE has no subcutaneous device,
    TYENNE's vials are OPEN."""
    rules = content.current_rules()

    def offered(slug: str) -> list[tuple[str, str, str, bool]]:
        product = rules.product(slug)
        assert product is not None
        assert product.presentations is not None
        return [
            (
                p.device_label,
                engine.format_number(p.strength_mg),
                p.source.evidence,
                p.source.needs_review,
            )
            for p in product.presentations
            if p.source is not None
        ]

    assert ("Single-dose autoinjector (ACTPen)", "162", "PI", False) in offered("actemra")
    assert [p[0] for p in offered("tofidence")] == ["Single-dose vial"] * 3
    assert {p[2:] for p in offered("tyenne") if p[0] == "Single-dose vial"} == {("OPEN", True)}
    for slug in ("tofidence", "tyenne", "avtozma"):
        assert not any("ACTPen" in p[0] for p in offered(slug))


def test_upgrading_never_changes_the_stored_document() -> None:
    document = copy.deepcopy(FORMAT_1["snapshot"])
    upgraded = snapshot.upgrade(document)
    assert document == FORMAT_1["snapshot"]
    assert upgraded is not document
    assert upgraded["format"] == snapshot.FORMAT


def test_the_upgrade_steps_go_one_format_at_a_time_to_the_current_one() -> None:
    assert sorted(snapshot.UPGRADES) == list(range(1, snapshot.FORMAT))


def without_later_fields(document: dict[str, Any], *, whole_ehr: bool) -> dict[str, Any]:
    """`document` as a format-1 release before the fields with defaults stored it."""
    old = copy.deepcopy(document)
    rules = old["rules"]
    for name in ("resume_rules", "band_margin_percent", "uncapped_note_above_mg", "handling"):
        del rules[name]
    if whole_ehr:
        del rules["ehr"]
    else:  # stored before the result ages only
        for name in (
            "child_weight_max_age_days",
            "adult_weight_max_age_days",
            "adult_from_age_years",
        ):
            del rules["ehr"][name]
    del rules["preparation"]["min_saline_ml"]
    del rules["preparation"]["concentration_limit"]
    for row in rules["lab_rules"]:
        del row["persistence"]
    for row in rules["advisories"]:
        del row["context"]
    return old


@pytest.mark.parametrize("whole_ehr", [True, False])
def test_a_format_1_snapshot_without_the_later_fields_gets_their_defaults_written_out(
    whole_ehr: bool,
) -> None:
    """Older format-1 snapshots lack the fields added later; today's types defaulted them, the
    1 -> 2 step writes the same values out (so the types need not know old snapshots)."""
    old = without_later_fields(FORMAT_1["snapshot"], whole_ehr=whole_ehr)
    through_the_types = snapshot.load_rules(old["rules"])  # how they were read before formats
    upgraded = snapshot.load(old).rules
    # The products (format 4) have no default to compare with: the 3 -> 4 step writes the one
    # product such a version served (tested below).
    assert [product.slug for product in upgraded.products] == ["actemra"]
    assert dataclasses.replace(upgraded, products=()) == through_the_types
    assert upgraded.handling is None


def test_the_first_stored_snapshot_lacks_a_field_that_has_no_default() -> None:
    """Why steps, not the types' defaults: today's types cannot read it at all (a bag's
    indications, added by issue 12, has no default)."""
    with pytest.raises(ValueError, match="indications"):
        snapshot.load_rules(FIRST["snapshot"]["rules"])


@pytest.mark.parametrize(
    ("indication", "route", "weight", "step", "dose", "volume", "bag", "interval"),
    FIRST_RELEASE_FIGURES,
)
def test_the_first_stored_snapshot_upgraded_gives_the_figures_its_release_gave(
    indication: str,
    route: str,
    weight: str,
    step: str,
    dose: str,
    volume: str,
    bag: str | None,
    interval: int | None,
) -> None:
    rules = snapshot.load(FIRST["snapshot"], sha256=FIRST["content_hash"], number=1).rules
    child = indication in ("pjia", "sjia", "crs")
    result = engine.calculate(
        engine.Inputs(
            indication=indication, route=route, weight=Decimal(weight), step=step,
            age_years=Decimal(10 if child else 50),
        ),
        rules,
    )  # fmt: skip
    assert result.dose_mg == Decimal(dose)
    assert result.volume_ml == Decimal(volume)
    assert result.bag_ml == (None if bag is None else Decimal(bag))
    assert result.interval_days == interval


def test_a_changed_figure_in_a_format_1_snapshot_is_refused_on_load() -> None:
    document = copy.deepcopy(FORMAT_1["snapshot"])
    rule = next(r for r in document["rules"]["dose_rules"] if r["max_mg"] is not None)
    rule["max_mg"] = "8000"
    with pytest.raises(snapshot.SnapshotTampered, match="Content version 1's stored snapshot"):
        snapshot.load(document, sha256=FORMAT_1["content_hash"], number=1)


def test_the_format_number_is_part_of_the_hash_once_there_is_one(rules: engine.Rules) -> None:
    document = snapshot.dump(rules, FORMAT_1["snapshot"]["monograph"])
    recorded = snapshot.content_hash(document)
    snapshot.load(document, sha256=recorded)
    with pytest.raises(snapshot.SnapshotTampered):
        snapshot.load({**document, "format": 1}, sha256=recorded)


@pytest.mark.parametrize("found", [snapshot.FORMAT + 1, 0, "2", True, None])
def test_a_format_this_release_has_no_upgrade_for_is_unreadable(found: Any) -> None:
    with pytest.raises(snapshot.UnreadableSnapshot):
        snapshot.load({**FORMAT_1["snapshot"], "format": found})


def test_dump_then_load_gives_the_same_rules(rules: engine.Rules) -> None:
    document = snapshot.dump(rules, {"sections": []})
    assert document["format"] == snapshot.FORMAT
    assert snapshot.load(document).rules == rules


# ---- in the app: served, rolled back -----------------------------------------------------------


def store_format_1_as_version_1() -> None:
    """Version 1 as a release before formats stored it (the seed may be rewritten: reseed does)."""
    PublishedVersion.objects.filter(number=1).update(
        snapshot=FORMAT_1["snapshot"], content_hash=FORMAT_1["content_hash"]
    )
    monkeypatch_restart()
    content.forget_version()


@pytest.mark.django_db
def test_rules_carry_the_format_and_a_format_1_version_serves_in_it(client: Any) -> None:
    store_format_1_as_version_1()
    body = client.get("/api/v1/rules").json()
    assert body.pop("format") == snapshot.FORMAT
    assert body == snapshot.upgrade(FORMAT_1["snapshot"])["rules"]
    assert kept(FORMAT_1["snapshot"]["rules"], body)


@pytest.mark.django_db
def test_the_page_tells_the_offline_engine_the_format_it_reads(client: Any) -> None:
    page = client.get("/").content.decode()
    assert f'data-rules-format="{snapshot.FORMAT}"' in page


@pytest.mark.django_db
def test_a_version_stored_in_format_1_rolls_back_through_load_and_upgrade(roles: dict) -> None:
    store_format_1_as_version_1()
    rule = DoseRule.objects.get(indication__slug="ra", route="iv", step="increased")
    edit(rule, roles["editor"], max_mg=750)
    current = publishing.review()
    publishing.publish(
        roles["reviewer"], "RA 750", confirmed=True, draft_hash=current.draft.content_hash,
        live_number=current.live_number,
    )  # fmt: skip
    version = roll_back(roles["reviewer2"], 1)
    assert version.number == 3
    assert version.snapshot["format"] == snapshot.FORMAT
    assert version.content_hash == snapshot.content_hash(snapshot.upgrade(FORMAT_1["snapshot"]))
    rules = {k: v for k, v in version.snapshot["rules"].items() if k != "content_date"}
    upgraded = snapshot.upgrade(FORMAT_1["snapshot"])["rules"]
    old = {k: v for k, v in upgraded.items() if k != "content_date"}
    assert rules == {**old, "content_version": 3}
    assert version.snapshot["monograph"] == FORMAT_1["snapshot"]["monograph"]
    assert content.current_snapshot().number == 3


def store_as_a_newer_release(number: int) -> None:
    """Version `number` as a newer release would store it: a format this one cannot read."""
    row = PublishedVersion.objects.get(number=number)
    document = {**row.snapshot, "format": snapshot.FORMAT + 1}
    PublishedVersion.objects.filter(number=number).update(
        snapshot=document, content_hash=snapshot.content_hash(document)
    )


@pytest.mark.django_db
def test_a_version_in_a_newer_format_leaves_the_last_readable_one_serving(
    client: Any, roles: dict
) -> None:
    edit(DoseRule.objects.get(indication__slug="ra", route="iv", step="increased"),
         roles["editor"], max_mg=750)  # fmt: skip
    current = publishing.review()
    publishing.publish(
        roles["reviewer"], "RA 750", confirmed=True, draft_hash=current.draft.content_hash,
        live_number=current.live_number,
    )  # fmt: skip
    store_as_a_newer_release(2)
    monkeypatch_restart()  # a process of the older release starting now
    assert content.current_snapshot().number == 1
    health = client.get("/api/v1/health").json()
    assert health["status"] == "degraded"
    assert health["content"] == (
        f"Content version 2's stored snapshot is in format {snapshot.FORMAT + 1}, and this "
        f"release reads formats 1 to {snapshot.FORMAT}: a newer release published it. "
        "Serving version 1."
    )
    with pytest.raises(publishing.PublishRefused) as refused:
        roll_back(roles["reviewer2"], 1)
    assert refused.value.reasons == [
        f"Version 2's stored snapshot cannot be read by this release: Content version 2's "
        f"stored snapshot is in format {snapshot.FORMAT + 1}, and this release reads formats 1 "
        f"to {snapshot.FORMAT}: a newer release published it."
    ]


@pytest.mark.django_db
def test_the_first_stored_version_is_refused_by_todays_integrity_check_in_words(
    roles: dict,
) -> None:
    PublishedVersion.objects.filter(number=1).update(
        snapshot=FIRST["snapshot"], content_hash=FIRST["content_hash"]
    )
    monkeypatch_restart()
    content.forget_version()
    assert content.current_snapshot().rules.preparation.bags[0].bag_ml == Decimal(50)
    edit(DoseRule.objects.get(indication__slug="ra", route="iv", step="increased"),
         roles["editor"], max_mg=750)  # fmt: skip
    current = publishing.review()
    publishing.publish(
        roles["reviewer"], "RA 750", confirmed=True, draft_hash=current.draft.content_hash,
        live_number=current.live_number,
    )  # fmt: skip
    with pytest.raises(publishing.PublishRefused) as refused:
        roll_back(roles["reviewer2"], 1)
    assert refused.value.reasons[0] == "Version 1 fails today's integrity check:"
    # Today's checks judge the old content (it predates the EHR codes), never a crash.
    assert refused.value.reasons[1].startswith("The EHR order check has no drug code")
