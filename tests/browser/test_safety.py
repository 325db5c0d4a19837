"""Issue 12 in a real browser: the band-edge warning and a hold without a schedule, online and
offline (the browser engine builds the same #result as the server)."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page

from scripts.serve import Server

from .conftest import calculate, set_offline, wait_for_worker

NEAR_EDGE = {"indication": "pjia", "route": "iv", "weight": "29.6"}
EDGE_WARNING = (
    "29.6 kg: under 30 kg the dose is 10 mg per kg (296 mg) in a 50 mL bag; at 30 kg it would "
    "be 8 mg per kg (240 mg) in a 100 mL bag. Confirm the weight."
)
HOLD = {
    "indication": "ra",
    "route": "iv",
    "weight": "70",
    "starting_therapy": False,
    "labs": {"anc_per_mm3": "700"},
}
PERSISTENT = {
    "indication": "ra",
    "route": "iv",
    "step": "increased",
    "weight": "70",
    "starting_therapy": False,
    "persistent_rise": True,
    "labs": {"alt_x_uln": "2"},
}
RESUMING = {
    "indication": "ra",
    "route": "iv",
    "step": "increased",
    "weight": "70",
    "starting_therapy": False,
    "resuming_after_hold": True,
}


def check(shown: dict, name: str) -> None:
    text = shown["text"]
    if name == "edge":
        assert EDGE_WARNING in text
        assert "296 mg" in text
    elif name == "hold":
        assert "Hold: do not give now" in text
        assert "every 4 weeks" not in text
        assert "When" not in shown["outline"]
    elif name == "persistent":
        assert "Give a reduced dose 280 mg" in text  # 4 mg/kg x 70 kg
    elif name == "resuming":
        assert "Give 280 mg" in text
        assert "Then increase to 8 mg/kg" in text


def test_near_an_edge_and_on_hold_online_and_offline(
    server: Server, context: BrowserContext, page: Page
) -> None:
    cases = {"edge": NEAR_EDGE, "hold": HOLD, "persistent": PERSISTENT, "resuming": RESUMING}
    page.goto(server.url + "/")
    wait_for_worker(page)
    online = {name: calculate(page, inputs) for name, inputs in cases.items()}
    for name, shown in online.items():
        check(shown, name)

    set_offline(context, True)
    page.reload()
    assert "Offline" in page.text_content("#network-status")
    for name, inputs in cases.items():
        offline = calculate(page, inputs)
        check(offline, name)
        assert offline == online[name], name
