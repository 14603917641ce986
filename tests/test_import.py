"""Bulk import: every format written by a real writer and round-tripped through POST /api/import, dry run versus
one-transaction commit, duplicates and updates, hostile files, roles, and `flask import`.  Both databases.

Fixture files are made here, in tmp_path, with the writers people's tools use (json, gpxpy, csv, geopandas/GDAL,
zipfile); pyogrio is imported by the app (scouting.db) before any SpatiaLite connection, so GDAL is safe in-process.
"""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import geopandas
import gpxpy
import gpxpy.gpx
import prcoords
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point
from sqlalchemy import func, select

from scouting import vocab
from scouting.imports.report import TABLE_EVERY_ROW_UP_TO
from scouting.models import Site, SiteRevision

from .helpers import auth

GEOD = Geod(ellps="WGS84")
KML_NS = "http://www.opengis.net/kml/2.2"
# Two new places inside the county: the WGS-84 truth every format must land on.
NEW = [
    {"name_zh": "测试竹林", "name_en": "Test Bamboo Grove", "lon": 120.0612, "lat": 27.7634,
     "genres": ["nature", "wuxia"]},
    {"name_zh": "测试古村", "name_en": "Test Old Village", "lon": 120.0987, "lat": 27.7211,
     "genres": ["costume", "ming_qing"]},
]
FALLS = {"slug": "baizhangji-falls", "name_zh": "百丈漈瀑布", "name_en": "Baizhangji Falls", "lon": 120.084204, "lat": 27.792662}


# --------------------------------------------------------------------------- fixtures and helpers

def post_import(client, path: Path | bytes, filename: str | None = None, role: str | None = "planner", **params):
    content = path.read_bytes() if isinstance(path, Path) else path
    url = "/api/import" + ("?" + urlencode(params) if params else "")
    headers = auth(client, role) if role else {}
    return client.post(url, data={"file": (io.BytesIO(content), filename or path.name)}, headers=headers,
                       content_type="multipart/form-data")


def counts(client) -> tuple[int, int]:
    """Sites (deleted ones too) and revisions: an import that must write nothing leaves both alone."""
    with client.application.extensions["scouting"]["sessionmaker"]() as session:
        return (session.scalar(select(func.count()).select_from(Site)),
                session.scalar(select(func.count()).select_from(SiteRevision)))


def found(client, text: str) -> list[dict]:
    return client.get("/api/sites?" + urlencode({"q": text, "limit": 1000})).get_json()["features"]


def metres(lon1, lat1, lon2, lat2) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def moved(lon, lat, azimuth, distance) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, distance)
    return lon2, lat2


def healthy(client) -> None:
    assert client.get("/healthz").status_code == 200


def feature(lon, lat, **props):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def geojson_file(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- each format, written by a real writer

def make_geojson(tmp: Path):
    feats = [feature(s["lon"], s["lat"], name_zh=s["name_zh"], name_en=s["name_en"], genres=s["genres"]) for s in NEW]
    return geojson_file(tmp / "places.geojson", feats), {}, NEW


def _kml(tmp: Path) -> str:
    marks = "".join(
        f"<Placemark><name>{s['name_zh']}</name><description><![CDATA[<p>拍摄地 <b>{s['name_en']}</b></p>]]></description>"
        f"<ExtendedData><Data name=\"name_en\"><value>{s['name_en']}</value></Data>"
        f"<Data name=\"genres\"><value>{'、'.join(LABELS_ZH[g] for g in s['genres'])}</value></Data></ExtendedData>"
        f"<Point><coordinates>{s['lon']!r},{s['lat']!r},0</coordinates></Point></Placemark>" for s in NEW)
    return (f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="{KML_NS}"><Document><name>奥维收藏</name>'
            f"<Folder><name>外景</name>{marks}</Folder></Document></kml>")


def make_kml(tmp: Path):
    path = tmp / "ovital.kml"
    path.write_text(_kml(tmp), encoding="utf-8")
    return path, {}, NEW


def make_kmz(tmp: Path):
    path = tmp / "google-earth.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", _kml(tmp))
        zf.writestr("files/icon.png", b"\x89PNG\r\n\x1a\n" + bytes(64))
    return path, {}, NEW


def make_gpx(tmp: Path):
    gpx = gpxpy.gpx.GPX()
    for s in NEW:
        gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(latitude=s["lat"], longitude=s["lon"], elevation=412.5,
                                                   name=f"{s['name_zh']} ({s['name_en']})",
                                                   description=s["name_en"] + " at dawn"))
    path = tmp / "garmin.gpx"
    path.write_text(gpx.to_xml(), encoding="utf-8")
    # A GPX waypoint has one name, "中文 (English)" here; a GPX has no genres: they come from genre_default.
    expected = [s | {"genres": ["nature"]} for s in NEW]
    return path, {"genre_default": "nature"}, expected


def make_csv_gcj02(tmp: Path):
    path = tmp / "amap-points.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["名称", "name_en", "经度", "纬度", "题材", "海拔"])
        for s in NEW:
            glat, glon = prcoords.wgs_gcj((s["lat"], s["lon"]))
            assert metres(s["lon"], s["lat"], glon, glat) > 100  # the datum matters: GCJ-02 is hundreds of metres off
            out.writerow([s["name_zh"], s["name_en"], repr(glon), repr(glat), "、".join(LABELS_ZH[g] for g in s["genres"]), "350"])
    return path, {"datum": "gcj02"}, NEW


def make_gpkg_3857(tmp: Path):
    path = tmp / "survey.gpkg"
    frame = geopandas.GeoDataFrame(
        {"name_zh": [s["name_zh"] for s in NEW], "name_en": [s["name_en"] for s in NEW],
         "genres": [",".join(s["genres"]) for s in NEW], "coord_accuracy_m": [5, 5], "position_method": ["surveyed"] * 2},
        geometry=[Point(s["lon"], s["lat"]) for s in NEW], crs="EPSG:4326").to_crs("EPSG:3857")
    assert abs(frame.geometry.iloc[0].x) > 1e6  # really metres, not degrees
    frame.to_file(path, driver="GPKG", layer="places", engine="pyogrio")
    roads = geopandas.GeoDataFrame({"name": ["road"]}, geometry=[LineString([(1.336e7, 3.22e6), (1.337e7, 3.23e6)])],
                                   crs="EPSG:3857")
    roads.to_file(path, driver="GPKG", layer="roads", engine="pyogrio", mode="a")
    return path, {"layer": "places"}, NEW


def make_shapefile_zip(tmp: Path):
    shp_dir = tmp / "shp"
    shp_dir.mkdir()
    frame = geopandas.GeoDataFrame(
        {"name_zh": [s["name_zh"] for s in NEW], "name_en": [s["name_en"] for s in NEW],
         "genres": ["; ".join(LABELS_EN[g] for g in s["genres"]) for s in NEW]},
        geometry=[Point(s["lon"], s["lat"]) for s in NEW], crs="EPSG:4326").to_crs("EPSG:4549")  # CGCS2000 / 3-degree GK 120E
    frame.to_file(shp_dir / "景点.shp", engine="pyogrio", encoding="UTF-8")
    path = tmp / "arcgis-export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(shp_dir.iterdir()):
            zf.write(part, f"export/{part.name}")
    return path, {}, NEW


LABELS_ZH = {slug: term.zh for slug, term in vocab.GENRES.items()}
LABELS_EN = {slug: term.en for slug, term in vocab.GENRES.items()}
FORMATS = {"geojson": make_geojson, "kml": make_kml, "kmz": make_kmz, "gpx": make_gpx, "csv": make_csv_gcj02,
           "gpkg": make_gpkg_3857, "shapefile": make_shapefile_zip}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_dry_run_then_commit(writer, tmp_path, fmt):
    path, params, expected = FORMATS[fmt](tmp_path)
    before = counts(writer)

    dry = post_import(writer, path, **params)
    assert dry.status_code == 200, dry.get_json()
    report = dry.get_json()
    assert report["format"] == fmt and report["dry_run"] is True and report["committed"] is False
    assert [r["action"] for r in report["rows"]] == ["create", "create"], report["rows"]
    assert report["totals"] == {"rows": 2, "create": 2, "update": 0, "unchanged": 0, "duplicate": 0, "invalid": 0,
                                     "written": 0}
    assert report["defaults"]["coord_source"] == f"import: {path.name}"
    assert counts(writer) == before
    assert found(writer, expected[0]["name_zh"]) == []

    done = post_import(writer, path, commit="true", **params)
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["committed"] is True and done.get_json()["totals"]["written"] == 2
    assert counts(writer) == (before[0] + 2, before[1] + 2)
    for want, row in zip(expected, done.get_json()["rows"], strict=True):
        hits = found(writer, want["name_zh"])
        assert len(hits) == 1, hits
        props, (lon, lat) = hits[0]["properties"], hits[0]["geometry"]["coordinates"]
        assert (props["name_zh"], props["name_en"]) == (want["name_zh"], want["name_en"])
        assert metres(want["lon"], want["lat"], lon, lat) < 1.0, (fmt, lon, lat)
        assert props["genres"] == want["genres"]
        assert hits[0]["id"] == row["site_id"]
        history = writer.get(f"/api/sites/{row['site_id']}/history", headers=auth(writer)).get_json()["revisions"]
        assert [(r["action"], r["actor"]) for r in history] == [("create", "import:ping")]
        after = history[0]["after"]
        if fmt == "gpkg":
            assert (after["coord_accuracy_m"], after["position_method"]) == (5, "surveyed")
        else:
            assert (after["coord_accuracy_m"], after["position_method"]) == (50, "geocoded")
            assert after["coord_source"] == f"import: {path.name}"
    if fmt in ("kml", "kmz"):
        # Ovital/Google Earth balloons are HTML: stored as text; the folder is reported as the layer.
        assert found(writer, NEW[0]["name_zh"])[0]["properties"]["description_zh"] == "拍摄地 Test Bamboo Grove"
        assert report["rows"][0]["layer"] == "外景"
    if fmt == "gpx":
        assert found(writer, NEW[0]["name_zh"])[0]["properties"]["elevation_m"] == 412.5
    healthy(writer)
    # The same file again: every row is now a duplicate of what it created, and nothing more is written.
    again = post_import(writer, path, commit="true", **params)
    assert again.status_code == 200 and again.get_json()["totals"]["duplicate"] == 2, again.get_json()
    assert counts(writer) == (before[0] + 2, before[1] + 2)


# --------------------------------------------------------------------------- all or nothing

def test_one_invalid_row_means_nothing_is_written(writer, tmp_path):
    ok = NEW[0]
    rows = [
        feature(ok["lon"], ok["lat"], name_zh=ok["name_zh"], name_en=ok["name_en"], genres=["nature"]),
        feature(120.07, 27.77, name_zh="没有题材", name_en="No genre"),
        feature(float("nan"), 27.77, name_en="Not a number", genres=["nature"]),
        feature(120.07, 95.0, name_en="Off the globe", genres=["nature"]),
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[120.05, 27.8], [120.06, 27.81]]},
         "properties": {"name_en": "A road", "genres": ["nature"]}},
        {"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": [[120.05, 27.8], [120.06, 27.81]]},
         "properties": {"name_en": "Two points", "genres": ["nature"]}},
        {"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": [[120.071, 27.771]]},
         "properties": {"name_en": "One point", "genres": ["红色"]}},
        feature(121.47, 31.23, name_en="Shanghai", genres=["nature"]),
        feature(120.072, 27.772, name_en="Horror set", genres=["horror"]),
        feature(120.073, 27.773, name_en="Bad elevation", genres=["nature"], elevation_m="Infinity"),
    ]
    path = tmp_path / "mixed.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": rows}), encoding="utf-8")  # NaN stays NaN
    assert "NaN" in path.read_text()
    before = counts(writer)

    resp = post_import(writer, path, commit="true")
    assert resp.status_code == 422, resp.get_json()
    report = resp.get_json()
    assert report["committed"] is False and "nothing was written" in report["message"]
    actions = [(r["action"], r.get("error", {}).get("name")) for r in report["rows"]]
    assert actions == [("create", None), ("invalid", "genres"), ("invalid", "geometry"), ("invalid", "geometry"),
                       ("invalid", "geometry"), ("invalid", "geometry"), ("create", None), ("invalid", "geometry"),
                       ("invalid", "genres"), ("invalid", "elevation_m")], report["rows"]
    reasons = [r.get("error", {}).get("reason", "") for r in report["rows"]]
    assert "finite" in reasons[2] and "out of range" in reasons[3] and "LineString" in reasons[4]
    assert "MultiPoint of 2" in reasons[5] and "outside Wencheng" in reasons[7] and "horror" in reasons[8]
    assert report["totals"]["invalid"] == 8 and report["totals"]["written"] == 0
    assert counts(writer) == before
    assert found(writer, ok["name_zh"]) == [] and found(writer, "One point") == []
    healthy(writer)

    # A genre for rows without one fixes that row; the others still block the commit.
    dry = post_import(writer, path, genre_default="自然风光").get_json()
    assert dry["rows"][1]["action"] == "create" and dry["totals"]["invalid"] == 7
    # With only the good rows (and confirm_outside for Shanghai) the commit goes through.
    good = [rows[0], rows[6], rows[7]]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": good}), encoding="utf-8")
    resp = post_import(writer, path, commit="true", confirm_outside="true")
    assert resp.status_code == 201 and resp.get_json()["totals"]["written"] == 3, resp.get_json()
    assert found(writer, "One point")[0]["properties"]["genres"] == ["red"]
    assert counts(writer) == (before[0] + 3, before[1] + 3)


# --------------------------------------------------------------------------- duplicates and updates

def test_duplicates_are_skipped_and_slugs_update(writer, tmp_path):
    near_lon, near_lat = moved(FALLS["lon"], FALLS["lat"], 0, 30)
    east_lon, east_lat = moved(FALLS["lon"], FALLS["lat"], 90, 20)
    far_lon, far_lat = moved(FALLS["lon"], FALLS["lat"], 180, 120)
    twin_lon, twin_lat = moved(NEW[0]["lon"], NEW[0]["lat"], 45, 10)
    tianding = next(f for f in writer.get("/api/sites?limit=1000").get_json()["features"]
                    if f["properties"]["slug"] == "tianding-lake")
    rows = [
        feature(near_lon, near_lat, name=FALLS["name_zh"], genres=["nature"]),                   # duplicate (30 m)
        feature(east_lon, east_lat, name_en=FALLS["name_en"].upper(), genres=["nature"]),       # duplicate, any case
        feature(far_lon, far_lat, name_zh=FALLS["name_zh"], name_en=FALLS["name_en"], genres=["nature"]),  # 120 m: new
        feature(*tianding["geometry"]["coordinates"], slug="tianding-lake", description_en="Updated by the import"),
        feature(NEW[0]["lon"], NEW[0]["lat"], name_zh=NEW[0]["name_zh"], genres=["nature"]),
        feature(twin_lon, twin_lat, name_zh=NEW[0]["name_zh"], genres=["nature"]),             # duplicate of row 5
        feature(120.05, 27.80, slug="tianding-lake", genres=["nature"]),                        # the slug twice
    ]
    path = geojson_file(tmp_path / "dupes.geojson", rows)
    report = post_import(writer, path).get_json()
    got = [(r["action"], r.get("duplicate_of", {}).get("slug") or r.get("duplicate_of", {}).get("row")) for r in report["rows"]]
    assert got == [("duplicate", FALLS["slug"]), ("duplicate", FALLS["slug"]), ("create", None), ("update", None),
                   ("create", None), ("duplicate", 5), ("invalid", None)], report["rows"]
    assert 29 < report["rows"][0]["duplicate_of"]["distance_m"] < 31
    assert report["rows"][3]["changes"] == ["description_en"] and report["rows"][3]["site_id"] == tianding["id"]
    assert report["rows"][2]["slug"] == "baizhangji-falls-2"
    assert "row 4" in report["rows"][6]["error"]["reason"]

    del rows[6]
    path = geojson_file(tmp_path / "dupes.geojson", rows)
    before = counts(writer)
    resp = post_import(writer, path, commit="true")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["totals"] == {"rows": 6, "create": 2, "update": 1, "unchanged": 0, "duplicate": 3,
                                              "invalid": 0, "written": 3}
    assert counts(writer) == (before[0] + 2, before[1] + 3)
    falls = [f for f in found(writer, FALLS["name_zh"]) if f["properties"]["name_zh"] == FALLS["name_zh"]]
    assert sorted(round(metres(FALLS["lon"], FALLS["lat"], *f["geometry"]["coordinates"])) for f in falls) == [0, 120]
    assert len(found(writer, NEW[0]["name_zh"])) == 1
    updated = writer.get(f"/api/sites/{tianding['id']}").get_json()["properties"]
    assert updated["description_en"] == "Updated by the import" and updated["name_zh"] == tianding["properties"]["name_zh"]
    assert updated["coord_source"] == tianding["properties"]["coord_source"]  # same point: its source is kept
    history = writer.get(f"/api/sites/{tianding['id']}/history", headers=auth(writer)).get_json()["revisions"]
    assert (history[0]["action"], history[0]["actor"], history[0]["changed_fields"]) == \
        ("update", "import:ping", ["description_en"])


@pytest.mark.parametrize("fmt", ["geojson", "csv", "kml", "gpkg", "gpx"])
def test_the_apps_own_export_imports_as_unchanged(writer, fmt):
    """Exports carry slugs (GPX: none, but "中文 (English)" names), so a round trip changes and adds nothing."""
    from scouting.formats.export import ExportItem, export
    from scouting.search import iter_sites, parse_site_query

    # The exporter behind /api/sites/export, called with a session closed here: a streamed response's session
    # would only be released by the garbage collector, after this test's database is dropped.
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        data = b"".join(export((ExportItem(hit=hit) for hit in iter_sites(session, parse_site_query({}))), fmt,
                               "文成外景 Wencheng sites").chunks)
    before = counts(writer)
    resp = post_import(writer, data, f"wencheng-sites.{fmt}", commit="true")
    assert resp.status_code == 200, resp.get_json()
    report = resp.get_json()
    expected = "duplicate" if fmt == "gpx" else "unchanged"
    assert report["totals"][expected] == 35, [r for r in report["rows"] if r["action"] != expected][:3]
    assert report["totals"]["written"] == 0
    assert counts(writer) == before


def test_a_failure_while_writing_leaves_nothing_written(writer, tmp_path, monkeypatch):
    """The commit is one transaction: the second row failing takes the first row's site and revision with it
    (new sites are inserted a batch at a time, here a row a batch: the failure comes after the first batch's site
    and revision are in)."""
    from scouting import imports, sites
    from scouting.imports import plan

    path, _, _ = make_geojson(tmp_path)
    real, calls = sites.new_site_columns, []

    def failing_second_time(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(plan, "WRITE_CHUNK", 1)
    monkeypatch.setattr(sites, "new_site_columns", failing_second_time)
    before = counts(writer)
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        with pytest.raises(RuntimeError, match="disk full"):
            imports.run_import(session, path, path.name, commit=True, actor="import:test")
    assert len(calls) == 2
    assert counts(writer) == before and found(writer, NEW[0]["name_zh"]) == []
    healthy(writer)


def test_a_moved_point_gets_the_imports_position_source(writer, tmp_path):
    site = writer.get("/api/sites?limit=1").get_json()["features"][0]
    lon, lat = moved(*site["geometry"]["coordinates"], 90, 200)
    glat, glon = prcoords.wgs_bd((lat, lon))
    path = tmp_path / "moved.csv"
    path.write_text(f"slug,lon,lat\n{site['properties']['slug']},{glon!r},{glat!r}\n", encoding="utf-8")
    resp = post_import(writer, path, datum="bd09", commit="true")
    assert resp.status_code == 200, resp.get_json()
    row = resp.get_json()["rows"][0]
    assert row["action"] == "update" and {"lon", "lat", "coord_source"} <= set(row["changes"]), row
    stored = writer.get(f"/api/sites/{site['id']}").get_json()
    assert metres(lon, lat, *stored["geometry"]["coordinates"]) < 0.01
    assert stored["properties"]["coord_source"] == "import: moved.csv" and stored["properties"]["coord_accuracy_m"] == 50


# --------------------------------------------------------------------------- hostile files

@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """200 MB of zeros as doc.kml, streamed into a KMZ of a few hundred kB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.kmz"
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("doc.kml", "w", force_zip64=True) as member:
        for _ in range(200):
            member.write(chunk)
    assert path.stat().st_size < 1 << 20
    return path


BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE kml [\n<!ENTITY lol "lol">\n'
                  + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">\n' for i in range(1, 10))
                  + f']>\n<kml xmlns="{KML_NS}"><Placemark><name>&lol9;</name><ExtendedData><Data name="genres">'
                  "<value>nature</value></Data></ExtendedData><Point><coordinates>120.05,27.8</coordinates></Point>"
                  "</Placemark></kml>")
XXE = ('<?xml version="1.0"?>\n<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       f'<kml xmlns="{KML_NS}"><Placemark><name>&xxe;</name><ExtendedData><Data name="genres"><value>nature</value>'
       "</Data></ExtendedData><Point><coordinates>120.05,27.8</coordinates></Point></Placemark></kml>")


def _kmz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)  # ZipInfo keeps the name exactly as given
    return buffer.getvalue()


def _not_geopackage(tmp: Path) -> bytes:
    db = tmp / "plain.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")
    return db.read_bytes()


def test_hostile_files_are_refused_and_nothing_is_written(writer, tmp_path, zip_bomb):
    good_kml = _kml(tmp_path).encode()
    cases = [
        ("laughs.kml", BILLION_LAUGHS.encode(), "DTD"),
        ("xxe.kml", XXE.encode(), "DTD"),
        ("bomb.kmz", zip_bomb.read_bytes(), "zip bomb"),
        ("bomb.zip", zip_bomb.read_bytes(), "zip bomb"),
        ("evil.kmz", _kmz({"../evil.kml": good_kml}), "unsafe path"),
        ("evil2.kmz", _kmz({"doc.kml": good_kml, "files/../../evil.kml": good_kml}), "unsafe path"),
        ("abs.kmz", _kmz({"/tmp/evil.kml": good_kml}), "unsafe path"),
        ("win.zip", _kmz({"C:\\evil\\x.shp": b"x"}), "unsafe path"),
        ("kmz-xxe.kmz", _kmz({"doc.kml": XXE.encode()}), "DTD"),
        ("random.geojson", b"\x89PNG\r\n\x1a\n" + os.urandom(2000) + b"\x00" * 8, "is not a file this import reads"),
        ("notes.txt", "这不是地图文件 just some words\nmore words\n".encode(), "is not a file this import reads"),
        ("broken.kmz", b"PK\x03\x04" + os.urandom(300), "not a readable zip"),
        ("plain.gpkg", _not_geopackage(tmp_path), "not a GeoPackage"),
        ("empty.csv", b"", "empty"),
        ("broken.json", b'{"type": "FeatureCollection", "features": [', "not valid JSON"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "GeoJSON"),
        ("svg.kml", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "neither KML nor GPX"),
        ("nokml.kmz", _kmz({"readme.txt": b"hello"}), "neither a .kml"),
        ("bare.shp", b"\x00\x00\x27\x0a" + bytes(96), "zip"),
    ]
    before = counts(writer)
    for name, data, reason in cases:
        resp = post_import(writer, data, name, commit="true")
        body = resp.get_json()
        assert resp.status_code == 400, (name, resp.status_code, body)
        assert resp.mimetype == "application/problem+json"
        assert body["invalid-params"][0]["name"] == "file", (name, body)
        assert reason in body["detail"], (name, body["detail"])
        assert "root:" not in resp.get_data(as_text=True)
        assert counts(writer) == before, name
        healthy(writer)
    assert not (tmp_path.parent / "evil.kml").exists() and not Path("/tmp/evil.kml").exists()


def test_oversize_uploads_get_413(writer):
    writer.application.config["IMPORT_MAX_BYTES"] = 2000
    before = counts(writer)
    feats = [feature(120.05 + i * 1e-4, 27.8, name_en=f"Padding site {i}", genres=["nature"]) for i in range(40)]
    small_but_over = json.dumps({"type": "FeatureCollection", "features": feats}).encode()
    assert 2000 < len(small_but_over) < 64 * 1024
    huge = b" " * (300 * 1024) + small_but_over
    for data in (small_but_over, huge):
        resp = post_import(writer, data, "big.geojson", commit="true")
        assert resp.status_code == 413, resp.get_json()
        assert resp.mimetype == "application/problem+json"
        assert counts(writer) == before
        healthy(writer)
    writer.application.config["IMPORT_MAX_BYTES"] = 1 << 20
    assert post_import(writer, small_but_over, "big.geojson").status_code == 200


# --------------------------------------------------------------------------- the API's contract

def test_api_roles_and_parameters(writer, tmp_path):
    path, _, _ = make_geojson(tmp_path)
    anonymous = post_import(writer, path, role=None)
    assert anonymous.status_code == 401 and "Bearer" in anonymous.get_json()["detail"]
    wrong = writer.post("/api/import", data={"file": (io.BytesIO(path.read_bytes()), "x.geojson")},
                        headers={"Authorization": "Bearer ws_guess"}, content_type="multipart/form-data")
    assert wrong.status_code == 401
    assert post_import(writer, path, role="director", commit="true").status_code == 403
    dry = post_import(writer, path)
    assert dry.status_code == 200 and dry.mimetype == "application/json"
    assert dry.get_json()["totals"]["create"] == 2
    as_json = writer.post("/api/import", json={"type": "FeatureCollection"}, headers=auth(writer))
    assert as_json.status_code == 415
    no_file = writer.post("/api/import", data={"datum": "wgs84"}, headers=auth(writer), content_type="multipart/form-data")
    assert no_file.status_code == 400 and no_file.get_json()["invalid-params"][0]["name"] == "file"
    for params, name in (({"datum": "utm"}, "datum"), ({"commit": "maybe"}, "commit"), ({"genre_default": "horror"},
                         "genre_default"), ({"colour": "red"}, "colour"), ({"layer": "nope", "commit": "true"}, None)):
        resp = post_import(writer, path, **params)
        if name is None:  # a GeoJSON has no layers to choose from: the parameter changes nothing
            assert resp.status_code == 201
            continue
        assert resp.status_code == 400, (params, resp.get_json())
        assert resp.get_json()["invalid-params"][0]["name"] == name
    gpkg, _, _ = make_gpkg_3857(tmp_path)
    resp = post_import(writer, gpkg, layer="rivers")
    assert resp.status_code == 400 and resp.get_json()["invalid-params"][0]["name"] == "layer"
    assert "places" in resp.get_json()["detail"]
    healthy(writer)


# --------------------------------------------------------------------------- the CLI

def test_cli_dry_run_commit_and_invalid_rows(writer, tmp_path):
    runner = writer.application.test_cli_runner()
    path, _, _ = make_csv_gcj02(tmp_path)
    before = counts(writer)

    dry = runner.invoke(args=["import", str(path), "--datum", "gcj02"])
    assert dry.exit_code == 0, dry.output
    lines = dry.output.splitlines()
    assert lines[0].split() == ["row", "action", "slug", "name", "lon", "lat", "detail"]
    assert "create" in lines[1] and "测试竹林 / Test Bamboo Grove" in lines[1] and "test-bamboo-grove" in lines[1]
    assert "2 rows: 2 create, 0 update, 0 unchanged, 0 duplicate, 0 invalid" in dry.output
    assert "dry run: nothing was written" in dry.output
    assert counts(writer) == before

    done = runner.invoke(args=["import", str(path), "--datum", "gcj02", "--commit", "--actor", "wang"])
    assert done.exit_code == 0, done.output
    assert "created 2 and updated 0" in done.output
    assert counts(writer) == (before[0] + 2, before[1] + 2)
    site = found(writer, "测试古村")[0]
    assert metres(NEW[1]["lon"], NEW[1]["lat"], *site["geometry"]["coordinates"]) < 1.0
    history = writer.get(f"/api/sites/{site['id']}/history", headers=auth(writer)).get_json()["revisions"]
    assert history[0]["actor"] == "import:wang"

    bad = tmp_path / "bad.csv"
    bad.write_text("name,lon,lat,genres,elevation_m\nGood place,120.05,27.79,nature,10\n"
                   "No genre,120.06,27.79,,10\nBroken,120.07,27.79,nature,nan\n", encoding="utf-8")
    failed = runner.invoke(args=["import", str(bad), "--commit"])
    assert failed.exit_code != 0
    assert "2 invalid row(s); nothing was written" in failed.output
    assert "genres: at least one genre is required" in failed.output and "elevation_m:" in failed.output
    assert counts(writer) == (before[0] + 2, before[1] + 2)
    assert runner.invoke(args=["import", str(bad)]).exit_code != 0
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01\x02garbage")
    result = runner.invoke(args=["import", str(garbage)])
    assert result.exit_code != 0 and "file: is not a file this import reads" in result.output


def test_cli_progress_bar_for_a_large_file(writer, tmp_path):
    path = tmp_path / "many.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["name_zh", "name_en", "lon", "lat", "genres"])
        for i in range(20):
            for j in range(15):
                out.writerow([f"网格点{i}-{j}", f"Grid {i}-{j}", 120.04 + i * 0.0015, 27.77 + j * 0.0015, "nature"])
    before = counts(writer)
    result = writer.application.test_cli_runner().invoke(args=["import", str(path), "--commit"])
    assert result.exit_code == 0, result.output[-2000:]
    assert "checking rows" in result.output
    assert "300 rows: 300 create" in result.output
    assert counts(writer) == (before[0] + 300, before[1] + 300)


def test_cli_lists_only_the_rows_that_need_attention_in_a_large_file(writer, tmp_path):
    """Past TABLE_EVERY_ROW_UP_TO rows the CLI lists the updates, duplicates and invalid rows (a planner's to-do),
    not every create; --verbose lists every row.  The totals are printed either way."""
    tianding = next(f for f in writer.get("/api/sites?limit=1000").get_json()["features"]
                    if f["properties"]["slug"] == "tianding-lake")
    rows = [feature(120.04 + i // 15 * 0.0015, 27.77 + i % 15 * 0.0015, name_zh=f"大表格{i}", name_en=f"Big table {i}",
                    genres=["nature"]) for i in range(TABLE_EVERY_ROW_UP_TO + 20)]
    rows.append(feature(*tianding["geometry"]["coordinates"], slug="tianding-lake", description_en="Listed update"))
    rows.append(feature(*moved(FALLS["lon"], FALLS["lat"], 0, 30), name=FALLS["name_zh"], genres=["nature"]))
    path = geojson_file(tmp_path / "big.geojson", rows)
    runner = writer.application.test_cli_runner()
    before = counts(writer)

    dry = runner.invoke(args=["import", str(path)])
    assert dry.exit_code == 0, dry.output[-2000:]
    listed = [line.split()[1] for line in dry.output.splitlines()[1:] if line[:1].isdigit() and "  " in line]
    assert listed == ["update", "duplicate"], dry.output[-2000:]
    assert "Listed update" not in dry.output and "description_en" in dry.output, "the update names what it changes"
    assert f"{FALLS['slug']}, 30 m away" in dry.output
    assert f"(2 of {len(rows)} rows listed: those to update, duplicates and invalid ones; --verbose lists every row)" \
        in dry.output
    assert f"{len(rows)} rows: {len(rows) - 2} create, 1 update, 0 unchanged, 1 duplicate, 0 invalid" in dry.output
    assert "大表格0" not in dry.output

    rows.append(feature(120.05, 27.79, name_zh="没有类型", name_en="No genre"))
    geojson_file(path, rows)
    failed = runner.invoke(args=["import", str(path), "--commit"])
    assert failed.exit_code != 0 and "genres: at least one genre is required" in failed.output
    assert "没有类型 / No genre" in failed.output and "大表格0" not in failed.output
    assert counts(writer) == before

    del rows[-1]
    geojson_file(path, rows)
    done = runner.invoke(args=["import", str(path), "--commit", "--verbose"])
    assert done.exit_code == 0, done.output[-2000:]
    listed = [line.split()[1] for line in done.output.splitlines()[1:] if line[:1].isdigit() and "  " in line]
    assert listed.count("create") == len(rows) - 2 and listed.count("update") == listed.count("duplicate") == 1
    assert "大表格0 / Big table 0" in done.output and "rows listed" not in done.output
    assert counts(writer) == (before[0] + len(rows) - 2, before[1] + len(rows) - 1)
