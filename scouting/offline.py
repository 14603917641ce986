"""Offline packs: which basemap tiles a saved pack holds, and what saving it costs (an estimate shown before saving).

A crew needs two kinds of map in the field: an overview to drive between the sites (zooms 10-13 over the
area of the whole pack) and a close view around each site to find the paths on foot (zooms 14-16 within
DETAIL_RADIUS_M of it).  Zoom 16 shows single buildings and footpaths; 17+ adds little on a phone for four
times the tiles.  When the estimate exceeds the budget the closest zooms go first, one level at a time, and
the plan says which were left out.  Tiles are the standard Web-Mercator XYZ grid (OSM's "slippy map" scheme).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from shapely import wkt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Boundary

OVERVIEW_ZOOMS = (10, 11, 12, 13)
DETAIL_ZOOMS = (14, 15, 16)
DETAIL_RADIUS_M = 1500
OVERVIEW_PAD = 0.3  # static/js/pack-map.js shows the sites' bounds padded by 30%
FRAME_ZOOMS = (10, 11, 12)  # the whole county: some 50 tiles
# A raster tile of rural hills averages roughly this size (PNG, 256 px); configurable per tile source as
# OFFLINE_TILE_AVG_BYTES, and the real size of a saved pack is measured when it is saved.
DEFAULT_AVG_TILE_BYTES = 20_000
DEFAULT_BUDGET_BYTES = 50 * 1024 * 1024
# Whatever the budget: a pack never asks for more tiles than this (the tile server's fair use, the phone's time).
MAX_TILES = 5000
# Web Mercator's latitude limit: the grid is square only up to here.
MAX_LAT = 85.0511287798
METRES_PER_DEGREE_LAT = 111_320.0


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The (x, y) of the XYZ tile holding a WGS-84 point at `zoom`."""
    n = 2 ** zoom
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    x = int((lon + 180.0) / 360.0 * n)
    rad = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_in_bbox(west: float, south: float, east: float, north: float, zoom: int) -> set[tuple[int, int, int]]:
    """Every tile (z, x, y) a bounding box touches at `zoom`."""
    x0, y0 = tile_of(west, north, zoom)  # y grows southwards
    x1, y1 = tile_of(east, south, zoom)
    return {(zoom, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)}


def around(lon: float, lat: float, metres: float) -> tuple[float, float, float, float]:
    """A bounding box reaching `metres` from a point on every side."""
    dlat = metres / METRES_PER_DEGREE_LAT
    dlon = metres / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def tiles_for_points(points: Iterable[tuple[float, float]], zooms: Iterable[int],
                     radius_m: float = DETAIL_RADIUS_M) -> set[tuple[int, int, int]]:
    """Overview zooms cover the box around all the points, widened by OVERVIEW_PAD of its size on each side (as
    the pack page frames its sites); detail zooms only the box around each point."""
    points = list(points)
    if not points:
        return set()
    boxes = [around(lon, lat, radius_m) for lon, lat in points]
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad_x, pad_y = (east - west) * OVERVIEW_PAD, (north - south) * OVERVIEW_PAD
    whole = (west - pad_x, south - pad_y, east + pad_x, north + pad_y)
    tiles: set[tuple[int, int, int]] = set()
    for zoom in zooms:
        if zoom in OVERVIEW_ZOOMS:
            tiles |= tiles_in_bbox(*whole, zoom)
        else:
            for box in boxes:
                tiles |= tiles_in_bbox(*box, zoom)
    return tiles


@dataclass(frozen=True)
class OfflinePlan:
    zooms: tuple[int, ...]          # the zooms saved
    left_out: tuple[int, ...]       # detail zooms dropped to stay within the budget
    tiles: tuple[tuple[int, int, int], ...]
    tile_bytes: int                 # estimated: tile count x the average tile size
    other_bytes: int                # the pack's page, print view, data and photos (measured on the server)
    budget_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.tile_bytes + self.other_bytes

    @property
    def within_budget(self) -> bool:
        return self.total_bytes <= self.budget_bytes


def plan_pack(points: Iterable[tuple[float, float]], other_bytes: int, avg_tile_bytes: int = DEFAULT_AVG_TILE_BYTES,
              budget_bytes: int = DEFAULT_BUDGET_BYTES, with_tiles: bool = True,
              frame: tuple[float, float, float, float] | None = None) -> OfflinePlan:
    """What a pack saves: every zoom of OVERVIEW_ZOOMS + DETAIL_ZOOMS, dropping the closest detail zooms while the
    estimate exceeds the budget or MAX_TILES; plus `frame` (the county: the pack page shows all of it when the
    sites lie close together) at FRAME_ZOOMS.  Without an offline tile source (with_tiles=False): no tiles."""
    points = list(points)
    zooms = list(OVERVIEW_ZOOMS + DETAIL_ZOOMS) if with_tiles and points else []
    framed = {t for z in FRAME_ZOOMS for t in tiles_in_bbox(*frame, z)} if frame and zooms else set()
    left_out: list[int] = []
    while True:
        tiles = tiles_for_points(points, zooms) | framed
        tile_bytes = len(tiles) * avg_tile_bytes
        fits = tile_bytes + other_bytes <= budget_bytes and len(tiles) <= MAX_TILES
        if fits or not zooms or zooms[-1] not in DETAIL_ZOOMS:
            break
        left_out.insert(0, zooms.pop())
    return OfflinePlan(zooms=tuple(zooms), left_out=tuple(left_out), tiles=tuple(sorted(tiles)),
                       tile_bytes=tile_bytes, other_bytes=other_bytes, budget_bytes=budget_bytes)


def tile_url(template: str, z: int, x: int, y: int) -> str:
    """A tile's address from an XYZ template such as https://tiles.example.org/{z}/{x}/{y}.png."""
    return template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def megabytes(n: int) -> str:
    """Bytes as MB with one decimal (1 MB = 1024 x 1024 bytes), never "0.0" for a non-empty size."""
    mb = n / (1024 * 1024)
    return f"{max(mb, 0.1) if n else 0:.1f}"


def boundary_frame(session: Session) -> tuple[float, float, float, float] | None:
    """The bounding box (west, south, east, north) of the county outline(s), or None without one."""
    shapes = [wkt.loads(text) for text in session.scalars(select(func.ST_AsText(Boundary.geom))) if text]
    if not shapes:
        return None
    boxes = [shape.bounds for shape in shapes]
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)
