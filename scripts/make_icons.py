#!/usr/bin/env python
"""Draws the app icons (static/dosing/icons/*.png) from one SVG with the browser the tests use.

Run after changing the drawing: `.venv/bin/python scripts/make_icons.py`. The PNGs are committed,
so serving the app needs no browser.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "static" / "dosing" / "icons"
TEAL = "#0b4f6c"


def svg(size: int, *, maskable: bool) -> str:
    # A vial with a dose line. Maskable icons keep the drawing inside the central 80% circle
    # that every launcher mask preserves, and fill the whole square behind it.
    scale = 0.62 if maskable else 0.8
    radius = 0 if maskable else 0.18 * size
    inner = f'transform="translate({size / 2} {size / 2}) scale({size * scale / 100}) translate(-50 -50)"'
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">
  <rect width="{size}" height="{size}" rx="{radius}" fill="{TEAL}"/>
  <g {inner} fill="none" stroke="#fff" stroke-width="6" stroke-linejoin="round">
    <rect x="36" y="8" width="28" height="12" rx="3" fill="#fff"/>
    <path d="M40 20 v10 l-8 10 v46 a6 6 0 0 0 6 6 h24 a6 6 0 0 0 6 -6 v-46 l-8 -10 v-10"/>
    <path d="M32 58 h36 v28 a6 6 0 0 1 -6 6 h-24 a6 6 0 0 1 -6 -6 z" fill="#7fd3f0" stroke="none"/>
    <path d="M44 66 h12 M50 60 v12" stroke="{TEAL}"/>
  </g>
</svg>"""


ICONS = {
    "favicon-32.png": (32, False),  # the tab icon: small, since every first visit fetches it
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "maskable-192.png": (192, True),
    "maskable-512.png": (512, True),
    "apple-touch-icon.png": (180, True),  # iOS rounds the corners itself and dislikes alpha
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name, (size, maskable) in ICONS.items():
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f'<body style="margin:0">{svg(size, maskable=maskable)}</body>')
            page.screenshot(path=OUT / name, omit_background=not maskable)
            page.close()
        browser.close()
    print("\n".join(f"{p.name}: {p.stat().st_size} bytes" for p in sorted(OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
