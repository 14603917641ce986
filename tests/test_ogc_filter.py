"""OGC API – Features Part 3 (queryables, CQL2 filters) and Part 2 (crs, bbox-crs) under /ogc, on both databases:
filters checked against an oracle computed from the JSON API's features, parity with /api/sites over every
vocabulary term, errors that name what is wrong, and real clients (GDAL's OAPIF driver, OWSLib) on a loopback
server whose access log shows what they sent."""
from __future__ import annotations

import json
import logging
import math
import os
import re
import subprocess
import sys
from urllib.parse import unquote_plus

import cql2
import pytest
from owslib.ogcapi.features import Features
from pyproj import Geod
from shapely.geometry import Point, Polygon
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from scouting import vocab
from scouting.cql import MAX_FILTER, parse_filter
from scouting.db import SpatialDialect
from scouting.errors import InvalidParameter
from scouting.models import Site
from scouting.search import SiteQuery, site_conditions
from tests.browser import serve
from tests.test_ogc import ITEMS, api_sites, get, get_json, ids, one_link

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
BOX = (119.85, 27.75, 120.05, 27.95)
TRIANGLE = ((119.8, 27.6), (120.2, 27.6), (120.2, 28.0))


def ogc_ids(client, params: dict, collection: str = "sites") -> list[int]:
    doc = get_json(client, f"/ogc/collections/{collection}/items", "application/geo+json",
                   query_string={"limit": "1000", **params})
    assert doc["numberMatched"] == doc["numberReturned"] == len(doc["features"])
    return ids(doc)


@pytest.fixture
def all_sites(client) -> list[dict]:
    features = api_sites(client, "")["features"]
    assert len(features) == 35
    return features


# --------------------------------------------------------------------------- conformance and queryables

def test_conformance_declares_filtering_crs_and_the_cql2_classes(client):
    declared = set(get_json(client, "/ogc/conformance")["conformsTo"])
    cql2_classes = {"cql2-text", "cql2-json", "basic-cql2", "advanced-comparison-operators",
                    "case-insensitive-comparison", "basic-spatial-functions", "basic-spatial-functions-plus",
                    "array-functions"}
    assert {"http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
            "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter"} <= declared
    assert {"http://www.opengis.net/spec/cql2/1.0/conf/" + c for c in cql2_classes} <= declared
    # Not implemented, so not declared.
    for missing in ("temporal-functions", "property-property", "spatial-functions", "arithmetic", "functions",
                    "accent-insensitive-comparison"):
        assert "http://www.opengis.net/spec/cql2/1.0/conf/" + missing not in declared


def test_queryables_are_json_schema_with_titles_and_vocabularies(client):
    bases = [f["properties"]["slug"] for f in get_json(client, "/api/bases", "application/geo+json")["features"]]
    collection = get_json(client, "/ogc/collections/sites")
    link = one_link(collection, "http://www.opengis.net/def/rel/ogc/1.0/queryables")
    assert link["type"] == "application/schema+json"
    resp = get(client, "/ogc/collections/sites/queryables", "application/schema+json")
    schema = json.loads(resp.get_data(as_text=True))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["$id"].endswith("/ogc/collections/sites/queryables")
    props = schema["properties"]
    for name, terms in (("genres", vocab.GENRES), ("terrain", vocab.TERRAIN), ("facilities", vocab.FACILITIES)):
        assert props[name]["type"] == "array"
        assert props[name]["items"] == {"type": "string", "enum": list(terms)}
        assert all(f"{t.slug} = {t.zh} / {t.en}" in props[name]["description"] for t in terms.values())
    assert props["base"] == {"title": "所属基地 · Themed base (slug)", "type": "string", "enum": bases}
    assert props["position_method"]["enum"] == list(vocab.POSITION_METHODS)
    assert props["elevation_m"]["type"] == "number" and props["verified"]["type"] == "boolean"
    assert props["geometry"]["format"] == "geometry-point"
    for prop in props.values():  # every title in both languages
        assert re.search(r"[\u4e00-\u9fff]", prop["title"]) and re.search(r"[A-Za-z]", prop["title"]), prop
    assert "permit_notes" not in props and "contact_notes" not in props

    base_props = get_json(client, "/ogc/collections/bases/queryables", "application/schema+json")["properties"]
    assert {"slug", "number", "name_zh", "name_en", "geometry"} <= set(base_props) and "genres" not in base_props
    html = get(client, "/ogc/collections/sites/queryables?f=html", "text/html").get_data(as_text=True)
    assert "<td>题材</td>" in html and "古村落 <code" in html and "ancient_village" in html, \
        "each property by its title, each term by its label and the slug a filter writes"


# --------------------------------------------------------------------------- filters against an oracle

def _props(f):
    return f["properties"]


def _inside_box(f):
    lon, lat = f["geometry"]["coordinates"]
    return BOX[0] <= lon <= BOX[2] and BOX[1] <= lat <= BOX[3]


FILTERS = [
    ("elevation_m > 300", lambda p, f: p["elevation_m"] is not None and p["elevation_m"] > 300),
    # SQL's three-valued logic: NOT of an unknown comparison stays unknown, so sites without elevation stay out.
    ("NOT (elevation_m > 1000)", lambda p, f: p["elevation_m"] is not None and p["elevation_m"] <= 1000),
    ("elevation_m BETWEEN 200 AND 900", lambda p, f: p["elevation_m"] is not None and 200 <= p["elevation_m"] <= 900),
    ("elevation_m IS NULL", lambda p, f: p["elevation_m"] is None),
    ("verified = false AND coord_accuracy_m <= 3000", lambda p, f: not p["verified"] and p["coord_accuracy_m"] <= 3000),
    ("verified = true OR coord_accuracy_m >= 12000", lambda p, f: p["verified"] or p["coord_accuracy_m"] >= 12000),
    ("name_en LIKE 'Baizhangji%'", lambda p, f: p["name_en"].startswith("Baizhangji")),
    ("name_en LIKE '%Lake%'", lambda p, f: "Lake" in p["name_en"]),
    ("CASEI(name_en) LIKE CASEI('%LAKE%')", lambda p, f: "lake" in p["name_en"].lower()),
    ("name_en LIKE '_uagai%'", lambda p, f: re.fullmatch(r".uagai.*", p["name_en"]) is not None),
    ("name_zh LIKE '%村%'", lambda p, f: "村" in p["name_zh"]),
    ("position_method IN ('estimate', 'geocoded')", lambda p, f: p["position_method"] in ("estimate", "geocoded")),
    ("base = 'baizhangji-nature'", lambda p, f: p["base"] == "baizhangji-nature"),
    ("base IS NULL", lambda p, f: p["base"] is None),
    ("NOT (base IS NULL) AND base <> 'baizhangji-nature'",
     lambda p, f: p["base"] is not None and p["base"] != "baizhangji-nature"),
    ("genres = 'nature'", lambda p, f: "nature" in p["genres"]),
    ("genres <> 'nature'", lambda p, f: "nature" not in p["genres"]),
    ("A_OVERLAPS(terrain, ('waterfall', 'lake'))", lambda p, f: {"waterfall", "lake"} & set(p["terrain"])),
    ("A_CONTAINS(facilities, ('villas', 'hot_spring'))", lambda p, f: {"villas", "hot_spring"} <= set(p["facilities"])),
    ("A_CONTAINEDBY(genres, ('nature', 'red', 'ethnic', 'historical', 'documentary'))",
     lambda p, f: set(p["genres"]) <= {"nature", "red", "ethnic", "historical", "documentary"}),
    ("A_EQUALS(terrain, ('canyon', 'waterfall'))", lambda p, f: set(p["terrain"]) == {"waterfall", "canyon"}),
    ("S_INTERSECTS(geometry, BBOX(119.85, 27.75, 120.05, 27.95))", lambda p, f: _inside_box(f)),
    ("S_DISJOINT(geometry, BBOX(119.85, 27.75, 120.05, 27.95))", lambda p, f: not _inside_box(f)),
    ("S_INTERSECTS(geometry, POLYGON((119.8 27.6, 120.2 27.6, 120.2 28, 119.8 27.6)))",
     lambda p, f: Polygon(TRIANGLE).intersects(Point(f["geometry"]["coordinates"]))),
    # Beside S_INTERSECTS the array functions probe per site, as /api/sites does within an area.
    ("S_INTERSECTS(geometry, BBOX(119.85, 27.75, 120.05, 27.95)) AND A_OVERLAPS(terrain, ('forest', 'temple'))",
     lambda p, f: _inside_box(f) and {"forest", "temple"} & set(p["terrain"])),
    ("S_INTERSECTS(geometry, POLYGON((119.8 27.6, 120.2 27.6, 120.2 28, 119.8 27.6))) "
     "AND A_CONTAINS(facilities, ('villas', 'golf_green'))",
     lambda p, f: Polygon(TRIANGLE).intersects(Point(f["geometry"]["coordinates"]))
     and {"villas", "golf_green"} <= set(p["facilities"])),
    ("A_OVERLAPS(genres, ('nature')) AND (elevation_m > 300 OR S_INTERSECTS(geometry, BBOX(119.85, 27.75, 120.05, 27.95)))",
     lambda p, f: "nature" in p["genres"] and ((p["elevation_m"] or 0) > 300 or _inside_box(f))),
]


@pytest.mark.parametrize("text,expected", FILTERS, ids=[t for t, _ in FILTERS])
def test_cql2_text_and_json_filters_match_an_oracle(client, all_sites, text, expected):
    want = [f["id"] for f in all_sites if expected(f["properties"], f)]
    assert 0 < len(want) < 35, (text, len(want))  # each filter keeps some sites and drops others
    assert ogc_ids(client, {"filter": text, "filter-lang": "cql2-text"}) == want
    assert ogc_ids(client, {"filter": text}) == want  # cql2-text is the default
    as_json = json.dumps(cql2.parse_text(text).to_json())
    assert ogc_ids(client, {"filter": as_json, "filter-lang": "cql2-json"}) == want


def test_like_is_case_sensitive_and_casei_is_not_on_both_databases(client):
    exact = ogc_ids(client, {"filter": "name_en LIKE '%Lake%'"})
    lower = ogc_ids(client, {"filter": "name_en LIKE '%lake%'"})
    either = ogc_ids(client, {"filter": "CASEI(name_en) LIKE CASEI('%lake%')"})
    assert exact and not lower and either == exact


def test_filter_combines_with_the_other_parameters_and_pages(client, all_sites):
    want = [f["id"] for f in all_sites if "nature" in f["properties"]["genres"] and _inside_box(f)]
    assert 0 < len(want) < 16
    params = {"filter": "A_OVERLAPS(genres, ('nature'))", "bbox": ",".join(map(str, BOX))}
    assert ogc_ids(client, params) == want
    first = get_json(client, ITEMS, "application/geo+json", query_string={**params, "limit": "2"})
    nxt = one_link(first, "next")["href"]
    assert "filter=A_OVERLAPS" in unquote_plus(nxt) and first["numberMatched"] == len(want)


def test_bases_take_filters(client, base_features):
    want = sorted(f["properties"]["number"] for f in base_features if f["properties"]["number"] <= 4)
    doc = get_json(client, "/ogc/collections/bases/items", "application/geo+json",
                   query_string={"filter": "number <= 4 AND S_INTERSECTS(geometry, BBOX(119, 27, 121, 29))"})
    assert [f["properties"]["number"] for f in doc["features"]] == want == [1, 2, 3, 4]


# --------------------------------------------------------------------------- parity with /api/sites

def _vocabulary_cases():
    for prop, param, function, terms in (("genres", "genre", "A_OVERLAPS", vocab.GENRES),
                                         ("terrain", "terrain", "A_OVERLAPS", vocab.TERRAIN),
                                         ("facilities", "facility", "A_CONTAINS", vocab.FACILITIES)):
        slugs = list(terms)
        for term in slugs:
            yield f"{function}({prop}, ('{term}'))", f"{param}={term}"
        yield f"{function}({prop}, ('{slugs[0]}', '{slugs[1]}'))", f"{param}={slugs[0]},{slugs[1]}"


VOCABULARY_CASES = list(_vocabulary_cases())


def test_every_vocabulary_term_gives_the_api_answer(client):
    nonempty = 0
    for cql, params in VOCABULARY_CASES:
        expected = api_sites(client, params)
        assert ogc_ids(client, {"filter": cql}) == ids(expected), (cql, params)
        # Nearest first around a point: the same order too.
        near = {"near": "120.087835,27.792163", "radius_km": "30"}
        expected_near = api_sites(client, f"{params}&near={near['near']}&radius_km={near['radius_km']}")
        got = get_json(client, ITEMS, "application/geo+json", query_string={"limit": "1000", "filter": cql, **near})
        assert ids(got) == ids(expected_near), (cql, "near")
        nonempty += bool(expected["numberMatched"])
    assert nonempty > len(VOCABULARY_CASES) // 2  # the comparison is not between empty answers


@pytest.mark.parametrize("cql,query", [
    ("A_OVERLAPS(genres, ('nature', 'red'))", SiteQuery(genres=("nature", "red"))),
    ("A_OVERLAPS(terrain, ('waterfall'))", SiteQuery(terrain=("waterfall",))),
    ("A_CONTAINS(facilities, ('parking', 'toilets'))", SiteQuery(facilities=("parking", "toilets"))),
])
def test_array_functions_are_the_api_query_itself(cql, query):
    """The same SQL as /api/sites' filter (the tag index's IN list), so Part 3 costs what the API path costs."""
    def sql(conds) -> str:
        stmt = select(Site.id).where(*conds)
        return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    dialect = SpatialDialect("postgis")
    via_cql = site_conditions(SiteQuery(cql=parse_filter(cql, "cql2-text", "sites")), dialect, None)
    via_api = site_conditions(query, dialect, None)
    assert sql(via_cql) == sql(via_api)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("params,name,reason", [
    ({"filter": "colour = 'red'"}, "filter", "unknown property 'colour'"),
    ({"filter": "T_AFTER(updated_at, TIMESTAMP('2024-01-01T00:00:00Z'))"}, "filter", "'T_AFTER' is not supported"),
    ({"filter": "S_CROSSES(geometry, BBOX(119, 27, 121, 29))"}, "filter", "'S_CROSSES' is not supported"),
    ({"filter": "elevation_m = 'high'"}, "filter", "'elevation_m' is a number"),
    ({"filter": "A_OVERLAPS(genres, ('horror'))"}, "filter", "unknown genres term 'horror'"),
    ({"filter": "A_OVERLAPS(elevation_m, ('x'))"}, "filter", "needs an array property"),
    ({"filter": "elevation_m + 1 > 3"}, "filter", "expected a property"),
    ({"filter": "S_INTERSECTS(geometry, POINT(27.8 120.1))"}, "filter", "longitude comes first"),
    ({"filter": "name_en LIKE"}, "filter", "is not valid cql2-text"),
    ({"filter": "{\"op\": \"=\"", "filter-lang": "cql2-json"}, "filter", "is not valid cql2-json"),
    # The parser recurses natively: deep nesting is refused before it parses (sizes that fit in a URL; the app
    # answers 414 past MAX_URL_LENGTH, and test_filters_past_a_url_s_length_are_refused_by_the_core goes further).
    ({"filter": "(" * 1000 + "elevation_m > 1" + ")" * 1000}, "filter", "nests too deeply (1000 levels"),
    ({"filter": "NOT " * 1000 + "elevation_m > 1"}, "filter", "nests too deeply"),
    ({"filter": "-" * 5000 + "1 = elevation_m"}, "filter", "nests too deeply"),
    ({"filter": "elevation_m - " * 400 + "1 > 3"}, "filter", "nests too deeply"),
    ({"filter": '{"op":"not","args":[]}', "filter-lang": "cql2-json"}, "filter", "wrong number or kind of arguments"),
    ({"filter": '{"op":"in","args":[{"property":"base"},"abc"]}', "filter-lang": "cql2-json"}, "filter",
     "IN needs a non-empty list"),
    ({"filter": "genres = 'nature'", "filter-lang": "ecql"}, "filter-lang", "unknown filter language 'ecql'"),
    ({"filter-lang": "cql-text"}, "filter-lang", "unknown filter language"),
    ({"crs": "EPSG:2385"}, "crs", "unsupported CRS 'EPSG:2385'"),
    ({"filter": "S_INTERSECTS(geometry, POINT(120 27))", "filter-crs": "EPSG:2000"}, "filter-crs", "unsupported CRS"),
    ({"bbox": "1,2,3,4", "bbox-crs": "EPSG:4479"}, "bbox-crs", "unsupported CRS"),
    ({"bbox": "-1e30,0,1e30,1", "bbox-crs": "EPSG:3857"}, "bbox", "out of range"),
    ({"genres": "nature", "genre": "red"}, "genres", "another name for genre"),
])
def test_bad_filters_and_crs_are_400_naming_them(client, params, name, reason):
    body = get_json(client, ITEMS, "application/problem+json", 400, query_string=params)
    assert body["invalid-params"][0]["name"] == name
    assert reason in body["detail"], body["detail"]


def test_bases_have_their_own_queryables(client):
    body = get_json(client, "/ogc/collections/bases/items", "application/problem+json", 400,
                    query_string={"filter": "A_OVERLAPS(genres, ('nature'))"})
    assert "unknown property 'genres'" in body["detail"]


# --------------------------------------------------------------------------- Part 2: CRS

def test_collections_offer_cgcs2000(client):
    for collection in get_json(client, "/ogc/collections")["collections"]:
        assert collection["crs"] == [CRS84, EPSG + "4326", EPSG + "4490", EPSG + "3857"]
        assert collection["storageCrs"] == CRS84
        html = get(client, f"/ogc/collections/{collection['id']}?f=html", "text/html").get_data(as_text=True)
        assert f"{EPSG}4490" in html and f"/ogc/collections/{collection['id']}/queryables" in html


@pytest.mark.parametrize("collection", ["sites", "bases"])
def test_crs_answers_in_the_authority_axis_order(client, collection):
    url = f"/ogc/collections/{collection}/items"
    plain = get(client, url, "application/geo+json", query_string={"limit": "50"})
    assert plain.headers["Content-Crs"] == f"<{CRS84}>"
    lonlat = [f["geometry"]["coordinates"] for f in plain.get_json()["features"]]
    for code in ("4326", "4490"):
        resp = get(client, url, "application/geo+json", query_string={"limit": "50", "crs": EPSG + code})
        assert resp.headers["Content-Crs"] == f"<{EPSG}{code}>"
        latlon = [f["geometry"]["coordinates"] for f in resp.get_json()["features"]]
        # Latitude first; CGCS2000 and WGS-84 treated as equal (well under a metre here).
        assert latlon == [pytest.approx([lat, lon], abs=1e-9) for lon, lat in lonlat]
    mercator = get(client, url, "application/geo+json", query_string={"limit": "50", "crs": "EPSG:3857"})
    assert mercator.headers["Content-Crs"] == f"<{EPSG}3857>"
    radius = 6378137.0
    assert [f["geometry"]["coordinates"] for f in mercator.get_json()["features"]] == [
        pytest.approx([radius * math.radians(lon), radius * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))],
                      abs=0.01) for lon, lat in lonlat]


def test_single_item_in_cgcs2000(client):
    plain = get_json(client, f"{ITEMS}/3", "application/geo+json")
    resp = get(client, f"{ITEMS}/3?crs=[EPSG:4490]", "application/geo+json")
    lon, lat = plain["geometry"]["coordinates"]
    assert resp.get_json()["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-9)
    assert resp.headers["Content-Crs"] == f"<{EPSG}4490>"


def test_filter_crs(client, all_sites):
    """Geometries in a filter may be given in CGCS2000 (latitude first) or Web Mercator with filter-crs."""
    want = [f["id"] for f in all_sites if Polygon(TRIANGLE).intersects(Point(f["geometry"]["coordinates"]))]
    assert 0 < len(want) < 35
    lat_first = ", ".join(f"{lat} {lon}" for lon, lat in (*TRIANGLE, TRIANGLE[0]))
    assert ogc_ids(client, {"filter": f"S_INTERSECTS(geometry, POLYGON(({lat_first})))",
                            "filter-crs": EPSG + "4490"}) == want
    radius = 6378137.0
    minx, miny, maxx, maxy = BOX
    x = [radius * math.radians(v) for v in (minx, maxx)]
    y = [radius * math.log(math.tan(math.pi / 4 + math.radians(v) / 2)) for v in (miny, maxy)]
    boxed = ogc_ids(client, {"bbox": ",".join(map(str, BOX))})
    assert ogc_ids(client, {"filter": f"S_INTERSECTS(geometry, BBOX({x[0]}, {y[0]}, {x[1]}, {y[1]}))",
                            "filter-crs": "EPSG:3857"}) == boxed
    # Longitude first in EPSG:4490 puts 120 on the latitude axis: out of range, and said so.
    body = get_json(client, ITEMS, "application/problem+json", 400, query_string={
        "filter": "S_INTERSECTS(geometry, POINT(120.1 27.8))", "filter-crs": EPSG + "4490"})
    assert "axis order of filter-crs" in body["detail"]


def test_bbox_crs(client):
    minx, miny, maxx, maxy = BOX
    want = ogc_ids(client, {"bbox": ",".join(map(str, BOX))})
    assert 0 < len(want) < 35
    for code in ("4326", "4490"):  # latitude first
        assert ogc_ids(client, {"bbox": f"{miny},{minx},{maxy},{maxx}", "bbox-crs": EPSG + code}) == want
    radius = 6378137.0
    x = [radius * math.radians(v) for v in (minx, maxx)]
    y = [radius * math.log(math.tan(math.pi / 4 + math.radians(v) / 2)) for v in (miny, maxy)]
    assert ogc_ids(client, {"bbox": f"{x[0]},{y[0]},{x[1]},{y[1]}", "bbox-crs": "EPSG:3857"}) == want


# --------------------------------------------------------------------------- real clients

GDAL_READER = r"""
import json, sys
import pyogrio

url = sys.argv[1]

def rows(**kwargs):
    frame = pyogrio.read_dataframe(url, layer="sites", fid_as_index=True, **kwargs)
    return [{"id": int(fid), "lon": row.geometry.x, "lat": row.geometry.y} for fid, row in frame.iterrows()]

print(json.dumps({
    "genre": rows(where="genres = 'nature'"),
    "terrain": rows(where="terrain = 'waterfall'"),
    "base_high": rows(where="base = 'baizhangji-nature' AND elevation_m > 300"),
    "crs84": rows(),
    "cgcs2000": rows(CRS="EPSG:4490"),
    "cgcs2000_bbox": rows(CRS="EPSG:4490", bbox=(119.85, 27.75, 120.05, 27.95)),
}))
"""


def test_gdal_sends_filters_to_the_server_and_reads_cgcs2000(app, client, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    with serve(app) as base:
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
               "GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF"}
        proc = subprocess.run([sys.executable, "-c", GDAL_READER, f"OAPIF:{base}/ogc"],
                              capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    read = json.loads(proc.stdout)
    log = [unquote_plus(r.getMessage()) for r in caplog.records if "/ogc/collections/sites/items" in r.getMessage()]

    # GDAL 3.12 sends an equality on a property that is also a documented items parameter as property=value
    # (Part 1); the server answers it, so GDAL gets exactly the API's sites.
    for key, sent, api in (("genre", "genres=nature", "genre=nature"), ("terrain", "terrain=waterfall", "terrain=waterfall")):
        assert any(sent in line for line in log), (sent, log)
        assert sorted(r["id"] for r in read[key]) == ids(api_sites(client, api))
    # The part GDAL cannot send (elevation_m > 300) it evaluates itself on what the server filtered by base.
    assert any("base=baizhangji-nature" in line for line in log)
    expected = api_sites(client, "base=baizhangji-nature&elev_min=300.0001")
    assert 0 < expected["numberMatched"] and sorted(r["id"] for r in read["base_high"]) == ids(expected)

    # crs=EPSG:4490 was asked for, and the CGCS2000 read lands within a metre of the CRS84 read.
    assert any(f"crs={EPSG}4490" in line for line in log)
    crs84 = {r["id"]: r for r in read["crs84"]}
    assert len(crs84) == 35 and sorted(crs84) == sorted(r["id"] for r in read["cgcs2000"])
    geod = Geod(ellps="WGS84")
    for row in read["cgcs2000"]:
        ref = crs84[row["id"]]
        assert 119 < row["lon"] < 121 and 27 < row["lat"] < 29  # GDAL put longitude first again
        assert geod.inv(ref["lon"], ref["lat"], row["lon"], row["lat"])[2] < 1.0
    # A spatial filter on the EPSG:4490 layer goes out as a latitude-first bbox with bbox-crs, and finds the box's sites.
    assert any("bbox=27.75,119.8" in line and f"bbox-crs={EPSG}4490" in line for line in log), log
    boxed = ids(api_sites(client, "bbox=" + ",".join(map(str, BOX))))
    assert 0 < len(boxed) < 35 and sorted(r["id"] for r in read["cgcs2000_bbox"]) == boxed


def test_owslib_reads_queryables_and_a_filtered_page(app, client, monkeypatch, caplog):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    caplog.set_level(logging.INFO, logger="werkzeug")
    with serve(app) as base:
        api = Features(f"{base}/ogc")
        assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in api.conformance()["conformsTo"]
        queryables = api.collection_queryables("sites")
        page = api.collection_items("sites", filter="A_OVERLAPS(genres, ('nature')) AND elevation_m >= 300",
                                    limit=2, **{"filter-lang": "cql2-text"})
        json_page = api.collection_items(
            "sites", limit=50, **{"filter-lang": "cql2-json", "filter": json.dumps(
                {"op": "a_contains", "args": [{"property": "facilities"}, ["villas"]]})})
    assert queryables["properties"]["genres"]["items"]["enum"] == list(vocab.GENRES)
    expected = api_sites(client, "genre=nature&elev_min=300")
    assert page["numberMatched"] == expected["numberMatched"] > 0
    assert [f["id"] for f in page["features"]] == ids(expected)[:2]
    villas = ids(api_sites(client, "facility=villas"))
    assert villas and [f["id"] for f in json_page["features"]] == villas
    assert any("filter=A_OVERLAPS" in unquote_plus(r.getMessage()) for r in caplog.records)


@pytest.mark.parametrize("raw, reason", [
    ("x" * (MAX_FILTER + 1), f"at most {MAX_FILTER}"),
    ("(" * 5000 + "elevation_m > 1" + ")" * 5000, "nests too deeply (5000 levels"),
    ("NOT " * 3000 + "elevation_m > 1", "nests too deeply"),
    ("-" * 19_000 + "1 = elevation_m", "nests too deeply"),
    ("elevation_m - " * 1300 + "1 > 3", "nests too deeply"),
])
def test_filters_past_a_url_s_length_are_refused_by_the_core(raw, reason):
    """No URL brings these (the app answers 414 first), but the core never hands them to the parser either."""
    with pytest.raises(InvalidParameter) as refused:
        parse_filter(raw, "cql2-text", "sites")
    assert refused.value.name == "filter" and reason in str(refused.value), str(refused.value)
