"""Set-up problems end in one readable sentence, and the schema migrates both ways on both databases."""
from __future__ import annotations

import os
import subprocess
import sys
import types

import pytest
from sqlalchemy import inspect, text

from scouting import db, migrate
from scouting.errors import DatabaseUnavailable

from .conftest import ROOT, new_database_url


def test_missing_mod_spatialite_is_one_sentence(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}", "/nonexistent/mod_spatialite")
    with pytest.raises(DatabaseUnavailable) as err:
        engine.connect()
    assert "apt-get install libsqlite3-mod-spatialite" in err.value.detail


def test_missing_mod_spatialite_from_the_command_line(tmp_path):
    env = {**os.environ, "SCOUTING_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}",
           "SCOUTING_SPATIALITE_LIBRARY": "/nonexistent/mod_spatialite"}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "apt-get install libsqlite3-mod-spatialite" in result.stderr


def test_python_without_extension_loading_is_one_sentence(monkeypatch):
    crippled = types.SimpleNamespace(Connection=type("Connection", (), {}))  # like pyenv's sqlite3

    def fake_import(name):
        if name == "pysqlite3.dbapi2":
            raise ImportError(name)
        return crippled

    monkeypatch.setattr(db.importlib, "import_module", fake_import)
    with pytest.raises(DatabaseUnavailable) as err:
        db.sqlite_module()
    assert "pip install pysqlite3-binary" in err.value.detail


def test_unsupported_database_url():
    with pytest.raises(DatabaseUnavailable) as err:
        db.make_engine("mysql://somewhere/db")
    assert "SCOUTING_DATABASE_URL" in err.value.detail


def test_migrations_up_down_up(backend, tmp_path):
    url = new_database_url(backend, tmp_path)
    engine = db.make_engine(url)
    try:
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == "0014"
        assert "session_generation" in {c["name"] for c in inspect(engine).get_columns("users")}
        assert "source_public_en" in {c["name"] for c in inspect(engine).get_columns("themed_bases")}
        if backend == "spatialite":
            with engine.connect() as conn:
                tags_sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'site_tags'")).scalar()
            assert tags_sql.endswith("WITHOUT ROWID"), "site_tags keeps a rowid table"
        migrate.downgrade(engine, "0013")  # 0014 alone, both ways
        if backend == "spatialite":
            with engine.connect() as conn:
                assert not conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'site_tags'")).scalar() \
                    .endswith("WITHOUT ROWID"), "the downgrade left site_tags WITHOUT ROWID"
        migrate.downgrade(engine, "0012")  # 0013 alone, both ways
        assert "source_public_en" not in {c["name"] for c in inspect(engine).get_columns("themed_bases")}
        assert {"source_public_zh", "lon", "lat", "lon_strip"} <= {c["name"] for c in inspect(engine).get_columns("sites")}
        assert "ix_sites_point" in {i["name"] for i in inspect(engine).get_indexes("sites")}
        migrate.downgrade(engine, "0011")  # 0012 alone, both ways: the columns, their index and triggers go
        assert not {"lon", "lat", "lon_strip"} & {c["name"] for c in inspect(engine).get_columns("sites")}
        with engine.connect() as conn:
            triggers = ("SELECT name FROM sqlite_master WHERE type = 'trigger'" if backend == "spatialite" else
                        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            assert not {"sites_insert_point", "sites_update_point", "sites_point"} & set(conn.execute(text(triggers)).scalars())
        migrate.downgrade(engine, "0010")  # 0011 alone, both ways
        assert "source_public_zh" not in {c["name"] for c in inspect(engine).get_columns("sites")}
        migrate.downgrade(engine, "0007")  # 0009 and 0008 alone, both ways
        assert "session_generation" not in {c["name"] for c in inspect(engine).get_columns("users")}
        migrate.upgrade(engine)
        assert {"sites", "themed_bases", "site_tags", "boundaries", "audit_events"} <= set(inspect(engine).get_table_names())
        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        assert "sites" not in inspect(engine).get_table_names()
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == "0014"
        # The spatial index exists after the round trip.
        with engine.connect() as conn:
            if backend == "spatialite":
                assert conn.execute(text("SELECT spatial_index_enabled FROM geometry_columns "
                                         "WHERE f_table_name = 'sites'")).scalar() == 1
            else:
                assert conn.execute(text("SELECT count(*) FROM pg_indexes WHERE tablename = 'sites' "
                                         "AND indexdef LIKE '%gist%'")).scalar() == 1
    finally:
        engine.dispose()
        from .conftest import drop_database
        drop_database(url)


def test_secret_key_is_generated_once(tmp_path):
    from scouting import create_app
    url = f"sqlite:///{tmp_path / 'x.sqlite'}"
    first = create_app({"DATABASE_URL": url}, instance_path=str(tmp_path / "inst"))
    second = create_app({"DATABASE_URL": url}, instance_path=str(tmp_path / "inst"))
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0


def test_an_unmigrated_database_says_what_to_run(backend, tmp_path):
    from scouting import create_app
    url = new_database_url(backend, tmp_path)
    app = create_app({"DATABASE_URL": url}, instance_path=str(tmp_path / "inst"))
    engine = app.extensions["scouting"]["engine"]
    try:
        migrate.upgrade(engine, "0002")  # an older schema: sites has no deleted_at yet
        resp = app.test_client().get("/api/sites")
        assert resp.status_code == 503
        assert "flask --app app db upgrade" in resp.get_json()["detail"]
    finally:
        engine.dispose()
        from .conftest import drop_database
        drop_database(url)


def test_site_tags_rebuilt_without_rowid_keep_their_rows_index_and_triggers(tmp_path):
    """Migration 0014 (SpatiaLite only: PostgreSQL has no rowid) moves a seeded site_tags into a WITHOUT ROWID
    table: every row, the term index and the triggers are as before, and the triggers still keep the masks and the
    data version."""
    from scouting import create_app, vocab
    from scouting.geodata import load_geodata

    app = create_app({"DATABASE_URL": new_database_url("spatialite", tmp_path), "SECRET_KEY": "t"},
                     instance_path=str(tmp_path / "instance"))
    engine = app.extensions["scouting"]["engine"]
    migrate.upgrade(engine, "0013")
    with app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
    schema = ("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'site_tags' AND type IN ('index', 'trigger') "
              "AND sql IS NOT NULL ORDER BY name")

    def state():
        with engine.connect() as conn:
            return (conn.execute(text("SELECT * FROM site_tags ORDER BY site_id, vocabulary, term")).all(),
                    conn.execute(text(schema)).all(),
                    conn.execute(text("SELECT id, genre_mask, terrain_mask, facility_mask, facility_verified_mask "
                                      "FROM sites ORDER BY id")).all())

    before = state()
    assert len(before[0]) > 50 and len(before[1]) >= 6, "the seed must have tags, their index and triggers"
    migrate.upgrade(engine)
    assert state() == before, "rows, index, triggers or masks changed"
    with engine.begin() as conn:
        assert conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'site_tags'")).scalar().endswith(
            "WITHOUT ROWID")
        site_id, term = conn.execute(text("SELECT site_id, term FROM site_tags WHERE vocabulary = 'genre' LIMIT 1")).one()
        bit = 1 << vocab.TAG_BITS["genre"][term]
        version = conn.execute(text("SELECT version FROM data_version")).scalar()
        conn.execute(text("DELETE FROM site_tags WHERE site_id = :s AND vocabulary = 'genre' AND term = :t"),
                     {"s": site_id, "t": term})
        assert conn.execute(text("SELECT genre_mask FROM sites WHERE id = :s"), {"s": site_id}).scalar() & bit == 0
        conn.execute(text("INSERT INTO site_tags (site_id, vocabulary, term) VALUES (:s, 'genre', :t)"),
                     {"s": site_id, "t": term})
        assert conn.execute(text("SELECT genre_mask FROM sites WHERE id = :s"), {"s": site_id}).scalar() & bit == bit
        assert conn.execute(text("SELECT version FROM data_version")).scalar() > version, "data_version did not move"
    engine.dispose()
