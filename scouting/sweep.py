"""Sweeping up what a crash (kill -9, power cut) left behind in the instance's folders.

No Flask here.  Writes are arranged so that a crash never corrupts data (one transaction; files renamed into
place after the commit), but it can leave files behind:

* photo uploads write `.<token>.<ext>.part` files before the commit and rename them after it.  A `.part` whose
  photo row was committed is renamed into place (the crash fell between commit and rename); any other is removed;
* a photo file whose row is gone (a crash between a delete's commit and the unlink) is removed;
* TEMP_DIR holds the unpacked files of imports being read: whatever is there is left over;
* the import page keeps uploads between dry run and commit in IMPORT_KEEP_DIR: which of its folders are the
  remains of a commit or an upload that never finished is for `scouting.imports.staging` to say (it owns
  that layout).

Only what is older than `older_than` seconds is touched, so files of requests still running (in this process
or another worker) are never swept: several workers may sweep at once.  Every step is idempotent.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from .imports.staging import Staging
from .models import Photo
from .photos import KINDS

log = logging.getLogger(__name__)

PHOTO_FILE = re.compile(r"(?P<part>\.)?(?P<token>[A-Za-z0-9_-]{16,64})\.(?P<ext>[A-Za-z0-9]{1,8})(?(part)\.part)")


@dataclass
class SweepReport:
    removed: list[Path] = field(default_factory=list)
    completed: list[Path] = field(default_factory=list)  # photo files renamed into place after a committed upload

    def __bool__(self) -> bool:
        return bool(self.removed or self.completed)

    def summary(self) -> str:
        return (f"swept {len(self.removed)} leftover file(s) or folder(s); "
                f"completed {len(self.completed)} photo file(s) of committed uploads")


def sweep(known_tokens: Callable[[Iterable[str]], set[str]], photo_dir: str | os.PathLike | None,
          temp_dir: str | os.PathLike | None, import_dir: str | os.PathLike | None, older_than: float,
          now: float | None = None) -> SweepReport:
    """Sweep the three folders.  known_tokens(tokens) answers which photo tokens have a row in the database;
    it is asked only when there are old photo files to judge (so a quiet instance never queries)."""
    cutoff = (time.time() if now is None else now) - older_than
    report = SweepReport()
    if photo_dir:
        _sweep_photos(Path(photo_dir), known_tokens, cutoff, report)
    if temp_dir and Path(temp_dir).is_dir():
        for entry in Path(temp_dir).iterdir():
            if _newest_mtime(entry) < cutoff:
                _remove(entry, report)
    if import_dir:
        for entry in Staging(import_dir).abandoned():
            if _newest_mtime(entry) < cutoff:
                _remove(entry, report)
    return report


def database_tokens(sessionmaker) -> Callable[[Iterable[str]], set[str]]:
    def known(tokens: Iterable[str]) -> set[str]:
        wanted, found = sorted(set(tokens)), set()
        with sessionmaker() as session:
            for start in range(0, len(wanted), 500):
                found.update(session.scalars(select(Photo.token).where(Photo.token.in_(wanted[start:start + 500]))))
        return found
    return known


def _sweep_photos(root: Path, known_tokens, cutoff: float, report: SweepReport) -> None:
    old: list[tuple[Path, re.Match]] = []
    for kind in KINDS:
        folder = root / kind
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            match = PHOTO_FILE.fullmatch(path.name)
            if match and path.is_file() and _mtime(path) < cutoff:
                old.append((path, match))
    if not old:
        return
    known = known_tokens(m["token"] for _, m in old)
    for path, match in old:
        if match["token"] in known:
            if match["part"]:
                final = path.with_name(f"{match['token']}.{match['ext']}")
                if final.exists():
                    _remove(path, report)
                else:
                    try:
                        os.replace(path, final)
                        report.completed.append(final)
                    except FileNotFoundError:
                        pass  # another worker did it
        else:
            _remove(path, report)


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _newest_mtime(path: Path) -> float:
    """A folder is as young as the youngest thing in it (files being written keep their folder alive)."""
    newest = _mtime(path)
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                newest = max(newest, _mtime(Path(folder) / name))
    return newest


def _remove(path: Path, report: SweepReport) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        report.removed.append(path)
    except FileNotFoundError:
        pass  # another worker swept it first
    except OSError as err:
        log.warning("sweep: %s not removed: %s", path, err)
