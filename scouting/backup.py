"""Backups of a whole instance — database and photo files — as one tar archive, and restoring them.

No Flask here.  An archive holds:

* `database.sqlite` (SpatiaLite: a copy made with SQLite's online backup API, consistent while the app writes)
  or `database.pgdump` (PostGIS: `pg_dump -Fc` of one exported snapshot);
* `photos/<kind>/<token>.<ext>`: the files of every photo the database snapshot records;
* `manifest.json`, written last: format, backend, schema revision, row counts, and each member's size and SHA-256.

Restoring first checks everything (member names, types, sizes and checksums against the manifest, the backend,
the schema) while unpacking into a staging folder; only then is the database replaced (SpatiaLite: the online
backup API into the target, one transaction; PostGIS: `pg_restore --single-transaction`) and the photo folder swapped
for the staged one.  A refused archive changes nothing.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from . import migrate, search
from .db import spatial_dialect, sqlite_module
from .errors import ScoutingError
from .photos import KINDS, TOKEN_PATTERN

FORMAT = "wencheng-scout-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"spatialite": "database.sqlite", "postgis": "database.pgdump"}
PHOTOS = "photos"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
CHUNK = 1024 * 1024
# What the manifest counts, and what makes a database "not empty" for restore.
COUNTED = {"sites": "sites", "packs": "packs", "revisions": "site_revisions", "photos": "photos", "users": "users"}


class BackupError(ScoutingError):
    """A backup cannot be made or restored; the message says why and what to do.  Nothing was changed."""

    status = 422
    title = "Backup refused"


@dataclass
class Manifest:
    backend: str
    schema_revision: str | None
    counts: dict[str, int]
    files: dict[str, dict] = field(default_factory=dict)  # member name -> {"size", "sha256"}
    created_at: str = ""
    missing_photo_files: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "created_at": self.created_at,
                "app": "Wencheng Scout", "backend": self.backend, "schema_revision": self.schema_revision,
                "counts": self.counts, "missing_photo_files": self.missing_photo_files,
                "files": [{"name": n, **f} for n, f in sorted(self.files.items())]}

    def summary(self) -> str:
        c = self.counts
        return (f"{self.backend} at schema {self.schema_revision}: {c.get('sites', 0)} sites, {c.get('packs', 0)} packs, "
                f"{c.get('revisions', 0)} revisions, {c.get('photos', 0)} photos ({len(self.files)} files)")


# --------------------------------------------------------------------------- making a backup

def create_backup(engine: Engine, photo_dir: str | os.PathLike, target: str | os.PathLike) -> Manifest:
    """Write the archive TARGET (via a temporary name beside it: a failed backup leaves no half file)."""
    target = Path(target)
    backend = spatial_dialect(engine).name
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as tmp:
        dump = Path(tmp) / DATABASE_MEMBER[backend]
        if backend == "spatialite":
            _sqlite_snapshot(engine, dump)
            counts, tokens, revision = _sqlite_facts(dump)
        else:
            counts, tokens, revision = _pg_dump(engine, dump)
        manifest = Manifest(backend, revision, counts, created_at=_now())
        partial = Path(tmp) / "archive.tar"
        # Readable by this user only: it holds staff-only originals, password hashes and token hashes.
        out = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        with out, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
            _add(archive, manifest, DATABASE_MEMBER[backend], dump)
            store = Path(photo_dir)
            for token, exts in sorted(tokens.items()):
                for kind, ext in zip(KINDS, exts, strict=True):
                    name = f"{kind}/{token}.{ext}"
                    path = store / name
                    if path.is_file():
                        _add(archive, manifest, f"{PHOTOS}/{name}", path)
                    else:  # recorded but gone (deleted meanwhile, or lost before): said, not fatal
                        manifest.missing_photo_files.append(name)
            data = json.dumps(manifest.as_json(), ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o600
            archive.addfile(info, io.BytesIO(data))
        os.replace(partial, target)
    return manifest


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _add(archive: tarfile.TarFile, manifest: Manifest, name: str, path: Path) -> None:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
        f.seek(0)
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o600, int(path.stat().st_mtime)
        archive.addfile(info, f)
    manifest.files[name] = {"size": size, "sha256": digest.hexdigest()}


def _sqlite_snapshot(engine: Engine, dump: Path) -> None:
    """SQLite's online backup API: a consistent copy while other connections go on reading and writing."""
    module = sqlite_module()
    with engine.connect() as conn:
        source = conn.connection.driver_connection
        copy = module.connect(str(dump))
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            copy.close()


def _sqlite_facts(dump: Path) -> tuple[dict[str, int], dict[str, tuple[str, str, str]], str | None]:
    copy = sqlite_module().connect(str(dump))
    try:
        tables = {r[0] for r in copy.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return _facts(lambda sql: copy.execute(sql).fetchall(), tables)
    finally:
        copy.close()


def _facts(query: Callable[[str], list], tables: set[str]):
    """Row counts, photo tokens (token -> original, public, thumb extensions) and the schema revision.
    Table names in SQL come from COUNTED, never from input."""
    counts = {key: (query(f"SELECT count(*) FROM {table}")[0][0] if table in tables else 0)  # nosec B608
              for key, table in COUNTED.items()}
    tokens = {}
    if "photos" in tables:
        tokens = {t: (orig, ext, ext) for t, ext, orig in query("SELECT token, ext, original_ext FROM photos")}
    revision = query("SELECT version_num FROM alembic_version")[0][0] if "alembic_version" in tables else None
    return counts, tokens, revision


def _pg_dump(engine: Engine, dump: Path):
    """`pg_dump -Fc` of a snapshot exported by a transaction that also counts the rows: all of one moment."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        tables = set(inspect(conn).get_table_names())
        facts = _facts(lambda sql: conn.exec_driver_sql(sql).all(), tables)
        tool = pg_tool("pg_dump", conn.dialect.server_version_info)
        _run_pg(engine, [tool, "--format=custom", f"--snapshot={snapshot}", f"--file={dump}"],
                "pg_dump could not dump the database")
        conn.rollback()
    return facts


def pg_tool(name: str, server_version: tuple | None) -> str:
    """The PostgreSQL client program matching the server's major version (Debian keeps one per version)."""
    major = server_version[0] if server_version else None
    candidates = [Path(f"/usr/lib/postgresql/{major}/bin/{name}")] if major else []
    found = shutil.which(name)
    for path in candidates + ([Path(found)] if found else []):
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise BackupError(f"{name} is not installed: install the PostgreSQL {major or ''} client "
                      f"(apt-get install postgresql-client{'-' + str(major) if major else ''}).")


def _run_pg(engine: Engine, argv: list[str], failure: str) -> None:
    """Run a PostgreSQL client against the engine's database; the password goes by environment, never argv."""
    url = engine.url
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGHOST": url.host or "localhost", "PGPORT": str(url.port or 5432), "PGDATABASE": url.database or "",
                "PGUSER": url.username or "", "PGCONNECT_TIMEOUT": "10"})
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if url.query.get("sslmode"):
        env["PGSSLMODE"] = str(url.query["sslmode"])
    done = subprocess.run(argv, env=env, capture_output=True, text=True)  # noqa: S603 - our argv, no shell
    if done.returncode != 0:
        message = " ".join(done.stderr.split())[:800]
        raise BackupError(f"{failure}: {message}")


# --------------------------------------------------------------------------- restoring

def restore_backup(engine: Engine, photo_dir: str | os.PathLike, source: str | os.PathLike,
                   force: bool = False) -> Manifest:
    """Check SOURCE wholly, then replace the database and the photo folder with its contents, then migrate."""
    source, photo_dir = Path(source), Path(photo_dir)
    backend = spatial_dialect(engine).name
    photo_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=photo_dir.parent) as tmp:
        staging = Path(tmp)
        manifest = unpack(source, staging)
        if manifest.backend != backend:
            raise BackupError(f"this backup is of a {_label(manifest.backend)} database and this instance uses "
                              f"{_label(backend)}: restore it into a {_label(manifest.backend)} instance "
                              "(SCOUTING_DATABASE_URL), or move data between them with export and import.")
        _check_schema(manifest.schema_revision)
        if not force:
            _check_empty(engine, photo_dir)
        dump = staging / DATABASE_MEMBER[backend]
        if backend == "spatialite":
            _sqlite_restore(engine, dump)
        else:
            _pg_restore(engine, dump)
        _swap_photos(staging / PHOTOS, photo_dir)
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        search.new_data_generation(session)  # a running server's cached counts are of the data replaced
    return manifest


def _label(backend: str) -> str:
    return {"spatialite": "SpatiaLite", "postgis": "PostGIS"}.get(backend, repr(backend))


def unpack(source: Path, staging: Path) -> Manifest:
    """Read the manifest, then copy each member into STAGING while checking its name, type, size and SHA-256."""
    try:
        archive = tarfile.open(source, "r:")  # plain tar only: nothing to decompress, so no bomb
    except (tarfile.TarError, OSError) as err:
        raise BackupError(f"{source.name} is not a backup archive of this app (an uncompressed tar): {err}") from None
    with archive:
        members = archive.getmembers()
        names = [m.name for m in members]
        for member in members:
            _check_member(member)
        if len(set(names)) != len(names):
            raise BackupError("the archive holds a member twice: it was not written by `backup`; nothing was changed")
        manifest = _read_manifest(archive, source)
        listed = set(manifest.files)
        extra = sorted(set(names) - listed - {MANIFEST})
        if extra:
            raise BackupError(f"the archive holds {extra[0]!r}, which its manifest does not list: it was changed "
                              "after the backup; nothing was changed")
        missing = sorted(listed - set(names))
        if missing:
            raise BackupError(f"the archive lacks {missing[0]!r}, which its manifest lists: it is incomplete; "
                              "nothing was changed")
        for member in members:
            if member.name == MANIFEST:
                continue
            expected = manifest.files[member.name]
            if member.size != expected["size"]:
                raise BackupError(f"{member.name} is {member.size} bytes but the manifest says {expected['size']}: "
                                  "the archive was changed or damaged; nothing was changed")
            target = staging / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            stream = archive.extractfile(member)
            with open(target, "xb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected["sha256"]:
                raise BackupError(f"{member.name} does not match its checksum in the manifest: the archive was "
                                  "changed or damaged; nothing was changed")
    return manifest


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise BackupError(f"the archive member {name!r} has an absolute path: refused; nothing was changed")
    if ".." in path.parts or "\\" in name:
        raise BackupError(f"the archive member {name!r} points outside its folder (..): refused; nothing was changed")
    if not member.isfile():
        kind = "a link" if member.issym() or member.islnk() else "not a regular file"
        raise BackupError(f"the archive member {name!r} is {kind}: refused; nothing was changed")
    if name in (MANIFEST, *DATABASE_MEMBER.values()):
        return
    parts = path.parts
    stem, _, ext = parts[-1].partition(".") if len(parts) == 3 else ("", "", "")
    if not (len(parts) == 3 and parts[0] == PHOTOS and parts[1] in KINDS and TOKEN_PATTERN.fullmatch(stem)
            and ext.isalnum()):
        raise BackupError(f"the archive member {name!r} is not part of a backup: refused; nothing was changed")


def _read_manifest(archive: tarfile.TarFile, source: Path) -> Manifest:
    try:
        member = archive.getmember(MANIFEST)
    except KeyError:
        raise BackupError(f"{source.name} has no {MANIFEST}: it is not a backup of this app") from None
    if member.size > MAX_MANIFEST_BYTES:
        raise BackupError(f"{MANIFEST} is implausibly large: refused")
    try:
        raw = json.loads(archive.extractfile(member).read())
        if raw.get("format") != FORMAT:
            raise ValueError("not our format")
        if raw.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"this backup has format version {raw.get('format_version')!r}; this app reads "
                              f"version {FORMAT_VERSION}: restore it with the version of the app that made it")
        files = {}
        for entry in raw["files"]:
            size, digest = entry["size"], entry["sha256"]
            if not isinstance(size, int) or size < 0 or not isinstance(digest, str) or len(digest) != 64:
                raise ValueError("bad file entry")
            files[str(entry["name"])] = {"size": size, "sha256": digest.lower()}
        return Manifest(backend=str(raw["backend"]), schema_revision=raw.get("schema_revision"),
                        counts={k: int(v) for k, v in raw.get("counts", {}).items()}, files=files,
                        created_at=str(raw.get("created_at", "")),
                        missing_photo_files=list(raw.get("missing_photo_files", [])))
    except BackupError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise BackupError(f"{MANIFEST} is not a manifest of this app ({err}): refused; nothing was changed") from None


def _check_schema(revision: str | None) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    if revision is None:
        raise BackupError("the backup's database has no schema revision: it was not migrated; refused")
    script = ScriptDirectory.from_config(migrate.alembic_config(None))
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(f"the backup's schema revision {revision!r} is newer than this app knows (head "
                          f"{script.get_current_head()}): update the app first, then restore")


def _check_empty(engine: Engine, photo_dir: Path) -> None:
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        for key, table in COUNTED.items():
            if table in tables and conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one():  # nosec B608
                raise BackupError(f"the database is not empty (it has {key}): restoring would replace it; "
                                  "pass --force to replace it")
    if photo_dir.is_dir() and any(p.is_file() for p in photo_dir.rglob("*")):
        raise BackupError(f"the photo folder {photo_dir} is not empty: restoring would replace it; "
                          "pass --force to replace it")


def _sqlite_restore(engine: Engine, dump: Path) -> None:
    """Check the staged copy, then write it into the database with the online backup API: one transaction
    under SQLite's own locks, so the database and its WAL never disagree (renaming a file over a WAL-mode
    database would leave the old -wal to be replayed into the new file)."""
    module = sqlite_module()
    staged = module.connect(str(dump))
    try:
        result = staged.execute("PRAGMA integrity_check").fetchall()
        if result != [("ok",)]:
            raise BackupError(f"the backup's database fails SQLite's integrity check ({result[0][0]}): refused")
        engine.dispose()
        with engine.connect() as conn:
            staged.backup(conn.connection.driver_connection)
    finally:
        staged.close()
    engine.dispose()


def _pg_restore(engine: Engine, dump: Path) -> None:
    """`pg_restore --clean --if-exists --single-transaction` of everything but the PostGIS extension itself:
    the extension stays (creating or dropping it needs a superuser, and its tables are not ours)."""
    from .db import prepare_spatial_database

    prepare_spatial_database(engine)
    with engine.connect() as conn:
        version = conn.dialect.server_version_info
    tool = pg_tool("pg_restore", version)
    listing = subprocess.run([tool, "--list", str(dump)], capture_output=True, text=True)  # noqa: S603
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read the backup's database dump: {' '.join(listing.stderr.split())[:400]}")
    keep = [line for line in listing.stdout.splitlines() if " EXTENSION " not in line]
    list_file = dump.with_suffix(".list")
    list_file.write_text("\n".join(keep) + "\n")
    _drop_tables_not_in(engine, listing.stdout)
    engine.dispose()  # our pooled connections would hold locks on the tables being replaced
    _run_pg(engine, [tool, "--clean", "--if-exists", "--single-transaction", "--no-owner", "--no-privileges",
                     "--exit-on-error", f"--use-list={list_file}", "--dbname", engine.url.database or "", str(dump)],
            "pg_restore could not restore the database (nothing was changed: it runs in one transaction)")


def _drop_tables_not_in(engine: Engine, listing: str) -> None:
    """Tables the dump does not have (a newer schema's, in a database that is empty or given up with --force)
    would survive `--clean` and stop the migrations that follow from creating them: drop them first."""
    in_dump = set(re.findall(r" TABLE public (\w+) ", listing))
    with engine.begin() as conn:
        present = conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' AND table_name <> 'spatial_ref_sys'")).scalars().all()
        for table in sorted(set(present) - in_dump):
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))  # nosec B608


def _swap_photos(staged: Path, photo_dir: Path) -> None:
    """Put the staged photo folder in place of the current one by two renames, then remove the old one."""
    staged.mkdir(exist_ok=True)
    old = None
    if photo_dir.exists():
        old = photo_dir.with_name(f".{photo_dir.name}-replaced-{os.getpid()}")
        os.rename(photo_dir, old)
    os.rename(staged, photo_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
