"""Bulk import of sites from a planner's file: GeoJSON, KML/KMZ, GPX, CSV, GeoPackage, zipped Shapefile.

Framework-free core shared by `flask --app app import` and `POST /api/import`:

* `read_source` sniffs the format from the content (never trusting the name), refuses hostile files
  (too big, XML with a DTD/entities, zip bombs, unsafe paths in archives, garbage) with an
  `ImportFileError` naming `file`, and returns one `SourceRow` per feature.  GeoJSON and CSV are
  read with the standard library; KML, GPX, GeoPackage and Shapefile with GDAL (pyogrio), which
  only ever sees a checked file in a private temporary directory under a name of ours.
* `run_import` maps each row's attributes to a site record, converts GCJ-02/BD-09 numbers to
  WGS-84, checks it with `sites.clean_site_record`, and classifies it: create, update (its slug
  is an existing site's), unchanged, duplicate (an existing site or earlier row within 50 m with
  the same name) or invalid (with the field and why).  A dry run writes nothing; a commit writes
  every create and update, each with its revision, in ONE transaction, and only when no row is
  invalid.  Duplicates are never written.

GDAL is loaded before any SpatiaLite connection because `scouting.db` imports pyogrio first, and
importing this module imports the `scouting` package (and so `scouting.db`) first.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import math
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from . import audit, facts, sites, vocab
from .errors import InvalidParameter, PreconditionFailed
from .faults import pause_point
from .models import Site, ThemedBase

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MiB           # IMPORT_MAX_BYTES (env SCOUTING_IMPORT_MAX_BYTES)
DEFAULT_MAX_ROWS = 10_000              # IMPORT_MAX_ROWS
DEFAULT_MAX_UNZIPPED_BYTES = 100 * MiB  # IMPORT_MAX_UNZIPPED_BYTES: all members of an archive together
MAX_ZIP_RATIO = 100                    # a member over 1 MiB may expand at most this many times
MAX_ZIP_MEMBERS = 2000
DUPLICATE_RADIUS_M = 50.0
SAME_POSITION_M = 0.5                  # an update whose point moved less than this keeps the stored point
PROGRESS_MIN_ROWS = 200                # the CLI shows a progress bar from this many rows on

# Defaults for what a file does not say (reported with every import).
DEFAULT_ACCURACY_M = 50
DEFAULT_POSITION_METHOD = "geocoded"

FORMATS = ("geojson", "kml", "kmz", "gpx", "csv", "gpkg", "shapefile")
ACTIONS = ("create", "update", "unchanged", "duplicate", "invalid")
READABLE = "GeoJSON, KML, KMZ, GPX, CSV, GeoPackage or a zipped Shapefile"


class ImportFileError(InvalidParameter):
    """The file as a whole cannot be imported (400, naming `file`); nothing is written."""

    def __init__(self, reason: str):
        super().__init__("file", reason)


class ImportTooLarge(ImportFileError):
    status = 413
    title = "Content too large"


# --------------------------------------------------------------------------- options and results

@dataclass(frozen=True)
class ImportOptions:
    datum: str = "wgs84"              # the datum of the file's numbers: wgs84, gcj02 (Amap) or bd09 (Baidu)
    layer: str | None = None          # read only this layer (GeoPackage, KML folder, shapefile in a zip)
    genre_default: str | None = None  # the genre of new sites whose row names none
    confirm_outside: bool = False     # accept new points outside Wencheng County
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES
    temp_dir: str | None = None       # where unpacked files go (TEMP_DIR: swept after a crash); None: the system's

    def checked(self) -> ImportOptions:
        if self.datum not in sites.DATUMS:
            raise InvalidParameter("datum", f"{self.datum!r} is not one of {', '.join(sites.DATUMS)}")
        genre = self.genre_default
        if genre is not None:
            genre = _term(str(genre).strip(), vocab.GENRES)
            if genre not in vocab.GENRES:
                raise InvalidParameter("genre_default", f"unknown genre {self.genre_default!r}; valid genres: "
                                                        f"{', '.join(vocab.GENRES)}")
        layer = (self.layer or "").strip() or None
        return replace(self, genre_default=genre, layer=layer)


def options_from_config(config: Mapping[str, Any], **choices: Any) -> ImportOptions:
    """Options with the size limits of the app's config (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, IMPORT_MAX_UNZIPPED_BYTES)."""
    limits = {"max_bytes": int(config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES),
              "max_rows": int(config.get("IMPORT_MAX_ROWS") or DEFAULT_MAX_ROWS),
              "max_unzipped_bytes": int(config.get("IMPORT_MAX_UNZIPPED_BYTES") or DEFAULT_MAX_UNZIPPED_BYTES),
              "temp_dir": config.get("TEMP_DIR") or None}
    return ImportOptions(**limits, **{k: v for k, v in choices.items() if v is not None})


@dataclass
class SourceRow:
    """One feature as read: its attributes and its point (lon, lat in the file's datum), or why it has none."""

    number: int
    props: dict[str, Any]
    point: tuple[float, float] | None = None
    error: tuple[str, str] | None = None   # (field, reason): the geometry is unusable
    layer: str | None = None
    line: int | None = None                # CSV: the line in the file
    datum: str | None = None               # CSV columns that name their datum (lon_gcj02, ...) override the option
    hint: str = ""                         # added to a coordinate range error


@dataclass
class Source:
    format: str
    rows: list[SourceRow]
    layers: list[str] = field(default_factory=list)
    html_descriptions: bool = False        # KML balloons are HTML
    # KML balloons and GPX <desc> are often made by the exporting app: they describe new sites but do not
    # overwrite a stored site's descriptions (language-tagged description_zh/description_en columns do).
    generated_descriptions: bool = False


@dataclass
class RowResult:
    row: int
    action: str = "invalid"
    line: int | None = None
    layer: str | None = None
    slug: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    lon: float | None = None
    lat: float | None = None
    site_id: int | None = None
    changes: list[str] | None = None
    duplicate_of: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    record: dict[str, Any] | None = None  # the cleaned record to write (create/update)
    before: dict[str, Any] | None = None  # update: the stored record
    site: Site | None = None              # update: the stored site, loaded in the import's session

    def as_json(self) -> dict[str, Any]:
        out = {"row": self.row, "action": self.action, "line": self.line, "layer": self.layer, "slug": self.slug,
               "name_zh": self.name_zh, "name_en": self.name_en, "lon": self.lon, "lat": self.lat,
               "site_id": self.site_id, "changes": self.changes, "duplicate_of": self.duplicate_of, "error": self.error}
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class ImportReport:
    file: str
    format: str
    datum: str
    dry_run: bool
    rows: list[RowResult]
    defaults: dict[str, Any]
    ignored_fields: list[str]
    layers: list[str]
    committed: bool = False
    message: str = ""

    @property
    def totals(self) -> dict[str, int]:
        counts = {action: 0 for action in ACTIONS}
        for row in self.rows:
            counts[row.action] += 1
        written = counts["create"] + counts["update"] if self.committed else 0
        return {"rows": len(self.rows), **counts, "written": written}

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "datum": self.datum, "dry_run": self.dry_run,
                "committed": self.committed, "message": self.message, "totals": self.totals,
                "defaults": self.defaults, "ignored_fields": self.ignored_fields, "layers": self.layers,
                "rows": [row.as_json() for row in self.rows]}

    def table(self) -> str:
        """The report as a plain-text table (the CLI prints it)."""
        header = ("row", "action", "slug", "name", "lon", "lat", "detail")
        lines = [header]
        for r in self.rows:
            names = " / ".join(dict.fromkeys(n for n in (r.name_zh, r.name_en) if n))
            lines.append((str(r.line or r.row), r.action, r.slug or "", _clip(names, 36),
                          "" if r.lon is None else f"{r.lon:.6f}", "" if r.lat is None else f"{r.lat:.6f}",
                          _detail(r)))
        widths = [max(_width(line[i]) for line in lines) for i in range(len(header) - 1)]
        text = ["  ".join([*(_pad(cell, w) for cell, w in zip(line[:-1], widths, strict=True)), line[-1]]).rstrip()
                for line in lines]
        t = self.totals
        text.append("")
        text.append(f"{t['rows']} rows: {t['create']} create, {t['update']} update, {t['unchanged']} unchanged, "
                    f"{t['duplicate']} duplicate, {t['invalid']} invalid")
        if self.ignored_fields:
            text.append("ignored fields: " + ", ".join(self.ignored_fields))
        text.append(self.message)
        return "\n".join(text)


def _detail(r: RowResult) -> str:
    if r.error:
        return f"{r.error['name']}: {r.error['reason']}"
    if r.duplicate_of:
        d = r.duplicate_of
        what = f"row {d['row']}" if "row" in d else f"site {d['id']} {d['slug']}"
        return f"same name as {what}, {d['distance_m']:.0f} m away"
    if r.changes:
        return "changes " + ", ".join(r.changes)
    return ""


def _char_width(c: str) -> int:
    return 2 if unicodedata.east_asian_width(c) in "WF" else 1


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return len(text) if text.isascii() else sum(map(_char_width, text))


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _clip(text: str, width: int) -> str:
    """At most `width` columns, ending in … when cut (measured once: a large import has a row per site)."""
    if _width(text) <= width:
        return text
    kept, used = [], 1  # the ellipsis takes one column
    for c in text:
        used += _char_width(c)
        if used > width:
            break
        kept.append(c)
    return "".join(kept) + "…"


# --------------------------------------------------------------------------- the import

def run_import(session, path: str | Path, filename: str, options: ImportOptions | None = None, *,
               commit: bool = False, actor: str = "import:cli",
               progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Read FILE, classify its rows, and (commit=True, no invalid row) write creates and updates in one transaction."""
    opts = (options or ImportOptions()).checked()
    path = Path(path)
    name = display_name(filename)
    size = path.stat().st_size
    if size > opts.max_bytes:
        raise ImportTooLarge(f"is {size / MiB:.1f} MiB; at most {opts.max_bytes / MiB:.1f} MiB can be imported "
                             "(SCOUTING_IMPORT_MAX_BYTES)")
    if opts.temp_dir:
        Path(opts.temp_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scout-import-", dir=opts.temp_dir) as tmp:
        source = read_source(path, opts, Path(tmp))
    defaults = {"coord_source": f"import: {name}", "coord_accuracy_m": DEFAULT_ACCURACY_M,
                "position_method": DEFAULT_POSITION_METHOD, "genres": [opts.genre_default] if opts.genre_default else None,
                "verified": False}
    try:
        rows, ignored = _plan(session, source, opts, defaults, progress)
        report = ImportReport(file=name, format=source.format, datum=opts.datum, dry_run=not commit, rows=rows,
                              defaults=defaults, ignored_fields=sorted(ignored), layers=source.layers)
        t = report.totals
        if t["invalid"]:
            session.rollback()
            report.message = (f"{t['invalid']} invalid row(s): nothing was written; fix them (or leave them out) "
                              "and import again" if commit else
                              f"{t['invalid']} invalid row(s): a commit would write nothing until they are fixed")
        elif not commit:
            session.rollback()
            report.message = (f"dry run: nothing was written; a commit would create {t['create']} and update "
                              f"{t['update']} site(s)" + (f" and skip {t['duplicate']} duplicate(s)" if t["duplicate"] else ""))
        else:
            _write(session, rows, actor[:64], name)
            report.committed = True
            report.message = (f"created {t['create']} and updated {t['update']} site(s)"
                              + (f"; skipped {t['duplicate']} duplicate(s)" if t["duplicate"] else ""))
    except Exception:
        session.rollback()
        raise
    return report


def display_name(filename: str | None) -> str:
    """The upload's own name for reports and coord_source: no directories, no control characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return base[:200] or "upload"


def _plan(session, source: Source, opts: ImportOptions, defaults: dict, progress) -> tuple[list[RowResult], set[str]]:
    from shapely import prepare
    from shapely.geometry import Point
    from sqlalchemy import func, select

    from .search import get_site

    stored = session.execute(select(Site.id, Site.slug, Site.name_zh, Site.name_en, Site.deleted_at,
                                    func.ST_X(Site.geom), func.ST_Y(Site.geom))).all()
    active = {r.slug: r.id for r in stored if r.deleted_at is None}
    deleted = {r.slug: r.id for r in stored if r.deleted_at is not None}
    by_name: dict[str, list[dict]] = {}
    for r in stored:
        if r.deleted_at is None:
            _index_name(by_name, r.name_zh, r.name_en, {"id": r.id, "slug": r.slug, "lon": r[5], "lat": r[6]})
    bases = list(session.scalars(select(ThemedBase)))
    base_slugs = {b.slug for b in bases}
    base_lookup = {k: b.slug for b in bases for k in (b.slug, b.name_zh, b.name_en.casefold())}
    county = sites._county(session)
    if county is not None:
        prepare(county)
    taken = set(active) | set(deleted)  # slugs a new site may not take
    claimed: dict[str, int] = {}        # slug -> the row of this file that uses it
    ignored: set[str] = set()
    results = []
    total = len(source.rows)

    def inside(rec: dict) -> None:
        if county is not None and not opts.confirm_outside and not county.contains(Point(rec["lon"], rec["lat"])):
            raise sites.RecordError("geometry", f"{rec['lon']:.6f},{rec['lat']:.6f} lies outside Wencheng County; "
                                                "if that is right, import again with --confirm-outside "
                                                "(API: confirm_outside=true)")

    for done, row in enumerate(source.rows, start=1):
        res = RowResult(row=row.number, line=row.line, layer=row.layer)
        try:
            mapped, unknown = _map_props(row.props, base_lookup, source.html_descriptions)
            ignored |= unknown
            res.slug = mapped.get("slug")
            if source.generated_descriptions and mapped.get("slug") in active:
                mapped.pop("description", None)
            names = _names(mapped, copy=False)
            res.name_zh, res.name_en = names.get("name_zh"), names.get("name_en")
            if row.error:
                raise sites.RecordError(*row.error)
            point = _position(row, opts.datum)
            if point:
                res.lon, res.lat = point
            slug = mapped.get("slug")
            if slug and slug in claimed:
                raise sites.RecordError("slug", f"{slug!r} is already used by row {claimed[slug]} of this file")
            if slug and slug in deleted:
                raise sites.RecordError("slug", f"{slug!r} belongs to deleted site {deleted[slug]}; undelete it first "
                                                "or give the row another slug")
            if slug and slug in active:
                claimed[slug] = row.number
                _plan_update(session, res, get_site(session, active[slug]), mapped, point, defaults, base_slugs, inside)
            else:
                _plan_create(res, mapped, point, defaults, base_slugs, inside, by_name, taken)
                if res.action == "create":
                    claimed[res.slug] = row.number
                    taken.add(res.slug)
                    rec = res.record
                    _index_name(by_name, rec["name_zh"], rec["name_en"], {"row": row.number, "lon": rec["lon"], "lat": rec["lat"]})
        except sites.RecordError as err:
            res.action = "invalid"
            res.error = {"name": err.field, "reason": err.reason}
        results.append(res)
        if progress:
            progress(done, total)
    return results, ignored


def _plan_create(res: RowResult, mapped: dict, point, defaults: dict, base_slugs: set[str], inside, by_name, taken) -> None:
    if point is None:
        raise sites.RecordError("geometry", "is missing: a new site needs a point (lon/lat)")
    names = _names(mapped, copy=True)
    if not names.get("name_zh"):
        raise sites.RecordError("name_zh", "is required: give name, name_zh or name_en")
    res.name_zh, res.name_en = names["name_zh"], names["name_en"]
    duplicate = _find_duplicate(by_name, names["name_zh"], names["name_en"], *point)
    if duplicate:
        res.action, res.duplicate_of = "duplicate", duplicate
        res.site_id = duplicate.get("id")
        return
    raw = {k: v for k, v in mapped.items() if k in sites.EDITABLE and v is not None}
    raw.update(names)
    raw.update(lon=point[0], lat=point[1])
    for key in ("coord_source", "coord_accuracy_m", "position_method", "verified"):
        raw.setdefault(key, defaults[key])
    if not raw.get("genres") and defaults["genres"]:
        raw["genres"] = defaults["genres"]
    raw["slug"] = raw.get("slug") or _new_slug(names["name_zh"], names["name_en"], taken)
    res.slug = raw["slug"]
    rec = sites.clean_site_record(raw, base_slugs)
    inside(rec)
    res.action, res.record = "create", rec
    res.slug, res.lon, res.lat = rec["slug"], rec["lon"], rec["lat"]


def _plan_update(session, res: RowResult, hit, mapped: dict, point, defaults: dict, base_slugs: set[str], inside) -> None:
    from .geo import distance_bearing

    before = sites.site_record(hit.site, hit.lon, hit.lat)
    patch = {k: v for k, v in mapped.items() if k in sites.EDITABLE and k != "slug" and v is not None}
    patch.update(_names(mapped, copy=False))
    moved = point is not None and distance_bearing(hit.lon, hit.lat, *point).distance_m > SAME_POSITION_M
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


def _write(session, rows: list[RowResult], actor: str, filename: str) -> None:
    """Every create and update with its revision and audit event, in one transaction; any failure writes nothing."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    bases = sites._bases(session)
    try:
        _insert_new_sites(session, [res for res in rows if res.action == "create"], actor,
                          {slug: base.id for slug, base in bases.items()})
        for res in rows:
            if res.action == "update":
                sites.apply_site_record(res.site, res.record, bases)
                session.flush()
                session.add(sites._revision(res.site, "update", actor, res.before, res.record))
                audit.record(session, "site.update", "site", res.site.id,
                             sites.audit_summary(res.site, "update", res.changes, None, res.before, res.record),
                             channel="import")
        counts = {action: sum(1 for r in rows if r.action == action) for action in ("create", "update", "duplicate")}
        audit.record(session, "import.commit", "import", None,
                     f"{filename}: created {counts['create']}, updated {counts['update']}, "
                     f"skipped {counts['duplicate']} duplicate(s)")
        session.flush()
        pause_point("import-before-commit")
        session.commit()
    except StaleDataError:
        session.rollback()
        raise PreconditionFailed("a site in the file was changed by someone else during the import; nothing was "
                                 "written: run the import again") from None
    except IntegrityError:
        session.rollback()
        raise PreconditionFailed("a site with a slug from the file was saved by someone else during the import; "
                                 "nothing was written: run the import again") from None


INSERT_BATCH = 1000  # new sites per multi-row INSERT


def _insert_new_sites(session, creates: list[RowResult], actor: str, base_ids: dict[str, int]) -> None:
    """New sites, their tags and their "create" revisions as multi-row INSERTs, a batch at a time: an object
    and a flush per row made a 100k-row import take minutes.  The ids come back from RETURNING, in order."""
    from sqlalchemy import insert

    from .models import AuditEvent, SiteRevision, SiteTag

    site_table, tag_table, revision_table = Site.__table__, SiteTag.__table__, SiteRevision.__table__
    insert_sites = insert(site_table).returning(site_table.c.id, sort_by_parameter_order=True)
    for start in range(0, len(creates), INSERT_BATCH):
        batch = creates[start:start + INSERT_BATCH]
        rows = [sites.new_site_rows(res.record, base_ids) for res in batch]
        ids = session.execute(insert_sites, [row for row, _ in rows]).scalars().all()
        tag_rows, revision_rows, audit_rows = [], [], []
        for res, site_id, (_, tags) in zip(batch, ids, rows, strict=True):
            res.site_id = site_id
            tag_rows += [{"site_id": site_id, **tag} for tag in tags]
            revision_rows.append({"site_id": site_id, "version": 1, "action": "create", "actor": actor,
                                  "changed_fields": sites.changed_fields(None, res.record), "before": None,
                                  "after": res.record})
            audit_rows.append(audit.event_values("site.create", "site", site_id, res.record["slug"], channel="import"))
        if tag_rows:
            session.execute(insert(tag_table), tag_rows)
        session.execute(insert(revision_table), revision_rows)
        session.execute(insert(AuditEvent.__table__), audit_rows)


# --------------------------------------------------------------------------- rows -> site records

_KEY_ALIASES = {
    "name": "name", "名称": "name", "名字": "name", "地名": "name", "title": "name", "标题": "name",
    "description": "description", "desc": "description", "描述": "description", "简介": "description",
    "说明": "description", "备注": "description",
    "genre": "genres", "题材": "genres", "类型": "genres", "terrain": "terrain", "地形": "terrain",
    "facility": "facilities", "设施": "facilities", "facility_status": "facility_status", "设施状态": "facility_status",
    "season": "best_seasons", "seasons": "best_seasons",
    "季节": "best_seasons", "ele": "elevation_m", "elevation": "elevation_m", "altitude": "elevation_m",
    "海拔": "elevation_m", "accuracy_m": "coord_accuracy_m", "精度": "coord_accuracy_m",
}
_FIELDS = {k for k in sites.EDITABLE if k not in ("lon", "lat")}
_TEXT = set(sites.TEXT_LIMITS) | {"name", "description"}
_NUMBERS = {"elevation_m", "area_m2", "coord_accuracy_m"}
_TERMS = {"genres": vocab.GENRES, "terrain": vocab.TERRAIN, "facilities": vocab.FACILITIES, "best_seasons": vocab.SEASONS}
# Columns that formats (and this app's own exports) always carry: not worth reporting as ignored.
_NOISE = {
    "id", "fid", "ogc_fid", "version", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude",
    "visibility", "draworder", "icon", "snippet", "time", "magvar", "geoidheight", "cmt", "src", "sym", "type",
    "fix", "sat", "hdop", "vdop", "pdop", "ageofdgpsdata", "dgpsid", "link1_href", "link1_text", "link1_type",
    "link2_href", "link2_text", "link2_type", "base_name_zh", "base_name_en", "position_method_zh",
    "position_method_en", "approximate", "created_at", "updated_at", "distance_m", "genre_labels_zh",
    "pack_position", "pack_note", "lon", "lat", "lon_wgs84", "lat_wgs84", "lon_gcj02", "lat_gcj02", "gcj02_lon",
    "gcj02_lat", "lon_bd09", "lat_bd09", "longitude", "latitude", "lng", "long", "经度", "纬度", "x", "y", "wkt",
    "geometry", "geom", "the_geom", "facility_status_zh", "elevation_label_zh",
    "elevation_label_en",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@functools.lru_cache(maxsize=4096)  # every row of a file repeats the same few keys
def _norm_key(key: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(key).strip().lstrip("\ufeff")).lower()


def _map_props(props: Mapping[str, Any], base_lookup: dict[str, str], html: bool) -> tuple[dict[str, Any], set[str]]:
    """A row's attributes under the record's keys, values converted; the set of attributes ignored."""
    mapped: dict[str, Any] = {}
    ignored: set[str] = set()
    for key, value in props.items():
        k = _norm_key(key)
        target = k if k in _FIELDS or k in ("name", "description") else _KEY_ALIASES.get(k)
        if target is None:
            if k not in _NOISE and _present(value):
                ignored.add(str(key))
            continue
        value = _plain(value)
        if not _present(value) or (target in mapped and mapped[target] is not None):
            continue
        mapped[target] = _convert(target, value, base_lookup, html)
    if "facility_status" in mapped:  # the fuller statement: each facility with its status
        mapped["facilities"] = mapped.pop("facility_status")
    return mapped, ignored


def _plain(value: Any) -> Any:
    """numpy scalars and arrays from GDAL as Python values; NaN/NaT from GDAL mean 'no value'."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, bytes):
        return None
    return value


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple)):
        return bool(value)
    return True


def _convert(target: str, value: Any, base_lookup: dict[str, str], html: bool) -> Any:
    if target in _TEXT:
        if isinstance(value, (list, dict)):
            return json.dumps(value, ensure_ascii=False)
        text = str(value).strip()
        if text.startswith("'") and text[1:2] in _FORMULA_START:
            text = text[1:]  # this app's CSV export neutralises formulas with a leading apostrophe
        if html and target in ("description", "description_zh", "description_en") and "<" in text:
            text = _html_text(text)
        return text
    if target in _NUMBERS:
        return _number(value)
    if target in _TERMS:
        return [_term(t, _TERMS[target]) for t in _term_list(value)]
    if target == "facility_status":  # this app's exports: a JSON list of {facility, status, ...}
        value = facts.from_cell(value)
        if isinstance(value, list):
            return [{**v, "facility": _term(str(v.get("facility", "")), vocab.FACILITIES)} if isinstance(v, dict)
                    else v for v in value]
        return value
    if target == "verified":
        return _boolean(value)
    if target == "base":
        text = str(value).strip()
        return base_lookup.get(text) or base_lookup.get(text.casefold()) or text
    if target == "position_method":
        return _term(str(value).strip(), vocab.POSITION_METHODS)
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return value
    text = str(value).strip().rstrip("m米 ")
    try:
        return float(text)
    except ValueError:
        return str(value)  # clean_site_record says "must be a number"


def _boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "yes", "y", "1", "是", "已核实", "t"):
        return True
    if text in ("false", "no", "n", "0", "否", "未核实", "f"):
        return False
    return str(value)


def _term_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        text = str(value).strip()
        items = None
        if text.startswith("["):
            try:
                loaded = json.loads(text)
                items = [str(v) for v in loaded] if isinstance(loaded, list) else None
            except (ValueError, RecursionError):
                items = None
        if items is None:
            items = re.split(r"[,，、;；|]", text)
    return [i.strip() for i in items if i and i.strip()]


def _term(text: str, vocabulary: dict[str, vocab.Term]) -> str:
    """A slug, or the slug of a zh/en label (any case); unknown text is returned for the validator to name."""
    if text in vocabulary:
        return text
    folded = text.casefold().replace("-", "_").replace(" ", "_")
    for term in vocabulary.values():
        if folded == term.slug or text == term.zh or text.casefold() == term.en.casefold():
            return term.slug
    return text


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def _split_bilingual(name: str) -> tuple[str, str] | None:
    """"百丈漈瀑布 (Baizhangji Falls)" -> both names: how this app's GPX/KML exports and many planners write them."""
    text = name.strip()
    if not text.endswith((")", "）")):
        return None
    for i, c in enumerate(text):
        if c in "(（" and i:
            zh, en = text[:i].strip(), text[i + 1:-1].strip()
            if _has_cjk(zh) and not _has_cjk(en) and re.search("[A-Za-z]", en):
                return zh, en
    return None


def _has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def _names(mapped: dict, copy: bool) -> dict[str, str]:
    """name_zh/name_en (and descriptions) from their own fields or from `name`/`description`: CJK text is Chinese.

    For a new site (copy=True) a missing language copies the other, as the seed data does.
    """
    out: dict[str, str] = {}
    for base in ("name", "description"):
        zh, en, generic = mapped.get(f"{base}_zh"), mapped.get(f"{base}_en"), mapped.get(base)
        both = _split_bilingual(generic) if generic and base == "name" else None
        if both:
            zh, en = zh or both[0], en or both[1]
        elif generic:
            if _has_cjk(generic):
                zh = zh or generic
            else:
                en = en or generic
        if copy:
            zh, en = zh or en, en or zh
        if zh:
            out[f"{base}_zh"] = zh
        if en:
            out[f"{base}_en"] = en
    return out


def _new_slug(name_zh: str, name_en: str, taken: set[str]) -> str:
    words = "".join(c.lower() if c.isascii() and c.isalnum() else "-" for c in name_en or "")
    base = "-".join(filter(None, words.split("-")))[:56]
    if not base:
        base = "site-" + hashlib.sha1(name_zh.encode(), usedforsecurity=False).hexdigest()[:8]
    slug, n = base, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    return slug


def _index_name(by_name: dict, name_zh: str | None, name_en: str | None, entry: dict) -> None:
    for key in {_name_key(name_zh), _name_key(name_en)} - {None}:
        by_name.setdefault(key, []).append(entry)


def _name_key(name: str | None) -> str | None:
    return " ".join(name.split()).casefold() if name and name.strip() else None


def _find_duplicate(by_name: dict, name_zh: str, name_en: str, lon: float, lat: float) -> dict | None:
    """The nearest stored site (or earlier row) within 50 m (geodesic) with the same name_zh or name_en (any case)."""
    from .geo import distance_bearing

    best = None
    seen = set()
    for key in {_name_key(name_zh), _name_key(name_en)} - {None}:
        for entry in by_name.get(key, []):
            if id(entry) in seen:
                continue
            seen.add(id(entry))
            metres = distance_bearing(lon, lat, entry["lon"], entry["lat"]).distance_m
            if metres <= DUPLICATE_RADIUS_M and (best is None or metres < best["distance_m"]):
                best = {k: v for k, v in entry.items() if k not in ("lon", "lat")} | {"distance_m": round(metres, 1)}
    return best


def _position(row: SourceRow, datum: str) -> tuple[float, float] | None:
    """The row's point in WGS-84, checked: finite, in range, converted from GCJ-02/BD-09 when the numbers are."""
    from . import geo

    if row.point is None:
        return None
    lon, lat = row.point
    for label, value in (("longitude", lon), ("latitude", lat)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise sites.RecordError("geometry", f"{label} {value!r} is not a number")
        if not math.isfinite(value):
            raise sites.RecordError("geometry", f"{label} must be a finite number, not {value!r}")
    if not -90 <= lat <= 90:
        swapped = " (longitude and latitude swapped?)" if -90 <= lon <= 90 and -180 <= lat <= 180 else ""
        raise sites.RecordError("geometry", f"latitude {lat:g} is out of range -90..90{swapped}{row.hint}")
    if not -180 <= lon <= 180:
        raise sites.RecordError("geometry", f"longitude {lon:g} is out of range -180..180{row.hint}")
    datum = row.datum or datum
    if datum == "gcj02":
        lon, lat = geo.gcj02_to_wgs84(lon, lat)
    elif datum == "bd09":
        lon, lat = geo.bd09_to_wgs84(lon, lat)
    return float(lon), float(lat)


class _TextOnly(HTMLParser):
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _html_text(html: str) -> str:
    """A KML balloon's HTML as plain text (the app shows descriptions as text)."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


# --------------------------------------------------------------------------- reading files

def save_upload(stream: io.RawIOBase, directory: Path, max_bytes: int) -> Path:
    """Copy an upload into DIRECTORY under a name of ours, refusing it (413) once it passes max_bytes."""
    path = Path(directory) / "upload.bin"
    written = 0
    with open(path, "wb") as out:
        while chunk := stream.read(64 * 1024):
            written += len(chunk)
            if written > max_bytes:
                raise ImportTooLarge(f"is larger than the {max_bytes / MiB:.1f} MiB that can be imported "
                                     "(SCOUTING_IMPORT_MAX_BYTES)")
            out.write(chunk)
    return path


def read_source(path: Path, opts: ImportOptions, workdir: Path) -> Source:
    """Sniff the format from the content and read every feature; hostile or unreadable files raise ImportFileError."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        raise ImportFileError("is empty")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        source = _read_zip(path, opts, workdir)
    elif head.startswith(b"SQLite format 3\x00"):
        if head[68:72] not in (b"GPKG", b"GP10", b"GP11"):
            raise ImportFileError("is an SQLite database but not a GeoPackage")
        gpkg = workdir / "upload.gpkg"
        shutil.copyfile(path, gpkg)
        source = _read_ogr(gpkg, "gpkg", opts)
    elif head.startswith(b"\x00\x00\x27\x0a"):
        raise ImportFileError("is a bare .shp: upload the shapefile as a .zip holding its .shp, .shx, .dbf and .prj")
    else:
        data = path.read_bytes()
        text_start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if text_start == b"<":
            source = _read_xml(data, opts, workdir)
        elif text_start in (b"{", b"["):
            source = _read_geojson(data, opts)
        else:
            source = _read_csv(data, opts)
    if not source.rows:
        raise ImportFileError(f"holds no features ({source.format})")
    if len(source.rows) > opts.max_rows:
        raise ImportFileError(f"holds more than {opts.max_rows} features; split it (SCOUTING_IMPORT_MAX_ROWS)")
    return source


def _garbage() -> ImportFileError:
    return ImportFileError(f"is not a file this import reads ({READABLE})")


# ---- zip archives (KMZ, zipped shapefiles)

def _unsafe_member(name: str) -> bool:
    parts = re.split(r"[\\/]", name)
    return (name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or "\x00" in name
            or any(p == ".." for p in parts))


def _member_label(info: zipfile.ZipInfo) -> str:
    """The member's name for people: zips from Chinese Windows store GBK names without saying so."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gb18030")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def _checked_zip(path: Path, opts: ImportOptions) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open an archive and check it before anything is extracted: paths, member count, sizes and ratios."""
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ImportFileError("is not a readable zip archive (KMZ or zipped Shapefile)") from None
    try:
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ImportFileError(f"the archive holds {len(infos)} files; at most {MAX_ZIP_MEMBERS} are accepted")
        total = 0
        for info in infos:
            if _unsafe_member(info.filename):
                raise ImportFileError(f"the archive holds an unsafe path {info.filename!r} (absolute or with '..'); "
                                      "refused")
            if info.flag_bits & 0x1:
                raise ImportFileError("the archive is encrypted")
            total += info.file_size
            if info.file_size > MiB and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise ImportFileError(f"{_member_label(info)!r} would expand {info.file_size // max(info.compress_size, 1)} "
                                      f"times (to {info.file_size / MiB:.0f} MiB): refused as a zip bomb")
        if total > opts.max_unzipped_bytes:
            raise ImportFileError(f"the archive would expand to {total / MiB:.0f} MiB, more than the "
                                  f"{opts.max_unzipped_bytes / MiB:.0f} MiB allowed: refused as a zip bomb")
    except ImportFileError:
        archive.close()
        raise
    return archive, infos


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: list[int]) -> None:
    """Stream one member to TARGET (a name of ours), never writing more than it declared or the budget left."""
    limit = min(info.file_size, budget[0])
    written = 0
    try:
        with archive.open(info) as src, open(target, "xb") as out:
            while chunk := src.read(64 * 1024):
                written += len(chunk)
                if written > limit:
                    raise ImportFileError(f"{_member_label(info)!r} expands beyond its declared size: refused")
                out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ImportFileError(f"{_member_label(info)!r} cannot be extracted ({type(exc).__name__})") from None
    budget[0] -= written


def _read_zip(path: Path, opts: ImportOptions, workdir: Path) -> Source:
    archive, infos = _checked_zip(path, opts)
    with archive:
        files = [i for i in infos if not i.is_dir()]
        kmls = sorted((i for i in files if i.filename.lower().endswith(".kml")),
                      key=lambda i: (i.filename.lower() != "doc.kml", i.filename.count("/"), i.filename))
        shps = [i for i in files if i.filename.lower().endswith(".shp")]
        budget = [opts.max_unzipped_bytes]
        if kmls:
            target = workdir / "kmz-doc.kml"
            _extract(archive, kmls[0], target, budget)
            source = _read_xml(target.read_bytes(), opts, workdir, only="kml")
            source.format = "kmz"
            return source
        if shps:
            return _read_zipped_shapefile(archive, files, shps, opts, workdir, budget)
    raise ImportFileError("is a zip archive with neither a .kml (KMZ) nor a .shp (zipped Shapefile) in it")


def _read_zipped_shapefile(archive, files, shps, opts: ImportOptions, workdir: Path, budget: list[int]) -> Source:
    parts = {}
    for info in files:
        stem, dot, ext = info.filename.rpartition(".")
        if dot and ext.lower() in ("shp", "shx", "dbf", "prj", "cpg"):
            parts.setdefault(stem, {})[ext.lower()] = info
    layers: list[tuple[str, Path, str | None]] = []
    for n, shp in enumerate(sorted(shps, key=lambda i: i.filename), start=1):
        stem = shp.filename.rpartition(".")[0]
        members = parts.get(stem, {})
        label = re.split(r"[\\/]", _member_label(shp))[-1].rpartition(".")[0]
        if opts.layer and opts.layer != label:
            continue
        if "dbf" not in members:
            raise ImportFileError(f"the shapefile {label!r} has no .dbf (its attributes) in the archive")
        for ext, info in members.items():
            _extract(archive, info, workdir / f"layer{n}.{ext}", budget)
        encoding = None
        if "cpg" not in members:
            # Without a .cpg GDAL would read the attributes as Latin-1; Chinese shapefiles are UTF-8 or GBK.
            dbf = (workdir / f"layer{n}.dbf").read_bytes()
            try:
                dbf.decode("utf-8")
                encoding = "UTF-8"
            except UnicodeDecodeError:
                encoding = "GB18030"
        layers.append((label, workdir / f"layer{n}.shp", encoding))
    if not layers:
        raise InvalidParameter("layer", f"the archive has no shapefile {opts.layer!r}; it has "
                                        + ", ".join(re.split(r"[\\/]", s.filename)[-1].rpartition('.')[0] for s in shps))
    rows: list[SourceRow] = []
    for label, shp_path, encoding in layers:
        rows.extend(_ogr_layer(shp_path, None, label, opts, len(rows), encoding))
    return Source("shapefile", rows, [label for label, _, _ in layers])


# ---- XML: KML and GPX, checked with defusedxml before GDAL sees them

def _read_xml(data: bytes, opts: ImportOptions, workdir: Path, only: str | None = None) -> Source:
    from xml.etree.ElementTree import ParseError

    import defusedxml
    import defusedxml.ElementTree as DET

    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        raise ImportFileError("is XML with a DTD or entity declarations, which are refused (they can expand without "
                              "end or read other files); export the file again without them") from None
    except (ParseError, ValueError):
        raise ImportFileError("is not well-formed XML") from None
    kind = root.tag.rpartition("}")[2].lower()
    if only and kind != only:
        raise ImportFileError(f"the archive's .kml is not KML (its root element is <{kind}>)")
    if kind == "kml":
        kml = workdir / "upload.kml"
        kml.write_bytes(data)
        source = _read_ogr(kml, "kml", opts)
        source.html_descriptions = source.generated_descriptions = True
        return source
    if kind == "gpx":
        gpx = workdir / "upload.gpx"
        gpx.write_bytes(data)
        source = _read_ogr(gpx, "gpx", opts, layers=["waypoints"])
        source.generated_descriptions = True
        return source
    raise ImportFileError(f"is XML but neither KML nor GPX (its root element is <{kind}>)")


# ---- GDAL formats

def _read_ogr(path: Path, fmt: str, opts: ImportOptions, layers: list[str] | None = None) -> Source:
    import pyogrio

    try:
        listed = [(str(name), str(gtype)) for name, gtype in pyogrio.list_layers(str(path))]
    except Exception as exc:  # GDAL's errors for a corrupt file vary by driver
        raise ImportFileError(f"cannot be read as {fmt.upper()} ({_gdal_message(exc, path)})") from None
    names = [n for n, _ in listed]
    if layers:
        chosen = [n for n in layers if n in names]
        if fmt == "gpx" and not chosen:
            raise ImportFileError("the GPX has no waypoints (tracks and routes are not imported)")
    elif opts.layer:
        if opts.layer not in names:
            raise InvalidParameter("layer", f"the file has no layer {opts.layer!r}; its layers: {', '.join(names)}")
        chosen = [opts.layer]
    else:
        chosen = [n for n, gtype in listed if gtype not in ("None",)] or names
    rows: list[SourceRow] = []
    # KML folders and GeoPackage layers are named in the report; a KML's top level is named after our temporary file.
    labelled = [n for n in chosen if n != path.stem] if fmt in ("kml", "gpkg") or len(chosen) > 1 else []
    for name in chosen:
        rows.extend(_ogr_layer(path, name, name if name in labelled else None, opts, len(rows)))
        if len(rows) > opts.max_rows:
            break
    return Source(fmt, rows, labelled)


def _ogr_layer(path: Path, layer: str | None, label: str | None, opts: ImportOptions, offset: int,
               encoding: str | None = None) -> list[SourceRow]:
    import pyogrio.raw
    import shapely

    try:
        meta, _, geometries, values = pyogrio.raw.read(str(path), layer=layer, encoding=encoding,
                                                       max_features=opts.max_rows + 1)
    except Exception as exc:
        raise ImportFileError(f"layer {label or layer or path.stem!r} cannot be read ({_gdal_message(exc, path)})") from None
    transform, hint = _to_wgs84(meta.get("crs"))
    fields = [str(f) for f in meta["fields"]]
    rows = []
    for i in range(len(geometries) if geometries is not None else 0):
        props = {}
        for name, column in zip(fields, values, strict=True):
            value = _plain(column[i])
            if isinstance(value, float) and math.isnan(value):
                value = None  # GDAL's NULL in a number column
            props[name] = value
        row = SourceRow(offset + i + 1, props, layer=label, hint=hint)
        wkb = geometries[i]
        try:
            geom = shapely.from_wkb(wkb) if wkb is not None else None
        except Exception:  # a malformed geometry is that row's problem, not the file's
            geom = None
            row.error = ("geometry", "is not a valid geometry")
        if row.error is None:
            row.point, row.error = _shapely_point(geom)
        if row.point and transform:
            row.point = transform(*row.point)
        rows.append(row)
    return rows


def _shapely_point(geom) -> tuple[tuple[float, float] | None, tuple[str, str] | None]:
    if geom is None or geom.is_empty:
        return None, ("geometry", "is missing or empty: a site needs a point")
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if geom.geom_type != "Point":
        what = f"a MultiPoint of {len(geom.geoms)} points" if geom.geom_type == "MultiPoint" else f"a {geom.geom_type}"
        return None, ("geometry", f"is {what}; only points can be imported as sites")
    return (geom.x, geom.y), None


def _to_wgs84(crs_text: str | None):
    """A (lon, lat) transformer from the layer's CRS to WGS-84 (None when it is WGS-84 or states none) and a hint."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    if not crs_text:
        return None, " (the file states no coordinate reference system, so longitude/latitude were assumed)"
    try:
        crs = CRS.from_user_input(crs_text)
    except CRSError:
        raise ImportFileError(f"states a coordinate reference system that cannot be used ({crs_text[:80]!r})") from None
    if crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None, ""
    try:
        transformer = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
    except Exception:  # pyproj's ProjError and friends: no way from that CRS to longitude/latitude
        raise ImportFileError(f"states a coordinate reference system ({crs.name[:60]!r}) that cannot be converted "
                              "to WGS-84") from None
    name = crs.to_string()[:60]
    return (lambda x, y: transformer.transform(x, y)), f" (after reprojecting from {name})"


def _gdal_message(exc: Exception, path: Path) -> str:
    """GDAL's complaint without our temporary directory in it."""
    text = str(exc).replace(str(path.parent) + "/", "").replace(str(path.parent), "")
    return " ".join(text.split())[:200] or type(exc).__name__


# ---- GeoJSON (the standard library: exact numbers, lists stay lists)

def _read_geojson(data: bytes, opts: ImportOptions) -> Source:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ImportFileError("is not valid JSON (GeoJSON must be UTF-8 JSON)") from None
    try:  # a \ud800 escape alone is valid JSON but not Unicode text: nothing could store or report it
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise ImportFileError(f"contains a lone surrogate ({err.object[err.start]!r}), which is not Unicode text; "
                              "save the file as UTF-8 again") from None
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise ImportFileError("is JSON but not a GeoJSON FeatureCollection or Feature")
    features = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list):
        raise ImportFileError("is a FeatureCollection whose `features` is not a list")
    transform, hint = None, ""
    crs = doc.get("crs")  # the 2008 GeoJSON spec let a file name its CRS; RFC 7946 files are WGS-84
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict) and crs["properties"].get("name"):
        transform, hint = _to_wgs84(str(crs["properties"]["name"]))
    rows = []
    for n, feature in enumerate(features[: opts.max_rows + 1], start=1):
        row = SourceRow(n, {}, hint=hint)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            row.error = ("feature", "is not a GeoJSON Feature")
        else:
            props = feature.get("properties")
            if props is not None and not isinstance(props, dict):
                row.error = ("properties", "must be an object")
            row.props = props if isinstance(props, dict) else {}
            if row.error is None:
                row.point, row.error = _json_point(feature.get("geometry"))
            if row.point and transform:
                row.point = transform(*row.point)
        rows.append(row)
    return Source("geojson", rows)


def _json_point(geometry: Any) -> tuple[tuple[float, float] | None, tuple[str, str] | None]:
    if not isinstance(geometry, dict):
        return None, ("geometry", "is missing: a site needs a point")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Point", coords[0]
    if kind != "Point":
        what = f"a MultiPoint of {len(coords)} points" if kind == "MultiPoint" and isinstance(coords, list) else f"a {kind}"
        return None, ("geometry", f"is {what}; only points can be imported as sites")
    if not isinstance(coords, list) or len(coords) not in (2, 3):
        return None, ("geometry", "must be a Point with [lon, lat]")
    return (coords[0], coords[1]), None


# ---- CSV (the standard library)

_LON = ("lon", "lng", "long", "longitude", "经度", "x")
_LAT = ("lat", "latitude", "纬度", "y")
_DATUM_COLUMNS = (("wgs84", "lon_wgs84", "lat_wgs84"), ("gcj02", "lon_gcj02", "lat_gcj02"),
                  ("gcj02", "gcj02_lon", "gcj02_lat"), ("bd09", "lon_bd09", "lat_bd09"))
_WKT = ("wkt", "geometry", "geom", "the_geom", "几何")


def _decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _garbage() from None
    if b"\x00" in data:
        raise _garbage()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _garbage()


def _read_csv(data: bytes, opts: ImportOptions) -> Source:
    text = _decode_text(data)
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text[:4096]):
        raise _garbage()
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)  # the header says which separator the file uses
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header:
            raise _garbage()
        keys = [_norm_key(h) for h in header]
        lon_i, lat_i, wkt_i, column_datum = _coordinate_columns(keys)
        if lon_i is None and wkt_i is None and "slug" not in keys:
            raise ImportFileError(f"is not a file this import reads ({READABLE}); as CSV it needs lon/lat (or "
                                  "longitude/latitude, 经度/纬度) columns or a WKT column; its header is "
                                  + ", ".join(repr(h) for h in header[:12]))
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            row = SourceRow(len(rows) + 1, {}, line=reader.line_num, datum=column_datum)
            rows.append(row)
            if len(rows) > opts.max_rows:
                break
            if len(values) > len(header):
                row.error = ("row", f"line {reader.line_num} has {len(values)} cells but the header has {len(header)}")
                continue
            row.props = dict(zip(header, values, strict=False))
            row.point, row.error = _csv_point(values, lon_i, lat_i, wkt_i)
    except csv.Error as exc:
        raise ImportFileError(f"cannot be read as CSV (line {reader.line_num}: {exc})") from None
    return Source("csv", rows)


def _coordinate_columns(keys: list[str]) -> tuple[int | None, int | None, int | None, str | None]:
    def find(names: Iterable[str]) -> int | None:
        return next((keys.index(n) for n in names if n in keys), None)

    lon_i, lat_i = find(_LON), find(_LAT)
    if lon_i is not None and lat_i is not None:
        return lon_i, lat_i, None, None
    for datum, lon_name, lat_name in _DATUM_COLUMNS:
        if lon_name in keys and lat_name in keys:
            return keys.index(lon_name), keys.index(lat_name), None, datum
    return None, None, find(_WKT), None


def _csv_point(values: list[str], lon_i, lat_i, wkt_i):
    def cell(i):
        return values[i].strip() if i is not None and i < len(values) else ""

    if wkt_i is not None:
        text = cell(wkt_i)
        if not text:
            return None, None
        import shapely.wkt
        from shapely.errors import ShapelyError

        try:
            return _shapely_point(shapely.wkt.loads(text))
        except (ShapelyError, ValueError):
            return None, ("geometry", f"{text[:40]!r} is not valid WKT")
    lon, lat = cell(lon_i), cell(lat_i)
    if not lon and not lat:
        return None, None
    try:
        return (float(lon), float(lat)), None
    except ValueError:
        return None, ("geometry", f"lon {lon[:20]!r} / lat {lat[:20]!r} are not numbers")
