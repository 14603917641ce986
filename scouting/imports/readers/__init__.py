"""File readers, one per format, behind one interface (`base.Reader`), chosen by content, never by name.

`read_source` asks each reader of READERS in turn whether it accepts the file; the first that does reads
it.  A file no reader accepts is refused with a reason that fits what it is (an SQLite database that is no
GeoPackage, a bare .shp, XML that is neither KML nor GPX, ...).  A new format is one module with one
`Reader` subclass added to READERS.
"""
from __future__ import annotations

from pathlib import Path

from ..options import ImportFileError, ImportOptions, unreadable
from .base import Probe, Reader, Source, SourceRow
from .csv import CsvReader
from .geojson import GeoJsonReader
from .gpkg import GeoPackageReader
from .gpx import GpxReader
from .kml import KmlReader
from .shapefile import ShapefileReader

__all__ = ["READERS", "Probe", "Reader", "Source", "SourceRow", "read_source"]

# KML before Shapefile: a zip holding both is a KMZ (as it always was).
READERS: tuple[Reader, ...] = (GeoJsonReader(), KmlReader(), GpxReader(), GeoPackageReader(), ShapefileReader(),
                               CsvReader())


def _refusal(probe: Probe) -> ImportFileError:
    """Why no reader took the file, in words that fit what it is."""
    if probe.container == "sqlite":
        return ImportFileError("is an SQLite database but not a GeoPackage")
    if probe.container == "shp":
        return ImportFileError("is a bare .shp: upload the shapefile as a .zip holding its .shp, .shx, .dbf and .prj")
    if probe.container == "xml":
        return ImportFileError(f"is XML but neither KML nor GPX (its root element is <{probe.xml_kind}>)")
    if probe.container == "zip":
        return ImportFileError("is a zip archive with neither a .kml (KMZ) nor a .shp (zipped Shapefile) in it")
    return unreadable()


def read_source(path: Path, opts: ImportOptions, workdir: Path) -> Source:
    """Sniff the format from the content and read every feature; hostile or unreadable files raise ImportFileError."""
    with Probe(path, opts) as probe:
        if not probe.head:
            raise ImportFileError("is empty")
        reader = next((r for r in READERS if r.accepts(probe)), None)
        if reader is None:
            raise _refusal(probe)
        source = reader.read(probe, workdir)
    if not source.rows:
        raise ImportFileError(f"holds no features ({source.format})")
    if len(source.rows) > opts.max_rows:
        raise ImportFileError(f"holds more than {opts.max_rows} features; split it (SCOUTING_IMPORT_MAX_ROWS)")
    return source
