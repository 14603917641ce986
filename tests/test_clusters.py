"""Server-side clusters (/api/sites/clusters), cached facets and conditional GETs, on SpatiaLite and PostGIS."""
from __future__ import annotations

import pytest

from scouting.search import CLUSTER_CELL_PX, MAX_CLUSTER_CELLS, MAX_ZOOM, MEMBERS_ZOOM, cluster_cell_deg, grid_cells

from .conftest import drop_database, make_app, new_database_url, synthetic_app
from .helpers import bearer

WENCHENG = "119.7,27.5,120.4,28.1"
ZHEJIANG = "118.0,27.0,123.0,31.2"


def clusters(client, query: str) -> dict:
    resp = client.get("/api/sites/clusters?" + query)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def matched(client, query: str) -> int:
    return client.get("/api/sites?limit=1&" + query).get_json()["numberMatched"]


def drawn(body: dict) -> int:
    return sum(c["count"] for c in body["clusters"]) + len(body["features"])


# --------------------------------------------------------------------------- on the seed data

@pytest.mark.parametrize("zoom", [3, 9, 11, 13, 16, 19])
@pytest.mark.parametrize("filters", ["", "genre=nature", "facility=villas,hot_spring", "terrain=lake&elev_min=300",
                                     "near=120.0878,27.7922&radius_km=15", "q=寺"])
def test_cells_add_up_to_the_matches_in_the_bbox(client, zoom, filters):
    query = f"bbox={WENCHENG}&zoom={zoom}&{filters}"
    body = clusters(client, query)
    expected = matched(client, f"bbox={WENCHENG}&{filters}")
    assert body["numberMatched"] == expected == drawn(body)
    ids = [f["id"] for f in body["features"]]
    assert len(ids) == len(set(ids))
    for cluster in body["clusters"]:
        minx, miny, maxx, maxy = cluster["bbox"]
        assert cluster["count"] > (20 if zoom >= MEMBERS_ZOOM else 1)
        assert minx <= cluster["lon"] <= maxx and miny <= cluster["lat"] <= maxy
        # Every member of a cluster is inside its bbox: the bbox as a filter finds them all.
        assert matched(client, f"bbox={minx},{miny},{maxx},{maxy}&{filters}") >= cluster["count"]


def test_single_sites_come_with_what_a_marker_needs(client):
    body = clusters(client, f"bbox={WENCHENG}&zoom=18")
    assert body["clusters"] == [] or all(c["count"] > 20 for c in body["clusters"])
    sites = {f["id"]: f for f in client.get(f"/api/sites?limit=1000&bbox={WENCHENG}").get_json()["features"]}
    for feature in body["features"]:
        site = sites[feature["id"]]
        assert feature["geometry"] == site["geometry"]
        assert feature["properties"] == {k: site["properties"][k] for k in ("name_zh", "name_en", "genres")}


def test_coarser_zoom_means_fewer_bigger_cells(client):
    fine = clusters(client, f"bbox={WENCHENG}&zoom=12")
    coarse = clusters(client, f"bbox={WENCHENG}&zoom=8")
    assert coarse["cellSize"] == fine["cellSize"] * 16
    assert len(coarse["clusters"]) + len(coarse["features"]) < len(fine["clusters"]) + len(fine["features"])
    assert drawn(coarse) == drawn(fine)


@pytest.mark.parametrize("bbox", [(-180.0, -90.0, 180.0, 90.0), (118.0, 27.0, 123.0, 31.2), (0.0, 0.0, 0.001, 0.001)])
def test_the_grid_is_bounded_however_large_the_view(bbox):
    for zoom in range(MAX_ZOOM + 1):
        cell = cluster_cell_deg(bbox, zoom)
        assert grid_cells(bbox, cell) <= MAX_CLUSTER_CELLS
        assert cell >= CLUSTER_CELL_PX * 360 / (256 * 2 ** zoom)


def test_a_county_view_keeps_the_zooms_own_cells(client):
    # 64 px wide at 256 px a tile: no coarsening for a screen-sized view.
    assert cluster_cell_deg((119.7, 27.5, 120.4, 28.1), 11) == pytest.approx(64 * 360 / (256 * 2 ** 11))
    world = clusters(client, "bbox=-180,-90,180,90&zoom=22")
    assert world["cellSize"] > 64 * 360 / (256 * 2 ** 22) and drawn(world) == matched(client, "")


@pytest.mark.parametrize("query, name", [
    ("zoom=10", "bbox"),
    (f"bbox={WENCHENG}", "zoom"),
    (f"bbox={WENCHENG}&zoom=23", "zoom"),
    (f"bbox={WENCHENG}&zoom=ten", "zoom"),
    (f"bbox={WENCHENG}&zoom=10&limit=5", "limit"),
    (f"bbox={WENCHENG}&zoom=10&genre=dragons", "genre"),
    ("bbox=120,28,119,27&zoom=10", "bbox"),
    (f"bbox={WENCHENG}&zoom=10&colour=red", "colour"),
])
def test_bad_cluster_requests_name_the_parameter(client, query, name):
    resp = client.get("/api/sites/clusters?" + query)
    assert resp.status_code == 400
    assert resp.get_json()["invalid-params"][0]["name"] == name


# --------------------------------------------------------------------------- conditional GETs and the facet cache

READ_URLS = ["/api/sites?genre=nature", "/api/sites/facets", "/api/sites/facets?terrain=lake",
             f"/api/sites/clusters?bbox={WENCHENG}&zoom=11", "/api/bases", "/api/boundary", "/api/vocabulary",
             "/api/sites/1", "/api/sites/1/details?date=2026-06-21"]


@pytest.mark.parametrize("url", READ_URLS)
def test_read_endpoints_answer_304_to_a_matching_etag(client, url):
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert "no-cache" in first.headers["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_compressed_answers_keep_their_etag_and_304(client):
    url = "/api/sites?limit=100"
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert first.headers["Content-Encoding"] == "gzip"
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    # A site's ETag is its version, sent back in If-Match by writers: never rewritten by compression.
    assert client.get("/api/sites/1", headers={"Accept-Encoding": "gzip"}).headers["ETag"].strip('"').isdigit()


def test_a_write_changes_facets_clusters_and_their_etags(writer):
    auth = bearer(writer.tokens["planner"])
    urls = ["/api/sites/facets", "/api/sites/facets?genre=nature", f"/api/sites/clusters?bbox={WENCHENG}&zoom=9",
            "/api/bases", "/api/sites?genre=red&limit=1"]
    before = {url: writer.get(url) for url in urls}
    assert writer.get(urls[0]).get_json() == before[urls[0]].get_json()  # the cached answer is the same answer
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.05, 27.80]},
               "properties": {"name_zh": "缓存测试", "name_en": "Cache test", "genres": ["red"], "terrain": ["lake"],
                              "facilities": ["parking"], "coord_source": "test", "coord_accuracy_m": 10,
                              "position_method": "surveyed", "base": "nantian-costume"}}
    created = writer.post("/api/sites", json=feature, headers=auth)
    assert created.status_code == 201, created.get_json()
    for url in urls:
        stale = writer.get(url, headers={"If-None-Match": before[url].headers["ETag"]})
        assert stale.status_code == 200, url
    facets = writer.get(urls[0]).get_json()
    assert facets["numberMatched"] == before[urls[0]].get_json()["numberMatched"] + 1
    assert facets["counts"]["genre"]["red"] == before[urls[0]].get_json()["counts"]["genre"].get("red", 0) + 1
    assert writer.get(urls[1]).get_json()["counts"]["genre"]["red"] == facets["counts"]["genre"]["red"]
    assert drawn(writer.get(urls[2]).get_json()) == drawn(before[urls[2]].get_json()) + 1
    assert writer.get(urls[4]).get_json()["numberMatched"] == before[urls[4]].get_json()["numberMatched"] + 1

    # An edit that only changes tags, then a delete: each shows at once.
    site_url = created.headers["Location"]
    edited = writer.patch(site_url, json={"type": "Feature", "properties": {"genres": ["nature"]}},
                          headers=auth | {"If-Match": created.headers["ETag"]})
    assert edited.status_code == 200, edited.get_json()
    after_edit = writer.get(urls[0]).get_json()["counts"]["genre"]
    assert after_edit.get("red", 0) == before[urls[0]].get_json()["counts"]["genre"].get("red", 0)
    assert writer.delete(site_url, headers=auth | {"If-Match": edited.headers["ETag"]}).status_code == 204
    assert writer.get(urls[0]).get_json() == before[urls[0]].get_json()
    assert drawn(writer.get(urls[2]).get_json()) == drawn(before[urls[2]].get_json())
    assert writer.get(urls[4]).get_json()["numberMatched"] == before[urls[4]].get_json()["numberMatched"]


# --------------------------------------------------------------------------- at scale: synthetic sites

SYNTH_SITES = 3000


@pytest.fixture(scope="module")
def synth_client(backend, tmp_path_factory):
    with synthetic_app(backend, tmp_path_factory.mktemp(f"synth-{backend}"), SYNTH_SITES, seed=7) as app:
        yield app.test_client()


SYNTH_QUERIES = [f"bbox={ZHEJIANG}&zoom=7", f"bbox={ZHEJIANG}&zoom=8&genre=wuxia,costume",
                 f"bbox={WENCHENG}&zoom=11", "bbox=120.0,30.1,120.4,30.4&zoom=12&facility=parking",
                 "bbox=120.5,27.9,120.8,28.1&zoom=16", "bbox=120.6,27.95,120.7,28.05&zoom=19&terrain=town_street",
                 f"bbox={ZHEJIANG}&zoom=9&elev_min=500&near=120.1,30.3&radius_km=40"]


@pytest.mark.parametrize("query", SYNTH_QUERIES)
def test_synthetic_cells_add_up(synth_client, query):
    body = clusters(synth_client, query)
    filters = "&".join(p for p in query.split("&") if not p.startswith("zoom="))
    assert body["numberMatched"] == matched(synth_client, filters) == drawn(body)
    assert len(body["clusters"]) <= MAX_CLUSTER_CELLS
    if body["numberMatched"] > 200:
        assert len(body["clusters"]) > 0 and len(body["features"]) < body["numberMatched"]


def test_synthetic_facets_match_counts(synth_client):
    facets = synth_client.get("/api/sites/facets?facility=parking").get_json()
    assert facets["numberMatched"] == matched(synth_client, "facility=parking")
    for genre in ("wuxia", "nature"):
        assert facets["counts"]["genre"][genre] == matched(synth_client, f"facility=parking&genre={genre}")
    assert facets["counts"]["facility"]["parking"] == facets["numberMatched"]


def test_spatialite_and_postgis_give_the_same_cells(tmp_path):
    from scouting.synth import synthesize

    answers = []
    for backend in ("spatialite", "postgis"):
        url = new_database_url(backend, tmp_path)
        app = make_app(url, tmp_path / f"instance-{backend}", seed=False)
        try:
            synthesize(app.extensions["scouting"]["engine"], 1500, seed=3)
            client = app.test_client()
            answers.append([clusters(client, q) for q in SYNTH_QUERIES])
        finally:
            app.extensions["scouting"]["engine"].dispose()
            drop_database(url)
    for spatialite, postgis in zip(*answers, strict=True):
        assert spatialite["numberMatched"] == postgis["numberMatched"]
        assert [(c["count"], c["bbox"]) for c in spatialite["clusters"]] == \
            [(c["count"], c["bbox"]) for c in postgis["clusters"]]
        for a, b in zip(spatialite["clusters"], postgis["clusters"], strict=True):
            assert a["lon"] == pytest.approx(b["lon"], abs=2e-6) and a["lat"] == pytest.approx(b["lat"], abs=2e-6)
        assert spatialite["features"] == postgis["features"]


def test_a_site_list_is_revalidated_before_its_page_is_read(client, app, monkeypatch):
    """/api/sites's ETag comes from the data version, the URL and the deploy, not from hashing the body: a client
    that has the answer gets its 304 without the page being read, and two different queries never share one."""
    from scouting.site_pages import SitePages

    url, other = "/api/sites?genre=nature&limit=5", "/api/sites?genre=nature&limit=6"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["ETag"] != client.get(other).headers["ETag"]
    assert client.get(url).headers["ETag"] == first.headers["ETag"], "the same data, the same tag"
    read = []
    original = SitePages.page
    monkeypatch.setattr(SitePages, "page", lambda self, *a, **k: read.append(1) or original(self, *a, **k))
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == first.headers["ETag"] and read == []
    gzip = client.get(url, headers={"If-None-Match": first.headers["ETag"][:-1] + ':gzip"'})
    assert gzip.status_code == 304 and read == [], "the compressed form of the same tag"
    assert client.get(url, headers={"If-None-Match": '"another"'}).status_code == 200 and read == [1]
