"""API parts behind the director's map: drawn-area filter, facet counts, site details (coordinates, sun)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import geopandas as gpd
import prcoords
import pytest
from shapely.geometry import Polygon

from .test_api_filters import fetch_all, has_all, has_any

# A polygon over the county's north-west (lon, lat).
AREA = [(119.85, 27.80), (120.05, 27.78), (120.06, 27.95), (119.90, 27.96)]


@pytest.fixture(scope="module")
def frame(site_features) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame.from_features(site_features, crs="EPSG:4326")


def area_param(ring) -> str:
    return ",".join(f"{lon},{lat}" for lon, lat in ring)


def test_area_filter_matches_shapely(client, frame):
    expected = set(frame.loc[frame.geometry.intersects(Polygon(AREA)), "slug"])
    assert 0 < len(expected) < len(frame)
    _, features = fetch_all(client, "area=" + area_param(AREA))
    assert {f["properties"]["slug"] for f in features} == expected


@pytest.mark.parametrize("ring,reason", [
    ([(120, 27.8), (120.1, 27.8)], "at least 3 corners"),
    ([(120, 27.8), (120.1, 27.9), (120.1, 27.8), (120, 27.9)], "not valid: Self-intersection"),
    ([(120, 27.8), (120.1, 97), (120.2, 27.8)], "latitude 97 is out of range"),
])
def test_bad_area(client, ring, reason):
    resp = client.get("/api/sites?area=" + area_param(ring))
    assert resp.status_code == 400
    assert resp.get_json()["invalid-params"][0]["name"] == "area"
    assert reason in resp.get_json()["detail"]


def test_facet_counts_match_independent_counts(client, frame):
    body = client.get("/api/sites/facets?facility=villas&genre=youth").get_json()
    villas = has_all(frame["facilities"], ["villas"])
    youth = has_any(frame["genres"], ["youth"])
    assert body["numberMatched"] == int((villas & youth).sum()) > 0
    # Genre counts ignore the genre selection (what choosing a chip would add) but keep the facilities.
    for genre, n in body["counts"]["genre"].items():
        assert n == int((villas & has_any(frame["genres"], [genre])).sum()), genre
    # Facility counts stay within the full result (all-of narrows).
    for facility, n in body["counts"]["facility"].items():
        assert n == int((villas & youth & has_any(frame["facilities"], [facility])).sum()), facility
    assert sum(body["counts"]["base"].values()) == int((villas & youth & frame["base"].notna()).sum())
    assert "without" not in body


def test_empty_result_says_what_each_filter_removed(client, frame):
    body = client.get("/api/sites/facets?genre=red&facility=golf_green").get_json()
    assert body["numberMatched"] == 0
    assert body["without"]["genre"] == int(has_all(frame["facilities"], ["golf_green"]).sum())
    assert body["without"]["facility"] == int(has_any(frame["genres"], ["red"]).sum())


def test_details_coordinates_navigation_and_seat(client):
    site = client.get("/api/sites?q=刘基庙").get_json()["features"][0]
    body = client.get(f"/api/sites/{site['id']}/details?date=2026-06-21").get_json()
    lon, lat = site["geometry"]["coordinates"]
    assert body["coordinates"]["wgs84"] == [lon, lat]
    glat, glon = prcoords.wgs_gcj((lat, lon))
    assert body["coordinates"]["gcj02"] == pytest.approx([glon, glat], abs=1e-9)
    blat, blon = prcoords.wgs_bd((lat, lon))
    assert body["coordinates"]["bd09"] == pytest.approx([blon, blat], abs=1e-9)
    amap = parse_qs(urlsplit(body["navigation"]["amap"]).query)
    assert amap["position"] == [f"{glon:.6f},{glat:.6f}"] and amap["name"] == [site["properties"]["name_zh"]]
    baidu = parse_qs(urlsplit(body["navigation"]["baidu"]).query)
    assert baidu["location"] == [f"{blat:.6f},{blon:.6f}"] and baidu["coord_type"] == ["bd09ll"]
    seat = body["from_county_seat"]
    assert 5_000 < seat["distance_m"] < 40_000 and 0 <= seat["bearing_deg"] < 360
    assert seat["compass_en"] in {"N", "NE", "E", "SE", "S", "SW", "W", "NW"}
    assert "permit_notes" not in body["feature"]["properties"]


def test_details_sun(client):
    site = client.get("/api/sites?limit=1").get_json()["features"][0]
    body = client.get(f"/api/sites/{site['id']}/details?date=2026-12-21").get_json()
    sun = body["sun"]
    assert sun["date"] == "2026-12-21" and sun["timezone"] == "Asia/Shanghai" and sun["polar"] is None
    names = [e["name"] for e in sun["events"]]
    assert {"sunrise", "noon", "sunset"} <= set(names)
    times = [e["time"] for e in sun["events"]]
    assert times == sorted(times) and all(t.startswith("2026-12-21T") and t.endswith("+08:00") for t in times)
    sunrise = next(e for e in sun["events"] if e["name"] == "sunrise")
    # Midwinter at 28°N: the sun rises in the south-east, around 06:40 local time.
    assert 110 < sunrise["azimuth_deg"] < 125 and "06:2" <= sunrise["time"][11:16] <= "06:59"


def test_details_bad_date_and_unknown(client):
    site = client.get("/api/sites?limit=1").get_json()["features"][0]
    bad = client.get(f"/api/sites/{site['id']}/details?date=2026-02-30")
    assert bad.status_code == 400 and bad.get_json()["invalid-params"][0]["name"] == "date"
    assert client.get(f"/api/sites/{site['id']}/details?when=today").status_code == 400
    assert client.get("/api/sites/999999/details").status_code == 404
