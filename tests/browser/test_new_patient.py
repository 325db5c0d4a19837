"""Issue 22, item 2: a new patient is a new form. The tab's last result comes back only where the
browser brings the page back (Back, Forward, reload), says so with its time and offers "New
patient"; a link, the Calculator one included, gives an empty form in kg. At 390 x 844 and
320 x 640, online and offline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page

from scripts.serve import Server

from .conftest import calculate, open_calculator
from .test_bedside import PHONES, headline

# Patient A: 180 lb with platelets typed as the lab prints them.
PATIENT_A = {
    "indication": "ra",
    "route": "iv",
    "weight": 180,
    "weight_unit": "lb",
    "starting_therapy": False,
    "labs": {"platelets_per_mm3": "120,000"},
}
RESTORED = re.compile(
    r"^Restored: the last result in this tab, calculated at \d\d:\d\d\. New patient$"
)


def assert_new_form(page: Page) -> None:
    assert page.input_value("#id_weight") == ""
    assert page.is_checked("input[name=weight_unit][value=kg]")
    assert page.input_value("#id_platelets_per_mm3") == ""
    assert page.locator("#result .head").count() == 0
    assert page.locator(".restored").count() == 0


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
@pytest.mark.parametrize("phone", PHONES, ids=lambda p: f"{p['width']}x{p['height']}")
def test_the_carried_over_patient(
    server: Server, context: BrowserContext, page: Page, phone: dict[str, int], offline: bool
):
    page.set_viewport_size(phone)
    open_calculator(context, page, server, offline)
    calculate(page, PATIENT_A)
    assert "180 lb" in page.text_content("#result .who")

    # The Calculator link: patient B starts from an empty form in kg, with none of A's labs.
    page.click("nav a[href='/']")
    page.wait_for_load_state()
    assert_new_form(page)
    page.select_option("#id_indication", "ra")
    page.fill("#id_weight", "82")
    page.click("button.go")
    page.wait_for_selector("#result .head")
    # RA IV starting dose 4 mg/kg x 82 kg = 328 mg (82 lb would have been 148.8 mg).
    assert headline(page) == "Give 328 mg"
    assert "120,000" not in page.text_content("#result")
    assert "lb" not in page.text_content("#result .who")

    # A reload brings B back, and says so with its time.
    page.reload()
    page.wait_for_selector("#result .head")
    assert headline(page) == "Give 328 mg"
    assert RESTORED.match(" ".join(page.inner_text(".restored").split()))
    assert page.input_value("#id_weight") == "82"
    assert page.is_checked("input[name=weight_unit][value=kg]")

    # "New patient" on that notice: an empty form, and a reload keeps it empty.
    page.click(".restored button")
    page.wait_for_function("() => !document.querySelector('.restored')")
    assert_new_form(page)
    page.reload()
    assert_new_form(page)


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_back_and_forward_restore_the_result_and_say_so(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    page.goto(server.url + "/monograph/")  # saved for offline
    open_calculator(context, page, server, offline)
    calculate(page, PATIENT_A)
    page.click("nav a[href$='/monograph/']")
    page.wait_for_selector("article.mono")
    page.go_back()
    page.wait_for_selector("#result .head")
    assert "180 lb" in page.text_content("#result .who")
    assert page.is_checked("input[name=weight_unit][value=lb]")  # as calculated, and said
    assert RESTORED.match(" ".join(page.inner_text(".restored").split()))
    # Onward through a link: the monograph's Calculator link is a new patient.
    page.go_forward()
    page.wait_for_selector("article.mono")
    page.click("nav a[href='/']")
    page.wait_for_load_state()
    assert_new_form(page)


def kept_product(page: Page) -> str:
    # product.mjs chooses the tab's product on a new form once it has loaded: waited for.
    page.wait_for_function("() => document.getElementById('product-note')")
    return page.input_value("#id_product")


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_the_product_is_the_pharmacys_stock_not_the_patients(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    """Issue 23: a new patient keeps the tab's product (the stock in hand, with what its label
    lacks), whichever way the new form came; a result put back names its own; a new tab starts
    from the site's default."""
    page.set_viewport_size({"width": 320, "height": 640})
    open_calculator(context, page, server, offline)
    calculate(page, {**PATIENT_A, "product": "tofidence"})
    assert "TOFIDENCE (tocilizumab-bavi)" in page.text_content("#result [data-chart-note]")

    # The Calculator link: a new patient, in kg with no labs, and still TOFIDENCE.
    page.click("nav a[href='/']")
    page.wait_for_load_state()
    assert_new_form(page)
    assert kept_product(page) == "tofidence"
    assert page.is_disabled("input[name=route][value=sc]")

    # Patient B, then a reload: B comes back with the product B was calculated for.
    page.fill("#id_weight", "82")
    page.click("button.go")
    page.wait_for_selector("#result .head")
    assert headline(page) == "Give 328 mg"
    page.reload()
    page.wait_for_selector("#result .head")
    assert page.input_value("#id_product") == "tofidence"
    assert "TOFIDENCE (tocilizumab-bavi)" in page.text_content("#result [data-chart-note]")

    # "New patient" on that notice: an empty form, the product kept.
    page.click(".restored button")
    page.wait_for_function("() => !document.querySelector('.restored')")
    assert_new_form(page)
    assert kept_product(page) == "tofidence"

    # Another tab is another session: the site's default product.
    other = context.new_page()
    other.goto(server.url + "/")
    other.wait_for_selector("#id_product")
    assert other.evaluate("sessionStorage.getItem('actemra-product')") is None  # nothing kept
    assert other.input_value("#id_product") == "actemra"
    assert other.is_enabled("input[name=route][value=sc]")
    other.close()


def test_a_result_put_back_for_another_product_recalculates_with_its_indication(
    server: Server, context: BrowserContext, page: Page
):
    """The tab's product moved on (TOFIDENCE, whose label lacks CRS: its option greyed out) after
    an ACTEMRA CRS result; a reload after content moved on recalculates that result with its own
    product and indication (a greyed-out chosen option would not be sent)."""
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(server.url + "/")
    calculate(page, {"indication": "crs", "route": "iv", "weight": 48, "age_years": 40})
    assert headline(page) == "Give 384 mg"  # CRS, 30 kg and over: 8 mg/kg x 48 kg
    page.select_option("#id_product", "tofidence")  # refused: kept for the tab, not saved
    page.wait_for_selector("#result li[data-field=product]")
    # As if content moved on since the result was saved: restore.mjs recalculates it.
    page.evaluate(
        """() => { const saved = JSON.parse(sessionStorage.getItem('actemra-last-result'));
        sessionStorage.setItem('actemra-last-result', JSON.stringify({...saved, version: '0'})); }"""
    )
    page.reload()
    page.wait_for_selector("#result .head, #result .errors")
    assert headline(page) == "Give 384 mg", page.inner_text("#result")
    assert page.input_value("#id_product") == "actemra"
    assert page.input_value("#id_indication") == "crs"
    assert "ACTEMRA (tocilizumab)" in page.text_content("#result [data-chart-note]")
