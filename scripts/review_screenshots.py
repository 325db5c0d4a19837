"""Screenshots of the review page as a reviewer sees four dangerous changes (issue 20).

A diluted-storage time, the EHR dose tolerance, a long lab message and a 10-fold decimal slip,
made by an editor in the production app (gunicorn, DEBUG off) and seen by a reviewer in
Debian's chromium. Writes docs/review-*.png. Run under the heavy lock:

    flock /tmp/heavy.lock .venv/bin/python scripts/review_screenshots.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.serve import production_server  # noqa: E402

# The editor's four changes (figures from the seeded rows, changed relative to themselves).
SETUP = """
from decimal import Decimal
from django.contrib.auth.models import Group
from django.core.management import call_command
from dosing.models import DilutedStorage, DoseRule, EhrCheck, LabRule
call_command("create_content_editors")
User = __import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model()
editor = User.objects.create_user("editor", password="pw-editor-1", is_staff=True)
editor.groups.add(Group.objects.get(name="Content editors"))
reviewer = User.objects.create_user("reviewer", password="pw-reviewer-1", is_staff=True)
reviewer.groups.add(Group.objects.get(name="Content reviewers"))

def edit(row, **fields):
    for name, value in fields.items():
        setattr(row, name, value)
    row._history_user = editor
    row.save()

storage = DilutedStorage.objects.order_by("order", "pk").first()
edit(storage, max_hours=storage.max_hours * 2)
edit(EhrCheck.objects.get(), dose_tolerance_percent=Decimal(50))
lab = LabRule.objects.get(code="start-anc")
edit(lab, message=lab.message.replace("not ", "", 1)
     + " Recheck the count before every infusion and record it in the chart.")
rule = DoseRule.objects.get(indication__slug="sjia", route="iv", max_weight_kg=30)
edit(rule, mg_per_kg=rule.mg_per_kg / 10)
"""


def main() -> None:
    docs = ROOT / "docs"
    with production_server(host="localhost", workers=1, threads=2) as server:
        server.manage("shell", "-c", SETUP)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server.url}/admin/login/?next=/admin/dosing/publishedversion/review/")
            page.fill("#id_username", "reviewer")
            page.fill("#id_password", "pw-reviewer-1")
            page.click("input[type=submit]")
            page.wait_for_selector("#changes")
            page.screenshot(path=docs / "review-four-dangerous-changes.png", full_page=True)
            page.locator("section[aria-labelledby=h-diff]").screenshot(
                path=docs / "review-changes-in-words.png"
            )
            page.locator("#size-flags").screenshot(path=docs / "review-size-flag.png")
            browser.close()
    print("Wrote docs/review-four-dangerous-changes.png, review-changes-in-words.png, "
          "review-size-flag.png")  # fmt: skip


if __name__ == "__main__":
    main()
