"""GeoJSON: exact numbers, and list-valued properties stay lists.

orjson reads a large file several times faster than the standard library, and it refuses what the standard
library's path below names (invalid JSON, lone surrogates, NaN, nesting too deep); whatever orjson refuses, and any
file holding an integer too large for it (it would make it a float), is read by the standard library, whose
messages the user gets.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson

from ..options import ImportFileError
from .base import Probe, Reader, Source, SourceRow, to_wgs84


class GeoJsonReader(Reader):
    format = "geojson"

    def accepts(self, probe: Probe) -> bool:
        return probe.container == "json"

    def read(self, probe: Probe, workdir: Path) -> Source:
        return read_geojson(probe.data, probe.opts.max_rows)


# Nineteen digits in a row may be an integer orjson would turn into a float (or text: then the check costs a
# slower read, no more).  Digits as "0", all else as " ", then one substring search: faster than a regex.
_DIGITS_ONLY = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_NUMBER = b"0" * 19


def read_geojson(data: bytes, max_rows: int) -> Source:
    doc = _fast_document(data)
    return _features(_document(data) if doc is None else doc, max_rows)


def _fast_document(data: bytes) -> Any:
    """The document as orjson reads it, or None (then the standard library reads it and names what is wrong)."""
    if data.translate(_DIGITS_ONLY).find(_LONG_NUMBER) >= 0:
        return None
    try:
        return orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError:
        return None


def _document(data: bytes) -> Any:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ImportFileError("is not valid JSON (GeoJSON must be UTF-8 JSON)") from None
    try:  # a \ud800 escape alone is valid JSON but not Unicode text: nothing could store or report it
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise ImportFileError(f"contains a lone surrogate ({err.object[err.start]!r}), which is not Unicode text; "
                              "save the file as UTF-8 again") from None
    return doc


def _features(doc: Any, max_rows: int) -> Source:
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise ImportFileError("is JSON but not a GeoJSON FeatureCollection or Feature")
    features = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(features, list):
        raise ImportFileError("is a FeatureCollection whose `features` is not a list")
    transform, hint = None, ""
    crs = doc.get("crs")  # the 2008 GeoJSON spec let a file name its CRS; RFC 7946 files are WGS-84
    if isinstance(crs, dict) and isinstance(crs.get("properties"), dict) and crs["properties"].get("name"):
        transform, hint = to_wgs84(str(crs["properties"]["name"]))
    rows = []
    for n, feature in enumerate(features[: max_rows + 1], start=1):
        row = SourceRow(n, {}, hint=hint)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            row.error = ("feature", "is not a GeoJSON Feature")
        else:
            props = feature.get("properties")
            if props is not None and not isinstance(props, dict):
                row.error = ("properties", "must be an object")
            row.props = props if isinstance(props, dict) else {}
            if row.error is None:
                row.point, row.error = _json_point(feature.get("geometry"))
            if row.point and transform:
                row.point = transform(*row.point)
        rows.append(row)
    return Source("geojson", rows)


def _json_point(geometry: Any) -> tuple[tuple[float, float] | None, tuple[str, str] | None]:
    if not isinstance(geometry, dict):
        return None, ("geometry", "is missing: a site needs a point")
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Point", coords[0]
    if kind != "Point":
        what = f"a MultiPoint of {len(coords)} points" if kind == "MultiPoint" and isinstance(coords, list) else f"a {kind}"
        return None, ("geometry", f"is {what}; only points can be imported as sites")
    if not isinstance(coords, list) or len(coords) not in (2, 3):
        return None, ("geometry", "must be a Point with [lon, lat]")
    return (coords[0], coords[1]), None
