"""Zip archives (KMZ, zipped Shapefiles) checked before anything is extracted, and extracted within budget.

A zip can lie: paths with '..', members that expand a thousand times, more bytes than they declare, names
in GBK without saying so.  Every member is checked from the central directory first, then streamed out
under a name of ours with a byte budget, so a hostile archive costs at most the configured limit.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..options import ImportFileError, ImportOptions, MiB

MAX_ZIP_RATIO = 100                    # a member over 1 MiB may expand at most this many times
MAX_ZIP_MEMBERS = 2000


def _unsafe_member(name: str) -> bool:
    parts = re.split(r"[\\/]", name)
    return (name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or "\x00" in name
            or any(p == ".." for p in parts))


def member_label(info: zipfile.ZipInfo) -> str:
    """The member's name for people: zips from Chinese Windows store GBK names without saying so."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("gb18030")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def checked_zip(path: Path, opts: ImportOptions) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """Open an archive and check it before anything is extracted: paths, member count, sizes and ratios."""
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise ImportFileError("is not a readable zip archive (KMZ or zipped Shapefile)") from None
    try:
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ImportFileError(f"the archive holds {len(infos)} files; at most {MAX_ZIP_MEMBERS} are accepted")
        total = 0
        for info in infos:
            if _unsafe_member(info.filename):
                raise ImportFileError(f"the archive holds an unsafe path {info.filename!r} (absolute or with '..'); "
                                      "refused")
            if info.flag_bits & 0x1:
                raise ImportFileError("the archive is encrypted")
            total += info.file_size
            if info.file_size > MiB and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise ImportFileError(f"{member_label(info)!r} would expand {info.file_size // max(info.compress_size, 1)} "
                                      f"times (to {info.file_size / MiB:.0f} MiB): refused as a zip bomb")
        if total > opts.max_unzipped_bytes:
            raise ImportFileError(f"the archive would expand to {total / MiB:.0f} MiB, more than the "
                                  f"{opts.max_unzipped_bytes / MiB:.0f} MiB allowed: refused as a zip bomb")
    except ImportFileError:
        archive.close()
        raise
    return archive, infos


def extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: list[int]) -> None:
    """Stream one member to TARGET (a name of ours), never writing more than it declared or the budget left."""
    limit = min(info.file_size, budget[0])
    written = 0
    try:
        with archive.open(info) as src, open(target, "xb") as out:
            while chunk := src.read(64 * 1024):
                written += len(chunk)
                if written > limit:
                    raise ImportFileError(f"{member_label(info)!r} expands beyond its declared size: refused")
                out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ImportFileError(f"{member_label(info)!r} cannot be extracted ({type(exc).__name__})") from None
    budget[0] -= written
