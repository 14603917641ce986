"""The pipelined import: a block's new sites are written on a writer thread while the next block is planned, in the
one transaction.  An invalid row found after blocks were written, or a failure of the writer or of another writer's
save, leaves the database exactly as it was and no thread behind; a file of updates and creates over many blocks
gives the report and the rows that planning it whole before writing gives.  Every test runs on SpatiaLite and
PostGIS (real databases), with small blocks so that many are written before the end.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy import text as sql_text

from scouting import sites
from scouting.db import SpatialDialect, sqlite_module
from scouting.errors import PreconditionFailed
from scouting.imports import plan, write
from scouting.models import AuditEvent, Site, SiteRevision, SiteTag

from .conftest import drop_database, load_features, make_app, new_database_url
from .test_import import feature, geojson_file

STORED = load_features("sites.geojson")  # the seeded sites: rows with their slugs update them


def _writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "import-writer"]


def _state(session) -> dict:
    """What an import could change: row counts, the data version and (SpatiaLite) the triggers and indexes it sets
    aside while it writes."""
    state = {table: session.scalar(sql_text(f"SELECT count(*) FROM {table}"))  # noqa: S608 - our names
             for table in ("sites", "site_tags", "site_revisions", "audit_events")}
    state["data_version"] = session.scalar(sql_text("SELECT version FROM data_version"))
    if session.get_bind().dialect.name == "sqlite":
        state["schema"] = session.execute(sql_text("SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN "
                                                   "('sites', 'site_tags') ORDER BY type, name")).all()
    return state


def _import_holds_a_transaction(app) -> bool:
    """Whether another connection finds a write transaction open: SQLite's write lock taken (BEGIN IMMEDIATE fails
    at once), or a PostgreSQL backend of this database idle in a transaction."""
    engine = app.extensions["scouting"]["engine"]
    if engine.dialect.name == "sqlite":
        driver = sqlite_module()  # the app's own SQLite: two copies of the library in one process miss each other's locks
        raw = driver.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("ROLLBACK")
            return False
        except driver.OperationalError:
            return True
        finally:
            raw.close()
    with engine.connect() as conn:
        return bool(conn.scalar(sql_text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND state = 'idle in transaction'")))


def _counting_site_writes(monkeypatch) -> list[int]:
    """The number of new sites of each block written so far (the blocks' site rows, in the planner's thread)."""
    written: list[int] = []
    real = write._insert_site_rows

    def counting(conn, dialect, site_columns, now):
        ids = real(conn, dialect, site_columns, now)
        written.append(len(ids))
        return ids

    monkeypatch.setattr(write, "_insert_site_rows", counting)
    return written


def _import_fails_leaving_nothing(writer, path: Path, error: type[Exception], match: str) -> None:
    """Committing `path` raises `error`; the database is then as it was and no writer thread is left."""
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    with maker() as session:
        before = _state(session)
        with pytest.raises(error, match=match):
            plan.run_import(session, path, path.name, commit=True, actor="import:pipeline")
    assert _writer_threads() == [], "the writer thread outlived the import"
    with maker() as session:
        assert _state(session) == before, "a failed import left rows, a version bump or DDL behind"


def _places(count: int, prefix: str) -> list[dict]:
    return [feature(120.0 + i / 2000, 27.74 + (i % 7) / 1000, name_zh=f"{prefix}{i}", name_en=f"{prefix} {i}",
                    genres=["nature"], facilities=["parking"], terrain=["forest"] if i % 2 else [])
            for i in range(count)]


def test_an_invalid_row_after_blocks_were_written_writes_nothing_and_leaves_no_thread(writer, tmp_path: Path,
                                                                                      monkeypatch):
    monkeypatch.setattr(plan, "WRITE_CHUNK", 4)
    written = _counting_site_writes(monkeypatch)
    feats = _places(30, "流水线点")
    feats[25] = feature(120.06, 95.0, name_zh="出界点", genres=["nature"])  # in block 7: latitude out of range
    path = geojson_file(tmp_path / "late-invalid.geojson", feats)
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    held_while_planning = {}

    def progress(done, total):  # asked while the row is planned: is the import's transaction still open?
        held_while_planning[done] = _import_holds_a_transaction(writer.application)

    monkeypatch.setattr(plan, "PROGRESS_EVERY", 1)
    with maker() as session:
        before = _state(session)
        result = plan.run_import(session, path, path.name, commit=True, actor="import:pipeline", progress=progress)
    assert _writer_threads() == [], "the writer thread outlived the import"
    assert held_while_planning[24] and not held_while_planning[29], \
        f"the transaction was not open while blocks were written, or not let go once a row was invalid: " \
        f"{held_while_planning}"
    assert sum(written) == 24, f"the 6 blocks before the invalid row were not written first: {written}"
    assert not result.committed and result.totals["invalid"] == 1 and result.totals["create"] == 29
    assert [(r.row, r.error["name"]) for r in result.rows if r.action == "invalid"] == [(26, "geometry")]
    assert "nothing was written" in result.message
    with maker() as session:
        assert _state(session) == before, "an import with an invalid row left rows, a version bump or DDL behind"
        assert session.scalars(select(Site.id).where(Site.name_zh.like("流水线点%"))).all() == []


def test_a_database_failure_on_the_writer_thread_is_reported_and_nothing_is_written(writer, tmp_path: Path,
                                                                                    monkeypatch):
    """The third block's tags are made twice: the database refuses the second time (site_tags' primary key), on the
    writer thread.  The caller hears it as a conflict (as a failed write always did), the transaction is rolled
    back, and the thread has ended."""
    monkeypatch.setattr(plan, "WRITE_CHUNK", 5)
    real, calls = write.insert_new_site_tags, []

    def twice_in_the_third_block(conn, new_ids, facility_rows):
        calls.append((threading.current_thread().name, len(new_ids)))
        real(conn, new_ids, facility_rows)
        if len(calls) == 3:
            real(conn, new_ids, facility_rows)

    monkeypatch.setattr(write, "insert_new_site_tags", twice_in_the_third_block)
    path = geojson_file(tmp_path / "writer-fails.geojson", _places(40, "写失败点"))
    _import_fails_leaving_nothing(writer, path, PreconditionFailed, "nothing was written")
    assert calls[:3] == [("import-writer", 5)] * 3, f"the tags were not written on the writer thread: {calls}"
    assert len(calls) <= 4, f"blocks were still written after the failure: {calls}"


def test_a_failure_in_the_end_work_on_the_writer_thread_reaches_the_caller_and_nothing_is_written(
        writer, tmp_path: Path, monkeypatch):
    """After the last block the writer thread does the end work (the spatial index filled, the indexes rebuilt)
    while the caller frees what it planned: when that fails, the caller gets the failure itself and the transaction
    is rolled back; the thread has ended."""
    monkeypatch.setattr(plan, "WRITE_CHUNK", 4)
    real = SpatialDialect.deferred_spatial_index
    ended_on = []

    @contextmanager
    def failing_at_the_end(self, *args, **kwargs):
        with real(self, *args, **kwargs):
            yield
        ended_on.append(threading.current_thread().name)
        raise ValueError("sites.geom violates Geometry constraint [geom-type or SRID not allowed] in 1 new row(s)")

    monkeypatch.setattr(SpatialDialect, "deferred_spatial_index", failing_at_the_end)
    path = geojson_file(tmp_path / "end-fails.geojson", _places(10, "收尾点"))
    _import_fails_leaving_nothing(writer, path, ValueError, "violates Geometry constraint")
    assert ended_on == ["import-writer"], f"the end work ran elsewhere: {ended_on}"


def test_a_slug_saved_by_another_connection_during_the_import_is_reported_and_nothing_is_written(
        writer, tmp_path: Path, monkeypatch):
    """Another connection saves a site with a slug of the file's tenth row after the import read the stored slugs:
    the blocks before it are written, then its block's insert is refused; nothing of the import stays."""
    monkeypatch.setattr(plan, "WRITE_CHUNK", 3)
    written = _counting_site_writes(monkeypatch)
    feats = _places(15, "抢先点")
    for i, feat in enumerate(feats):
        feat["properties"]["slug"] = f"race-place-{i}"
    path = geojson_file(tmp_path / "race.geojson", feats)
    maker = writer.application.extensions["scouting"]["sessionmaker"]
    real_map = plan.map_columns

    def someone_saves_first(*args, **kwargs):  # _plan maps the file after reading the stored slugs
        with maker() as other:
            sites.create_site(other, {"slug": "race-place-9", "name_zh": "别人的点", "name_en": "Someone Else's",
                                      "lon": 120.09, "lat": 27.79, "coord_source": "survey", "coord_accuracy_m": 10,
                                      "position_method": "gps", "genres": ["nature"]}, "ping")
            other.commit()
        return real_map(*args, **kwargs)

    monkeypatch.setattr(plan, "map_columns", someone_saves_first)
    with maker() as session:
        with pytest.raises(PreconditionFailed, match="saved by someone else during the import; nothing was written"):
            plan.run_import(session, path, path.name, commit=True, actor="import:pipeline")
    assert _writer_threads() == []
    assert written == [3, 3, 3], f"the blocks before the conflict were not written first: {written}"
    with maker() as session:
        assert session.scalars(select(Site.slug).where(Site.slug.like("race-place-%"))).all() == ["race-place-9"]
        assert session.scalars(select(Site.id).where(Site.name_zh.like("抢先点%"))).all() == []


def _mixed_file(tmp_path: Path) -> Path:
    """Creates, updates of stored sites (by slug), an unchanged row, duplicates of earlier rows in earlier blocks
    and generated slugs that collide with earlier rows' of other blocks."""
    feats = []
    for i, stored in enumerate(STORED[:12]):
        lon, lat = stored["geometry"]["coordinates"]
        props = {"slug": stored["properties"]["slug"], "name_zh": stored["properties"]["name_zh"]}
        if i % 3:
            props["elevation_m"] = 300.0 + i  # an update
        if i % 4 == 1:
            lon, lat = lon + 0.001, lat  # moved ~100 m: the import's position source
        feats.append(feature(lon, lat, **props))
        feats.append(feature(120.01 + i / 900, 27.73, name_zh=f"混合点{i}", name_en="Mixed Place",  # slug mixed-place-N
                             genres=["nature", "red"], facilities=["parking", "toilets"]))
        if i >= 2:  # the new site of two rows back (an earlier block), 10 m away: a duplicate
            feats.append(feature(120.01 + (i - 2) / 900 + 0.0001, 27.73, name_zh=f"混合点{i - 2}", genres=["nature"]))
    return geojson_file(tmp_path / "mixed.geojson", feats)


def _outcome(app, result) -> dict:
    rows = [(r.row, r.action, r.slug, r.site_id, r.changes, r.duplicate_of, r.error) for r in result.rows]
    with app.extensions["scouting"]["sessionmaker"]() as session:
        stored = session.execute(select(Site.id, Site.slug, Site.name_zh, Site.name_en, Site.elevation_m, Site.lon,
                                        Site.lat, Site.coord_source, Site.version, Site.genre_mask,
                                        Site.facility_mask).order_by(Site.id)).all()
        tags = session.execute(select(SiteTag.site_id, SiteTag.vocabulary, SiteTag.term, SiteTag.status,
                                      SiteTag.source).order_by(SiteTag.site_id, SiteTag.vocabulary, SiteTag.term)).all()
        revisions = session.execute(select(SiteRevision.id, SiteRevision.site_id, SiteRevision.version,
                                           SiteRevision.action, SiteRevision.changed_fields, SiteRevision.after)
                                    .order_by(SiteRevision.id)).all()
        events = session.execute(select(AuditEvent.action, AuditEvent.object_id, AuditEvent.summary)
                                 .where(AuditEvent.action.in_(("site.update", "import.commit")))
                                 .order_by(AuditEvent.id)).all()
    return {"report": (result.totals, result.message, rows), "sites": stored, "tags": tags, "revisions": revisions,
            "events": events}


def test_updates_mixed_with_creates_over_many_blocks_give_what_one_block_gives(writer, backend, tmp_path: Path,
                                                                               monkeypatch):
    """The same file imported twice into the same seeded database: in blocks of 4 rows (each block's sites written
    while the next is planned, updates planned between writes) and as one block (the whole file planned before
    anything is written).  The reports, sites, tags, revisions and audit events are the same."""
    path = _mixed_file(tmp_path)
    reads_after_writes = []
    real_get_site = plan.get_site
    written = _counting_site_writes(monkeypatch)

    def noting(session, site_id):
        reads_after_writes.append(len(written))
        return real_get_site(session, site_id)

    monkeypatch.setattr(plan, "get_site", noting)
    monkeypatch.setattr(plan, "WRITE_CHUNK", 4)
    with writer.application.extensions["scouting"]["sessionmaker"]() as session:
        result = plan.run_import(session, path, path.name, commit=True, actor="import:mixed")
    assert result.committed, result.message
    totals = result.totals
    assert (totals["create"], totals["update"], totals["unchanged"], totals["duplicate"]) == (12, 9, 3, 10), totals
    assert max(reads_after_writes) >= 5, "no stored site was read after blocks had been written"
    pipelined = _outcome(writer.application, result)

    url = new_database_url(backend, tmp_path)  # a second database, seeded as the first
    whole_app = make_app(url, tmp_path / "whole-instance")
    try:
        monkeypatch.setattr(plan, "WRITE_CHUNK", 10_000)
        written.clear()
        with whole_app.extensions["scouting"]["sessionmaker"]() as session:
            whole = plan.run_import(session, path, path.name, commit=True, actor="import:mixed")
        assert written == [12], "the file was not written as one block"
        assert _outcome(whole_app, whole) == pipelined
    finally:
        whole_app.extensions["scouting"]["engine"].dispose()
        drop_database(url)
    assert _writer_threads() == []
