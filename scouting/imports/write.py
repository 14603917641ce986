"""Writing an import (scouting.imports.plan decides what to write): every create and update with its revision, and
the import's audit event, in ONE transaction that any failure rolls back whole.

New sites are written a block of planned rows at a time while the planner plans the next block (NewSiteWriter);
the updates, the audit event and the commit follow once every row is planned and none is invalid
(write_changes)."""
from __future__ import annotations

import queue
import threading
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, sites
from ..db import insert_new_site_tags, spatial_dialect
from ..errors import PreconditionFailed
from ..faults import pause_point
from ..models import Site, SiteRevision
from .report import RowResult


def write_changes(session, rows: list[RowResult], actor: str, filename: str, created: list[int]) -> None:
    """Every update with its revision, and the import's audit event, in the transaction that holds the new sites
    (`created`, written by NewSiteWriter while the file was planned); then the commit."""
    bases = sites._bases(session)
    for res in rows:
        if res.action == "update":
            sites.apply_site_record(res.site, res.record, bases)
            session.flush()
            session.add(sites.new_revision(res.site, "update", actor, res.before, res.record))
            audit.record(session, "site.update", "site", res.site.id,
                         sites.audit_summary(res.site, "update", res.changes, None, res.before, res.record),
                         channel="import")
    counts = Counter(res.action for res in rows)  # one pass over 100,000 rows, not one per action
    audit.record(session, "import.commit", "import", None,
                 f"{filename}: created {counts['create']}{_id_span(created)}, updated {counts['update']}, "
                 f"skipped {counts['duplicate']} duplicate(s)")
    session.flush()
    pause_point("import-before-commit")
    session.commit()


@contextmanager
def written_or_nothing(session):
    """The import's one transaction: any failure writes nothing, and another writer's change that made it fail is
    named (a site the file updates changed, or a slug it creates saved meanwhile)."""
    try:
        yield
    except StaleDataError:
        session.rollback()
        raise PreconditionFailed("a site in the file was changed by someone else during the import; nothing was "
                                 "written: run the import again") from None
    except IntegrityError:
        session.rollback()
        raise PreconditionFailed("a site with a slug from the file was saved by someone else during the import; "
                                 "nothing was written: run the import again") from None


def _id_span(ids: list[int]) -> str:
    """The new sites' ids for the audit event, which stands for all of them, as runs ("ids 36-100035", "ids 7,
    9-12"): ids are mostly consecutive, so the line stays short however many sites the file held."""
    if not ids:
        return ""
    runs: list[list[int]] = []
    for site_id in sorted(ids):
        if runs and site_id == runs[-1][1] + 1:
            runs[-1][1] = site_id
        else:
            runs.append([site_id, site_id])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return f" (site id {text})" if len(ids) == 1 else f" (site ids {text})"


class NewSiteWriter:
    """Writes an import's new sites, a block of planned rows at a time, partly on a thread of its own while the
    planner plans the next block.

    `put` writes a block's new site rows at once, in the planner's thread (_insert_site_rows); the writer thread
    then writes their "create" revisions and tags (_insert_revisions_and_tags) while the planner goes on.  That split
    is what lets the two overlap: each of those statements runs whole in SQLite's C code, which lets go of Python's
    GIL (or in the PostgreSQL server), while the site rows are an executemany that takes the GIL back after every
    row: on the writer thread it waited for the planner's GIL at each row (0.8 s of 100,000 rows) and nothing was
    gained.  Everything is written in the caller's transaction on its connection, which one thread uses at a time:
    `connection_lock` is held for each write and while the planner reads a stored site.  The first block sets the
    per-row work aside (`bulk_load`, `deferred_spatial_index`, `deferred_indexes`); after `end` the thread does the
    end work they defer (the R*Tree's fill, the indexes' rebuild, the triggers made again) while the caller frees
    what it planned, and `finish` waits for it.

    A failure on the thread is recorded before it lets go of the connection, so nothing is written after it
    (PostgreSQL would refuse every later statement, and that error would hide the first); the caller gets it from
    the next `put`, from `finish` or from `failure`.  `abandon` (an invalid row, a failure, any way out) joins the
    thread, which writes nothing more (nor the end work, unless it had begun): the caller rolls the transaction
    back, and with it whatever was written or set aside."""

    def __init__(self, session, actor: str, connection_lock: threading.Lock, possible_creates: int):
        self._conn = session.connection()
        self._dialect = spatial_dialect(session)
        self._base_ids = {slug: base.id for slug, base in sites._bases(session).items()}
        self._actor, self._lock, self._possible_creates = actor, connection_lock, possible_creates
        self._now = datetime.now(UTC)  # one transaction, one time: not a default called per row
        self._deferred = ExitStack()   # the bulk-load contexts, entered with the first block
        self._queue: queue.Queue[tuple | None] = queue.Queue(maxsize=2)  # the planner stays at most 2 blocks ahead
        self._error: BaseException | None = None
        self._open = True       # taking blocks
        self._ending = False    # end() was called: the end work follows the last block
        self._writing = True    # writing the blocks it takes (abandon: taken and dropped)
        self.created: list[int] = []
        self._thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        self._thread.start()

    def put(self, creates: list[RowResult]) -> None:
        """Write one block's new site rows and queue the rest of their writing; raises the thread's failure, if there
        was one, instead.  Once abandoned, nothing (an invalid row was found: that is what the import reports)."""
        if not self._open:
            return
        if creates:
            records = sites.record_columns([res.record for res in creates])
            site_columns, facilities = sites.new_site_columns(records, self._base_ids)  # before taking the connection
            with self._lock:
                if self._error is None:
                    if not self.created:
                        self._defer_per_row_work()
                    ids = _insert_site_rows(self._conn, self._dialect, site_columns, self._now)
            if self._error is None:
                for res, site_id in zip(creates, ids, strict=True):
                    res.site_id = site_id
                self.created += ids
                self._queue.put((ids, [tag | {"site_id": ids[i]} for i, tag in facilities]))
        failure = self.failure()
        if failure is not None:
            raise failure

    @property
    def feeding(self) -> bool:
        """Whether it still takes blocks (not finished nor abandoned)."""
        return self._open

    def end(self) -> None:
        """No more blocks: after the last one the thread does the deferred end work (the R*Tree's fill, the
        indexes' rebuild, the triggers made again), while the caller frees what it planned (see plan._run)."""
        self._ending = True
        if self._open:
            self._open = False
            self._queue.put(None)

    def finish(self) -> list[int]:
        """Wait for every block and the end work to be written; the new sites' ids."""
        self.end()
        self._join()
        if self._error is not None:
            raise self._error
        return self.created

    def failure(self) -> BaseException | None:
        """The thread's failure, if it failed (then it is joined): the first thing that went wrong."""
        if self._error is not None:
            self.abandon()
        return self._error

    def abandon(self) -> None:
        """Stop the thread (nothing more is written; the caller rolls back, which also undoes what the bulk-load
        contexts set aside: they are left unexited).  Idempotent, never raises."""
        self._writing = False
        self._join()

    def _join(self) -> None:
        if self._open:
            self._open = False
            self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        for ids, facility_rows in iter(self._queue.get, None):
            if self._error is not None or not self._writing:
                continue  # taken unwritten: the caller rolls back
            with self._lock:
                try:
                    _insert_revisions_and_tags(self._conn, self._dialect, ids, facility_rows, self._actor, self._now)
                except BaseException as err:  # raised in the caller's thread
                    self._error = err
        if self._ending and self._writing and self._error is None:
            with self._lock:
                try:
                    self._deferred.close()
                except BaseException as err:
                    self._error = err

    def _defer_per_row_work(self) -> None:
        """bulk_load's first write takes SQLite's write lock: the largest id read after it stays ours.
        deferred_indexes is told the most rows the file can add, as the creates are not all known yet (an upper
        bound: it only decides whether rebuilding the indexes costs less than inserting into them)."""
        conn, dialect, site_table = self._conn, self._dialect, Site.__table__
        self._deferred.enter_context(dialect.bulk_load(conn, points_made_in_sql=True))
        first_id = conn.scalar(select(func.max(site_table.c.id))) or 0
        self._deferred.enter_context(dialect.deferred_spatial_index(conn, site_table.name, "geom", first_id))
        self._deferred.enter_context(dialect.deferred_indexes(conn, site_table.name, self._possible_creates))


# A block's new sites are written in bulk: one insert per table (COPY on PostGIS, one DB-API executemany or one
# statement on SpatiaLite: no per-row SQLAlchemy work), inside NewSiteWriter's bulk-load contexts.  The rows are
# built a column at a time from the records (sites.new_site_columns) and carry their ids, reserved before the insert
# (db.reserve_ids), so nothing is read back.  The audit log gets one event for the import (see write_changes);
# each site's history has its "create" revision.

def _insert_site_rows(conn, dialect, site_columns: dict[str, list], now) -> list[int]:
    """A block's new site rows (sites.new_site_columns), carrying their tag masks; their ids."""
    site_table = Site.__table__
    site_same = {"created_at": now, "updated_at": now, "version": 1}
    ids = dialect.reserve_ids(conn, site_table, len(site_columns["slug"]))
    dialect.bulk_insert_columns(conn, site_table, {"id": ids, **site_columns}, site_same,
                                point=sites.NEW_SITE_POINT)
    return ids


def _insert_revisions_and_tags(conn, dialect, ids: list[int], facility_rows: list[dict], actor: str, now) -> None:
    """A block's "create" revisions, then its site_tags rows: those the masks stand for made by one statement
    (db.insert_new_site_tags), then the facility rows written from Python over them (in that order PostgreSQL's
    statement triggers, which recompute a site's masks from its rows, always see every row)."""
    revision_table = SiteRevision.__table__
    revision_same = {"version": 1, "actor": actor, "changed_at": now, **sites.CREATE_REVISION}
    dialect.bulk_insert_columns(conn, revision_table, {"site_id": ids}, revision_same)
    insert_new_site_tags(conn, ids, facility_rows)
