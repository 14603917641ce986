"""OGC API – Features (Part 1 Core) under /ogc: its documents, its items (the same query as /api/sites),
HTML and content negotiation, errors, and a real client: GDAL's OAPIF driver through pyogrio."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from markupsafe import escape
from openapi_spec_validator import OpenAPIV30SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from sqlalchemy import select

from scouting import vocab
from scouting.geodata import load_geodata
from scouting.models import Site
from tests.browser import serve

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ITEMS = "/ogc/collections/sites/items"
GDAL_BBOX = (119.85, 27.75, 120.05, 27.95)
SITE_FILTERS = {"genre", "terrain", "facility", "facility_status", "base", "q", "near", "radius_km", "elev_min",
                "elev_max", "genres", "facilities"}
PARTS_2_AND_3 = {"crs", "bbox-crs", "filter", "filter-lang", "filter-crs"}


def local(url: str) -> str:
    """A link's href as a path for the test client (links are absolute)."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "localhost", url
    return parts.path + ("?" + parts.query if parts.query else "")


def get(client, url: str, mimetype: str, status: int = 200, **kw):
    resp = client.get(url, **kw)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == mimetype, (url, resp.mimetype)
    return resp


def get_json(client, url: str, mimetype: str = "application/json", status: int = 200, **kw) -> dict:
    return json.loads(get(client, url, mimetype, status, **kw).get_data(as_text=True))


def links(doc: dict, rel: str) -> list[dict]:
    return [link for link in doc["links"] if link["rel"] == rel]


def one_link(doc: dict, rel: str, type_: str | None = None) -> dict:
    found = [link for link in links(doc, rel) if type_ is None or link["type"] == type_]
    assert len(found) == 1, (rel, type_, doc["links"])
    return found[0]


def api_sites(client, query: str) -> dict:
    return get_json(client, "/api/sites?" + query + ("&" if query else "") + "limit=1000", "application/geo+json")


def ids(doc: dict) -> list[int]:
    return [f["id"] for f in doc["features"]]


# --------------------------------------------------------------------------- documents

def test_landing_page(client):
    doc = get_json(client, "/ogc")
    assert doc["title"] == "Wencheng Scout — 文成外景地图"
    assert "Wencheng" in doc["description"] and "文成" in doc["description"]
    assert local(one_link(doc, "self")["href"]) == "/ogc?f=json"
    assert local(one_link(doc, "alternate", "text/html")["href"]) == "/ogc?f=html"
    assert one_link(doc, "service-desc")["type"] == "application/vnd.oai.openapi+json;version=3.0"
    # Every link leads somewhere that answers in the type it announces.
    for rel in ("self", "alternate", "service-desc", "service-doc", "conformance", "data"):
        link = one_link(doc, rel)
        expected = "application/vnd.oai.openapi+json" if rel == "service-desc" else link["type"]
        get(client, local(link["href"]), expected)
    assert client.get("/ogc/").status_code == 200


def test_conformance(client):
    doc = get_json(client, "/ogc/conformance")
    assert {CONF + c for c in ("core", "oas30", "html", "geojson")} <= set(doc["conformsTo"])
    assert one_link(doc, "self")["type"] == "application/json"


def test_collections_describe_both_with_extents_from_the_data(client, site_features, base_features):
    doc = get_json(client, "/ogc/collections")
    assert [c["id"] for c in doc["collections"]] == ["sites", "bases"]
    for collection, features in zip(doc["collections"], (site_features, base_features), strict=True):
        single = get_json(client, f"/ogc/collections/{collection['id']}")
        assert single["id"] == collection["id"] and single["extent"] == collection["extent"]
        for described in (collection, single):
            assert described["itemType"] == "feature"
            assert re.search(r"[\u4e00-\u9fff]", described["title"]) and re.search(r"[A-Za-z]", described["title"])
            assert described["description"]
            assert described["extent"]["spatial"]["crs"] == CRS84
            lons = [f["geometry"]["coordinates"][0] for f in features]
            lats = [f["geometry"]["coordinates"][1] for f in features]
            assert described["extent"]["spatial"]["bbox"] == [
                pytest.approx([min(lons), min(lats), max(lons), max(lats)], abs=1e-7)]
            geojson = one_link(described, "items", "application/geo+json")
            html = one_link(described, "items", "text/html")
            assert urlsplit(geojson["href"]).path == f"/ogc/collections/{collection['id']}/items"
            get(client, local(geojson["href"]), "application/geo+json")
            get(client, local(html["href"]), "text/html")
        assert local(one_link(single, "self")["href"]) == f"/ogc/collections/{collection['id']}?f=json"
        assert one_link(single, "alternate")["type"] == "text/html"


def test_openapi_document_is_valid_and_describes_the_filters(client):
    resp = get(client, "/ogc/api", "application/vnd.oai.openapi+json")
    assert resp.headers["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = json.loads(resp.get_data(as_text=True))
    validate(doc, cls=OpenAPIV30SpecValidator)
    assert doc["openapi"].startswith("3.0.")
    # Paths are relative to the landing page, as clients (GDAL) look them up.
    assert doc["servers"] == [{"url": "http://localhost/ogc"}]

    paths = doc["paths"]
    for path in ("/", "/conformance", "/api", "/collections", "/collections/sites", "/collections/sites/items",
                 "/collections/sites/items/{featureId}", "/collections/sites/queryables", "/collections/bases",
                 "/collections/bases/items", "/collections/bases/items/{featureId}", "/collections/bases/queryables"):
        assert "get" in paths[path], path

    def parameters(path: str) -> dict[str, dict]:
        resolved = [doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                    for p in paths[path]["get"]["parameters"]]
        return {p["name"]: p for p in resolved}

    sites = parameters("/collections/sites/items")
    assert set(sites) == {"f", "bbox", "limit", "offset"} | PARTS_2_AND_3 | SITE_FILTERS
    assert set(parameters("/collections/bases/items")) == {"f", "bbox", "limit", "offset"} | PARTS_2_AND_3
    assert set(parameters("/collections/sites/items/{featureId}")) == {"featureId", "f", "crs"}
    assert sites["genre"]["schema"]["items"]["enum"] == list(vocab.GENRES)
    assert sites["terrain"]["schema"]["items"]["enum"] == list(vocab.TERRAIN)
    assert sites["facility"]["schema"]["items"]["enum"] == list(vocab.FACILITIES)
    bases = get_json(client, "/api/bases", "application/geo+json")["features"]
    assert sites["base"]["schema"]["enum"] == [b["properties"]["slug"] for b in bases]
    assert sites["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
    assert sites["bbox"]["schema"]["minItems"] == 4 and sites["bbox"]["explode"] is False
    ok = paths["/collections/sites/items"]["get"]["responses"]["200"]["content"]["application/geo+json"]["schema"]
    collection_schema = doc["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
    assert {"type", "features", "numberMatched", "numberReturned", "links"} <= set(collection_schema["properties"])

    # The validator does reject a broken document (so the check above can fail).
    broken = copy.deepcopy(doc)
    broken["components"]["parameters"]["limit"]["in"] = "body"
    with pytest.raises(OpenAPIValidationError):
        validate(broken, cls=OpenAPIV30SpecValidator)


def test_every_documented_site_parameter_is_accepted(client):
    doc = get_json(client, "/ogc/api?f=json", "application/vnd.oai.openapi+json")
    examples = {"genre": "nature", "terrain": "waterfall", "facility": "parking", "facility_status": "verified",
                "base": "nantian-costume", "q": "瀑",
                "near": "120.08,27.79", "radius_km": "5", "elev_min": "100", "elev_max": "900", "f": "json",
                "bbox": "119.8,27.6,120.2,28", "limit": "5", "offset": "1",
                "crs": "http://www.opengis.net/def/crs/EPSG/0/4490", "bbox-crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                "filter": "A_OVERLAPS(genres, ('nature'))", "filter-lang": "cql2-text",
                "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4490", "genres": "nature",
                "facilities": "parking"}
    for param in doc["paths"]["/collections/sites/items"]["get"]["parameters"]:
        name = param.get("name") or param["$ref"].rsplit("/", 1)[1]
        query = {name: examples[name]}
        if name in ("near", "radius_km"):
            query = {"near": examples["near"], "radius_km": examples["radius_km"]}
        assert client.get(ITEMS, query_string=query).status_code == 200, name


# --------------------------------------------------------------------------- items: the JSON API's query

@pytest.mark.parametrize("query", [
    "",
    "genre=nature",
    "facility=villas,hot_spring",
    "bbox=119.85,27.75,120.05,27.95",
    "genre=red,ethnic&terrain=ancient_village",
    "q=%E7%80%91",
    "near=120.087835,27.792163&radius_km=10",
    "elev_min=300&elev_max=800",
    "base=baizhangji-nature",
    "terrain=resort&facility=villas",
])
def test_items_match_the_json_api(client, query):
    expected = api_sites(client, query)
    assert 0 < expected["numberMatched"] and (query == "" or expected["numberMatched"] < 35)
    doc = get_json(client, ITEMS + "?" + query + ("&" if query else "") + "limit=1000", "application/geo+json")
    assert doc["type"] == "FeatureCollection"
    assert doc["numberMatched"] == expected["numberMatched"]
    assert doc["numberReturned"] == len(doc["features"]) == expected["numberReturned"]
    assert ids(doc) == ids(expected)
    assert doc["features"] == expected["features"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["timeStamp"])


def test_items_page_with_next_and_prev_links_keeping_the_filters(client):
    expected = ids(api_sites(client, "genre=nature"))
    assert len(expected) > 8
    seen, url, pages = [], ITEMS + "?genre=nature&limit=4", 0
    while url:
        doc = get_json(client, url, "application/geo+json")
        pages += 1
        assert doc["numberMatched"] == len(expected)
        assert doc["numberReturned"] == len(doc["features"]) <= 4
        offset = len(seen)
        assert bool(links(doc, "prev")) == (offset > 0)
        if offset:
            prev = parse_qs(urlsplit(one_link(doc, "prev")["href"]).query)
            assert prev["offset"] == [str(offset - 4)] and prev["genre"] == ["nature"] and prev["limit"] == ["4"]
        seen += ids(doc)
        nxt = links(doc, "next")
        if nxt:
            assert nxt[0]["type"] == "application/geo+json"
            params = parse_qs(urlsplit(nxt[0]["href"]).query)
            assert params["genre"] == ["nature"] and params["limit"] == ["4"] and params["offset"] == [str(len(seen))]
            url = local(nxt[0]["href"])
        else:
            url = None
        assert pages < 20
    assert seen == expected
    assert pages == -(-len(expected) // 4)


def test_limit_default_and_clamp(client):
    assert get_json(client, ITEMS, "application/geo+json")["numberReturned"] == 35  # default 100
    doc = get_json(client, ITEMS + "?limit=5000", "application/geo+json")  # over the maximum: served as 1000
    assert doc["numberReturned"] == 35 and not links(doc, "next")
    doc = get_json(client, ITEMS + "?limit=3&offset=33", "application/geo+json")
    assert doc["numberReturned"] == 2 and not links(doc, "next") and links(doc, "prev")


def test_bbox_with_heights_ignores_them(client):
    flat = get_json(client, ITEMS + "?bbox=119.85,27.75,120.05,27.95", "application/geo+json")
    tall = get_json(client, ITEMS + "?bbox=119.85,27.75,-100,120.05,27.95,5000", "application/geo+json")
    assert ids(flat) == ids(tall) and 0 < flat["numberMatched"] < 35


def test_base_items_and_bbox(client, base_features):
    doc = get_json(client, "/ogc/collections/bases/items", "application/geo+json")
    assert doc["numberMatched"] == doc["numberReturned"] == len(base_features) == 10
    assert [f["properties"]["slug"] for f in doc["features"]] == [f["properties"]["slug"] for f in base_features]
    assert doc["features"] == get_json(client, "/api/bases", "application/geo+json")["features"]
    minx, miny, maxx, maxy = GDAL_BBOX
    inside = [f["properties"]["slug"] for f in base_features
              if minx <= f["geometry"]["coordinates"][0] <= maxx and miny <= f["geometry"]["coordinates"][1] <= maxy]
    assert 0 < len(inside) < 10
    boxed = get_json(client, "/ogc/collections/bases/items?bbox=" + ",".join(map(str, GDAL_BBOX)), "application/geo+json")
    assert [f["properties"]["slug"] for f in boxed["features"]] == inside
    page = get_json(client, "/ogc/collections/bases/items?limit=3&offset=3", "application/geo+json")
    assert [f["properties"]["number"] for f in page["features"]] == [4, 5, 6]
    assert links(page, "next") and links(page, "prev")


def test_single_items(client):
    site = get_json(client, "/api/sites?limit=1&offset=5", "application/geo+json")["features"][0]
    doc = get_json(client, f"{ITEMS}/{site['id']}", "application/geo+json")
    assert {k: doc[k] for k in ("type", "id", "geometry", "properties")} == site
    assert local(one_link(doc, "self")["href"]) == f"{ITEMS}/{site['id']}?f=json"
    assert local(one_link(doc, "collection")["href"]) == "/ogc/collections/sites?f=json"
    assert one_link(doc, "alternate")["type"] == "text/html"
    base = get_json(client, "/api/bases", "application/geo+json")["features"][2]
    doc = get_json(client, f"/ogc/collections/bases/items/{base['id']}", "application/geo+json")
    assert {k: doc[k] for k in ("type", "id", "geometry", "properties")} == base


@pytest.mark.parametrize("url", [
    "/ogc/collections/films",
    "/ogc/collections/films/items",
    "/ogc/collections/films/items/1",
    f"{ITEMS}/99999",
    f"{ITEMS}/abc",
    f"{ITEMS}/-1",
    "/ogc/collections/bases/items/999",
    "/ogc/nothing-here",
])
def test_not_found_is_problem_json(client, url):
    body = get_json(client, url, "application/problem+json", 404)
    assert body["status"] == 404 and body["title"]
    assert get(client, url, "text/html", 404, headers={"Accept": BROWSER})


@pytest.mark.parametrize("url,param,reason", [
    (ITEMS + "?bbox=1,2,3", "bbox", "4 comma-separated numbers"),
    (ITEMS + "?bbox=a,b,c,d", "bbox", "'a' is not a number"),
    (ITEMS + "?bbox=120.2,27.6,119.8,27.9", "bbox", "minLon 120.2 is greater than maxLon"),
    (ITEMS + "?bbox=119.8,27.6,120.2,97", "bbox", "latitude 97 is out of range"),
    (ITEMS + "?foo=1", "foo", "unknown parameter"),
    (ITEMS + "?area=119.9,27.7,120,27.7,120,27.8", "area", "unknown parameter"),
    (ITEMS + "?datetime=2024-01-01T00:00:00Z", "datetime", "unknown parameter"),
    (ITEMS + "?genre=horror", "genre", "unknown term 'horror'"),
    (ITEMS + "?limit=0", "limit", "0 is out of range 1..1000"),
    (ITEMS + "?limit=ten", "limit", "not a whole number"),
    (ITEMS + "?offset=-1", "offset", "-1 is out of range 0.."),
    (ITEMS + "?near=120.08,27.79", "near", "needs radius_km"),
    (ITEMS + "?f=xml", "f", "use json or html"),
    ("/ogc/collections/bases/items?genre=nature", "genre", "unknown parameter"),
    ("/ogc/collections/bases/items?bbox=1,2", "bbox", "4 comma-separated numbers"),
    ("/ogc?foo=bar", "foo", "unknown parameter"),
    (f"{ITEMS}/1?limit=3", "limit", "unknown parameter"),
])
def test_bad_parameters_are_400_problem_json(client, url, param, reason):
    body = get_json(client, url, "application/problem+json", 400)
    assert body["invalid-params"][0]["name"] == param
    assert reason in body["detail"]
    # A browser gets the error as a page; f=json still gets problem+json.
    if "f=" not in url:
        assert get(client, url, "text/html", 400, headers={"Accept": BROWSER})
        sep = "&" if "?" in url else "?"
        get(client, url + sep + "f=json", "application/problem+json", 400, headers={"Accept": BROWSER})


# --------------------------------------------------------------------------- HTML and negotiation

@pytest.mark.parametrize("path,json_type", [
    ("/ogc", "application/json"),
    ("/ogc/conformance", "application/json"),
    ("/ogc/collections", "application/json"),
    ("/ogc/collections/sites", "application/json"),
    (ITEMS, "application/geo+json"),
    (f"{ITEMS}/1", "application/geo+json"),
    ("/ogc/api", "application/vnd.oai.openapi+json"),
])
def test_accept_negotiation(client, path, json_type):
    sep = "&" if "?" in path else "?"
    get(client, path, json_type)  # no Accept header
    get(client, path, json_type, headers={"Accept": "*/*"})  # GDAL, curl
    get(client, path, json_type, headers={"Accept": "application/json"})
    get(client, path, json_type, headers={"Accept": "application/geo+json"})
    get(client, path, json_type, headers={"Accept": "application/geo+json, application/json"})
    get(client, path, json_type, headers={"Accept": "text/html;q=0.5, application/json"})
    get(client, path, "text/html", headers={"Accept": BROWSER})
    get(client, path, "text/html", headers={"Accept": "text/html"})
    get(client, path + sep + "f=json", json_type, headers={"Accept": BROWSER})
    get(client, path + sep + "f=html", "text/html", headers={"Accept": "application/json"})


def test_html_lists_every_site_escaped(client, site_features):
    html = get(client, ITEMS + "?f=html", "text/html").get_data(as_text=True)
    english = get(client, ITEMS + "?f=html&lang=en", "text/html").get_data(as_text=True)
    for feature in site_features:
        props = feature["properties"]
        assert str(escape(props["name_zh"])) in html, "the Chinese page names each site in Chinese"
        assert str(escape(props["name_en"])) in english, "the English page in English"
    for feature in get_json(client, ITEMS, "application/geo+json")["features"]:
        assert f'href="/ogc/collections/sites/items/{feature["id"]}?f=html"' in html
    n = len(site_features)
    assert f"共 {n} 条匹配，显示第 1–{n} 条。" in html, "the count line says how many matched"
    assert f"{n} match; showing 1–{n}." in english


def test_html_escapes_what_it_echoes(client):
    hostile = '<script>alert("x")</script>'
    resp = get(client, ITEMS, "text/html", query_string={"q": hostile, "f": "html"})
    html = resp.get_data(as_text=True)
    assert "<script>" not in html and str(escape(hostile)) in html


def test_html_pages_link_through(client):
    html = get(client, ITEMS + "?genre=nature&limit=5&f=html", "text/html").get_data(as_text=True)
    nxt = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    params = parse_qs(urlsplit(nxt).query)
    assert params == {"genre": ["nature"], "limit": ["5"], "offset": ["5"], "f": ["html"]}
    second = get(client, local(nxt), "text/html").get_data(as_text=True)
    assert 'rel="prev"' in second
    site = get_json(client, f"{ITEMS}/1", "application/geo+json")
    page = get(client, f"{ITEMS}/1?f=html", "text/html").get_data(as_text=True)
    assert str(escape(site["properties"]["name_zh"])) in page
    page = get(client, f"{ITEMS}/1?f=html&lang=en", "text/html").get_data(as_text=True)
    assert str(escape(site["properties"]["name_en"])) in page
    for path in ("/ogc", "/ogc/collections", "/ogc/collections/bases", "/ogc/conformance", "/ogc/api"):
        page = get(client, path + "?f=html", "text/html").get_data(as_text=True)
        assert "<h1>" in page and "?f=json" in page, path
    api = get(client, "/ogc/api?f=html", "text/html").get_data(as_text=True)
    assert "/ogc/collections/sites/items" in api and "ancient_village" in api


# --------------------------------------------------------------------------- staff-only fields

def test_staff_notes_are_never_served(fresh_app):
    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        site = session.scalars(select(Site).order_by(Site.id)).first()
        site.permit_notes = "SECRET-PERMIT-7"
        site.contact_notes = "SECRET-CONTACT-7"
        session.commit()
        site_id = site.id
    client = fresh_app.test_client()
    for url in (ITEMS, f"{ITEMS}/{site_id}", ITEMS + "?f=html", f"{ITEMS}/{site_id}?f=html", ITEMS + "?q=SECRET"):
        text = client.get(url).get_data(as_text=True)
        for secret in ("SECRET-PERMIT-7", "SECRET-CONTACT-7", "permit_notes", "contact_notes"):
            assert secret not in text, (url, secret)
    assert client.get(ITEMS + "?q=SECRET").get_json()["numberMatched"] == 0


# --------------------------------------------------------------------------- GDAL (OAPIF driver)

# pyogrio holds the GIL while GDAL fetches pages, so a server thread in this process could never answer:
# GDAL runs in a child process and reports what it read as JSON.
GDAL_READER = r"""
import json, sys
import pyogrio

url, bbox = sys.argv[1], tuple(float(v) for v in sys.argv[2].split(","))

def rows(**kwargs):
    frame = pyogrio.read_dataframe(url, fid_as_index=True, **kwargs)
    return [{"id": int(fid), "name_zh": row["name_zh"], "name_en": row["name_en"], "type": row.geometry.geom_type,
             "lon": row.geometry.x, "lat": row.geometry.y} for fid, row in frame.iterrows()]

print(json.dumps({
    "layers": [[str(name), str(kind)] for name, kind in pyogrio.list_layers(url)],
    "sites": rows(layer="sites"),
    "sites_bbox": rows(layer="sites", bbox=bbox),
    "sites_paged": rows(layer="sites", PAGE_SIZE=7),  # GDAL follows the next links 7 at a time
    "bases": rows(layer="bases"),
}))
"""


def test_gdal_reads_the_collections(app, client):
    with serve(app) as base:
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
               "GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF"}
        proc = subprocess.run([sys.executable, "-c", GDAL_READER, f"OAPIF:{base}/ogc", ",".join(map(str, GDAL_BBOX))],
                              capture_output=True, text=True, timeout=100, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    read = json.loads(proc.stdout)

    assert sorted(read["layers"]) == [["bases", "Point"], ["sites", "Point"]]
    expected = api_sites(client, "")
    assert len(read["sites"]) == expected["numberMatched"] == 35
    by_id = {f["id"]: f for f in expected["features"]}
    for rows in (read["sites"], read["sites_paged"]):
        assert sorted(r["id"] for r in rows) == sorted(by_id)
        for row in rows:
            feature = by_id[row["id"]]
            assert row["type"] == "Point"
            assert (row["name_zh"], row["name_en"]) == (feature["properties"]["name_zh"], feature["properties"]["name_en"])
            assert row["lon"] == pytest.approx(feature["geometry"]["coordinates"][0], abs=1e-7)
            assert row["lat"] == pytest.approx(feature["geometry"]["coordinates"][1], abs=1e-7)

    boxed = api_sites(client, "bbox=" + ",".join(map(str, GDAL_BBOX)))
    assert 0 < boxed["numberMatched"] < 35
    assert sorted(r["id"] for r in read["sites_bbox"]) == sorted(ids(boxed))

    bases = get_json(client, "/api/bases", "application/geo+json")["features"]
    assert len(read["bases"]) == 10
    assert sorted((r["id"], r["name_zh"]) for r in read["bases"]) == sorted(
        (f["id"], f["properties"]["name_zh"]) for f in bases)
