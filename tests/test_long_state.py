"""Long and repeated state in the read API: a repeated list parameter is the union of its values, a drawn area
of the API's full 500 corners fits in a URL as an encoded polyline (area=polyline:...), and a URL past the
server's limit gets a 414 in the reader's language (JSON problem details for programs)."""
from __future__ import annotations

import math
import runpy
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import pytest
from shapely.geometry import Polygon

from scouting.polyline import decode, encode
from scouting.search import MAX_AREA_VERTICES
from scouting.web import MAX_URL_LENGTH

from .test_api_filters import fetch_all

ROOT = Path(__file__).resolve().parent.parent


def ring(corners: int, spiky: bool = False) -> list[tuple[float, float]]:
    """A star-shaped ring of (lon, lat) corners round the county seat: simple (no self-crossing) by construction;
    spiky ones jump between two radii, the longest steps (and so the longest polyline) a drawn area could have."""
    out = []
    for i in range(corners):
        a = 2 * math.pi * i / corners
        r = (0.05 if i % 2 else 0.25) if spiky else 0.2 + 0.03 * math.sin(7 * a)
        out.append((round(120.0878 + r * math.cos(a), 5), round(27.7922 + r * math.sin(a), 5)))
    return out


def polyline_param(corners: list[tuple[float, float]]) -> str:
    return "polyline:" + encode([(lat, lon) for lon, lat in corners])


def slugs(client, query: str) -> set[str]:
    _, features = fetch_all(client, query)
    return {f["properties"]["slug"] for f in features}


# ---------------------------------------------------------------- repeated parameters

def test_a_repeated_list_parameter_is_the_union_of_its_values(client):
    both = slugs(client, "genre=nature,red")
    assert len(both) > len(slugs(client, "genre=nature")), "the seed has sites of either genre"
    assert slugs(client, "genre=nature&genre=red") == both, "repeated genre = the comma list"
    facilities = slugs(client, "facility=villas,hot_spring")
    assert facilities, "the seed has a site with villas and a hot spring"
    assert slugs(client, "facility=villas&facility=hot_spring") == facilities, "repeated facility = the comma list"
    facets = client.get("/api/sites/facets?genre=nature&genre=red").get_json()
    assert facets["numberMatched"] == len(both), "the facets count the union too"
    ogc = client.get("/ogc/collections/sites/items?f=json&limit=1000&genre=nature&genre=red").get_json()
    assert {f["properties"]["slug"] for f in ogc["features"]} == both, "and the OGC items"


def test_the_next_page_keeps_repeated_parameters(client):
    body = client.get("/api/sites?genre=nature&genre=red&limit=2").get_json()
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert "genre=nature&genre=red" in nxt, f"the next link keeps both values: {nxt}"


def test_a_single_parameter_given_twice_differently_is_refused_by_name(client):
    resp = client.get("/api/sites?q=瀑&q=寺")
    assert resp.status_code == 400
    assert resp.get_json()["invalid-params"][0]["name"] == "q"
    assert client.get("/api/sites?q=瀑&q=瀑").status_code == 200, "the same value twice is one value"


# ---------------------------------------------------------------- area=polyline:...

def test_the_polyline_codec_matches_the_published_example():
    assert encode([(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"
    assert decode("_p~iF~ps|U_ulLnnqC_mqNvxq`@") == [(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]


def test_a_500_corner_area_as_a_polyline_matches_the_plain_list_and_shapely(client, site_features):
    corners = ring(MAX_AREA_VERTICES)
    frame = gpd.GeoDataFrame.from_features(site_features, crs="EPSG:4326")
    expected = set(frame.loc[frame.geometry.intersects(Polygon(corners)), "slug"])
    assert 0 < len(expected) < len(frame), "the ring holds some sites, not all"
    assert slugs(client, urlencode({"area": polyline_param(corners)})) == expected
    fewer = corners[::4]  # 125 corners: the plain lon,lat list of 500 does not fit in a URL, which is why
    plain = ",".join(f"{lon},{lat}" for lon, lat in fewer)
    assert slugs(client, "area=" + plain) == slugs(client, urlencode({"area": polyline_param(fewer)})), \
        "the plain form and the polyline find the same"


@pytest.mark.parametrize("value,reason", [
    (polyline_param(ring(MAX_AREA_VERTICES + 1)), "at most 500 corners"),
    ("polyline:_p~iF~ps|U_ulL", "ends in the middle of a point"),
    ("polyline:ab c", "is not a polyline character"),
    (polyline_param([(120.0, 27.8), (120.1, 27.9), (120.1, 27.8), (120.0, 27.9)]), "Self-intersection"),
])
def test_a_bad_polyline_area_is_refused_by_name(client, value, reason):
    resp = client.get("/api/sites?" + urlencode({"area": value}))
    assert resp.status_code == 400
    assert resp.get_json()["invalid-params"][0]["name"] == "area"
    assert reason in resp.get_json()["detail"]


def test_the_largest_valid_request_fits_the_url_and_request_line_limits():
    """The page's longest request: a spiky 500-corner area, the longest search text and every other filter."""
    query = urlencode({"genre": "nature,red,culture,costume,modern", "terrain": "waterfall,lake,village",
                       "facility": "parking,toilets", "facility_status": "verified", "base": "x" * 40, "q": "瀑" * 200,
                       "area": polyline_param(ring(MAX_AREA_VERTICES, spiky=True)), "elev_min": "-500",
                       "elev_max": "9000", "limit": "1000", "offset": "100000"})
    url = "/api/sites/clusters?" + query + "&zoom=19&bbox=119.5,27.5,120.5,28.1"
    assert len(url) < MAX_URL_LENGTH, f"the largest request is {len(url)} characters"
    gunicorn = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    request_line = len("GET ") + MAX_URL_LENGTH + len(" HTTP/1.1")
    assert request_line <= gunicorn["limit_request_line"] <= 8190, "gunicorn lets the app answer every URL it allows"


def test_a_url_over_the_limit_gets_a_414_in_the_readers_language(client):
    too_long = "q=" + "a" * MAX_URL_LENGTH
    api = client.get("/api/sites?" + too_long)
    assert api.status_code == 414 and api.mimetype == "application/problem+json"
    zh = client.get("/?" + too_long, headers={"Accept": "text/html"})
    assert zh.status_code == 414
    assert "链接过长" in zh.get_data(as_text=True) and "too long" not in zh.get_data(as_text=True)
    en = client.get("/?lang=en&" + too_long, headers={"Accept": "text/html"})
    assert en.status_code == 414
    assert "This link is too long" in en.get_data(as_text=True) and "链接过长" not in en.get_data(as_text=True)
