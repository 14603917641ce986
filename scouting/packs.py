"""Location packs: create, read, change and delete, with validation and an edit token.

A pack is public to whoever has its token (the share link).  Changing it needs the edit token
handed out once at creation; only its SHA-256 is stored.  (Accounts, when they arrive, add
"the owner" as a second way to edit.)
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from . import audit, geo, photos, vocab
from .errors import Forbidden, Gone, InvalidParameter, NotFound, PreconditionFailed
from .formats.export import ExportItem
from .formats.pack_zip import pack_zip
from .models import Pack, PackItem, Site
from .plain_text import check_text, is_id, unstorable_reason

MAX_SITES = 200
MAX_NAME = 200
MAX_NOTE = 2000
MAX_DESCRIPTION = 5000
PACK_FIELDS = ("name", "description", "site_ids", "notes", "shoot_date", "expires_on")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def today() -> date:
    return datetime.now(ZoneInfo(geo.TIMEZONE)).date()


# --------------------------------------------------------------------------- validation

def clean_pack_input(data: Any, partial: bool) -> dict[str, Any]:
    """Check a pack's JSON body; every error names its field."""
    if not isinstance(data, dict):
        raise InvalidParameter("body", "must be a JSON object")
    unknown = sorted(set(data) - set(PACK_FIELDS))
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown field; valid fields are {', '.join(PACK_FIELDS)}")
    out: dict[str, Any] = {}
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InvalidParameter("name", "is required: a non-empty text")
        check_text("name", name)
        if len(name.strip()) > MAX_NAME:
            raise InvalidParameter("name", f"is {len(name.strip())} characters long; at most {MAX_NAME} are allowed")
        out["name"] = name.strip()
    if "description" in data:
        description = data["description"]
        if description is not None and not isinstance(description, str):
            raise InvalidParameter("description", "must be text")
        if description:
            check_text("description", description)
        if description and len(description) > MAX_DESCRIPTION:
            raise InvalidParameter("description", f"at most {MAX_DESCRIPTION} characters are allowed")
        out["description"] = description.strip() if description else None
    if "site_ids" in data or not partial:
        ids = data.get("site_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise InvalidParameter("site_ids", "must be a non-empty list of site ids (whole numbers)")
        if not all(is_id(i) for i in ids):
            raise InvalidParameter("site_ids", f"no site has id {next(i for i in ids if not is_id(i))}")
        if len(ids) > MAX_SITES:
            raise InvalidParameter("site_ids", f"a pack holds at most {MAX_SITES} sites, got {len(ids)}")
        if len(set(ids)) != len(ids):
            raise InvalidParameter("site_ids", "lists a site more than once")
        out["site_ids"] = ids
    if "notes" in data:
        notes = data["notes"] or {}
        if not isinstance(notes, dict):
            raise InvalidParameter("notes", "must be an object of site id -> note")
        clean = {}
        for key, note in notes.items():
            try:
                site_id = int(key)
            except (TypeError, ValueError):
                raise InvalidParameter("notes", f"key {key!r} is not a site id") from None
            if note is not None and not isinstance(note, str):
                raise InvalidParameter("notes", f"the note for site {site_id} must be text")
            if note:
                check_text("notes", note)
            if note and len(note) > MAX_NOTE:
                raise InvalidParameter("notes", f"the note for site {site_id} is longer than {MAX_NOTE} characters")
            clean[site_id] = note.strip() if note and note.strip() else None
        out["notes"] = clean
    for field in ("shoot_date", "expires_on"):
        if field in data:
            value = data[field]
            if value in (None, ""):
                out[field] = None
                continue
            try:
                out[field] = geo.parse_date(value) if isinstance(value, str) else None
                if field == "shoot_date" and out[field]:
                    geo.check_sun_date(out[field])  # the pack page shows the sun on the shooting date
            except ValueError as err:
                raise InvalidParameter(field, str(err)) from None
            if out[field] is None:
                raise InvalidParameter(field, "must be a date YYYY-MM-DD")
    if out.get("expires_on") and out["expires_on"] < today():
        raise InvalidParameter("expires_on", "is in the past")
    return out


# --------------------------------------------------------------------------- text for the pack pages

def distance_text(metres: float, lang: str) -> str:
    """"8 公里" / "8 km", "500 米" / "500 m": a whole number of metres below 1 km, else km to one decimal."""
    if metres >= 1000:
        km = f"{metres / 1000:.1f}".removesuffix(".0")
        return f"{km} 公里" if lang == "zh" else f"{km} km"
    return f"{round(metres)} 米" if lang == "zh" else f"{round(metres)} m"


def accuracy_sentence(accuracy_m: float, method: str, approximate: bool, lang: str) -> str:
    """How well a site's point is known, as people say it: "近似位置，误差约 8 公里（乡镇驻地）" / "Approximate
    position, within about 8 km. Method: Township seat (the place lies in this township)." -- the method's label,
    never its code."""
    term = vocab.POSITION_METHODS.get(method)
    distance = distance_text(accuracy_m, lang)
    if lang == "zh":
        out = ("近似位置，" if approximate else "") + f"误差约 {distance}"
        return out + (f"（{term.zh}）" if term else "")
    out = (f"Approximate position, within about {distance}." if approximate else f"Within about {distance}.")
    return out + (f" Method: {term.en}." if term else "")


def seasons_text(slugs: list[str] | None, lang: str) -> str:
    """Best seasons by their labels, joined the language's way: "春、秋" / "Spring, Autumn"."""
    labels = [getattr(vocab.SEASONS[s], lang) for s in slugs or [] if s in vocab.SEASONS]
    return ("、" if lang == "zh" else ", ").join(labels)


def local_text(site: Site, field: str, lang: str) -> str | None:
    """A site's text in the page's language; when only the other language has it, a note saying so (never the
    other language shown silently); None when neither has it."""
    own, other = getattr(site, f"{field}_{lang}"), getattr(site, f"{field}_{'en' if lang == 'zh' else 'zh'}")
    if own:
        return own
    if other:
        return "（无中文说明）" if lang == "zh" else "(no English note)"
    return None


# --------------------------------------------------------------------------- reading

def get_pack(session: Session, token: str, allow_expired: bool = False) -> Pack:
    if unstorable_reason(token):  # cannot be a link of ours (and PostgreSQL cannot compare a NUL)
        raise NotFound("there is no pack with that link")
    pack = session.scalar(
        select(Pack).where(Pack.token == token).options(selectinload(Pack.items).selectinload(PackItem.site)))
    if pack is None:
        raise NotFound("there is no pack with that link")
    if pack.expires_on and pack.expires_on < today() and not allow_expired:
        raise Gone(f"this pack expired on {pack.expires_on.isoformat()}")
    return pack


def pack_hits(session: Session, pack: Pack) -> list[ExportItem]:
    """The pack's sites in order, with their positions and notes, ready for export or display."""
    from .search import get_sites

    by_id = {hit.site.id: hit for hit in get_sites(session, [item.site_id for item in pack.items])}
    return [ExportItem(hit=by_id[item.site_id], note=item.note, position=item.position)
            for item in pack.items if item.site_id in by_id]


def pack_archive(session: Session, pack: Pack, items: list[ExportItem], store: photos.PhotoStore,
                 print_html: Callable[[Pack, list[ExportItem]], str]) -> bytes:
    """The whole pack as one zip (every export format, the print view, the photos): the one way the web's
    `?format=zip` and `flask export --pack --format zip` build it.  The print view is HTML from a template,
    so the caller renders it (`print_html`); everything else is made here."""
    return pack_zip(items, pack.name, print_html(pack, items), photos=photos.pack_photo_files(session, store, items))


def pack_json(pack: Pack, share_url: str, hits: list[ExportItem] | None = None) -> dict[str, Any]:
    body = {
        "id": pack.token,
        "name": pack.name,
        "description": pack.description,
        "shoot_date": pack.shoot_date.isoformat() if pack.shoot_date else None,
        "expires_on": pack.expires_on.isoformat() if pack.expires_on else None,
        "share_url": share_url,
        "site_ids": [item.site_id for item in pack.items],
        "notes": {str(item.site_id): item.note for item in pack.items if item.note},
        "version": pack.version,
        "created_at": pack.created_at.isoformat(),
        "updated_at": pack.updated_at.isoformat(),
    }
    if hits is not None:
        from .formats.geojson import site_feature
        body["sites"] = []
        for item in hits:
            feature = site_feature(item.hit)
            feature["properties"].update(pack_position=item.position, pack_note=item.note)
            body["sites"].append(feature)
    return body


# --------------------------------------------------------------------------- writing

def _check_sites(session: Session, site_ids: list[int], already: set[int] | frozenset[int] = frozenset()) -> None:
    """Every id names a live site, or one the pack already holds (deleted since; it may stay).  A deleted site's
    id gets the same answer as an id no site ever had: a pack does not tell which ids were deleted."""
    new = [i for i in site_ids if i not in already]
    found = set(session.scalars(select(Site.id).where(Site.id.in_(new), Site.deleted_at.is_(None))))
    missing = [i for i in new if i not in found]
    if missing:
        raise InvalidParameter("site_ids", f"no site has id {', '.join(map(str, missing))}")


def _set_items(pack: Pack, site_ids: list[int], notes: dict[int, str | None], session: Session) -> None:
    unknown_notes = sorted(set(notes) - set(site_ids))
    if unknown_notes:
        raise InvalidParameter("notes", f"site {unknown_notes[0]} has a note but is not in site_ids")
    pack.items.clear()
    session.flush()  # the old rows go before the new take their positions
    pack.items.extend(PackItem(site_id=sid, position=i, note=notes.get(sid)) for i, sid in enumerate(site_ids, start=1))


def create_pack(session: Session, data: Any, owner_id: int | None = None) -> tuple[Pack, str]:
    """Create a pack; returns it and its edit token (shown once, stored only as a hash).

    A signed-in user's pack is also listed under their account (owner_id)."""
    clean = clean_pack_input(data, partial=False)
    _check_sites(session, clean["site_ids"])
    edit_token = secrets.token_urlsafe(24)
    pack = Pack(token=secrets.token_urlsafe(24), edit_token_hash=_hash(edit_token), name=clean["name"],
                description=clean.get("description"), shoot_date=clean.get("shoot_date"),
                expires_on=clean.get("expires_on"), items=[], owner_id=owner_id)
    session.add(pack)
    _set_items(pack, clean["site_ids"], clean.get("notes", {}), session)
    session.flush()
    audit.record(session, "pack.create", "pack", pack.id, f"{len(clean['site_ids'])} site(s)")
    session.commit()
    return pack, edit_token


def authorise_edit(pack: Pack, edit_token: str | None) -> None:
    if not edit_token:
        raise Forbidden("changing a pack needs its edit token (header X-Edit-Token)")
    if not hmac.compare_digest(_hash(edit_token), pack.edit_token_hash):
        raise Forbidden("the edit token does not fit this pack")


def check_version(pack: Pack, if_match: str | None, current: dict) -> None:
    if if_match is not None and if_match.strip('W/"') != str(pack.version):
        raise PreconditionFailed(f"the pack has changed since version {if_match}; it is now version {pack.version}",
                                 current)


def update_pack(session: Session, pack: Pack, data: Any) -> Pack:
    clean = clean_pack_input(data, partial=True)
    # Items first: replacing them flushes, and the pack's own row must change in one UPDATE (one version).
    if "site_ids" in clean or "notes" in clean:
        site_ids = clean.get("site_ids") or [item.site_id for item in pack.items]
        _check_sites(session, site_ids, already={item.site_id for item in pack.items})
        if "notes" in clean:
            notes = clean["notes"]
        else:
            notes = {item.site_id: item.note for item in pack.items if item.site_id in site_ids}
        _set_items(pack, site_ids, notes, session)
    for field in ("name", "description", "shoot_date", "expires_on"):
        if field in clean:
            setattr(pack, field, clean[field])
    pack.updated_at = datetime.now(ZoneInfo("UTC"))
    audit.record(session, "pack.update", "pack", pack.id, audit.fields_summary(sorted(clean)))
    session.commit()
    return pack


def delete_pack(session: Session, pack: Pack) -> None:
    audit.record(session, "pack.delete", "pack", pack.id, f"{len(pack.items)} site(s)")
    session.delete(pack)
    session.commit()


def count_packs(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Pack))


def packs_of(session: Session, owner_id: int) -> list[Pack]:
    return list(session.scalars(select(Pack).where(Pack.owner_id == owner_id).order_by(Pack.created_at.desc())
                                .options(selectinload(Pack.items))))
