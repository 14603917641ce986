"""Fixtures: one app per database backend, migrated and seeded from geodata/ (flaskr style).

Every test that takes `app`/`client` runs on SpatiaLite and on PostGIS.  PostGIS comes from
SCOUTING_TEST_POSTGIS_URL (make test starts the local cluster; .ci/run installs it); when it is
unset the PostGIS leg is skipped locally, but fails when SCOUTING_REQUIRE_POSTGIS=1 (CI).
"""
from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from scouting import create_app, migrate
from scouting.geodata import load_geodata

from .browser import CHROMIUM, CHROMIUM_ARGS
from .helpers import ROOT, STAFF_PASSWORD

GEODATA = ROOT / "geodata"
BACKENDS = ("spatialite", "postgis")


def load_features(name: str) -> list[dict]:
    return json.loads((GEODATA / name).read_text(encoding="utf-8"))["features"]


def new_database_url(backend: str, tmp_path: Path) -> str:
    """A URL for a new, empty database of the backend."""
    if backend == "spatialite":
        return f"sqlite:///{tmp_path / f'scout-{uuid.uuid4().hex[:8]}.sqlite'}"
    base_url = os.environ.get("SCOUTING_TEST_POSTGIS_URL")
    if not base_url:
        if os.environ.get("SCOUTING_REQUIRE_POSTGIS") == "1":
            pytest.fail("SCOUTING_REQUIRE_POSTGIS=1 but SCOUTING_TEST_POSTGIS_URL is not set")
        pytest.skip("PostGIS leg: set SCOUTING_TEST_POSTGIS_URL (make test does it when PostgreSQL is installed)")
    url = make_url(base_url)
    name = f"scout_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("SCOUTING_REQUIRE_POSTGIS") == "1":
            pytest.fail(f"PostGIS is required but not reachable at {url.render_as_string(hide_password=True)}: {exc}")
        pytest.skip(f"PostGIS not reachable: {exc}")
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def make_app(url: str, instance: Path, seed: bool = True):
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "test-secret"}, instance_path=str(instance))
    engine = app.extensions["scouting"]["engine"]
    migrate.upgrade(engine)
    if seed:
        with app.extensions["scouting"]["sessionmaker"]() as session:
            load_geodata(session)
    return app


def seeded_database_with_planner(backend: str, tmp_path: Path, username: str) -> tuple[str, str]:
    """A new database, migrated and seeded, with a planner `username`; (its URL, her API token).  For tests
    that serve it from a process of their own (gunicorn); drop it with drop_database(url)."""
    from scouting import accounts

    url = new_database_url(backend, tmp_path)
    app = make_app(url, tmp_path / f"setup-{username}")
    with app.extensions["scouting"]["sessionmaker"]() as session:
        accounts.create_user(session, username, STAFF_PASSWORD, "planner")
        token = accounts.create_token(session, username)
    app.extensions["scouting"]["engine"].dispose()
    return url, token


@contextmanager
def synthetic_app(backend: str, tmp: Path, count: int, seed: int):
    """An app on a database of its own holding `count` synthetic sites (flask synth), dropped afterwards."""
    from scouting.synth import synthesize

    url = new_database_url(backend, tmp)
    app = make_app(url, tmp / "instance", seed=False)
    synthesize(app.extensions["scouting"]["engine"], count, seed=seed)
    try:
        yield app
    finally:
        app.extensions["scouting"]["engine"].dispose()
        drop_database(url)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(backend)
    url = new_database_url(backend, tmp)
    app = make_app(url, tmp / "instance")
    yield app
    app.extensions["scouting"]["engine"].dispose()
    drop_database(url)


@pytest.fixture
def fresh_app(backend, tmp_path):
    """An app on a new, migrated but empty database (for tests that write)."""
    url = new_database_url(backend, tmp_path)
    app = make_app(url, tmp_path / "instance", seed=False)
    yield app
    app.extensions["scouting"]["engine"].dispose()
    drop_database(url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def site_features() -> list[dict]:
    return load_features("sites.geojson")


@pytest.fixture(scope="session")
def base_features() -> list[dict]:
    return load_features("bases.geojson")


@pytest.fixture
def writer(fresh_app):
    """A test client on a seeded database of its own (for tests that write), with a planner `ping`, a director
    `dir` and their API tokens in `client.tokens`."""
    from scouting import accounts
    from scouting.geodata import load_geodata

    with fresh_app.extensions["scouting"]["sessionmaker"]() as session:
        load_geodata(session)
        accounts.create_user(session, "ping", STAFF_PASSWORD, "planner")
        accounts.create_user(session, "dir", STAFF_PASSWORD, "director")
        tokens = {"planner": accounts.create_token(session, "ping"), "director": accounts.create_token(session, "dir")}
    client = fresh_app.test_client()
    client.tokens = tokens
    return client


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, one per test module (a launch costs seconds); each test opens its own context or page."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
