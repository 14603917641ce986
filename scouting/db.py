"""Database engines and every difference between SpatiaLite and PostGIS, in one place.

Everything above this module speaks SQLAlchemy and calls the `SpatialDialect` methods below
where the two databases need different SQL.
"""
from __future__ import annotations

import importlib
import math
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import orjson

# GDAL (inside pyogrio) must be loaded before any SpatiaLite connection: mod_spatialite brings the system
# SQLite and PROJ into the process, and a GDAL loaded after them binds to those copies and crashes.
import pyogrio  # noqa: F401, I001
import shapely
from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    JSON,
    Date,
    Engine,
    Float,
    Integer,
    Numeric,
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
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
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
        # No parallel workers: every query of ours reads a few thousand rows through an index, and starting workers
        # costs more than that (a radius page: 45 ms with them, 2 ms without, measured at 100k sites).  A URL that
        # sets its own server options keeps them.
        options = {} if "options" in make_url(url).query else {"options": "-c max_parallel_workers_per_gather=0"}
        return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=5, connect_args=options)
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

        PostGIS's planner uses the GiST index for `&&` by itself.  SpatiaLite never uses its R*Tree unless asked:
        its rows (`idx_<table>_<column>`: pkid = the table's id, float32 boxes rounded outwards, so no point inside
        is missed) are read directly, which costs a third of the SpatialIndex virtual table's detour.
        """
        minx, miny, maxx, maxy = bbox
        if self.name == "postgis":
            return geom_col.op("&&")(func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326))
        # Names of our own tables and columns (never from a request), as SpatiaLite names their index.
        rtree = f'"idx_{table_name}_{geom_col.key}"'
        frame = text(
            f"SELECT pkid FROM {rtree} WHERE xmin <= :si_maxx AND xmax >= :si_minx "  # noqa: S608
            "AND ymin <= :si_maxy AND ymax >= :si_miny"
        ).bindparams(
            bindparam("si_minx", minx, unique=True),
            bindparam("si_miny", miny, unique=True),
            bindparam("si_maxx", maxx, unique=True),
            bindparam("si_maxy", maxy, unique=True),
        )
        return id_col.in_(frame.columns(column("pkid", Integer)))

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


    def point_array(self, conn, stmt) -> np.ndarray:
        """The rows of `stmt`, a select of three numbers (id, lon, lat), as an n x 3 float64 array.

        SpatiaLite's answer comes as one value, a MULTIPOINT M (x lon, y lat, m id) in WKB: Python's sqlite3 lets go
        of the GIL around every row it steps and must win it back, so with a worker's other threads running, a
        radius box's ~1,300 rows meant ~1,300 hand-overs and doubled the page's CPU under load (bench/analysis.md).
        WKB carries the doubles as they are, and ids up to 2^53 are exact in a double.  psycopg receives a result
        whole: plain rows there."""
        if self.name == "postgis":
            result = conn.execute(stmt)
            rows = result.cursor.fetchall()  # the driver's plain tuples: no Row objects
            result.close()
            return np.array(rows, dtype=np.float64).reshape(-1, 3)
        row_id, lon, lat = stmt.subquery().c
        wkb = conn.execute(select(func.AsBinary(func.Collect(func.MakePointM(lon, lat, row_id))))).scalar()
        if wkb is None:
            return np.empty((0, 3))
        x, y, m = shapely.get_coordinates(shapely.from_wkb(wkb), include_m=True).T
        return np.column_stack((m, x, y))

    def bulk_insert(self, conn, table, rows: list[dict], same: dict | None = None,
                    point: tuple[str, str, str] | None = None) -> None:
        """`bulk_insert_columns` for rows given as dicts (every row with the same keys)."""
        if rows:
            self.bulk_insert_columns(conn, table, {name: list(map(itemgetter(name), rows)) for name in rows[0]},
                                     same, point)

    def bulk_insert_columns(self, conn, table, columns: dict[str, list], same: dict | None = None,
                            point: tuple[str, str, str] | None = None) -> None:
        """Many rows at once, given a column at a time (name -> the rows' values), without per-row SQLAlchemy work:
        COPY on PostGIS, one statement on SpatiaLite.

        Values go through the columns' own bind processors (dates), a column at a time; JSON columns are
        written as compact JSON by orjson (on SpatiaLite bound as its UTF-8 bytes and made TEXT by SQL: no str
        to decode in Python and encode again in the driver); geometry values are EWKT strings.  `same` holds the
        columns whose value is the same in every row (a time, an actor): converted once, and on SpatiaLite bound
        once or passed on as the same object.  `point` = (geometry, x, y) names a point geometry column the rows
        do not carry, made from two of their columns: on SpatiaLite by MakePoint from the very numbers bound for
        x and y (no text to format and parse, and equal to them by construction), on PostGIS as EWKT text.  A
        column that is NULL in every row and has no server default is left out (SQL makes it NULL): imports
        leave most notes empty, and each bound value costs the driver a call.
        """
        count = len(next(iter(columns.values()), ()))
        if not count:
            return
        same = same or {}
        names = [name for name, values in columns.items()
                 if table.c[name].server_default is not None or values.count(None) < count]
        bound = [table.c[name] for name in (*names, *same)]
        processors = [_bulk_processor(col, conn.dialect) for col in bound]
        converted = [list(map(proc, columns[name])) if proc else columns[name]
                     for name, proc in zip(names, processors, strict=False)]
        same_values = tuple(proc(value) if proc else value
                            for value, proc in zip(same.values(), processors[len(names):], strict=True))
        values = list(zip(*converted, strict=True))
        column_list = ", ".join([*names, *same] + ([point[0]] if point else []))
        if self.name == "postgis":
            if point:
                x, y, srid = names.index(point[1]), names.index(point[2]), table.c[point[0]].type.srid
                values = [value + same_values + (f"SRID={srid};POINT({value[x]!r} {value[y]!r})",) for value in values]
            elif same_values:
                values = [value + same_values for value in values]
            copy_sql = f"COPY {table.name} ({column_list}) FROM STDIN"
            dbapi_error = conn.dialect.loaded_dbapi.Error
            try:
                with conn.connection.driver_connection.cursor() as cur:
                    with cur.copy(copy_sql) as copy:
                        for value in values:
                            copy.write_row(value)
            except dbapi_error as err:  # COPY goes past SQLAlchemy: its errors are wrapped as every statement's are
                raise DBAPIError.instance(copy_sql, None, err, dbapi_error, dialect=conn.dialect) from err
            return

        if point:  # numbered parameters: MakePoint reads the row's x and y where they are bound
            x, y, srid = names.index(point[1]) + 1, names.index(point[2]) + 1, int(table.c[point[0]].type.srid)
            placeholders = ", ".join(_sqlite_slot(col, i) for i, col in enumerate(bound, start=1))
            if same_values:
                values = [value + same_values for value in values]
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({column_list}) "  # nosec B608 - our names only
                                 f"VALUES ({placeholders}, MakePoint(?{x}, ?{y}, {srid}))", values)
            return
        constants = "".join(", " + _sqlite_slot(col) for col in bound[len(names):])
        if not any(isinstance(col.type, (Numeric, JSON)) for col in bound[:len(names)]):
            # One statement reading the rows from a JSON array: for many narrow rows, binding each row's parameters
            # costs the DB-API more than SQLite's insert (160,000 tags: 0.4 s instead of 0.95 s).  Text and integers
            # come back exactly; floats need not (JSON's decimal text), so tables with Float columns take the
            # executemany, as do JSON columns (escaping JSON text inside JSON costs more than binding it).
            picks = ", ".join(f"GeomFromEWKT(value ->> {i})" if isinstance(col.type, Geometry) else f"value ->> {i}"
                              for i, col in enumerate(bound[:len(names)]))
            conn.exec_driver_sql(f"INSERT INTO {table.name} ({column_list}) SELECT {picks}{constants} "  # nosec B608
                                 "FROM json_each(?)", (*same_values, orjson.dumps(values).decode()))
            return
        placeholders = ", ".join(_sqlite_slot(col) for col in bound[:len(names)])
        if same_values:
            values = [value + same_values for value in values]
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({column_list}) VALUES ({placeholders}{constants})",  # nosec B608
                             values)

    def reserve_ids(self, conn, table, count: int) -> list[int]:
        """`count` ids for new rows of `table` that are inserted with their ids given (no reading them back): on
        SQLite those after the largest (the caller's transaction holds the write lock), on PostgreSQL drawn from
        the id column's sequence, as other writers' ids are (so none of theirs can collide with ours).  Names are
        ours, never input."""
        if self.name == "postgis":
            return list(conn.execute(text(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),  # nosec B608
                {"n": count}).scalars())
        last = conn.execute(select(func.max(table.c.id))).scalar() or 0
        return list(range(last + 1, last + count + 1))

    @contextmanager
    def bulk_load(self, conn, points_made_in_sql: bool = False):
        """Inserting NEW sites with their masks set (vocab.site_masks), and their tags, in one transaction.

        SQLite's row triggers would bump data_version and test the masks once per inserted row (about a quarter
        of a bulk insert's time): here the version is bumped once and the insert triggers of sites and site_tags
        are dropped and made again inside the transaction (SQLite's DDL is transactional: no other connection
        ever sees them missing).  With `points_made_in_sql` (every site row's geometry made from its lon/lat by
        bulk_insert's `point`, its lon_strip by lon_strip()) the point trigger, which would compare them, is set
        aside too.  PostgreSQL's statement triggers cost one query per statement: nothing to do."""
        if self.name != "spatialite":
            yield
            return
        names = _BULK_INSERT_TRIGGERS + ((POINT_TRIGGERS["sqlite"][0],) if points_made_in_sql else ())
        conn.execute(text("UPDATE data_version SET version = version + 1 WHERE id = 1"))
        stored = conn.exec_driver_sql(  # made again as they are stored (a trigger that is not there stays away)
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({', '.join('?' * len(names))})",
            names).all()
        for name, _ in stored:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield
        for _, sql in stored:
            conn.exec_driver_sql(sql)

    @contextmanager
    def deferred_indexes(self, conn, table_name: str, new_rows: int):
        """Inserting `new_rows` rows (or fewer: an import that writes while it plans knows only an upper bound) into
        a SQLite table whose secondary indexes take them in random order (sites: ix_sites_point by strip and
        latitude, the elevation): when the new rows at least double the table (by its
        largest id), the indexes that enforce nothing are dropped inside the caller's transaction and made again
        from their stored SQL at the end, one sorted build each instead of a random insert per row (100,000 new
        sites: 0.14 s instead of 0.5 s), with fuller pages.  Into a larger table the rows go into the indexes as
        they come (a rebuild would read every stored row).  Unique indexes stay: they are constraints.  SQLite's DDL
        is transactional: no other connection ever sees an index missing, and a failure puts them back.  PostgreSQL:
        nothing to do.  Names are ours, never input."""
        if self.name != "spatialite":
            yield
            return
        largest = conn.exec_driver_sql(f"SELECT max(rowid) FROM {table_name}").scalar() or 0  # nosec B608
        stored = [] if new_rows < largest else conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
            "AND upper(sql) NOT LIKE 'CREATE UNIQUE %'", (table_name,)).all()
        for name, _ in stored:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        yield
        for _, sql in stored:
            conn.exec_driver_sql(sql)

    @contextmanager
    def deferred_spatial_index(self, conn, table_name: str, geom_column: str, after_id: int):
        """Inserting new rows (ids above `after_id`) into a table with a SpatiaLite spatial index: its R*Tree is
        filled in one statement at the end instead of by a trigger per row.

        SpatiaLite's insert triggers test the geometry's type and SRID (a query of geometry_columns per row),
        delete the row's (absent) index entry and add it with RTreeAlign, and stamp geometry_columns_time, for every
        row.  Here they are set aside inside the caller's transaction and made again from their own stored SQL; the
        type and SRID are tested once over the new rows (any wrong one fails the transaction, as the trigger
        would), the index gets its entries in one statement (the boxes RTreeAlign would give: SQLite's R*Tree
        rounds a box's minimum down and its maximum up to float32; half the time of RTreeAlign per row) and the
        time stamp is written once.  PostGIS's GiST index and typed column: nothing to do."""
        if self.name != "spatialite":
            yield
            return
        names = tuple(f"{kind}_{table_name}_{geom_column}" for kind in ("ggi", "gii", "tmi"))
        stored = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?, ?)", names).all()
        for name, _ in stored:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield
        if names[0] in dict(stored):
            wrong = conn.exec_driver_sql(  # names of our own tables and columns, never input
                f"SELECT count(*) FROM {table_name} t JOIN geometry_columns g ON Lower(g.f_table_name) = Lower(?) "  # nosec B608
                f"AND Lower(g.f_geometry_column) = Lower(?) WHERE t.id > ? "
                f"AND GeometryConstraints(t.{geom_column}, g.geometry_type, g.srid) IS NOT 1",
                (table_name, geom_column, after_id)).scalar()
            if wrong:
                raise ValueError(f"{table_name}.{geom_column} violates Geometry constraint [geom-type or SRID not "
                                 f"allowed] in {wrong} new row(s)")
        if names[1] in dict(stored):  # one INSERT … SELECT: the R*Tree rounds each box outwards to float32 itself
            conn.exec_driver_sql(  # names of our own tables and columns, never input
                f'INSERT INTO "idx_{table_name}_{geom_column}" (pkid, xmin, xmax, ymin, ymax) '  # nosec B608
                f"SELECT id, MbrMinX({geom_column}), MbrMaxX({geom_column}), MbrMinY({geom_column}), "
                f"MbrMaxY({geom_column}) FROM {table_name} WHERE id > ? AND {geom_column} IS NOT NULL", (after_id,))
        conn.exec_driver_sql(
            "UPDATE geometry_columns_time SET last_insert = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
            "WHERE Lower(f_table_name) = Lower(?) AND Lower(f_geometry_column) = Lower(?)", (table_name, geom_column))
        for _, sql in stored:
            conn.exec_driver_sql(sql)

    def after_bulk_load(self, engine: Engine, table_names: tuple[str, ...]) -> None:
        """Statistics for the planner after many new rows; on PostgreSQL also the visibility map, without which
        a search's index-only scan of ix_sites_point visits the table for every row until autovacuum comes by.
        Names are ours, never input."""
        statement = "VACUUM (ANALYZE) {}" if self.name == "postgis" else "ANALYZE {}"
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in table_names:
                conn.exec_driver_sql(statement.format(name))

    def sync_id_sequence(self, conn, table_name: str, id_column: str) -> None:
        """After rows were inserted with explicit ids: PostgreSQL's serial sequence must move past them
        (SQLite's INTEGER PRIMARY KEY simply continues from the largest id).  Names are ours, never input."""
        if self.name == "postgis":
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table_name}', '{id_column}'), "  # nosec B608
                     f"(SELECT COALESCE(MAX({id_column}), 1) FROM {table_name}))")
            )


def _json_text(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _json_bytes(value) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _sqlite_slot(col, number: int | None = None) -> str:
    """Where a bulk insert on SpatiaLite binds a column's value: geometry as EWKT, JSON as the UTF-8 bytes
    _bulk_processor gives (SQL makes them TEXT), anything else as it is; `number` for a numbered parameter."""
    marker = "?" if number is None else f"?{number}"
    if isinstance(col.type, Geometry):
        return f"GeomFromEWKT({marker})"
    return f"CAST({marker} AS TEXT)" if isinstance(col.type, JSON) else marker


def _bulk_processor(col, dialect):
    """How bulk_insert converts a column's values: geometry as given (EWKT), JSON as UTF-8 bytes on SQLite (the
    statement casts them to TEXT) and as text for COPY (psycopg would make a list an array), anything else by the
    column type's own bind processor (a time on SQLite as the text an ORM write gives it)."""
    if isinstance(col.type, Geometry):
        return None
    if isinstance(col.type, JSON):
        return _json_bytes if dialect.name == "sqlite" else _json_text
    return col.type.dialect_impl(dialect).bind_processor(dialect)


# --------------------------------------------------------------------------- triggers keeping search data in step

# The tables a search reads: any write to them bumps data_version.version in the same transaction (the key of
# search.ResultCache), whichever path wrote (ORM, Core bulk inserts, COPY, a migration).
SEARCHED_TABLES = ("sites", "site_tags", "themed_bases", "boundaries")
MASK_COLUMNS = ("genre_mask", "terrain_mask", "facility_mask", "facility_verified_mask")


def _mask_conditions() -> dict[str, str]:
    """Which site_tags rows (alias t) set each mask column's bits: a facility verified absent sets none."""
    return {
        "genre_mask": "t.vocabulary = 'genre'",
        "terrain_mask": "t.vocabulary = 'terrain'",
        "facility_mask": "t.vocabulary = 'facility' AND (t.status IS NULL OR t.status <> 'verified_absent')",
        "facility_verified_mask": "t.vocabulary = 'facility' AND t.status = 'verified_present'",
    }


# SQLite's insert triggers of the tables bulk writers fill (SpatialDialect.bulk_load sets them aside).
_BULK_INSERT_TRIGGERS = ("sites_insert_data_version", "site_tags_insert_data_version", "site_tags_insert_genre_mask",
                         "site_tags_insert_terrain_mask", "site_tags_insert_facility_mask")


def recompute_masks_sql(where: str = "") -> str:
    """An UPDATE setting every site's masks from its site_tags rows (both databases; the bits come from tag_bits).
    A sum of distinct powers of two is their OR: a site has each term at most once (site_tags' primary key)."""
    sets = ", ".join(
        f"{col} = COALESCE((SELECT SUM(b.value) FROM site_tags t JOIN tag_bits b ON b.vocabulary = t.vocabulary "
        f"AND b.term = t.term WHERE t.site_id = sites.id AND {cond}), 0)" for col, cond in _mask_conditions().items())
    return f"UPDATE sites SET {sets}{where}"  # nosec B608 - our names only


def insert_new_site_tags(conn, new_ids: list[int], facility_rows: list[dict]) -> None:
    """The site_tags rows of new sites (`new_ids`, their masks set): first every row their masks stand
    for, made in one join with tag_bits (the inverse of _mask_conditions; an import of 100,000 sites has 750,000
    rows that Python need not build): each genre and terrain bit a row without status, each facility bit a
    `reported` row whose source is the site's facts_source (what a plain facility term means,
    facts.clean_facilities).  Then `facility_rows`, the facilities verified or with a source of their own, written
    over them (a facility verified absent has no bit: a new row).  In that order PostgreSQL's statement triggers,
    which recompute a site's masks from its rows, always see every row.  Both databases; our names only."""
    mask = ("CASE b.vocabulary WHEN 'genre' THEN s.genre_mask WHEN 'terrain' THEN s.terrain_mask "
            "WHEN 'facility' THEN s.facility_mask ELSE 0 END")
    among, params = _among_ids("s.id", new_ids)
    conn.execute(text(
        "INSERT INTO site_tags (site_id, vocabulary, term, status, source) "
        "SELECT s.id, b.vocabulary, b.term, CASE WHEN b.vocabulary = 'facility' THEN 'reported' END, "
        "CASE WHEN b.vocabulary = 'facility' THEN s.facts_source END "
        f"FROM sites s JOIN tag_bits b ON ({mask} & b.value) <> 0 WHERE {among}").bindparams(*params))  # nosec B608
    if facility_rows:
        stated = ("status", "source", "verified_by", "verified_at", "verified_how")
        conn.execute(text(
            f"INSERT INTO site_tags (site_id, vocabulary, term, {', '.join(stated)}) VALUES (:site_id, :vocabulary, "
            f":term, {', '.join(':' + name for name in stated)}) ON CONFLICT (site_id, vocabulary, term) DO UPDATE "
            f"SET {', '.join(f'{name} = excluded.{name}' for name in stated)}"  # nosec B608
        ).bindparams(bindparam("verified_at", type_=Date)), facility_rows)


def _among_ids(column: str, ids: list[int]) -> tuple[str, list]:
    """A condition for exactly these ids, with its parameters: a range when they follow each other (always on
    SQLite, whose writer holds the lock; usually on PostgreSQL), else the list (another writer drew ids from the
    sequence in between: its sites are not ours)."""
    if ids and max(ids) - min(ids) + 1 == len(ids):
        return f"{column} BETWEEN :first AND :last", [bindparam("first", min(ids)), bindparam("last", max(ids))]
    return f"{column} IN :ids", [bindparam("ids", ids, expanding=True)]


def search_trigger_ddl(dialect_name: str) -> list[str]:
    """CREATE statements of the triggers that bump data_version and keep the site masks equal to site_tags.

    SQLite has row triggers only: an insert ORs its term's bit in (cheap, the bulk path), an update or delete
    recomputes the site's masks.  PostgreSQL runs statement triggers over transition tables: one UPDATE per
    statement (a COPY of 500,000 tags recomputes the masks in one join) and one data_version bump.
    """
    conds = _mask_conditions()
    if dialect_name == "sqlite":
        ddl = [f"CREATE TRIGGER {table}_{event.lower()}_data_version AFTER {event} ON {table} "
               "BEGIN UPDATE data_version SET version = version + 1 WHERE id = 1; END"
               for table in SEARCHED_TABLES for event in ("INSERT", "UPDATE", "DELETE")]
        # Each insert trigger writes only when the site row lacks the bit (a writer may have set the masks already).
        bit = "COALESCE((SELECT value FROM tag_bits WHERE vocabulary = NEW.vocabulary AND term = NEW.term), 0)"
        has = f"CASE WHEN NEW.status IS NULL OR NEW.status <> 'verified_absent' THEN {bit} ELSE 0 END"
        verified = f"CASE WHEN NEW.status = 'verified_present' THEN {bit} ELSE 0 END"
        site = "(SELECT {} FROM sites WHERE id = NEW.site_id)"
        ddl += [
            f"CREATE TRIGGER site_tags_insert_{vocabulary}_mask AFTER INSERT ON site_tags "
            f"WHEN NEW.vocabulary = '{vocabulary}' AND ({site.format(f'{vocabulary}_mask')} & {bit}) <> {bit} "
            f"BEGIN UPDATE sites SET {vocabulary}_mask = {vocabulary}_mask | {bit} WHERE id = NEW.site_id; END"
            for vocabulary in ("genre", "terrain")
        ]
        ddl += [
            "CREATE TRIGGER site_tags_insert_facility_mask AFTER INSERT ON site_tags WHEN NEW.vocabulary = 'facility' "
            f"AND (({site.format('facility_mask')} & {has}) <> {has} "
            f"OR ({site.format('facility_verified_mask')} & {verified}) <> {verified}) "
            f"BEGIN UPDATE sites SET facility_mask = facility_mask | {has}, "
            f"facility_verified_mask = facility_verified_mask | {verified} WHERE id = NEW.site_id; END",
            "CREATE TRIGGER site_tags_update_masks AFTER UPDATE ON site_tags BEGIN "
            + recompute_masks_sql(" WHERE id IN (OLD.site_id, NEW.site_id)") + "; END",
            "CREATE TRIGGER site_tags_delete_masks AFTER DELETE ON site_tags BEGIN "
            + recompute_masks_sql(" WHERE id = OLD.site_id") + "; END",
        ]
        return ddl
    ddl = ["CREATE OR REPLACE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "UPDATE data_version SET version = version + 1 WHERE id = 1; RETURN NULL; END $$"]
    ddl += [f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()" for table in SEARCHED_TABLES]
    masks = ", ".join(f"COALESCE(bit_or(b.value) FILTER (WHERE {cond}), 0) AS {col}" for col, cond in conds.items())
    assign = ", ".join(f"{col} = m.{col}" for col in conds)
    stored = ", ".join(f"s.{col}" for col in conds)
    computed = ", ".join(f"m.{col}" for col in conds)
    for name, changed in (("new", "SELECT site_id FROM new_tags"), ("old", "SELECT site_id FROM old_tags"),
                          ("both", "SELECT site_id FROM new_tags UNION SELECT site_id FROM old_tags")):
        ddl.append(
            f"CREATE OR REPLACE FUNCTION site_tag_masks_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"UPDATE sites s SET {assign} FROM (SELECT c.site_id, {masks} FROM (SELECT DISTINCT site_id FROM "
            f"({changed}) ids) c LEFT JOIN site_tags t ON t.site_id = c.site_id LEFT JOIN tag_bits b "
            "ON b.vocabulary = t.vocabulary AND b.term = t.term GROUP BY c.site_id) m "
            f"WHERE s.id = m.site_id AND ({stored}) IS DISTINCT FROM ({computed}); RETURN NULL; END $$")
    zero = ", ".join(f"{col} = 0" for col in conds)
    ddl += [
        "CREATE TRIGGER site_tags_insert_masks AFTER INSERT ON site_tags REFERENCING NEW TABLE AS new_tags "
        "FOR EACH STATEMENT EXECUTE FUNCTION site_tag_masks_new()",
        "CREATE TRIGGER site_tags_update_masks AFTER UPDATE ON site_tags REFERENCING OLD TABLE AS old_tags "
        "NEW TABLE AS new_tags FOR EACH STATEMENT EXECUTE FUNCTION site_tag_masks_both()",
        "CREATE TRIGGER site_tags_delete_masks AFTER DELETE ON site_tags REFERENCING OLD TABLE AS old_tags "
        "FOR EACH STATEMENT EXECUTE FUNCTION site_tag_masks_old()",
        "CREATE OR REPLACE FUNCTION site_tag_masks_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"UPDATE sites SET {zero}; RETURN NULL; END $$",
        "CREATE TRIGGER site_tags_truncate_masks AFTER TRUNCATE ON site_tags "
        "FOR EACH STATEMENT EXECUTE FUNCTION site_tag_masks_truncate()",
    ]
    return ddl


def drop_search_trigger_ddl(dialect_name: str) -> list[str]:
    if dialect_name == "sqlite":
        names = [f"{table}_{event}_data_version" for table in SEARCHED_TABLES for event in ("insert", "update", "delete")]
        names += ["site_tags_insert_genre_mask", "site_tags_insert_terrain_mask", "site_tags_insert_facility_mask",
                  "site_tags_update_masks", "site_tags_delete_masks"]
        return [f"DROP TRIGGER IF EXISTS {name}" for name in names]
    ddl = [f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}" for table in SEARCHED_TABLES]
    ddl += [f"DROP TRIGGER IF EXISTS site_tags_{event}_masks ON site_tags"
            for event in ("insert", "update", "delete", "truncate")]
    ddl += [f"DROP FUNCTION IF EXISTS {name}()" for name in
            ("bump_data_version", "site_tag_masks_new", "site_tag_masks_old", "site_tag_masks_both",
             "site_tag_masks_truncate")]
    return ddl


# --------------------------------------------------------------------------- the point as plain numbers

# sites.lon/lat equal ST_X/ST_Y of the geometry and sites.lon_strip the 1/LON_STRIPS_PER_DEGREE-degree strip of
# longitude it lies in, kept so by triggers whatever writes the row (ORM, Core bulk inserts, COPY, a restore): a
# search reads them from the narrow index ix_sites_point (strip, lat, ...), never the wide row (migration 0012).
LON_STRIPS_PER_DEGREE = 20
POINT_TRIGGERS = {"sqlite": ("sites_insert_point", "sites_update_point"), "postgresql": ("sites_point",)}


def lon_strip(lon: float) -> int:
    """The strip of a longitude, as the triggers compute it (the same double arithmetic, so the same integer)."""
    return math.floor(lon * LON_STRIPS_PER_DEGREE)


def point_trigger_ddl(dialect_name: str) -> list[str]:
    """SQLite: after a write whose lon/lat/strip differ from the geometry (bulk writers set them, so nothing to do),
    one UPDATE of the row.  PostgreSQL: a BEFORE row trigger sets them in the row being written."""
    n = LON_STRIPS_PER_DEGREE
    if dialect_name == "sqlite":
        strip = f"CAST(floor(ST_X(NEW.geom) * {n}) AS INTEGER)"
        differs = f"NEW.lon IS NOT ST_X(NEW.geom) OR NEW.lat IS NOT ST_Y(NEW.geom) OR NEW.lon_strip IS NOT {strip}"
        fix = f"UPDATE sites SET lon = ST_X(NEW.geom), lat = ST_Y(NEW.geom), lon_strip = {strip} WHERE id = NEW.id"
        return [f"CREATE TRIGGER sites_insert_point AFTER INSERT ON sites WHEN {differs} BEGIN {fix}; END",
                f"CREATE TRIGGER sites_update_point AFTER UPDATE OF geom, lon, lat, lon_strip ON sites WHEN {differs} "
                f"BEGIN {fix}; END"]
    return ["CREATE OR REPLACE FUNCTION site_point() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"NEW.lon := ST_X(NEW.geom); NEW.lat := ST_Y(NEW.geom); NEW.lon_strip := floor(NEW.lon * {n})::integer; "
            "RETURN NEW; END $$",
            "CREATE TRIGGER sites_point BEFORE INSERT OR UPDATE OF geom, lon, lat, lon_strip ON sites "
            "FOR EACH ROW EXECUTE FUNCTION site_point()"]


def drop_point_trigger_ddl(dialect_name: str) -> list[str]:
    if dialect_name == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in POINT_TRIGGERS["sqlite"]]
    return ["DROP TRIGGER IF EXISTS sites_point ON sites", "DROP FUNCTION IF EXISTS site_point()"]


def spatial_dialect(engine_or_session) -> SpatialDialect:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return SpatialDialect("postgis" if bind.dialect.name == "postgresql" else "spatialite")
