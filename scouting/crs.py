"""Output and bbox coordinate systems of the OGC API (Features Part 2: CRS by reference).

Sites are stored in WGS-84 lon/lat (CRS84).  The OGC API can also answer in EPSG:4326 and EPSG:4490 (CGCS2000,
China's national datum), both latitude first as their EPSG definitions say, and in EPSG:3857 (Web Mercator,
metres).  pyproj does every transformation.  Between WGS-84 and CGCS2000 it knows only a ballpark (null) one: the
two datums differ by well under a metre here, less than any site's stated accuracy, so they are treated as equal.
"""
from __future__ import annotations

import math
import threading

import numpy as np
import shapely
from pyproj import Transformer

from .errors import InvalidParameter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
# URI -> pyproj's name for it; the order is the order collections list them.
SUPPORTED = {
    CRS84: "OGC:CRS84",
    EPSG + "4326": "EPSG:4326",
    EPSG + "4490": "EPSG:4490",
    EPSG + "3857": "EPSG:3857",
}

_local = threading.local()  # pyproj transformers must not be shared between threads


def parse_crs(raw: str, name: str) -> str:
    """A CRS's URI from a URI or a (safe) CURIE such as EPSG:4490 or [EPSG:4490]; InvalidParameter names `name`."""
    value = raw.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    for uri, short in SUPPORTED.items():
        if value in (uri, short):
            return uri
    raise InvalidParameter(name, f"unsupported CRS {raw!r}; supported are {', '.join(SUPPORTED)}")


def _transformer(source: str, target: str) -> Transformer:
    cache = _local.__dict__.setdefault("transformers", {})
    key = (source, target)
    if key not in cache:
        # Without always_xy, pyproj keeps each CRS's own axis order (EPSG:4326/4490: latitude first).
        cache[key] = Transformer.from_crs(SUPPORTED[source], SUPPORTED[target])
    return cache[key]


def from_crs84(uri: str, lon: float, lat: float) -> list[float]:
    """A CRS84 point's coordinates in `uri`, in that CRS's axis order."""
    if uri == CRS84:
        return [lon, lat]
    x, y = _transformer(CRS84, uri).transform(lon, lat)
    return [x, y]


def geometry_to_crs84(uri: str, geometry):
    """A shapely geometry whose coordinates are in `uri` (its axis order), in CRS84 lon/lat."""
    if uri == CRS84:
        return geometry
    transformer = _transformer(uri, CRS84)
    return shapely.transform(geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def bbox_to_crs84(uri: str, bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A box given in `uri` (its axis order: lower corner, upper corner) as minLon,minLat,maxLon,maxLat."""
    if uri == CRS84:
        return bbox
    minx, miny, maxx, maxy = _transformer(uri, CRS84).transform_bounds(*bbox)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise InvalidParameter("bbox", f"lies outside the area where {SUPPORTED[uri]} is defined")
    return minx, miny, maxx, maxy
