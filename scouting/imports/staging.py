"""Uploads kept between an import's dry run and its commit, so the commit writes the very file that was checked.

No Flask here: the import page calls it, and `scouting.sweep` asks it which folders a crash left behind.

Layout: <root>/<token>/ holds upload.bin (mode 0600, never the uploaded name) and meta.json (the owner's id,
the file's display name, the chosen options).  The token is random (192 bits) and only its owner may
commit it.  A commit claims the folder by renaming it to <token>.committing, so a token commits at most
once even when the button is pressed twice, and the folder is removed after the commit.  Kept uploads
not committed within a day are removed when the next upload arrives.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NotFound
from .options import ImportTooLarge, MiB

TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
FOLDER = re.compile(r"[A-Za-z0-9_-]{32}(\.committing)?")  # a kept upload, or one being committed
KEEP_SECONDS = 24 * 3600
UPLOAD_NAME, META_NAME, CLAIMED_SUFFIX = "upload.bin", "meta.json", ".committing"


class NotStaged(NotFound):
    """No kept upload with that token for this owner (or it is being committed): as if it never existed."""

    def __init__(self):
        super().__init__("there is no kept import with that token")


def staging_root(config: Mapping[str, Any], instance_path: str | os.PathLike) -> Path:
    """IMPORT_KEEP_DIR, else <instance>/imports."""
    return Path(config.get("IMPORT_KEEP_DIR") or os.path.join(instance_path, "imports"))


def save_upload(stream: io.RawIOBase, directory: Path, max_bytes: int) -> Path:
    """Copy an upload into DIRECTORY under a name of ours, refusing it (413) once it passes max_bytes."""
    path = Path(directory) / UPLOAD_NAME
    written = 0
    with open(path, "wb") as out:
        while chunk := stream.read(64 * 1024):
            written += len(chunk)
            if written > max_bytes:
                raise ImportTooLarge(f"is larger than the {max_bytes / MiB:.1f} MiB that can be imported "
                                     "(SCOUTING_IMPORT_MAX_BYTES)")
            out.write(chunk)
    return path


@dataclass(frozen=True)
class StagedUpload:
    token: str
    folder: Path

    @property
    def upload(self) -> Path:
        return self.folder / UPLOAD_NAME


@dataclass(frozen=True)
class Claimed:
    """A kept upload claimed for its commit: its file and what the dry run recorded."""

    upload: Path
    meta: dict[str, Any]


class Staging:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def new(self) -> StagedUpload:
        """A new private folder for an upload (expired ones are removed first)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.forget_expired()
        token = secrets.token_urlsafe(24)  # 192 bits, 32 characters
        folder = self.root / token
        folder.mkdir(mode=0o700)
        return StagedUpload(token, folder)

    def save(self, staged: StagedUpload, stream: io.RawIOBase, max_bytes: int) -> Path:
        path = save_upload(stream, staged.folder, max_bytes)
        os.chmod(path, 0o600)
        return path

    def keep(self, staged: StagedUpload, owner: int, filename: str, options: Mapping[str, Any]) -> None:
        """Record the dry run: from now on the owner may commit the upload."""
        meta = {"owner": owner, "filename": filename, "created": time.time(), "options": dict(options)}
        fd = os.open(staged.folder / META_NAME, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(meta, out)

    @staticmethod
    def discard(staged: StagedUpload) -> None:
        shutil.rmtree(staged.folder, ignore_errors=True)

    @contextmanager
    def claim(self, token: str, owner: int) -> Iterator[Claimed]:
        """The owner's kept upload, claimed by renaming (at most one commit per token) and removed afterwards.

        Raises NotStaged for a malformed or unknown token, another owner's upload, or one already claimed."""
        if not TOKEN.fullmatch(token):
            raise NotStaged()
        folder = self.root / token
        try:
            meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise NotStaged() from None
        if not isinstance(meta, dict) or meta.get("owner") != owner:
            raise NotStaged()  # another planner's upload: as if it did not exist
        claimed = folder.with_name(token + CLAIMED_SUFFIX)
        try:
            os.rename(folder, claimed)
        except OSError:
            raise NotStaged() from None
        try:
            yield Claimed(claimed / UPLOAD_NAME, meta)
        finally:
            shutil.rmtree(claimed, ignore_errors=True)

    def forget_expired(self, now: float | None = None) -> None:
        """Remove kept uploads not committed within KEEP_SECONDS."""
        cutoff = (time.time() if now is None else now) - KEEP_SECONDS
        for entry in self.root.iterdir():
            try:
                if entry.is_dir() and entry.stat().st_mtime < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)
            except OSError:
                pass

    def abandoned(self) -> list[Path]:
        """Folders a crash left: a claim whose commit never ended, or an upload whose dry run never ended
        (no meta.json).  Uploads waiting for their commit are not listed (forget_expired handles them)."""
        if not self.root.is_dir():
            return []
        return [entry for entry in self.root.iterdir()
                if FOLDER.fullmatch(entry.name) and entry.is_dir()
                and (entry.name.endswith(CLAIMED_SUFFIX) or not (entry / META_NAME).exists())]
