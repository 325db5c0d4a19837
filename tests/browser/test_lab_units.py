"""Issue 22.3 on the page: each lab in the unit the lab reports, chosen beside the value; a value
implausible in its unit is a question on its field, never an action. At 390 x 844 and 320 x 640,
online and offline (the same answer), light and dark, by keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page

from scripts.serve import Server

from .conftest import (
    ROOT,
    _settle,
    calculate,
    open_calculator,
    read_result,
    set_offline,
    wait_for_worker,
)
from .test_bedside import PHONES, headline

PHONE_IDS = [f"{p['width']}x{p['height']}" for p in PHONES]
ON_THERAPY = {"indication": "ra", "route": "iv", "weight": 70, "starting_therapy": False}


def open_labs(page: Page) -> None:
    if not page.is_visible("#id_anc_per_mm3"):
        page.click("details.labs summary")


def answer_for(page: Page, labs: dict[str, str], units: dict[str, str]) -> dict[str, object]:
    open_labs(page)
    for name, unit in units.items():
        page.select_option(f"#id_{name}", unit)
    return calculate(page, {**ON_THERAPY, "labs": labs})


def side_by_side(page: Page, value: str, unit: str) -> bool:
    a = page.locator(value).bounding_box()
    b = page.locator(unit).bounding_box()
    return abs(a["y"] - b["y"]) < 2 and a["x"] + a["width"] <= b["x"]


@pytest.mark.parametrize("phone", PHONES, ids=PHONE_IDS)
def test_anc_0_9_asks_whether_900_cells_was_meant_and_in_e9_per_l_holds(
    server: Server, context: BrowserContext, page: Page, phone: dict[str, int]
):
    page.set_viewport_size(phone)
    page.goto(server.url + "/")
    wait_for_worker(page)
    answers = []
    for offline in (False, True):
        if offline:
            set_offline(context, True)
            page.reload()
        # 0.9 as cells/mm³ (the default): a question on the field, never Hold or Discontinue.
        answers.append(answer_for(page, {"anc_per_mm3": "0.9"}, {}))
        assert headline(page) == "Check the input"
        error = page.text_content("#id_anc_per_mm3-error")
        assert "0.9: did you mean 900 cells/mm³ (0.9 ×10⁹/L)?" in error
        assert page.get_attribute("#id_anc_per_mm3", "aria-invalid") == "true"
        assert page.evaluate("document.activeElement.id") == "id_anc_per_mm3"
        assert page.locator("#result .action-hold, #result .action-discontinue").count() == 0
        # The unit is next by keyboard, beside the value, even at 320 px.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "id_anc_unit"
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "ANC unit"
        assert side_by_side(page, "#id_anc_per_mm3", "#id_anc_unit")
        assert page.evaluate("document.documentElement.scrollWidth") <= phone["width"]
        # The lab's own unit: read as 900 cells/mm³ and held, the reading echoed.
        answers.append(answer_for(page, {"anc_per_mm3": "0.9"}, {"anc_unit": "e9_per_l"}))
        assert headline(page).startswith("Hold")
        assert "ANC 0.9 ×10⁹/L = 900 cells/mm³: hold" in page.text_content("#result")
        assert not page.is_visible("#id_anc_per_mm3-error")
        page.select_option("#id_anc_unit", "per_mm3")
        page.fill("#id_anc_per_mm3", "")
        _settle(page)
    # The phone answers as the server does, word for word.
    assert answers[2]["outline"] == answers[0]["outline"]
    assert answers[3]["outline"] == answers[1]["outline"]


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_alt_in_u_per_l_asks_for_the_upper_limit_then_reads_it(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    open_calculator(context, page, server, offline)
    open_labs(page)
    assert not page.is_visible("#id_alt_uln_u_per_l")  # × ULN needs no limit
    page.select_option("#id_alt_unit", "u_per_l")
    assert page.is_visible("#id_alt_uln_u_per_l")
    assert not page.is_visible("#id_ast_uln_u_per_l")  # AST is still × ULN
    calculate(page, {**ON_THERAPY, "labs": {"alt_x_uln": "160"}})
    assert headline(page) == "Check the input"
    assert "Enter the upper limit of normal for ALT in U/L" in page.text_content(
        "#id_alt_uln_u_per_l-error"
    )
    assert page.evaluate("document.activeElement.id") == "id_alt_uln_u_per_l"
    page.fill("#id_alt_uln_u_per_l", "40")
    result = calculate(page, {**ON_THERAPY, "labs": {"alt_x_uln": "160"}})
    assert "ALT 160 U/L (upper limit 40 U/L) = 4 × ULN" in result["text"]
    assert headline(page) != "Check the input"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_with_the_lab_units_open(server: Server, page: Page, scheme: str):
    page.emulate_media(color_scheme=scheme)
    page.goto(server.url + "/")
    open_labs(page)
    page.select_option("#id_alt_unit", "u_per_l")
    page.select_option("#id_platelets_unit", "e3_per_ul")
    calculate(page, {**ON_THERAPY, "labs": {"alt_x_uln": "160", "platelets_per_mm3": "80"}})
    assert page.is_visible("#id_alt_uln_u_per_l-error")
    page.evaluate((ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text())
    violations = page.evaluate("axe.run(document).then(r => r.violations)")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []
    assert read_result(page)["text"].startswith("! Check the input")
