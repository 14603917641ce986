"""The bulk import's fast paths say exactly what the row-by-row rules say: the GeoJSON reader's orjson path and its
standard-library fallback, the term checks done once per distinct list, the county test for the whole file in one
vectorised call, the generated slugs, the report's column widths, and the sites, tags, revisions and audit events
written by one executemany per table.  The database tests run on SpatiaLite and PostGIS.
"""
from __future__ import annotations

import hashlib
import json
import random
import unicodedata
from pathlib import Path

import pytest
from shapely import wkt
from shapely.geometry import Point
from sqlalchemy import func, select

from scouting import bases, facts, sites
from scouting.imports import plan, report
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
    raw = {"genres": ["wuxia", "nature", "wuxia"], "terrain": [], "best_seasons": ["autumn"]}
    first = sites._terms(raw, "genres", sites.vocab.GENRES)
    first.append("changed by a caller")
    assert sites._terms(raw, "genres", sites.vocab.GENRES) == ["nature", "wuxia"], "a cached list was shared"
    for _ in range(2):  # errors are not cached: the second bad row gets the same message as the first
        with pytest.raises(sites.RecordError, match="unknown term 'jungle'") as err:
            sites._terms({"genres": ["nature", "jungle"]}, "genres", sites.vocab.GENRES)
        assert err.value.field == "genres"


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
        for rev in revisions:
            assert rev.after["slug"] == stored[rev.site_id].slug, "a revision belongs to another site"
            assert rev.changed_fields == sites.changed_fields(None, rev.after)
        tag_count = session.scalar(select(func.count()).select_from(SiteTag).where(SiteTag.site_id.in_(stored)))
        assert tag_count == sum(len(f["properties"]["genres"]) + len(f["properties"]["terrain"])
                                + len(f["properties"]["facilities"]) for f in feats)
        events = session.execute(select(AuditEvent.action, AuditEvent.object_id, AuditEvent.summary)
                                 .where(AuditEvent.action == "site.create", AuditEvent.channel == "import")).all()
        assert {(e.object_id, e.summary) for e in events} == {(str(i), s.slug) for i, s in stored.items()}
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before_events + 301  # + import.commit
