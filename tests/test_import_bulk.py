"""The bulk import's fast paths say exactly what the row-by-row rules say: the GeoJSON reader's orjson path and its
standard-library fallback, the term checks done once per distinct list, the county test for the whole file in one
vectorised call, the generated slugs, the report's column widths, and the sites, tags and revisions written by one
bulk insert per table with one audit event for the import.  The database tests run on SpatiaLite and PostGIS.
"""
from __future__ import annotations

import gc
import hashlib
import json
import random
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from shapely import wkt
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy import text as sql_text

from scouting import bases, db, facts, search, sites, vocab
from scouting.db import lon_strip, spatial_dialect
from scouting.imports import plan, report, write
from scouting.imports.readers.geojson import read_geojson
from scouting.models import AuditEvent, Site, SiteRevision, SiteTag

from .test_import import feature, geojson_file

COUNTY_BOX = (119.75, 27.5, 120.4, 28.0)  # Wencheng County with a margin: points both sides of its border


def _collection(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}, ensure_ascii=False).encode()


# --------------------------------------------------------------------------- reading

def test_an_integer_too_large_for_orjson_stays_an_exact_integer():
    """orjson would read 25 digits as a float; the row must see the integer the file wrote (its error names it)."""
    big = 1234567890123456789012345
    data = _collection(feature(120.06, 27.76, name_zh="大数", elevation_m=big))
    props = read_geojson(data, 10).rows[0].props
    assert type(props["elevation_m"]) is int and props["elevation_m"] == big, "the integer was turned into a float"


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf"])
def test_fast_and_standard_readers_give_the_same_rows(prefix):
    feats = [feature(120.06 + i / 1000, 27.76, name_zh=f"点{i}", genres=["nature"], elevation_m=i * 1.5,
                     note={"nested": [1, 2.5, None, True]}) for i in range(20)]
    data = prefix + _collection(*feats)
    from scouting.imports.readers import geojson as reader

    fast = reader._fast_document(data)
    assert fast is not None, "orjson did not read a plain file"
    assert fast == reader._document(data), "orjson and the standard library read the file differently"
    rows = read_geojson(data, 100).rows
    assert [(r.number, r.point, r.props) for r in rows] == [(n, (f["geometry"]["coordinates"][0], 27.76), f["properties"])
                                                            for n, f in enumerate(feats, start=1)]


@pytest.mark.parametrize("data", [b'{"type": "FeatureCollection", "features": [{"a": "\\ud800"}]}',
                                  b'{"type": "FeatureCollection", "features": [NaN]}',
                                  b'{"type": "FeatureCollection", "features": ['])
def test_what_orjson_refuses_is_left_to_the_standard_library(data):
    from scouting.imports.readers import geojson as reader

    assert reader._fast_document(data) is None, "orjson's refusal must fall back to the standard library"


# --------------------------------------------------------------------------- checks done once per distinct value

def test_term_lists_checked_once_give_fresh_lists_and_every_error():
    genres = ["wuxia", "nature", "wuxia"]
    first = sites._terms(genres, "genres", sites.vocab.GENRES)
    first.append("changed by a caller")
    assert sites._terms(genres, "genres", sites.vocab.GENRES) == ["nature", "wuxia"], "a cached list was shared"
    for _ in range(2):  # errors are not cached: the second bad row gets the same message as the first
        with pytest.raises(sites.RecordError, match="unknown term 'jungle'") as err:
            sites._terms(["nature", "jungle"], "genres", sites.vocab.GENRES)
        assert err.value.field == "genres"
    column = sites.clean_site_records([dict(_GOOD, genres=list(genres))] * 3, set())
    column[0]["genres"].append("changed by a caller")
    assert column[1]["genres"] == ["nature", "wuxia"], "records of a column share a cached list"


_FACILITY_CELLS = [["toilets", "parking"], ["parking", "toilets", "parking"], [], None, ["spa"], ["parking", "spa"],
                   "parking", [{"facility": "parking", "status": "verified_present", "verified_by": "li",
                                "verified_at": "2026-01-02", "verified_how": "visit"}],
                   [{"facility": "parking", "status": "bogus"}], ["toilets", {"facility": "parking"}], [1], ["x"] * 17,
                   ("parking",)]


def test_a_facility_column_gives_each_record_what_clean_facilities_gives_it():
    """Every kind of cell, repeated with and without a source: the same entries (fresh copies) or the same error."""
    rng = random.Random(3)
    values = [rng.choice(_FACILITY_CELLS) for _ in range(300)]
    sources = [rng.choice([None, "county office", "  "]) for _ in range(300)]

    def alone(value, source):
        try:
            return facts.clean_facilities(value, source)
        except facts.FactError as err:
            return (err.field, err.reason, err.key, err.params)

    column = facts.clean_facility_column(values, sources)
    got = [(e.field, e.reason, e.key, e.params) if isinstance(e, facts.FactError) else e for e in column]
    assert got == [alone(v, s) for v, s in zip(values, sources, strict=True)]
    assert sum(isinstance(e, facts.FactError) for e in column) > 20, "the sample must hold wrong cells"
    lists = [e for e in column if isinstance(e, list) and e]
    assert len({id(entry) for entries in lists for entry in entries}) == sum(map(len, lists)), "entries shared"


def test_facility_lists_checked_once_give_fresh_entries_and_keep_the_source():
    first = facts.clean_facilities(["toilets", "parking"], "county office")
    first[0]["status"] = "changed by a caller"
    again = facts.clean_facilities(["toilets", "parking"], "county office")
    assert [e["status"] for e in again] == ["reported", "reported"], "a cached entry was shared"
    assert {e["source"] for e in again} == {"county office"}
    assert facts.clean_facilities(["toilets", "parking"], None)[0]["source"] is None, "the source is part of the key"
    for _ in range(2):
        with pytest.raises(facts.FactError, match="unknown term 'spa'"):
            facts.clean_facilities(["spa"], None)


def test_the_county_test_for_the_whole_file_matches_the_point_by_point_test(writer):
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        county = wkt.loads(bases.county_wkt(session))
    rng = random.Random(14)
    points = [(rng.uniform(COUNTY_BOX[0], COUNTY_BOX[2]), rng.uniform(COUNTY_BOX[1], COUNTY_BOX[3])) for _ in range(2000)]
    expected = {p for p in points if not county.contains(Point(p))}
    assert 0 < len(expected) < len(points), "the sample must have points on both sides of the border"
    assert plan._outside(county, [*points, None, sites.RecordError("geometry", "bad")]) == expected


@pytest.mark.parametrize("name_en", ["Baizhangji Falls", "  Tongling -- Gorge!! ", "Café Ünïcode 2", "İstanbul",
                                     "", "百丈漈", "a" * 80, "x_y.z", "123 Road No.5"])
def test_generated_slugs_follow_the_character_rule(name_en):
    words = "".join(c.lower() if c.isascii() and c.isalnum() else "-" for c in name_en)
    base = "-".join(filter(None, words.split("-")))[:56] or "site-" + hashlib.sha1(
        "名".encode(), usedforsecurity=False).hexdigest()[:8]
    assert plan._new_slug("名", name_en, set()) == base
    assert plan._new_slug("名", name_en, {base}) == f"{base}-2"


def test_report_widths_count_wide_characters_twice():
    samples = ["abc", "百丈漈瀑布 (Baizhangji Falls)", "ｆｕｌｌ", "😀 emoji", "\U00020000 ext-B", "é", "한국어", ""]
    for text in samples:
        assert report._width(text) == sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text), text
    assert report._clip("百丈漈瀑布百丈漈瀑布", 7) == "百丈漈…"


# --------------------------------------------------------------------------- the bulk write

def test_a_committed_import_writes_every_site_with_its_tags_revision_and_event(writer, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(plan, "WRITE_CHUNK", 7)  # 300 rows: 43 chunks, the last one short
    rng = random.Random(7)
    feats = [feature(round(rng.uniform(120.0, 120.15), 6), round(rng.uniform(27.7, 27.8), 6),
                     name_zh=f"批量点{i}", name_en=f"Bulk Place {i}", genres=rng.sample(["nature", "wuxia", "costume"], 2),
                     terrain=["forest"] if i % 2 else [], facilities=["parking"] if i % 3 else [],
                     best_seasons=["autumn"]) for i in range(300)]
    path = geojson_file(tmp_path / "bulk.geojson", feats)
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        before_events = session.scalar(select(func.count()).select_from(AuditEvent))
        result = plan.run_import(session, path, path.name, commit=True, actor="import:bulk")
    assert result.committed and result.totals["create"] == 300, result.message
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        stored = {s.id: s for s in session.scalars(select(Site).where(Site.name_en.like("Bulk Place %")))}
        assert sorted(stored) == sorted(r.site_id for r in result.rows), "the report's ids are not the stored sites"
        for row, feat in zip(result.rows, feats, strict=True):
            site = stored[row.site_id]
            props = feat["properties"]
            assert (site.slug, site.name_zh) == (row.slug, props["name_zh"]), f"row {row.row} got another site's id"
            assert sorted(site.terms("genre")) == sorted(props["genres"]), f"row {row.row}: genres"
            assert site.terms("terrain") == props["terrain"] and site.terms("facility") == props["facilities"]
        revisions = session.execute(select(SiteRevision.site_id, SiteRevision.version, SiteRevision.action,
                                           SiteRevision.after, SiteRevision.changed_fields)
                                    .where(SiteRevision.site_id.in_(stored))).all()
        assert len(revisions) == 300 and {(r.version, r.action) for r in revisions} == {(1, "create")}
        assert sorted(r.site_id for r in revisions) == sorted(stored), "a site without its revision, or with two"
        assert {(r.after, r.changed_fields) for r in revisions} == {(None, None)}, "a create stored its record again"
        for row in result.rows[::50]:  # its history reads the record the row was written from
            (created,) = sites.site_history(session, row.site_id)
            assert created.after["slug"] == row.slug and created.after["name_zh"] == feats[row.row - 1]["properties"]["name_zh"]
            assert created.changed_fields == sites.changed_fields(None, created.after)
        tag_count = session.scalar(select(func.count()).select_from(SiteTag).where(SiteTag.site_id.in_(stored)))
        assert tag_count == sum(len(f["properties"]["genres"]) + len(f["properties"]["terrain"])
                                + len(f["properties"]["facilities"]) for f in feats)
        # One audit event stands for the import and names the new sites' ids; each site's history has its revision.
        events = session.execute(select(AuditEvent.action, AuditEvent.object_type, AuditEvent.summary)
                                 .order_by(AuditEvent.id.desc()).limit(1)).all()
        assert events == [("import.commit", "import",
                           f"bulk.geojson: created 300 (site ids {min(stored)}-{max(stored)}), updated 0, "
                           "skipped 0 duplicate(s)")], events
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before_events + 1, \
            "a bulk import writes one audit event, not one per site"


def _sqlite_triggers(session) -> dict[str, str]:
    return dict(session.execute(sql_text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                     "AND tbl_name IN ('sites', 'site_tags')")).all())


def test_a_bulk_import_leaves_the_index_masks_and_triggers_as_row_by_row_writes_would(writer, tmp_path: Path,
                                                                                    monkeypatch):
    """The R*Tree filled in one statement, the masks set on the rows and the triggers set aside for the insert:
    afterwards the index is complete, the masks agree with site_tags, the version moved and every trigger is back."""
    monkeypatch.setattr(plan, "WRITE_CHUNK", 9)
    rng = random.Random(11)
    feats = [feature(round(rng.uniform(120.0, 120.15), 6), round(rng.uniform(27.7, 27.8), 6),
                     name_zh=f"索引点{i}", name_en=f"Indexed Place {i}", genres=rng.sample(["nature", "wuxia"], 1),
                     terrain=["forest"], facilities=rng.sample(["parking", "toilets", "boats"], 2))
             for i in range(40)]
    for feat in feats[::4]:  # a facility verified absent sets no bit, one verified present sets both masks'
        feat["properties"]["facility_status"] = [
            {"facility": "toilets", "status": "verified_absent", "verified_by": "ping", "verified_at": "2026-05-01",
             "verified_how": "visit"},
            {"facility": "boats", "status": "verified_present", "verified_by": "ping", "verified_at": "2026-05-01",
             "verified_how": "call"}]
    for feat in feats[1::3]:  # plain terms are reported with the site's facts_source, made from the masks in SQL
        feat["properties"]["facts_source"] = "县文旅局 2026 年名录"
    for feat in feats[2::4]:  # a facility reported with a source of its own is written over the row made in SQL
        feat["properties"]["facility_status"] = [
            {"facility": "parking", "status": "reported", "source": "村委会电话"}, {"facility": "toilets"}]
    path = geojson_file(tmp_path / "indexed.geojson", feats)
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        spatialite = session.get_bind().dialect.name == "sqlite"
        triggers_before = _sqlite_triggers(session) if spatialite else None
        version_before = session.scalar(sql_text("SELECT version FROM data_version"))
        result = plan.run_import(session, path, path.name, commit=True, actor="import:index", keep_records=True)
    assert result.committed and result.totals["create"] == 40, result.message
    ids = [row.site_id for row in result.rows]
    with maker() as session:
        assert session.scalar(sql_text("SELECT version FROM data_version")) != version_before, "data_version not bumped"
        assert search.tag_mask_problems(session) == [], "the masks disagree with site_tags after a bulk import"
        # Genre and terrain rows are inserted without their (empty) status columns: the rows are still exactly the
        # ones the record stands for, facility statuses included.
        stored_tags = session.execute(select(SiteTag.site_id, SiteTag.vocabulary, SiteTag.term, SiteTag.status,
                                             SiteTag.source, SiteTag.verified_by, SiteTag.verified_at,
                                             SiteTag.verified_how).where(SiteTag.site_id.in_(ids))).all()
        expected = {(row.site_id, t["vocabulary"], t["term"], t["status"], t["source"], t["verified_by"],
                     t["verified_at"], t["verified_how"]) for row in result.rows for t in sites.tag_rows(row.record)}
        assert {tuple(t) for t in stored_tags} == expected, "site_tags rows differ from the records' tag rows"
        assert {t.status for t in stored_tags if t.vocabulary != "facility"} == {None}
        assert {"verified_absent", "verified_present"} <= {t.status for t in stored_tags}
        assert {"县文旅局 2026 年名录", "村委会电话", None} <= {t.source for t in stored_tags}, "facility sources not kept"
        dialect = spatial_dialect(session)
        in_box = session.scalars(select(Site.id).where(dialect.bbox_filter("sites", Site.id, Site.geom,
                                                                           (120.0, 27.7, 120.15, 27.8)))).all()
        assert set(ids) <= set(in_box), "new sites missing from the spatial index"
        if spatialite:
            assert session.scalar(sql_text("SELECT CheckSpatialIndex('sites', 'geom')")) == 1, "R*Tree inconsistent"
            assert _sqlite_triggers(session) == triggers_before, "a trigger set aside was not made again as it was"
            stamp = session.scalar(sql_text("SELECT last_insert FROM geometry_columns_time WHERE f_table_name = 'sites'"))
            assert stamp and stamp.startswith(str(datetime.now(UTC).year)), stamp
        # Writes after the import go through the triggers again: a new site is indexed, a new tag sets its bit.
        site = sites.create_site(session, {"name_zh": "导入后新点", "name_en": "After Import", "lon": 120.02, "lat": 27.75,
                                           "genres": ["nature"], "coord_source": "test", "coord_accuracy_m": 10,
                                           "position_method": "gps"}, "test")
        session.commit()
        in_box = session.scalars(select(Site.id).where(dialect.bbox_filter("sites", Site.id, Site.geom,
                                                                           (120.01, 27.74, 120.03, 27.76)))).all()
        assert site.id in in_box, "a site created after a bulk import is not in the spatial index"
        if spatialite:
            assert session.scalar(sql_text("SELECT CheckSpatialIndex('sites', 'geom')")) == 1
        session.execute(sql_text("INSERT INTO site_tags (site_id, vocabulary, term) VALUES (:id, 'genre', 'costume')"),
                        {"id": ids[0]})
        session.commit()
        assert search.tag_mask_problems(session) == [], "the insert trigger of site_tags is not back"


def _varied_records(count: int) -> list[dict]:
    """Cleaned records that differ in every way the bulk write treats: filled and empty optional fields, a base or
    none, a facts source or none, plain facility terms, facilities verified present or absent, a facility reported
    with a source of its own."""
    rng = random.Random(13)
    verified = {"verified_by": "ping", "verified_at": "2026-05-01", "verified_how": "visit"}
    raws = []
    for i in range(count):
        raw = dict(_GOOD, slug=f"column-place-{i}", lon=120.0 + rng.random() / 5, lat=27.7 + rng.random() / 10,
                   genres=rng.sample(list(vocab.GENRES), rng.randint(1, 3)),
                   terrain=rng.sample(list(vocab.TERRAIN), rng.randint(0, 2)),
                   facilities=rng.sample(list(vocab.FACILITIES), rng.randint(0, 4)))
        if i % 2:
            raw.update(description_zh=None, elevation_m=None)
        if i % 3 == 0:
            raw["facts_source"] = "县文旅局 2026 年名录"
        if i % 4 == 0:
            raw["base"] = "liu-ji-base"
        if i % 5 == 0:
            raw["facilities"] = [{"facility": "toilets", "status": "verified_absent", **verified},
                                 {"facility": "boats", "status": "verified_present", **verified},
                                 {"facility": "parking", "status": "reported", "source": "村委会电话"}, "catering"]
        elif i % 7 == 3:  # every facility reported, one of them with a source of its own
            raw["facilities"] = [{"facility": "parking", "status": "reported", "source": "村委会电话"}, "catering"]
        raws.append(raw)
    records = sites.clean_site_records(raws, {"liu-ji-base"})
    assert not any(isinstance(rec, sites.RecordErrors) for rec in records), "the sample records must be valid"
    return records


def test_site_columns_give_each_record_the_row_and_tags_a_single_write_gives_it():
    """new_site_columns works a column at a time; each record's row must hold what apply_site_record writes, its
    masks must be those of its tag rows (vocab.site_masks), and the tag rows the masks stand for (made in SQL as
    db.insert_new_site_tags does) with the facility rows it returns over them must be exactly tag_rows(record)."""
    records = _varied_records(120)
    columns, facility_rows = sites.new_site_columns(sites.record_columns(records), {"liu-ji-base": 7})
    assert {len(values) for values in columns.values()} == {len(records)}
    assert any(rows for rows in facility_rows), "the sample must have facilities the masks do not stand for"
    for i, rec in enumerate(records):
        row = {key: values[i] for key, values in columns.items()}
        tags = sites.tag_rows(rec)
        assert {key: row[key] for key in sites.TEXT_LIMITS} == {key: rec[key] for key in sites.TEXT_LIMITS}
        assert (row["lon"], row["lat"], row["lon_strip"]) == (rec["lon"], rec["lat"], lon_strip(rec["lon"]))
        assert row["base_id"] == (7 if rec["base"] else None), f"record {i}: base"
        assert {key: row[key] for key in vocab.site_masks(tags)} == vocab.site_masks(tags), f"record {i}: masks"
        from_masks = {}
        for vocabulary, bits in vocab.TAG_BITS.items():
            mask = row["facility_mask" if vocabulary == "facility" else f"{vocabulary}_mask"]
            for term, bit in bits.items():
                if mask & (1 << bit):
                    facility = vocabulary == "facility"
                    from_masks[(vocabulary, term)] = {
                        "vocabulary": vocabulary, "term": term, "status": "reported" if facility else None,
                        "source": rec["facts_source"] if facility else None, "verified_by": None,
                        "verified_at": None, "verified_how": None}
        for index, tag in facility_rows:
            if index == i:
                from_masks[(tag["vocabulary"], tag["term"])] = tag
        key = lambda tag: (tag["vocabulary"], tag["term"])  # noqa: E731
        assert sorted(from_masks.values(), key=key) == sorted(tags, key=key), f"record {i}: tag rows"


def test_create_revisions_written_in_bulk_are_those_a_row_by_row_create_writes(writer, tmp_path: Path, monkeypatch):
    """An import's "create" revisions, a chunk at a time, store what the planner's form stores for a new site, column
    for column as the database holds it: who, when, version 1, and no record (sites.CREATE_REVISION)."""
    monkeypatch.setattr(plan, "WRITE_CHUNK", 8)
    feats = [feature(120.0 + i / 400, 27.75, name_zh=f"修订点{i}", name_en=f"Revision Place {i}", genres=["nature"])
             for i in range(20)]
    path = geojson_file(tmp_path / "revisions.geojson", feats)
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        result = plan.run_import(session, path, path.name, commit=True, actor="import:revisions")
        assert result.committed and result.totals["create"] == 20, result.message
        by_form = sites.create_site(session, {"name_zh": "表单点", "name_en": "Form Place", "lon": 120.05, "lat": 27.76,
                                              "coord_source": "survey", "coord_accuracy_m": 10, "position_method": "gps",
                                              "genres": ["nature"]}, "import:revisions")
        session.commit()
        spatialite = session.get_bind().dialect.name == "sqlite"
        cast = "" if spatialite else "::text"
        stored = session.execute(sql_text(
            f"SELECT site_id, version, action, changed_fields{cast}, before{cast}, after{cast}"
            + (", typeof(changed_fields), typeof(before), typeof(after)" if spatialite else "")
            + " FROM site_revisions WHERE actor = 'import:revisions'")).all()
    assert sorted(row[0] for row in stored) == sorted([row.site_id for row in result.rows] + [by_form.id])
    assert len({row[1:] for row in stored}) == 1, f"bulk and form creates store different things: {set(r[1:] for r in stored)}"
    assert stored[0][1:6] == (1, "create", "null", "null", "null"), stored[0]


def test_ids_reserved_for_a_bulk_import_leave_the_next_ones_to_other_writers(writer, tmp_path: Path):
    """New sites carry ids reserved before their insert (nothing read back); a site created afterwards, by the
    ORM as the planner's form does, gets an id of its own (PostgreSQL: the sequence moved past them)."""
    feats = [feature(120.0 + i / 400, 27.77, name_zh=f"编号点{i}", genres=["nature"]) for i in range(12)]
    path = geojson_file(tmp_path / "ids.geojson", feats)
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        before = session.scalar(select(func.max(Site.id)))
        result = plan.run_import(session, path, path.name, commit=True, actor="import:ids")
    ids = [row.site_id for row in result.rows]
    assert len(set(ids)) == 12 and min(ids) > before
    with maker() as session:
        assert sorted(session.scalars(select(Site.id).where(Site.name_zh.like("编号点%")))) == sorted(ids)
        site = sites.create_site(session, {"name_zh": "之后的点", "name_en": "Later Place", "lon": 120.05, "lat": 27.76,
                                           "coord_source": "survey", "coord_accuracy_m": 10, "position_method": "gps",
                                           "genres": ["nature"]}, "ping")
        assert site.id > max(ids), "a later site took an id at or below the import's"
        session.commit()
        if session.get_bind().dialect.name == "sqlite":  # times are text there: one form, however written
            stored = session.execute(sql_text("SELECT s.created_at, r.changed_at FROM sites s JOIN site_revisions r "
                                              "ON r.site_id = s.id WHERE s.id IN (:imported, :later)"),
                                     {"imported": ids[0], "later": site.id}).all()
            forms = {re.sub(r"\d", "9", value) for row in stored for value in row}
            assert forms == {"9999-99-99 99:99:99.999999"}, f"bulk and ORM writes store times differently: {forms}"


def test_the_tags_made_from_masks_are_those_of_the_import_s_own_sites_only(writer, tmp_path: Path, monkeypatch):
    """db.insert_new_site_tags makes tag rows for exactly the ids it is given: a range when they follow each other,
    else the list (on PostgreSQL another writer may draw ids from the sequence in the middle of an import; its site
    already has its tags, and making them again would fail the import)."""
    given = []
    monkeypatch.setattr(write, "insert_new_site_tags", lambda conn, ids, facility_rows: given.append(ids))
    feats = [feature(120.0 + i / 400, 27.78, name_zh=f"标签点{i}", genres=["nature", "red"], terrain=["forest"])
             for i in range(3)]
    path = geojson_file(tmp_path / "own.geojson", feats)
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:  # the sites are written with their masks, their tag rows left to the test
        result = plan.run_import(session, path, path.name, commit=True, actor="import:own")
    ours = [row.site_id for row in result.rows]
    assert given == [ours] and ours == list(range(ours[0], ours[0] + 3)), "the import's ids follow each other"
    with maker() as session:
        conn = session.connection()
        db.insert_new_site_tags(conn, [ours[0], ours[2]], [])  # the middle one is "another writer's": not ours
        db.insert_new_site_tags(conn, [ours[1]], [])            # a range of one
        session.commit()
        tags = session.execute(select(SiteTag.site_id, SiteTag.vocabulary, SiteTag.term)
                               .where(SiteTag.site_id.in_(ours))).all()
        assert sorted(tags) == sorted((site_id, vocabulary, term) for site_id in ours for vocabulary, term in
                                      [("genre", "nature"), ("genre", "red"), ("terrain", "forest")])
        assert search.tag_mask_problems(session) == []


def test_an_imported_site_can_be_deleted_undeleted_and_restored_to_its_import(writer, tmp_path: Path):
    path = geojson_file(tmp_path / "undo.geojson", [feature(120.05, 27.76, name_zh="可撤销点", name_en="Undoable Place",
                                                            genres=["nature"], elevation_m=321.5)])
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        result = plan.run_import(session, path, path.name, commit=True, actor="import:undo")
    site_id = result.rows[0].site_id
    with maker() as session:
        created = sites.site_history(session, site_id)
        assert [(r.version, r.action, r.actor) for r in created] == [(1, "create", "import:undo")]
        imported = created[0].after
        sites.update_site(session, site_id, {"name_en": "Renamed Place", "elevation_m": 10}, None, "ping")
        session.commit()
        sites.restore_revision(session, site_id, created[0].id, None, "ping")
        session.commit()
        hit = sites.site_or_404(session, site_id)
        assert sites.site_record(hit.site, hit.lon, hit.lat) == imported, "restoring the import's revision"
        sites.delete_site(session, site_id, None, "ping")
        session.commit()
        sites.undelete_site(session, site_id, "ping")
        session.commit()
        actions = [r.action for r in sites.site_history(session, site_id)]
        assert actions == ["undelete", "delete", "restore", "update", "create"], actions


# --------------------------------------------------------------------------- records cleaned a column at a time

_GOOD = {"slug": "good-place", "name_zh": "好地方", "name_en": "Good Place", "coord_source": "survey", "lon": 120.05,
         "lat": 27.76, "coord_accuracy_m": 12.4, "position_method": "gps", "genres": ["nature"], "terrain": ["forest"],
         "facilities": ["parking"], "best_seasons": ["autumn"], "elevation_m": 300, "verified": False,
         "description_zh": "  瀑布  "}
_BAD_VALUES = [
    ("slug", "bad slug"), ("slug", "  "), ("slug", 12), ("slug", "x" * 65), ("name_zh", None), ("name_en", "a\x01b"),
    ("name_en", "\ud800"), ("coord_source", ["list"]), ("description_en", "d" * 5001), ("description_en", "   "),
    ("permit_notes", "ok\tnote"), ("lon", "120"), ("lon", 181), ("lat", float("nan")), ("lat", True),
    ("elevation_m", float("inf")), ("elevation_m", -501), ("elevation_m", 12), ("area_m2", None), ("area_m2", -1),
    ("coord_accuracy_m", None), ("coord_accuracy_m", 7), ("position_method", "guess"), ("position_method", None),
    ("base", "no-such-base"), ("genres", []), ("genres", ["jungle"]), ("genres", "nature"), ("terrain", [1]),
    ("facilities", ["spa"]), ("facilities", [{"facility": "parking", "status": "verified_present"}]),
    ("best_seasons", ["monsoon"]), ("verified", "yes"), ("verified", True), ("name_en", "  Spaced  "),
]


def _outcome(result) -> object:
    if isinstance(result, sites.RecordErrors):
        return [(e.field, e.reason, e.key) for e in result.errors]
    return result


def test_records_cleaned_a_column_at_a_time_get_what_each_gets_alone():
    """Each record in a batch gets exactly what clean_site_record gives it alone (the batch's columns mix right
    and wrong values, so both the whole-column shortcut and the value-by-value rules run)."""
    rng = random.Random(5)
    records = []
    for i in range(400):
        raw = dict(_GOOD, slug=f"good-place-{i}")
        for field, value in rng.sample(_BAD_VALUES, rng.choice([0, 0, 1, 2, 3])):
            raw[field] = value
        records.append(raw)
    base_slugs = {"liu-ji-base"}
    batch = sites.clean_site_records(records, base_slugs)
    alone = []
    for raw in records:
        try:
            alone.append(sites.clean_site_record(raw, base_slugs))
        except sites.RecordErrors as err:
            alone.append(err)
    assert [_outcome(r) for r in batch] == [_outcome(r) for r in alone]
    good = sites.clean_site_records([dict(_GOOD)] * 3, base_slugs)
    assert all(rec == good[0] for rec in good) and good[0]["description_zh"] == "瀑布"
    assert good[0]["coord_accuracy_m"] == 13, "a GPS accuracy is rounded up"
    assert sum(isinstance(r, sites.RecordErrors) for r in batch) > 100, "the sample must hold many bad records"


_TERM_CELLS = {
    "genres": [["nature"], ["costume", "nature", "costume"], ["youth", "period"], list(vocab.GENRES)[:16]],
    "terrain": [["forest"], [], None, ["river", "forest"], ["forest"] * 17],
    "best_seasons": [["autumn"], ["winter", "spring"], [], None, ""],
}
_BAD_TERMS = [("genres", ["jungle"]), ("terrain", ["forest", "moon"]), ("best_seasons", ["monsoon"]),
              ("terrain", ("forest",)), ("genres", [])]


@pytest.mark.parametrize("bad", [None, *_BAD_TERMS])
def test_term_columns_cleaned_at_once_get_what_each_gets_alone(bad):
    """The genres, terrain and seasons columns of a batch, all right (taken in one pass) or with one wrong value
    (value by value): each record gets what clean_site_record gives it alone, repeats and order included."""
    rng = random.Random(7)
    records = [dict(_GOOD, slug=f"term-place-{i}", **{key: rng.choice(cells) for key, cells in _TERM_CELLS.items()})
               for i in range(200)]
    if bad:
        records[100][bad[0]] = bad[1]
    batch = sites.clean_site_records(records, {"liu-ji-base"})
    alone = []
    for raw in records:
        try:
            alone.append(sites.clean_site_record(raw, {"liu-ji-base"}))
        except sites.RecordErrors as err:
            alone.append(err)
    assert [_outcome(r) for r in batch] == [_outcome(r) for r in alone]
    assert sum(isinstance(r, sites.RecordErrors) for r in batch) == (1 if bad else 0), "only the wrong record fails"
    assert batch[0]["genres"] == alone[0]["genres"] and isinstance(batch[0]["genres"], list)


_NUMBER_CELLS = {  # cells the whole-column check takes, and cells it must leave to the value-by-value rule
    "lon": ([120.05, 120, -180, 180.0, -0.0, 119.5], [None, 180.0000001, "120", True, float("nan"), 10 ** 400]),
    "lat": ([27.76, 27, 90, -90.0], [None, 90.5, float("inf"), False]),
    "elevation_m": ([300, 300.5, None, -500, 9000.0, 2 ** 12], [9000.001, -501, "620", float("-inf"), 10 ** 30]),
    "area_m2": ([None, 0, 1e10, 2.5], [-0.5, 1e10 + 1, "big", True]),
    "coord_accuracy_m": ([12.4, 7, 0, 1e6, 2.5], [None, -1, 1e6 + 1, float("nan")]),
}


@pytest.mark.parametrize("field,wrong", [(field, None) for field in _NUMBER_CELLS]
                         + [(field, cell) for field, (_, bad) in _NUMBER_CELLS.items() for cell in bad])
def test_number_columns_checked_at_once_get_what_each_gets_alone(field, wrong):
    """A number column of plainly right values (taken at once, with numpy), alone and with one wrong value (then
    value by value): each record gets what clean_site_record gives it alone."""
    right, _ = _NUMBER_CELLS[field]
    rng = random.Random(field)
    cells = [rng.choice(right) for _ in range(120)] + ([] if wrong is None else [wrong])
    records = [dict(_GOOD, slug=f"n-{i}", **{field: cell}) for i, cell in enumerate(cells)]
    batch = sites.clean_site_records(records, set())
    alone = []
    for raw in records:
        try:
            alone.append(sites.clean_site_record(raw, set()))
        except sites.RecordErrors as err:
            alone.append(err)
    assert [_outcome(r) for r in batch] == [_outcome(r) for r in alone]
    assert sum(isinstance(r, sites.RecordErrors) for r in batch) == (0 if wrong is None else 1)
    if field != "coord_accuracy_m":  # (rounded to a whole number)
        assert {type(r[field]) for r in batch if isinstance(r, dict)} <= {float, type(None)}, "ints become floats"


@pytest.mark.parametrize("slug", ["ok-slug", "a", "x" * 64, " ok", "ok ", "bad slug", "x" * 65, "", "ünï", 5, None])
def test_a_plain_slug_is_one_the_cleaner_takes_as_it_is(slug):
    raw = dict(_GOOD, slug=slug)
    try:
        cleaned = sites.clean_site_record(raw, set())["slug"] == slug
    except sites.RecordErrors:
        cleaned = False
    assert sites.plain_slug(slug) == cleaned


def test_the_cyclic_collector_is_paused_for_an_import_and_resumed_after_it_even_on_failure(writer, tmp_path: Path,
                                                                                          monkeypatch):
    path = geojson_file(tmp_path / "gc.geojson", [feature(120.05, 27.76, name_zh="回收点", genres=["nature"])])
    seen = []
    real_plan = plan._plan

    def spying(*args, **kwargs):
        seen.append(gc.isenabled())
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(plan, "_plan", spying)
    assert gc.isenabled(), "the test needs the collector on to start with"
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        assert plan.run_import(session, path, path.name).totals["create"] == 1
    assert seen == [False], "the collector ran during the import"
    assert gc.isenabled(), "the collector was not resumed after the import"

    def failing(*args, **kwargs):
        raise RuntimeError("planned failure")

    monkeypatch.setattr(plan, "_plan", failing)
    with writer.application.extensions["scouting"]["sessionmaker"]() as session, \
            pytest.raises(RuntimeError, match="planned failure"):
        plan.run_import(session, path, path.name)
    assert gc.isenabled(), "a failed import left the collector paused"


def test_the_import_event_names_its_new_sites_as_runs_of_ids():
    from scouting.imports.write import _id_span

    assert _id_span([]) == ""
    assert _id_span([36]) == " (site id 36)"
    assert _id_span(list(range(36, 100036))) == " (site ids 36-100035)"
    assert _id_span([12, 7, 9, 10, 11]) == " (site ids 7, 9-12)", "sorted, and consecutive ids as one run"


def _table_counts(session) -> dict[str, int]:
    return {table: session.scalar(sql_text(f"SELECT count(*) FROM {table}"))  # noqa: S608 - our names
            for table in ("sites", "site_tags", "site_revisions", "audit_events")}


def test_flask_db_check_is_clean_after_a_bulk_import_from_the_command_line(writer, tmp_path: Path, monkeypatch):
    """Points made from lon/lat in the insert with the point and geometry triggers set aside, and tags made from the
    masks: `flask db check` finds nothing, the new sites are where their rows say, and every trigger is back."""
    monkeypatch.setattr(plan, "WRITE_CHUNK", 11)
    rng = random.Random(5)
    feats = [feature(round(rng.uniform(119.9, 120.2), 7), round(rng.uniform(27.6, 27.9), 7), name_zh=f"检查点{i}",
                     name_en=f"Checked Place {i}", genres=["nature"], terrain=rng.sample(["forest", "river"], 1),
                     facilities=["parking"] if i % 2 else [], elevation_m=rng.uniform(10, 900)) for i in range(50)]
    path = geojson_file(tmp_path / "checked.geojson", feats)
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        triggers_before = _sqlite_triggers(session) if session.get_bind().dialect.name == "sqlite" else None
    runner = writer.application.test_cli_runner()
    imported = runner.invoke(args=["import", str(path), "--commit", "--confirm-outside"])
    assert imported.exit_code == 0, imported.output
    checked = runner.invoke(args=["db", "check"])
    assert checked.exit_code == 0, f"flask db check after a bulk import: {checked.output}"
    with maker() as session:
        stored = session.execute(select(Site.name_en, Site.lon, Site.lat, func.ST_X(Site.geom), func.ST_Y(Site.geom),
                                        func.ST_SRID(Site.geom)).where(Site.name_en.like("Checked Place %"))).all()
        by_name = {row[0]: row[1:] for row in stored}
        for feat in feats:
            lon, lat = feat["geometry"]["coordinates"]
            assert by_name[feat["properties"]["name_en"]] == (lon, lat, lon, lat, 4326), feat["properties"]["name_en"]
        if triggers_before is not None:
            assert _sqlite_triggers(session) == triggers_before, "a trigger set aside was not made again as it was"
            # The R*Tree's boxes are the ones SpatiaLite's own trigger (RTreeAlign, row by row) would have made.
            new = "SELECT id FROM sites WHERE name_en LIKE 'Checked Place %'"
            boxes = f"SELECT pkid, xmin, xmax, ymin, ymax FROM idx_sites_geom WHERE pkid IN ({new}) ORDER BY pkid"
            bulk = session.execute(sql_text(boxes)).all()
            session.execute(sql_text(f"DELETE FROM idx_sites_geom WHERE pkid IN ({new})"))
            session.execute(sql_text(f"SELECT count(RTreeAlign('idx_sites_geom', id, geom)) FROM sites WHERE id IN ({new})"))
            assert len(bulk) == 50 and bulk == session.execute(sql_text(boxes)).all(), "R*Tree boxes differ from RTreeAlign's"
            session.rollback()


def test_an_import_that_fails_midway_writes_nothing_and_keeps_every_trigger(writer, tmp_path: Path, monkeypatch):
    """The sites of the first chunks are in, the tags are not yet: a failure there leaves every table, the data
    version and (SQLite's DDL being transactional) the triggers set aside exactly as they were."""
    monkeypatch.setattr(plan, "WRITE_CHUNK", 4)
    feats = [feature(120.0 + i / 500, 27.75, name_zh=f"中断点{i}", genres=["nature"], facilities=["parking"])
             for i in range(10)]
    path = geojson_file(tmp_path / "midway.geojson", feats)

    def failing(conn, new_ids, facility_rows):
        in_chunk = {"first": min(new_ids), "last": max(new_ids)}  # the first chunk's sites are in; their tags next
        assert conn.scalar(sql_text("SELECT count(*) FROM sites WHERE id BETWEEN :first AND :last"), in_chunk) == 4
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(write, "insert_new_site_tags", failing)
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        spatialite = session.get_bind().dialect.name == "sqlite"
        before = (_table_counts(session), session.scalar(sql_text("SELECT version FROM data_version")),
                  _sqlite_triggers(session) if spatialite else None)
        with pytest.raises(RuntimeError, match="the disk is full"):
            plan.run_import(session, path, path.name, commit=True, actor="import:midway")
    with maker() as session:
        after = (_table_counts(session), session.scalar(sql_text("SELECT version FROM data_version")),
                 _sqlite_triggers(session) if spatialite else None)
        assert after == before, "a failed import left rows, a version bump or a changed trigger behind"
        if spatialite:
            assert session.scalar(sql_text("SELECT CheckSpatialIndex('sites', 'geom')")) == 1


def _sqlite_indexes(session) -> dict[str, str]:
    return dict(session.execute(sql_text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                         "AND tbl_name = 'sites'")).all())


@pytest.mark.parametrize("fail", [False, True])
def test_an_import_that_doubles_the_sites_rebuilds_their_indexes_whole_or_leaves_them_as_they_were(
        writer, tmp_path: Path, monkeypatch, fail):
    """More new sites than the table held: its indexes that enforce nothing are built once at the end of the insert
    (SpatiaLite).  Afterwards every index is there as it was stored, holds every row (integrity_check) and answers
    a search for the new sites; a failure before the end leaves the indexes exactly as they were."""
    monkeypatch.setattr(plan, "WRITE_CHUNK", 25)
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        spatialite = session.get_bind().dialect.name == "sqlite"
        largest = session.scalar(select(func.max(Site.id)))
        indexes_before = _sqlite_indexes(session) if spatialite else None
        counts_before = _table_counts(session)
    feats = [feature(120.0 + (i % 100) / 1000, 27.75 + (i // 100) / 1000, name_zh=f"重建点{i}",
                     name_en=f"Rebuilt Place {i}", genres=["nature"], elevation_m=float(i % 97))
             for i in range(2 * largest)]
    path = geojson_file(tmp_path / "double.geojson", feats)
    if fail:
        def failing(conn, new_ids, facility_rows):
            raise RuntimeError("the disk is full")

        monkeypatch.setattr(write, "insert_new_site_tags", failing)
    with maker() as session:
        if fail:
            with pytest.raises(RuntimeError, match="the disk is full"):
                plan.run_import(session, path, path.name, commit=True, actor="import:double")
        else:
            result = plan.run_import(session, path, path.name, commit=True, actor="import:double")
            assert result.committed and result.totals["create"] == 2 * largest, result.message
    with maker() as session:
        if spatialite:
            assert _sqlite_indexes(session) == indexes_before, "an index set aside was not made again as it was"
            assert session.scalar(sql_text("PRAGMA integrity_check")) == "ok", "an index misses rows or has stray ones"
        if fail:
            assert _table_counts(session) == counts_before
            return
        in_box = session.scalar(sql_text("SELECT count(*) FROM sites WHERE lon_strip BETWEEN 2400 AND 2401 AND "
                                         "lat BETWEEN 27.7 AND 27.8 AND name_en LIKE 'Rebuilt Place %'"))
        assert in_box == 2 * largest
    features = writer.get("/api/sites?" + "q=重建点&limit=1000&bbox=119.99,27.69,120.3,27.95").get_json()["features"]
    assert len(features) == 2 * largest, "a search by box (ix_sites_point) misses new sites"


def test_a_wrong_geometry_fails_the_bulk_insert_as_the_trigger_would(writer):
    """With SpatiaLite's geometry trigger set aside, a geometry of another SRID is still refused, for the whole set
    of new rows at once; PostGIS's geometry(Point, 4326) column refuses it itself.  Nothing is written."""
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        spatialite = session.get_bind().dialect.name == "sqlite"
        conn = session.connection()
        dialect = spatial_dialect(session)
        last = session.scalar(select(func.max(Site.id)))
        before = _table_counts(session)
        row = {"slug": "wrong-srid", "name_zh": "错点", "name_en": "Wrong", "best_seasons": [], "verified": False,
               "version": 1, "coord_source": "t", "coord_accuracy_m": 1, "position_method": "gps",
               "geom": "SRID=3857;POINT(13360000 3220000)", "lon": 120.0, "lat": 27.7, "lon_strip": 2400}
        now = {"created_at": datetime.now(UTC), "updated_at": datetime.now(UTC)}
        refused = pytest.raises(ValueError, match="sites.geom violates Geometry constraint") if spatialite else \
            pytest.raises(Exception, match="SRID")
        with refused:
            with dialect.deferred_spatial_index(conn, "sites", "geom", last):
                dialect.bulk_insert(conn, Site.__table__, [row], now)
        session.rollback()
        assert _table_counts(session) == before
