"""The first map page in a real browser (Debian's Chromium via Playwright), tile hosts blocked."""
from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from .browser import CHROMIUM, CHROMIUM_ARGS, PageWatch, serve

pytestmark = pytest.mark.browser

TILE_HOSTS = {"tile.openstreetmap.org"}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_map_draws_outline_bases_and_every_site(app, browser):
    with serve(app) as base_url:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        watch = PageWatch(page)
        page.goto(base_url + "/")
        page.wait_for_function("window.WenchengScout && WenchengScout.state && WenchengScout.state.ready",
                               timeout=20_000)
        api = page.evaluate("fetch('/api/sites?limit=1').then(r => r.json())")
        # Each site is one SVG circle carrying its id; each base one numbered badge.
        site_ids = page.eval_on_selector_all(
            "path.scout-site", "els => els.map(e => [...e.classList].find(c => /^scout-site-\\d+$/.test(c)))")
        assert len(site_ids) == len(set(site_ids)) == api["numberMatched"] > 30
        badges = page.locator(".scout-base-badge").all_inner_texts()
        assert sorted(int(b) for b in badges) == list(range(1, 11))
        assert page.locator("path.leaflet-interactive, path[stroke-dasharray]").count() >= 1
        assert page.locator("#scout-status").inner_text().startswith(f"{api['numberMatched']} ")

        # Every script and stylesheet came from this server.
        resources = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert all(r.startswith(base_url) for r in resources if r.endswith((".js", ".css")))
        assert watch.blocked_hosts <= TILE_HOSTS, watch.blocked_hosts
        assert not watch.console_errors, watch.console_errors
        assert not watch.page_errors, watch.page_errors
        page.close()


def test_popup_shows_names_as_text_and_accuracy(app, browser):
    with serve(app) as base_url:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        watch = PageWatch(page)
        page.goto(base_url + "/")
        page.wait_for_function("WenchengScout.state && WenchengScout.state.ready", timeout=20_000)
        site = page.evaluate("fetch('/api/sites?q=%E5%88%98%E5%9F%BA%E5%BA%99').then(r => r.json())")["features"][0]
        # Open that site's popup through Leaflet (markers may share a point, so a click could hit another).
        page.evaluate("""id => {
            const map = Object.values(window).find(v => v instanceof L.Map);
            map.eachLayer(l => { if (l.feature && l.feature.id === id && l.openPopup) l.openPopup(); });
        }""", site["id"])
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        text = popup.inner_text()
        assert site["properties"]["name_zh"] in text and site["properties"]["name_en"] in text
        assert "±" in text and "approximate" in text
        assert not watch.console_errors and not watch.page_errors
        page.close()
