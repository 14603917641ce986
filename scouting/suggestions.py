"""Suggestions: anyone proposes a new site or a correction; planners accept, edit-then-accept, or reject.

Accepting a suggestion never writes the site by itself: the planner saves the site (form or API),
which makes the usual revision, and the suggestion records who accepted it and credits the suggester.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, checks
from .errors import InvalidParameter, InvalidParameters, NotFound
from .models import Site, Suggestion
from .plain_text import check_text, is_id

LIMITS = {"name": 200, "message": 3000, "suggester_name": 100, "suggester_contact": 200}


def clean_suggestion(session: Session, data: dict) -> dict:
    """A suggestion's checked fields; InvalidParameters names every wrong field at once."""
    clean: dict = {}
    problems: list[InvalidParameter] = []
    for field, limit in LIMITS.items():
        try:
            value = check_text(field, (data.get(field) or "")).strip()
        except InvalidParameter as err:
            problems.append(err)
            value = ""
        if len(value) > limit:
            problems.append(InvalidParameter(field, f"at most {limit} characters are allowed", "too_long",
                                             length=len(value), limit=limit))
        clean[field] = value or None
    if not clean["message"] and not any(p.name == "message" for p in problems):
        problems.append(InvalidParameter("message", "say what you suggest", "required"))
    site_id = data.get("site_id")
    if site_id:
        if not is_id(site_id):
            raise InvalidParameter("site_id", f"there is no site {site_id}")
        if not session.scalar(select(Site.id).where(Site.id == site_id, Site.deleted_at.is_(None))):
            raise InvalidParameter("site_id", f"there is no site {site_id}")
    elif not clean["name"] and not any(p.name == "name" for p in problems):
        problems.append(InvalidParameter("name", "a new site needs a name", "required"))
    lon, lat = data.get("lon"), data.get("lat")
    try:
        if lon is not None or lat is not None:
            if isinstance(lon, str) or isinstance(lat, str):
                raise InvalidParameter("lon", "the position must be two numbers", "not_number",
                                       value=checks.shown(lon))
            lon, lat = checks.lon_lat(lon, lat, "lon", "lat")
        elif not site_id:
            raise InvalidParameter("lon", "a new site needs a position (click the map)", "position_needed")
    except InvalidParameters as err:
        problems += err.problems
    except InvalidParameter as err:
        problems.append(err)
    if problems:
        raise InvalidParameters(problems)
    return {"site_id": site_id or None, "lon": lon, "lat": lat, **clean}


def create_suggestion(session: Session, data: dict) -> Suggestion:
    suggestion = Suggestion(status="pending", **clean_suggestion(session, data))
    site_id = suggestion.site_id
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
