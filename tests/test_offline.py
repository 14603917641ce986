"""Installable and offline, without a browser: the tile maths and size budget of saved packs (scouting/offline.py),
the manifest and its icons, the service worker's script and settings, the audience mark on every answer, the CSP,
and what the pack page and the pack's offline plan say before anything is saved."""
from __future__ import annotations

import io
import json
import math
import re

import pytest
from PIL import Image

from scouting import create_app, offline
from scouting.offline import DETAIL_ZOOMS, OVERVIEW_ZOOMS, plan_pack, tile_of, tiles_for_points, tiles_in_bbox

from .conftest import ROOT
from .helpers import auth, signed_in

TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # never fetched here
WENCHENG = (120.0878, 27.7922)


def tile_corner(x: int, y: int, z: int) -> tuple[float, float]:
    """The north-west corner (lon, lat) of a tile: the inverse of the XYZ formula, written out independently."""
    n = 2 ** z
    return x / n * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))


# --------------------------------------------------------------------------- tile maths and the budget

@pytest.mark.parametrize("zoom", [0, 1, 10, 13, 16, 19])
def test_a_point_lies_inside_its_tile(zoom):
    x, y = tile_of(*WENCHENG, zoom)
    west, north = tile_corner(x, y, zoom)
    east, south = tile_corner(x + 1, y + 1, zoom)
    assert west <= WENCHENG[0] < east and south < WENCHENG[1] <= north, (zoom, x, y)


def test_known_tiles():
    assert tile_of(0.0, 0.0, 0) == (0, 0)
    assert tile_of(0.0, 0.0, 1) == (1, 1)  # the origin is the corner of four tiles: the south-east one holds it
    assert tile_of(-180.0, 85.05, 2) == (0, 0)
    assert tile_of(179.999, -85.05, 2) == (3, 3)
    assert tile_of(*WENCHENG, 10) == (853, 429)  # y worked by hand: (1 - asinh(tan 27.79°)/π)/2 × 1024 = 429.65


def test_a_bbox_counts_every_tile_it_touches():
    # A box reaching just inside the tiles at each corner of a 3 x 2 block at zoom 12.
    west, north = tile_corner(3400, 1700, 12)
    east, south = tile_corner(3403, 1702, 12)
    tiles = tiles_in_bbox(west + 1e-6, south + 1e-6, east - 1e-6, north - 1e-6, 12)
    assert tiles == {(12, x, y) for x in range(3400, 3403) for y in range(1700, 1702)}


def test_detail_zooms_cover_each_site_not_the_land_between():
    a, b = (119.95, 27.70), (120.25, 27.90)  # about 35 km apart
    one = tiles_for_points([a], [16])
    both = tiles_for_points([a, b], [16])
    assert len(both) == len(one) + len(tiles_for_points([b], [16])), "zoom 16 holds the two sites' areas only"
    x_a, _ = tile_of(*a, 16)
    x_b, _ = tile_of(*b, 16)
    assert not any(x_a + 20 < x < x_b - 20 for _z, x, _y in both)
    overview = tiles_for_points([a, b], [12])
    xs = sorted({x for _z, x, _y in overview})
    assert xs == list(range(xs[0], xs[-1] + 1)), "the overview covers the whole area between the sites"
    # A site's detail area reaches DETAIL_RADIUS_M (1.5 km) on each side: at zoom 16 a tile is about 540 m wide here.
    assert 36 <= len(one) <= 64


def test_the_plan_keeps_every_zoom_within_a_generous_budget():
    points = [(120.0 + i * 0.02, 27.75 + i * 0.01) for i in range(10)]
    plan = plan_pack(points, other_bytes=1_000_000, avg_tile_bytes=20_000, budget_bytes=500 * 1024 * 1024)
    assert plan.zooms == OVERVIEW_ZOOMS + DETAIL_ZOOMS and plan.left_out == ()
    assert plan.tile_bytes == len(plan.tiles) * 20_000
    assert plan.total_bytes == plan.tile_bytes + 1_000_000 and plan.within_budget
    assert {z for z, _x, _y in plan.tiles} == set(plan.zooms)


def test_the_closest_zooms_go_first_when_the_budget_is_small():
    points = [(120.0 + i * 0.02, 27.75 + i * 0.01) for i in range(10)]
    full = plan_pack(points, other_bytes=0, avg_tile_bytes=20_000, budget_bytes=10 ** 12)
    without_16 = len([t for t in full.tiles if t[0] < 16]) * 20_000
    plan = plan_pack(points, other_bytes=0, avg_tile_bytes=20_000, budget_bytes=without_16)
    assert plan.zooms == (10, 11, 12, 13, 14, 15) and plan.left_out == (16,)
    assert plan.total_bytes == without_16 and plan.within_budget
    tiny = plan_pack(points, other_bytes=0, avg_tile_bytes=20_000, budget_bytes=1)
    assert tiny.zooms == OVERVIEW_ZOOMS and tiny.left_out == DETAIL_ZOOMS
    assert not tiny.within_budget, "the overview is never dropped: the plan says it is over budget instead"


def test_the_tile_cap_holds_whatever_the_budget():
    points = [(119.7 + (i % 20) * 0.03, 27.6 + (i // 20) * 0.03) for i in range(200)]
    plan = plan_pack(points, other_bytes=0, avg_tile_bytes=1, budget_bytes=10 ** 12)
    assert len(plan.tiles) <= offline.MAX_TILES and plan.left_out


def test_the_frame_adds_the_county_at_the_low_zooms_only():
    county = (119.85, 27.55, 120.35, 27.95)
    plain = plan_pack([WENCHENG], other_bytes=0)
    framed = plan_pack([WENCHENG], other_bytes=0, frame=county)
    added = set(framed.tiles) - set(plain.tiles)
    assert added and {z for z, _x, _y in added} <= set(offline.FRAME_ZOOMS)
    for zoom in offline.FRAME_ZOOMS:
        assert tiles_in_bbox(*county, zoom) <= set(framed.tiles), zoom
    assert len(added) < 60, "the county costs about 50 tiles, not a bulk download"
    assert plan_pack([WENCHENG], other_bytes=0, frame=county, with_tiles=False).tiles == ()


def test_no_tile_source_means_no_tiles():
    plan = plan_pack([WENCHENG], other_bytes=123_456, with_tiles=False)
    assert plan.tiles == () and plan.zooms == () and plan.total_bytes == 123_456


def test_tile_urls_and_megabytes():
    assert offline.tile_url(TILES, 14, 13650, 6921) == "http://127.0.0.1:9/14/13650/6921.png"
    assert offline.megabytes(0) == "0.0" and offline.megabytes(1) == "0.1"
    assert offline.megabytes(50 * 1024 * 1024) == "50.0"


@pytest.mark.parametrize("value", ["ftp://x/{z}/{x}/{y}.png", "https://{s}.tile.example.org/{z}/{x}/{y}.png",
                                   "https://tiles.example.org/{z}/{x}.png", "not a url"])
def test_a_wrong_offline_tile_url_stops_start_up_with_a_sentence(value, tmp_path):
    with pytest.raises(ValueError, match="SCOUTING_OFFLINE_TILE_URL"):
        create_app({"TESTING": True, "OFFLINE_TILE_URL": value}, instance_path=str(tmp_path))


# --------------------------------------------------------------------------- over HTTP (both databases)

@pytest.fixture
def tiled(writer):
    writer.application.config["OFFLINE_TILE_URL"] = TILES
    return writer


def test_the_manifest_is_valid_linked_and_in_the_page_language(writer):
    for lang, name, page_lang in (("zh_CN", "文成外景地图", "zh-CN"), ("en", "Wencheng Scout", "en")):
        page = writer.get(f"/?lang={lang}").get_data(as_text=True)
        href = re.search(r'<link rel="manifest" href="([^"]+)">', page).group(1).replace("&amp;", "&")
        resp = writer.get(href)
        assert resp.status_code == 200 and resp.mimetype == "application/manifest+json"
        manifest = json.loads(resp.get_data(as_text=True))
        assert manifest["name"] == name and manifest["lang"] == page_lang
        assert manifest["start_url"] == "/" and manifest["scope"] == "/" and manifest["display"] == "standalone"
        assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
        assert f'<meta name="theme-color" content="{manifest["theme_color"]}">' in page
        if lang == "zh_CN":
            assert manifest["short_name"] == "文成外景" and "Scout" not in json.dumps(manifest, ensure_ascii=False)
        sizes = set()
        for icon in manifest["icons"]:
            resp = writer.get(icon["src"])
            assert resp.status_code == 200 and resp.mimetype == icon["type"], icon
            if icon["type"] == "image/png":
                width, height = Image.open(io.BytesIO(resp.get_data())).size
                assert icon["sizes"] == f"{width}x{height}", icon
                sizes.add((width, icon["purpose"]))
        assert {(192, "any"), (512, "any"), (512, "maskable")} <= sizes  # what Chromium asks of an installable app


def test_the_pack_and_offline_pages_link_the_manifest_and_the_worker(writer):
    sites = writer.get("/api/sites?limit=2").get_json()["features"]
    pack = writer.post("/api/packs", json={"name": "Linked", "site_ids": [s["id"] for s in sites]}).get_json()
    for path in (f"/packs/{pack['id']}", "/offline", "/"):
        page = writer.get(path).get_data(as_text=True)
        assert '<link rel="manifest"' in page, path
        assert 'src="/static/js/offline.js" data-sw="/sw.js"' in page, path


def test_the_worker_comes_from_the_root_with_its_shell(writer):
    resp = writer.get("/sw.js")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert resp.headers["Cache-Control"] == "no-cache", "a new deployment's worker must be seen at once"
    source = resp.get_data(as_text=True)
    settings = json.loads(re.match(r"const SCOUT_OFFLINE = (.*);\n", source).group(1))
    assert re.fullmatch(r"[0-9a-f]{16}", settings["version"])
    shell = settings["shell"]
    modules = [f"/static/js/map/{path.name}" for path in (ROOT / "static/js/map").glob("*.js")]
    assert "/static/js/map/main.js" in modules
    for needed in (*modules, "/static/js/pack-map.js", "/static/js/offline.js", "/static/js/field/queue.js",
                   "/static/js/field/field.js",
                   "/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css", "/static/css/scout.css"):
        assert needed in shell, f"{needed} is in the app shell (the map page needs it offline)"
    for url in shell:
        assert writer.get(url).status_code == 200, url  # one missing file would stop the worker installing
    # The field page is a signed-in answer: the worker keeps it privately (gone at sign-out).
    assert settings["pages"] == ["/", "/offline", "/field"] and settings["pagePrefix"] == "/packs/"
    assert settings["tileOrigin"] is None
    assert writer.get("/sw.js").get_data(as_text=True) == source, "the same deployment, the same worker"


def test_every_answer_says_who_it_was_for(writer):
    assert writer.get("/api/sites?limit=1").headers["X-Scout-Audience"] == "public"
    assert writer.get("/").headers["X-Scout-Audience"] == "public"
    token = auth(writer)
    assert writer.get("/api/sites?limit=1", headers=token).headers["X-Scout-Audience"] == "private"
    signed_in(writer, "ping")
    assert writer.get("/").headers["X-Scout-Audience"] == "private"
    assert writer.get("/api/sites?limit=1").headers["X-Scout-Audience"] == "private"


def test_the_csp_allows_the_worker_the_manifest_and_the_offline_tiles(writer):
    csp = writer.get("/").headers["Content-Security-Policy"]
    assert "worker-src 'self';" in csp and "manifest-src 'self';" in csp
    assert "connect-src 'self';" in csp, "without an offline tile source nothing else is reachable"
    writer.application.config["OFFLINE_TILE_URL"] = TILES
    csp = writer.get("/").headers["Content-Security-Policy"]
    assert "connect-src 'self' http://127.0.0.1:9;" in csp
    assert re.search(r"img-src [^;]* http://127\.0\.0\.1:9;", csp)
    assert json.loads(re.match(r"const SCOUT_OFFLINE = (.*);\n", writer.get("/sw.js").get_data(as_text=True))
                      .group(1))["tileOrigin"] == "http://127.0.0.1:9"


def test_the_offline_plan_of_a_pack(tiled):
    sites = tiled.get("/api/sites?limit=3").get_json()["features"]
    pack = tiled.post("/api/packs", json={"name": "Gorge", "site_ids": [s["id"] for s in sites]}).get_json()
    resp = tiled.get(f"/api/packs/{pack['id']}/offline")
    assert resp.status_code == 200
    plan = resp.get_json()
    assert plan["id"] == pack["id"] and plan["name"] == "Gorge" and plan["page"] == f"/packs/{pack['id']}"
    assert plan["urls"][:5] == [f"/packs/{pack['id']}", f"/packs/{pack['id']}/print", f"/api/packs/{pack['id']}",
                                "/api/boundary", "/offline"]
    with tiled.application.extensions["scouting"]["sessionmaker"]() as session:
        frame = offline.boundary_frame(session)
    west, south, east, north = frame
    assert 119.5 < west < east < 120.6 and 27.4 < south < north < 28.2, frame  # Wencheng County
    expected = plan_pack([tuple(s["geometry"]["coordinates"]) for s in sites], plan["estimate"]["other_bytes"],
                         frame=frame)
    assert plan["tiles"] == [offline.tile_url(TILES, *t) for t in expected.tiles]
    assert plan["zooms"] == list(range(10, 17)) and plan["left_out"] == []
    estimate = plan["estimate"]
    assert estimate["is_estimate"] is True
    assert estimate["tile_bytes"] == len(plan["tiles"]) * offline.DEFAULT_AVG_TILE_BYTES
    assert estimate["total_bytes"] == estimate["tile_bytes"] + estimate["other_bytes"]
    assert estimate["budget_bytes"] == 50 * 1024 * 1024 and estimate["within_budget"]
    assert tiled.get("/api/packs/no-such-pack/offline").status_code == 404


def test_a_ten_site_pack_fits_its_budget(tiled):
    """The size of a 10-site pack (the issue's measure), spread over the county."""
    # Ten sites at ten different places (many seed sites share a township seat): the larger, honest case.
    by_place = {}
    for site in tiled.get("/api/sites?limit=1000").get_json()["features"]:
        by_place.setdefault(tuple(site["geometry"]["coordinates"]), site)
    sites = list(by_place.values())[:10]
    assert len(sites) == 10
    pack = tiled.post("/api/packs", json={"name": "Ten", "site_ids": [s["id"] for s in sites]}).get_json()
    estimate = tiled.get(f"/api/packs/{pack['id']}/offline").get_json()
    assert estimate["zooms"] == list(range(10, 17)), "ten sites keep every zoom within 50 MB"
    assert estimate["estimate"]["within_budget"]
    print(f"10-site pack: {len(estimate['tiles'])} tiles, estimate {estimate['estimate']['total_bytes']} bytes")


def test_the_pack_page_shows_the_estimate_before_saving(tiled):
    sites = tiled.get("/api/sites?limit=2").get_json()["features"]
    pack = tiled.post("/api/packs", json={"name": "Estimate", "site_ids": [s["id"] for s in sites]}).get_json()
    plan = tiled.get(f"/api/packs/{pack['id']}/offline").get_json()
    mb = offline.megabytes(plan["estimate"]["total_bytes"])
    zh = tiled.get(f"/packs/{pack['id']}?lang=zh_CN").get_data(as_text=True)
    estimate = re.search(r'<p id="pack-offline-estimate">(.*?)</p>', zh, re.S).group(1)
    assert f"{len(plan['tiles'])} 张地图瓦片" in estimate and f"约 {mb} MB" in estimate and "上限为 50.0 MB" in estimate
    assert "估算" in estimate and not re.search(r"[A-Za-z]{3,}", estimate.replace("MB", "")), estimate
    assert "保存离线" in zh and "Save for offline" not in zh
    en = tiled.get(f"/packs/{pack['id']}?lang=en").get_data(as_text=True)
    assert f"Estimate: {len(plan['tiles'])} map tiles (zoom 10–16)" in en and f"about {mb} MB" in en
    # Without an offline tile source the page says the basemap is not saved, and why.
    tiled.application.config["OFFLINE_TILE_URL"] = None
    en = tiled.get(f"/packs/{pack['id']}?lang=en").get_data(as_text=True)
    assert "The basemap is not saved" in en and "map tiles (zoom" not in en


def test_a_new_deployment_gets_a_new_worker_version(writer, tmp_path, monkeypatch):
    """The version covers the worker's source and every shell file (changed here: the source); a new one reinstalls."""
    from scouting.web import offline as web_offline

    def version() -> str:
        writer.application.extensions["scouting"].pop("offline_shell", None)  # what a restart does
        source = writer.get("/sw.js").get_data(as_text=True)
        return json.loads(re.match(r"const SCOUT_OFFLINE = (.*);\n", source).group(1))["version"]

    first = version()
    assert version() == first, "the same files give the same version"
    changed = tmp_path / "sw.js"
    changed.write_text(web_offline.SW_SOURCE.read_text(encoding="utf-8") + "\n// a new deployment\n", encoding="utf-8")
    monkeypatch.setattr(web_offline, "SW_SOURCE", changed)
    assert version() != first


def test_the_pack_page_says_when_a_pack_is_over_its_budget(tiled):
    sites = tiled.get("/api/sites?limit=2").get_json()["features"]
    pack = tiled.post("/api/packs", json={"name": "Big", "site_ids": [s["id"] for s in sites]}).get_json()
    assert "over the budget" not in tiled.get(f"/packs/{pack['id']}?lang=en").get_data(as_text=True)
    tiled.application.config["OFFLINE_PACK_BUDGET_MB"] = 0  # nothing fits: every detail zoom goes, and it says so
    en = tiled.get(f"/packs/{pack['id']}?lang=en").get_data(as_text=True)
    assert "Zooms 14, 15, 16 are left out to stay within the budget." in en
    assert "This is over the budget even so" in en
    zh = tiled.get(f"/packs/{pack['id']}?lang=zh_CN").get_data(as_text=True)
    assert "未保存缩放级别 14, 15, 16" in zh and "即便如此仍超出上限" in zh
