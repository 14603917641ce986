"""The one query builder: filter parameters -> validated SiteQuery -> SQL.

The map, the JSON API, and later the OGC API and exports all call `parse_site_query` and
`find_sites`; nothing else builds a site query.
"""
from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from pyproj import Geod
from shapely.geometry import Polygon
from shapely.validation import explain_validity
from sqlalchemy import BigInteger, Integer, Select, and_, bindparam, case, func, literal, or_, select, text
from sqlalchemy.orm import Session, selectinload

from . import checks, facts, vocab
from .db import LON_STRIPS_PER_DEGREE, SpatialDialect, lon_strip, spatial_dialect
from .errors import InvalidParameter
from .models import Site, SiteTag, ThemedBase
from .plain_text import check_text

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10_000_000
MAX_RADIUS_KM = 500
MAX_TEXT = 200
MAX_AREA_VERTICES = 500
PARAMETERS = ("genre", "terrain", "facility", "facility_status", "base", "q", "bbox", "area", "near", "radius_km",
              "elev_min", "elev_max", "limit", "offset")
# facility_status=verified: a chosen facility counts only where someone verified it present.
FACILITY_STATUSES = ("any", "verified")


@dataclass(frozen=True)
class SiteQuery:
    genres: tuple[str, ...] = ()       # any of
    terrain: tuple[str, ...] = ()      # any of
    facilities: tuple[str, ...] = ()   # all of
    facility_status: str = "any"       # any (reported or verified present) | verified (verified present only)
    base: str | None = None
    text: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    area: tuple[tuple[float, float], ...] | None = None  # a drawn polygon's ring, lon/lat pairs
    near: tuple[float, float] | None = None  # lon, lat
    radius_km: float | None = None
    elev_min: float | None = None
    elev_max: float | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    cql: Any = None  # a checked CQL2 filter (scouting.cql.CqlFilter) of the OGC API, ANDed with the rest

    def page(self, offset: int) -> SiteQuery:
        return replace(self, offset=offset)


class SiteRow:
    """A site as a list reads it: the plain columns of one Core row (no ORM entity, no identity map), its terms
    (search._attach_terms) and its base's names; what site_feature and the exports read of a Site."""

    def __init__(self, columns: Mapping[str, Any], base: BaseRef | None):
        self.__dict__.update(columns)
        self.base = base

    _preloaded_terms = None
    terms = Site.terms  # the same rules as the ORM entity's
    facility_facts = Site.facility_facts


@dataclass(frozen=True)
class BaseRef:
    id: int
    slug: str
    name_zh: str
    name_en: str


@dataclass
class SiteHit:
    site: Site | SiteRow
    lon: float
    lat: float
    distance_m: float | None


@dataclass
class SiteResults:
    query: SiteQuery
    number_matched: int
    hits: list[SiteHit]


# --------------------------------------------------------------------------- parsing

def parse_site_query(args: Mapping[str, str], allowed_extra: tuple[str, ...] = ()) -> SiteQuery:
    """Validate request parameters; an InvalidParameter names the parameter and says why."""
    for name, value in args.items():
        check_text(name, value)  # a NUL cannot even be compared in PostgreSQL
    unknown = sorted(k for k in args if k not in PARAMETERS and k not in allowed_extra)
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown parameter; valid parameters are {', '.join(PARAMETERS)}")
    q: dict[str, Any] = {
        "genres": _terms(args, "genre", vocab.GENRES),
        "terrain": _terms(args, "terrain", vocab.TERRAIN),
        "facilities": _terms(args, "facility", vocab.FACILITIES),
    }
    if args.get("facility_status"):
        q["facility_status"] = checks.one_of(args["facility_status"].strip(), "facility_status", FACILITY_STATUSES)
    if args.get("base"):
        q["base"] = args["base"].strip()
    if args.get("q"):
        text = args["q"].strip()
        if len(text) > MAX_TEXT:
            raise InvalidParameter("q", f"is {len(text)} characters long; at most {MAX_TEXT} are allowed")
        q["text"] = text or None
    if args.get("bbox"):
        q["bbox"] = _bbox(args["bbox"])
    if args.get("area"):
        q["area"] = _area(args["area"])
    if args.get("near") or args.get("radius_km"):
        if not args.get("near"):
            raise InvalidParameter("radius_km", "needs near=lon,lat to say where to measure from")
        if not args.get("radius_km"):
            raise InvalidParameter("near", "needs radius_km (kilometres) to say how far around the point to search")
        q["near"] = _lon_lat(args["near"], "near")
        radius = checks.number(args["radius_km"], "radius_km")
        if radius <= 0:
            raise InvalidParameter("radius_km", f"must be greater than 0, got {radius:g}")
        if radius > MAX_RADIUS_KM:
            raise InvalidParameter("radius_km", f"must be at most {MAX_RADIUS_KM} km, got {radius:g}")
        q["radius_km"] = radius
    if args.get("elev_min"):
        q["elev_min"] = checks.number(args["elev_min"], "elev_min")
    if args.get("elev_max"):
        q["elev_max"] = checks.number(args["elev_max"], "elev_max")
    if "elev_min" in q and "elev_max" in q and q["elev_min"] > q["elev_max"]:
        raise InvalidParameter("elev_min", f"{q['elev_min']:g} is greater than elev_max {q['elev_max']:g}")
    if args.get("limit"):
        q["limit"] = checks.whole_number(args["limit"], "limit", 1, MAX_LIMIT)
    if args.get("offset"):
        q["offset"] = checks.whole_number(args["offset"], "offset", 0, MAX_OFFSET)
    return SiteQuery(**q)


def _terms(args: Mapping[str, str], name: str, vocabulary: dict) -> tuple[str, ...]:
    raw = args.get(name)
    if not raw:
        return ()
    listed = [t.strip() for t in raw.split(",") if t.strip()]
    checks.terms(listed, name, vocabulary)
    return tuple(dict.fromkeys(listed))  # in the order asked (a cache key), without repeats


def _numbers(raw: str, name: str, count: int, shape: str) -> list[float]:
    parts = raw.split(",")
    if len(parts) != count:
        raise InvalidParameter(name, f"must be {shape} ({count} comma-separated numbers), got {len(parts)} value(s)")
    return [checks.number(p, name) for p in parts]


def _lon_lat(raw: str, name: str) -> tuple[float, float]:
    return checks.lon_lat(*_numbers(raw, name, 2, "lon,lat"), name)


def _bbox(raw: str) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = _numbers(raw, "bbox", 4, "minLon,minLat,maxLon,maxLat")
    checks.lon_lat(minx, miny, "bbox")
    checks.lon_lat(maxx, maxy, "bbox")
    if minx > maxx:
        raise InvalidParameter("bbox", f"minLon {minx:g} is greater than maxLon {maxx:g} (boxes across the antimeridian are not supported)")
    if miny > maxy:
        raise InvalidParameter("bbox", f"minLat {miny:g} is greater than maxLat {maxy:g}")
    return minx, miny, maxx, maxy


def _area(raw: str) -> tuple[tuple[float, float], ...]:
    values = [checks.number(p, "area") for p in raw.split(",")]
    if len(values) % 2:
        raise InvalidParameter("area", "must be lon,lat pairs (an even count of numbers)")
    ring = [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring.pop()
    if len(ring) < 3:
        raise InvalidParameter("area", f"a polygon needs at least 3 corners, got {len(ring)}")
    if len(ring) > MAX_AREA_VERTICES:
        raise InvalidParameter("area", f"at most {MAX_AREA_VERTICES} corners are allowed, got {len(ring)}")
    for lon, lat in ring:
        checks.lon_lat(lon, lat, "area")
    polygon = Polygon(ring)
    if not polygon.is_valid:
        raise InvalidParameter("area", f"the polygon is not valid: {explain_validity(polygon)}")
    return tuple(ring)


def area_wkt(ring: tuple[tuple[float, float], ...]) -> str:
    closed = [*ring, ring[0]]
    return "POLYGON((" + ", ".join(f"{lon!r} {lat!r}" for lon, lat in closed) + "))"


# --------------------------------------------------------------------------- SQL

def site_conditions(q: SiteQuery, dialect: SpatialDialect, base_id: int | None) -> list:
    """WHERE conditions for a SiteQuery; each uses an index (tags, spatial index, elevation)."""
    conds = [Site.deleted_at.is_(None)]
    if q.bbox or q.area or q.near:
        # The spatial index picks the few sites in the area; each tag filter is then a test of a bitmask on the
        # site row (vocab.TAG_BITS; triggers keep the masks equal to site_tags): no join, no probe per site.
        if q.genres:
            conds.append(mask_any("genre", q.genres))
        if q.terrain:
            conds.append(mask_any("terrain", q.terrain))
        if q.facilities:
            conds.append(mask_all("facility", q.facilities, q.facility_status))
    else:
        # No area: the tag index is the narrowest way in, so the tag filters list their sites.
        if q.genres:
            conds.append(Site.id.in_(_tagged("genre", q.genres)))
        if q.terrain:
            conds.append(Site.id.in_(_tagged("terrain", q.terrain)))
        if q.facilities:
            all_of = _tagged("facility", q.facilities, q.facility_status).group_by(SiteTag.site_id).having(
                func.count() == len(q.facilities))
            conds.append(Site.id.in_(all_of))
    if q.base:
        conds.append(Site.base_id == base_id)
    if q.text:
        pattern = "%" + q.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(or_(*(col.ilike(pattern, escape="\\") for col in
                           (Site.name_zh, Site.name_en, Site.description_zh, Site.description_en))))
    if q.bbox:
        conds.append(in_bbox(dialect, q.bbox))
    if q.area:
        lons, lats = [p[0] for p in q.area], [p[1] for p in q.area]
        conds.append(in_bbox(dialect, (min(lons), min(lats), max(lons), max(lats))))
        conds.append(dialect.intersects(Site.geom, area_wkt(q.area)))
    if q.near:
        lon, lat = q.near
        radius_m = q.radius_km * 1000
        conds.append(in_bbox(dialect, _radius_box(lon, lat, radius_m)))
        conds.append(_within(dialect, lon, lat, radius_m))
    if q.elev_min is not None:
        conds.append(Site.elevation_m >= q.elev_min)
    if q.elev_max is not None:
        conds.append(Site.elevation_m <= q.elev_max)
    if q.cql is not None:
        conds.append(q.cql.condition(dialect))
    return conds


# Past this many strips of longitude (MAX_STRIPS / LON_STRIPS_PER_DEGREE degrees) a box reads the whole index.
MAX_STRIPS = 10 * LON_STRIPS_PER_DEGREE


def in_bbox(dialect: SpatialDialect, bbox: tuple[float, float, float, float]):
    """Sites inside a lon/lat box, exactly: in ix_sites_point, one range of latitudes per strip of longitude the box
    meets, whose entries also hold every column the other filters test, so no wide row is read (the spatial index
    hands over ids, each then looked up in the wide row: four times the cost at 100,000 sites)."""
    minx, miny, maxx, maxy = bbox
    within = [Site.lat.between(miny, maxy), Site.lon.between(minx, maxx)]
    strips = list(range(lon_strip(minx), lon_strip(maxx) + 1))
    if len(strips) <= MAX_STRIPS:
        within.insert(0, Site.lon_strip.in_(bindparam("strips", strips, expanding=True, unique=True, type_=Integer)))
    return and_(*within)


def _tagged(vocabulary: str, terms: tuple[str, ...], facility_status: str = "any") -> Select:
    return select(SiteTag.site_id).where(SiteTag.vocabulary == vocabulary, SiteTag.term.in_(terms),
                                         *_status_condition(vocabulary, facility_status))


def _status_condition(vocabulary: str, facility_status: str) -> list:
    """A facility row counts when it says the site has it: never one verified absent; with
    facility_status=verified, only one verified present.  (A row without a status is reported.)"""
    if vocabulary != "facility":
        return []
    if facility_status == "verified":
        return [SiteTag.status == facts.PRESENT]
    return [SiteTag.status.is_distinct_from(facts.ABSENT)]


def _mask_column(vocabulary: str, facility_status: str = "any"):
    """The site row's mask of a vocabulary; for facilities, the one of facility_status (a facility verified absent
    is in neither)."""
    if vocabulary == "facility" and facility_status == "verified":
        return Site.facility_verified_mask
    return {"genre": Site.genre_mask, "terrain": Site.terrain_mask, "facility": Site.facility_mask}[vocabulary]


def mask_any(vocabulary: str, terms: tuple[str, ...], facility_status: str = "any"):
    """The site has any of `terms`: mask & :any != 0."""
    wanted = literal(vocab.tag_mask(vocabulary, terms), BigInteger)
    return _mask_column(vocabulary, facility_status).op("&")(wanted) != 0


def mask_all(vocabulary: str, terms: tuple[str, ...], facility_status: str = "any"):
    """The site has all of `terms`: mask & :all = :all."""
    wanted = literal(vocab.tag_mask(vocabulary, terms), BigInteger)
    return _mask_column(vocabulary, facility_status).op("&")(wanted) == wanted


# The spherical distance (haversine, mean Earth radius) is within SPHERE_ERROR of the ellipsoidal one (at most
# ~0.56%: the Earth's radius of curvature is 6,335 to 6,400 km; tests/test_radius.py checks it against pyproj).
EARTH_RADIUS_M = 6_371_008.8
SPHERE_ERROR = 0.01


def _haversine(lon: float, lat: float):
    """sin²(θ/2) of the central angle θ from (lon, lat) to a site: cheap arithmetic on the point, and growing with
    the spherical distance, so a bound on the distance is a bound on it (no asin, no square root)."""
    lat0, lon0 = math.radians(lat), math.radians(lon)
    y, x = func.radians(Site.lat), func.radians(Site.lon)
    half_dlat, half_dlon = func.sin((y - lat0) / 2.0), func.sin((x - lon0) / 2.0)
    return half_dlat * half_dlat + math.cos(lat0) * func.cos(y) * half_dlon * half_dlon


def _haversine_of(distance_m: float) -> float | None:
    """The _haversine value of a spherical distance (None past the antipode: no bound)."""
    half_angle = distance_m / (2 * EARTH_RADIUS_M)
    return math.sin(half_angle) ** 2 if half_angle < math.pi / 2 else None


def _within(dialect: SpatialDialect, lon: float, lat: float, radius_m: float):
    """Within radius_m on the ellipsoid: the spherical bound decides where it is sure (well inside, well outside);
    the exact ellipsoidal distance is computed only in the band around the circle (CASE evaluates in order)."""
    h = _haversine(lon, lat)
    sure_inside, sure_outside = _haversine_of(radius_m / (1 + SPHERE_ERROR)), _haversine_of(radius_m * (1 + SPHERE_ERROR))
    exact = dialect.geodesic_distance_m(Site.geom, lon, lat) <= radius_m
    return case((h <= sure_inside, literal(True)), (h > sure_outside, literal(False)), else_=exact) == literal(True)


GEOD = Geod(ellps="WGS84")  # the ellipsoid of the databases' geodesic distances (the same figure to the nanometre)


def _nearest_page(session: Session, conds: list, q: SiteQuery) -> tuple[int, list[SiteRef]]:
    """The number matched and the page of a nearest-first query: one narrow read, then arithmetic on arrays.

    `conds` are every filter but the circle: the sites in the radius box come back as (id, lon, lat) from index
    entries alone.  The spherical distance s decides membership where it is sure (s <= r/(1+e) inside, s > r(1+e)
    outside); the exact ellipsoidal distance decides the band between.  With s_K the spherical distance of the K-th
    nearest match by the sphere (K = offset + limit), the K-th nearest by the ellipsoid is at most s_K(1+e) away,
    and every site that near is within s_K(1+e)² by the sphere: only those get their exact distance and are sorted
    (then by id).  The same code on both databases, so both give the same ids in the same order."""
    points = spatial_dialect(session).point_array(session.connection(), select(Site.id, Site.lon, Site.lat).where(*conds))
    if not len(points):
        return 0, []
    ids, lons, lats = points[:, 0].astype(np.int64), points[:, 1], points[:, 2]
    lon0, lat0 = q.near
    radius_m = q.radius_km * 1000
    spherical = _spherical_m(lon0, lat0, lons, lats)
    inside = spherical <= radius_m / (1 + SPHERE_ERROR)
    band = ~inside & (spherical <= radius_m * (1 + SPHERE_ERROR))
    if band.any():
        inside[band] = _geodesic_m(lon0, lat0, lons[band], lats[band]) <= radius_m
    matched = int(inside.sum())
    ids, lons, lats, spherical = ids[inside], lons[inside], lats[inside], spherical[inside]
    reach = q.offset + q.limit
    if matched > reach:
        s_k = np.sort(spherical)[reach - 1]
        near_enough = spherical <= s_k * (1 + SPHERE_ERROR) ** 2 * (1 + 1e-9) + 1e-6
        ids, lons, lats = ids[near_enough], lons[near_enough], lats[near_enough]
    distances = _geodesic_m(lon0, lat0, lons, lats)
    page = np.lexsort((ids, distances))[q.offset:reach]
    return matched, [SiteRef(int(ids[i]), float(lons[i]), float(lats[i]), float(distances[i])) for i in page]


def _spherical_m(lon0: float, lat0: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Haversine distances in metres on the sphere of mean radius (see _haversine)."""
    y0, y = math.radians(lat0), np.radians(lats)
    h = np.sin((y - y0) / 2) ** 2 + math.cos(y0) * np.cos(y) * np.sin(np.radians(lons - lon0) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _geodesic_m(lon0: float, lat0: float, lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Distances in metres on the WGS-84 ellipsoid (what SpatialDialect.geodesic_distance_m computes in SQL)."""
    if not len(lons):
        return np.empty(0)
    return GEOD.inv(np.full_like(lons, lon0), np.full_like(lats, lat0), lons, lats)[2]


def _radius_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lon/lat box sure to contain every point within radius_m (1% margin over a spherical bound)."""
    dlat = math.degrees(radius_m * 1.01 / 6_356_752.0)
    coslat = max(math.cos(math.radians(min(abs(lat) + dlat, 89.9))), 1e-6)
    dlon = min(180.0, dlat / coslat)
    return max(-180.0, lon - dlon), max(-90.0, lat - dlat), min(180.0, lon + dlon), min(90.0, lat + dlat)


def _base_id(session: Session, q: SiteQuery) -> int | None:
    if not q.base:
        return None
    base_id = session.scalar(select(ThemedBase.id).where(ThemedBase.slug == q.base))
    if base_id is None:
        known = session.scalars(select(ThemedBase.slug).order_by(ThemedBase.number)).all()
        raise InvalidParameter("base", f"unknown base {q.base!r}; valid bases are {', '.join(known)}")
    return base_id


def count_sites(session: Session, q: SiteQuery) -> int:
    dialect = spatial_dialect(session)
    conds = site_conditions(q, dialect, _base_id(session, q))
    return session.scalar(select(func.count()).select_from(Site).where(*conds))


@dataclass(frozen=True)
class SiteRef:
    """Where a result sits on its page: the site's id, its point and, around a point, its distance."""
    id: int
    lon: float
    lat: float
    distance_m: float | None


def find_site_refs(session: Session, q: SiteQuery, matched: int | None = None) -> tuple[int, list[SiteRef]]:
    """The number matched and a page of a query's results as ids and points, in the page's order: the narrow
    half of find_sites (the columns a page shows are read by id, see site_hits), so a caller that keeps features
    (scouting/site_pages.py) reads wide rows only for the sites it does not have."""
    dialect = spatial_dialect(session)
    if q.near:
        # Every filter but the circle, whose test and the order are computed from the points (_nearest_page).
        box = in_bbox(dialect, _radius_box(*q.near, q.radius_km * 1000))
        around = replace(q, near=None, radius_km=None)
        return _nearest_page(session, [*site_conditions(around, dialect, _base_id(session, q)), box], q)
    conds = site_conditions(q, dialect, _base_id(session, q))
    if matched is None:
        matched = count_sites(session, q)
    # Stable order: by id (the order sites were added).  In a box, by id + 0: the same order, but a planner seeing
    # ORDER BY id LIMIT may walk the whole table in id order (SQLite does) rather than read the box's range of
    # ix_sites_point and sort what passes.
    order = Site.id + 0 if q.bbox or q.area else Site.id
    stmt = select(Site.id, Site.lon, Site.lat).where(*conds).order_by(order).limit(q.limit).offset(q.offset)
    points = dialect.point_array(session.connection(), stmt)
    points = points[np.argsort(points[:, 0])]  # the page's order again: point_array keeps its rows, not their order
    return matched, [SiteRef(int(site_id), lon, lat, None) for site_id, lon, lat in points.tolist()]


def find_sites(session: Session, q: SiteQuery, matched: int | None = None) -> SiteResults:
    """A page of a query's sites; `matched` is the query's count when the caller knows it already."""
    matched, refs = find_site_refs(session, q, matched)
    return SiteResults(q, matched, site_hits(session, refs))


def _id_list(ids: list[int]):
    """A list of ids as one expanding parameter: SQLAlchemy then skips checking each element (hot-path lists
    hold hundreds)."""
    return bindparam("ids", ids, expanding=True, type_=Integer)


def site_hits(session: Session, refs: list[SiteRef]) -> list[SiteHit]:
    """The sites of `refs` as SiteHits, in the same order: their columns read by id in one query."""
    if not refs:
        return []
    rows = session.execute(select(*_ROW_COLUMNS).where(Site.id.in_(_id_list([ref.id for ref in refs])))).all()
    by_id = {site.id: site for site in _row_sites(session, rows)}
    return [SiteHit(by_id[ref.id], ref.lon, ref.lat, ref.distance_m) for ref in refs]


# Results are read, never written: plain rows of every column but the geometry (the point comes as ST_X/ST_Y).
_ROW_COLUMNS = [column for column in Site.__table__.c if column.key != "geom"]
_WIDTH = len(_ROW_COLUMNS)


def _row_hits(session: Session, rows, with_distance: bool = False) -> list[SiteHit]:
    """SiteHits of plain rows (_ROW_COLUMNS, lon, lat[, distance]), with their terms and bases in two queries."""
    sites = _row_sites(session, rows)
    return [SiteHit(site, row[_WIDTH], row[_WIDTH + 1], row[_WIDTH + 2] if with_distance else None)
            for site, row in zip(sites, rows, strict=True)]


def _row_sites(session: Session, rows) -> list[SiteRow]:
    """SiteRows of plain rows starting with _ROW_COLUMNS, with their terms and bases in two queries."""
    keys = [column.key for column in _ROW_COLUMNS]
    base_ids = {row[keys.index("base_id")] for row in rows} - {None}
    bases = {} if not base_ids else {b.id: BaseRef(*b) for b in session.execute(
        select(ThemedBase.id, ThemedBase.slug, ThemedBase.name_zh, ThemedBase.name_en).where(ThemedBase.id.in_(base_ids)))}
    sites = []
    for row in rows:
        columns = dict(zip(keys, row[:_WIDTH], strict=True))
        sites.append(SiteRow(columns, bases.get(columns["base_id"])))
    _attach_terms(session, sites)
    return sites


def _attach_terms(session: Session, sites: list[Site | SiteRow]) -> None:
    """The genres, terrain and facilities of many sites from one query of plain rows (see Site.terms)."""
    if not sites:
        return
    terms: dict[int, dict[str, list]] = {site.id: {} for site in sites}
    rows = session.execute(select(SiteTag.site_id, SiteTag.vocabulary, SiteTag.term, SiteTag.status, SiteTag.source,
                                  SiteTag.verified_by, SiteTag.verified_at, SiteTag.verified_how)
                           .where(SiteTag.site_id.in_(list(terms)))
                           .order_by(SiteTag.site_id, SiteTag.vocabulary, SiteTag.term))
    for site_id, vocabulary, term, *fact in rows:
        if vocabulary == "facility":  # facilities with their status (Site.facility_facts)
            terms[site_id].setdefault("facility_facts", []).append(dict(zip(facts.FIELDS, (term, *fact), strict=True)))
            if fact[0] == facts.ABSENT:
                continue
        terms[site_id].setdefault(vocabulary, []).append(term)
    for site in sites:
        site._preloaded_terms = terms[site.id]


def extent(session: Session, model) -> list[float] | None:
    """[minx, miny, maxx, maxy] of a table's points (sites not deleted), or None when it has none."""
    live = [model.deleted_at.is_(None)] if hasattr(model, "deleted_at") else []
    row = session.execute(select(
        func.min(func.ST_X(model.geom)), func.min(func.ST_Y(model.geom)),
        func.max(func.ST_X(model.geom)), func.max(func.ST_Y(model.geom))).where(*live)).one()
    return None if row[0] is None else [float(v) for v in row]


def database_health(session: Session) -> int:
    """The number of stored sites, after a spatial function has answered: proves the extension is loaded, not just
    that the database opens.  Raises what the driver raises."""
    session.execute(select(func.ST_AsText(func.ST_GeomFromText("POINT(120 27.8)", 4326)))).scalar_one()
    return session.scalar(select(func.count()).select_from(Site))


def get_sites(session: Session, site_ids: list[int]) -> list[SiteHit]:
    rows = session.execute(
        select(Site, func.ST_X(Site.geom), func.ST_Y(Site.geom)).where(Site.id.in_(site_ids), Site.deleted_at.is_(None))
        .options(selectinload(Site.tags), selectinload(Site.base)))
    return [SiteHit(row[0], row[1], row[2], None) for row in rows]


def iter_sites(session: Session, q: SiteQuery, page_size: int = 1000):
    """Every site of a query in id order, fetched a page at a time by keyset (exports stream this)."""
    conds = site_conditions(q, spatial_dialect(session), _base_id(session, q))
    last_id = 0
    while True:
        hits = _row_hits(session, session.execute(
            select(*_ROW_COLUMNS, func.ST_X(Site.geom), func.ST_Y(Site.geom)).where(*conds, Site.id > last_id)
            .order_by(Site.id).limit(page_size)).all())
        yield from hits
        if len(hits) < page_size:
            return
        last_id = hits[-1].site.id


def get_site(session: Session, site_id: int, include_deleted: bool = False) -> SiteHit | None:
    deleted = [] if include_deleted else [Site.deleted_at.is_(None)]
    row = session.execute(
        select(Site, func.ST_X(Site.geom), func.ST_Y(Site.geom)).where(Site.id == site_id, *deleted)
        .options(selectinload(Site.tags), selectinload(Site.base))
    ).first()
    return SiteHit(row[0], row[1], row[2], None) if row else None


# --------------------------------------------------------------------------- facets

# Each filter a user can switch off, and the SiteQuery fields it sets.
FILTER_FIELDS = {
    "genre": ("genres",), "terrain": ("terrain",), "facility": ("facilities", "facility_status"), "base": ("base",),
    "q": ("text",), "bbox": ("bbox",), "area": ("area",), "near": ("near", "radius_km"),
    "elevation": ("elev_min", "elev_max"),
}
# The URL parameters of each filter, in PARAMETERS order: the map page reads its parameter names from here
# (scouting/maps.py passes them on) and clears a filter by all of its parameters.
FILTER_PARAMETERS = {
    "genre": ("genre",), "terrain": ("terrain",), "facility": ("facility", "facility_status"), "base": ("base",), "q": ("q",),
    "bbox": ("bbox",), "area": ("area",), "near": ("near", "radius_km"), "elevation": ("elev_min", "elev_max"),
}
_EMPTY = SiteQuery()


def without(q: SiteQuery, filter_name: str) -> SiteQuery:
    return replace(q, **{f: getattr(_EMPTY, f) for f in FILTER_FIELDS[filter_name]})


def active_filters(q: SiteQuery) -> list[str]:
    # facility_status narrows the chosen facilities: alone it filters nothing.
    return [name for name, fields in FILTER_FIELDS.items()
            if any(getattr(q, f) != getattr(_EMPTY, f) for f in fields if f != "facility_status")]


def facet_counts(session: Session, q: SiteQuery) -> dict[str, dict[str, int]]:
    """How many sites each term would match, next to the other filters.

    Any-of filters (genre, terrain, base) are counted without their own selection, so a chip
    says what choosing it would add; facilities (all-of) are counted within the current result.
    Vocabularies whose variant of the query is the same share one GROUP BY over site_tags (with no
    genre or terrain chosen, one query counts all three).
    """
    dialect = spatial_dialect(session)
    variants: dict[SiteQuery, list[str]] = {}
    for vocabulary, own_filter in (("genre", "genre"), ("terrain", "terrain"), ("facility", None)):
        variants.setdefault(without(q, own_filter) if own_filter else q, []).append(vocabulary)
    counts: dict[str, dict[str, int]] = {}
    for variant, vocabularies in variants.items():
        for vocabulary in vocabularies:
            counts[vocabulary] = {}
        matching = select(Site.id).where(*site_conditions(variant, dialect, _base_id(session, variant)))
        # A facility counts where the site has it (verified present only, with facility_status=verified).
        has_it = or_(SiteTag.vocabulary != "facility", *_status_condition("facility", q.facility_status))
        rows = session.execute(
            select(SiteTag.vocabulary, SiteTag.term, func.count())
            .where(SiteTag.vocabulary.in_(vocabularies), SiteTag.site_id.in_(matching), has_it)
            .group_by(SiteTag.vocabulary, SiteTag.term))
        for vocabulary, term, n in rows:
            counts[vocabulary][term] = n
    variant = without(q, "base")
    rows = session.execute(
        select(ThemedBase.slug, func.count(Site.id)).join(Site, Site.base_id == ThemedBase.id)
        .where(*site_conditions(variant, dialect, None)).group_by(ThemedBase.slug))
    counts["base"] = dict(rows.all())
    return counts


def relaxations(session: Session, q: SiteQuery) -> dict[str, int]:
    """For each active filter, how many sites there would be without it (for an empty result's advice)."""
    return {name: count_sites(session, without(q, name)) for name in active_filters(q)}


# --------------------------------------------------------------------------- clusters (the map at scale)

# A cell is about this many screen pixels wide at the requested zoom (Leaflet's 256-pixel tiles).
CLUSTER_CELL_PX = 64
MAX_ZOOM = 22
# Bounded output: a view that would need more cells gets coarser ones (a 4K screen needs ~2,000).
MAX_CLUSTER_CELLS = 2500
# From this zoom a cell spans a few hundred metres: its members are listed (up to this many) so sites that
# share a point can still be told apart and opened.
MEMBERS_ZOOM = 16
MAX_CELL_MEMBERS = 20
MAX_MARKERS = 2000  # past this many single markers, further cells stay clusters


@dataclass(frozen=True)
class Cluster:
    count: int
    lon: float  # the members' mean position
    lat: float
    bbox: tuple[float, float, float, float]  # the members' bounding box


@dataclass(frozen=True)
class SiteMarker:
    """What a single marker needs: its place, names and genres (details are fetched on click)."""
    id: int
    lon: float
    lat: float
    name_zh: str
    name_en: str
    genres: tuple[str, ...]


@dataclass
class ClusterResults:
    query: SiteQuery
    zoom: int
    cell_deg: float
    number_matched: int  # matches inside the bbox: the sum of every cell's count
    clusters: list[Cluster]
    markers: list[SiteMarker]


def parse_cluster_query(args: Mapping[str, str]) -> tuple[SiteQuery, int]:
    """The filters of /api/sites plus `bbox` (the view, required) and `zoom` (required, 0..22)."""
    for name in ("limit", "offset"):
        if name in args:
            raise InvalidParameter(name, "clusters are not paged: every match inside the bbox is counted")
    if not args.get("bbox"):
        raise InvalidParameter("bbox", "is required: the map view as minLon,minLat,maxLon,maxLat")
    if not args.get("zoom"):
        raise InvalidParameter("zoom", f"is required: the map's zoom level, 0 to {MAX_ZOOM}")
    zoom = checks.whole_number(args["zoom"], "zoom", 0, MAX_ZOOM)
    return parse_site_query({k: v for k, v in args.items() if k != "zoom"}), zoom


def _mercator_y(lat: float) -> float:
    lat = max(-85.0511287798, min(85.0511287798, lat))
    return math.log(math.tan(math.radians(45 + lat / 2)))


def grid_cells(bbox: tuple[float, float, float, float], cell_deg: float) -> int:
    """How many grid cells a bbox touches (at most: rows are counted on the Mercator y)."""
    minx, miny, maxx, maxy = bbox
    columns = math.floor(maxx / cell_deg) - math.floor(minx / cell_deg) + 1
    row_height = math.radians(cell_deg)
    rows = math.floor(_mercator_y(maxy) / row_height) - math.floor(_mercator_y(miny) / row_height) + 1
    return columns * rows


def cluster_cell_deg(bbox: tuple[float, float, float, float], zoom: int) -> float:
    """The cell width in degrees for a zoom, doubled until the bbox touches at most MAX_CLUSTER_CELLS cells.

    The grid is anchored at 0°,0° whatever the view, so panning keeps every cell where it was.
    """
    cell = CLUSTER_CELL_PX * 360.0 / (256 * 2 ** zoom)
    while grid_cells(bbox, cell) > MAX_CLUSTER_CELLS:
        cell *= 2
    return cell


def cluster_sites(session: Session, q: SiteQuery, zoom: int) -> ClusterResults:
    """Grid-cell aggregates of a query's sites inside q.bbox, computed in SQL (GROUP BY cell).

    A cell with one member (or, from MEMBERS_ZOOM on, a few) comes back as markers, any other as a cluster.
    """
    if q.bbox is None:
        raise InvalidParameter("bbox", "is required: the map view as minLon,minLat,maxLon,maxLat")
    dialect = spatial_dialect(session)
    conds = site_conditions(q, dialect, _base_id(session, q))
    cell_deg = cluster_cell_deg(q.bbox, zoom)
    x, y = Site.lon, Site.lat
    column_, row = dialect.grid_cell(x, y, cell_deg)
    points = select(Site.id.label("id"), x.label("x"), y.label("y"), column_.label("cx"), row.label("cy")) \
        .where(*conds).subquery()
    max_members = MAX_CELL_MEMBERS if zoom >= MEMBERS_ZOOM else 1
    members = dialect.id_list(points.c.id) if max_members > 1 else func.min(points.c.id)
    stmt = (select(func.count(), func.avg(points.c.x), func.avg(points.c.y), func.min(points.c.x),
                   func.min(points.c.y), func.max(points.c.x), func.max(points.c.y), members)
            .group_by(points.c.cx, points.c.cy).order_by(points.c.cx, points.c.cy))
    clusters: list[Cluster] = []
    marker_ids: list[int] = []
    matched = 0
    for count, lon, lat, minx, miny, maxx, maxy, ids in session.execute(stmt):
        matched += count
        if count <= max_members and len(marker_ids) + count <= MAX_MARKERS:
            marker_ids.extend(int(i) for i in str(ids).split(","))
        else:
            clusters.append(Cluster(count, float(lon), float(lat), (minx, miny, maxx, maxy)))
    return ClusterResults(q, zoom, cell_deg, matched, clusters, site_markers(session, marker_ids))


def site_markers(session: Session, site_ids: list[int]) -> list[SiteMarker]:
    if not site_ids:
        return []
    genres: dict[int, list[str]] = {}
    order = list(vocab.GENRES)
    for site_id, term in session.execute(select(SiteTag.site_id, SiteTag.term).where(
            SiteTag.vocabulary == "genre", SiteTag.site_id.in_(site_ids))):
        genres.setdefault(site_id, []).append(term)
    rows = session.execute(select(Site.id, func.ST_X(Site.geom), func.ST_Y(Site.geom), Site.name_zh, Site.name_en)
                           .where(Site.id.in_(site_ids)).order_by(Site.id))
    return [SiteMarker(i, lon, lat, zh, en, tuple(sorted(genres.get(i, ()), key=order.index)))
            for i, lon, lat, zh, en in rows]


# --------------------------------------------------------------------------- cached summaries

def data_version(session: Session) -> tuple:
    """A value that changes with every write to the data a search reads: triggers bump data_version.version in
    the writing transaction (scouting/db.py), and a restored backup gets a new generation.  One primary-key read."""
    return tuple(session.execute(text("SELECT generation, version FROM data_version WHERE id = 1")).one())


def new_data_generation(session: Session) -> None:
    """After the database was replaced (a backup restored), so no version it had before can match a cached one."""
    session.execute(text("UPDATE data_version SET generation = :generation, version = version + 1 WHERE id = 1"),
                    {"generation": uuid.uuid4().hex})


def tag_mask_problems(session: Session) -> list[str]:
    """Where the bitmasks on the site rows disagree with site_tags (the truth) or tag_bits with vocab.TAG_BITS;
    empty when they agree.  The masks are recomputed here in Python, independently of the triggers."""
    problems = []
    stored_bits = {(v, t): value for v, t, value in session.execute(text("SELECT vocabulary, term, value FROM tag_bits"))}
    declared = {(v, t): 1 << bit for v, bits in vocab.TAG_BITS.items() for t, bit in bits.items()}
    if stored_bits != declared:
        differing = sorted(set(stored_bits.items()) ^ set(declared.items()))
        problems.append(f"tag_bits differs from vocab.TAG_BITS at {differing[0][0][0]}/{differing[0][0][1]}")
    expected: dict[int, list[int]] = {}
    for site_id, vocabulary, term, status in session.execute(
            select(SiteTag.site_id, SiteTag.vocabulary, SiteTag.term, SiteTag.status)):
        bit = 1 << vocab.TAG_BITS[vocabulary][term] if term in vocab.TAG_BITS.get(vocabulary, {}) else 0
        masks = expected.setdefault(site_id, [0, 0, 0, 0])
        if vocabulary == "genre":
            masks[0] |= bit
        elif vocabulary == "terrain":
            masks[1] |= bit
        elif vocabulary == "facility":
            masks[2] |= bit if status != facts.ABSENT else 0
            masks[3] |= bit if status == facts.PRESENT else 0
    columns = (Site.genre_mask, Site.terrain_mask, Site.facility_mask, Site.facility_verified_mask)
    for site_id, *stored in session.execute(select(Site.id, *columns).order_by(Site.id)):
        want = expected.get(site_id, [0, 0, 0, 0])
        for column, have, should in zip(columns, stored, want, strict=True):
            if have != should:
                problems.append(f"site {site_id}: {column.key} is {have}, its site_tags say {should}")
    return problems


def point_problems(session: Session) -> list[str]:
    """Sites whose lon/lat/lon_strip (what a search reads, see in_bbox) are not their geometry's; empty when all
    agree.  The strips are recomputed here in Python, independently of the triggers."""
    x, y = func.ST_X(Site.geom), func.ST_Y(Site.geom)
    rows = session.execute(select(Site.id, Site.lon, Site.lat, Site.lon_strip, x, y).where(or_(
        Site.lon.is_(None), Site.lat.is_(None), Site.lon_strip.is_(None), Site.lon != x, Site.lat != y)).order_by(Site.id))
    problems = [f"site {site_id}: lon/lat are {lon}, {lat}, its geometry says {gx}, {gy}"
                for site_id, lon, lat, _, gx, gy in rows]
    for site_id, lon, strip in session.execute(select(Site.id, Site.lon, Site.lon_strip).where(Site.lon.is_not(None))):
        if strip is not None and strip != lon_strip(lon):
            problems.append(f"site {site_id}: lon/lat strip is {strip}, its longitude {lon} is in {lon_strip(lon)}")
    return sorted(problems, key=lambda p: int(p.split()[1].rstrip(":")))


def facet_summary(session: Session, q: SiteQuery) -> dict[str, Any]:
    """The body of /api/sites/facets: the number matched, counts per term, and for an empty result
    the count without each active filter."""
    matched = count_sites(session, q)
    body: dict[str, Any] = {"numberMatched": matched, "counts": facet_counts(session, q)}
    if matched == 0:
        body["without"] = relaxations(session, q)
    return body


class ResultCache:
    """Answers kept per query and data version, so the same view of the same data is computed once per write,
    not once per visitor: the unfiltered facet counts (every first view of the map), a view's clusters, and the
    count behind each page of /api/sites (paging through a large result repeats it).
    A bounded LRU, safe across threads; a write changes the data version, so nothing stale is served."""

    def __init__(self, size: int = 512):
        self.size = size
        self._entries: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, session: Session, key: tuple, compute, version: tuple | None = None):
        """`version`: the data version when the caller has just read it."""
        key = (*key, version or data_version(session))
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
        value = compute()
        with self._lock:
            self.misses += 1
            self._entries[key] = value
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def count_sites(self, session: Session, q: SiteQuery, version: tuple | None = None) -> int:
        q = replace(q, limit=DEFAULT_LIMIT, offset=0)
        return self.get(session, ("count", q), lambda: count_sites(session, q), version)

    def facet_summary(self, session: Session, q: SiteQuery) -> dict[str, Any]:
        q = replace(q, limit=DEFAULT_LIMIT, offset=0)
        return self.get(session, ("facets", q), lambda: facet_summary(session, q))

    def cluster_sites(self, session: Session, q: SiteQuery, zoom: int) -> ClusterResults:
        q = replace(q, limit=DEFAULT_LIMIT, offset=0)
        return self.get(session, ("clusters", q, zoom), lambda: cluster_sites(session, q, zoom))
