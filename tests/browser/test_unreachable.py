"""Issue 22: when a part of the app cannot be fetched, the clinician is told where it matters,
and the page raises no uncaught error (the `page` fixture fails the test on any page error).

Each test cuts one request off with page.route. The service worker is blocked here: a worker would
answer from its cache and the cut would never be reached.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, Route, expect

from scripts.serve import Server

from .conftest import calculate, phone

RA = {"indication": "ra", "route": "iv", "weight": 70}  # 4 mg/kg x 70 kg = 280 mg


@pytest.fixture
def context(playwright: Playwright, tmp_path: Path) -> Iterator[BrowserContext]:
    """conftest's phone, without a service worker."""
    context = phone(playwright, tmp_path / "profile", service_workers="block")
    yield context
    context.close()


def cut(page: Page, pattern: str) -> None:
    """Requests matching `pattern` fail as with no network."""
    page.route(pattern, lambda route: route.abort("internetdisconnected"))


def test_a_result_that_cannot_be_put_back_says_so(server: Server, page: Page):
    page.goto(server.url + "/")
    calculate(page, RA)
    cut(page, "**/dosing/restore.*mjs")
    page.reload()
    expect(page.locator("#network-status")).to_have_text(
        "The last result could not be put back: calculate again."
    )
    assert page.locator("#result .head").count() == 0


def test_print_and_copy_that_cannot_load_say_so_and_the_steps_still_show(
    server: Server, page: Page
):
    cut(page, "**/dosing/prep-actions.*mjs")
    page.goto(server.url + "/")
    calculate(page, RA)
    expect(page.locator("#network-status")).to_have_text(
        "Print and copy could not load (the server is out of reach): reload to try again."
    )
    assert "Draw up 14 mL in a 20 mL syringe = 280 mg" in page.inner_text("#result .prep-steps")
    assert page.locator("[data-prep-actions]").is_hidden()


def test_a_why_that_cannot_open_in_place_opens_the_monograph(server: Server, page: Page):
    cut(page, "**/dosing/why.*mjs")
    page.goto(server.url + "/")
    calculate(page, RA)
    link = page.locator("#result .figures a:text('why')").first
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(re.compile(re.escape(href) + "$"))
    assert page.locator("h1").inner_text().startswith("ACTEMRA")
    assert page.locator("#why").count() == 0


@pytest.mark.parametrize("throttled", [False, True], ids=["cpu-1x", "cpu-6x"])
def test_a_request_that_cannot_reach_the_server_says_so_and_answers_here(
    server: Server, context: BrowserContext, page: Page, throttled: bool
):
    page.goto(server.url + "/")
    calculate(page, RA)
    if throttled:
        cdp = context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 6})

    def lose_posts(route: Route) -> None:
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/*", lose_posts)
    shown = calculate(page, {**RA, "weight": 71})
    assert "284 mg" in shown["text"]  # 4 mg/kg x 71 kg, worked out on the phone
    status = page.inner_text("#network-status")
    assert status.startswith("Could not reach the server: calculated on this phone"), status
    assert "Offline" not in status
