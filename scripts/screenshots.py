"""`make screenshots`: the map's key views, in Chinese and English, on a 1366x800 desktop and a 390x844 phone,
written to docs/screens/ for the README.

A throw-away SpatiaLite database with the seed data, the app on loopback and Debian's Chromium through
Playwright.  Basemap tiles are not fetched: every tile request gets the same plain tile (tests/browser.py's), so the
pictures show our markers, panels and controls, not a third party's map, and need no network.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, LOCAL_HOSTS, _tile_png, serve  # noqa: E402
from tests.conftest import make_app, new_database_url  # noqa: E402

OUT = ROOT / "docs" / "screens"
READY = "() => window.WenchengScout && WenchengScout.state && WenchengScout.state.ready && !WenchengScout.state.loading"
SCREENS = {"desktop": (1366, 800), "phone": (390, 844)}
LANGS = {"zh": ("zh-CN", "zh_CN"), "en": ("en-GB", "en")}
# name -> the page's path (filters in the URL, as a user would share them)
VIEWS = {"map": "/", "filtered": "/?genre=nature&terrain=waterfall", "detail": "/?genre=nature&terrain=waterfall&site={site}"}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    tile = _tile_png()
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(new_database_url("spatialite", Path(tmp)), Path(tmp) / "instance")
        with app.test_client() as client:
            site = client.get("/api/sites?genre=nature&terrain=waterfall&limit=1").get_json()["features"][0]["id"]
        with serve(app) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

            def route(r):
                if urlsplit(r.request.url).hostname in LOCAL_HOSTS:
                    r.continue_()
                else:
                    r.fulfill(status=200, content_type="image/png", body=tile)

            for lang, (locale, code) in LANGS.items():
                for screen, (width, height) in SCREENS.items():
                    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
                    for name, path in VIEWS.items():
                        page = context.new_page()  # a fresh page each: the view is the link's, not the last one's
                        page.route("**/*", route)
                        path = path.format(site=site)
                        page.goto(url + path + ("&" if "?" in path else "?") + "lang=" + code)
                        page.wait_for_function(READY, timeout=30_000)
                        if name == "detail":
                            page.wait_for_selector("#scout-detail:not([hidden]) h2")
                        page.wait_for_load_state("networkidle")
                        target = OUT / f"{name}-{lang}-{screen}.png"
                        page.screenshot(path=str(target))
                        print(target.relative_to(ROOT))
                        page.close()
                    context.close()
            browser.close()


if __name__ == "__main__":
    main()
