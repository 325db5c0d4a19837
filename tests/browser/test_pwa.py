"""The installable, offline-first app in a real browser: install check, offline parity, updates."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from scripts.serve import Server

from .conftest import ROOT, calculate, fill, set_offline, wait_for_worker

VECTORS = json.loads((ROOT / "tests" / "vectors" / "engine.json").read_text())
CASES = {case["name"]: case for case in VECTORS["cases"]}
# Every route, kg and lb, a band edge, a cap, a repeat rule, a half-way rounding, reduce, hold,
# discontinue, an age below the minimum and an input error.
SAMPLE = [
    "ra iv increased 130 kg",
    "ra sc starting, 154 lb = 69.85 kg",
    "pjia iv starting 29.9 kg",
    "covid-19 iv starting 70 kg",
    "half-way lb 134.75",
    "gca sc starting 70 kg",
    "labs ra iv starting on therapy: alt_x_uln 3.01",
    "labs ra iv increased on therapy: anc_per_mm3 499",
    "labs ra sc starting on therapy: platelets_per_mm3 49999",
    "labs crs iv starting starting: anc_per_mm3 100, platelets_per_mm3 1000, alt_x_uln 20",
    "age 1.9 pjia iv 12 kg",
    "input: weight -1",
]
# The content versions of the rules snapshots saved on the phone, one per cache.
SAVED_VERSIONS = """async () => {
  const names = await caches.keys();
  return Promise.all(names.map(async (name) => {
    const saved = await (await caches.open(name)).match('/api/v1/rules');
    return saved ? (await saved.json()).content_version : null;
  }));
}"""


def test_chrome_finds_the_app_installable(server: Server, context: BrowserContext, page: Page):
    page.goto(server.url + "/")
    wait_for_worker(page)
    cdp = context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == []
    data = json.loads(manifest["data"])
    assert data["display"] == "standalone"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}
    assert any(icon.get("purpose") == "maskable" for icon in data["icons"])
    response = page.request.get(server.url + "/manifest.webmanifest")
    assert response.headers["content-type"] == "application/manifest+json"


def test_offline_the_pages_load_and_results_match_the_server(
    server: Server, context: BrowserContext, page: Page
):
    page.goto(server.url + "/")
    wait_for_worker(page)
    online = {name: calculate(page, CASES[name]["inputs"]) for name in SAMPLE}
    for name, shown in online.items():  # the server's page shows the shared vectors' figures
        case = CASES[name]
        expected = (
            case["result"]["display"]["dose"] if "result" in case else case["error"]["message"]
        )
        assert expected in shown["text"], name

    set_offline(context, True)
    page.reload()
    assert "Offline" in page.text_content("#network-status")
    assert "content version" in page.text_content("#network-status")
    for name in SAMPLE:
        offline = calculate(page, CASES[name]["inputs"])
        assert offline == online[name], name
    assert "calculated on this phone" in page.text_content("#network-status")

    page.goto(server.url + "/monograph/")
    assert page.is_visible("h1")
    assert page.locator("table").count() > 5
    page.goto(server.url + "/admin/")  # never saved: the offline page, not the browser's error
    assert "No network" in page.text_content("h1")


EDIT = (
    "from dosing.models import DoseRule as D; "
    "r = D.objects.get(indication__slug='ra', route='iv', step='starting'); "
    "r.mg_per_kg = {}; r.save()"
)
PUBLISH = "from tests.conftest import publish_draft; publish_draft({!r})"


def test_a_published_change_reaches_an_offline_phone_and_a_draft_never_does(
    server: Server, context: BrowserContext, page: Page
):
    inputs = {"indication": "ra", "route": "iv", "weight": 70}
    page.goto(server.url + "/")
    wait_for_worker(page)
    before = calculate(page, inputs)
    assert "280 mg" in before["text"]  # 4 mg/kg x 70 kg

    server.manage("shell", "-c", EDIT.format(5))  # a draft: saved, not published
    try:
        page.reload()
        assert calculate(page, inputs) == before
        assert "Content updated" not in (page.text_content("#network-status") or "")

        set_offline(context, True)
        summary = "RA intravenous starting dose 5 mg/kg (test)"
        server.manage("shell", "-c", PUBLISH.format(summary))
        page.reload()
        stale = calculate(page, inputs)
        assert stale == before  # offline: the saved snapshot, whole, never half of each

        set_offline(context, False)
        page.reload()
        new = int(before["version"]) + 1
        after = calculate(page, inputs)
        # Said on load, or with the first result when a busy server made the worker answer
        # with the saved page (PAGE_TIMEOUT_MS): either way before the clinician reads a dose.
        expect(page.locator("#network-status")).to_contain_text(
            f"Content updated to version {new}: {summary}"
        )
        assert "350 mg" in after["text"]  # 5 mg/kg x 70 kg
        assert after["version"] == str(new)
        page.wait_for_function(
            f"({SAVED_VERSIONS})().then(v => v.length && v.every(n => n === {new}))"
        )

        page.reload()
        assert not page.is_visible("#network-status")  # said once

        set_offline(context, True)
        page.reload()
        assert calculate(page, inputs) == after
    finally:
        server.manage("shell", "-c", EDIT.format(4) + "; " + PUBLISH.format("RA back to 4 mg/kg"))


def test_a_refused_request_is_answered_on_the_phone_not_left_stale(
    server: Server, context: BrowserContext, page: Page
):
    page.goto(server.url + "/")
    wait_for_worker(page)
    case = CASES["labs ra iv starting on therapy: alt_x_uln 3.01"]
    online = calculate(page, case["inputs"])
    context.clear_cookies()  # the CSRF cookie is gone: the server now answers 403
    other = CASES["ra sc starting, 154 lb = 69.85 kg"]
    shown = calculate(page, other["inputs"])
    assert "HTTP 403" in page.text_content("#network-status")
    assert other["result"]["display"]["dose"] in shown["text"]
    assert shown != online


def test_rules_in_a_format_the_page_cannot_read_are_never_calculated_with_offline(
    server: Server, context: BrowserContext, page: Page
):
    page.goto(server.url + "/")
    wait_for_worker(page)
    online = calculate(page, {"indication": "ra", "route": "iv", "weight": 70})
    assert "280 mg" in online["text"]
    # A page of another release: its offline engine reads another snapshot format.
    page.evaluate("() => { document.body.dataset.rulesFormat = 'another'; }")
    set_offline(context, True)
    fill(page, {"indication": "ra", "route": "iv", "weight": 71})
    page.click("button.go")
    expect(page.locator("#network-status")).to_have_text(
        "Offline: this app cannot read the saved content's format, so it calculates online only."
    )
    assert "mg" not in page.text_content("#result")  # 70 kg's figures are gone, none for 71 kg


COMPARE = "/monograph/compare/?a=actemra&b=tofidence"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/", "/monograph/", COMPARE])
def test_axe_finds_no_violations(server: Server, page: Page, path: str, scheme: str):
    page.emulate_media(color_scheme=scheme)
    if path != "/":  # the monograph's tables become cards on a phone this narrow
        page.set_viewport_size({"width": 320, "height": 640})
    page.goto(server.url + path)
    if path == "/":
        calculate(page, CASES["labs ra iv starting on therapy: alt_x_uln 3.01"]["inputs"])
        page.click("details.notes summary")
    axe = (ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text()
    page.evaluate(axe)  # through the debugger protocol: the page's CSP rightly refuses inline code
    violations = page.evaluate("axe.run(document).then(r => r.violations)")
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []


@pytest.mark.parametrize("path", ["/", "/monograph/", COMPARE])
def test_a_320_px_phone_never_scrolls_sideways(server: Server, page: Page, path: str):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(server.url + path)
    if path == "/":
        calculate(page, CASES["labs ra iv starting on therapy: alt_x_uln 3.01"]["inputs"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


# Every figure with its unit in the monograph's tables ("< 1,000 cells/mm³", "4 mg/kg"): the
# lines its characters are laid out on (more than one: broken across lines on the phone).
BROKEN_FIGURES = """() => {
  const figure = /(?:[<>≤≥]\\s?)?\\d[\\d,.]*\\s?(?:mg\\/kg|mg\\/mL|mg|kg|mL|× ULN|cells\\/mm³)/g;
  const broken = [];
  for (const cell of document.querySelectorAll('.mono td, .mono th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(figure)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(match[0] + " in: " + cell.textContent.replace(/\\s+/g, " ").trim().slice(0, 90));
      }
    }
  }
  return broken;
}"""


def test_the_monographs_figures_keep_their_units_on_one_line_at_320_px(server: Server, page: Page):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(server.url + "/monograph/")
    assert page.locator(".mono td").count() > 50
    broken = page.evaluate(BROKEN_FIGURES)
    assert broken == [], broken


def test_phone_screenshot(server: Server, page: Page, tmp_path: Path):
    """The README's picture: `make screenshot` sets SCREENSHOT_TO=docs/screenshot.png."""
    page.goto(server.url + "/")
    result = calculate(page, CASES["ra iv increased 130 kg"]["inputs"])
    assert "800 mg" in result["text"]
    # The last inputs, the button and the result's figures in one phone screen.
    page.evaluate("document.getElementById('id_therapy').scrollIntoView({block: 'start'})")
    path = Path(os.environ.get("SCREENSHOT_TO") or tmp_path / "screenshot.png")
    page.screenshot(path=path, type="png", scale="css")
    assert 1_000 < path.stat().st_size < 150_000


def test_a_recalculated_restore_overtaken_by_typing_raises_no_error(server: Server, page: Page):
    """A reload recalculates the tab's kept result when content moved on (restore.mjs, htmx.ajax);
    typing before that answer arrives replaces the request (hx-sync). A CI run under load once
    saw htmx's promise for the dropped request rejected and unhandled ('page error: undefined')."""
    page.goto(server.url + "/")
    calculate(page, {"indication": "ra", "route": "iv", "weight": 70})
    # The kept result from an older content version, as after a publish.
    page.evaluate(
        """() => {
        const saved = JSON.parse(sessionStorage.getItem('actemra-last-result'));
        sessionStorage.setItem('actemra-last-result', JSON.stringify({...saved, version: '0'}));
      }"""
    )
    held: list[Route] = []

    def hold_the_recalculation(route: Route) -> None:
        if route.request.method == "POST" and not held:
            held.append(route)  # a busy server: still unanswered when the clinician types
        else:
            route.continue_()

    page.route("**/*", hold_the_recalculation)
    page.reload()
    page.wait_for_function("() => document.querySelector('form.calc.htmx-request')")
    assert len(held) == 1
    after = calculate(page, {"indication": "ra", "route": "iv", "weight": 71})
    assert "284 mg" in after["text"]  # 4 mg/kg x 71 kg: the newer request's answer
    page.evaluate("new Promise(requestAnimationFrame)")  # any rejection reported before teardown
