"""Loading the seed geodata in geodata/ into the database, idempotently.

Each file is validated whole before anything is written, and everything is written in one
transaction: a bad record leaves the database as it was.  Records are matched by slug; a record
whose stored form already equals the file's is not touched (no new version, no new timestamp).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoalchemy2 import WKTElement
from shapely import wkb, wkt
from shapely.geometry import MultiPolygon, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from . import audit
from .errors import GeodataRefused, InvalidGeodata
from .models import Boundary, Site, ThemedBase
from .paths import PROJECT_ROOT
from .sites import (
    RecordError,
    apply_site_record,
    audit_summary,
    changed_fields,
    clean_site_record,
    new_revision,
    point_element,
    site_record,
)
from .synth import SLUG_PREFIX as SYNTH_SLUG_PREFIX

GEODATA_DIR = PROJECT_ROOT / "geodata"


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=lambda: {"bases": 0, "sites": 0, "boundaries": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"bases": 0, "sites": 0, "boundaries": 0})
    unchanged: dict[str, int] = field(default_factory=lambda: {"bases": 0, "sites": 0, "boundaries": 0})

    def summary(self) -> str:
        return "; ".join(
            f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated, {self.unchanged[kind]} unchanged"
            for kind in self.created
        )


def site_counts(session: Session) -> tuple[int, int]:
    """(all sites, synthetic sites) in the database, deleted ones included: a row is a row."""
    total = session.scalar(select(func.count()).select_from(Site))
    synthetic = session.scalar(select(func.count()).select_from(Site).where(Site.slug.startswith(SYNTH_SLUG_PREFIX)))
    return total, synthetic


def is_empty(session: Session) -> bool:
    """Empty means no sites and no bases at all: a database of synthetic sites is not empty."""
    return site_counts(session)[0] == 0 and session.scalar(select(func.count()).select_from(ThemedBase)) == 0


def refuse_synthetic(session: Session) -> None:
    """The seed goes only where no synthetic site is (as `synth` refuses a database with real sites)."""
    synthetic = site_counts(session)[1]
    if synthetic:
        raise GeodataRefused(
            f"This database holds {synthetic} synthetic sites (flask synth): the seed geodata goes into a "
            "database of its own, never beside synthetic data."
        )


def load_geodata(session: Session, directory: Path = GEODATA_DIR) -> LoadReport:
    refuse_synthetic(session)
    bases = [_clean_base(f, i) for i, f in enumerate(_features(directory / "bases.geojson"))]
    base_slugs = {b["slug"] for b in bases}
    sites = []
    for i, feature in enumerate(_features(directory / "sites.geojson")):
        try:
            sites.append(clean_site_record(_flatten_point(feature), base_slugs))
        except RecordError as err:
            raise InvalidGeodata(f"sites.geojson feature {i} ({feature.get('properties', {}).get('slug')}): {err}") from None
    _require_unique("sites.geojson", [s["slug"] for s in sites])
    _require_unique("bases.geojson", [b["slug"] for b in bases])
    boundaries = [_clean_boundary(f, i) for i, f in enumerate(_features(directory / "wencheng_boundary.geojson"))]

    report = LoadReport()
    try:
        bases_by_slug = _upsert_bases(session, bases, report)
        _upsert_sites(session, sites, bases_by_slug, report)
        _upsert_boundaries(session, boundaries, report)
        if any(report.created.values()) or any(report.updated.values()):
            audit.record(session, "geodata.load", "geodata", None, report.summary())
        session.commit()
    except Exception:
        session.rollback()
        raise
    return report


def _features(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidGeodata(f"{path.name}: cannot be read as JSON ({exc})") from None
    if data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise InvalidGeodata(f"{path.name}: not a GeoJSON FeatureCollection")
    return data["features"]


def _flatten_point(feature: dict) -> dict[str, Any]:
    geometry = feature.get("geometry") or {}
    coords = geometry.get("coordinates")
    if geometry.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
        raise RecordError("geometry", "must be a GeoJSON Point [lon, lat]")
    return {**(feature.get("properties") or {}), "lon": coords[0], "lat": coords[1]}


def _require_unique(name: str, slugs: list[str]) -> None:
    seen, dupes = set(), set()
    for s in slugs:
        (dupes if s in seen else seen).add(s)
    if dupes:
        raise InvalidGeodata(f"{name}: duplicate slug(s) {', '.join(sorted(dupes))}")


def _clean_base(feature: dict, index: int) -> dict[str, Any]:
    raw = _flatten_point(feature)
    try:
        # Bases share the position fields and their checks with sites.
        checked = clean_site_record({**raw, "base": None, "genres": raw.get("genres")}, set())
    except RecordError as err:
        raise InvalidGeodata(f"bases.geojson feature {index} ({raw.get('slug')}): {err}") from None
    towns = raw.get("towns") or []
    number = raw.get("number")
    if not isinstance(number, int) or not 1 <= number <= 99:
        raise InvalidGeodata(f"bases.geojson feature {index}: number must be a whole number")
    return {
        "slug": checked["slug"], "number": number, "name_zh": checked["name_zh"], "name_en": checked["name_en"],
        "genres": checked["genres"], "towns": [str(t) for t in towns],
        "description_zh": checked["description_zh"], "description_en": checked["description_en"],
        "lon": checked["lon"], "lat": checked["lat"], "coord_source": checked["coord_source"],
        "coord_accuracy_m": checked["coord_accuracy_m"], "position_method": checked["position_method"],
        "facts_source": checked["facts_source"], "verified": checked["verified"],
        "source_public_zh": checked["source_public_zh"], "source_public_en": checked["source_public_en"],
    }


def _clean_boundary(feature: dict, index: int) -> dict[str, Any]:
    props = feature.get("properties") or {}
    try:
        geom = shape(feature["geometry"])
    except Exception as exc:
        raise InvalidGeodata(f"wencheng_boundary.geojson feature {index}: bad geometry ({exc})") from None
    if geom.geom_type == "Polygon":
        geom = MultiPolygon([geom])
    if geom.geom_type != "MultiPolygon" or not geom.is_valid:
        raise InvalidGeodata(f"wencheng_boundary.geojson feature {index}: needs a valid (Multi)Polygon")
    return {
        "slug": f"adcode-{props.get('adcode')}" if props.get("adcode") else f"boundary-{index}",
        "adcode": props.get("adcode"), "name_zh": props.get("name", "文成县"),
        "name_en": props.get("name_en", "Wencheng County"), "source": props.get("source", ""), "wkt": geom.wkt,
    }


BASE_FIELDS = ("number", "name_zh", "name_en", "genres", "towns", "description_zh", "description_en",
               "coord_source", "coord_accuracy_m", "position_method", "facts_source", "verified",
               "source_public_zh", "source_public_en")


def _upsert_bases(session: Session, bases: list[dict], report: LoadReport) -> dict[str, ThemedBase]:
    stored = {
        b.slug: (b, x, y)
        for b, x, y in session.execute(select(ThemedBase, func.ST_X(ThemedBase.geom), func.ST_Y(ThemedBase.geom)))
    }
    by_slug = {}
    for rec in bases:
        base, x, y = stored.get(rec["slug"], (None, None, None))
        wanted = {k: rec[k] for k in BASE_FIELDS} | {"lon": rec["lon"], "lat": rec["lat"]}
        same = base is not None and {k: getattr(base, k) for k in BASE_FIELDS} | {"lon": x, "lat": y} == wanted
        row = _row_to_write(session, report, "bases", base, same, ThemedBase, slug=rec["slug"])
        by_slug[rec["slug"]] = base if row is None else row
        if row is None:
            continue
        for k in BASE_FIELDS:
            setattr(row, k, rec[k])
        row.geom = point_element(rec["lon"], rec["lat"])
    session.flush()
    return by_slug


def _upsert_sites(session: Session, sites: list[dict], bases_by_slug: dict[str, ThemedBase], report: LoadReport) -> None:
    stored = {
        s.slug: (s, x, y)
        for s, x, y in session.execute(
            select(Site, func.ST_X(Site.geom), func.ST_Y(Site.geom)).options(selectinload(Site.tags), selectinload(Site.base))
        )
    }
    changes = []
    for rec in sites:
        site, x, y = stored.get(rec["slug"], (None, None, None))
        before = None if site is None else site_record(site, x, y)
        row = _row_to_write(session, report, "sites", site, before == rec, Site, slug=rec["slug"], tags=[])
        if row is None:
            continue
        apply_site_record(row, rec, bases_by_slug)
        changes.append((row, before, rec))
    session.flush()
    # Loading is a change like any other: it leaves a revision per site it wrote.
    for site, before, rec in changes:
        action = "update" if before else "create"
        session.add(new_revision(site, action, "load-geodata", before, rec))
        audit.record(session, f"site.{action}", "site", site.id,
                     audit_summary(site, action, changed_fields(before, rec), None, before, rec))


def _upsert_boundaries(session: Session, boundaries: list[dict], report: LoadReport) -> None:
    # Compared as WKB: SpatiaLite's ST_AsText rounds to 6 decimals, so a text comparison saw a change every time.
    stored = {b.slug: (b, geom) for b, geom in session.execute(select(Boundary, func.ST_AsBinary(Boundary.geom)))}
    fields = ("adcode", "name_zh", "name_en", "source")
    for rec in boundaries:
        boundary, stored_wkb = stored.get(rec["slug"], (None, None))
        same = (boundary is not None and all(getattr(boundary, k) == rec[k] for k in fields)
                and same_shape(stored_wkb, rec["wkt"]))
        row = _row_to_write(session, report, "boundaries", boundary, same, Boundary, slug=rec["slug"])
        if row is None:
            continue
        for k in fields:
            setattr(row, k, rec[k])
        row.geom = WKTElement(rec["wkt"], srid=4326)


def _row_to_write(session: Session, report: LoadReport, kind: str, stored, same: bool, model, **new):
    """The row a loaded record goes to: the stored one (counted as updated) or a new `model(**new)` (created);
    None when the stored row already holds the record (counted as unchanged: nothing to write)."""
    if stored is None:
        row = model(**new)
        session.add(row)
        report.created[kind] += 1
        return row
    if same:
        report.unchanged[kind] += 1
        return None
    report.updated[kind] += 1
    return stored


def same_shape(stored_wkb: bytes | None, wanted_wkt: str) -> bool:
    return stored_wkb is not None and wkb.loads(bytes(stored_wkb)).equals_exact(wkt.loads(wanted_wkt), 1e-12)
