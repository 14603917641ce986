"""The audit log: who wrote what, when, how and from where.

`record()` adds an AuditEvent to the session of the change it describes, before that change's commit: a write
that is rolled back leaves no event and a committed one always has its event.

Who and where reach this module without Flask: the web layer puts an origin *provider* into a context variable
for each request (it reads the signed-in user or the API token's user only when an event is written) and the
CLI puts a fixed Origin for its commands.  Outside both (tests, scripts) events name the actor "system".
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import checks
from .errors import InvalidParameter
from .models import AuditEvent

CHANNELS = ("web", "api", "cli", "import", "internal")
SUMMARY_MAX = 500
USER_AGENT_MAX = 200


@dataclass(frozen=True)
class Origin:
    """Who acts and from where.  `actor` is a username, "anonymous", "cli:<command>" or "system"."""

    actor: str
    channel: str = "internal"
    actor_id: int | None = None
    credential: str | None = None  # session | token:<id> | edit-token | os:<login>
    remote_addr: str | None = None
    user_agent: str | None = None


SYSTEM = Origin(actor="system")

_origin: ContextVar[Origin | Callable[[], Origin]] = ContextVar("scouting_audit_origin", default=SYSTEM)


def set_origin(origin: Origin | Callable[[], Origin]):
    """Make `origin` (or a function that returns it when asked) the current one; returns a token for reset_origin."""
    return _origin.set(origin)


def reset_origin(token) -> None:
    _origin.reset(token)


@contextlib.contextmanager
def acting_as(origin: Origin | Callable[[], Origin]) -> Iterator[None]:
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)


def current_origin() -> Origin:
    value = _origin.get()
    return value() if callable(value) else value


def fields_summary(fields) -> str:
    return "changed: " + ", ".join(fields) if fields else "nothing changed"


def _clip(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    text = str(text)
    if not text.isprintable():  # the common case needs no pass per character (bulk imports write 100k events)
        text = "".join(c if c.isprintable() else " " for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record(session: Session, action: str, object_type: str | None, object_id: Any, summary: str | None = None, *,
           origin: Origin | None = None, channel: str | None = None) -> AuditEvent:
    """Add an event to `session`; the caller's commit writes it together with the change (and a rollback drops it).

    `summary` is a short text (changed field names, counts); never a whole record, a password or a token."""
    event = AuditEvent(**_values(action, object_type, object_id, summary, origin, channel))
    session.add(event)
    return event


def record_row(connection, action: str, object_type: str | None, object_id: Any, summary: str | None = None) -> None:
    """`record` for bulk writers that use a Core connection (its transaction) instead of a session."""
    from sqlalchemy import insert

    connection.execute(insert(AuditEvent.__table__).values(**_values(action, object_type, object_id, summary)))


def _values(action: str, object_type: str | None, object_id: Any, summary: str | None,
            origin: Origin | None = None, channel: str | None = None) -> dict[str, Any]:
    who = origin or current_origin()
    return dict(
        at=datetime.now(UTC), actor=_clip(who.actor, 80) or "system", actor_id=who.actor_id,
        credential=_clip(who.credential, 40), channel=channel or who.channel, action=action,
        object_type=object_type, object_id=None if object_id is None else str(object_id),
        summary=_clip(summary, SUMMARY_MAX), remote_addr=_clip(who.remote_addr, 64),
        user_agent=_clip(who.user_agent, USER_AGENT_MAX))


def record_now(session: Session, action: str, object_type: str | None, object_id: Any, summary: str | None = None,
               *, origin: Origin | None = None) -> AuditEvent:
    """An event that is itself the whole write (a sign-in attempt): added and committed at once."""
    event = record(session, action, object_type, object_id, summary, origin=origin)
    session.commit()
    return event


def with_actor(origin: Origin, actor: str, actor_id: int | None, credential: str | None = None) -> Origin:
    return replace(origin, actor=actor, actor_id=actor_id, credential=credential or origin.credential)


# --------------------------------------------------------------------------- reading

PAGE_SIZE = 50
FILTERS = ("actor", "action", "object_type", "object_id", "since", "until", "page")


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # exact username (or cli:..., anonymous)
    action: str | None = None  # exact ("site.update") or a family ending in "." ("site.")
    object_type: str | None = None
    object_id: str | None = None
    since: date | None = None  # inclusive, UTC days
    until: date | None = None  # inclusive

    def as_args(self) -> dict[str, str]:
        values = {"actor": self.actor, "action": self.action, "object_type": self.object_type,
                  "object_id": self.object_id, "since": self.since and self.since.isoformat(),
                  "until": self.until and self.until.isoformat()}
        return {k: v for k, v in values.items() if v}


def parse_day(name: str, value: str | None) -> date | None:
    if not value or not value.strip():
        return None
    return checks.day(value, name)


def parse_filter(args: Mapping[str, str], allowed: tuple[str, ...] = FILTERS) -> AuditFilter:
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise InvalidParameter(unknown[0], f"unknown parameter; valid parameters are {', '.join(allowed)}")

    def text(name: str, limit: int) -> str | None:
        value = (args.get(name) or "").strip()
        if len(value) > limit:
            raise InvalidParameter(name, f"at most {limit} characters")
        return value or None

    flt = AuditFilter(actor=text("actor", 80), action=text("action", 40), object_type=text("object_type", 32),
                      object_id=text("object_id", 64), since=parse_day("since", args.get("since")),
                      until=parse_day("until", args.get("until")))
    if flt.since and flt.until and flt.until < flt.since:
        raise InvalidParameter("until", "is before since")
    return flt


def parse_page(value: str | None) -> int:
    if not value:
        return 1
    return checks.whole_number(value, "page", 1, 1_000_000)


def _conditions(flt: AuditFilter) -> list:
    conditions = []
    if flt.actor:
        conditions.append(AuditEvent.actor == flt.actor)
    if flt.action:
        if flt.action.endswith("."):
            conditions.append(AuditEvent.action.startswith(flt.action, autoescape=True))
        else:
            conditions.append(AuditEvent.action == flt.action)
    if flt.object_type:
        conditions.append(AuditEvent.object_type == flt.object_type)
    if flt.object_id:
        conditions.append(AuditEvent.object_id == flt.object_id)
    if flt.since:
        conditions.append(AuditEvent.at >= datetime.combine(flt.since, time(), UTC))
    if flt.until:
        conditions.append(AuditEvent.at < datetime.combine(flt.until + timedelta(days=1), time(), UTC))
    return conditions


@dataclass
class EventPage:
    events: list[AuditEvent]
    total: int
    page: int
    pages: int


def find_events(session: Session, flt: AuditFilter, page: int = 1, size: int = PAGE_SIZE) -> EventPage:
    """Newest first, `size` a page."""
    conditions = _conditions(flt)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    pages = max(1, -(-total // size))
    events = list(session.scalars(select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc())
                                  .limit(size).offset((page - 1) * size)))
    return EventPage(events=events, total=total, page=page, pages=pages)


def iter_events(session: Session, flt: AuditFilter, batch: int = 2000) -> Iterator[Any]:
    """Every matching event as a plain row (the columns as attributes), oldest first, read in batches (keyset on
    id) so an export's memory stays flat; plain rows rather than ORM objects make an export about a third faster."""
    columns = select(*AuditEvent.__table__.c).where(*_conditions(flt))
    last = 0
    while True:
        rows = session.execute(columns.where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1].id


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive UTC, PostgreSQL an aware time in the connection's zone: both as aware UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": as_utc(event.at).isoformat().replace("+00:00", "Z"), "actor": event.actor,
            "actor_id": event.actor_id, "credential": event.credential, "channel": event.channel,
            "action": event.action, "object_type": event.object_type, "object_id": event.object_id,
            "summary": event.summary, "remote_addr": event.remote_addr, "user_agent": event.user_agent}


def actors(session: Session) -> list[str]:
    """The names that occur as actors, for the filter's choices."""
    return list(session.scalars(select(AuditEvent.actor).distinct().order_by(AuditEvent.actor).limit(500)))

