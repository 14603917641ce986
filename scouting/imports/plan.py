"""The import itself: each row classified against the database, then (on commit) written in one transaction.

A row becomes a create, an update (its slug is an existing site's), unchanged, a duplicate (an existing
site or an earlier row within 50 m with the same name) or invalid (with the field and why).  A dry run
writes nothing; a commit writes every create and update, each with its revision and audit event, in ONE
transaction, committed only when no row is invalid (new sites are written a block of rows at a time while the
next block is planned, and rolled back when a later row is invalid).  Duplicates are never written.
"""
from __future__ import annotations

import gc
import hashlib
import math
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import func, select

from .. import checks, geo, sites
from ..errors import InvalidParameter
from ..models import Site, ThemedBase
from ..search import get_site
from .mapping import MappedColumns, map_columns, site_name_columns, site_names
from .options import ImportOptions, ImportTooLarge, MiB, display_name
from .readers import Source, SourceRow, read_source
from .report import ImportReport, RowResult
from .write import NewSiteWriter, write_changes, written_or_nothing

DUPLICATE_RADIUS_M = 50.0
SAME_POSITION_M = 0.5                  # an update whose point moved less than this keeps the stored point
WRITE_CHUNK = 5000                     # rows planned per block; its new sites are one chunk of bulk inserts
PROGRESS_EVERY = 250                   # rows between progress reports (a report per row cost 3% of the planning)

# Defaults for what a file does not say (reported with every import).
DEFAULT_ACCURACY_M = 50
DEFAULT_POSITION_METHOD = "geocoded"


def run_import(session, path: str | Path, filename: str, options: ImportOptions | None = None, *,
               commit: bool = False, actor: str = "import:cli",
               progress: Callable[[int, int], None] | None = None, keep_records: bool = False) -> ImportReport:
    """Read FILE, classify its rows, and (commit=True, no invalid row) write creates and updates in one transaction.

    The report's rows keep the records they were written from only with keep_records (tests that compare them
    with what was stored): the report shows none, and 100,000 records held on would be walked by the cyclic
    collector when it resumes (0.3 s)."""
    opts = (options or ImportOptions()).checked()
    path = Path(path)
    name = display_name(filename)
    size = path.stat().st_size
    if size > opts.max_bytes:
        raise ImportTooLarge(f"is {size / MiB:.1f} MiB; at most {opts.max_bytes / MiB:.1f} MiB can be imported "
                             "(SCOUTING_IMPORT_MAX_BYTES)")
    if opts.temp_dir:
        Path(opts.temp_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    with _cyclic_gc_paused():
        report = _run(session, path, name, opts, commit, actor, progress, keep_records)
        if not keep_records:
            _forget_records(report.rows)
        return report


def _forget_records(rows) -> None:
    for res in rows:
        res.record = res.before = res.site = None


_gc_lock = threading.Lock()
_gc_state = {"pausers": 0, "resume": False}  # imports running in this process; whether the collector was on


@contextmanager
def _cyclic_gc_paused():
    """An import makes millions of objects without cycles (rows, records, parameter tuples) that reference counting
    frees; Python's cyclic collector would walk all of them again each time their number grows by a quarter (a
    third of a 100,000-row import's time).  It is paused while imports run in the process and resumes after the
    last one ends (if it was on); the memory an import holds does not depend on it."""
    with _gc_lock:
        if _gc_state["pausers"] == 0:
            _gc_state["resume"] = gc.isenabled()
            gc.disable()
        _gc_state["pausers"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["pausers"] -= 1
            if _gc_state["pausers"] == 0 and _gc_state["resume"]:
                gc.enable()


def _run(session, path: Path, name: str, opts: ImportOptions, commit: bool, actor: str, progress,
         keep_records: bool) -> ImportReport:
    with tempfile.TemporaryDirectory(prefix="scout-import-", dir=opts.temp_dir) as tmp:
        source = read_source(path, opts, Path(tmp))
    defaults = {"coord_source": f"import: {name}", "coord_accuracy_m": DEFAULT_ACCURACY_M,
                "position_method": DEFAULT_POSITION_METHOD, "genres": [opts.genre_default] if opts.genre_default else None,
                "verified": False}
    try:
        with written_or_nothing(session):
            planned = _plan(session, source, opts, defaults, progress)
            writer = (NewSiteWriter(session, actor[:64], planned.connection_lock, planned.possible_creates)
                      if commit and planned.possible_creates else None)
            try:
                rows = _planned_rows(session, planned, writer)
                report = ImportReport(file=name, format=source.format, datum=opts.datum, dry_run=not commit, rows=rows,
                                      defaults=defaults, ignored_fields=sorted(planned.ignored), layers=source.layers)
                t = report.totals
                if t["invalid"]:
                    session.rollback()
                    report.message = (f"{t['invalid']} invalid row(s): nothing was written; fix them (or leave them "
                                      "out) and import again" if commit else
                                      f"{t['invalid']} invalid row(s): a commit would write nothing until they are fixed")
                elif not commit:
                    session.rollback()
                    report.message = (f"dry run: nothing was written; a commit would create {t['create']} and update "
                                      f"{t['update']} site(s)"
                                      + (f" and skip {t['duplicate']} duplicate(s)" if t["duplicate"] else ""))
                else:
                    if writer:
                        writer.end()
                    # While the thread does the end work, this one lets go of the file and of the records written
                    # (100,000 rows' objects to free: 0.15 s that would otherwise follow the commit).
                    del source
                    if not keep_records:
                        _forget_records(res for res in rows if res.action == "create")
                    write_changes(session, rows, actor[:64], name, writer.finish() if writer else [])
                    report.committed = True
                    report.message = (f"created {t['create']} and updated {t['update']} site(s)"
                                      + (f"; skipped {t['duplicate']} duplicate(s)" if t["duplicate"] else ""))
            finally:
                if writer:  # joined on every way out, before any rollback touches the connection (after finish: no-op)
                    writer.abandon()
    except Exception:
        session.rollback()
        raise
    return report


def _planned_rows(session, planned: _Planned, writer: NewSiteWriter | None) -> list[RowResult]:
    """Every row's result, in file order; each block's new sites go to the writer as soon as the block is planned,
    until a row is invalid (then nothing will be written: the writer is stopped and what it wrote rolled back at
    once, which lets other writers go on; the rest of the file is only planned)."""
    rows: list[RowResult] = []
    try:
        for block in planned.blocks:
            rows += block
            if writer is None:
                continue
            if any(res.action == "invalid" for res in block):
                if writer.feeding:
                    writer.abandon()
                    session.rollback()
            else:
                writer.put([res for res in block if res.action == "create"])
    except Exception:
        failure = writer.failure() if writer else None
        if failure is not None:  # the planner's read failed after the writer's write did: PostgreSQL then refuses
            raise failure from None  # every statement, so the writer's failure is the one that says what happened
        raise
    return rows


class _Planned:
    """A file's plan in the making: its rows' results a block at a time (`blocks`, in file order), the attributes
    no field took, and how many rows at most become new sites (those with a point whose slug is no active stored
    site's).  `connection_lock` is held while the planner reads the database (a row updating a stored site), so
    that a writer on another thread never uses the connection at the same time."""

    def __init__(self, blocks: Iterator[list[RowResult]], ignored: set[str], possible_creates: int,
                 connection_lock: threading.Lock):
        self.blocks, self.ignored, self.possible_creates = blocks, ignored, possible_creates
        self.connection_lock = connection_lock


def _plan(session, source: Source, opts: ImportOptions, defaults: dict, progress) -> _Planned:
    stored = session.execute(select(Site.id, Site.slug, Site.name_zh, Site.name_en, Site.deleted_at,
                                    func.ST_X(Site.geom), func.ST_Y(Site.geom))).all()
    active = {r.slug: r.id for r in stored if r.deleted_at is None}
    deleted = {r.slug: r.id for r in stored if r.deleted_at is not None}
    by_name = _SameNameIndex()
    for r in stored:
        if r.deleted_at is None:
            by_name.add(_name_keys(r.name_zh, r.name_en), r[5], r[6], {"id": r.id, "slug": r.slug})
    bases = list(session.scalars(select(ThemedBase)))
    base_slugs = {b.slug for b in bases}
    base_lookup = {k: b.slug for b in bases for k in (b.slug, b.name_zh, b.name_en.casefold())}
    county = sites._county(session)
    positions = _checked_positions(source.rows, opts.datum)
    outside = set() if county is None or opts.confirm_outside else _outside(county, positions)
    taken = set(active) | set(deleted)  # slugs a new site may not take
    claimed: dict[str, int] = {}        # slug -> the row of this file that uses it
    total = len(source.rows)

    def inside(rec: dict) -> None:
        if (rec["lon"], rec["lat"]) in outside:
            raise sites.RecordError("geometry", f"{rec['lon']:.6f},{rec['lat']:.6f} lies outside Wencheng County; "
                                                "if that is right, import again with --confirm-outside "
                                                "(API: confirm_outside=true)")

    # The file a column at a time (mapped, named); then a block of rows at a time (cleaned as columns), each row
    # in turn with what concerns it alone.
    mapped = map_columns([row.props for row in source.rows], base_lookup, source.html_descriptions)
    slugs = mapped.column("slug")
    shown = site_name_columns(mapped, copy=False)        # the names a row is reported by
    names = site_name_columns(mapped, copy=True)         # a new site's names (a missing language copies the other)
    new_site = _NewSites(mapped, names, positions, defaults, base_slugs)
    shown_zh, shown_en, new_zh, new_en = shown["name_zh"], shown["name_en"], names["name_zh"], names["name_en"]
    name_keys = [_name_keys(zh, en) if zh else None for zh, en in zip(new_zh, new_en, strict=True)]
    by_name.expect(name_keys)
    stored_slugs = frozenset(taken)
    possible_creates = sum(1 for slug, point in zip(slugs, positions, strict=True)
                           if isinstance(point, tuple) and slug not in active)
    connection_lock = threading.Lock()

    def blocks() -> Iterator[list[RowResult]]:
        """The rows' results WRITE_CHUNK rows at a time: a block's new sites can be written while the next block is
        planned (a row's outcome depends only on the rows before it and the stored sites)."""
        for start in range(0, total, WRITE_CHUNK):
            block = range(start, min(start + WRITE_CHUNK, total))
            precleaned = new_site.precleaned([i for i in block if isinstance(positions[i], tuple)
                                              and slugs[i] not in stored_slugs and new_zh[i]])
            yield [plan_row(i, precleaned) for i in block]

    def plan_row(i: int, precleaned: dict[int, dict]) -> RowResult:
        row, position, slug = source.rows[i], positions[i], slugs[i]
        res = RowResult(row=row.number, line=row.line, layer=row.layer, slug=slug, name_zh=shown_zh[i],
                        name_en=shown_en[i])
        try:
            if row.error:
                raise sites.RecordError(*row.error)
            if isinstance(position, sites.RecordError):
                raise position
            point = position
            if point:
                res.lon, res.lat = point
            if slug and slug in claimed:
                raise sites.RecordError("slug", f"{slug!r} is already used by row {claimed[slug]} of this file")
            if slug and slug in deleted:
                raise sites.RecordError("slug", f"{slug!r} belongs to deleted site {deleted[slug]}; undelete it first "
                                                "or give the row another slug")
            if slug and slug in active:
                claimed[slug] = row.number
                row_mapped = mapped.row(i)
                if source.generated_descriptions:
                    row_mapped.pop("description", None)
                with connection_lock:
                    _plan_update(session, res, get_site(session, active[slug]), row_mapped, point, defaults,
                                 base_slugs, inside)
            else:
                _plan_create(res, i, slug, new_zh[i], new_en[i], name_keys[i], point, inside, by_name, taken,
                             precleaned.get(i), new_site)
                if res.action == "create":
                    claimed[res.slug] = row.number
                    taken.add(res.slug)
        except sites.RecordError as err:
            res.action = "invalid"
            res.error = {"name": err.field, "reason": err.reason}
        done = i + 1
        if progress and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)
        return res

    return _Planned(blocks(), mapped.ignored(), possible_creates, connection_lock)


_PLACEHOLDER_SLUG = "slug"  # a valid slug, replaced by the row's own
_DEFAULTED = ("coord_source", "coord_accuracy_m", "position_method", "verified")  # a new site's, where a row has none


class _NewSites:
    """The raw records of rows as new sites, made and cleaned a column at a time: the file's fields, the row's names
    and point, the import's defaults where the row gives none (sites.clean_site_columns checks them)."""

    def __init__(self, mapped: MappedColumns, names: dict[str, list], positions: list, defaults: dict,
                 base_slugs: set[str]):
        self.mapped, self.names, self.positions = mapped, names, positions
        self.defaults, self.base_slugs = defaults, base_slugs

    def raw_columns(self, rows: list[int]) -> dict[str, list]:
        """The raw records of `rows` as columns (their slugs are the caller's)."""
        every = len(rows) == self.mapped.size

        def pick(values: list) -> list:
            return values if every else [values[i] for i in rows]

        columns = {field: pick(values) for field, values in self.mapped.columns.items() if field in _EDITABLE}
        for field, values in self.names.items():  # a row's own names win over its fields
            own = pick(values)
            given = columns.get(field)
            columns[field] = own if given is None else [name if name is not None else value
                                                         for name, value in zip(own, given, strict=True)]
        points = pick(self.positions)
        columns["lon"] = [point[0] for point in points]
        columns["lat"] = [point[1] for point in points]
        for field in _DEFAULTED:
            default = self.defaults[field]
            given = columns.get(field)
            columns[field] = [default] * len(rows) if given is None else [default if value is None else value
                                                                          for value in given]
        genres = self.defaults["genres"]
        if genres:
            given = columns.get("genres")
            columns["genres"] = [genres] * len(rows) if given is None else [value or genres for value in given]
        return columns

    def precleaned(self, rows: list[int]) -> dict[int, dict]:
        """The cleaned records of `rows` (a placeholder slug for each) by row: none for a row whose record is wrong
        (it is cleaned on its own in its turn, so what a row is told never depends on this shortcut)."""
        out: dict[int, dict] = {}
        if not rows:
            return out
        columns = self.raw_columns(rows)
        columns["slug"] = [_PLACEHOLDER_SLUG] * len(rows)
        for i, rec in zip(rows, sites.clean_site_columns(columns, len(rows), self.base_slugs), strict=True):
            if not isinstance(rec, sites.RecordErrors):
                out[i] = rec
        return out

    def cleaned(self, row: int, slug: str) -> dict:
        """Row's record with its slug, cleaned on its own: sites.RecordErrors names every wrong field."""
        columns = self.raw_columns([row])
        columns["slug"] = [slug]
        rec = sites.clean_site_columns(columns, 1, self.base_slugs)[0]
        if isinstance(rec, sites.RecordErrors):
            raise rec
        return rec


_EDITABLE = frozenset(sites.EDITABLE)  # the record fields a row may give


def _plan_create(res: RowResult, i: int, slug: str | None, name_zh: str | None, name_en: str | None,
                 keys: set[str] | None, point, inside, by_name: _SameNameIndex, taken, precleaned: dict | None,
                 new_site: _NewSites) -> None:
    if point is None:
        raise sites.RecordError("geometry", "is missing: a new site needs a point (lon/lat)")
    if not name_zh:
        raise sites.RecordError("name_zh", "is required: give name, name_zh or name_en")
    res.name_zh, res.name_en = name_zh, name_en
    # keys: _name_keys of these names (the cleaned names' too: cleaning only strips them)
    shared = by_name.shared(keys)  # a name no other row or stored site has cannot be a duplicate, nor have one
    duplicate = shared and by_name.nearest(keys, *point)
    if duplicate:
        res.action, res.duplicate_of = "duplicate", duplicate
        res.site_id = duplicate.get("id")
        return
    slug = slug or _new_slug(name_zh, name_en, taken)
    res.slug = slug
    if precleaned is not None and sites.plain_slug(slug):
        rec = precleaned  # its raw record was this row's (_NewSites.precleaned), with a placeholder slug
        rec["slug"] = slug
    else:
        rec = new_site.cleaned(i, slug)
    inside(rec)
    res.action, res.record = "create", rec
    if shared:
        by_name.add(keys, rec["lon"], rec["lat"], {"row": res.row})  # later rows of the file are its duplicates
    res.slug, res.lon, res.lat = rec["slug"], rec["lon"], rec["lat"]


def _plan_update(session, res: RowResult, hit, mapped: dict, point, defaults: dict, base_slugs: set[str], inside) -> None:
    before = sites.site_record(hit.site, hit.lon, hit.lat)
    patch = {k: v for k, v in mapped.items() if k in _EDITABLE and k != "slug" and v is not None}
    patch.update(site_names(mapped, copy=False))
    moved = point is not None and geo.distance_bearing(hit.lon, hit.lat, *point).distance_m > SAME_POSITION_M
    if moved:
        # A new point: what the file says about it, else the import's defaults (not the old point's source).
        patch.update(lon=point[0], lat=point[1])
        for key in ("coord_source", "coord_accuracy_m", "position_method"):
            patch.setdefault(key, defaults[key])
    rec = sites.clean_site_record(sites.merged(before, patch), base_slugs)
    if moved:
        inside(rec)
    res.site_id, res.lon, res.lat = hit.site.id, rec["lon"], rec["lat"]
    res.name_zh, res.name_en = rec["name_zh"], rec["name_en"]
    if rec == before:
        res.action = "unchanged"
        return
    res.action, res.record, res.before, res.site = "update", rec, before, hit.site
    res.changes = sorted(k for k in rec if rec[k] != before.get(k))


_SLUG_WORD = re.compile(r"[A-Za-z0-9]+")


def _new_slug(name_zh: str, name_en: str, taken: set[str]) -> str:
    base = "-".join(_SLUG_WORD.findall(name_en or "")).lower()[:56]
    if not base:
        base = "site-" + hashlib.sha1(name_zh.encode(), usedforsecurity=False).hexdigest()[:8]
    slug, n = base, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    return slug


def _name_keys(name_zh: str | None, name_en: str | None) -> set[str]:
    """The keys two names match by: either name, spaces collapsed, any case."""
    keys = {_name_key(name_zh), _name_key(name_en)}
    keys.discard(None)
    return keys


def _name_key(name: str | None) -> str | None:
    return " ".join(name.split()).casefold() if name and name.strip() else None


class _SameNameIndex:
    """Stored sites and this file's new rows by name key, each name's points in cells of a grid, so the duplicate
    search compares a point only with those of the same name near it: a file that repeats one name (100,000
    "停车场") stays linear.  The cells only narrow the search; the geodesic distance decides, as before."""

    CELL_DEG = 0.0005          # a cell's side in degrees: more than 50 m of latitude anywhere
    LAT_M_PER_DEG = 110_500    # a degree of latitude is at least 110.57 km (at the equator)
    LON_M_PER_DEG = 111_300    # a degree of longitude is at least this times cos(latitude)
    MARGIN = 1.1               # the window is 10% wider than the radius: the rounding of cells never matters

    def __init__(self) -> None:
        self._grids: dict[str, dict[tuple[int, int], list[tuple[float, float, int, dict]]]] = {}
        self._count = 0  # entries added: their order breaks ties between equally near ones
        self._shared: set[str] | None = None  # the keys that can match (None: any)

    def expect(self, keys_per_row: list[set[str] | None]) -> None:
        """Told the keys of every row to come, the index knows which can match: those of a stored site or of
        more than one row."""
        counts = Counter(chain.from_iterable(filter(None, keys_per_row)))
        self._shared = {key for key, count in counts.items() if count > 1} | set(self._grids)

    def shared(self, keys: set[str]) -> bool:
        """Whether any of these keys can match another entry (then the row is searched for and added)."""
        return self._shared is None or not keys.isdisjoint(self._shared)

    def add(self, keys: set[str], lon: float, lat: float, info: dict) -> None:
        self._count += 1
        entry = (lon, lat, self._count, info)
        cell = self._cell(lon, lat)
        for key in keys:
            self._grids.setdefault(key, {}).setdefault(cell, []).append(entry)

    def nearest(self, keys: set[str], lon: float, lat: float, radius_m: float = DUPLICATE_RADIUS_M) -> dict | None:
        """The nearest entry within radius_m (geodesic) under any of the keys: its info and distance_m."""
        candidates = {}  # an entry under both names is measured once
        for key in keys:
            grid = self._grids.get(key)
            if grid:
                candidates.update((entry[2], entry) for entry in self._near(grid, lon, lat, radius_m))
        best = None
        for entry_lon, entry_lat, order, info in candidates.values():
            metres = geo.distance_bearing(lon, lat, entry_lon, entry_lat).distance_m
            if metres <= radius_m and (best is None or (metres, order) < best[:2]):
                best = (metres, order, info)
        return None if best is None else best[2] | {"distance_m": round(best[0], 1)}

    def _cell(self, lon: float, lat: float) -> tuple[int, int]:
        return math.floor(lon / self.CELL_DEG), math.floor(lat / self.CELL_DEG)

    def _near(self, grid: dict, lon: float, lat: float, radius_m: float):
        """The entries of one name in the cells that can hold a point within radius_m; all of them where the window
        would be as large as the name's whole grid, near a pole, or across the antimeridian."""
        d_lat = radius_m * self.MARGIN / self.LAT_M_PER_DEG
        widest = min(90.0, abs(lat) + d_lat)  # where a degree of longitude is shortest within the window
        cos = math.cos(math.radians(widest))
        d_lon = radius_m * self.MARGIN / (self.LON_M_PER_DEG * cos) if cos > 1e-3 else 360.0
        if lon - d_lon < -180 or lon + d_lon > 180:
            cells = None
        else:
            x0, y0 = self._cell(lon - d_lon, lat - d_lat)
            x1, y1 = self._cell(lon + d_lon, lat + d_lat)
            cells = None if (x1 - x0 + 1) * (y1 - y0 + 1) >= len(grid) else (x0, x1, y0, y1)
        if cells is None:
            for entries in grid.values():
                yield from entries
            return
        x0, x1, y0, y1 = cells
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                yield from grid.get((x, y), ())


def _checked_positions(rows: list[SourceRow], datum: str) -> list[tuple[float, float] | sites.RecordError | None]:
    """Each row's point or its error (_checked_position).  Points given as two floats in WGS-84 are checked as
    one numpy column (finite and in range: then _position would return them as they are); any other point, and
    any of those that fails, goes through _checked_position."""
    out: list[tuple[float, float] | sites.RecordError | None] = [None] * len(rows)
    plain: list[int] = []
    for i, row in enumerate(rows):
        point = row.point
        if point is None:
            continue
        if (type(point) is tuple and len(point) == 2 and type(point[0]) is float and type(point[1]) is float
                and (row.datum or datum) == "wgs84"):
            plain.append(i)
        else:
            out[i] = _checked_position(row, datum)
    if plain:
        xy = np.array([rows[i].point for i in plain], dtype=float)
        good = np.isfinite(xy).all(axis=1) & (np.abs(xy[:, 0]) <= 180) & (np.abs(xy[:, 1]) <= 90)
        for i, ok in zip(plain, good.tolist(), strict=True):
            out[i] = rows[i].point if ok else _checked_position(rows[i], datum)
    return out


def _checked_position(row: SourceRow, datum: str) -> tuple[float, float] | sites.RecordError | None:
    """The row's point, or the error that the row's turn raises (positions are checked as a column first)."""
    try:
        return _position(row, datum)
    except sites.RecordError as err:
        return err


def _outside(county, positions: list) -> set[tuple[float, float]]:
    """The points that lie outside the county, found for the whole file in one vectorised call."""
    points = [p for p in positions if isinstance(p, tuple)]
    if not points:
        return set()
    xy = np.asarray(points, dtype=float)
    within = shapely.contains_xy(county, xy[:, 0], xy[:, 1])
    return {points[i] for i in np.flatnonzero(~within)}


def _position(row: SourceRow, datum: str) -> tuple[float, float] | None:
    """The row's point in WGS-84, checked: finite, in range, converted from GCJ-02/BD-09 when the numbers are."""
    if row.point is None:
        return None
    lon, lat = row.point
    if isinstance(lon, str) or isinstance(lat, str):  # readers hand over numbers; text here is the file's mistake
        raise sites.RecordError("geometry", f"the position {lon!r}, {lat!r} is not two numbers{row.hint}")
    try:
        lon, lat = checks.lon_lat(lon, lat, "geometry")
    except InvalidParameter as err:
        raise sites.RecordError("geometry", f"{err.reason}{row.hint}") from None
    datum = row.datum or datum
    if datum == "gcj02":
        lon, lat = geo.gcj02_to_wgs84(lon, lat)
    elif datum == "bd09":
        lon, lat = geo.bd09_to_wgs84(lon, lat)
    return float(lon), float(lat)
