"""The bedside flow on a phone (issue 14): the answer in view, the reason first, errors on the
field, nothing lost; at 390 x 844 and 320 x 640, online and offline, light and dark."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from scripts.serve import Server

from .conftest import (
    ROOT,
    _settle,
    calculate,
    fill,
    open_calculator,
    read_result,
    set_offline,
    wait_for_worker,
)

PHONES = [{"width": 390, "height": 844}, {"width": 320, "height": 640}]
# The six everyday cases, with the headline figure worked from the label by hand:
# RA IV 4 mg/kg x 70 kg = 280 mg; SJIA IV under 30 kg 12 mg/kg x 22 kg = 264 mg; CRS IV 30 kg and
# over 8 mg/kg x 48 kg = 384 mg; RA SC 100 kg and over 162 mg; GCA IV 180 lb = 81.65 kg x 6 mg/kg
# = 489.9 mg, to 0.1 mg (GCA's IV rule, 6 mg/kg); RA IV on therapy with ANC 800 (500 to 1,000): hold.
# SJIA and CRS with an age: without one, an indication from 2 years is a check (age_needed).
SIX = [
    ({"indication": "ra", "route": "iv", "weight": 70}, "Give 280 mg"),
    ({"indication": "sjia", "route": "iv", "weight": 22, "age_years": 6}, "Give 264 mg"),
    ({"indication": "crs", "route": "iv", "weight": 48, "age_years": 40}, "Give 384 mg"),
    ({"indication": "ra", "route": "sc", "weight": 110}, "Give 162 mg"),
    ({"indication": "gca", "route": "iv", "weight": 180, "weight_unit": "lb"}, "Give 489.9 mg"),
    (
        {
            "indication": "ra",
            "route": "iv",
            "weight": 70,
            "starting_therapy": False,
            "labs": {"anc_per_mm3": 800},
        },
        "Hold",
    ),
]
HOLD = SIX[-1][0]
HEADLINE_IN_VIEW = """() => {
  const box = document.querySelector('#result .head').getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight && box.left >= 0 && box.right <= window.innerWidth;
}"""


def terms(page: Page) -> list[str]:
    """The names of the figures shown, in order."""
    return page.eval_on_selector_all(
        "#result .figures dt", "ds => ds.map(d => d.textContent.trim())"
    )


def figure(page: Page, term: str) -> str:
    """The first line of one figure's value (an "Exact figure" fold may follow it)."""
    text = page.inner_text(f"#result .figures div:has(> dt:text-is('{term}')) > dd")
    return text.split("\n")[0].removesuffix(" why").strip()


def headline(page: Page) -> str:
    """The headline as heard (the icon is aria-hidden)."""
    text = page.eval_on_selector(
        "#result-title",
        "e => [...e.childNodes].filter(n => !n.classList?.contains('icon')).map(n => n.textContent).join('')",
    )
    return " ".join(text.split())


@pytest.mark.parametrize("phone", PHONES, ids=lambda p: f"{p['width']}x{p['height']}")
def test_the_headline_is_in_view_after_each_of_the_six_cases_online_and_offline(
    server: Server, context: BrowserContext, page: Page, phone: dict[str, int]
):
    page.set_viewport_size(phone)
    page.goto(server.url + "/")
    wait_for_worker(page)
    for offline in (False, True):
        set_offline(context, offline)
        if offline:
            page.reload()
        for inputs, expected in SIX:
            page.evaluate("window.scrollTo(0, 0)")
            calculate(page, inputs)
            assert headline(page).startswith(expected), (inputs, offline)
            assert page.evaluate(HEADLINE_IN_VIEW), (inputs, offline, phone)
    assert "calculated on this phone" in page.text_content("#network-status")


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_a_hold_leads_with_the_finding_that_decided_it(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    open_calculator(context, page, server, offline)
    calculate(page, HOLD)
    assert headline(page).startswith("Hold")
    # The first finding after the headline block is the neutrophil count, with its next step.
    first = page.locator("#result .head ~ ul .warn").first
    text = first.inner_text()
    assert first.locator("strong").inner_text() == "Reason:", text
    assert "ANC 800" in text
    assert "resume" in text
    # Standing advisories follow, under their own heading; hold and reduce differ in colour.
    titles = page.locator("#result h3.group-title").all_inner_texts()
    assert titles[-1].startswith("Label warnings")
    hold_colour = page.eval_on_selector("#result-title", "e => getComputedStyle(e).color")
    # A reduced dose needs the rise confirmed as persistent (the label's first step is "give"),
    # from the increased step: at the starting 4 mg/kg a persistent rise holds (no reduction).
    calculate(
        page, {**HOLD, "step": "increased", "labs": {"alt_x_uln": 2}, "persistent_rise": True}
    )
    assert headline(page).startswith("Give a reduced dose")
    reduce_colour = page.eval_on_selector("#result-title", "e => getComputedStyle(e).color")
    assert hold_colour != reduce_colour


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("weight", "7O", "Enter a number."),
        ("weight", "10,000,000", "Enter a number."),  # "70,5" now reads 70.5 (issue 22.3)
        ("weight", "700", "kg"),
        ("anc_per_mm3", "8O0", "Enter a number."),
    ],
)
def test_an_error_marks_its_field(
    server: Server,
    context: BrowserContext,
    page: Page,
    offline: bool,
    field: str,
    typed: str,
    message: str,
):
    open_calculator(context, page, server, offline)
    labs = {field: typed} if field != "weight" else {}
    weight = typed if field == "weight" else 70
    calculate(page, {"indication": "ra", "route": "iv", "weight": weight, "labs": labs})
    assert headline(page) == "Check the input"
    box = page.locator(f"#id_{field}")
    assert box.get_attribute("aria-invalid") == "true"
    described = box.get_attribute("aria-describedby")
    assert message in page.text_content(f"#{described}")
    assert page.is_visible(f"#{described}")
    assert page.evaluate("document.activeElement.id") == f"id_{field}"  # Calculate took you there
    # Corrected, the mark goes.
    page.fill(f"#id_{field}", "70" if field == "weight" else "800")
    page.click("button.go")
    page.wait_for_function(
        f"() => !document.getElementById('id_{field}').hasAttribute('aria-invalid')"
    )
    assert not page.is_visible(f"#{described}")


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_counts_typed_with_thousands_separators_are_accepted(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    open_calculator(context, page, server, offline)
    calculate(page, {**HOLD, "labs": {"anc_per_mm3": "800", "platelets_per_mm3": "80,000"}})
    assert headline(page).startswith("Hold")
    assert "Platelets 80,000" in page.text_content("#result")


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_switching_indication_with_a_step_chosen_never_ends_in_check_the_input(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    open_calculator(context, page, server, offline)
    calculate(
        page,
        {"indication": "ra", "route": "iv", "weight": 130, "step": "increased", "confirmed": True},
    )
    assert headline(page) == "Give 800 mg"
    for slug in ("crs", "covid-19", "sjia", "pjia", "gca", "ra"):
        page.select_option("#id_indication", slug)
        page.check("input[name=route][value=iv]")
        _settle(page)
        page.click("button.go")
        page.wait_for_selector("#result .head")
        _settle(page)
        assert "Check the input" not in page.text_content("#result"), slug
        # The step is offered only where content gives the indication and route one.
        offered = page.is_visible("#id_step")
        pairs = page.get_attribute("#id_indication", "data-step-choice").split()
        assert offered == (f"{slug}:iv" in pairs), slug
    assert page.is_visible("#id_step")  # RA IV has an increased step
    assert not page.is_checked("input[name=step][value=increased]")  # reset when it was hidden


def test_a_unit_tapped_after_typing_is_said_and_the_headline_shows_both_weights(
    server: Server, page: Page
):
    page.goto(server.url + "/")
    page.fill("#id_weight", "70")
    page.check("input[name=weight_unit][value=lb]")
    assert page.is_visible("#unit-note")
    assert "70 lb" in page.text_content("#unit-note")
    page.click("button.go")
    page.wait_for_function(
        "() => document.querySelector('#result .who')?.textContent.includes('lb')"
    )
    assert "70 lb = 31.75 kg" in page.text_content("#result .who")


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_why_opens_in_place_and_back_keeps_the_result(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    page.goto(server.url + "/monograph/")  # saved for offline
    open_calculator(context, page, server, offline)
    before = calculate(page, SIX[0][0])
    page.click("#result .figures a:text('why')")
    page.wait_for_selector("#why[open]")
    assert page.locator("#why-body table").count() == 1  # the RA intravenous dose table
    assert "Rheumatoid arthritis" in page.text_content("#why-title")
    page.click("#why button.close")
    page.wait_for_selector("#why", state="hidden")
    assert page.evaluate("document.activeElement.textContent") == "why"
    assert page.url.rstrip("/") == server.url

    # Leaving for the monograph and coming back: the same result, the same inputs.
    page.click("nav a[href$='/monograph/']")
    page.wait_for_selector("article.mono")
    page.go_back()
    page.wait_for_selector("#result .head")
    assert read_result(page) == before
    assert page.input_value("#id_weight") == "70"

    # New patient: all gone, Back included.
    page.click("a.new")
    page.wait_for_function("() => !document.querySelector('#result .head')")
    assert page.input_value("#id_weight") == ""
    assert not page.is_visible("#result .head")
    page.reload()
    assert not page.is_visible("#result .head")


@pytest.mark.parametrize("phone", PHONES, ids=lambda p: f"{p['width']}x{p['height']}")
def test_no_sideways_scroll_at_200_percent_text(server: Server, page: Page, phone: dict[str, int]):
    page.set_viewport_size(phone)
    page.goto(server.url + "/")
    calculate(page, {**HOLD, "labs": {"anc_per_mm3": 800, "alt_x_uln": 2}})
    calculate(
        page,
        {"indication": "ra", "route": "iv", "weight": 130, "step": "increased", "confirmed": True},
    )
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    page.click("details.notes summary")
    width = phone["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Nothing cut off inside: every figure fits its box.
    clipped = page.evaluate(
        "[...document.querySelectorAll('#result dd, #result dt, #result .warn')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert clipped == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("case", ["give", "hold", "error"])
def test_axe_finds_no_violations_in_light_and_dark(
    server: Server, page: Page, scheme: str, case: str
):
    page.emulate_media(color_scheme=scheme)
    page.goto(server.url + "/")
    inputs: dict[str, Any] = {
        "give": {
            "indication": "ra",
            "route": "iv",
            "weight": 130,
            "step": "increased",
            "confirmed": True,
        },
        "hold": {**HOLD, "labs": {"anc_per_mm3": 800, "alt_x_uln": 2}},
        "error": {"indication": "ra", "route": "iv", "weight": "7O"},
    }[case]
    calculate(page, inputs)
    if case != "error":
        page.click("details.notes summary")
    axe = (ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text()
    page.evaluate(axe)
    violations = page.evaluate("axe.run(document).then(r => r.violations)")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
    if case == "give":  # the "why" sheet too
        page.click("#result .figures a:text('why')")
        page.wait_for_selector("#why[open]")
        violations = page.evaluate("axe.run(document).then(r => r.violations)")
        assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("case", ["give", "hold"])
def test_phone_screenshots(server: Server, page: Page, tmp_path: Path, scheme: str, case: str):
    """docs/ pictures of a give and a hold result, light and dark (`make screenshot`)."""
    page.emulate_media(color_scheme=scheme)
    page.goto(server.url + "/")
    inputs = SIX[0][0] if case == "give" else HOLD
    calculate(page, inputs)
    assert page.evaluate(HEADLINE_IN_VIEW)
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    path = folder / f"screenshot-{case}-{scheme}.png"
    page.screenshot(path=path, type="png", scale="css")
    assert 1_000 < path.stat().st_size < 200_000


def test_fill_helper_types_the_step_only_where_it_is_offered(server: Server, page: Page):
    """The shared helper checks the step radio; hidden, it must stay at the starting dose."""
    page.goto(server.url + "/")
    fill(page, {"indication": "crs", "route": "iv", "weight": 48})
    assert not page.is_visible("#id_step")
    assert page.is_checked("input[name=step][value=starting]")


CHILD = {"indication": "sjia", "route": "iv", "weight": 180, "age_years": 6}


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
@pytest.mark.parametrize("phone", PHONES, ids=lambda p: f"{p['width']}x{p['height']}")
def test_the_180_kg_child(
    server: Server, context: BrowserContext, page: Page, phone: dict[str, int], offline: bool
):
    """Issue 22, item 1: "Check before giving", the weight check first, nothing to prepare,
    print or chart until one "Confirmed" tap; the sheet and the note then record it."""
    page.set_viewport_size(phone)
    open_calculator(context, page, server, offline)
    calculate(page, CHILD)
    assert headline(page).startswith("Check before giving")
    assert "✓" not in page.inner_text("#result-title")
    colour = page.eval_on_selector("#result-title", "e => getComputedStyle(e).color")
    first = page.locator("#result .head + ul.checks .warn").first.inner_text()
    assert "18 kg would be 216 mg every 2 weeks" in first
    assert page.locator("#result .prep, #result .prep-sheet").count() == 0
    assert page.evaluate(HEADLINE_IN_VIEW)
    # Nothing to prepare from until the tap: the figures give the dose, not what to draw up.
    waiting = {"screen": page.inner_text("body")}
    page.emulate_media(media="print")
    waiting["print"] = page.inner_text("body")
    page.emulate_media(media="screen")
    assert terms(page) == ["Dose", "When", "With"]
    page.evaluate("document.getElementById('result').dataset.stale = '1'")
    page.click("#result [data-confirm]")
    page.wait_for_selector("#result:not([data-stale]) .prep")
    _settle(page)
    assert headline(page).startswith("Give")
    assert terms(page) == ["Dose", "Draw up", "Vials", "Bag", "Rate", "When", "With"]
    figures = [figure(page, term) for term in ("Draw up", "Vials", "Bag", "Rate")]
    for shown in figures:
        assert shown not in waiting["screen"]
        assert shown not in waiting["print"]
    page.emulate_media(media="print")
    printed = page.inner_text("body")
    page.emulate_media(media="screen")
    # Now on paper: the worksheet, or on a roll this narrow the bag label; both give the rate.
    assert figures[-1] in printed
    assert page.eval_on_selector("#result-title", "e => getComputedStyle(e).color") != colour
    assert "Confirmed before giving: the weight" in page.text_content("[data-chart-note]")
    assert "Confirmed" in page.text_content(".prep-sheet")
    # An edit takes the confirmation back.
    page.fill("#id_age_years", "7")
    page.click("button.go")
    page.wait_for_function("() => document.querySelector('#result [data-confirm]')")
    assert headline(page).startswith("Check before giving")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_check_and_hold_screenshots_and_axe(
    server: Server, page: Page, tmp_path: Path, scheme: str
):
    """docs/ pictures of a Check before giving and a hold's chart note (`make screenshot`)."""
    page.emulate_media(color_scheme=scheme)
    page.goto(server.url + "/")
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    axe = (ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text()
    calculate(page, CHILD)
    page.evaluate(axe)
    violations = page.evaluate("axe.run(document).then(r => r.violations)")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
    path = folder / f"screenshot-check-{scheme}.png"
    page.screenshot(path=path, type="png", scale="css")
    assert 1_000 < path.stat().st_size < 200_000
    calculate(page, HOLD)
    page.wait_for_selector("[data-prep-actions]:not([hidden])")
    page.click(".prep details.chart-note > summary")
    page.locator(".prep").scroll_into_view_if_needed()
    violations = page.evaluate("axe.run(document).then(r => r.violations)")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
    path = folder / f"screenshot-hold-note-{scheme}.png"
    page.screenshot(path=path, type="png", scale="css")
    assert 1_000 < path.stat().st_size < 200_000
