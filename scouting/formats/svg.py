"""A small locator map as inline SVG: the county outline and one point.  Works offline and prints sharply."""
from __future__ import annotations

import math
from functools import lru_cache

from shapely import wkt as shapely_wkt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Boundary


@lru_cache(maxsize=4)
def _outline(wkt: str) -> tuple[tuple[float, float, float, float], list[list[tuple[float, float]]]]:
    geom = shapely_wkt.loads(wkt).simplify(0.002)
    rings = [list(p.exterior.coords) for p in getattr(geom, "geoms", [geom])]
    return geom.bounds, rings


def locator_svg(session: Session, lon: float, lat: float, size: int = 160) -> str:
    """County outline with the point marked; numbers only, so nothing in it needs escaping."""
    wkt = session.scalar(select(func.ST_AsText(Boundary.geom)).order_by(Boundary.id).limit(1))
    if not wkt:
        return ""
    (minx, miny, maxx, maxy), rings = _outline(wkt)
    kx = math.cos(math.radians((miny + maxy) / 2))  # degrees of longitude are shorter here
    width, height = (maxx - minx) * kx, maxy - miny
    scale = (size - 8) / max(width, height)

    def xy(x: float, y: float) -> str:
        return f"{4 + (x - minx) * kx * scale:.1f},{4 + (maxy - y) * scale:.1f}"

    paths = "".join(f'<path d="M{" L".join(xy(x, y) for x, y in ring)} Z"/>' for ring in rings)
    px, py = (float(v) for v in xy(lon, lat).split(","))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="locator" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}" role="img"><g fill="#f4f6f6" stroke="#c0392b" stroke-width="1">{paths}</g>'
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="5" fill="#1f618d" stroke="#fff" stroke-width="2"/></svg>')
