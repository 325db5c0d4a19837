#!/usr/bin/env python
"""Screenshots of the admin review page for one real change (RA IV maximum 800 -> 750 mg).

On demand: `.venv/bin/python scripts/review_screenshot.py`. Serves the production app on loopback
(scripts/serve.py), makes the change as a content editor, signs in as a content reviewer and saves
docs/review-diff.png (laptop) and docs/review-diff-phone.png (390 px phone).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from playwright.sync_api import sync_playwright  # noqa: E402

from scripts.serve import production_server  # noqa: E402

PASSWORD = secrets.token_urlsafe(16)
SETUP = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from dosing.models import DoseRule
call_command("create_content_editors")
users = get_user_model().objects
editor = users.create_user("a.editor", password="{PASSWORD}", is_staff=True)
editor.groups.add(Group.objects.get(name="Content editors"))
reviewer = users.create_user("b.reviewer", password="{PASSWORD}", is_staff=True)
reviewer.groups.add(Group.objects.get(name="Content reviewers"))
for rule in DoseRule.objects.filter(indication__slug="ra", route="iv"):
    rule.max_mg = 750
    rule._history_user = editor
    rule.save()
"""


def main() -> None:
    with production_server(host="localhost") as server, sync_playwright() as p:
        server.manage("shell", "-c", SETUP)
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name, viewport in (
            ("review-diff.png", {"width": 1280, "height": 900}),
            ("review-diff-phone.png", {"width": 390, "height": 844}),
        ):
            page = browser.new_page(viewport=viewport, device_scale_factor=1)
            page.goto(server.url + "/admin/login/?next=/admin/dosing/publishedversion/review/")
            page.fill("#id_username", "b.reviewer")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#changes")
            page.screenshot(path=str(ROOT / "docs" / name), full_page=True)
            print(page.inner_text("#content-main"))
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
