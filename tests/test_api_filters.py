"""The read API's filters, checked against expectations computed independently from geodata/
with geopandas, shapely and pyproj (not with the app's own code)."""
from __future__ import annotations

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import Point, box

GEOD = Geod(ellps="WGS84")
COUNTY_SEAT = (120.087835, 27.792163)  # lon, lat (reference/places.csv, DataV centre converted to WGS-84)


@pytest.fixture(scope="module")
def frame(site_features) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame.from_features(site_features, crs="EPSG:4326")
    return gdf


def slugs_where(frame, mask) -> set[str]:
    return set(frame.loc[mask, "slug"])


def fetch_all(client, query: str) -> tuple[dict, list[dict]]:
    """Every feature of a filter, following next links."""
    url = "/api/sites?" + query + ("&" if query else "") + "limit=1000"
    first = client.get(url)
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    features = list(body["features"])
    assert body["numberReturned"] == len(body["features"])
    return body, features


def has_any(column, terms):
    return column.apply(lambda values: bool(set(values) & set(terms)))


def has_all(column, terms):
    return column.apply(lambda values: set(terms) <= set(values))


def text_match(frame, needle: str):
    needle = needle.lower()
    cols = ["name_zh", "name_en", "description_zh", "description_en"]
    return frame[cols].fillna("").apply(lambda row: any(needle in str(v).lower() for v in row), axis=1)


def expected_cases(frame):
    """(query string, expected slugs) pairs built from the data itself."""
    seat = Point(COUNTY_SEAT)
    lons, lats = frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()
    _, _, dist = GEOD.inv([seat.x] * len(frame), [seat.y] * len(frame), lons, lats)
    west_box = box(119.75, 27.75, 120.0, 28.0)
    elev = frame["elevation_m"]
    first_base = frame["base"].dropna().iloc[0]
    return [
        ("", set(frame["slug"])),
        ("genre=nature", slugs_where(frame, has_any(frame["genres"], ["nature"]))),
        ("genre=red,ethnic", slugs_where(frame, has_any(frame["genres"], ["red", "ethnic"]))),
        ("terrain=waterfall,lake", slugs_where(frame, has_any(frame["terrain"], ["waterfall", "lake"]))),
        ("facility=parking", slugs_where(frame, has_all(frame["facilities"], ["parking"]))),
        ("facility=parking,toilets", slugs_where(frame, has_all(frame["facilities"], ["parking", "toilets"]))),
        (f"base={first_base}", slugs_where(frame, frame["base"] == first_base)),
        ("q=百丈漈", slugs_where(frame, text_match(frame, "百丈漈"))),
        ("q=FALLS", slugs_where(frame, text_match(frame, "falls"))),
        ("bbox=119.75,27.75,120.0,28.0", slugs_where(frame, frame.geometry.within(west_box))),
        ("near=120.087835,27.792163&radius_km=10", set(frame.loc[dist <= 10_000, "slug"])),
        ("near=120.087835,27.792163&radius_km=25", set(frame.loc[dist <= 25_000, "slug"])),
        ("elev_min=500", slugs_where(frame, elev.notna() & (elev >= 500))),
        ("elev_min=300&elev_max=700", slugs_where(frame, elev.notna() & (elev >= 300) & (elev <= 700))),
        ("genre=nature&facility=parking&bbox=119.75,27.6,120.25,28.0",
         slugs_where(frame, has_any(frame["genres"], ["nature"]) & has_all(frame["facilities"], ["parking"])
                     & frame.geometry.within(box(119.75, 27.6, 120.25, 28.0)))),
    ]


def test_filters_match_independent_expectations(client, frame):
    cases = expected_cases(frame)
    # The cases must mean something: most select a proper, non-empty subset.
    proper = [q for q, expected in cases if 0 < len(expected) < len(frame)]
    assert len(proper) >= 10, proper
    for query, expected in cases:
        body, features = fetch_all(client, query)
        got = {f["properties"]["slug"] for f in features}
        assert got == expected, query
        assert body["numberMatched"] == len(expected), query


def test_near_is_ordered_by_distance(client, frame):
    _, features = fetch_all(client, "near=120.087835,27.792163&radius_km=30")
    distances = [f["properties"]["distance_m"] for f in features]
    assert distances == sorted(distances)
    for f in features:
        lon, lat = f["geometry"]["coordinates"]
        _, _, d = GEOD.inv(COUNTY_SEAT[0], COUNTY_SEAT[1], lon, lat)
        assert f["properties"]["distance_m"] == pytest.approx(d, abs=0.5)


def test_paging_is_stable_and_complete(client, frame):
    total = len(frame)
    seen = []
    offset = 0
    while True:
        body = client.get(f"/api/sites?limit=7&offset={offset}").get_json()
        assert body["numberMatched"] == total
        seen += [f["id"] for f in body["features"]]
        rels = {link["rel"]: link["href"] for link in body["links"]}
        if "next" not in rels:
            break
        assert "offset=" in rels["next"]
        offset += 7
    assert len(seen) == total == len(set(seen))
    assert seen == sorted(seen)


def test_default_limit_and_features_are_rfc7946(client):
    body = client.get("/api/sites").get_json()
    assert body["type"] == "FeatureCollection"
    assert "crs" not in body
    assert body["numberReturned"] == min(100, body["numberMatched"])
    for f in body["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert 119 < lon < 121 and 27 < lat < 29  # lon first
        props = f["properties"]
        assert props["coord_accuracy_m"] > 0 and props["coord_source"]
        assert "permit_notes" not in props and "contact_notes" not in props


def test_site_by_id_and_unknown_id(client):
    first = client.get("/api/sites?limit=1").get_json()["features"][0]
    one = client.get(f"/api/sites/{first['id']}")
    assert one.status_code == 200
    assert one.get_json()["properties"]["slug"] == first["properties"]["slug"]
    missing = client.get("/api/sites/999999")
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    assert "999999" in missing.get_json()["detail"]


def test_bases_vocabulary_boundary_health(client, base_features):
    bases = client.get("/api/bases").get_json()
    assert [b["properties"]["number"] for b in bases["features"]] == list(range(1, 11))
    assert sum(b["properties"]["site_count"] for b in bases["features"]) > 0
    vocab = client.get("/api/vocabulary").get_json()
    assert {"costume", "religious", "wuxia", "historical"} <= {g["slug"] for g in vocab["genres"]}
    assert all(t["zh"] and t["en"] for kind in ("genres", "terrain", "facilities") for t in vocab[kind])
    boundary = client.get("/api/boundary").get_json()
    assert len(boundary["features"]) == 1
    from shapely.geometry import shape
    geom = shape(boundary["features"][0]["geometry"])
    assert geom.is_valid and all(p.exterior.is_ccw for p in geom.geoms)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"


def test_spatial_filters_read_the_narrow_point_index(app, backend):
    """The bbox, area and radius filters, their tag filters and the page's (id, lon, lat) are answered from the
    entries of ix_sites_point alone (SQLite: a covering index; PostgreSQL: an index-only scan), both databases."""
    from sqlalchemy import select

    from scouting.db import spatial_dialect
    from scouting.models import Site
    from scouting.search import parse_site_query, site_conditions

    engine = app.extensions["scouting"]["engine"]
    if backend == "postgis":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE sites")  # the visibility map an index-only scan needs
    for args in ({"bbox": "119.9,27.7,120.1,27.9", "genre": "wuxia,costume", "facility": "parking"},
                 {"near": "120.08,27.79", "radius_km": "5", "terrain": "forest"}):
        conds = site_conditions(parse_site_query(args), spatial_dialect(engine), None)
        stmt = select(Site.id, Site.lon, Site.lat).where(*conds).order_by(Site.id + 0)
        if "near" in args:  # what the nearest-first page reads: every filter but the circle (search._nearest_page)
            stmt = select(Site.id, Site.lon, Site.lat).where(*conds[:-1])
        compiled = stmt.compile(engine, compile_kwargs={"render_postcompile": True})  # the strips' list
        with engine.connect() as conn:
            if backend == "postgis":
                conn.exec_driver_sql("SET enable_seqscan = off")  # 35 rows: the planner would rightly scan
                conn.exec_driver_sql("SET enable_bitmapscan = off")
                rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
                wanted = "Index Only Scan using ix_sites_point"
            else:
                params = tuple(compiled.params[name] for name in compiled.positiontup)
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params)
                wanted = "COVERING INDEX ix_sites_point"
            plan = "\n".join(str(r[-1]) for r in rows)
            assert wanted in plan, (args, plan)
