"""Render the app icons (static/icons/icon-*.png) from the shapes of static/icons/icon.svg, with Pillow.

The icon is this project's own drawing (a location pin over two hills); run this after changing the SVG:
    .venv/bin/python scripts/make_icons.py
The shapes are repeated here because Pillow does not read SVG; keep the two in step."""
from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
GREEN, HILL, GOLD = "#1d3b2a", "#2f6b47", "#e9c46a"
SUPERSAMPLE = 4  # drawn large and scaled down: smooth edges without an anti-aliasing renderer


def _pin(cx: float, top: float, width: float, tip: float) -> list[tuple[float, float]]:
    """The pin's outline: a circle's upper part meeting two straight sides at the tip."""
    r = width / 2
    cy = top + r
    points = [(cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a))) for a in range(150, 391, 5)]
    return points + [(cx, tip)]


def draw(size: int, maskable: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    scale = big / 512
    image = Image.new("RGB" if maskable else "RGBA", (big, big), GREEN if maskable else (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if not maskable:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=96 * scale, fill=GREEN)
    # A maskable icon keeps its drawing inside the central 80% (the safe zone launchers never crop).
    inner = 0.8 if maskable else 1.0
    offset = big * (1 - inner) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return offset + x * scale * inner, offset + y * scale * inner

    hills = [(0, 400), (150, 250), (240, 330), (350, 210), (512, 370), (512, 512), (0, 512)]
    pen.polygon([at(x, y) for x, y in hills], fill=HILL)
    if not maskable:  # the hills stop at the rounded corners
        mask = Image.new("L", (big, big), 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, big - 1, big - 1), radius=96 * scale, fill=255)
        image.putalpha(mask)
        pen = ImageDraw.Draw(image)
    pen.polygon([at(x, y) for x, y in _pin(256, 72, 272, 432)], fill=GOLD)
    cx, cy = at(256, 200)
    r = 54 * scale * inner
    pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=GREEN)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(ICONS / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(ICONS / "icon-maskable-512.png", optimize=True)


if __name__ == "__main__":
    main()
