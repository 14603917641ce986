"""Captures from the field page: a planner on the spot with a phone, often writing later from an offline queue.

A capture is a site write (a new site, or a correction of one version of a site) plus a facility checklist:
each checked facility becomes verified present or absent, by the planner, today, by visit (or photo).
The checklist is merged over what is stored when the write is made, so a facility nobody checked keeps what
was known of it.  A capture with a phone fix or a checked facility marks the site `verified`: a planner was there.

Idempotency: the page gives each new site a slug of its own making (a random part in it) before the capture
is queued.  Sent again after an answer was lost, the slug is found already created by the same planner: that
site is the answer, and nothing is created twice.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from . import facts, sites, vocab
from .errors import InvalidParameter
from .models import Site, SiteRevision

CHECK_METHODS = ("visit", "photo")


def checklist(stored: list[dict[str, Any]], checks: Any, actor: str, today: date, how: str = "visit"
              ) -> list[dict[str, Any]]:
    """The stored facilities with each checked one replaced by its verification (present or absent)."""
    if not isinstance(checks, dict):
        raise InvalidParameter("checks", "must be an object: {facility: verified_present | verified_absent}")
    if how not in CHECK_METHODS:
        raise InvalidParameter("checked_how", f"must be one of {', '.join(CHECK_METHODS)}")
    for term, status in checks.items():
        if term not in vocab.FACILITIES:
            raise InvalidParameter("checks", f"unknown facility {term!r}; valid: {', '.join(vocab.FACILITIES)}")
        if status not in (facts.PRESENT, facts.ABSENT):
            raise InvalidParameter("checks", f"{term}: {status!r} is not {facts.PRESENT} or {facts.ABSENT}")
    entries = {e["facility"]: e for e in stored if e["facility"] not in checks}
    for term, status in checks.items():
        entries[term] = {"facility": term, "status": status, "verified_by": actor,
                         "verified_at": today.isoformat(), "verified_how": how}
    order = list(vocab.FACILITIES)
    return sorted(entries.values(), key=lambda e: order.index(e["facility"]))


def gps_source(actor: str, accuracy: Any, today: date) -> str:
    """Where a phone fix came from, for coord_source (data: kept in one language, like the other sources)."""
    shown = f"±{accuracy:g} m" if isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool) else "?"
    return f"phone GPS fix by {actor} on {today.isoformat()} ({shown} as reported by the device)"


def _with_fix(raw: dict[str, Any], actor: str, today: date) -> dict[str, Any]:
    if raw.get("position_method") == "gps" and not raw.get("coord_source") and "lon" in raw:
        raw["coord_source"] = gps_source(actor, raw.get("coord_accuracy_m"), today)
    return raw


def created_by(session, slug: str, actor: str) -> Site | None:
    """The live site with this slug if `actor` created it (a retried capture), else None."""
    site = session.scalar(select(Site).where(Site.slug == slug, Site.deleted_at.is_(None)))
    if site is None:
        return None
    creator = session.scalar(select(SiteRevision.actor).where(SiteRevision.site_id == site.id,
                                                              SiteRevision.action == "create"))
    return site if creator == actor else None


def create(session, raw: dict[str, Any], checks: Any, actor: str, how: str = "visit",
           confirm_outside: bool = False, today: date | None = None) -> tuple[Site, bool]:
    """A new site from a capture; returns it and whether it was created now (False: a retry of a capture
    already written)."""
    today = today or date.today()
    slug = raw.get("slug")
    if not isinstance(slug, str) or not slug.strip():
        raise InvalidParameter("slug", "is required for a field capture (the page makes one, so that a retry "
                                       "cannot create the site twice)")
    earlier = created_by(session, slug.strip(), actor)
    if earlier is not None:
        return earlier, False
    raw = _with_fix(dict(raw), actor, today)
    raw["facilities"] = checklist([], checks, actor, today, how)
    raw["verified"] = True
    return sites.create_site(session, raw, actor, confirm_outside), True


def correct(session, site_id: int, patch: dict[str, Any], checks: Any, expected: int, actor: str,
            how: str = "visit", confirm_outside: bool = False, today: date | None = None) -> Site:
    """A correction of the version the planner started from (a 412 with the current site if it changed)."""
    from .search import get_site

    today = today or date.today()
    patch = _with_fix(dict(patch), actor, today)
    patch.pop("slug", None)  # a site's short id does not change: links and packs use it
    hit = get_site(session, site_id)
    if hit is not None and checks:
        patch["facilities"] = checklist(hit.site.facility_facts(), checks, actor, today, how)
    if checks or patch.get("position_method") == "gps":
        patch["verified"] = True
    return sites.update_site(session, site_id, patch, expected, actor, confirm_outside)
