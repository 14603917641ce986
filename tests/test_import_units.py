"""The import's parts on their own, without a database: the attribute mapping (the record cleaner's input),
each file reader on a small file made here and read back through the one registry, and the staging of
uploads between a dry run and its commit."""
from __future__ import annotations

import io
import json
import os
import random
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from scouting import geo, sites
from scouting.errors import InvalidParameter
from scouting.imports import ImportFileError, ImportOptions, Staging, plan, read_source
from scouting.imports.mapping import (
    COLUMN_MIN_ROWS,
    map_columns,
    map_props,
    map_rows,
    plain_value,
    site_name_columns,
    site_names,
    vocab_term,
)
from scouting.imports.readers import READERS, Probe, SourceRow
from scouting.imports.report import ImportReport, RowResult, page_rows
from scouting.imports.staging import KEEP_SECONDS, NotStaged
from scouting.vocab import GENRES

BASES = {"baizhangji": "baizhangji", "百丈漈基地": "baizhangji", "baizhangji base": "baizhangji"}


# --------------------------------------------------------------------------- mapping

def test_chinese_column_names_and_labels_map_to_record_fields():
    mapped, ignored = map_props({"名称": "铜铃山", "题材": "青春, costume", "设施": "停车场", "季节": "春、Autumn",
                                 "海拔": "620米", "基地": "baizhangji base", "拍摄许可": "要"}, BASES, html=False)
    assert mapped["name"] == "铜铃山"
    assert mapped["genres"] == ["youth", "costume"], "a zh label and a slug both become slugs"
    assert mapped["facilities"] == ["parking"]
    assert mapped["best_seasons"] == ["spring", "autumn"], "、 separates; English labels match in any case"
    assert mapped["elevation_m"] == 620.0, "a trailing 米 is not part of the number"
    assert ignored == {"基地", "拍摄许可"}, "unknown columns are reported, not silently dropped"


def test_base_is_found_by_name_and_unknown_terms_pass_through_for_the_cleaner():
    mapped, _ = map_props({"base": "百丈漈基地", "genre": "horror", "elevation_m": "high"}, BASES, html=False)
    assert mapped["base"] == "baizhangji"
    assert mapped["genres"] == ["horror"], "the record cleaner names an unknown genre, not the mapping"
    assert mapped["elevation_m"] == "high", "the record cleaner says 'is not a number'"


@pytest.mark.parametrize("cell,expected", [("是", True), ("已核实", True), ("no", False), (0, False),
                                           ("maybe", "maybe")])
def test_verified_flag_words(cell, expected):
    assert map_props({"verified": cell}, {}, html=False)[0]["verified"] == expected


def test_first_non_empty_alias_wins_and_empty_cells_count_as_absent():
    mapped, ignored = map_props({"name": " ", "名称": "飞云湖", "title": "ignored"}, {}, html=False)
    assert mapped["name"] == "飞云湖"
    assert ignored == set()


def test_csv_formula_guard_of_our_own_export_is_undone():
    mapped, _ = map_props({"access_notes_en": "'=from the dam road"}, {}, html=False)
    assert mapped["access_notes_en"] == "=from the dam road"


def test_kml_balloon_html_becomes_plain_text_without_scripts():
    html = "<div><b>瀑布</b><br>落差 207 米<script>alert(1)</script><p>Dawn &amp; dusk</p></div>"
    mapped, _ = map_props({"description": html}, {}, html=True)
    assert mapped["description"] == "瀑布\n落差 207 米\nDawn & dusk"
    kept, _ = map_props({"description": "a <b>tag</b>"}, {}, html=False)
    assert kept["description"] == "a <b>tag</b>", "only KML balloons are HTML"


def test_facility_status_column_is_the_fuller_statement():
    cell = json.dumps([{"facility": "停车场", "status": "present"}])
    mapped, _ = map_props({"facilities": "parking", "facility_status": cell}, {}, html=False)
    assert mapped["facilities"] == [{"facility": "parking", "status": "present"}]


# Cells a file may hold, right and wrong, for the columns of every kind map_props converts.
_CELLS = {
    "name": ["铜铃山", "  飞云湖  ", " ", "", None, 12, ["a", "b"], {"k": 1}, "'=SUM(A1)", "'plain", "<b>x</b>"],
    "名称": ["百丈漈瀑布 (Baizhangji Falls)", None, "  "],
    "description": ["<div>瀑布<br>落差</div>", "a <b>tag</b>", "'+1", "  plain  ", None, 3.5],
    "genres": [["costume", "古装"], [], ["horror"], "青春, costume", '["period"]', None, [1, 2], ["youth"] * 20, ("red",)],
    "设施": ["停车场", ["parking"], None],
    "facility_status": [json.dumps([{"facility": "停车场", "status": "present"}]), "not json", None],
    "elevation_m": [620, 620.5, "620米", "high", True, None, float("nan"), np.float64(12.5), np.int64(7)],
    "verified": [True, "是", "no", 0, 1, 2, "maybe", None, np.bool_(True)],
    "base": ["百丈漈基地", "Baizhangji Base", "nowhere", None, 5],
    "position_method": ["GPS", "估计", "estimate", "guess", None, 1],
    "拍摄许可": ["要", "", None, ["x"]],
    "fid": [1, None],
}


@pytest.mark.parametrize("rows", [COLUMN_MIN_ROWS, COLUMN_MIN_ROWS - 1, 300])
@pytest.mark.parametrize("html", [False, True])
def test_rows_mapped_a_column_at_a_time_get_what_each_gets_alone(rows, html):
    """map_rows gives each row what map_props gives it alone: a file's rows share their columns (one group), a few
    rows have columns of their own (groups too small for the column form), in every kind of cell."""
    rng = random.Random(rows)
    props = [{key: rng.choice(cells) for key, cells in _CELLS.items()} for _ in range(rows)]
    props += [{"name": "独行", "海拔": "100米"}, {"title": "Lone", "name": None, "genre": "nature"}]
    together = map_rows(props, BASES, html)
    alone = [map_props(row, BASES, html) for row in props]
    assert together == alone
    assert any(mapped.get("facilities") for mapped, _ in together), "the sample must hold facilities"
    assert any(ignored for _, ignored in together), "the sample must hold reported columns"


def test_rows_of_a_column_that_repeat_a_term_list_each_get_their_own_list():
    """map_columns converts a repeated list once and lets the column's rows share it; a row read from it (as
    map_rows and the import's updates read it) has its own list, so changing one row changes no other."""
    rows = [{"name": f"点{i}", "genres": ["古装", "nature"], "best_seasons": ["春"]} for i in range(COLUMN_MIN_ROWS)]
    mapped = map_columns(rows, {}, html=False)
    genres = mapped.column("genres")
    assert genres[0] is genres[1] and genres[0] == ["costume", "nature"], "a repeated list is converted once"
    first, second = mapped.row(0), mapped.row(1)
    first["genres"].append("changed by a caller")
    assert second["genres"] == ["costume", "nature"] and genres[1] == ["costume", "nature"], "a row's list was shared"
    together = map_rows(rows, {}, html=False)
    together[0][0]["best_seasons"].clear()
    assert together[1][0]["best_seasons"] == ["spring"]


_NAME_CELLS = {
    "name": ["铜铃山", "百丈漈瀑布 (Baizhangji Falls)", "飞云湖（Feiyun Lake）", "Lone Tree", "(x)", "", None, "A (B)"],
    "name_zh": ["百丈漈", "", None],
    "name_en": ["Baizhangji", "", None],
    "description": ["瀑布", "a fall", "", None],
    "description_zh": ["落差", None],
    "description_en": ["", "drop", None],
}


@pytest.mark.parametrize("generic", [True, False])
@pytest.mark.parametrize("copy", [True, False])
def test_name_columns_give_each_row_what_site_names_gives_it(generic, copy):
    """site_name_columns names every row as site_names names it alone (None where it gives no key), with and
    without the generic name and description columns."""
    rng = random.Random(f"{generic}{copy}")
    rows = [{key: rng.choice(cells) for key, cells in _NAME_CELLS.items() if generic or key in ("name_zh", "name_en",
                                                                                                 "description_zh")}
            for _ in range(200)]
    mapped = map_columns(rows, {}, html=False)
    columns = site_name_columns(mapped, copy)
    for i in range(len(rows)):
        alone = site_names(mapped.row(i), copy)
        assert {key: values[i] for key, values in columns.items() if values[i] is not None} == alone, rows[i]
    assert any(values.count(None) for values in columns.values()), "the sample must hold rows without a name"


_POINTS = [(120.1, 27.8), (120.1, 27.8), (-180.0, 90.0), (180.0, -90.0), (-0.0, 0.0), (120, 27), (27.8, 120.1),
           (181.0, 27.8), (120.1, -90.5), (float("nan"), 27.8), (float("inf"), 27.8), ("120.1", 27.8), (True, 27.8),
           (10 ** 400, 27.8), None, [120.1, 27.8], (np.float64(120.1), 27.8)]


@pytest.mark.parametrize("datum", ["wgs84", "gcj02"])
def test_points_checked_as_a_column_get_what_each_gets_alone(datum):
    """_checked_positions gives each row the point (or the error) that _checked_position gives it alone: points of
    every kind, in WGS-84 and a Chinese datum, and rows whose own columns name their datum."""
    rows = [SourceRow(n, {}, point=point, datum=row_datum, hint=" (hint)")
            for n, (point, row_datum) in enumerate(((p, d) for p in _POINTS for d in (None, "bd09")), start=1)]

    def outcome(position):
        return (position.field, position.reason) if isinstance(position, sites.RecordError) else position

    column = plan._checked_positions(rows, datum)
    assert [outcome(p) for p in column] == [outcome(plan._checked_position(row, datum)) for row in rows]
    assert sum(isinstance(p, sites.RecordError) for p in column) == 16, "the sample must hold wrong points"


# --------------------------------------------------------------------------- duplicate search

def _nearest_by_scanning(entries: list, keys: set[str], lon: float, lat: float) -> dict | None:
    """The duplicate search without cells: every entry of the same name measured."""
    best = None
    for order, (entry_keys, entry_lon, entry_lat, info) in enumerate(entries):
        if entry_keys & keys:
            metres = geo.distance_bearing(lon, lat, entry_lon, entry_lat).distance_m
            if metres <= plan.DUPLICATE_RADIUS_M and (best is None or (metres, order) < best[:2]):
                best = (metres, order, info)
    return None if best is None else best[2] | {"distance_m": round(best[0], 1)}


def test_names_no_other_row_has_are_left_out_of_the_duplicate_search_without_changing_its_answers():
    """An index told the rows' names to come (expect) skips the rows whose names nothing else has: every row's
    duplicate (or none) is what the index that searches every row finds, against stored sites and earlier rows."""
    rng = random.Random(11)
    stored = [({"瀑布"}, 120.0, 27.8, {"id": 1}), ({"stored only", "仅库"}, 120.1, 27.8, {"id": 2})]
    names = ["瀑布", "停车场", "parking", "仅库", "古道"] + [f"独{i}" for i in range(60)]
    rows = []
    for _ in range(400):
        keys = set(rng.sample(names, rng.choice([1, 2])))
        rows.append((keys, 120.0 + rng.uniform(-0.0004, 0.0004), 27.8 + rng.uniform(-0.0004, 0.0004)))
    rows.insert(200, ({"stored only"}, 120.1001, 27.8))  # once in the file, and a stored site's name

    def plan_rows(told: bool) -> list:
        index = plan._SameNameIndex()
        for keys, lon, lat, info in stored:
            index.add(keys, lon, lat, info)
        if told:
            index.expect([keys for keys, _, _ in rows] + [None])
        found = []
        for n, (keys, lon, lat) in enumerate(rows):
            duplicate = index.shared(keys) and index.nearest(keys, lon, lat)
            found.append(duplicate or None)
            if not duplicate and index.shared(keys):
                index.add(keys, lon, lat, {"row": n})
        return found

    searched_all, told = plan_rows(False), plan_rows(True)
    assert told == searched_all
    assert told[200] and told[200]["id"] == 2, "a name the file has once is still searched among stored sites"
    assert sum(d is not None for d in told) > 100 and sum(d is None for d in told) > 20, "the sample needs both kinds"


@pytest.mark.parametrize("lon,lat", [(120.0, 27.8), (120.0005, 27.8005), (-179.9999, 0.0), (179.9997, -45.0),
                                     (10.0, 89.9995), (0.0, -89.8), (-0.0002, 0.0002)])
def test_the_duplicate_search_by_cells_finds_what_measuring_every_same_name_point_finds(lon, lat):
    """Points of a few names around one place (on a cell's corner, across the antimeridian, by a pole) at 50 m ± a
    little and further: the cells find the same nearest point, at the same distance, as measuring every point."""
    rng = random.Random(f"{lon},{lat}")
    index, entries = plan._SameNameIndex(), []
    for i in range(600):
        keys = {rng.choice(["停车场", "parking", "瀑布"])}
        bearing = rng.uniform(0, 360)
        metres = rng.choice([rng.uniform(0, 120), rng.uniform(49.5, 50.5), 50.0])
        p_lon, p_lat, _ = geo._GEOD.fwd(lon, lat, bearing, metres)
        p_lon = (p_lon + 180) % 360 - 180
        entries.append((keys, p_lon, p_lat, {"row": i}))
        index.add(keys, p_lon, p_lat, {"row": i})
    found = []
    for _ in range(300):
        bearing, metres = rng.uniform(0, 360), rng.uniform(0, 60)
        q_lon, q_lat, _ = geo._GEOD.fwd(lon, lat, bearing, metres)
        q_lon = (q_lon + 180) % 360 - 180
        keys = {rng.choice(["停车场", "parking", "瀑布", "石桥"]), "parking"} if rng.random() < 0.2 else \
            {rng.choice(["停车场", "瀑布", "石桥"])}
        expected = _nearest_by_scanning(entries, keys, q_lon, q_lat)
        assert index.nearest(keys, q_lon, q_lat) == expected, (keys, q_lon, q_lat)
        found.append(expected)
    assert sum(hit is not None for hit in found) > 100 and None in found, "the sample must hold hits and misses"


def test_the_duplicate_search_keeps_50_m_and_not_a_little_more_across_a_cell_edge():
    edge = plan._SameNameIndex.CELL_DEG * 55_600  # a cell boundary: latitude 27.8, in Wencheng
    index = plan._SameNameIndex()
    index.add({"石桥"}, 120.0, edge + 1e-7, {"row": 1})
    for i in range(30):  # others of the name, kilometres away: the search must go by cells, not scan them all
        index.add({"石桥"}, 120.05 + i * 0.01, edge, {"row": 2 + i})
    for metres, hit in [(49.9, True), (50.0, True), (50.1, False)]:
        lon, lat, _ = geo._GEOD.fwd(120.0, edge + 1e-7, 180.0, metres)  # due south, into the cell below
        assert plan._SameNameIndex()._cell(lon, lat) != index._cell(120.0, edge + 1e-7), "the point is in another cell"
        found = index.nearest({"石桥"}, lon, lat)
        assert (found is not None) == hit, metres
        if hit:
            assert found == {"row": 1, "distance_m": round(metres, 1)}


def test_the_duplicate_named_is_the_nearest_even_when_both_round_to_the_same_distance():
    """18.36 m and then 18.39 m away: both show as 18.4 m, and the first (nearer) one is named.  (The search used to
    compare each distance with the rounded best, so the later, farther point replaced it.)"""
    index = plan._SameNameIndex()
    for row, metres in [(1, 18.36), (2, 18.39)]:
        lon, lat, _ = geo._GEOD.fwd(120.0, 27.8, 90.0, metres)
        index.add({"瀑布"}, lon, lat, {"row": row})
    assert index.nearest({"瀑布"}, 120.0, 27.8) == {"row": 1, "distance_m": 18.4}


def test_a_file_that_repeats_one_name_is_searched_by_cells_not_by_every_earlier_row(monkeypatch):
    """100,000 "停车场" a few hundred metres apart: each search measures only its neighbours."""
    index = plan._SameNameIndex()
    for i in range(20_000):
        index.add({"停车场"}, 120.0 + (i % 200) * 0.003, 27.6 + (i // 200) * 0.003, {"row": i})
    measured = []
    real = geo.distance_bearing

    def counting(*args):
        measured.append(args)
        return real(*args)

    monkeypatch.setattr(geo, "distance_bearing", counting)
    assert index.nearest({"停车场"}, 120.3, 27.75)["row"] == 50 * 200 + 100
    assert index.nearest({"停车场"}, 120.3015, 27.7515) is None, "the nearest is 160 m away"
    assert len(measured) <= 4, f"{len(measured)} points measured"


@pytest.mark.parametrize("mapped,copy,expected", [
    ({"name": "百丈漈瀑布 (Baizhangji Falls)"}, False, {"name_zh": "百丈漈瀑布", "name_en": "Baizhangji Falls"}),
    ({"name": "Tongling Gorge"}, False, {"name_en": "Tongling Gorge"}),
    ({"name": "铜铃山"}, True, {"name_zh": "铜铃山", "name_en": "铜铃山"}),
    ({"name": "铜铃山", "name_en": "Tongling"}, False, {"name_zh": "铜铃山", "name_en": "Tongling"}),
    ({"description": "Quiet"}, True, {"description_zh": "Quiet", "description_en": "Quiet"}),
])
def test_names_split_by_script(mapped, copy, expected):
    assert site_names(mapped, copy=copy) == expected


def test_vocabulary_terms_and_plain_values():
    assert vocab_term("Youth Drama", GENRES) == "youth"
    assert vocab_term("青春", GENRES) == "youth"
    assert vocab_term("ming-qing", GENRES) == "ming_qing"
    assert vocab_term("unknown", GENRES) == "unknown"
    assert plain_value(b"\x00blob") is None, "GDAL's binary columns carry nothing a site can use"


# --------------------------------------------------------------------------- readers

OPTS = ImportOptions()
POINTS = [("铜铃山", 119.80, 27.70), ("百丈漈", 119.90, 27.80)]


def _read(path: Path, tmp_path: Path, opts: ImportOptions = OPTS):
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    return read_source(path, opts, work)


def _frame(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [n for n, _, _ in POINTS], "海拔": [620.0, 310.0]},
                            geometry=[Point(x, y) for _, x, y in POINTS], crs="EPSG:4326").to_crs(crs)


def _points(source) -> list[tuple[str, float, float]]:
    return [(row.props.get("name", row.props.get("Name")), round(row.point[0], 6), round(row.point[1], 6)) for row in source.rows]


def test_geojson_reader(tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": n, "genres": ["youth"]}, "geometry": {"type": "Point", "coordinates": [x, y]}}
        for n, x, y in POINTS] + [{"type": "Feature", "properties": {"name": "河"},
                                   "geometry": {"type": "LineString", "coordinates": [[119.8, 27.7], [119.9, 27.8]]}}]}
    path = tmp_path / "sites.txt"  # the name says nothing: the content decides
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    source = _read(path, tmp_path)
    assert source.format == "geojson"
    assert _points(type(source)(source.format, source.rows[:2])) == POINTS
    assert source.rows[0].props["genres"] == ["youth"], "lists stay lists"
    assert source.rows[2].point is None and "LineString" in source.rows[2].error[1]


def test_csv_reader_gbk_semicolons_and_datum_columns(tmp_path):
    text = "名称;lon_gcj02;lat_gcj02\n铜铃山;119.8;27.7\n\n百丈漈;x;27.8\n"
    path = tmp_path / "sites.csv"
    path.write_bytes(text.encode("gb18030"))
    source = _read(path, tmp_path)
    assert source.format == "csv"
    assert [r.props["名称"] for r in source.rows] == ["铜铃山", "百丈漈"], "blank lines are skipped"
    assert source.rows[0].point == (119.8, 27.7) and source.rows[0].datum == "gcj02"
    assert source.rows[1].line == 4 and "not numbers" in source.rows[1].error[1]


def test_csv_reader_wkt_column(tmp_path):
    path = tmp_path / "wkt.csv"
    path.write_text("name,wkt\n铜铃山,POINT (119.8 27.7)\n百丈漈,nonsense\n", encoding="utf-8")
    rows = _read(path, tmp_path).rows
    assert rows[0].point == (119.8, 27.7)
    assert rows[1].point is None and "not valid WKT" in rows[1].error[1]


def test_kml_and_kmz_readers(tmp_path):
    placemarks = "".join(f"<Placemark><name>{n}</name><description><![CDATA[<b>{n}</b>]]></description>"
                         f"<Point><coordinates>{x},{y},0</coordinates></Point></Placemark>" for n, x, y in POINTS)
    kml = ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           f"<Folder><name>外景</name>{placemarks}</Folder></Document></kml>")
    path = tmp_path / "a.kml"
    path.write_text(kml, encoding="utf-8")
    source = _read(path, tmp_path)
    assert (source.format, _points(source), source.layers) == ("kml", POINTS, ["外景"])
    assert source.html_descriptions and source.generated_descriptions
    kmz = tmp_path / "a.kmz"
    with zipfile.ZipFile(kmz, "w") as archive:
        archive.writestr("files/other.kml", "<kml xmlns='http://www.opengis.net/kml/2.2'><Document/></kml>")
        archive.writestr("doc.kml", kml)
    assert _read(kmz, tmp_path / "kmz").format == "kmz"
    assert _points(_read(kmz, tmp_path / "kmz2")) == POINTS, "doc.kml is the main document"


def test_gpx_reader_reads_waypoints_only(tmp_path):
    waypoints = "".join(f'<wpt lat="{y}" lon="{x}"><name>{n}</name><ele>100</ele></wpt>' for n, x, y in POINTS)
    gpx = (f'<?xml version="1.0"?><gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
           f'{waypoints}<trk><trkseg><trkpt lat="27.7" lon="119.8"/></trkseg></trk></gpx>')
    path = tmp_path / "a.gpx"
    path.write_text(gpx, encoding="utf-8")
    source = _read(path, tmp_path)
    assert source.format == "gpx" and _points(source) == POINTS
    assert source.rows[0].props["ele"] == 100.0


def test_geopackage_reader_reprojects_and_names_layers(tmp_path):
    path = tmp_path / "a.gpkg"
    _frame("EPSG:4549").to_file(path, layer="外景点", engine="pyogrio")  # CGCS2000 / 3-degree Gauss-Kruger CM 120E
    gpd.GeoDataFrame({"name": ["路"]}, geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:4326").to_file(
        path, layer="roads", engine="pyogrio")
    source = _read(path, tmp_path, ImportOptions(layer="外景点"))
    assert source.format == "gpkg" and source.layers == ["外景点"]
    assert _points(source) == POINTS, "reprojected to WGS-84"
    assert "reprojecting" in source.rows[0].hint
    with pytest.raises(InvalidParameter, match="no layer 'rivers'") as refused:
        _read(path, tmp_path / "x", ImportOptions(layer="rivers"))
    assert refused.value.name == "layer"


def test_zipped_shapefile_reader_with_gbk_attributes(tmp_path):
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    _frame().to_file(shp_dir / "景点.shp", engine="pyogrio", encoding="GB18030")
    (shp_dir / "景点.cpg").unlink(missing_ok=True)  # as many Chinese tools write it: no .cpg
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in shp_dir.iterdir():
            archive.write(part, part.name)
    source = _read(path, tmp_path)
    assert source.format == "shapefile" and source.layers == ["景点"]
    assert _points(source) == POINTS, "GBK attributes decoded without a .cpg"


@pytest.mark.parametrize("content,reason", [
    (b"", "is empty"),
    (b"SQLite format 3\x00" + b"\x00" * 200, "not a GeoPackage"),
    (b"\x00\x00\x27\x0a" + b"\x00" * 96, "bare .shp"),
    (b"<html><body/></html>", "neither KML nor GPX"),
    (b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY a "b">]><kml/>', "DTD or entity"),
    (b"<kml><unclosed></kml>", "not well-formed XML"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a file this import reads"),
    (b"name,notes\nx,y\n", "needs lon/lat"),
])
def test_files_no_reader_takes_are_refused_with_a_fitting_reason(tmp_path, content, reason):
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=reason):
        _read(path, tmp_path)


def test_a_zip_with_neither_kml_nor_shp_is_refused(tmp_path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ImportFileError, match="neither a .kml"):
        _read(path, tmp_path)


def test_each_format_has_exactly_one_reader(tmp_path):
    samples = {"json": b'{"type": "FeatureCollection", "features": []}', "text": b"lon,lat\n1,2\n",
               "xml-kml": b"<kml/>", "xml-gpx": b"<gpx/>"}
    for label, content in samples.items():
        path = tmp_path / label
        path.write_bytes(content)
        with Probe(path, OPTS) as probe:
            takers = [r.format for r in READERS if r.accepts(probe)]
        assert len(takers) == 1, f"{label}: {takers}"


# --------------------------------------------------------------------------- report

def _report() -> ImportReport:
    rows = [RowResult(row=1, action="create", slug="tongling", name_zh="铜铃山", name_en="Tongling Gorge",
                      lon=119.8, lat=27.7),
            RowResult(row=2, line=3, action="duplicate", name_zh="百丈漈", lon=119.9, lat=27.8,
                      duplicate_of={"id": 5, "slug": "baizhangji-falls", "distance_m": 12.4}),
            RowResult(row=3, action="invalid", name_en="Nowhere", error={"name": "geometry", "reason": "is missing"})]
    return ImportReport(file="a.csv", format="csv", datum="wgs84", dry_run=True, rows=rows, defaults={},
                        ignored_fields=["拍摄许可"], layers=[], message="dry run")


def test_report_totals_json_and_the_pages_rows():
    report = _report()
    assert report.totals == {"rows": 3, "create": 1, "update": 0, "unchanged": 0, "duplicate": 1, "invalid": 1,
                             "written": 0}
    assert report.as_json()["rows"][2] == {"row": 3, "action": "invalid", "name_en": "Nowhere",
                                           "error": {"name": "geometry", "reason": "is missing"}}
    assert page_rows(report)[1] == {"row": 3, "status": "duplicate", "name": "百丈漈", "field": "",
                                    "reason": "same name as site 5 baizhangji-falls, 12 m away"}
    assert page_rows(report)[2]["field"] == "geometry"


def test_report_table_aligns_chinese_names_by_terminal_columns():
    lines = _report().table().splitlines()
    header, first, second = lines[0], lines[1], lines[2]
    assert header.startswith("row  action")
    # "铜铃山 / Tongling Gorge" is 23 columns wide on a terminal, "百丈漈" 6: the lon column starts at one column.
    column = len(header[:header.index("lon")])
    def columns(text):
        return sum(2 if "\u4e00" <= c <= "\u9fff" else 1 for c in text)
    assert columns(first[:first.index("119.800000")]) == column
    assert columns(second[:second.index("119.900000")]) == column
    assert "3 rows: 1 create, 0 update, 0 unchanged, 1 duplicate, 1 invalid" in lines
    assert "ignored fields: 拍摄许可" in lines


# --------------------------------------------------------------------------- staging

def _stage(staging: Staging, owner: int = 7) -> str:
    staged = staging.new()
    staging.save(staged, io.BytesIO(b"lon,lat\n1,2\n"), 1000)
    staging.keep(staged, owner, "a.csv", {"datum": "wgs84"})
    return staged.token


def test_staging_commits_once_for_its_owner_only(tmp_path):
    staging = Staging(tmp_path / "imports")
    token = _stage(staging)
    assert len(token) == 32
    assert oct((tmp_path / "imports" / token / "upload.bin").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(NotStaged):
        with staging.claim(token, owner=8):
            pass
    with staging.claim(token, owner=7) as claimed:
        assert claimed.upload.read_bytes() == b"lon,lat\n1,2\n"
        assert claimed.meta["filename"] == "a.csv" and claimed.meta["options"] == {"datum": "wgs84"}
        with pytest.raises(NotStaged):  # the button pressed twice
            with staging.claim(token, owner=7):
                pass
    assert list((tmp_path / "imports").iterdir()) == [], "the claimed folder is removed after the commit"
    for bad in ("../../etc", "x" * 31, token):
        with pytest.raises(NotStaged):
            with staging.claim(bad, owner=7):
                pass


def test_staging_forgets_uploads_after_a_day_and_lists_what_a_crash_left(tmp_path):
    root = tmp_path / "imports"
    staging = Staging(root)
    waiting = _stage(staging)
    old = _stage(staging)
    then = time.time() - KEEP_SECONDS - 60
    os.utime(root / old, (then, then))
    unfinished = staging.new()          # a dry run that never wrote its meta.json
    (root / ("C" * 32 + ".committing")).mkdir()  # a commit that never ended
    (root / "notes").mkdir()            # not ours: never listed
    assert sorted(p.name for p in staging.abandoned()) == sorted([unfinished.token, "C" * 32 + ".committing"])
    staging.forget_expired()
    assert not (root / old).exists() and (root / waiting).exists()
