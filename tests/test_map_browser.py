"""The director's map in a real browser: Debian's Chromium via Playwright, tile hosts blocked.

Every test also checks that the page logged no error and asked no host but the blocked tile servers.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import prcoords
import pytest
from pyproj import Geod

from scouting.maps import TILE_HOSTS

from .browser import PageWatch, serve

pytestmark = pytest.mark.browser
GEOD = Geod(ellps="WGS84")
READY = "() => window.WenchengScout && WenchengScout.state && WenchengScout.state.ready && !WenchengScout.state.loading"


@pytest.fixture(scope="module")
def base_url(app):
    with serve(app) as url:
        yield url


class Session:
    """A browser context (fresh cookies) with its pages watched."""

    def __init__(self, browser, base_url, locale="zh-CN", viewport=(1280, 800), reduced_motion="no-preference"):
        self.context = browser.new_context(locale=locale, viewport={"width": viewport[0], "height": viewport[1]},
                                           reduced_motion=reduced_motion)
        self.base_url = base_url
        self.watches: list[PageWatch] = []

    def open(self, path: str):
        page = self.context.new_page()
        self.watches.append(PageWatch(page))
        page.goto(self.base_url + path)
        page.wait_for_function(READY, timeout=20_000)
        return page

    def close(self):
        for watch in self.watches:
            assert not watch.console_errors, watch.console_errors
            assert not watch.page_errors, watch.page_errors
            assert watch.blocked_hosts <= TILE_HOSTS, watch.blocked_hosts
        self.context.close()


@pytest.fixture
def session(chromium, base_url):
    s = Session(chromium, base_url)
    yield s
    s.close()


def wait_ready(page):
    page.wait_for_function(READY, timeout=20_000)


def drawn_count(page) -> int:
    """Sites the map shows: the numbers on the cluster bubbles plus the single markers."""
    return page.evaluate("""() => {
        const clusters = [...document.querySelectorAll('.marker-cluster span')].map(s => parseInt(s.textContent, 10));
        const singles = document.querySelectorAll('.leaflet-marker-pane .scout-site-dot').length;
        return clusters.reduce((a, b) => a + b, 0) + singles;
    }""")


def list_ids(page) -> list[int]:
    return page.eval_on_selector_all("#scout-results .scout-result", "els => els.map(e => +e.dataset.siteId)")


def api(client, query: str) -> dict:
    return client.get("/api/sites?limit=1000&" + query).get_json()


FILTER_URLS = [
    "",
    "genre=nature",
    "genre=red,ethnic,religious",
    "facility=villas,hot_spring",
    "terrain=waterfall,lake&elev_min=300",
    "near=120.0878,27.7922&radius_km=15",
    "area=119.85,27.80,120.05,27.78,120.06,27.95,119.90,27.96",
    "q=百丈漈&genre=wuxia",
]


def test_drawn_sites_equal_number_matched(session, client):
    for query in FILTER_URLS:
        expected = api(client, query)
        page = session.open("/?" + query)
        assert drawn_count(page) == expected["numberMatched"], query
        assert sorted(list_ids(page)) == sorted(f["id"] for f in expected["features"]), query
        count_text = page.inner_text("#scout-count")
        assert str(expected["numberMatched"]) in count_text, (query, count_text)
        page.close()


def test_panel_filter_updates_map_list_and_url_and_the_url_restores_it(session, client):
    page = session.open("/")
    page.click(".scout-chip[data-term=nature]")
    wait_ready(page)
    page.fill("#scout-q", "瀑")
    page.wait_for_function("() => new URLSearchParams(location.search).get('q') === '瀑'")
    wait_ready(page)
    page.select_option("#scout-base", "baizhangji-nature")
    wait_ready(page)
    params = parse_qs(urlsplit(page.url).query)
    assert params["genre"] == ["nature"] and params["q"] == ["瀑"] and params["base"] == ["baizhangji-nature"]
    expected = api(client, "genre=nature&q=瀑&base=baizhangji-nature")
    assert 0 < expected["numberMatched"] < 35
    assert sorted(list_ids(page)) == sorted(f["id"] for f in expected["features"])
    assert drawn_count(page) == expected["numberMatched"]
    # Pan and zoom, then open the URL in a new page: the same filters, list and view.
    page.evaluate("WenchengScout.app.map.setView([27.84, 120.0], 13, {animate: false})")
    page.wait_for_function("() => (new URLSearchParams(location.search).get('map') || '').startsWith('13/')")
    zoom, lat, lng = (float(v) for v in parse_qs(urlsplit(page.url).query)["map"][0].split("/"))
    assert lat == pytest.approx(27.84, abs=1e-3) and lng == pytest.approx(120.0, abs=1e-3)
    copy = session.open(urlsplit(page.url).path + "?" + urlsplit(page.url).query)
    assert copy.is_checked(".scout-chip[data-term=nature] input")
    assert copy.input_value("#scout-q") == "瀑"
    assert copy.input_value("#scout-base") == "baizhangji-nature"
    assert list_ids(copy) == list_ids(page)
    view = copy.evaluate("[WenchengScout.app.map.getZoom(), WenchengScout.app.map.getCenter().lat, "
                         "WenchengScout.app.map.getCenter().lng]")
    assert view[0] == 13 and view[1] == pytest.approx(lat, abs=1e-4) and view[2] == pytest.approx(lng, abs=1e-4)


def test_detail_panel_from_list_and_map(session, client):
    page = session.open("/")
    target = api(client, "q=刘基庙")["features"][0]
    page.click(f".scout-result[data-site-id='{target['id']}']")
    page.wait_for_selector(f"#scout-detail-body[data-site-id='{target['id']}']")
    assert page.is_visible("#scout-detail")
    assert page.inner_text("#scout-detail-title") == target["properties"]["name_zh"]
    assert parse_qs(urlsplit(page.url).query)["site"] == [str(target["id"])]
    # The GCJ-02 position shown is prcoords' conversion of the stored WGS-84 point.
    lon, lat = target["geometry"]["coordinates"]
    glat, glon = prcoords.wgs_gcj((lat, lon))
    shown = page.locator(".scout-coord-value").all_inner_texts()
    assert shown[0] == f"{lat:.6f}, {lon:.6f}"
    assert shown[1] == f"{glat:.6f}, {glon:.6f}"
    assert page.locator("#scout-detail tr[data-event=sunrise]").count() == 1
    assert "误差约" in page.inner_text(".scout-facts"), "the accuracy is worded in Chinese"
    page.click("#scout-detail-close")
    assert not page.is_visible("#scout-detail")
    assert "site" not in parse_qs(urlsplit(page.url).query)

    # From the map: a site standing alone at its point, made visible, then clicked as a user would.
    features = api(client, "")["features"]
    points = [tuple(f["geometry"]["coordinates"]) for f in features]
    alone = next(f for f in features if points.count(tuple(f["geometry"]["coordinates"])) == 1)
    page.evaluate("""id => {
        const app = WenchengScout.app; app.map.setView(app.markers()[id].getLatLng(), 16, {animate: false});
    }""", alone["id"])
    dot = f".scout-site-dot[data-site-id='{alone['id']}']"
    page.wait_for_selector(dot, timeout=10_000)
    # Clicked once the view has settled and the dot is what a pointer at its centre meets (the base badges are
    # laid out again after a move; under load that can come after the dot appears).
    page.wait_for_function(READY, timeout=20_000)
    page.wait_for_function("""sel => { const dot = document.querySelector(sel); if (!dot) return false;
        const box = dot.getBoundingClientRect();
        return dot.contains(document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2)); }""",
                           arg=dot, timeout=10_000)
    page.click(dot)
    page.wait_for_selector(f"#scout-detail-body[data-site-id='{alone['id']}']")
    assert page.inner_text("#scout-detail-title") == alone["properties"]["name_zh"]
    assert page.locator(f".scout-result.is-active[data-site-id='{alone['id']}']").count() == 1


def tile_latlng(page, site_id: int) -> tuple[float, float]:
    """Where on the basemap's own (Web Mercator) grid a marker is drawn: (lon, lat)."""
    return tuple(page.evaluate("""id => {
        const map = WenchengScout.app.map, m = WenchengScout.app.markers()[id], z = map.getZoom();
        const p = L.CRS.EPSG3857.pointToLatLng(map.project(m.getLatLng(), z), z);
        return [p.lng, p.lat];
    }""", site_id))


def test_amap_shifts_overlays_by_the_gcj02_offset_and_back(session, client):
    page = session.open("/?map=14/27.7922/120.0878")
    seat = min(api(client, "near=120.087835,27.792163&radius_km=3")["features"], key=lambda f: f["properties"]["distance_m"])
    lon, lat = seat["geometry"]["coordinates"]
    before = tile_latlng(page, seat["id"])
    assert before == pytest.approx((lon, lat), abs=1e-7)

    page.hover(".leaflet-control-layers")
    page.get_by_label("高德地图", exact=True).check()
    page.wait_for_function("() => WenchengScout.state.crs === 'GCJ02'")
    assert parse_qs(urlsplit(page.url).query)["layer"] == ["amap"]
    shifted = tile_latlng(page, seat["id"])
    glat, glon = prcoords.wgs_gcj((lat, lon))
    assert shifted == pytest.approx((glon, glat), abs=2e-6)  # what gcoord computes in the page, ~0.2 m
    _, _, offset = GEOD.inv(lon, lat, *shifted)
    assert 450 <= offset <= 600

    # A click on the Amap basemap gives back WGS-84: pick a spot 40 px east of the marker as "near a point".
    # Its place on the Amap tiles (GCJ-02) is read off the Web Mercator grid and inverted with prcoords.
    page.click("#scout-pick-point")
    x, y, tile_lon, tile_lat = page.evaluate("""id => {
        const map = WenchengScout.app.map, m = WenchengScout.app.markers()[id], z = map.getZoom();
        const box = map.getContainer().getBoundingClientRect();
        const q = map.latLngToContainerPoint(m.getLatLng()).add([40, 0]);
        // Whole screen pixels: a mouse click lands on one.
        const p = L.point(Math.round(box.x + q.x) - box.x, Math.round(box.y + q.y) - box.y);
        const onTiles = L.CRS.EPSG3857.pointToLatLng(map.containerPointToLayerPoint(p).add(map.getPixelOrigin()), z);
        return [box.x + p.x, box.y + p.y, onTiles.lng, onTiles.lat];
    }""", seat["id"])
    page.mouse.click(x, y)
    page.wait_for_function("() => new URLSearchParams(location.search).has('near')")
    wait_ready(page)
    near = [float(v) for v in parse_qs(urlsplit(page.url).query)["near"][0].split(",")]
    want_lat, want_lon = prcoords.gcj_wgs_bored((tile_lat, tile_lon))
    _, _, error = GEOD.inv(want_lon, want_lat, *near)
    assert error < 1.0  # near is rounded to 6 decimals (~0.1 m)
    _, _, shift = GEOD.inv(tile_lon, tile_lat, *near)
    assert 450 <= shift <= 600

    page.hover(".leaflet-control-layers")
    page.get_by_label("OpenStreetMap 开放街图", exact=True).check()
    page.wait_for_function("() => WenchengScout.state.crs === 'EPSG3857'")
    assert tile_latlng(page, seat["id"]) == pytest.approx((lon, lat), abs=1e-7)
    assert "layer" not in parse_qs(urlsplit(page.url).query)


def test_amap_from_a_shared_url(session):
    page = session.open("/?layer=amap&genre=nature")
    assert page.evaluate("WenchengScout.state.crs") == "GCJ02"
    assert page.is_checked(".scout-chip[data-term=nature] input")


def test_language_switch_changes_labels_and_survives_reload(session):
    page = session.open("/?genre=nature")
    assert page.inner_text("h1") == "文成外景地图"
    assert "自然风光" in page.inner_text(".scout-chip[data-term=nature]")
    assert page.inner_text(".scout-legend summary") == "图例"
    assert "宗教 / 武侠" in page.text_content(".scout-legend-bases")  # the legend starts closed at 800 px
    page.click("#scout-lang-en")
    wait_ready(page)
    assert page.inner_text("h1") == "Wencheng Scout"
    assert "Natural scenery" in page.inner_text(".scout-chip[data-term=nature]")
    assert page.inner_text(".scout-legend summary") == "Legend"
    assert "Religious / Wuxia (martial arts)" in page.text_content(".scout-legend-bases")
    assert "sites match" in page.inner_text("#scout-count")
    params = parse_qs(urlsplit(page.url).query)
    assert params["genre"] == ["nature"] and "lang" not in params
    page.reload()
    wait_ready(page)
    assert page.inner_text("h1") == "Wencheng Scout"
    page.click("#scout-lang-zh_CN")
    wait_ready(page)
    assert page.inner_text("h1") == "文成外景地图"


def test_browser_language_is_honoured(chromium, base_url):
    s = Session(chromium, base_url, locale="en-GB")
    page = s.open("/")
    assert page.inner_text("h1") == "Wencheng Scout"
    s.close()


def test_empty_result_offers_to_clear_the_filter_that_removed_most(session, client):
    page = session.open("/?genre=red&facility=golf_green")
    assert page.is_visible("#scout-empty")
    assert drawn_count(page) == 0 and list_ids(page) == []
    relax = page.locator(".scout-relax")
    assert relax.get_attribute("data-filter") == "genre"
    relax.click()
    wait_ready(page)
    expected = api(client, "facility=golf_green")
    assert sorted(list_ids(page)) == sorted(f["id"] for f in expected["features"]) and expected["numberMatched"] > 0
    assert not page.is_visible("#scout-empty")
    assert "genre" not in parse_qs(urlsplit(page.url).query)


def test_phone_layout_and_keyboard(chromium, base_url, client):
    s = Session(chromium, base_url, viewport=(390, 844))
    page = s.open("/")
    assert not page.locator("#scout-panel").is_visible() or page.locator("#scout-panel").bounding_box()["x"] < 0
    page.click("#scout-panel-toggle")
    page.wait_for_function("() => document.querySelector('#scout-panel').getBoundingClientRect().x >= 0")
    # Keyboard only: focus the first genre chip and toggle it with the space bar.
    page.focus(".scout-chip[data-term=costume] input")
    page.keyboard.press("Space")
    page.wait_for_function("() => new URLSearchParams(location.search).get('genre') === 'costume'")
    wait_ready(page)
    expected = api(client, "genre=costume")
    assert len(list_ids(page)) == expected["numberMatched"] > 0
    page.focus(".scout-result")
    page.keyboard.press("Enter")
    page.wait_for_selector("#scout-detail-body[data-site-id]")
    box = page.locator("#scout-detail").bounding_box()
    assert box["width"] <= 390 and box["y"] > 200  # a drawer from the bottom
    assert page.evaluate("document.activeElement.id") == "scout-detail"
    page.keyboard.press("Escape")
    assert not page.is_visible("#scout-detail")
    s.close()


def test_put_a_pack_together_share_it_and_open_it(session, client):
    page = session.open("/?genre=nature")
    chosen = [f["id"] for f in api(client, "genre=nature")["features"][:2]]
    for site_id in chosen:
        page.click(f".scout-result[data-site-id='{site_id}']")
        page.wait_for_selector(f"#scout-detail-body[data-site-id='{site_id}']")
        page.click(f".scout-pack-toggle[data-site-id='{site_id}']")
    assert page.locator(".scout-pack-item").count() == 2
    page.fill(".scout-pack-item >> nth=0 >> textarea", "<b>dawn</b> shots")
    page.click(".scout-pack-item >> nth=1 >> button[title]")  # move the second up
    page.fill("#scout-pack-name", "Falls recce")
    page.dispatch_event("#scout-pack-name", "change")
    page.click("#scout-pack-create")
    link = page.wait_for_selector(".scout-pack-link")
    share_url = link.get_attribute("href")
    token = share_url.rsplit("/", 1)[1]
    pack = client.get(f"/api/packs/{token}").get_json()
    assert pack["name"] == "Falls recce" and pack["site_ids"] == chosen[::-1]
    assert pack["notes"] == {str(chosen[0]): "<b>dawn</b> shots"}
    # The draft survives a reload (kept in this browser).
    page.reload()
    wait_ready(page)
    assert page.locator(".scout-pack-item").count() == 2

    shared = session.context.new_page()
    session.watches.append(PageWatch(shared))
    shared.goto(session.base_url + urlsplit(share_url).path)
    shared.wait_for_function("() => window.WenchengPack && WenchengPack.state && WenchengPack.state.ready", timeout=20_000)
    assert shared.evaluate("WenchengPack.state.sitesDrawn") == 2
    assert shared.locator(".pack-marker-icon").count() >= 1
    assert shared.inner_text("#pack-name") == "Falls recce"
    assert "<b>dawn</b> shots" in shared.inner_text(".pack-note")  # shown as text
    assert shared.locator(".pack-qr svg").count() == 1


def rgb(hex_colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)))


def test_genre_colours_on_dots_flags_and_chips_are_the_servers(session):
    """One source (scouting/vocab.py GENRE_COLOURS): the script and the style sheet keep no copy of their own."""
    from scouting.vocab import GENRE_COLOURS
    page = session.open("/")
    dots = page.evaluate("""() => Object.values(WenchengScout.app.markers()).map(m =>
        [m.feature.properties.genres[0], m.options.icon.options.html.style.backgroundColor])""")
    assert dots, "the map has site markers"
    assert all(colour == rgb(GENRE_COLOURS[genre]) for genre, colour in dots), dots
    chips = page.eval_on_selector_all(
        ".scout-chip[data-vocab=genre]",
        "els => els.map(e => [e.dataset.term, getComputedStyle(e.querySelector('.scout-chip-swatch')).backgroundColor])")
    assert {genre: colour for genre, colour in chips} == {g: rgb(c) for g, c in GENRE_COLOURS.items()}
    flags = page.eval_on_selector_all(".scout-base-badge", "els => els.map(e => e.style.backgroundColor)")
    assert len(flags) == 10 and set(flags) <= {rgb(c) for c in GENRE_COLOURS.values()}, flags


def test_a_bad_filter_in_the_url_is_told_in_the_pages_language(session):
    """The 400's problem+json names elev_min for programs; the page leaves that filter out, names it by its label
    in a notice, and shows what the rest of the link matches (here: every site)."""
    page = session.open("/?elev_min=abc")
    notice = page.inner_text("#scout-notice")
    assert "“海拔”" in notice, notice
    assert "elev_min" not in notice and "number" not in notice, f"no parameter name or English detail: {notice}"
    assert "35" in page.inner_text("#scout-count") and "elev_min" not in page.url
    page = session.open("/?elev_min=abc&lang=en")
    notice = page.inner_text("#scout-notice")
    assert "“Elevation”" in notice and "elev_min" not in notice, notice
    assert page.evaluate("WenchengScout.state.numberMatched") == 35
    for watch in session.watches:  # the browser logs each 400 answer; those were asked for
        watch.console_errors = [e for e in watch.console_errors if "status of 400" not in e]
