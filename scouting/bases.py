"""Reads of the themed bases and the county boundary that every API and form shares: the bases with their
positions, their slugs and how many sites each has.

One place, so the JSON API and the OGC API cannot disagree: a deleted site (soft delete) counts nowhere.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Boundary, Site, ThemedBase


def base_slugs(session: Session) -> list[str]:
    """Every base's slug, in the report's order."""
    return list(session.scalars(select(ThemedBase.slug).order_by(ThemedBase.number)))


def site_counts(session: Session) -> dict[int, int]:
    """{base id: number of its sites that are not deleted}; a base without any is absent."""
    return dict(session.execute(
        select(Site.base_id, func.count()).where(Site.deleted_at.is_(None), Site.base_id.is_not(None))
        .group_by(Site.base_id)).all())


def all_bases(session: Session) -> list[ThemedBase]:
    """Every base in the report's order (the site form's choice of base)."""
    return list(session.scalars(select(ThemedBase).order_by(ThemedBase.number)))


def find_bases(session: Session, bbox: tuple[float, float, float, float] | None = None, conditions: tuple = (),
               limit: int | None = None, offset: int = 0) -> tuple[int, list[tuple[ThemedBase, float, float]]]:
    """The bases (with lon, lat) inside `bbox` and matching further SQL `conditions` (an OGC filter), a page of
    them in the report's order, and how many match in all."""
    lon, lat = func.ST_X(ThemedBase.geom), func.ST_Y(ThemedBase.geom)
    conds = list(conditions)
    if bbox:
        minx, miny, maxx, maxy = bbox
        conds += [lon.between(minx, maxx), lat.between(miny, maxy)]
    matched = session.scalar(select(func.count()).select_from(ThemedBase).where(*conds))
    rows = session.execute(select(ThemedBase, lon, lat).where(*conds).order_by(ThemedBase.number, ThemedBase.id)
                           .limit(limit).offset(offset)).all()
    return matched, [tuple(row) for row in rows]


def base_at(session: Session, base_id: int) -> tuple[ThemedBase, float, float] | None:
    """One base with its lon, lat; None when there is no such base."""
    row = session.execute(select(ThemedBase, func.ST_X(ThemedBase.geom), func.ST_Y(ThemedBase.geom))
                          .where(ThemedBase.id == base_id)).first()
    return None if row is None else tuple(row)


def boundaries(session: Session) -> list[tuple[Boundary, str]]:
    """The county boundary polygons with their WKT."""
    return [tuple(row) for row in session.execute(select(Boundary, func.ST_AsText(Boundary.geom))
                                                  .order_by(Boundary.id))]


def bases_by_slug(session: Session) -> dict[str, ThemedBase]:
    """Every base by its slug (what a site record's `base` names)."""
    return {b.slug: b for b in session.scalars(select(ThemedBase))}


def county_wkt(session: Session) -> str | None:
    """The county outline as WKT (the first boundary), or None before geodata is loaded."""
    return session.scalar(select(func.ST_AsText(Boundary.geom)).order_by(Boundary.id).limit(1))
