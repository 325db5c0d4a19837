#!/usr/bin/env python
"""Lighthouse (mobile) on the calculator, on demand (`make lighthouse`).

Serves the production app (scripts/serve.py), runs the pinned Lighthouse from the npm registry in
Debian's chromium and prints the four category scores and the page weight. Writes the full report
to lighthouse-report.json (not committed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import ROOT, production_server  # noqa: E402

LIGHTHOUSE = "lighthouse@12.8.2"  # the last major that runs on Debian's node 20
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --no-first-run --disable-sync"


def main() -> None:
    report = ROOT / "lighthouse-report.json"
    with production_server(host="localhost") as server:
        subprocess.run(
            ["npx", "--yes", LIGHTHOUSE, f"{server.url}/", "--quiet", "--output=json",
             f"--output-path={report}", f"--only-categories={','.join(CATEGORIES)}",
             f"--chrome-flags={CHROME_FLAGS}"],
            env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"},
            check=True,
        )  # fmt: skip
    data = json.loads(report.read_text())
    for name in CATEGORIES:
        category = data["categories"][name]
        print(f"{category['title']:>15}: {category['score']:.2f}")
        for ref in category["auditRefs"]:
            audit = data["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                print(f"{'':>17}{audit['id']}: {audit['score']} {audit.get('displayValue', '')}")
    weight = data["audits"]["total-byte-weight"]
    print(f"{'page weight':>15}: {weight['numericValue']:.0f} bytes transferred")
    print(f"{'LCP':>15}: {data['audits']['largest-contentful-paint']['displayValue']}")


if __name__ == "__main__":
    main()
