"""`make screenshots`: the key views in Chinese and English, on a 1366x800 desktop and a 390x844 phone, written to
docs/screens/ for the README: the director's map (plain, filtered, a site's detail), a shared pack, its print view
and the planner's site form (a seeded site, and a new one refused with every field's error).

A throw-away SpatiaLite database with the seed data, the app on loopback and Debian's Chromium through
Playwright.  The pack is made as a crew makes one (POST /api/packs) and the planner as `flask create-user` makes
one (scouting.accounts), who signs in through the login form.  Basemap tiles are not fetched: every tile request
gets the same plain tile (tests/browser.py's), so the pictures show our markers, panels and controls, not a third
party's map, and need no network.
"""
from __future__ import annotations

import os
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scouting import accounts  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS, _tile_png, serve  # noqa: E402
from tests.conftest import make_app, new_database_url  # noqa: E402

OUT = ROOT / "docs" / "screens"
READY = "() => window.WenchengScout && WenchengScout.state && WenchengScout.state.ready && !WenchengScout.state.loading"
SCREENS = {"desktop": (1366, 800), "phone": (390, 844)}
LANGS = {"zh": ("zh-CN", "zh_CN"), "en": ("en-GB", "en")}
# name -> the page's path (filters in the URL, as a user would share them)
VIEWS = {"map": "/", "filtered": "/?genre=nature&terrain=waterfall", "detail": "/?genre=nature&terrain=waterfall&site={site}"}
PUBLIC_URL = "https://scout.example.org"  # a documentation address (RFC 2606): the QR code leads nowhere real
PLANNER, PASSWORD = "screens", "screens-only-password-1"
# A crew's pack in each language: its own words (name, description, notes) are the crew's, so one set a language.
PACK_SLUGS = ("baizhangji-falls", "tianding-lake", "nantian-old-town", "liu-ji-temple")
PACK_WORDS = {
    "zh": {"name": "《山雾》第一周外景", "description": "导演组与美术组先看瀑布和古镇，周三下午看天顶湖的日落。",
           "notes": ["清晨雾大，7 点前到；带雨具。", "日落机位在东岸观景台。", "古镇街口可停两辆车。", ""]},
    "en": {"name": "Mountain Mist — week one recce", "description": "Director and art department: the falls and "
           "the old town first, Tianding Lake at sunset on Wednesday.",
           "notes": ["Thick mist early: be there before 7, bring rain gear.",
                     "Sunset camera position on the east shore lookout.", "Room for two vans at the street's end.",
                     ""]},
}


def make_packs(client, sites_by_slug: dict[str, int]) -> dict[str, str]:
    """One pack a language through the API, as the map's "new pack" does; their share tokens."""
    ids = [sites_by_slug[slug] for slug in PACK_SLUGS]
    shoot = date.today() + timedelta(days=21)
    tokens = {}
    for lang, words in PACK_WORDS.items():
        answer = client.post("/api/packs", json={
            "name": words["name"], "description": words["description"], "site_ids": ids,
            "notes": {str(i): note for i, note in zip(ids, words["notes"], strict=True) if note},
            "shoot_date": shoot.isoformat(), "expires_on": (shoot + timedelta(days=60)).isoformat()})
        assert answer.status_code == 201, answer.get_json()
        tokens[lang] = answer.get_json()["id"]
    return tokens


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tile = _tile_png()
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(new_database_url("spatialite", Path(tmp)), Path(tmp) / "instance")
        app.config["PUBLIC_URL"] = PUBLIC_URL  # share links and the print view's QR code need a public address
        with app.extensions["scouting"]["sessionmaker"]() as session:
            accounts.create_user(session, PLANNER, PASSWORD, "planner")
        with app.test_client() as client:
            site = client.get("/api/sites?genre=nature&terrain=waterfall&limit=1").get_json()["features"][0]["id"]
            every = client.get("/api/sites?limit=1000").get_json()["features"]
            packs = make_packs(client, {f["properties"]["slug"]: f["id"] for f in every})
        with serve(app) as url, sync_playwright() as pw:

            def route(r):
                if urlsplit(r.request.url).hostname in LOCAL_HOSTS:
                    r.continue_()
                else:
                    r.fulfill(status=200, content_type="image/png", body=tile)

            def shoot(page, name: str, lang: str, screen: str) -> None:
                page.wait_for_load_state("networkidle")
                target = OUT / f"{name}-{lang}-{screen}.png"
                page.screenshot(path=str(target))
                print(target.relative_to(ROOT))

            def open_page(context, path: str, code: str):
                page = context.new_page()  # a fresh page each: the view is the link's, not the last one's
                page.route("**/*", route)
                page.goto(url + path + ("&" if "?" in path else "?") + "lang=" + code)
                return page

            for lang, (locale, code) in LANGS.items():
                # The browser's own words (a file input's "Choose File") follow its UI language, not the page's:
                # Chromium reads it from LANGUAGE (its translations come with Debian's chromium-l10n).
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, f"--lang={locale}"],
                                             env={**os.environ, "LANGUAGE": locale.replace("-", "_")})
                for screen, (width, height) in SCREENS.items():
                    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
                    for name, path in VIEWS.items():
                        page = open_page(context, path.format(site=site), code)
                        page.wait_for_function(READY, timeout=30_000)
                        if name == "detail":
                            page.wait_for_selector("#scout-detail:not([hidden]) h2")
                        shoot(page, name, lang, screen)
                        page.close()

                    page = open_page(context, f"/packs/{packs[lang]}", code)
                    page.wait_for_selector(".leaflet-marker-icon")
                    shoot(page, "pack", lang, screen)
                    page.close()

                    page = open_page(context, f"/packs/{packs[lang]}/print", code)
                    page.wait_for_selector("#print-qr")
                    shoot(page, "print", lang, screen)
                    page.close()

                    page = open_page(context, "/login", code)
                    page.fill("input[name=username]", PLANNER)
                    page.fill("input[name=password]", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_load_state("load")
                    page.close()

                    page = open_page(context, f"/sites/{site}/edit", code)
                    page.wait_for_selector("#site-form")
                    shoot(page, "form", lang, screen)
                    page.close()

                    # A new site refused: a name in one language only, no genre, a word for the elevation and
                    # the latitude and longitude swapped, so every kind of error shows at once.
                    page = open_page(context, "/sites/new", code)
                    page.fill("#name_en", "Mist Valley")
                    page.fill("#elevation_m", "abc")
                    page.fill("#lon", "27.8")
                    page.fill("#lat", "120.05")
                    page.fill("#coord_source", "GNSS")
                    page.fill("#coord_accuracy_m", "5")
                    page.click("#site-form button[type=submit]")
                    page.wait_for_selector(".scout-error-summary")
                    page.evaluate("window.scrollTo(0, 0)")
                    shoot(page, "form-errors", lang, screen)
                    page.close()
                    context.close()
                browser.close()


if __name__ == "__main__":
    main()
