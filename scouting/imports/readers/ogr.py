"""Layers read with GDAL (pyogrio): KML, GPX, GeoPackage and Shapefile readers share this.

GDAL only ever sees a checked file in a private temporary folder under a name of ours.  Its error
messages name that folder, so they are trimmed before they reach a report.  GDAL is loaded before any
SpatiaLite connection because `scouting.db` imports pyogrio first (and `scouting` is imported before this).
"""
from __future__ import annotations

import math
from pathlib import Path

import pyogrio
import pyogrio.raw
import shapely

from ...errors import InvalidParameter
from ..mapping import plain_value
from ..options import ImportFileError, ImportOptions
from .base import Source, SourceRow, shapely_point, to_wgs84


def read_ogr(path: Path, fmt: str, opts: ImportOptions, layers: list[str] | None = None) -> Source:
    try:
        listed = [(str(name), str(gtype)) for name, gtype in pyogrio.list_layers(str(path))]
    except Exception as exc:  # GDAL's errors for a corrupt file vary by driver
        raise ImportFileError(f"cannot be read as {fmt.upper()} ({gdal_message(exc, path)})") from None
    names = [n for n, _ in listed]
    if layers:
        chosen = [n for n in layers if n in names]
        if fmt == "gpx" and not chosen:
            raise ImportFileError("the GPX has no waypoints (tracks and routes are not imported)")
    elif opts.layer:
        if opts.layer not in names:
            raise InvalidParameter("layer", f"the file has no layer {opts.layer!r}; its layers: {', '.join(names)}")
        chosen = [opts.layer]
    else:
        chosen = [n for n, gtype in listed if gtype not in ("None",)] or names
    rows: list[SourceRow] = []
    # KML folders and GeoPackage layers are named in the report; a KML's top level is named after our temporary file.
    labelled = [n for n in chosen if n != path.stem] if fmt in ("kml", "gpkg") or len(chosen) > 1 else []
    for name in chosen:
        rows.extend(ogr_layer(path, name, name if name in labelled else None, opts, len(rows)))
        if len(rows) > opts.max_rows:
            break
    return Source(fmt, rows, labelled)


def ogr_layer(path: Path, layer: str | None, label: str | None, opts: ImportOptions, offset: int,
              encoding: str | None = None) -> list[SourceRow]:
    try:
        meta, _, geometries, values = pyogrio.raw.read(str(path), layer=layer, encoding=encoding,
                                                       max_features=opts.max_rows + 1)
    except Exception as exc:
        raise ImportFileError(f"layer {label or layer or path.stem!r} cannot be read ({gdal_message(exc, path)})") from None
    transform, hint = to_wgs84(meta.get("crs"))
    fields = [str(f) for f in meta["fields"]]
    rows = []
    for i in range(len(geometries) if geometries is not None else 0):
        props = {}
        for name, column in zip(fields, values, strict=True):
            value = plain_value(column[i])
            if isinstance(value, float) and math.isnan(value):
                value = None  # GDAL's NULL in a number column
            props[name] = value
        row = SourceRow(offset + i + 1, props, layer=label, hint=hint)
        wkb = geometries[i]
        try:
            geom = shapely.from_wkb(wkb) if wkb is not None else None
        except Exception:  # a malformed geometry is that row's problem, not the file's
            geom = None
            row.error = ("geometry", "is not a valid geometry")
        if row.error is None:
            row.point, row.error = shapely_point(geom)
        if row.point and transform:
            row.point = transform(*row.point)
        rows.append(row)
    return rows


def gdal_message(exc: Exception, path: Path) -> str:
    """GDAL's complaint without our temporary directory in it."""
    text = str(exc).replace(str(path.parent) + "/", "").replace(str(path.parent), "")
    return " ".join(text.split())[:200] or type(exc).__name__
