"""Reads of the themed bases that every API shares: their slugs and how many sites each has.

One place, so the JSON API and the OGC API cannot disagree: a deleted site (soft delete) counts nowhere.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Site, ThemedBase


def base_slugs(session: Session) -> list[str]:
    """Every base's slug, in the report's order."""
    return list(session.scalars(select(ThemedBase.slug).order_by(ThemedBase.number)))


def site_counts(session: Session) -> dict[int, int]:
    """{base id: number of its sites that are not deleted}; a base without any is absent."""
    return dict(session.execute(
        select(Site.base_id, func.count()).where(Site.deleted_at.is_(None), Site.base_id.is_not(None))
        .group_by(Site.base_id)).all())
