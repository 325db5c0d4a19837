"""Browser tests: the production app under gunicorn, driven through Debian's chromium.

The server is scripts/serve.py's gunicorn on its own migrated SQLite file, as in production (DEBUG
off, whitenoise, hashed static files), so the service worker, caching headers and CSP are the
real ones. Content edits go through `manage.py shell`, the same ORM path as the admin (signals
bump the content version).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from scripts.serve import Server, production_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    # "localhost": Chrome treats it as secure, so the production cookies and the worker work.
    with production_server(host="localhost") as served:
        yield served


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


# Recorded on every page (an init script: Playwright's, outside the page's CSP) so that a test
# waits for the calculator to be quiet instead of for a guessed time. Quiet: no typing trigger
# waiting out its delay, no htmx request in flight or swap settling, no result being computed
# on the phone (offline, or after a failed request) that has not replaced #result yet.
# htmx 2 keeps the form's pending delay timer id in its internal data (`delayed`, never reset);
# every trigger it fires (the delayed one, or a change or submit, which cancels a pending delay
# first) fires htmx:trigger, so a timer armed after the last htmx:trigger is still waiting.
QUIET_RECORDER = """(() => {
  let triggered, computing = false;
  const delayed = () => document.querySelector('form.calc')?.['htmx-internal-data']?.delayed;
  document.addEventListener('htmx:trigger', () => { triggered = delayed(); });
  const computeHere = () => { computing = true; };
  document.addEventListener('htmx:beforeRequest', (event) => { if (event.defaultPrevented) computeHere(); });
  document.addEventListener('htmx:sendError', computeHere);
  document.addEventListener('htmx:responseError', computeHere);
  new MutationObserver((changes) => {
    if (changes.some((c) => c.target.id === 'result' || [...c.addedNodes].some((n) => n.id === 'result'))) computing = false;
  }).observe(document, { childList: true, subtree: true });
  window.calculatorQuiet = () => delayed() === triggered && !computing &&
    !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added');
})();"""


def phone(playwright: Playwright, profile: Path, **options: Any) -> BrowserContext:
    """A fresh phone-sized browser profile (persistent: Chrome's install check needs one)."""
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        **options,
    )
    context.add_init_script(QUIET_RECORDER)
    return context


@pytest.fixture
def context(playwright: Playwright, tmp_path: Path) -> Iterator[BrowserContext]:
    context = phone(playwright, tmp_path / "profile")
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails the test on any CSP violation or script error."""
    page = context.pages[0] if context.pages else context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Allowed: requests the test cut off, and htmx's log of a request it dropped for a newer
        # one while the user typed (hx-sync replace).
        expected = (
            "ERR_INTERNET_DISCONNECTED",
            "htmx:sendAbort",
            "htmx:afterRequest",
            "htmx:responseError",
            "htmx:sendError",  # htmx's log of a request cut off (test_unreachable, on purpose)
            "status of 403",  # the refused-request test, on purpose
            "Error Code 403",
        )
        if "Content Security Policy" in message.text or (
            message.type == "error" and not any(e in message.text for e in expected)
        ):
            problems.append(message.text)

    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", on_console)
    yield page
    assert not problems, problems


# In the service worker: resolves once its navigator.onLine is `want`.
WORKER_SEES = """want => new Promise(done => {
  const check = () => (navigator.onLine === want ? done() : setTimeout(check, 20));
  check();
})"""


def set_offline(context: BrowserContext, offline: bool) -> None:
    """The network off (or on) for the pages and, before returning, for the service worker too:
    Chromium applies it to the worker separately, and a reload under load once went through a
    worker still online (a CI run's "offline" result from the new content version)."""
    context.set_offline(offline)
    for worker in context.service_workers:
        worker.evaluate(WORKER_SEES, not offline)


def wait_for_worker(page: Page) -> None:
    """Until the service worker has saved the app and controls this page."""
    page.evaluate("navigator.serviceWorker.ready")
    # A function, not a bare expression: Playwright polls a bare expression with eval(), which
    # the page's CSP refuses (seen when the worker took control after the first poll).
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def open_calculator(context: BrowserContext, page: Page, server: Server, offline: bool) -> None:
    """The calculator, once the worker has saved the app; offline: reloaded from the worker with
    the network off, so the phone's engine answers."""
    page.goto(server.url + "/")
    wait_for_worker(page)
    if offline:
        set_offline(context, True)
        page.reload()


def _settle(page: Page) -> None:
    # Typing triggers htmx requests after a 300 ms pause: wait for them to fire and be answered
    # (see QUIET_RECORDER) before reading.
    page.wait_for_function("() => window.calculatorQuiet()")


def fill(page: Page, inputs: dict[str, Any]) -> None:
    """Types a case's inputs into the real form, as a clinician would."""
    if "product" in inputs:  # issue 23; otherwise the site's default, as the page shows it
        page.select_option("#id_product", inputs["product"])
    page.select_option("#id_indication", inputs["indication"])
    page.check(f"input[name=route][value={inputs['route']}]")
    page.fill("#id_weight", "" if inputs.get("weight") is None else str(inputs["weight"]))
    page.check(f"input[name=weight_unit][value={inputs.get('weight_unit', 'kg')}]")
    therapy = (
        "starting"
        if inputs.get("starting_therapy", True)
        else "resuming"
        if inputs.get("resuming_after_hold")
        else "on_therapy"
    )
    for name, value in (("step", inputs.get("step", "starting")), ("therapy", therapy)):
        # Offered only where content gives the indication and route the choice; elsewhere the
        # page keeps the first option, and a case needing another cannot be typed.
        if page.is_visible(f"#id_{name}"):
            page.check(f"input[name={name}][value={value}]")
        else:
            assert page.is_checked(f"input[name={name}][value={value}]"), (name, value)
    age = inputs.get("age_years")
    page.fill("#id_age_years", "" if age is None else str(age))
    labs = inputs.get("labs") or {}
    if labs and not page.is_visible("#id_alt_x_uln"):
        page.click("details.labs summary")
    for name in ("alt_x_uln", "ast_x_uln", "anc_per_mm3", "platelets_per_mm3"):
        if labs or page.is_visible(f"#id_{name}"):
            page.fill(f"#id_{name}", "" if labs.get(name) is None else str(labs[name]))
    if page.is_visible("#id_persistent_rise"):
        page.set_checked("#id_persistent_rise", bool(inputs.get("persistent_rise")))


def calculate(page: Page, inputs: dict[str, Any]) -> dict[str, Any]:
    """Fills the form, presses Calculate and returns what #result shows."""
    fill(page, inputs)
    _settle(page)
    page.evaluate("document.getElementById('result').dataset.stale = '1'")
    page.click("button.go")
    page.wait_for_selector("#result:not([data-stale])", state="attached")
    _settle(page)
    # A "Check before giving" the case confirms: the one tap, as a clinician would.
    if inputs.get("confirmed") and page.locator("#result [data-confirm]").count():
        page.evaluate("document.getElementById('result').dataset.stale = '1'")
        page.click("#result [data-confirm]")
        page.wait_for_selector("#result:not([data-stale])", state="attached")
        _settle(page)
    return read_result(page)


def read_result(page: Page) -> dict[str, Any]:
    """#result as a comparable outline: every element (tag, class, link) and every text, trimmed."""
    outline = page.evaluate(
        """() => {
        const out = [];
        const walk = (node) => {
          for (const child of node.childNodes) {
            if (child.nodeType === Node.TEXT_NODE) {
              const text = child.textContent.replace(/\\s+/g, ' ').trim();
              if (text) out.push(text);
            } else if (child.nodeType === Node.ELEMENT_NODE) {
              out.push(`<${child.tagName.toLowerCase()} ${child.className} ${child.getAttribute('href') || ''}>`);
              // Words from the clock (next dose, use-by) move with the minute: compared apart.
              if (child.dataset.clock) out.push(`clock:${child.dataset.clock}`);
              else walk(child);
            }
          }
        };
        const result = document.getElementById('result');
        walk(result);
        const clocks = [...result.querySelectorAll('[data-clock]')].map((e) => e.innerText).filter(Boolean);
        return {outline: out, version: result.dataset.contentVersion, text: result.innerText, clocks};
      }"""
    )
    for clock in outline.pop("clocks"):
        outline["text"] = outline["text"].replace(clock, "(clock)")
    outline["text"] = re.sub(r"\s+", " ", outline["text"]).strip()
    return outline
