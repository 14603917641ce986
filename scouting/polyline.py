"""Encoded polylines (Google's polyline algorithm, precision 5: about 1 m): a compact way to put a drawn
area's corners in a URL.  The map page encodes (static/js/map/polyline.js); the API accepts
`area=polyline:<encoded>` beside `area=lon,lat,...`.  Pure, no framework.

Points are (lat, lon) in the encoding, as every polyline library has them; decode_lon_lat gives lon/lat pairs.
"""
from __future__ import annotations

PRECISION = 5


class PolylineError(ValueError):
    pass


def encode(points: list[tuple[float, float]], precision: int = PRECISION) -> str:
    """(lat, lon) pairs -> the encoded string."""
    factor = 10 ** precision
    out: list[str] = []
    prev_lat = prev_lon = 0
    for lat, lon in points:
        ilat, ilon = round(lat * factor), round(lon * factor)
        for delta in (ilat - prev_lat, ilon - prev_lon):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        prev_lat, prev_lon = ilat, ilon
    return "".join(out)


def decode(text: str, precision: int = PRECISION) -> list[tuple[float, float]]:
    """The encoded string -> (lat, lon) pairs; PolylineError for a character outside the alphabet or a cut end."""
    factor = 10 ** precision
    values: list[int] = []
    shift = result = 0
    for char in text:
        byte = ord(char) - 63
        if not 0 <= byte < 64:
            raise PolylineError(f"{char!r} is not a polyline character")
        result |= (byte & 0x1F) << shift
        shift += 5
        if shift > 60:
            raise PolylineError("a number in the polyline is too long")
        if byte < 0x20:
            values.append(~(result >> 1) if result & 1 else result >> 1)
            shift = result = 0
    if shift or len(values) % 2:
        raise PolylineError("the polyline ends in the middle of a point")
    points, lat, lon = [], 0, 0
    for i in range(0, len(values), 2):
        lat, lon = lat + values[i], lon + values[i + 1]
        points.append((lat / factor, lon / factor))
    return points
