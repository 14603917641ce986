"""The director's map, second pass, in a real browser (Debian's Chromium via Playwright, tile hosts blocked), in
both languages, at 1366x800 and on a 390x844 phone: every base and site can be clicked at the county view, the
first result is in sight after a filter, the selected site stays above the phone's drawer, a bad link degrades
with a notice in the page's language, and a 500-corner drawn area round-trips through the URL and the API.
"""
from __future__ import annotations

import math
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from scouting.polyline import encode

from .test_map_browser import Session, list_ids, wait_ready

pytestmark = pytest.mark.browser
DESKTOP, PHONE = (1366, 800), (390, 844)
COUNTY = "(() => { const m = WenchengScout.app.map, c = m.getCenter(); return [m.getZoom(), c.lat, c.lng]; })()"
VIEW = "(() => { const m = WenchengScout.app.map, c = m.getCenter(); return [c.lat, c.lng, m.getZoom()]; })()"
LANGS = {"zh": ("zh-CN", {"genre": "题材", "base": "基地"}), "en": ("en-GB", {"genre": "Genre", "base": "Base"})}


@pytest.fixture(scope="module")
def browser(chromium):
    return chromium  # the module's one Chromium (conftest)


@pytest.fixture(scope="module")
def base_url(app):
    from .browser import serve

    with serve(app) as url:
        yield url


def session_for(browser, base_url, lang, viewport, reduced_motion="no-preference"):
    return Session(browser, base_url, locale=LANGS[lang][0], viewport=viewport, reduced_motion=reduced_motion)


def open_page(s: Session, lang: str, path: str):
    """The page in `lang` (the lang switch parameter is remembered in a cookie and leaves the URL)."""
    sep = "&" if "?" in path else "?"
    return s.open(path + sep + "lang=" + ("zh_CN" if lang == "zh" else "en"))


def settle(page):
    """Until no zoom, pan or spiderfy animation runs and the data is in."""
    page.wait_for_function("""() => {
        const app = WenchengScout.app, c = app.cluster;
        return !app.map._animatingZoom && !app.map._panAnim?._inProgress && !c._inZoomAnimation &&
            !document.querySelector('.leaflet-cluster-anim');
    }""", timeout=10_000)
    wait_ready(page)


def county_view(page, view):
    """Back to the county view, as a person would find it: no popup open, no bubble fanned out (a fan-out at the
    county view itself, of sites on one point, stays open through a return to the same view, over other bubbles)."""
    page.evaluate("""v => { const app = WenchengScout.app, m = app.map; m.closePopup(); app.cluster.unspiderfy();
        m.setView([v[1], v[2]], v[0], {animate: false}); }""", view)
    page.wait_for_selector(".leaflet-popup", state="detached")  # a closed popup fades out first
    settle(page)


def click_and_settle(page, selector: str) -> None:
    """Click a cluster bubble and wait for what the click does to be over: the zoom (Leaflet starts it on the next
    animation frame, so right after the click nothing seems to move yet) or the fan-out, then the clusterer's own
    animation and the data."""
    page.evaluate("""() => { const app = WenchengScout.app;
        window.__clicked = new Promise(done => { app.map.once('zoomend', done); app.cluster.once('spiderfied', done); }); }""")
    page.click(selector)
    page.evaluate("window.__clicked")
    settle(page)


# What lies over the middle of the marker marked data-reach: null (nothing: it can be clicked), "control" (a map
# control), "base" (a base's badge) or the element's markup; with the marker's middle and the arrow key that pans
# the map so that the marker moves towards the middle of the map (by 80 px).
OVER_THE_MARKER = """() => { const icon = document.querySelector('[data-reach]'), r = icon.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const over = document.elementFromPoint(x, y);
    const m = WenchengScout.app.map.getContainer().getBoundingClientRect();
    const dx = m.left + m.width / 2 - x, dy = m.top + m.height / 2 - y;
    const key = Math.abs(dx) >= Math.abs(dy) ? (dx > 0 ? 'ArrowLeft' : 'ArrowRight') : (dy > 0 ? 'ArrowUp' : 'ArrowDown');
    const what = icon.contains(over) ? null : over.closest('.leaflet-control-container') ? 'control'
        : over.closest('.scout-base-icon') ? 'base' : over.outerHTML.slice(0, 200);
    return { what, x, y, key }; }"""


def click_site_from_county_view(page, site_id: int, view) -> None:
    """As a person would: click the bubble that holds the site (zooming in or fanning it out) until its own
    marker shows, then the marker.  Playwright's click fails when something else lies over the point.  At the
    county view nothing may; once zoomed in, a person brings a marker out from under a map control with the arrow
    keys, and zooms in further (the wheel, over it) where a base's badge stands on it."""
    county_view(page, view)
    zoomed = False
    for _ in range(16):
        target = page.evaluate("""id => {
            document.querySelectorAll('[data-reach]').forEach(e => e.removeAttribute('data-reach'));
            const app = WenchengScout.app, marker = app.markers()[id];
            const shown = app.cluster.getVisibleParent(marker);
            if (!shown || !shown._icon) return null;
            shown._icon.setAttribute('data-reach', '1');
            return shown === marker ? 'site' : 'cluster';
        }""", site_id)
        assert target is not None, f"site {site_id} is in no visible bubble at the county view"
        over = page.evaluate(OVER_THE_MARKER)
        assert over["what"] is None or zoomed, f"site {site_id}: at the county view its bubble is under a {over['what']}"
        assert over["what"] in (None, "control", "base"), f"site {site_id}: its bubble is covered by {over['what']}"
        if over["what"] == "control":
            page.evaluate("WenchengScout.app.map.getContainer().focus()")
            page.keyboard.press(over["key"])
            settle(page)
            continue
        if over["what"] == "base":
            page.evaluate("() => { window.__zoomed = new Promise(done => WenchengScout.app.map.once('zoomend', done)); }")
            page.mouse.move(over["x"], over["y"])
            page.mouse.wheel(0, -120)
            page.evaluate("window.__zoomed")
            settle(page)
            continue
        if target == "site":
            page.click("[data-reach]")
            page.wait_for_function("id => new URLSearchParams(location.search).get('site') === String(id)", arg=site_id)
            settle(page)
            return
        click_and_settle(page, "[data-reach]")
        zoomed = True
    raise AssertionError(f"site {site_id} did not show after 16 clicks and pans")


def click_every_base(page, client, view):
    bases = client.get("/api/bases").get_json()["features"]
    assert len(bases) == 10
    for base in bases:
        number = base["properties"]["number"]
        county_view(page, view)
        page.click(f".scout-base-badge[data-base-number='{number}']")
        title = page.inner_text(".leaflet-popup-content h3")
        assert title.startswith(f"{number}. "), f"base {number}'s badge opens its own popup, got {title!r}"


LANGS_AND_SCREENS = pytest.mark.parametrize(("lang", "viewport"), [("zh", DESKTOP), ("en", DESKTOP), ("zh", PHONE),
                                                                  ("en", PHONE)],
                                           ids=["zh-desktop", "en-desktop", "zh-phone", "en-phone"])


@LANGS_AND_SCREENS
def test_every_base_can_be_clicked_at_the_county_view(browser, base_url, client, lang, viewport):
    s = session_for(browser, base_url, lang, viewport)
    page = open_page(s, lang, "/")
    click_every_base(page, client, page.evaluate(COUNTY))
    s.close()


# Each half of the sites in a test of its own, on the desktop and on the phone.  What lies over a marker at rest
# does not depend on how the map got there: the sweep runs for a reader who asked for less motion (no zoom or
# fan-out animation: 11-12 s a test instead of 19-20); the animated clicks are the other tests' (and the next one's).
@LANGS_AND_SCREENS
@pytest.mark.parametrize("half", [0, 1], ids=["odd", "even"])
def test_every_site_can_be_clicked_at_the_county_view(browser, base_url, client, lang, viewport, half):
    s = session_for(browser, base_url, lang, viewport, reduced_motion="reduce")
    page = open_page(s, lang, "/")
    view = page.evaluate(COUNTY)
    ids = [f["id"] for f in client.get("/api/sites?limit=1000").get_json()["features"]]
    assert len(ids) == 35
    for site_id in ids[half::2]:
        click_site_from_county_view(page, site_id, view)
        assert page.is_visible("#scout-detail"), f"site {site_id}'s details open"
        page.click("#scout-detail-close")
    s.close()


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_a_reader_who_asked_for_less_motion_gets_zooms_and_fan_outs_without_animation(browser, base_url, motion):
    s = session_for(browser, base_url, "zh", DESKTOP, reduced_motion=motion)
    page = open_page(s, "zh", "/")
    animated = motion == "no-preference"
    assert page.evaluate("WenchengScout.app.map.options.zoomAnimation") is animated
    assert page.evaluate("WenchengScout.app.cluster.options.animate") is animated
    # A zoom of two levels: animated it runs over the next frames; still, it is over when setView returns.
    running = page.evaluate("""() => new Promise((resolve) => {
        const map = WenchengScout.app.map, zoom = map.getZoom();
        map.setView(map.getCenter(), zoom + 2);
        const now = map.getZoom() === zoom + 2;
        requestAnimationFrame(() => resolve({ now, animating: Boolean(map._animatingZoom) }));
    })""")
    assert running == {"now": not animated, "animating": animated}, running
    s.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_after_a_filter_the_count_and_first_result_are_in_sight_and_the_map_fits_them(browser, base_url, client, lang):
    s = session_for(browser, base_url, lang, DESKTOP)
    page = open_page(s, lang, "/")
    assert not page.evaluate("document.querySelector('.scout-legend').open"), "the legend starts closed at 800 px high"
    page.click(".scout-chip[data-term=red]")
    wait_ready(page)
    settle(page)
    expected = client.get("/api/sites?limit=1000&genre=red").get_json()
    assert 0 < expected["numberMatched"] < 35
    count = page.locator("#scout-count").bounding_box()
    first = page.locator("#scout-results .scout-result").first.bounding_box()
    assert count["y"] >= 0 and count["y"] + count["height"] <= DESKTOP[1], "the count is in sight"
    assert first["y"] >= 0 and first["y"] + first["height"] <= DESKTOP[1], f"the first result is in sight: {first}"
    assert page.evaluate("window.scrollY") == 0 and page.evaluate("document.getElementById('scout-panel').scrollTop") == 0
    inside = page.evaluate("""() => { const app = WenchengScout.app, b = app.map.getBounds();
        return Object.values(app.markers()).every(m => b.contains(m.getLatLng())); }""")
    assert inside, "the map fits the results"
    # Once the user has moved the map, a filter change leaves it where it is.
    box = page.locator("#scout-map").bounding_box()
    page.evaluate("() => { window.__moved = new Promise(r => WenchengScout.app.map.once('moveend', r)); }")  # after any glide
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 420, box["y"] + 360, steps=5)
    page.mouse.up()
    page.evaluate("window.__moved")
    settle(page)
    before = page.evaluate(VIEW)
    page.click(".scout-chip[data-term=nature]")
    wait_ready(page)
    settle(page)
    after = page.evaluate(VIEW)
    assert after == pytest.approx(before), "the map stays where the user moved it"
    s.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_on_a_phone_the_selected_site_stays_above_the_drawer(browser, base_url, client, lang):
    s = session_for(browser, base_url, lang, PHONE)
    page = open_page(s, lang, "/")
    assert page.locator(".leaflet-control-minimap").count() == 0, "no mini-map on a phone"
    assert not page.is_visible(".leaflet-draw"), "the drawing tools wait behind 'more tools'"
    page.click(".scout-more-tools a")
    assert page.is_visible(".leaflet-draw"), "'more tools' shows them"
    page.click(".scout-more-tools a")
    # A site in the south of the county: where the drawer would cover it at the county view.
    feature = min(client.get("/api/sites?limit=1000").get_json()["features"], key=lambda f: f["geometry"]["coordinates"][1])
    click_site_from_county_view(page, feature["id"], page.evaluate(COUNTY))
    settle(page)
    drawer = page.locator("#scout-detail").bounding_box()
    mapbox = page.locator("#scout-map").bounding_box()
    marker = page.locator(f".scout-site-dot[data-site-id='{feature['id']}']").bounding_box()
    assert drawer["y"] < PHONE[1] and drawer["height"] > 100, "the drawer is open"
    centre_y = marker["y"] + marker["height"] / 2
    assert mapbox["y"] <= centre_y <= drawer["y"], f"the marker ({centre_y:.0f}) is above the drawer ({drawer['y']:.0f})"
    s.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_bad_link_degrades_with_a_notice_in_the_pages_language(browser, base_url, client, lang):
    s = session_for(browser, base_url, lang, DESKTOP)
    page = open_page(s, lang, "/?genre=nonsense&terrain=waterfall&base=a&base=b&map=99/999/999&date=2026-02-30")
    wait_ready(page)
    notice = page.inner_text("#scout-notice")
    labels = LANGS[lang][1]
    assert labels["genre"] in notice and labels["base"] in notice, f"the notice names the filters: {notice!r}"
    assert "genre=" not in notice and "nonsense" not in notice and "invalid" not in notice.lower()
    expected = client.get("/api/sites?limit=1000&terrain=waterfall").get_json()
    assert sorted(list_ids(page)) == sorted(f["id"] for f in expected["features"]), "the valid filter still applies"
    params = parse_qs(urlsplit(page.url).query)
    assert params.get("terrain") == ["waterfall"] and "genre" not in params and "base" not in params and "date" not in params
    zoom, lat, lng = (float(v) for v in params["map"][0].split("/"))
    assert zoom <= 19 and 26 <= lat <= 29.5 and 118 <= lng <= 122, f"the view is clamped: {params['map']}"
    # Repeated list parameters are a union in the page as in the API.
    for watch in s.watches:  # the browser logs the 400 answer to genre=nonsense; that was asked for
        watch.console_errors = [e for e in watch.console_errors if "status of 400" not in e]
    union = open_page(s, lang, "/?genre=nature&genre=red")
    expected = client.get("/api/sites?limit=1000&genre=nature,red").get_json()
    assert sorted(list_ids(union)) == sorted(f["id"] for f in expected["features"])
    assert union.is_checked(".scout-chip[data-term=nature] input") and union.is_checked(".scout-chip[data-term=red] input")
    s.close()


def test_a_500_corner_area_round_trips_through_the_url_and_the_api(browser, base_url, client):
    ring = [(round(120.0878 + (0.2 + 0.03 * math.sin(7 * a)) * math.cos(a), 5),
             round(27.7922 + (0.2 + 0.03 * math.sin(7 * a)) * math.sin(a), 5))
            for a in (2 * math.pi * i / 500 for i in range(500))]
    area = "polyline:" + encode([(lat, lon) for lon, lat in ring])
    expected = client.get("/api/sites?limit=1000&" + urlencode({"area": area})).get_json()
    assert 0 < expected["numberMatched"] < 35
    s = session_for(browser, base_url, "zh", DESKTOP)
    page = open_page(s, "zh", "/?" + urlencode({"area": area}))
    assert sorted(list_ids(page)) == sorted(f["id"] for f in expected["features"])
    assert page.evaluate("WenchengScout.app.state.filters.area") == area
    corners = page.evaluate("(() => { let n = 0; WenchengScout.app.map.eachLayer(l => { "
                            "if (l instanceof L.Polygon) n = Math.max(n, l.getLatLngs()[0].length); }); return n; })()")
    assert corners == 500, "the drawn area shows all its corners"
    # Set from the page (as the drawing tool does): the URL carries the polyline and a new page restores it.
    page.evaluate("a => WenchengScout.app.setFilters({ area: null })", area)
    wait_ready(page)
    page.evaluate("a => WenchengScout.app.setFilters({ area: a })", area)
    wait_ready(page)
    assert parse_qs(urlsplit(page.url).query)["area"] == [area]
    again = s.open(urlsplit(page.url).path + "?" + urlsplit(page.url).query)
    assert sorted(list_ids(again)) == sorted(f["id"] for f in expected["features"])
    s.close()
