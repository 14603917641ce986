"""At scale, SpatiaLite and PostGIS answer every filter with the same sites in the same order.

Both databases get the same synthetic sites (`scouting.synth`, a fixed seed); each filter of /api/sites —
genre any-of, facility all-of, terrain, box, polygon, radius, elevation, text, and combinations — is read
page by page on both, and the id lists, their order and `numberMatched` must be identical.  Paging must be
stable: small pages put together equal one large page.  (Speed is measured by `make bench`, not here.)
"""
from __future__ import annotations

import pytest

from scouting.synth import synthesize

from .conftest import drop_database, make_app, new_database_url

# Making the two databases is part of the first test: on a busy machine it can pass the suite's 120 s.
pytestmark = pytest.mark.timeout(600)

SITES = 10_000  # big enough that every filter has to use its index; small enough for make test
SEED = 11
HANGZHOU = "119.95,30.10,120.40,30.45"
WENZHOU = "120.67,28.00"

FILTERS = [
    "genre=nature",
    "genre=wuxia,costume",
    "terrain=waterfall,lake",
    "facility=parking,toilets",
    "facility=boats,villas,drone_allowed",
    f"bbox={HANGZHOU}",
    f"genre=wuxia,costume&facility=parking,toilets&bbox={HANGZHOU}",
    "genre=nature&terrain=forest,mountain&facility=drone_allowed&elev_min=300&elev_max=900&bbox=118,27,123,31.5",
    f"near={WENZHOU}&radius_km=10",
    f"near={WENZHOU}&radius_km=25&genre=period,youth&facility=mains_power",
    "near=120.09,27.79&radius_km=5&elev_max=500",
    "elev_min=300&elev_max=700",
    "elev_min=1200&facility=parking",
    "q=Hangzhou",
    "q=杭州&genre=red",
    f"q=waterfall&bbox={HANGZHOU}",
    "area=119.9,27.6,120.3,27.6,120.3,28.0,119.9,28.0",
    "area=120.5,27.9,120.8,27.9,120.65,28.1&genre=nature,youth",
    "genre=religious&facility=golf_green,boats&terrain=canyon",  # empty or nearly so
]
PAGED = [FILTERS[6], FILTERS[8], FILTERS[12], FILTERS[15]]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """One app per database, each holding the same synthetic sites."""
    apps, urls = {}, []
    try:
        for backend in ("spatialite", "postgis"):
            tmp = tmp_path_factory.mktemp(f"scale-{backend}")
            url = new_database_url(backend, tmp)
            urls.append(url)
            app = make_app(url, tmp / "instance", seed=False)
            synthesize(app.extensions["scouting"]["engine"], SITES, seed=SEED)
            apps[backend] = app
        yield {name: app.test_client() for name, app in apps.items()}
    finally:
        for app in apps.values():
            app.extensions["scouting"]["engine"].dispose()
        for url in urls:
            drop_database(url)


def _read_all(client, query: str, page: int) -> tuple[list[int], int, list[float]]:
    ids: list[int] = []
    distances: list[float] = []
    matched = None
    offset = 0
    while True:
        response = client.get(f"/api/sites?{query}&limit={page}&offset={offset}")
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        if matched is None:
            matched = body["numberMatched"]
        assert body["numberMatched"] == matched  # the count does not move between pages
        ids += [f["id"] for f in body["features"]]
        distances += [f["properties"].get("distance_m", 0.0) for f in body["features"]]
        if not body["features"] or len(body["features"]) < page:
            break
        offset += page
    return ids, matched, distances


@pytest.mark.parametrize("query", FILTERS)
def test_same_sites_in_the_same_order_on_both_databases(both, query):
    lite_ids, lite_matched, lite_distances = _read_all(both["spatialite"], query, 1000)
    pg_ids, pg_matched, pg_distances = _read_all(both["postgis"], query, 1000)
    assert lite_matched == len(lite_ids)
    assert pg_matched == len(pg_ids)
    assert lite_ids == pg_ids
    assert len(set(lite_ids)) == len(lite_ids)  # no site twice
    # The two databases' geodesic distances agree to the centimetre.
    assert all(abs(a - b) <= 0.05 for a, b in zip(lite_distances, pg_distances, strict=True))
    if "near=" in query:
        assert lite_distances == sorted(lite_distances)


def test_filters_are_not_trivial(both):
    """The filter set really selects: most filters match some sites and none matches all of them."""
    client = both["spatialite"]
    counts = {q: client.get(f"/api/sites?{q}&limit=1").get_json()["numberMatched"] for q in FILTERS}
    assert sum(1 for n in counts.values() if n > 0) >= len(FILTERS) - 2, counts
    assert all(n < SITES for n in counts.values()), counts
    assert counts[FILTERS[6]] > 20 and counts[FILTERS[8]] > 20, counts  # the benchmark's two queries


@pytest.mark.parametrize("query", PAGED)
@pytest.mark.parametrize("backend", ("spatialite", "postgis"))
def test_small_pages_put_together_equal_one_large_page(both, backend, query):
    whole, matched, _ = _read_all(both[backend], query, 1000)
    paged, paged_matched, _ = _read_all(both[backend], query, 17)
    assert paged == whole
    assert paged_matched == matched
