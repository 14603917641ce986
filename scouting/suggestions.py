"""Suggestions: anyone proposes a new site or a correction; planners accept, edit-then-accept, or reject.

Accepting a suggestion never writes the site by itself: the planner saves the site (form or API),
which makes the usual revision, and the suggestion records who accepted it and credits the suggester.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, checks
from .errors import InvalidParameter, NotFound
from .models import Site, Suggestion
from .plain_text import check_text, is_id

LIMITS = {"name": 200, "message": 3000, "suggester_name": 100, "suggester_contact": 200}


def create_suggestion(session: Session, data: dict) -> Suggestion:
    clean: dict = {}
    for field, limit in LIMITS.items():
        value = check_text(field, (data.get(field) or "")).strip()
        if len(value) > limit:
            raise InvalidParameter(field, f"at most {limit} characters are allowed")
        clean[field] = value or None
    if not clean["message"]:
        raise InvalidParameter("message", "say what you suggest")
    site_id = data.get("site_id")
    if site_id:
        if not is_id(site_id):
            raise InvalidParameter("site_id", f"there is no site {site_id}")
        if not session.scalar(select(Site.id).where(Site.id == site_id, Site.deleted_at.is_(None))):
            raise InvalidParameter("site_id", f"there is no site {site_id}")
    elif not clean["name"]:
        raise InvalidParameter("name", "a new site needs a name")
    lon, lat = data.get("lon"), data.get("lat")
    if lon is not None or lat is not None:
        if isinstance(lon, str) or isinstance(lat, str):
            raise InvalidParameter("lon", "the position must be two numbers")
        lon, lat = checks.lon_lat(lon, lat, "lon", "lat")
    elif not site_id:
        raise InvalidParameter("lon", "a new site needs a position (click the map)")
    suggestion = Suggestion(site_id=site_id or None, lon=lon, lat=lat, status="pending", **clean)
    session.add(suggestion)
    session.flush()
    audit.record(session, "suggestion.create", "suggestion", suggestion.id,
                 f"correction of site {site_id}" if site_id else "a new site")
    session.commit()
    return suggestion


def pending(session: Session) -> list[Suggestion]:
    return list(session.scalars(select(Suggestion).where(Suggestion.status == "pending").order_by(Suggestion.id)))


def review(session: Session, suggestion_id: int, accept: bool, reviewer: str, reason: str | None = None) -> Suggestion:
    suggestion = session.get(Suggestion, suggestion_id)
    if suggestion is None:
        raise NotFound(f"there is no suggestion {suggestion_id}")
    if suggestion.status != "pending":
        raise InvalidParameter("suggestion", f"was already {suggestion.status}")
    if not accept and not (reason or "").strip():
        raise InvalidParameter("reason", "say why it is rejected")
    suggestion.status = "accepted" if accept else "rejected"
    suggestion.reason = (reason or "").strip() or None
    suggestion.reviewed_by = reviewer
    suggestion.reviewed_at = datetime.now(UTC)
    audit.record(session, f"suggestion.{'accept' if accept else 'reject'}", "suggestion", suggestion.id,
                 f"site {suggestion.site_id}" if suggestion.site_id else "a new site")
    session.commit()
    return suggestion
