"""What the detail panel shows beyond the stored site: positions in the Chinese coordinate systems,
navigation links, distance and bearing from the county seat, and the sun on a chosen day."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import object_session

from . import checks, geo
from .errors import InvalidParameter
from .formats.geojson import site_feature
from .photos import site_photo_list
from .search import SiteHit


def parse_day(raw: str | None) -> date:
    if not raw:
        return datetime.now(ZoneInfo(geo.TIMEZONE)).date()
    day = checks.day(raw, "date")
    try:
        return geo.check_sun_date(day)
    except ValueError as err:
        raise InvalidParameter("date", str(err)) from None


def site_details(hit: SiteHit, day: date, include_staff: bool = False) -> dict[str, Any]:
    lon, lat = hit.lon, hit.lat
    seat = geo.distance_bearing(*geo.COUNTY_SEAT, lon, lat)
    sun = geo.sun_day(lon, lat, day)
    return {
        "feature": site_feature(hit, include_staff=include_staff),
        "coordinates": {
            "wgs84": [lon, lat],
            "gcj02": list(geo.wgs84_to_gcj02(lon, lat)),
            "bd09": list(geo.wgs84_to_bd09(lon, lat)),
        },
        "navigation": geo.navigation_links(lon, lat, hit.site.name_zh),
        "from_county_seat": {
            "distance_m": round(seat.distance_m, 1), "bearing_deg": round(seat.bearing_deg, 1),
            "compass_zh": seat.compass_zh, "compass_en": seat.compass_en,
        },
        "sun": {
            "date": sun.date.isoformat(), "timezone": geo.TIMEZONE, "polar": sun.polar,
            "events": [{"name": e.name, "time": e.time.isoformat(timespec="minutes"),
                        "azimuth_deg": round(e.azimuth_deg, 1), "elevation_deg": round(e.elevation_deg, 1)}
                       for e in sun.events],
        },
        "photos": site_photo_list(object_session(hit.site), hit.site.id),
    }
