"""Issue 23.4 on the page: the product in hand. The form offers only the indications and routes
the chosen product's label carries, says why the others are not offered, and the answer names
that product, online and offline (the phone's engine gets the same product). At 320 x 640."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page

from scripts.serve import Server

from .conftest import ROOT, calculate, open_calculator
from .test_bedside import headline

NARROW = {"width": 320, "height": 640}
AXE = (ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text()
SC_NOTE = "Subcutaneous: not on TOFIDENCE's label for Rheumatoid arthritis."


def note(page: Page) -> str:
    # product.mjs writes the reason a frame after it loads: waited for, not guessed.
    page.wait_for_function("() => document.getElementById('product-note')?.textContent")
    return page.inner_text("#product-note")


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_tofidence_leaves_subcutaneous_unavailable_and_its_answer_names_it(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    page.set_viewport_size(NARROW)
    open_calculator(context, page, server, offline)
    assert page.input_value("#id_product") == "actemra"  # the site's default
    page.select_option("#id_indication", "ra")
    page.check("input[name=route][value=iv]")

    # TOFIDENCE's label has no subcutaneous dosing (reference: tocilizumab-products.md): not
    # offered. Had it been chosen, it would stay chosen and be refused (the test below).
    page.select_option("#id_product", "tofidence")
    assert page.is_disabled("input[name=route][value=sc]")
    assert page.is_checked("input[name=route][value=iv]")
    assert note(page) == SC_NOTE
    assert page.is_visible("#product-note")
    # Nor CAR T cell-induced CRS at all: the option says so and cannot be chosen.
    crs = page.locator("#id_indication option[value=crs]")
    assert crs.is_disabled()
    assert (
        crs.inner_text()
        == "CAR T cell–induced cytokine release syndrome (not on TOFIDENCE's label)"
    )

    calculate(page, {"indication": "ra", "route": "iv", "weight": 70, "age_years": 50})
    # RA IV starting dose 4 mg/kg x 70 kg = 280 mg, the same figures as ACTEMRA's (reference).
    assert headline(page) == "Give 280 mg"
    # Named at the top of the answer, beside the patient, online and on the phone alike.
    assert page.text_content("#result .who").endswith(
        " · intravenous infusion · TOFIDENCE (tocilizumab-bavi)"
    )
    # Named where it is prepared and charted (the sheet is for print: its text, not as shown).
    draw = page.text_content("#result .prep-steps li[data-step=draw]")
    assert "of TOFIDENCE (tocilizumab-bavi) 20 mg/mL from the vials." in draw, draw
    assert page.text_content("#result [data-chart-note]").startswith(
        "TOFIDENCE (tocilizumab-bavi): 280 mg by intravenous infusion"
    )
    assert "TOFIDENCE (tocilizumab-bavi) preparation sheet" in page.text_content("#result")
    assert "ACTEMRA (tocilizumab)" not in page.text_content("#result")
    if offline:
        assert "calculated on this phone" in page.text_content("#network-status")
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]

    # Back to ACTEMRA: subcutaneous offered again, the reason gone, CRS offered again.
    page.select_option("#id_product", "actemra")
    assert page.is_enabled("input[name=route][value=sc]")
    page.wait_for_function("() => document.getElementById('product-note').hidden")
    assert not page.locator("#id_indication option[value=crs]").is_disabled()


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_what_the_product_lacks_is_refused_on_the_product_field(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    """A biosimilar chosen for SSc-ILD (subcutaneous only, ACTEMRA's alone): the indication stays
    chosen, never swapped for another, and the answer says why, on the product field."""
    page.set_viewport_size(NARROW)
    open_calculator(context, page, server, offline)
    page.select_option("#id_indication", "ssc-ild")
    page.select_option("#id_product", "tyenne")
    assert page.input_value("#id_indication") == "ssc-ild"
    assert note(page).startswith("TYENNE's label does not carry Systemic sclerosis")
    page.fill("#id_weight", "70")
    page.click("button.go")
    page.wait_for_selector("#result li[data-field=product]")
    error = page.inner_text("#result li[data-field=product]")
    assert error.startswith(
        "Product: TYENNE (tocilizumab-aazg) is not offered for Systemic sclerosis–associated "
        "interstitial lung disease, subcutaneous"
    ), error
    assert page.get_attribute("#id_product", "aria-invalid") == "true"
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]


@pytest.mark.parametrize("offline", [False, True], ids=["online", "offline"])
def test_a_chosen_route_the_new_product_lacks_is_refused_never_swapped(
    server: Server, context: BrowserContext, page: Page, offline: bool
):
    """Subcutaneous 162 mg for ACTEMRA, then TOFIDENCE chosen (no subcutaneous dosing): the route
    stays chosen and the answer is a refusal on the product field, never an intravenous 280 mg
    the page switched to by itself (review of issue 23.4)."""
    page.set_viewport_size(NARROW)
    open_calculator(context, page, server, offline)
    calculate(page, {"indication": "ra", "route": "sc", "weight": 70, "age_years": 50})
    assert headline(page) == "Give 162 mg"
    page.select_option("#id_product", "tofidence")
    page.wait_for_selector("#result li[data-field=product]")
    assert page.is_checked("input[name=route][value=sc]")
    error = page.inner_text("#result li[data-field=product]")
    assert error.startswith(
        "Product: TOFIDENCE (tocilizumab-bavi) is not offered for Rheumatoid arthritis, "
        "subcutaneous"
    ), error
    assert "280 mg" not in page.text_content("#result")
    assert note(page) == SC_NOTE
