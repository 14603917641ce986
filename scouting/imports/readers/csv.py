"""CSV, read with the standard library: UTF-8 (with or without BOM), UTF-16 or GBK as Excel in China saves it;
comma, semicolon or tab; the point from lon/lat columns (in any of their usual names, or named by datum:
lon_gcj02, ...) or from a WKT column.  A file of slugs without points updates stored sites."""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import shapely.wkt
from shapely.errors import ShapelyError

from ..mapping import norm_key
from ..options import READABLE, ImportFileError, unreadable
from .base import Probe, Reader, Source, SourceRow, shapely_point


class CsvReader(Reader):
    """The last reader asked: any text that is neither XML nor JSON is tried as CSV."""

    format = "csv"

    def accepts(self, probe: Probe) -> bool:
        return probe.container == "text"

    def read(self, probe: Probe, workdir: Path) -> Source:
        return read_csv(probe.data, probe.opts.max_rows)


_LON = ("lon", "lng", "long", "longitude", "经度", "x")
_LAT = ("lat", "latitude", "纬度", "y")
_DATUM_COLUMNS = (("wgs84", "lon_wgs84", "lat_wgs84"), ("gcj02", "lon_gcj02", "lat_gcj02"),
                  ("gcj02", "gcj02_lon", "gcj02_lat"), ("bd09", "lon_bd09", "lat_bd09"))
_WKT = ("wkt", "geometry", "geom", "the_geom", "几何")


def _decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise unreadable() from None
    if b"\x00" in data:
        raise unreadable()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise unreadable()


def read_csv(data: bytes, max_rows: int) -> Source:
    text = _decode_text(data)
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text[:4096]):
        raise unreadable()
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)  # the header says which separator the file uses
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header:
            raise unreadable()
        keys = [norm_key(h) for h in header]
        lon_i, lat_i, wkt_i, column_datum = _coordinate_columns(keys)
        if lon_i is None and wkt_i is None and "slug" not in keys:
            raise ImportFileError(f"is not a file this import reads ({READABLE}); as CSV it needs lon/lat (or "
                                  "longitude/latitude, 经度/纬度) columns or a WKT column; its header is "
                                  + ", ".join(repr(h) for h in header[:12]))
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            row = SourceRow(len(rows) + 1, {}, line=reader.line_num, datum=column_datum)
            rows.append(row)
            if len(rows) > max_rows:
                break
            if len(values) > len(header):
                row.error = ("row", f"line {reader.line_num} has {len(values)} cells but the header has {len(header)}")
                continue
            row.props = dict(zip(header, values, strict=False))
            row.point, row.error = _csv_point(values, lon_i, lat_i, wkt_i)
    except csv.Error as exc:
        raise ImportFileError(f"cannot be read as CSV (line {reader.line_num}: {exc})") from None
    return Source("csv", rows)


def _coordinate_columns(keys: list[str]) -> tuple[int | None, int | None, int | None, str | None]:
    def find(names: Iterable[str]) -> int | None:
        return next((keys.index(n) for n in names if n in keys), None)

    lon_i, lat_i = find(_LON), find(_LAT)
    if lon_i is not None and lat_i is not None:
        return lon_i, lat_i, None, None
    for datum, lon_name, lat_name in _DATUM_COLUMNS:
        if lon_name in keys and lat_name in keys:
            return keys.index(lon_name), keys.index(lat_name), None, datum
    return None, None, find(_WKT), None


def _csv_point(values: list[str], lon_i, lat_i, wkt_i):
    def cell(i):
        return values[i].strip() if i is not None and i < len(values) else ""

    if wkt_i is not None:
        text = cell(wkt_i)
        if not text:
            return None, None
        try:
            return shapely_point(shapely.wkt.loads(text))
        except (ShapelyError, ValueError):
            return None, ("geometry", f"{text[:40]!r} is not valid WKT")
    lon, lat = cell(lon_i), cell(lat_i)
    if not lon and not lat:
        return None, None
    try:
        return (float(lon), float(lat)), None
    except ValueError:
        return None, ("geometry", f"lon {lon[:20]!r} / lat {lat[:20]!r} are not numbers")
