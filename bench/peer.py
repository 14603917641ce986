"""The peer of the HTTP workloads: pygeoapi (from PyPI) serving our sites through its SQL providers.

pygeoapi cannot join our narrow `site_tags` table, so the driver gives it a flattened copy of the same
sites, `peer_sites`: one row per site with its tags as comma lists and as one 0/1 column per genre
(`g_<slug>`) and per facility (`f_<slug>`), the point, and the spatial index each database offers
(GiST on PostGIS, an R*Tree on SpatiaLite).  A table rather than a view, so the peer never pays for the
join: the comparison favours the peer, if anything.
"""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, text

from scouting import vocab

GENRE_COLUMNS = {g: f"g_{g}" for g in vocab.GENRES}
FACILITY_COLUMNS = {f: f"f_{f}" for f in vocab.FACILITIES}


def _flag(vocabulary: str, term: str, column: str) -> str:
    return f"MAX(CASE WHEN vocabulary = '{vocabulary}' AND term = '{term}' THEN 1 ELSE 0 END) AS {column}"


def create_peer_table(engine: Engine) -> int:
    """(Re)create `peer_sites` from `sites` + `site_tags`; returns its row count."""
    postgis = engine.dialect.name == "postgresql"
    agg = ("string_agg(CASE WHEN vocabulary = '{v}' THEN term END, ',' ORDER BY term)" if postgis
           else "group_concat(CASE WHEN vocabulary = '{v}' THEN term END, ',')")
    flags = [_flag("genre", g, c) for g, c in GENRE_COLUMNS.items()]
    flags += [_flag("facility", f, c) for f, c in FACILITY_COLUMNS.items()]
    tags = (f"SELECT site_id, {agg.format(v='genre')} AS genres, {agg.format(v='terrain')} AS terrain, "
            f"{agg.format(v='facility')} AS facilities, {', '.join(flags)} FROM site_tags GROUP BY site_id")
    flag_names = [*GENRE_COLUMNS.values(), *FACILITY_COLUMNS.values()]
    plain = ("s.id, s.slug, s.name_zh, s.name_en, s.elevation_m, s.coord_accuracy_m, s.position_method, "
             "t.genres, t.terrain, t.facilities, " + ", ".join(f"COALESCE(t.{c}, 0) AS {c}" for c in flag_names))
    source = f"FROM sites s LEFT JOIN ({tags}) t ON t.site_id = s.id WHERE s.deleted_at IS NULL"
    with engine.begin() as conn:
        if postgis:
            conn.exec_driver_sql("DROP TABLE IF EXISTS peer_sites")
            conn.exec_driver_sql(f"CREATE TABLE peer_sites AS SELECT {plain}, s.geom {source}")
            conn.exec_driver_sql("ALTER TABLE peer_sites ADD PRIMARY KEY (id)")
            conn.exec_driver_sql("CREATE INDEX peer_sites_geom ON peer_sites USING GIST (geom)")
            conn.exec_driver_sql("ANALYZE peer_sites")
        else:
            if conn.exec_driver_sql("SELECT 1 FROM geometry_columns WHERE f_table_name = 'peer_sites'").first():
                conn.exec_driver_sql("SELECT DisableSpatialIndex('peer_sites', 'geom')")
                conn.exec_driver_sql("DROP TABLE IF EXISTS idx_peer_sites_geom")
                conn.exec_driver_sql("SELECT DiscardGeometryColumn('peer_sites', 'geom')")
            conn.exec_driver_sql("DROP TABLE IF EXISTS peer_sites")
            columns = ("id INTEGER PRIMARY KEY, slug TEXT, name_zh TEXT, name_en TEXT, elevation_m REAL, "
                       "coord_accuracy_m INTEGER, position_method TEXT, genres TEXT, terrain TEXT, facilities TEXT, "
                       + ", ".join(f"{c} INTEGER" for c in flag_names))
            conn.exec_driver_sql(f"CREATE TABLE peer_sites ({columns})")
            conn.exec_driver_sql("SELECT AddGeometryColumn('peer_sites', 'geom', 4326, 'POINT', 'XY')")
            names = "id, slug, name_zh, name_en, elevation_m, coord_accuracy_m, position_method, genres, terrain, " \
                    "facilities, " + ", ".join(flag_names) + ", geom"
            conn.exec_driver_sql(f"INSERT INTO peer_sites ({names}) SELECT {plain}, s.geom {source}")
            conn.exec_driver_sql("SELECT CreateSpatialIndex('peer_sites', 'geom')")
            conn.exec_driver_sql("ANALYZE")
        return conn.execute(text("SELECT count(*) FROM peer_sites")).scalar()


def write_config(path: Path, port: int, database_url: str, title: str) -> None:
    """A pygeoapi configuration (YAML; written as JSON, which YAML reads) publishing `peer_sites`."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        provider = {"type": "feature", "name": "PostgreSQL", "id_field": "id", "table": "peer_sites",
                    "geom_field": "geom",
                    "data": {"host": url.host or "127.0.0.1", "port": url.port or 5432, "dbname": url.database,
                             "user": url.username, "password": url.password, "search_path": ["public"]}}
    else:
        provider = {"type": "feature", "name": "SQLiteGPKG", "id_field": "id", "table": "peer_sites",
                    "data": str(Path(url.database).resolve())}
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port}, "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8", "language": "en-US",
            "cors": False, "pretty_print": False, "limits": {"default_items": 10, "max_items": 1000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OpenStreetMap"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {"title": title, "description": "benchmark peer", "keywords": ["bench"],
                               "keywords_type": "theme", "terms_of_service": "https://example.org/terms",
                               "url": "https://example.org"},
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench", "url": "https://example.org"},
            "contact": {"name": "bench", "position": "bench", "address": "-", "city": "-", "stateorprovince": "-",
                        "postalcode": "-", "country": "-", "phone": "-", "fax": "-", "email": "bench@example.org",
                        "url": "https://example.org", "hours": "-", "instructions": "-", "role": "pointOfContact"},
        },
        "resources": {
            "sites": {
                "type": "collection", "title": "sites", "description": "Wencheng Scout sites (flattened)",
                "keywords": ["sites"],
                "extents": {"spatial": {"bbox": [118.0, 27.0, 123.0, 31.5],
                                        "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
                "providers": [provider],
            },
        },
    }
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
