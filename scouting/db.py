"""Database engines and every difference between SpatiaLite and PostGIS, in one place.

Everything above this module speaks SQLAlchemy and calls the `SpatialDialect` methods below
where the two databases need different SQL.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass

# GDAL (inside pyogrio) must be loaded before any SpatiaLite connection: mod_spatialite brings the system
# SQLite and PROJ into the process, and a GDAL loaded after them binds to those copies and crashes.
import pyogrio  # noqa: F401, I001
from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    JSON,
    Engine,
    Float,
    Integer,
    String,
    bindparam,
    case,
    cast,
    column,
    create_engine,
    event,
    func,
    literal,
    literal_column,
    text,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from .errors import DatabaseUnavailable

SPATIALITE_PACKAGE = "libsqlite3-mod-spatialite"
MERCATOR_MAX_LAT = 85.0511287798  # Web Mercator's edge: the square world


# --------------------------------------------------------------------------- engines

def make_engine(url: str, spatialite_library: str = "mod_spatialite", pool_size: int = 5) -> Engine:
    """`pool_size` connections are kept per process: one per thread that serves requests (gunicorn.conf.py)."""
    if url.startswith("sqlite"):
        return _spatialite_engine(url, spatialite_library, pool_size)
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=5)
    raise DatabaseUnavailable(
        f"SCOUTING_DATABASE_URL must be a sqlite:/// (SpatiaLite) or postgresql+psycopg:// (PostGIS) URL, not {url.split(':')[0]!r}."
    )


def sqlite_module():
    """The DB-API module for SpatiaLite: one that can load extensions.

    Many Python builds (pyenv's among them) compile sqlite3 without extension loading; the
    pysqlite3-binary wheel brings its own SQLite that has it.
    """
    for name in ("pysqlite3.dbapi2", "sqlite3"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module.Connection, "enable_load_extension"):
            return module
    raise DatabaseUnavailable(
        "This Python's sqlite3 cannot load extensions (so not SpatiaLite) and pysqlite3-binary is not "
        "installed: run `pip install pysqlite3-binary` (make run does it in .venv)."
    )


def _spatialite_engine(url: str, library: str, pool_size: int = 5) -> Engine:
    module = sqlite_module()
    # Reads run outside transactions; the driver opens one only before the first INSERT/UPDATE/DELETE, so a
    # write transaction never starts as a read that must later be upgraded (SQLite fails such an upgrade at
    # once with "database is locked" when another writer committed meanwhile).  IMMEDIATE takes the write
    # lock at that BEGIN, waiting up to the busy timeout behind another writer; writes commit at once.
    engine = create_engine(url, module=module, connect_args={"timeout": 30, "isolation_level": "IMMEDIATE"},
                           pool_size=pool_size, max_overflow=5)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        try:
            dbapi_conn.enable_load_extension(True)
            dbapi_conn.load_extension(library)
            dbapi_conn.enable_load_extension(False)
        except Exception as exc:  # the loader's own message is cryptic; say what to do
            raise DatabaseUnavailable(
                f"SpatiaLite (mod_spatialite) could not be loaded from {library!r}: install it with "
                f"`apt-get install {SPATIALITE_PACKAGE}` ({exc})."
            ) from None
        cur = dbapi_conn.cursor()
        # WAL lets readers go on while one writer writes; the busy timeout waits instead of failing.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def prepare_spatial_database(engine: Engine) -> None:
    """Make an empty database spatial: SpatiaLite's metadata tables or the PostGIS extension."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            has_meta = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='spatial_ref_sys'"
            ).first()
            if not has_meta:
                # WGS84 mode loads only the WGS-84 family of SRIDs; loading every EPSG code is slow.
                conn.exec_driver_sql("SELECT InitSpatialMetaData(1, 'WGS84')")
        else:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.commit()


# SQLite's words for a database file that cannot be used at all (as opposed to a wrong statement).
_SQLITE_UNUSABLE = ("unable to open database file", "disk i/o error", "database is locked",
                    "database disk image is malformed", "file is not a database", "readonly database")


def is_unreachable(err: BaseException) -> bool:
    """Whether a driver error means the database cannot be reached or used now (not that a query is wrong):
    PostgreSQL refused or dropped the connection, or SQLite cannot open, lock or read its file."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(err, DBAPIError):
        return False
    if err.connection_invalidated:
        return True
    orig = err.orig
    if type(orig).__module__.startswith("psycopg"):
        import psycopg

        # No SQLSTATE: the client could not connect or lost the connection; class 08: connection exception;
        # 57P: the server is shutting down or starting up.  (Deadlocks and wrong statements are not outages.)
        state = getattr(orig, "sqlstate", None)
        return isinstance(orig, psycopg.OperationalError) and (state is None or state.startswith(("08", "57P")))
    return any(marker in str(orig).lower() for marker in _SQLITE_UNUSABLE)


# --------------------------------------------------------------------------- SQL differences

@dataclass(frozen=True)
class SpatialDialect:
    name: str  # "spatialite" or "postgis"

    @property
    def label(self) -> str:
        return {"spatialite": "SpatiaLite", "postgis": "PostGIS"}[self.name]

    def bbox_filter(self, table_name: str, id_col, geom_col, bbox: tuple[float, float, float, float]) -> ColumnElement[bool]:
        """Rows whose geometry's box meets `bbox`, answered from the spatial index.

        PostGIS's planner uses the GiST index for `&&` by itself.  SpatiaLite never uses its R*Tree
        unless asked through the SpatialIndex virtual table, whose ROWIDs are the table's ids.
        """
        minx, miny, maxx, maxy = bbox
        if self.name == "postgis":
            return geom_col.op("&&")(func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326))
        frame = text(
            "SELECT ROWID FROM SpatialIndex WHERE f_table_name = :si_table AND f_geometry_column = :si_column "
            "AND search_frame = BuildMbr(:si_minx, :si_miny, :si_maxx, :si_maxy, 4326)"
        ).bindparams(
            bindparam("si_table", table_name, unique=True),
            bindparam("si_column", geom_col.key, unique=True),
            bindparam("si_minx", minx, unique=True),
            bindparam("si_miny", miny, unique=True),
            bindparam("si_maxx", maxx, unique=True),
            bindparam("si_maxy", maxy, unique=True),
        )
        return id_col.in_(frame.columns(column("rowid", Integer)))

    def intersects(self, geom_col, wkt: str) -> ColumnElement[bool]:
        """Geometry meets the WGS-84 shape `wkt`.  SpatiaLite answers 1/0/-1 (-1: error), PostGIS a boolean."""
        shape = func.ST_GeomFromText(wkt, 4326)
        if self.name == "postgis":
            return func.ST_Intersects(geom_col, shape)
        return func.ST_Intersects(geom_col, shape) == 1

    def like(self, col, pattern: str) -> ColumnElement[bool]:
        """Case-sensitive LIKE with CQL2's wildcards (% any run, _ one character, \\ escapes the next one).

        PostgreSQL's LIKE is case-sensitive; SQLite's ignores ASCII case, so there the pattern becomes a GLOB
        (always case-sensitive), each literal character that GLOB treats specially wrapped in brackets.
        """
        if self.name == "postgis":
            return col.like(pattern, escape="\\")
        glob, chars = [], iter(pattern)
        for char in chars:
            if char == "\\":
                char = next(chars, "\\")
                glob.append(f"[{char}]" if char in "*?[" else char)
            elif char == "%":
                glob.append("*")
            elif char == "_":
                glob.append("?")
            else:
                glob.append(f"[{char}]" if char in "*?[" else char)
        return col.op("GLOB")("".join(glob))

    def grid_cell(self, x, y, cell_deg: float) -> tuple[ColumnElement[float], ColumnElement[float]]:
        """The (column, row) of a point's cell on a grid of `cell_deg`-wide squares in Web Mercator.

        Rows are counted on the Mercator y (ln tan(45° + lat/2), in radians) so a cell is square on the
        screen at every latitude; latitudes are clamped to Web Mercator's ±85.05° so ln never sees 0.
        Both databases spell floor/ln/tan/radians alike (SpatiaLite's math functions, PostgreSQL's own).
        """
        lat = case((y > MERCATOR_MAX_LAT, MERCATOR_MAX_LAT), (y < -MERCATOR_MAX_LAT, -MERCATOR_MAX_LAT), else_=y)
        cell = literal(cell_deg, Float)
        column_ = func.floor(x / cell)
        row = func.floor(func.ln(func.tan(func.radians(literal(45.0, Float) + lat / 2.0))) / func.radians(cell))
        return column_, row

    def id_list(self, id_col) -> ColumnElement[str]:
        """An aggregate: the group's ids as one comma-separated string."""
        if self.name == "postgis":
            return func.string_agg(cast(id_col, String), literal_column("','"))
        return func.group_concat(id_col, ",")

    def geodesic_distance_m(self, geom_col, lon: float, lat: float) -> ColumnElement[float]:
        """Distance in metres on the WGS-84 ellipsoid, the same figure on both databases."""
        if self.name == "postgis":
            point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
            return func.ST_Distance(cast(geom_col, Geography), cast(point, Geography))
        # GeodesicLength of the two-point line is the same ellipsoidal figure as ST_Distance(a, b, 1) (equal to
        # PostGIS's to the nanometre here) at a quarter of the cost per row.
        return func.GeodesicLength(func.MakeLine(geom_col, func.MakePoint(lon, lat, 4326)))


    def bulk_insert(self, conn, table, rows: list[dict]) -> None:
        """Many rows at once without per-row SQLAlchemy work: COPY on PostGIS, one executemany on SpatiaLite.

        Values go through the columns' own bind processors (JSON, dates); geometry values are EWKT strings.
        """
        if not rows:
            return
        names = list(rows[0])
        columns = [table.c[name] for name in names]
        processors = [
            None if isinstance(col.type, Geometry) else col.type.bind_processor(conn.dialect) for col in columns
        ]
        # psycopg adapts JSON values itself (a list would become an array): COPY needs the JSON text.
        processors = [
            json.dumps if proc is None and isinstance(col.type, JSON) else proc
            for col, proc in zip(columns, processors, strict=True)
        ]
        values = [
            tuple(proc(row[name]) if proc else row[name] for name, proc in zip(names, processors, strict=True))
            for row in rows
        ]
        column_list = ", ".join(names)
        if self.name == "postgis":
            with conn.connection.driver_connection.cursor() as cur:
                with cur.copy(f"COPY {table.name} ({column_list}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(value)
            return
        placeholders = ", ".join("GeomFromEWKT(?)" if isinstance(col.type, Geometry) else "?" for col in columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({column_list}) VALUES ({placeholders})", values)  # nosec B608

    def sync_id_sequence(self, conn, table_name: str, id_column: str) -> None:
        """After rows were inserted with explicit ids: PostgreSQL's serial sequence must move past them
        (SQLite's INTEGER PRIMARY KEY simply continues from the largest id).  Names are ours, never input."""
        if self.name == "postgis":
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table_name}', '{id_column}'), "  # nosec B608
                     f"(SELECT COALESCE(MAX({id_column}), 1) FROM {table_name}))")
            )


def spatial_dialect(engine_or_session) -> SpatialDialect:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return SpatialDialect("postgis" if bind.dialect.name == "postgresql" else "spatialite")
