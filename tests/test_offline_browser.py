"""Installable and offline in Chromium on a phone-sized screen: the worker installs and controls the pages; a pack
saved for offline opens whole with no network (page, print view, photos, tiles from a local tile server); the map
page opens offline with the data it last had; removing a saved pack removes its cache; signing out clears the
private cache.  "No network" is checked twice: Playwright's offline mode, and counters on the app and tile servers
that must not move while offline.
"""
from __future__ import annotations

import io
import threading

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from scouting import accounts
from scouting.geodata import load_geodata

from .browser import TileServer, serve
from .helpers import STAFF_PASSWORD as PASSWORD
from .helpers import bearer, small_jpeg
from .test_csp_browser import CspWatch

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
MAP_READY = "() => window.WenchengScout && WenchengScout.state && WenchengScout.state.ready && !WenchengScout.state.loading"
PACK_READY = "() => window.WenchengPack && WenchengPack.state && WenchengPack.state.ready"
CONTROLLED = "() => !!navigator.serviceWorker.controller"
# The page and every API answer it read are in some cache (what an offline visit will need).
# (The map writes its view into the query string as it moves: the page is looked up without it.)
PAGE_KEPT = """async () => {
  if (!(await caches.match(location.pathname, {ignoreVary: true, ignoreSearch: true}))) return false;
  const urls = performance.getEntriesByType('resource').map(e => e.name)
    .filter(u => u.startsWith(location.origin + '/api/'));
  for (const u of urls) { if (!(await caches.match(u, {ignoreVary: true}))) return false; }
  return true;
}"""
# The kept copy of the map page in one cache, as text (null: none).
KEPT_PAGE = """async (name) => {
  if (!(await caches.has(name))) return null;
  const copy = await (await caches.open(name)).match('/', {ignoreVary: true, ignoreSearch: true});
  return copy ? copy.text() : null;
}"""


class CountingApp:
    """The app, counting the requests that reach it (none may while the browser is offline)."""

    def __init__(self, app):
        self.app = app
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            self.count += 1
        return self.app(environ, start_response)


@pytest.fixture
def staff_app(fresh_app):
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "boss", PASSWORD, "admin")
        fresh_app.token = accounts.create_token(session, "boss")
    return fresh_app



def cache_names(page) -> list[str]:
    return page.evaluate("() => caches.keys()")


def cache_contents(page) -> dict[str, list[str]]:
    """Each cache's keys but the shell's (for messages)."""
    return page.evaluate("""async () => { const out = {};
        for (const n of await caches.keys()) {
            if (!n.startsWith('scout-shell-')) out[n] = (await (await caches.open(n)).keys()).map(r => r.url);
        }
        return out; }""")


def test_a_saved_pack_opens_offline_whole_and_can_be_removed(staff_app, chromium):
    client = staff_app.test_client()
    by_place = {}
    for site in client.get("/api/sites?limit=1000").get_json()["features"]:
        by_place.setdefault(tuple(site["geometry"]["coordinates"]), site)
    sites = list(by_place.values())[:2]  # two places a few km apart
    photo = client.post(f"/api/sites/{sites[0]['id']}/photos", headers=bearer(staff_app.token),
                        content_type="multipart/form-data",
                        data={"file": (io.BytesIO(small_jpeg((200, 80, 40))), "a.jpg", "image/jpeg")}).get_json()
    pack = client.post("/api/packs", json={"name": "峡谷外景 Gorge", "site_ids": [s["id"] for s in sites]}).get_json()
    tiles = TileServer()
    counting = CountingApp(staff_app)
    with tiles.serve() as tile_base, serve(counting) as base:
        staff_app.config["OFFLINE_TILE_URL"] = tile_base + "/{z}/{x}/{y}.png"
        plan = client.get(f"/api/packs/{pack['id']}/offline").get_json()
        context = chromium.new_context(locale="zh-CN", **PHONE)
        page = context.new_page()
        watch = CspWatch(page)
        page.goto(f"{base}/packs/{pack['id']}")
        page.wait_for_function(CONTROLLED, timeout=20_000)
        page.wait_for_function(PACK_READY, timeout=20_000)
        assert page.evaluate("() => document.querySelector('link[rel=manifest]').href").startswith(base + "/manifest")
        estimate = page.inner_text("#pack-offline-estimate")
        assert f"{len(plan['tiles'])} 张地图瓦片" in estimate and "估算" in estimate, estimate

        page.click("#pack-offline-save")
        page.wait_for_selector("#pack-offline[data-saved='true']", state="attached", timeout=60_000)
        assert "已于" in page.inner_text("#pack-offline-status")
        requested = set(tiles.requests)
        assert {t[len(tile_base):] for t in plan["tiles"]} <= requested, "every planned tile was downloaded"
        assert f"scout-pack-{pack['id']}" in cache_names(page)
        record = page.evaluate("() => WenchengOffline.state.lastSave")
        assert record["tiles"] == len(plan["tiles"]) and record["bytes"] > len(plan["tiles"]) * len(tiles.tile)

        # No network: Playwright's offline mode, and nothing may reach either server.
        context.set_offline(True)
        app_requests, tile_requests = counting.count, len(tiles.requests)
        page.reload()
        page.wait_for_function(PACK_READY, timeout=20_000)
        assert page.inner_text("#pack-name") == "峡谷外景 Gorge"
        assert page.evaluate("WenchengPack.state.sitesDrawn") == 2, "the pack's data came from the cache"
        thumb = page.locator(f".pack-photos img[src='{photo['thumb_url']}']")
        page.wait_for_function("(src) => { const i = document.querySelector(`.pack-photos img[src='${src}']`);"
                               " return i && i.complete && i.naturalWidth > 0; }", arg=photo["thumb_url"])
        assert thumb.count() == 1
        page.wait_for_function("() => document.querySelectorAll('.leaflet-tile-loaded').length > 0", timeout=20_000)
        loaded = page.evaluate("() => [...document.querySelectorAll('.leaflet-tile-loaded')].map(t => t.src)")
        assert loaded and all(src in plan["tiles"] for src in loaded), loaded
        # The public copy, whole (read by the page: opening the file itself shows Chromium's image viewer, whose
        # own inline style the photo files' sandbox CSP refuses).
        assert page.evaluate("(url) => fetch(url).then(r => r.blob()).then(createImageBitmap).then(i => i.width)",
                             photo["url"]) == 400
        page.goto(f"{base}/packs/{pack['id']}/print")
        page.wait_for_selector("section.site")
        assert page.locator("section.site").count() == 2
        page.goto(f"{base}/offline")
        page.wait_for_selector(f"#offline-pack-list li[data-pack='{pack['id']}']")
        assert "峡谷外景 Gorge" in page.inner_text("#offline-pack-list")
        assert counting.count == app_requests and len(tiles.requests) == tile_requests, "offline means offline"

        # Removing the pack deletes its cache: its tiles are gone from this device.
        page.click(f"#offline-pack-list li[data-pack='{pack['id']}'] .offline-remove")
        page.wait_for_selector("#offline-empty", state="visible")
        assert f"scout-pack-{pack['id']}" not in cache_names(page)
        assert page.evaluate("(url) => caches.match(url).then(r => !!r)", plan["tiles"][0]) is False
        context.close()
    assert not watch.violations, watch.violations
    assert not watch.page_errors, watch.page_errors
    assert not watch.blocked_hosts, watch.blocked_hosts  # no request left the machine


def test_the_map_page_opens_offline_with_the_last_data(staff_app, chromium):
    counting = CountingApp(staff_app)
    with serve(counting) as base:
        context = chromium.new_context(locale="zh-CN", **PHONE)
        page = context.new_page()
        watch = CspWatch(page)
        page.goto(f"{base}/?genre=nature")
        page.wait_for_function(MAP_READY, timeout=20_000)
        total = page.evaluate("WenchengScout.state.numberMatched")
        assert total > 0
        page.wait_for_function(CONTROLLED, timeout=20_000)
        # A visit under the worker, online: every answer comes from the server and is kept as it comes.
        page.goto(f"{base}/?genre=nature")
        page.wait_for_function(MAP_READY, timeout=20_000)
        page.wait_for_load_state("networkidle")  # the map's last questions have been asked
        page.wait_for_function(PAGE_KEPT, timeout=20_000)
        shell = [n for n in cache_names(page) if n.startswith("scout-shell-")]
        assert len(shell) == 1
        context.set_offline(True)
        before = counting.count
        unanswered = []
        page.on("requestfailed", lambda r: unanswered.append(r.url) if r.url.startswith(base) else None)
        # Opened again as it was (the map has since written its view into the address): the same questions,
        # answered from the cache.  A view or filter never asked online has no answer offline.
        page.goto(f"{base}/?genre=nature")
        try:
            page.wait_for_function(MAP_READY, timeout=20_000)
        except PlaywrightTimeout:
            raise AssertionError(f"not answered offline: {unanswered}") from None
        assert page.evaluate("WenchengScout.state.numberMatched") == total, unanswered
        assert not [u for u in unanswered if "/api/" in u], unanswered
        assert counting.count == before, "the page, its scripts and its data came from the worker's caches"
        context.close()
    assert not watch.violations, watch.violations
    assert not watch.page_errors, watch.page_errors


def test_sign_out_clears_the_private_cache(staff_app, chromium):
    with serve(staff_app) as base:
        context = chromium.new_context(locale="zh-CN", **PHONE)
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_function(MAP_READY, timeout=20_000)
        page.wait_for_function(CONTROLLED, timeout=20_000)
        page.goto(f"{base}/")  # a signed-in visit under the worker
        page.wait_for_function(MAP_READY, timeout=20_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_function(PAGE_KEPT, timeout=20_000)
        kept = {name: page.evaluate(KEPT_PAGE, f"scout-{name}") for name in ("private", "public")}
        assert kept["private"] and 'class="scout-user">boss<' in kept["private"], ("the signed-in page is kept privately",
                                                                                  cache_contents(page))
        assert kept["public"] is None, "a signed-in answer never lands in the public cache"

        page.click(".scout-logout button[type=submit]")
        page.wait_for_selector("#scout-login")
        page.wait_for_function("async () => !(await caches.has('scout-private'))", timeout=20_000)
        page.wait_for_function(PAGE_KEPT, timeout=20_000)
        public_copy = page.evaluate(KEPT_PAGE, "scout-public")
        assert "boss" not in public_copy and 'id="scout-login"' in public_copy
        # Offline now, the map shows the anonymous copy, never the signed-in one.
        context.set_offline(True)
        page.reload()
        page.wait_for_function(MAP_READY, timeout=20_000)
        assert page.locator("#scout-login").count() == 1 and page.locator(".scout-user").count() == 0
        context.close()
