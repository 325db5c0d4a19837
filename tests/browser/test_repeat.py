"""Issue 22, item 5: repeat doses of a single-dose course on the phone, online and offline, at
390 x 844 and 320 x 640. The fields are not in the first load: htmx brings them out of band
once a course is chosen, the offline app builds the same ones; other indications never show them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from scripts.serve import Server

from .conftest import ROOT, _settle, fill, open_calculator
from .test_bedside import PHONES

CRS = {"indication": "crs", "route": "iv", "weight": 70}


def doses_offered(page: Page) -> list[str]:
    return page.eval_on_selector_all("input[name=dose_number]", "els => els.map(e => e.value)")


def axe_violations(page: Page) -> list[Any]:
    page.evaluate((ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text())
    violations = page.evaluate("axe.run(document).then(r => r.violations)")
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
@pytest.mark.parametrize("phone", PHONES, ids=lambda p: f"{p['width']}x{p['height']}")
def test_the_second_crs_dose_says_its_place_and_its_earliest_start(
    server: Server, context: BrowserContext, page: Page, phone: dict[str, int], offline: bool
) -> None:
    page.set_viewport_size(phone)
    open_calculator(context, page, server, offline)
    assert page.locator("#repeat").count() == 0  # not in the first load
    fill(page, CRS)
    _settle(page)
    assert doses_offered(page) == ["1", "2", "3", "4"]
    assert page.get_by_label("Previous dose started").is_visible()
    page.check('input[name=dose_number][value="2"]')
    page.get_by_label("Previous dose started").fill("2026-03-09T06:30")
    _settle(page)
    page.click("button.go")
    _settle(page)
    when = page.text_content("#result .figures")
    assert "2nd of up to 4 doses; not before 14:30 on Monday 9 March 2026" in when
    assert "up to 2 more at least 8 hours apart" in when
    assert "this dose may start now" in page.text_content("#result [data-clock=start]")
    assert page.evaluate("document.documentElement.scrollWidth") <= phone["width"]
    # The date and time field keeps its whole value in view (nothing cut off at 320 px).
    assert page.evaluate(
        "(e => e.scrollWidth <= e.clientWidth + 1)(document.getElementById('id_previous_dose_start'))"
    )
    assert axe_violations(page) == []

    # COVID-19 offers two doses, and its second allows no further one.
    page.select_option("#id_indication", "covid-19")
    _settle(page)
    assert doses_offered(page) == ["1", "2"]
    page.check('input[name=dose_number][value="2"]')
    page.get_by_label("Previous dose started").fill("2026-03-09T06:30")
    _settle(page)
    page.click("button.go")
    _settle(page)
    assert "the label allows no further dose" in page.text_content("#result .figures")

    # An indication on a schedule has no dose number.
    page.select_option("#id_indication", "ra")
    _settle(page)
    assert page.locator("#repeat").count() == 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_repeat_fields_pass_axe(server: Server, page: Page, scheme: str) -> None:
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size(PHONES[1])
    page.goto(server.url + "/")
    fill(page, CRS)
    _settle(page)
    page.check('input[name=dose_number][value="3"]')
    _settle(page)
    page.click("button.go")
    _settle(page)
    # No previous time for a 3rd dose: the field says so, and the page stays accessible.
    assert page.get_attribute("#id_previous_dose_start", "aria-invalid") == "true"
    assert "Enter when the previous dose started" in page.text_content("#result")
    assert axe_violations(page) == []


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_a_second_crs_dose_started_too_early_is_a_check_not_a_give(
    server: Server, context: BrowserContext, page: Page, offline: bool
) -> None:
    # Round 3: the previous dose started an hour ago (server or phone clock, whichever answers):
    # 8 hours have not passed, so the answer waits for a check naming the earliest start.
    page.set_viewport_size(PHONES[0])
    open_calculator(context, page, server, offline)
    fill(page, {**CRS, "age_years": 40})
    _settle(page)
    page.check('input[name=dose_number][value="2"]')
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    page.get_by_label("Previous dose started").fill(hour_ago.strftime("%Y-%m-%dT%H:%M"))
    _settle(page)
    page.click("button.go")
    _settle(page)
    assert "Check before giving" in page.text_content("#result")
    checks = page.text_content("#result .checks")
    assert "may not start before" in checks
    assert page.locator("#result button[data-confirm]").count() == 1
