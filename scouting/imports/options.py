"""What an import may be asked to do (datum, layer, default genre, the outside-the-county answer) and its limits.

The limits come from the app's config so that the CLI, the API and the import page refuse the same files;
the errors are typed so every caller answers them the same way (400/413 naming `file`).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .. import sites, vocab
from ..errors import InvalidParameter
from .mapping import vocab_term

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MiB           # IMPORT_MAX_BYTES (env SCOUTING_IMPORT_MAX_BYTES)
DEFAULT_MAX_ROWS = 10_000              # IMPORT_MAX_ROWS
DEFAULT_MAX_UNZIPPED_BYTES = 100 * MiB  # IMPORT_MAX_UNZIPPED_BYTES: all members of an archive together
PROGRESS_MIN_ROWS = 200                # the CLI shows a progress bar from this many rows on

FORMATS = ("geojson", "kml", "kmz", "gpx", "csv", "gpkg", "shapefile")
READABLE = "GeoJSON, KML, KMZ, GPX, CSV, GeoPackage or a zipped Shapefile"


class ImportFileError(InvalidParameter):
    """The file as a whole cannot be imported (400, naming `file`); nothing is written."""

    def __init__(self, reason: str):
        super().__init__("file", reason)


class ImportTooLarge(ImportFileError):
    status = 413
    title = "Content too large"


def unreadable() -> ImportFileError:
    """The one wording for a file no reader recognises."""
    return ImportFileError(f"is not a file this import reads ({READABLE})")


@dataclass(frozen=True)
class ImportOptions:
    datum: str = "wgs84"              # the datum of the file's numbers: wgs84, gcj02 (Amap) or bd09 (Baidu)
    layer: str | None = None          # read only this layer (GeoPackage, KML folder, shapefile in a zip)
    genre_default: str | None = None  # the genre of new sites whose row names none
    confirm_outside: bool = False     # accept new points outside Wencheng County
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES
    temp_dir: str | None = None       # where unpacked files go (TEMP_DIR: swept after a crash); None: the system's

    def checked(self) -> ImportOptions:
        if self.datum not in sites.DATUMS:
            raise InvalidParameter("datum", f"{self.datum!r} is not one of {', '.join(sites.DATUMS)}")
        genre = self.genre_default
        if genre is not None:
            genre = vocab_term(str(genre).strip(), vocab.GENRES)
            if genre not in vocab.GENRES:
                raise InvalidParameter("genre_default", f"unknown genre {self.genre_default!r}; valid genres: "
                                                        f"{', '.join(vocab.GENRES)}")
        layer = (self.layer or "").strip() or None
        return replace(self, genre_default=genre, layer=layer)


def options_from_config(config: Mapping[str, Any], **choices: Any) -> ImportOptions:
    """Options with the size limits of the app's config (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, IMPORT_MAX_UNZIPPED_BYTES)."""
    limits = {"max_bytes": int(config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES),
              "max_rows": int(config.get("IMPORT_MAX_ROWS") or DEFAULT_MAX_ROWS),
              "max_unzipped_bytes": int(config.get("IMPORT_MAX_UNZIPPED_BYTES") or DEFAULT_MAX_UNZIPPED_BYTES),
              "temp_dir": config.get("TEMP_DIR") or None}
    return ImportOptions(**limits, **{k: v for k, v in choices.items() if v is not None})


def display_name(filename: str | None) -> str:
    """The upload's own name for reports and coord_source: no directories, no control characters."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
    return base[:200] or "upload"
