"""Site records: validation of incoming data and writing it to the model.

A *site record* is the plain dict form of a site, the same keys as the GeoJSON properties the
API serves plus `lon`/`lat`.  Everything that writes sites (geodata loading now; the planner's
forms, the API and imports later) goes through `clean_site_record` and `apply_site_record`.
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

import numpy as np
from geoalchemy2 import WKTElement
from shapely import wkt as shapely_wkt
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from . import audit, bases, checks, facts, geo, vocab
from .db import lon_strip
from .errors import InvalidGeodata, InvalidParameter, InvalidParameters, NotFound, PreconditionFailed
from .models import Site, SiteRevision, SiteTag, ThemedBase
from .plain_text import is_id, unstorable_reason
from .search import SiteHit, get_site

TEXT_LIMITS = {
    "slug": 64, "name_zh": 200, "name_en": 200,
    "description_zh": 5000, "description_en": 5000,
    "access_notes_zh": 2000, "access_notes_en": 2000,
    "permit_notes": 2000, "contact_notes": 2000,
    "coord_source": 1000, "facts_source": 2000,
    "source_public_zh": 300, "source_public_en": 300,
}
REQUIRED_TEXT = ("slug", "name_zh", "name_en", "coord_source")
OPTIONAL_TEXT = tuple(k for k in TEXT_LIMITS if k not in REQUIRED_TEXT)
TAG_FIELDS = {"genres": "genre", "terrain": "terrain", "facilities": "facility"}
STAFF_FIELDS = ("permit_notes", "contact_notes")


class RecordError(InvalidGeodata):
    def __init__(self, field: str, reason: str, key: str | None = None, **params: Any):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.key = key  # a sentence of checks.SENTENCES, for forms
        self.params = params


class RecordErrors(RecordError):
    """Every field of a record that is wrong; reads as the first for callers that report one."""

    def __init__(self, errors: list[RecordError]):
        first = errors[0]
        super().__init__(first.field, first.reason, first.key, **first.params)
        self.errors = errors


def _checked(check: Callable[..., Any], value: Any, field: str, *args: Any) -> Any:
    """A rule of scouting.checks applied to a record's field: its InvalidParameter becomes this module's RecordError."""
    try:
        return check(value, field, *args)
    except InvalidParameter as err:
        raise RecordError(err.name, err.reason, err.key, **err.params) from None


def clean_site_record(raw: dict[str, Any], base_slugs: set[str]) -> dict[str, Any]:
    """Check every field of an incoming site and return the normalised record; raise RecordErrors naming every
    wrong field (in the order of the checks: the first is what a caller reporting one shows)."""
    result = clean_site_records([raw], base_slugs)[0]
    if isinstance(result, RecordErrors):
        raise result
    return result


def clean_site_records(raws: list[dict[str, Any]], base_slugs: set[str]) -> list[dict[str, Any] | RecordErrors]:
    """`clean_site_record` for many records at once (clean_site_columns of their fields): each record's normalised
    form or its RecordErrors."""
    columns = {key: [raw.get(key) for raw in raws] for key in EDITABLE if key != "verified"}
    columns["verified"] = [raw.get("verified", False) for raw in raws]
    return clean_site_columns(columns, len(raws), base_slugs)


def clean_site_columns(columns: dict[str, list[Any]], size: int,
                       base_slugs: set[str]) -> list[dict[str, Any] | RecordErrors]:
    """`clean_site_record` for `size` records given as columns (field -> the records' values; None or a missing
    column: no value; a missing `verified` column: False), a field at a time: each record's normalised form or its
    RecordErrors.  A column whose values are all plainly right (checked for the whole column at once) is taken as it
    is; any other goes value by value through the same rules, so every record gets what it would alone.  A value a
    column repeats (a term list, a method) is checked once.  The records are made from the columns at the end, each
    in one step."""
    nothing = [None] * size
    cleaned: dict[str, list[Any]] = {}  # in the records' key order
    errors: list[list[RecordError]] = [[] for _ in range(size)]

    def given(key: str) -> list[Any]:
        return columns.get(key) or nothing

    def each(key: str, rule: Callable[..., Any], *args: Any) -> None:
        values = []
        for errs, value in zip(errors, given(key), strict=True):
            try:
                values.append(rule(value, key, *args))
            except RecordError as err:
                errs.append(err)
                values.append(None)
        cleaned[key] = values

    for key in (*REQUIRED_TEXT, *OPTIONAL_TEXT):
        required = key in REQUIRED_TEXT
        texts = _plain_texts(given(key), TEXT_LIMITS[key], required)
        if texts is None:
            each(key, _text, required)
        else:
            cleaned[key] = texts
    slugs = cleaned["slug"]
    if any(slug and not _SLUG_CHARS.fullmatch(slug) for slug in set(slugs)):  # each distinct slug checked once
        for slug, errs in zip(slugs, errors, strict=True):
            if slug and not _SLUG_CHARS.fullmatch(slug):
                errs.append(RecordError("slug", "use ASCII letters, digits and '-' only", "slug_chars"))

    for key, low, high, required in (("lon", -180, 180, True), ("lat", -90, 90, True),
                                     ("elevation_m", -500, 9000, False), ("area_m2", 0, 1e10, False),
                                     ("coord_accuracy_m", 0, 1e6, True)):
        numbers = _plain_numbers(given(key), low, high, required)
        if numbers is None:
            each(key, _number, low, high, required)
        else:
            cleaned[key] = numbers
    methods = given("position_method")
    if _all_hashable_in(methods, vocab.POSITION_METHODS):
        cleaned["position_method"] = list(methods)
    else:
        each("position_method", lambda value, key: _checked(checks.one_of, value, key, vocab.POSITION_METHODS))
    # A device's reported accuracy is an upper bound: rounded up, never down.
    cleaned["coord_accuracy_m"] = [None if accuracy is None else math.ceil(accuracy) if method == "gps"
                                   else int(round(accuracy))
                                   for accuracy, method in zip(cleaned["coord_accuracy_m"], cleaned["position_method"],
                                                               strict=True)]
    bases = cleaned["base"] = list(given("base"))
    if not _all_hashable_in(bases, {None, *base_slugs}):
        for base, errs in zip(bases, errors, strict=True):
            if base is not None and base not in base_slugs:
                errs.append(RecordError("base", f"unknown base {base!r}; known bases: {', '.join(sorted(base_slugs))}",
                                        "choose"))

    def term_column(key: str, vocabulary: dict) -> None:
        lists = _plain_term_lists(given(key), key, vocabulary)
        if lists is None:
            each(key, _terms, vocabulary)
        else:
            cleaned[key] = lists

    for field, vocabulary in TAG_FIELDS.items():
        if field != "facilities":
            term_column(field, vocab.TAG_VOCABULARIES[vocabulary])
    facilities = cleaned["facilities"] = facts.clean_facility_column(given("facilities"), cleaned["facts_source"])
    if set(map(type, facilities)) != {list} or [] in cleaned["genres"]:  # (a whole column at once, in C)
        for i, (errs, entries, genres) in enumerate(zip(errors, facilities, cleaned["genres"], strict=True)):
            if isinstance(entries, facts.FactError):  # each a term (reported, with the record's facts_source) or
                errs.append(RecordError(entries.field, entries.reason, entries.key, **entries.params))  # an object
                facilities[i] = None
            if genres == []:
                errs.append(RecordError("genres", "at least one genre is required", "choose_one"))
    term_column("best_seasons", vocab.SEASONS)
    flags = columns["verified"] if "verified" in columns else [False] * size  # a record without it: not verified
    if set(map(type, flags)) == {bool}:
        cleaned["verified"] = list(flags)
    else:
        each("verified", lambda value, key: _checked(checks.boolean, value, key))
    # Each record is a copy of one template (the fields no record has, in their place) updated with its own values.
    template = {key: None for key in cleaned}
    varying = {key: values for key, values in cleaned.items()
               if size and (values[0] is not None or values.count(None) < size)}
    keys = tuple(varying)
    records: list[dict[str, Any] | RecordErrors] = []
    for errs, values in zip(errors, zip(*varying.values(), strict=True) if varying else [()] * size, strict=True):
        if errs:
            records.append(RecordErrors(errs))
        else:
            record = template.copy()
            record.update(zip(keys, values, strict=True))
            records.append(record)
    return records


def _all_hashable_in(values: list[Any], allowed: Any) -> bool:
    """Whether every value is one of `allowed` (checked once per distinct value; a value that cannot be hashed is not)."""
    try:
        return set(values) <= set(allowed)
    except TypeError:
        return False


_SLUG_CHARS = re.compile(r"[A-Za-z0-9-]*")  # ASCII letters and digits are exactly ASCII's isalnum()


def plain_slug(value: Any) -> bool:
    """Whether `clean_site_record` takes this slug as it is (no spaces around it, not too long, the right characters)."""
    return (type(value) is str and 0 < len(value) <= TEXT_LIMITS["slug"] and value == value.strip()
            and _SLUG_CHARS.fullmatch(value) is not None)


_NONE_TYPE = type(None)


def _plain_texts(values: list[Any], limit: int, required: bool) -> list[str | None] | None:
    """A text column's values stripped, when every one is plainly right for `_text` (None otherwise): text (or
    None) that is short enough, storable (one search over the whole column) and, if required, not empty."""
    kinds = set(map(type, values))
    if not kinds <= {str, _NONE_TYPE}:
        return None
    if str not in kinds:
        return None if required and values else list(values)
    texts = [value for value in values if value is not None] if _NONE_TYPE in kinds else values
    if max(map(len, texts)) > limit or unstorable_reason("".join(texts)):
        return None
    stripped = ([value.strip() or None if value is not None else None for value in values] if _NONE_TYPE in kinds
                else [value.strip() or None for value in values])
    if required and None in stripped:
        return None
    return stripped


def _plain_numbers(values: list[Any], low: float, high: float, required: bool) -> list[float | None] | None:
    """A number column's values as `_number` returns them, when every one is plainly right (None otherwise):
    finite floats or ints (not bools) within [low, high] (checked for the whole column at once with numpy), or
    missing where that is allowed."""
    kinds = set(map(type, values))
    if not kinds <= {float, int, _NONE_TYPE} or (required and _NONE_TYPE in kinds):
        return None
    numbers = [value for value in values if value is not None] if _NONE_TYPE in kinds else values
    if numbers:
        try:
            array = np.asarray(numbers, dtype=float)
        except OverflowError:  # an int too large for a float is out of every range
            return None
        if not (np.isfinite(array).all() and array.min() >= low and array.max() <= high):
            return None
    if int in kinds:
        return [None if value is None else float(value) for value in values]
    return list(values)


def _text(value: Any, key: str, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordError(key, "is required", "required")
        return None
    if not isinstance(value, str):
        raise RecordError(key, "must be text", "invalid")
    unstorable = unstorable_reason(value)
    if unstorable:
        raise RecordError(key, unstorable, "unstorable")
    value = value.strip()
    if len(value) > TEXT_LIMITS[key]:
        raise RecordError(key, f"is {len(value)} characters long; at most {TEXT_LIMITS[key]} are allowed", "too_long",
                          length=len(value), limit=TEXT_LIMITS[key])
    return value


def _number(value: Any, key: str, low: float, high: float, required: bool) -> float | None:
    if value is None:
        if required:
            raise RecordError(key, "is required", "required")
        return None
    if isinstance(value, str):  # a record carries numbers as numbers; text is a mistake to name, not to parse
        raise RecordError(key, f"{value!r} is not a number", "not_number", value=checks.shown(value))
    return _checked(checks.number, value, key, low, high)


def _terms(value: Any, key: str, vocabulary: dict) -> list[str]:
    value = value or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError(key, "must be a list of terms", "choose")
    if vocabulary is not _RECORD_VOCABULARIES.get(key) or len(value) > TERM_LIST_CACHE_MAX:
        return _checked(checks.terms, value, key, vocabulary)
    return list(_known_terms(key, tuple(value)))


def _plain_term_lists(values: list[Any], key: str, vocabulary: dict) -> list[list[str]] | None:
    """A term column's values as `_terms` returns them, when every one is plainly right (None otherwise): missing,
    or a short list of known terms (each distinct list checked once, by `_known_terms`)."""
    if vocabulary is not _RECORD_VOCABULARIES.get(key):
        return None
    known: dict[tuple, tuple[str, ...]] = {}  # lists of text only
    same: dict[int, tuple[str, ...]] = {}      # by identity: a column may repeat one list object (map_columns')
    out: list[list[str]] = []
    try:
        for value in values:
            hit = same.get(id(value))
            if hit is None:
                if not value:
                    out.append([])
                    continue
                if type(value) is not list:
                    return None
                terms = tuple(value)
                hit = known.get(terms)
                if hit is None:
                    if len(value) > TERM_LIST_CACHE_MAX or not all(type(v) is str for v in value):
                        return None
                    hit = known[terms] = _known_terms(key, terms)
                same[id(value)] = hit
            out.append(list(hit))
    except (RecordError, TypeError):  # an unknown term (or an item that cannot be a key): the column goes value
        return None                   # by value, so each record gets its message
    return out


_RECORD_VOCABULARIES = {"genres": vocab.GENRES, "terrain": vocab.TERRAIN, "best_seasons": vocab.SEASONS}
TERM_LIST_CACHE_MAX = 16  # longer lists are checked each time (a cache of them would mostly miss)


@functools.lru_cache(maxsize=4096)
def _known_terms(key: str, values: tuple[str, ...]) -> tuple[str, ...]:
    """checks.terms once per distinct list: a 100k-row import repeats a few hundred lists.  An unknown term
    raises, and lru_cache keeps no errors, so every bad row gets its own message."""
    return tuple(_checked(checks.terms, values, key, _RECORD_VOCABULARIES[key]))


def site_record(site: Site, lon: float, lat: float) -> dict[str, Any]:
    """The stored site as a record: what `clean_site_record` would have produced for it."""
    rec: dict[str, Any] = {key: getattr(site, key) for key in TEXT_LIMITS}
    rec.update(
        lon=lon, lat=lat, elevation_m=site.elevation_m, area_m2=site.area_m2,
        coord_accuracy_m=site.coord_accuracy_m, position_method=site.position_method,
        base=site.base.slug if site.base else None,
        best_seasons=list(site.best_seasons or []), verified=site.verified,
    )
    for field, vocabulary in TAG_FIELDS.items():
        order = list(vocab.TAG_VOCABULARIES[vocabulary])
        rec[field] = sorted(site.terms(vocabulary), key=order.index)
    rec["facilities"] = site.facility_facts()
    return rec


def apply_site_record(site: Site, rec: dict[str, Any], bases_by_slug: dict[str, ThemedBase]) -> None:
    """Write a cleaned record onto a (new or existing) Site."""
    for key in TEXT_LIMITS:
        setattr(site, key, rec[key])
    site.elevation_m = rec["elevation_m"]
    site.area_m2 = rec["area_m2"]
    site.coord_accuracy_m = rec["coord_accuracy_m"]
    site.position_method = rec["position_method"]
    site.best_seasons = rec["best_seasons"]
    site.verified = rec["verified"]
    site.base = bases_by_slug[rec["base"]] if rec["base"] else None
    site.geom = point_element(rec["lon"], rec["lat"])
    wanted = {(row["vocabulary"], row["term"]): row for row in tag_rows(rec)}
    site.tags = [t for t in site.tags if (t.vocabulary, t.term) in wanted]
    have = {(t.vocabulary, t.term): t for t in site.tags}
    for key, row in sorted(wanted.items()):
        tag = have.get(key)
        if tag is None:
            site.tags.append(SiteTag(**row))
        else:  # a status changed in place (same primary key)
            for name, value in row.items():
                if getattr(tag, name) != value:
                    setattr(tag, name, value)


def merged(before: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A stored record with a patch over it (before cleaning); see facts.keep_known for facilities."""
    raw = before | patch
    if "facilities" in patch:
        raw["facilities"] = facts.keep_known(patch["facilities"], before["facilities"])
    return raw


def tag_rows(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """A cleaned record's site_tags rows (without site_id); a facility row carries its status."""
    rows = [{"vocabulary": vocabulary, "term": term, "status": None, "source": None, "verified_by": None,
             "verified_at": None, "verified_how": None}
            for field, vocabulary in TAG_FIELDS.items() if field != "facilities" for term in rec[field]]
    rows += [_facility_row(entry) for entry in rec["facilities"]]
    return rows


def _facility_row(entry: dict[str, Any]) -> dict[str, Any]:
    at = entry["verified_at"]
    return {"vocabulary": "facility", "term": entry["facility"], "status": entry["status"], "source": entry["source"],
            "verified_by": entry["verified_by"], "verified_at": date.fromisoformat(at) if at else None,
            "verified_how": entry["verified_how"]}


NEW_SITE_POINT = ("geom", "lon", "lat")  # new_site_columns' columns: the geometry column made from lon and lat
_NEW_SITE_FIELDS = (*TEXT_LIMITS, "elevation_m", "area_m2", "coord_accuracy_m", "position_method", "best_seasons",
                    "verified", "lon", "lat")
_terms_mask = functools.lru_cache(maxsize=4096)(vocab.tag_mask)  # an import repeats a few hundred term lists
_status, _source = itemgetter("status"), itemgetter("source")


def record_columns(records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Cleaned records as columns: each key with the records' values in order (every cleaned record has the same
    keys), for writers that work a column at a time (bulk imports)."""
    return {key: list(map(itemgetter(key), records)) for key in records[0]}


def new_site_columns(columns: dict[str, list[Any]],
                     base_ids: dict[str, int]) -> tuple[dict[str, list[Any]], list[tuple[int, dict[str, Any]]]]:
    """Cleaned records (as `record_columns`) as the columns of new site rows, their tag masks set, and the facility
    rows (each with its record's index, no site_id) that the masks do not stand for, for bulk inserts (imports); the
    same fields as `apply_site_record` writes onto a Site, worked out a column at a time.

    Every other site_tags row of a record is made from the masks inside the database (db.insert_new_site_tags):
    each genre and terrain term, and each facility `reported` with the record's facts_source (a plain term)."""
    out = {key: columns[key] for key in _NEW_SITE_FIELDS}
    out["base_id"] = [base_ids[slug] if slug else None for slug in columns["base"]]
    # the geometry is made from lon and lat in the insert (bulk_insert's point=NEW_SITE_POINT)
    out["lon_strip"] = list(map(lon_strip, columns["lon"]))
    out["genre_mask"] = [_terms_mask("genre", tuple(terms)) for terms in columns["genres"]]
    out["terrain_mask"] = [_terms_mask("terrain", tuple(terms)) for terms in columns["terrain"]]
    out["facility_mask"], out["facility_verified_mask"] = (
        list(masks) for masks in zip(*map(vocab.facility_masks, columns["facilities"]), strict=True))
    others = []
    plain = {facts.REPORTED}
    for i, (facilities, source) in enumerate(zip(columns["facilities"], columns["facts_source"], strict=True)):
        if facilities and (set(map(_status, facilities)) != plain or set(map(_source, facilities)) != {source}):
            others += [(i, _facility_row(entry)) for entry in facilities
                       if entry["status"] != facts.REPORTED or entry["source"] != source]
    return out, others


def point_element(lon: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=4326)


# --------------------------------------------------------------------------- writes with revisions

EDITABLE = (*TEXT_LIMITS, "lon", "lat", "elevation_m", "area_m2", "coord_accuracy_m", "position_method", "base",
            *TAG_FIELDS, "best_seasons", "verified")
DATUMS = ("wgs84", "gcj02", "bd09")


def feature_to_raw(feature: Any, datum: str = "wgs84", partial: bool = False) -> dict[str, Any]:
    """A GeoJSON Feature (Point) from a client as a raw record; pasted GCJ-02/BD-09 points become WGS-84."""
    checks.one_of(datum, "datum", DATUMS)
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidParameter("body", "must be a GeoJSON Feature")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidParameter("properties", "must be an object")
    unknown = sorted(set(props) - set(EDITABLE) - {"id", "version", "facility_status"})
    if unknown:
        raise InvalidParameter(unknown[0], "is not a field a site can be given")
    raw = {k: v for k, v in props.items() if k not in ("id", "version", "lon", "lat", "facility_status")}
    if "facility_status" in props:
        raw["facilities"] = _facility_status(props)
    geometry = feature.get("geometry")
    if geometry is None and partial:
        return raw
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if (not isinstance(geometry, dict) or geometry.get("type") != "Point" or not isinstance(coords, list)
            or len(coords) not in (2, 3)):
        raise InvalidParameter("geometry", "must be a GeoJSON Point with [lon, lat]")
    if any(isinstance(c, str) for c in coords[:2]):  # JSON numbers only: "120.1" is a mistake to name
        raise InvalidParameter("geometry", f"{coords[:2]!r} are not two numbers (GeoJSON is [lon, lat])")
    lon, lat = checks.lon_lat(coords[0], coords[1], "geometry")
    if datum == "gcj02":
        lon, lat = geo.gcj02_to_wgs84(lon, lat)
    elif datum == "bd09":
        lon, lat = geo.bd09_to_wgs84(lon, lat)
    raw.update(lon=lon, lat=lat)
    return raw


def _facility_status(props: dict) -> Any:
    """`facility_status` (as served) is the fuller form of `facilities`; sent together they must agree."""
    stated = props["facility_status"]
    if "facilities" in props and isinstance(stated, list) and all(isinstance(e, dict) for e in stated):
        has = sorted(e.get("facility") for e in stated if e.get("status", facts.REPORTED) in facts.HAS_IT)
        if not isinstance(props["facilities"], list) or sorted(map(str, props["facilities"])) != has:
            raise InvalidParameter("facilities", "disagrees with facility_status; send one of them (facility_status "
                                                 "says how each facility is known)")
    return stated


def _county(session) -> Any:
    text = bases.county_wkt(session)
    return shapely_wkt.loads(text) if text else None


def _outside(session, raw: dict, confirm_outside: bool) -> list[InvalidParameter]:
    """The county check of a well-formed position (a malformed one is the record's own error)."""
    lon, lat = raw.get("lon"), raw.get("lat")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lon, lat)):
        return []
    county = _county(session)
    if county is not None and not confirm_outside and not county.contains(Point(lon, lat)):
        return [InvalidParameter("geometry", "the point lies outside Wencheng County; if it is a real site just "
                                             "outside, send it again with confirm_outside=true", "outside_county")]
    return []


def _clean(session, raw: dict, more: list[InvalidParameter] | None = None) -> dict:
    """The cleaned record, or InvalidParameters naming every wrong field: the record's own, then `more`
    (what needs the database: a slug in use, a point outside the county)."""
    problems = list(more or [])
    try:
        rec = clean_site_record(raw, set(bases.base_slugs(session)))
    except RecordErrors as err:
        problems[:0] = [InvalidParameter(e.field, e.reason, e.key, **e.params) for e in err.errors]
    if problems:
        raise InvalidParameters(problems)
    return rec


def _bases(session) -> dict[str, ThemedBase]:
    return bases.bases_by_slug(session)


# What a "create" revision stores besides who and when: not the new site's record.  That record is the site's first
# state, stored once: in the `before` of the site's next revision (every later revision stores the whole record it
# changed) or, until there is one, in the site itself; `site_history` fills it in.  An import of 100,000 sites so
# writes no second copy of each (60% of what it wrote).  Bulk writers insert these columns as they are.  Creates
# written before (they hold their record) are read as they are.
CREATE_REVISION = {"action": "create", "changed_fields": None, "before": None, "after": None}


def new_revision(site: Site, action: str, actor: str, before: dict | None, after: dict | None) -> SiteRevision:
    """The revision of a change to `site` (its version already the new one): the whole record before and after it,
    except for a create (CREATE_REVISION)."""
    if action == "create":
        return SiteRevision(site_id=site.id, version=site.version, actor=actor, **CREATE_REVISION)
    return SiteRevision(site_id=site.id, version=site.version, action=action, actor=actor,
                        changed_fields=changed_fields(before, after), before=before, after=after)


def changed_fields(before: dict | None, after: dict | None) -> list[str]:
    if not before:  # a new site: the fields it has (an import's 100k creates take this path)
        return sorted([k for k, v in (after or {}).items() if v is not None])
    after = after or {}
    return sorted([k for k in (after or before) if before.get(k) != after.get(k)])


def site_or_404(session, site_id: int, include_deleted: bool = False) -> SiteHit:
    """The stored site with its position, or NotFound (a 404); a deleted site is found only when asked for."""
    hit = get_site(session, site_id, include_deleted=include_deleted)
    if hit is None:
        raise NotFound(f"there is no site with id {site_id}")
    return hit


def _check_version(session, hit: SiteHit, expected: int | None) -> None:
    if expected is not None and expected != hit.site.version:
        raise PreconditionFailed(f"the site has changed since version {expected}; it is now version {hit.site.version}",
                                 site=hit)


def _save(session, site: Site, action: str, actor: str, before: dict | None, after: dict | None,
          note: str | None = None) -> None:
    """Write the change and its revision in one transaction.

    Two planners saving the same version at once: the database takes the first UPDATE, the second
    matches no row (its version is gone) and gets a 412 with what is stored now; nothing of it is written.
    """
    site_id = site.id
    try:
        session.flush()
        session.add(new_revision(site, action, actor, before, after))
        audit.record(session, f"site.{action}", "site", site_id,
                     audit_summary(site, action, changed_fields(before, after), note, before, after))
        session.commit()
    except StaleDataError:
        session.rollback()
        hit = site_or_404(session, site_id, include_deleted=True)
        raise PreconditionFailed("another edit was saved first; nothing of yours was written", site=hit) from None


def audit_summary(site: Site, action: str, changed: list[str], note: str | None = None,
                  before: dict | None = None, after: dict | None = None) -> str:
    """What the audit log says of a site write: its slug and, for changes, the names of the fields (and of each
    facility whose status changed)."""
    text = site.slug if action in ("create", "delete", "undelete") else f"{site.slug}; {audit.fields_summary(changed)}"
    if "facilities" in changed and action in ("update", "restore"):
        detail = facts.change_summary((before or {}).get("facilities"), (after or {}).get("facilities"))
        if detail:
            text += f"; facilities: {detail}"
    return f"{note}; {text}" if note else text


def create_site(session, raw: dict, actor: str, confirm_outside: bool = False) -> Site:
    _default_slug(raw)
    rec = _clean(session, raw, _new_site_problems(session, raw, confirm_outside))
    site = Site(slug=rec["slug"], tags=[])
    apply_site_record(site, rec, _bases(session))
    session.add(site)
    session.flush()
    _save(session, site, "create", actor, None, rec)
    return site


def _default_slug(raw: dict) -> None:
    """A new site without a short id gets one made from its English name (when that makes one)."""
    if not raw.get("slug") and isinstance(raw.get("name_en"), str):
        base = "".join(c.lower() if c.isascii() and c.isalnum() else "-" for c in raw["name_en"]).strip("-")
        raw["slug"] = "-".join(filter(None, base.split("-")))[:56] or None
    raw.setdefault("coord_source", None)


def _new_site_problems(session, raw: dict, confirm_outside: bool) -> list[InvalidParameter]:
    """What a new site's record alone cannot tell: its short id in use, its point outside the county."""
    more = _outside(session, raw, confirm_outside)
    slug = raw.get("slug")
    if isinstance(slug, str) and session.scalar(select(Site.id).where(Site.slug == slug.strip())):
        more.insert(0, InvalidParameter("slug", f"{slug.strip()!r} is already used by another site", "slug_taken",
                                        value=checks.shown(slug.strip())))
    return more


def _changed_site_problems(session, before: dict, raw: dict, confirm_outside: bool) -> list[InvalidParameter]:
    moved = (raw.get("lon"), raw.get("lat")) != (before["lon"], before["lat"])
    return _outside(session, raw, confirm_outside) if moved else []


def site_problems(session, raw: dict, site_id: int | None = None,
                  confirm_outside: bool = False) -> list[InvalidParameter]:
    """Everything wrong with a new site (or a change to `site_id`), without writing anything: for a form that
    found errors of its own and reports them all at once."""
    if site_id is not None:
        hit = site_or_404(session, site_id)
        before = site_record(hit.site, hit.lon, hit.lat)
        raw = merged(before, raw)
        more = _changed_site_problems(session, before, raw, confirm_outside)
    else:
        _default_slug(raw)
        more = _new_site_problems(session, raw, confirm_outside)
    try:
        _clean(session, raw, more)
    except InvalidParameters as err:
        return err.problems
    return []


def update_site(session, site_id: int, patch: dict, expected: int | None, actor: str,
                confirm_outside: bool = False) -> Site:
    hit = site_or_404(session, site_id)
    _check_version(session, hit, expected)
    before = site_record(hit.site, hit.lon, hit.lat)
    raw = merged(before, patch)
    rec = _clean(session, raw, _changed_site_problems(session, before, raw, confirm_outside))
    if rec == before:
        return hit.site
    apply_site_record(hit.site, rec, _bases(session))
    _save(session, hit.site, "update", actor, before, rec)
    return hit.site


def delete_site(session, site_id: int, expected: int | None, actor: str) -> None:
    hit = site_or_404(session, site_id)
    _check_version(session, hit, expected)
    before = site_record(hit.site, hit.lon, hit.lat)
    hit.site.deleted_at = datetime.now(UTC)
    _save(session, hit.site, "delete", actor, before, None)


def undelete_site(session, site_id: int, actor: str) -> Site:
    hit = site_or_404(session, site_id, include_deleted=True)
    if hit.site.deleted_at is None:
        raise InvalidParameter("id", f"site {site_id} is not deleted")
    hit.site.deleted_at = None
    _save(session, hit.site, "undelete", actor, None, site_record(hit.site, hit.lon, hit.lat))
    return hit.site


def restore_revision(session, site_id: int, revision_id: int, expected: int | None, actor: str) -> Site:
    """Put back the record as it was after an earlier revision; the restore is a new revision."""
    revision = session.get(SiteRevision, revision_id) if is_id(revision_id) else None
    state = None
    if revision is not None and revision.site_id == site_id:
        state = next((r.after for r in site_history(session, site_id) if r.id == revision_id), None)
    if state is None:
        raise InvalidParameter("revision", f"site {site_id} has no revision {revision_id} with a state to restore")
    hit = site_or_404(session, site_id)
    _check_version(session, hit, expected)
    before = site_record(hit.site, hit.lon, hit.lat)
    rec = _clean(session, dict(state))
    apply_site_record(hit.site, rec, _bases(session))
    _save(session, hit.site, "restore", actor, before, rec, note=f"to revision {revision_id}")
    return hit.site


@dataclass(frozen=True)
class Revision:
    """A revision as people and programs read it: a create's record and fields filled in (see CREATE_REVISION)."""

    id: int
    site_id: int
    version: int
    action: str
    actor: str
    changed_at: datetime
    changed_fields: list[str]
    before: dict | None
    after: dict | None


def site_history(session, site_id: int) -> list[Revision]:
    """Every revision of the site, newest first."""
    hit = site_or_404(session, site_id, include_deleted=True)
    stored = list(session.scalars(select(SiteRevision).where(SiteRevision.site_id == site_id)
                                  .order_by(SiteRevision.id)))
    history = []
    for i, r in enumerate(stored):
        after, changed = r.after, r.changed_fields
        if r.action == "create" and after is None:  # the site's first state: where CREATE_REVISION says it is
            after = stored[i + 1].before if i + 1 < len(stored) else site_record(hit.site, hit.lon, hit.lat)
            changed = changed_fields(None, after)
        history.append(Revision(r.id, r.site_id, r.version, r.action, r.actor, r.changed_at, changed or [], r.before,
                                after))
    return history[::-1]
