"""Site records: validation of incoming data and writing it to the model.

A *site record* is the plain dict form of a site, the same keys as the GeoJSON properties the
API serves plus `lon`/`lat`.  Everything that writes sites (geodata loading now; the planner's
forms, the API and imports later) goes through `clean_site_record` and `apply_site_record`.
"""
from __future__ import annotations

import math
from typing import Any

from geoalchemy2 import WKTElement

from . import vocab
from .errors import InvalidGeodata
from .models import Site, SiteTag, ThemedBase

TEXT_LIMITS = {
    "slug": 64, "name_zh": 200, "name_en": 200,
    "description_zh": 5000, "description_en": 5000,
    "access_notes_zh": 2000, "access_notes_en": 2000,
    "permit_notes": 2000, "contact_notes": 2000,
    "coord_source": 1000, "facts_source": 2000,
}
REQUIRED_TEXT = ("slug", "name_zh", "name_en", "coord_source")
OPTIONAL_TEXT = tuple(k for k in TEXT_LIMITS if k not in REQUIRED_TEXT)
TAG_FIELDS = {"genres": "genre", "terrain": "terrain", "facilities": "facility"}
STAFF_FIELDS = ("permit_notes", "contact_notes")


class RecordError(InvalidGeodata):
    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def clean_site_record(raw: dict[str, Any], base_slugs: set[str]) -> dict[str, Any]:
    """Check every field of an incoming site and return the normalised record; raise RecordError naming the field."""
    rec: dict[str, Any] = {}
    for key in REQUIRED_TEXT:
        rec[key] = _text(raw, key, required=True)
    for key in OPTIONAL_TEXT:
        rec[key] = _text(raw, key, required=False)
    if not all(c.isascii() and (c.isalnum() or c == "-") for c in rec["slug"]):
        raise RecordError("slug", "use ASCII letters, digits and '-' only")

    rec["lon"] = _number(raw, "lon", -180, 180, required=True)
    rec["lat"] = _number(raw, "lat", -90, 90, required=True)
    rec["elevation_m"] = _number(raw, "elevation_m", -500, 9000, required=False)
    rec["area_m2"] = _number(raw, "area_m2", 0, 1e10, required=False)
    accuracy = _number(raw, "coord_accuracy_m", 0, 1e6, required=True)
    rec["coord_accuracy_m"] = int(round(accuracy))

    method = raw.get("position_method")
    if method not in vocab.POSITION_METHODS:
        raise RecordError("position_method", f"{method!r} is not one of {', '.join(vocab.POSITION_METHODS)}")
    rec["position_method"] = method

    base = raw.get("base")
    if base is not None and base not in base_slugs:
        raise RecordError("base", f"unknown base {base!r}; known bases: {', '.join(sorted(base_slugs))}")
    rec["base"] = base

    for field, vocabulary in TAG_FIELDS.items():
        rec[field] = _terms(raw, field, vocab.TAG_VOCABULARIES[vocabulary])
    if not rec["genres"]:
        raise RecordError("genres", "at least one genre is required")
    rec["best_seasons"] = _terms(raw, "best_seasons", vocab.SEASONS)

    verified = raw.get("verified", False)
    if not isinstance(verified, bool):
        raise RecordError("verified", "must be true or false")
    rec["verified"] = verified
    return rec


def _text(raw: dict, key: str, required: bool) -> str | None:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RecordError(key, "is required")
        return None
    if not isinstance(value, str):
        raise RecordError(key, "must be text")
    value = value.strip()
    if len(value) > TEXT_LIMITS[key]:
        raise RecordError(key, f"is {len(value)} characters long; at most {TEXT_LIMITS[key]} are allowed")
    return value


def _number(raw: dict, key: str, low: float, high: float, required: bool) -> float | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise RecordError(key, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(key, "must be a number")
    if not math.isfinite(value):
        raise RecordError(key, "must be a finite number (not NaN or Infinity)")
    if not low <= value <= high:
        raise RecordError(key, f"{value} is out of range {low:g}..{high:g}")
    return float(value)


def _terms(raw: dict, key: str, vocabulary: dict) -> list[str]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError(key, "must be a list of terms")
    unknown = [v for v in value if v not in vocabulary]
    if unknown:
        raise RecordError(key, f"unknown term(s) {', '.join(unknown)}; valid terms: {', '.join(vocabulary)}")
    return sorted(set(value), key=list(vocabulary).index)


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
    wanted = {(vocabulary, term) for field, vocabulary in TAG_FIELDS.items() for term in rec[field]}
    site.tags = [t for t in site.tags if (t.vocabulary, t.term) in wanted]
    have = {(t.vocabulary, t.term) for t in site.tags}
    site.tags.extend(SiteTag(vocabulary=v, term=t) for v, t in sorted(wanted - have))


def point_element(lon: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=4326)
