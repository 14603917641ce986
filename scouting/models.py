"""The data model: typed SQLAlchemy 2 models.  Geometries are WGS-84 (EPSG:4326) only."""
from __future__ import annotations

from datetime import UTC, date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from .facts import FIELDS as FACT_FIELDS
from .vocab import FACILITIES


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class PositionMixin:
    """Where a position came from and how far the real place may be from it (metres)."""

    coord_source: Mapped[str] = mapped_column(Text)
    coord_accuracy_m: Mapped[int] = mapped_column(Integer)
    position_method: Mapped[str] = mapped_column(String(20))  # a vocab.POSITION_METHODS slug


class ThemedBase(PositionMixin, Base):
    """One of the ten themed exterior shooting bases (十类外景拍摄基地) of the 2017 report."""

    __tablename__ = "themed_bases"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[int] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    genres: Mapped[list[str]] = mapped_column(JSON)  # genre slugs
    towns: Mapped[list[str]] = mapped_column(JSON)  # the places the report centres it on
    description_zh: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    facts_source: Mapped[str | None] = mapped_column(Text)  # where the description's claims come from
    source_public_zh: Mapped[str | None] = mapped_column(Text)  # the public's short source phrase (0013)
    source_public_en: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True, nullable=False), nullable=False)
    area = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True)

    sites: Mapped[list[Site]] = relationship(back_populates="base")


class Site(PositionMixin, Base):
    """A shooting location."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # SpatiaLite: the ROWID its spatial index keys on
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    base_id: Mapped[int | None] = mapped_column(ForeignKey("themed_bases.id"), index=True)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True, nullable=False), nullable=False)
    elevation_m: Mapped[float | None] = mapped_column(Float, index=True)
    area_m2: Mapped[float | None] = mapped_column(Float)
    best_seasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    description_zh: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    access_notes_zh: Mapped[str | None] = mapped_column(Text)
    access_notes_en: Mapped[str | None] = mapped_column(Text)
    # Staff only: never served to anonymous users.
    permit_notes: Mapped[str | None] = mapped_column(Text)
    contact_notes: Mapped[str | None] = mapped_column(Text)
    facts_source: Mapped[str | None] = mapped_column(Text)
    # Where the position and facts come from, as a short phrase for the public (no file rows or commits).
    source_public_zh: Mapped[str | None] = mapped_column(Text)
    source_public_en: Mapped[str | None] = mapped_column(Text)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # soft delete: undoable
    # The tags as bits (vocab.TAG_BITS), written by triggers on site_tags only (scouting/db.py): never set these.
    genre_mask: Mapped[int] = mapped_column(BigInteger, server_default="0")
    terrain_mask: Mapped[int] = mapped_column(BigInteger, server_default="0")
    facility_mask: Mapped[int] = mapped_column(BigInteger, server_default="0")  # reported or verified present
    facility_verified_mask: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # ST_X/ST_Y of geom and its strip of longitude, kept so by triggers (scouting/db.py, point_trigger_ddl): a writer
    # may leave them unset; whatever it writes, the geometry wins.
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    lon_strip: Mapped[int | None] = mapped_column(Integer)

    base: Mapped[ThemedBase | None] = relationship(back_populates="sites")
    tags: Mapped[list[SiteTag]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="SiteTag.vocabulary, SiteTag.term"
    )

    # Optimistic locking: every UPDATE checks and bumps the version.
    __mapper_args__ = {"version_id_col": version}
    # A search's box, filters and page (id, lon, lat) come from this index alone, never the wide row: in each strip
    # of longitude the box meets, a range of latitudes; the rest is tested in the index entries (search.in_bbox).
    # id is SQLite's rowid, listed for PostgreSQL.
    __table_args__ = (Index("ix_sites_point", "lon_strip", "lat", "lon", "deleted_at", "genre_mask", "terrain_mask",
                            "facility_mask", "facility_verified_mask", "elevation_m", "base_id", "id"),)

    # Search results read a whole page's tags in one query into this {vocabulary: [terms]} (search._attach_terms)
    # instead of making an object per tag; once `tags` itself is loaded, it is the answer.
    _preloaded_terms = None

    def terms(self, vocabulary: str) -> list[str]:
        """The terms the site has; a facility verified absent is not one of them (see `facility_facts`)."""
        if self._preloaded_terms is not None and "tags" not in self.__dict__:
            return list(self._preloaded_terms.get(vocabulary, ()))
        return [t.term for t in self.tags if t.vocabulary == vocabulary and t.status != "verified_absent"]

    def facility_facts(self) -> list[dict]:
        """Every facility with a status (scouting.facts entries), in vocabulary order, verified absent ones too."""
        if self._preloaded_terms is not None and "tags" not in self.__dict__:
            rows = self._preloaded_terms.get("facility_facts", [])
        else:
            rows = [{name: getattr(t, "term" if name == "facility" else name) for name in FACT_FIELDS}
                    for t in self.tags if t.vocabulary == "facility"]
        return sorted((_fact(r) for r in rows), key=lambda e: _FACILITY_ORDER.get(e["facility"], 99))


_FACILITY_ORDER = {term: n for n, term in enumerate(FACILITIES)}


def _fact(row: dict) -> dict:
    at = row.get("verified_at")
    return {**row, "status": row.get("status") or "reported", "verified_at": at.isoformat() if isinstance(at, date) else at}


class SiteTag(Base):
    """A site's membership of a vocabulary term (genre, terrain or facility).

    One narrow table indexed by (vocabulary, term) answers "sites with genre X" without scanning sites.
    A facility row carries its status (scouting.facts): reported (with its source) or verified present/absent
    (by whom, when, how); genres and terrain leave these empty.
    """

    __tablename__ = "site_tags"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    vocabulary: Mapped[str] = mapped_column(String(16), primary_key=True)  # genre | terrain | facility
    term: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str | None] = mapped_column(String(20))  # reported | verified_present | verified_absent
    source: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[date | None] = mapped_column(Date)
    verified_how: Mapped[str | None] = mapped_column(String(16))  # visit | photo | call | document

    site: Mapped[Site] = relationship(back_populates="tags")

    # The status closes the index, so a facility filter ("has it", "verified only") is answered from the index.
    # SQLite keeps the rows in the primary key's b-tree (WITHOUT ROWID, migration 0014): no rowid table beside it.
    __table_args__ = (Index("ix_site_tags_term", "vocabulary", "term", "site_id", "status"), {"sqlite_with_rowid": False})


class Boundary(Base):
    """An administrative boundary shown as a map layer (the county outline)."""

    __tablename__ = "boundaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    adcode: Mapped[int | None] = mapped_column(Integer)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True, nullable=False), nullable=False)


class Pack(Base):
    """A location pack: a named, ordered shortlist of sites with a note each, shared by an unguessable link.

    `token` is the pack's public id (in /packs/<token> and /api/packs/<token>): 192 random bits.
    Changing or deleting a pack needs its edit token, of which only a hash is stored.
    """

    __tablename__ = "packs"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    edit_token_hash: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    shoot_date: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    items: Mapped[list[PackItem]] = relationship(
        back_populates="pack", cascade="all, delete-orphan", order_by="PackItem.position")

    __mapper_args__ = {"version_id_col": version}


class PackItem(Base):
    __tablename__ = "pack_items"

    pack_id: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)

    pack: Mapped[Pack] = relationship(back_populates="items")
    site: Mapped[Site] = relationship()

    __table_args__ = (UniqueConstraint("pack_id", "position", name="uq_pack_items_position"),)


ROLES = ("director", "planner", "admin")


class User(Base):
    """An account: a director keeps packs, a planner edits sites, an admin manages users."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Carried by each session cookie; raising it (sign-out, new password, new role, switched off or on) ends
    # every session signed in before.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Flask-Login's user interface.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session cookie keeps: the id and the session generation it was signed in under."""
        return f"{self.id}:{self.session_generation}"

    def can_edit_sites(self) -> bool:
        return self.role in ("planner", "admin")


class ApiToken(Base):
    """A script's credential (Authorization: Bearer ...); only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class SiteRevision(Base):
    """One change to a site: who, when, what, and the whole record before and after (a create stores only who and
    when: its record is the site's first state, stored once elsewhere; see sites.CREATE_REVISION)."""

    __tablename__ = "site_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)  # the site's version after this change
    action: Mapped[str] = mapped_column(String(16))  # create | update | delete | undelete | restore
    actor: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changed_fields: Mapped[list[str] | None] = mapped_column(JSON)  # JSON null for a create (sites.CREATE_REVISION)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


class Photo(Base):
    """A site photo.  Files live under PHOTO_DIR, named by `token` (random, never the uploaded name):
    the original bytes (staff only), a public copy re-encoded without any metadata, and a thumbnail."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # the files' name stem
    ext: Mapped[str] = mapped_column(String(8))  # of the public copy and the thumbnail: jpg | webp
    original_ext: Mapped[str] = mapped_column(String(8))  # jpg | png | webp | heic
    caption: Mapped[str | None] = mapped_column(Text)
    width: Mapped[int] = mapped_column(Integer)  # of the public copy (upright)
    height: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(64))  # of the original, identified from its content
    bytes: Mapped[int] = mapped_column(Integer)  # size of the original
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # From the original's EXIF (phones record WGS-84); staff only.
    gps_lon: Mapped[float | None] = mapped_column(Float)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Suggestion(Base):
    """A new site or a correction sent by anyone (no account).  Nothing reaches the data until a planner accepts it."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)  # None: a new site
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    name: Mapped[str | None] = mapped_column(String(200))  # the suggested site's name
    message: Mapped[str] = mapped_column(Text)
    suggester_name: Mapped[str | None] = mapped_column(String(100))  # credited when accepted
    suggester_contact: Mapped[str | None] = mapped_column(String(200))  # staff only
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending | accepted | rejected
    reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """One write, who made it, how and from where (scouting.audit writes it in the transaction of the change).

    The actor's name is copied at write time, so an entry still reads right after the account changes.
    The summary names changed fields or counts, never whole records and never secrets."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)  # users.id, no constraint: the entry outlives anything
    actor: Mapped[str] = mapped_column(String(80), index=True)  # username | anonymous | cli:<command> | system
    credential: Mapped[str | None] = mapped_column(String(40))  # session | token:<id> | edit-token | os:<login>
    channel: Mapped[str] = mapped_column(String(16))  # web | api | cli | import | internal
    action: Mapped[str] = mapped_column(String(40), index=True)  # e.g. site.update
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)
