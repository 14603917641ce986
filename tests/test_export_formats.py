"""Export formats, each read back with an independent reader (json, GDAL through pyogrio, gpxpy, defusedxml,
the csv module) and compared with the seeded database and with geodata/sites.geojson itself.

pyogrio is imported at collection time, before any test loads mod_spatialite: GDAL loaded after it
would bind to the system SQLite/PROJ and crash (the reason the exporter writes GeoPackages in a child).
"""
from __future__ import annotations

import csv
import html
import io
import json
import math
import sqlite3
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import defusedxml.ElementTree as DET
import gpxpy
import pyogrio
import pytest

from scouting import vocab
from scouting.errors import InvalidParameter
from scouting.formats.export import CSV_COLUMNS, EXPORT_FORMATS, ExportItem, _cdata, accuracy_text, export
from scouting.formats.gpkg import GPKG_COLUMNS
from scouting.geo import wgs84_to_gcj02
from scouting.models import Site, SiteTag
from scouting.search import SiteHit, find_sites, parse_site_query

KML = "{http://www.opengis.net/kml/2.2}"
TITLE = "文成外景 pack <&> \"test\""
XSS = "<img src=x onerror=alert(1)>"
HOSTILE_NOTE = XSS + ' ]]> =HYPERLINK("http://x") 🎬 \u200fשלום\u200f'
STAFF = "STAFF-ONLY-SECRET"


# --------------------------------------------------------------------------- fixtures and helpers

@pytest.fixture
def hits(app) -> Iterator[list[SiteHit]]:
    with app.app_context():
        session = app.extensions["scouting"]["sessionmaker"]()
        try:
            found = find_sites(session, parse_site_query({})).hits
            assert len(found) == 35
            yield found
        finally:
            session.close()


@pytest.fixture
def pack(hits) -> list[ExportItem]:
    """A pack: every site in order, a note on every other one."""
    return [ExportItem(hit, note=f"第{n}天 清晨拍摄 shot idea {n}" if n % 2 else None, position=n)
            for n, hit in enumerate(hits, start=1)]


@pytest.fixture(scope="module")
def source(site_features) -> dict[str, dict]:
    """geodata/sites.geojson by slug: the expectations, independent of the database and the exporter."""
    return {f["properties"]["slug"]: f for f in site_features}


def body(items, fmt: str, title: str = TITLE) -> bytes:
    return b"".join(export(items, fmt, title).chunks)


def saved(tmp_path: Path, items, fmt: str) -> Path:
    path = tmp_path / f"export.{fmt}"
    path.write_bytes(body(items, fmt))
    return path


def genres_in_order(site: Site, vocabulary: str = "genre") -> list[str]:
    order = list(vocab.TAG_VOCABULARIES[vocabulary])
    return sorted(site.terms(vocabulary), key=order.index)


def display_name(site: Site) -> str:
    return f"{site.name_zh} ({site.name_en})"


def close(a: float, b: float, tol: float = 1e-7) -> bool:
    return abs(a - b) <= tol


def hostile_site() -> Site:
    """A transient site (never added to a session) whose every text is an attack or an edge case."""
    return Site(
        id=990001, slug="hostile-copy", name_zh='=HYPERLINK("http://x")' + XSS + "]]>🎬\u200f",
        name_en="+1 " + XSS, base=None, elevation_m=-3.5, area_m2=None, best_seasons=["autumn"],
        description_zh="-2 \x0b vertical tab ]]>", description_en="@SUM(A1)", access_notes_zh="@SUM(A1)",
        access_notes_en=None, permit_notes=STAFF, contact_notes=STAFF, facts_source=None, coord_source="test",
        coord_accuracy_m=5, position_method="surveyed", verified=False, version=1,
        tags=[SiteTag(vocabulary="genre", term="wuxia"), SiteTag(vocabulary="genre", term="costume"),
              SiteTag(vocabulary="terrain", term="river"), SiteTag(vocabulary="facility", term="parking")],
    )


@pytest.fixture
def hostile(hits) -> list[ExportItem]:
    return [
        ExportItem(hits[0], note=HOSTILE_NOTE, position=1),
        ExportItem(SiteHit(hostile_site(), 120.05, 27.8, None), note="\t=1+1", position=2),
        ExportItem(hits[1], note="+1", position=3),
        ExportItem(hits[2], note="-2", position=4),
        ExportItem(hits[3], note="@SUM(A1)", position=5),
        ExportItem(hits[4], note="\r=cmd|' /C calc'!A0", position=6),
    ]


# --------------------------------------------------------------------------- GeoJSON

def test_geojson_is_rfc7946_and_matches(pack, source, tmp_path):
    raw = body(pack, "geojson")
    doc = json.loads(raw)
    assert doc["type"] == "FeatureCollection" and doc["name"] == TITLE
    assert "crs" not in doc
    assert list(doc)[-1] == "bbox"
    features = doc["features"]
    assert [f["id"] for f in features] == [item.hit.site.id for item in pack]
    lons, lats = [], []
    for item, feature in zip(pack, features, strict=True):
        props, geometry = feature["properties"], feature["geometry"]
        expected = source[props["slug"]]
        assert geometry["type"] == "Point" and len(geometry["coordinates"]) == 2
        lon, lat = geometry["coordinates"]
        assert 119.5 < lon < 120.6 and 27.4 < lat < 28.2  # lon first: Wencheng, not the Indian Ocean
        assert close(lon, expected["geometry"]["coordinates"][0]) and close(lat, expected["geometry"]["coordinates"][1])
        lons.append(lon)
        lats.append(lat)
        assert props["name_zh"] == expected["properties"]["name_zh"] and props["name_en"] == expected["properties"]["name_en"]
        for field, labels, vocabulary in (("genres", "genre_labels", vocab.GENRES), ("terrain", "terrain_labels", vocab.TERRAIN),
                                          ("facilities", "facility_labels", vocab.FACILITIES)):
            assert set(props[field]) == set(expected["properties"][field])
            assert props[labels] == [{"slug": s, "zh": vocabulary[s].zh, "en": vocabulary[s].en} for s in props[field]]
        assert "permit_notes" not in props and "contact_notes" not in props
        assert props["pack_position"] == item.position
        assert props.get("pack_note") == item.note
    assert doc["bbox"] == [min(lons), min(lats), max(lons), max(lats)]

    path = tmp_path / "sites.geojson"
    path.write_bytes(raw)
    frame = pyogrio.read_dataframe(path)
    assert frame.crs.to_epsg() == 4326
    assert list(frame["slug"]) == [item.hit.site.slug for item in pack]
    for item, point in zip(pack, frame.geometry, strict=True):
        assert close(point.x, item.hit.lon) and close(point.y, item.hit.lat)


def test_geojson_without_pack_and_empty(hits):
    doc = json.loads(body([ExportItem(h) for h in hits[:3]], "geojson"))
    assert all("pack_note" not in f["properties"] and "pack_position" not in f["properties"] for f in doc["features"])
    empty = json.loads(body([], "geojson"))
    assert empty["features"] == [] and "bbox" not in empty and "crs" not in empty


# --------------------------------------------------------------------------- KML

def test_kml_opens_in_gdal_and_has_genre_styles(pack, source, tmp_path):
    path = saved(tmp_path, pack, "kml")
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == len(pack)
    assert list(frame["Name"]) == [display_name(item.hit.site) for item in pack]
    assert list(frame["slug"]) == [item.hit.site.slug for item in pack]
    for item, point in zip(pack, frame.geometry, strict=True):
        expected = source[item.hit.site.slug]["geometry"]["coordinates"]
        assert close(point.x, expected[0]) and close(point.y, expected[1])

    root = DET.fromstring(path.read_bytes())
    document = root.find(f"{KML}Document")
    assert document.findtext(f"{KML}name") == TITLE
    styles = {style.get("id"): style for style in document.findall(f"{KML}Style")}
    assert set(styles) == {f"genre-{g}" for g in vocab.GENRES}
    colours = {style.findtext(f"{KML}IconStyle/{KML}color") for style in styles.values()}
    assert len(colours) == len(vocab.GENRES) and all(len(c) == 8 and int(c, 16) >> 24 == 0xFF for c in colours)
    placemarks = document.findall(f"{KML}Placemark")
    assert len(placemarks) == len(pack)
    for item, placemark in zip(pack, placemarks, strict=True):
        site = item.hit.site
        assert placemark.findtext(f"{KML}styleUrl") == f"#genre-{genres_in_order(site)[0]}"
        lon, lat = (float(v) for v in placemark.findtext(f"{KML}Point/{KML}coordinates").split(","))
        assert close(lon, item.hit.lon) and close(lat, item.hit.lat)
        data = {d.get("name"): d.findtext(f"{KML}value") for d in placemark.iter(f"{KML}Data")}
        assert data["slug"] == site.slug and data["coord_accuracy_m"] == str(site.coord_accuracy_m)
        assert data["genres"] == ",".join(genres_in_order(site))
        balloon = placemark.findtext(f"{KML}description")
        gcj_lon, gcj_lat = wgs84_to_gcj02(item.hit.lon, item.hit.lat)
        assert f"{gcj_lon:.6f}, {gcj_lat:.6f}" in balloon
        assert html.escape(site.name_zh) in balloon and html.escape(site.name_en) in balloon
        if site.position_method == "township_seat" and site.coord_accuracy_m == 8000:
            assert "approximate, ±8 km" in balloon
        for genre in genres_in_order(site):
            assert vocab.GENRES[genre].zh in balloon and html.escape(vocab.GENRES[genre].en) in balloon
        if item.note:
            assert html.escape(item.note) in balloon


def test_cdata_cannot_be_closed_by_user_text():
    for text in ("a]]>b", "]]>", "]]]]>>", "plain"):
        assert DET.fromstring(f"<d>{_cdata(text)}</d>").text == text


# --------------------------------------------------------------------------- GPX

def test_gpx_waypoints(pack, source, tmp_path):
    raw = body(pack, "gpx")
    gpx = gpxpy.parse(raw.decode("utf-8"))
    assert gpx.creator == "Wencheng Scout" and gpx.version == "1.1" and gpx.name == TITLE
    assert len(gpx.waypoints) == len(pack)
    for item, wpt in zip(pack, gpx.waypoints, strict=True):
        site = item.hit.site
        expected = source[site.slug]["geometry"]["coordinates"]
        assert wpt.name == display_name(site)
        assert close(wpt.longitude, expected[0]) and close(wpt.latitude, expected[1])
        first = vocab.GENRES[genres_in_order(site)[0]]
        assert wpt.type == f"{first.zh} ({first.en})"
        assert "<" not in wpt.description and site.name_zh in wpt.description
        assert ("±8 km" in wpt.description) == (site.coord_accuracy_m == 8000)
        assert (item.note in wpt.description) if item.note else "Pack note" not in wpt.description
        # <ele> is the point's own elevation: at a township-seat or estimated point it is left out.
        estimated = site.position_method in ("township_seat", "estimate")
        assert wpt.elevation == (None if estimated else site.elevation_m), site.slug
    path = tmp_path / "sites.gpx"
    path.write_bytes(raw)
    assert len(pyogrio.read_dataframe(path, layer="waypoints")) == len(pack)


# --------------------------------------------------------------------------- GeoPackage

def nulled(value):
    """pandas reads a NULL as None or NaN depending on the column's dtype: make it None."""
    return None if isinstance(value, float) and math.isnan(value) else value


def test_gpkg_layer_columns_and_values(pack, source, tmp_path):
    path = saved(tmp_path, pack, "gpkg")
    assert [name for name, _ in pyogrio.list_layers(path)] == ["sites"]
    frame = pyogrio.read_dataframe(path, layer="sites")
    assert frame.crs.to_epsg() == 4326
    assert list(frame.columns) == [*GPKG_COLUMNS, "geometry"]
    assert len(frame) == len(pack)
    for item, record in zip(pack, frame.to_dict("records"), strict=True):
        row = {key: nulled(value) for key, value in record.items()}
        site = item.hit.site
        expected = source[site.slug]
        assert row["id"] == site.id and row["slug"] == site.slug
        assert row["name_zh"] == expected["properties"]["name_zh"] and row["name_en"] == expected["properties"]["name_en"]
        assert row["base"] == expected["properties"]["base"]
        assert row["genres"] == ",".join(genres_in_order(site))
        assert row["genre_labels_zh"] == "、".join(vocab.GENRES[g].zh for g in genres_in_order(site))
        assert set(filter(None, row["terrain"].split(","))) == set(expected["properties"]["terrain"])
        assert set(filter(None, (row["facilities"] or "").split(","))) == set(expected["properties"]["facilities"])
        assert close(row["geometry"].x, expected["geometry"]["coordinates"][0])
        assert close(row["geometry"].y, expected["geometry"]["coordinates"][1])
        gcj = wgs84_to_gcj02(item.hit.lon, item.hit.lat)
        assert close(row["gcj02_lon"], gcj[0], 1e-9) and close(row["gcj02_lat"], gcj[1], 1e-9)
        assert row["elevation_m"] == site.elevation_m
        assert row["coord_accuracy_m"] == site.coord_accuracy_m and row["position_method"] == site.position_method
        assert row["description_zh"] == site.description_zh and row["access_notes_zh"] == site.access_notes_zh
        assert row["pack_position"] == item.position
        assert row["pack_note"] == item.note


def test_gpkg_title_and_failure(hits, tmp_path):
    path = saved(tmp_path, [ExportItem(h) for h in hits[:2]], "gpkg")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT identifier, srs_id FROM gpkg_contents WHERE table_name = 'sites'").fetchone() == (TITLE, 4326)
    broken = hostile_site()
    broken.id = None  # the id column is an integer: the child fails, and says so
    with pytest.raises(RuntimeError, match="GeoPackage"):
        body([ExportItem(SiteHit(broken, 120.0, 27.8, None))], "gpkg")


def test_gpkg_empty_and_temp_files_removed(tmp_path, monkeypatch, hits):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    empty = tmp_path / "empty.gpkg"
    empty.write_bytes(body([], "gpkg"))
    assert pyogrio.read_info(empty, layer="sites")["features"] == 0
    assert not list(tmp_path.glob("scout-export-*"))  # consumed: removed
    chunks = export([ExportItem(h) for h in hits], "gpkg", TITLE).chunks
    assert next(chunks).startswith(b"SQLite format 3\x00")
    assert len(list(tmp_path.glob("scout-export-*"))) == 1
    chunks.close()  # the download stopped half-way
    assert not list(tmp_path.glob("scout-export-*"))


# --------------------------------------------------------------------------- CSV

def read_csv(raw: bytes) -> list[dict[str, str]]:
    assert raw.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    assert tuple(reader.fieldnames) == CSV_COLUMNS
    return list(reader)


def test_csv_for_excel(pack, source):
    rows = read_csv(body(pack, "csv"))
    assert len(rows) == len(pack)
    for item, row in zip(pack, rows, strict=True):
        site = item.hit.site
        expected = source[site.slug]
        assert int(row["id"]) == site.id and row["slug"] == site.slug
        assert row["name_zh"] == expected["properties"]["name_zh"] and row["name_en"] == expected["properties"]["name_en"]
        lon, lat = float(row["lon_wgs84"]), float(row["lat_wgs84"])
        assert close(lon, expected["geometry"]["coordinates"][0]) and close(lat, expected["geometry"]["coordinates"][1])
        gcj = wgs84_to_gcj02(lon, lat)
        assert close(float(row["lon_gcj02"]), gcj[0], 1e-9) and close(float(row["lat_gcj02"]), gcj[1], 1e-9)
        assert row["genres"] == "、".join(vocab.GENRES[g].zh for g in genres_in_order(site))
        assert row["terrain"] == "、".join(vocab.TERRAIN[t].zh for t in genres_in_order(site, "terrain"))
        assert int(row["coord_accuracy_m"]) == site.coord_accuracy_m
        assert row["elevation_m"] == "" if site.elevation_m is None else float(row["elevation_m"]) == site.elevation_m
        assert int(row["pack_position"]) == item.position
        assert row["pack_note"] == (item.note or "")
    assert sum(1 for row in rows if row["pack_note"]) == sum(1 for item in pack if item.note) > 0


# --------------------------------------------------------------------------- hostile text

def test_hostile_text_kml(hostile, tmp_path):
    path = saved(tmp_path, hostile, "kml")
    text = path.read_text(encoding="utf-8")
    assert "<img" not in text  # only ever escaped
    assert text.count("]]>") == text.count("<![CDATA[") == len(hostile)  # every CDATA closes once, at its end
    placemarks = DET.fromstring(path.read_bytes()).find(f"{KML}Document").findall(f"{KML}Placemark")
    site = hostile[1].hit.site
    assert placemarks[1].findtext(f"{KML}name") == display_name(site)
    balloon = placemarks[1].findtext(f"{KML}description")
    assert "<img" not in balloon and html.escape(XSS) in balloon
    assert html.escape(site.name_zh) in balloon and "-2  vertical tab ]]&gt;" in balloon  # \x0b (illegal in XML) dropped
    first = placemarks[0].findtext(f"{KML}description")
    assert html.escape(HOSTILE_NOTE) in first and HOSTILE_NOTE in html.unescape(first)
    assert STAFF not in text
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == len(hostile)
    assert frame["Name"][1] == display_name(site)


def test_hostile_text_csv(hostile):
    raw = body(hostile, "csv")
    assert STAFF.encode() not in raw
    rows = read_csv(raw)
    assert len(rows) == len(hostile)
    site = hostile[1].hit.site
    row = rows[1]
    assert row["name_zh"] == "'" + site.name_zh and "🎬\u200f" in row["name_zh"]
    assert row["name_en"] == "'" + site.name_en
    assert row["description_zh"] == "'" + site.description_zh
    assert row["access_notes_zh"] == "'@SUM(A1)"
    assert row["pack_note"] == "'\t=1+1"
    assert row["elevation_m"] == "-3.5" and float(row["elevation_m"]) == -3.5  # numbers stay numbers
    assert float(row["lon_wgs84"]) == 120.05 and row["coord_accuracy_m"] == "5"
    assert [r["pack_note"] for r in rows[2:]] == ["'+1", "'-2", "'@SUM(A1)", "'\r=cmd|' /C calc'!A0"]
    assert rows[0]["pack_note"] == HOSTILE_NOTE  # starts with "<": left alone
    for r in rows:
        for value in r.values():
            if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                float(value)  # only a number may start with these; anything else must have been neutralised


def test_hostile_text_round_trips_elsewhere(hostile, tmp_path):
    site = hostile[1].hit.site
    doc = json.loads(body(hostile, "geojson"))
    assert doc["features"][1]["properties"]["name_zh"] == site.name_zh
    assert doc["features"][0]["properties"]["pack_note"] == HOSTILE_NOTE
    assert STAFF not in json.dumps(doc)
    gpx = gpxpy.parse(body(hostile, "gpx").decode("utf-8"))
    assert gpx.waypoints[1].name == display_name(site) and HOSTILE_NOTE in gpx.waypoints[0].description
    assert gpx.waypoints[1].elevation == -3.5
    frame = pyogrio.read_dataframe(saved(tmp_path, hostile, "gpkg"), layer="sites")
    assert frame["name_zh"][1] == site.name_zh and frame["pack_note"][0] == HOSTILE_NOTE
    assert frame["elevation_m"][1] == -3.5 and frame["genres"][1] == "costume,wuxia"


# --------------------------------------------------------------------------- streaming

def counting(hits: list[SiteHit], total: int, pulled: list[int]) -> Iterator[ExportItem]:
    for n in range(total):
        pulled[0] += 1
        yield ExportItem(hits[n % len(hits)], note=f"note {n}", position=n + 1)


@pytest.mark.parametrize("fmt", ["geojson", "csv", "kml", "gpx"])
def test_streams_without_consuming_everything(hits, fmt):
    total, pulled = 3000, [0]
    chunks = export(counting(hits, total, pulled), fmt, TITLE).chunks
    assert pulled[0] == 0  # export() itself pulls nothing
    first = next(chunks)
    assert first and pulled[0] <= 1
    second = next(chunks)
    assert 0 < pulled[0] < 200  # one buffer's worth, not the whole generator
    rest = b"".join(chunks)
    assert pulled[0] == total
    whole = first + second + rest
    counts = {
        "geojson": lambda: len(json.loads(whole)["features"]),
        "csv": lambda: len(read_csv(whole)),
        "kml": lambda: len(DET.fromstring(whole).find(f"{KML}Document").findall(f"{KML}Placemark")),
        "gpx": lambda: len(gpxpy.parse(whole.decode("utf-8")).waypoints),
    }
    assert counts[fmt]() == total


@pytest.mark.parametrize(("fmt", "total"), [("geojson", 5000), ("csv", 12000)])
def test_memory_stays_flat(hits, fmt, total):
    pulled = [0]
    size = 0
    tracemalloc.start()
    try:
        for chunk in export(counting(hits, total, pulled), fmt, TITLE).chunks:
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert pulled[0] == total
    assert size > 5_000_000
    assert peak < 2_000_000, f"peak {peak} bytes for a {size}-byte export"


# --------------------------------------------------------------------------- errors

def test_unknown_format_names_the_parameter():
    pulled = [0]
    with pytest.raises(InvalidParameter) as raised:
        export(counting([], 0, pulled), "shp", TITLE)
    assert raised.value.name == "format"
    assert all(fmt in raised.value.reason for fmt in EXPORT_FORMATS)
    assert EXPORT_FORMATS == ("geojson", "kml", "gpx", "gpkg", "csv")


def test_mimetypes_and_extensions():
    for fmt in EXPORT_FORMATS:
        exported = export([], fmt, TITLE)
        assert exported.extension == fmt and exported.mimetype
        b"".join(exported.chunks)


# Each format's Content-Type as sent, whole: a charset once where the type is text (CSV) or XML (KML, GPX).
CONTENT_TYPES = {"geojson": "application/geo+json", "kml": "application/vnd.google-earth.kml+xml; charset=utf-8",
                 "gpx": "application/gpx+xml; charset=utf-8", "gpkg": "application/geopackage+sqlite3",
                 "csv": "text/csv; charset=utf-8"}


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_every_export_sends_its_content_type_once(client, fmt):
    assert set(CONTENT_TYPES) == set(EXPORT_FORMATS), "every format is checked"
    filtered = client.get(f"/api/sites/export?format={fmt}&genre=nature")
    assert filtered.status_code == 200
    assert filtered.headers["Content-Type"] == CONTENT_TYPES[fmt], f"the filter's {fmt} export"
    site_ids = [f["id"] for f in client.get("/api/sites?limit=2").get_json()["features"]]
    token = client.post("/api/packs", json={"name": "类型 types", "site_ids": site_ids}).get_json()["id"]
    packed = client.get(f"/api/packs/{token}/export?format={fmt}")
    assert packed.status_code == 200
    assert packed.headers["Content-Type"] == CONTENT_TYPES[fmt], f"the pack's {fmt} export"
    assert packed.headers["Content-Type"].count("charset") <= 1


# --------------------------------------------------------------------------- labels

@pytest.mark.parametrize("method", list(vocab.POSITION_METHODS))
def test_accuracy_text_uses_the_vocabularys_short_labels(method):
    term = vocab.POSITION_METHODS[method]
    zh, en = accuracy_text(Site(position_method=method, coord_accuracy_m=8000))
    assert zh.endswith(f"（{term.short('zh')}）"), f"zh names {method} by its label: {zh!r}"
    assert en.endswith(f" ({term.short('en')})"), f"en names {method} by its short label: {en!r}"


def test_accuracy_text_keeps_the_labels_capitals():
    # "Phone GPS (accuracy as reported)" once became "phone gps": the short label is written, not derived.
    zh, en = accuracy_text(Site(position_method="gps", coord_accuracy_m=12))
    assert en == "±12 m (phone GPS)" and zh == "±12 m（手机定位）"
    zh, en = accuracy_text(Site(position_method="township_seat", coord_accuracy_m=8000))
    assert en == "approximate, ±8 km (township seat)" and zh == "约 ±8 km（乡镇驻地）"
