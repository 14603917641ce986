"""The one interface every file reader implements, and what they share.

A `Reader` says whether it `accepts` a file (judged from its content by a `Probe`, never from its name) and
`read`s it into a `Source`: one `SourceRow` per feature with its attributes and its point, or why it has
none.  The probe looks at the file once and caches what readers ask (the first bytes, the whole text, the
XML root checked with defusedxml, the zip members checked for bombs and unsafe paths), so a hostile file is
refused the same way whichever reader would have read it.
"""
from __future__ import annotations

import functools
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DET
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from ..options import ImportFileError, ImportOptions
from .archive import checked_zip

SQLITE_MAGIC = b"SQLite format 3\x00"
GEOPACKAGE_IDS = (b"GPKG", b"GP10", b"GP11")  # the SQLite application id at byte 68
SHP_MAGIC = b"\x00\x00\x27\x0a"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass
class SourceRow:
    """One feature as read: its attributes and its point (lon, lat in the file's datum), or why it has none."""

    number: int
    props: dict[str, Any]
    point: tuple[float, float] | None = None
    error: tuple[str, str] | None = None   # (field, reason): the geometry is unusable
    layer: str | None = None
    line: int | None = None                # CSV: the line in the file
    datum: str | None = None               # CSV columns that name their datum (lon_gcj02, ...) override the option
    hint: str = ""                         # added to a coordinate range error


@dataclass
class Source:
    format: str
    rows: list[SourceRow]
    layers: list[str] = field(default_factory=list)
    html_descriptions: bool = False        # KML balloons are HTML
    # KML balloons and GPX <desc> are often made by the exporting app: they describe new sites but do not
    # overwrite a stored site's descriptions (language-tagged description_zh/description_en columns do).
    generated_descriptions: bool = False


class Probe:
    """A look at an uploaded file, shared by the readers deciding which of them reads it.  Close it after."""

    def __init__(self, path: Path, opts: ImportOptions):
        self.path, self.opts = Path(path), opts
        with open(self.path, "rb") as f:
            self.head = f.read(4096)
        self._archive: zipfile.ZipFile | None = None

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *exc) -> None:
        if self._archive is not None:
            self._archive.close()

    @functools.cached_property
    def container(self) -> str:
        """zip, sqlite, shp (a bare .shp), xml, json or text."""
        if self.head.startswith(ZIP_MAGIC):
            return "zip"
        if self.head.startswith(SQLITE_MAGIC):
            return "sqlite"
        if self.head.startswith(SHP_MAGIC):
            return "shp"
        start = self.data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        return {b"<": "xml", b"{": "json", b"[": "json"}.get(start, "text")

    @functools.cached_property
    def data(self) -> bytes:
        """The whole file (text formats only: binary ones are read by GDAL from the file)."""
        return self.path.read_bytes()

    @functools.cached_property
    def xml_root(self) -> Element:
        return parse_xml(self.data)

    @property
    def xml_kind(self) -> str:
        return xml_kind(self.xml_root)

    @functools.cached_property
    def archive(self) -> zipfile.ZipFile:
        """The zip, checked before anything is extracted (paths, count, sizes, ratios); closed with the probe."""
        self._archive, _ = checked_zip(self.path, self.opts)
        return self._archive

    @property
    def zip_members(self) -> list[zipfile.ZipInfo]:
        return [i for i in self.archive.infolist() if not i.is_dir()]

    def members_ending(self, suffix: str) -> list[zipfile.ZipInfo]:
        return [i for i in self.zip_members if i.filename.lower().endswith(suffix)]


class Reader(ABC):
    """One file format.  `accepts` may raise ImportFileError when the content is hostile (a DTD, a zip bomb)."""

    format: str

    @abstractmethod
    def accepts(self, probe: Probe) -> bool:
        """Whether this reader reads the file, judged from its content."""

    @abstractmethod
    def read(self, probe: Probe, workdir: Path) -> Source:
        """Every feature of the file (at most opts.max_rows + 1: the caller refuses more).  `workdir` is a
        private temporary folder for what GDAL must read from disk, under names of ours."""


def parse_xml(data: bytes) -> Element:
    """XML checked by defusedxml: a DTD or entity declarations are refused (they expand without end or read files)."""
    try:
        return DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException:
        raise ImportFileError("is XML with a DTD or entity declarations, which are refused (they can expand without "
                              "end or read other files); export the file again without them") from None
    except (ParseError, ValueError):
        raise ImportFileError("is not well-formed XML") from None


def xml_kind(root: Element) -> str:
    """The root element's name without its namespace, lower case: kml, gpx, ..."""
    return root.tag.rpartition("}")[2].lower()


def shapely_point(geom) -> tuple[tuple[float, float] | None, tuple[str, str] | None]:
    """A site's point from a shapely geometry (a MultiPoint of one point is that point), or the row's error."""
    if geom is None or geom.is_empty:
        return None, ("geometry", "is missing or empty: a site needs a point")
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        geom = geom.geoms[0]
    if geom.geom_type != "Point":
        what = f"a MultiPoint of {len(geom.geoms)} points" if geom.geom_type == "MultiPoint" else f"a {geom.geom_type}"
        return None, ("geometry", f"is {what}; only points can be imported as sites")
    return (geom.x, geom.y), None


def to_wgs84(crs_text: str | None):
    """A (lon, lat) transformer from the layer's CRS to WGS-84 (None when it is WGS-84 or states none) and a hint."""
    if not crs_text:
        return None, " (the file states no coordinate reference system, so longitude/latitude were assumed)"
    try:
        crs = CRS.from_user_input(crs_text)
    except CRSError:
        raise ImportFileError(f"states a coordinate reference system that cannot be used ({crs_text[:80]!r})") from None
    if crs.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None, ""
    try:
        transformer = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
    except Exception:  # pyproj's ProjError and friends: no way from that CRS to longitude/latitude
        raise ImportFileError(f"states a coordinate reference system ({crs.name[:60]!r}) that cannot be converted "
                              "to WGS-84") from None
    name = crs.to_string()[:60]
    return (lambda x, y: transformer.transform(x, y)), f" (after reprojecting from {name})"
