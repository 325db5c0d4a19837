"""Issue 22, item 6: the answer for the moment. No error before Calculate and nothing moving
under the thumb; Calculate in reach in every task; screen readers hear the headline once, after
Calculate; pills that never wrap one letter a line; standing label warnings neutral, this
patient's findings in colour. At 390 x 844 and 320 x 640, online and offline, light and dark."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page

from scripts.serve import Server

from .conftest import ROOT, _settle, calculate, open_calculator
from .test_bedside import HOLD, PHONES, SIX, headline

PHONE_IDS = [f"{p['width']}x{p['height']}" for p in PHONES]
CALCULATE_IN_VIEW = """() => {
  const box = document.querySelector('button.go').getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}"""
# Where the weight field starts (its width follows the tick moving between kg and lb).
FORM_BOX = "() => { const b = document.querySelector('#id_weight').getBoundingClientRect(); return [b.top, b.left, b.height]; }"


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
@pytest.mark.parametrize("phone", PHONES, ids=PHONE_IDS)
def test_no_error_before_calculate_and_nothing_moves(
    server: Server, context: BrowserContext, page: Page, phone: dict[str, int], offline: bool
):
    page.set_viewport_size(phone)
    open_calculator(context, page, server, offline)
    weight_box = page.evaluate(FORM_BOX)
    # The indication and route first, the weight not typed yet: no error anywhere.
    page.select_option("#id_indication", "gca")
    page.check("input[name=route][value=iv]")
    _settle(page)
    assert page.locator(".error:visible, #result .errors").count() == 0
    assert "Enter the weight" not in page.text_content("main")
    assert page.evaluate(FORM_BOX) == weight_box
    # A unit tapped after typing is said on the label's line: the field does not move.
    page.fill("#id_weight", "70")
    _settle(page)
    page.check("input[name=weight_unit][value=lb]")
    _settle(page)
    assert page.is_visible("#unit-note")
    assert "70 lb" in page.text_content("#unit-note")
    assert page.evaluate(FORM_BOX) == weight_box
    # Cleared again: the earlier figures go, and still no error before Calculate.
    page.fill("#id_weight", "")
    page.wait_for_function("() => !document.querySelector('#result .head')")
    _settle(page)
    assert page.locator(".error:visible, #result .errors").count() == 0
    # Calculate with no weight: now the field says so.
    page.click("button.go")
    page.wait_for_selector("#id_weight[aria-invalid=true]")
    assert "Enter the weight." in page.text_content("#id_weight-error")


@pytest.mark.parametrize("phone", PHONES, ids=PHONE_IDS)
def test_calculate_is_in_reach_in_every_task(server: Server, page: Page, phone: dict[str, int]):
    page.set_viewport_size(phone)
    page.goto(server.url + "/")
    slugs = page.eval_on_selector_all("#id_indication option", "o => o.map(e => e.value)")
    for slug in slugs:
        page.select_option("#id_indication", slug)
        for route in ("iv", "sc"):
            if page.is_disabled(f"input[name=route][value={route}]"):
                continue
            page.check(f"input[name=route][value={route}]")
            page.click("details.labs summary")  # open: the longest form
            assert page.evaluate(CALCULATE_IN_VIEW), (slug, route)
            page.click("details.labs summary")
    # Pills keep their words whole: no pill is taller than two lines of its text.
    heights = page.eval_on_selector_all(
        ".pill", "ps => ps.map(p => [p.textContent.trim(), p.getBoundingClientRect().height])"
    )
    assert all(height < 70 for _, height in heights), heights


# Each segmented control's pills: [top, height, width, font size in px].
SEGMENTS = """() => [...document.querySelectorAll('form .seg')].map((seg) =>
  [...seg.querySelectorAll('.pill')].map((pill) => {
    const box = pill.getBoundingClientRect();
    return [Math.round(box.top), box.height, box.width, parseFloat(getComputedStyle(pill).fontSize)];
  }))"""


@pytest.mark.parametrize("phone", PHONES, ids=PHONE_IDS)
def test_the_route_and_unit_pills_sit_side_by_side(
    server: Server, page: Page, phone: dict[str, int]
):
    """Issue 22.6: Intravenous | Subcutaneous on one row at 320 px too (it wrapped to two), with
    either chosen (the tick and bold type widen the chosen one), each a 44 px target."""
    page.set_viewport_size(phone)
    page.goto(server.url + "/")
    for route, unit in (("iv", "kg"), ("sc", "lb")):
        page.check(f"input[name=route][value={route}]")
        page.check(f"input[name=weight_unit][value={unit}]")
        segments = page.evaluate(SEGMENTS)
        assert len(segments) == 2, segments
        for pills in segments:
            assert len(pills) == 2, pills
            assert len({top for top, *_ in pills}) == 1, (route, pills)  # one row
            assert all(height >= 44 and width >= 44 for _, height, width, _ in pills), pills
            assert all(size >= 14 for *_, size in pills), pills
    assert page.evaluate("document.documentElement.scrollWidth") <= phone["width"]


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_screen_readers_hear_only_the_headline_after_calculate(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    open_calculator(context, page, server, offline)
    assert page.locator("[aria-live], [role=status]").evaluate_all(
        "es => es.every(e => !e.contains(document.getElementById('result')))"
    )
    page.select_option("#id_indication", "ra")
    page.fill("#id_weight", "70")
    _settle(page)
    page.wait_for_selector("#result .head")
    assert page.text_content("#announce") == ""  # typing: nothing said
    calculate(page, SIX[0][0])
    page.wait_for_function("() => document.getElementById('announce').textContent !== ''")
    assert page.text_content("#announce") == headline(page) == "Give 280 mg"


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_standing_label_warnings_are_neutral_and_this_patients_finding_is_not(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    open_calculator(context, page, server, offline)
    calculate(page, HOLD)
    reason = page.eval_on_selector(
        "#result .decides .warn", "e => getComputedStyle(e).borderLeftColor"
    )
    standing = page.eval_on_selector_all(
        "#result .standing .warn", "es => es.map(e => getComputedStyle(e).borderLeftColor)"
    )
    danger = page.eval_on_selector(
        "#result .standing .warn-danger", "e => getComputedStyle(e).backgroundColor"
    )
    card = page.eval_on_selector("#result", "e => getComputedStyle(e).backgroundColor")
    assert standing
    assert len(set(standing)) == 1
    assert reason not in standing
    assert danger == card  # no red box for a warning every patient gets


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("phone", PHONES, ids=PHONE_IDS)
def test_axe_finds_no_violations_on_the_form_and_a_slip(
    server: Server, page: Page, scheme: str, phone: dict[str, int]
):
    page.set_viewport_size(phone)
    page.emulate_media(color_scheme=scheme)
    page.goto(server.url + "/")
    axe = (ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text()
    page.evaluate(axe)
    violations = page.evaluate("axe.run(document).then(r => r.violations)")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
    calculate(page, HOLD)
    page.wait_for_selector("[data-prep-actions]:not([hidden])")
    page.click(".prep details > summary")
    violations = page.evaluate("axe.run(document).then(r => r.violations)")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
    # The chosen pill is told apart by more than colour: a tick and bold type.
    chosen = page.eval_on_selector(
        ".pill:has(input:checked)", "e => getComputedStyle(e, '::before').content"
    )
    assert "✓" in chosen
