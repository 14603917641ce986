"""Geography helpers: Chinese map datums, distance and bearing, app links, and the sun.

Everything is stored and computed in WGS-84; GCJ-02 (Amap, Tencent) and BD-09 (Baidu) exist only
at the edges, when a coordinate comes from or goes to one of those maps, because Chinese maps are
deliberately offset by some 500 m and a site placed in the wrong datum lands on the wrong hillside.
Coordinate pairs are (lon, lat) like GeoJSON; prcoords itself works in (lat, lon), so the
swapping happens only here.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import prcoords
from astral import Observer, SunDirection
from astral import sun as astral_sun
from pyproj import Geod

# 文成县 county seat (大峃镇), WGS-84 (lon, lat): the reference places.csv row "文成县 DataV/Amap center"
# (a GCJ-02 point) converted to WGS-84.
COUNTY_SEAT: tuple[float, float] = (120.087835, 27.792163)
TIMEZONE = "Asia/Shanghai"

_GEOD = Geod(ellps="WGS84")
_TZ = ZoneInfo(TIMEZONE)
# Stop refining an inverse once a step is below this (degrees; ~1 µm), well under the 1 mm promised.
_INVERSE_EPS = 1e-11
_INVERSE_MAX_STEPS = 10


# --------------------------------------------------------------------------- datums

def in_china(lon: float, lat: float) -> bool:
    """True inside the coarse bounding box prcoords uses for China.

    GCJ-02 and BD-09 are only defined inside China, so every conversion below returns its input
    unchanged outside this box (Amap and Baidu show foreign places in WGS-84 too). The box is
    coarse (it includes parts of neighbouring countries); all of Wencheng is well inside it.
    """
    _check(lon, lat)
    return bool(prcoords.sanity_in_china_p(prcoords.Coords(lat, lon)))


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 (lon, lat), for Amap; unchanged outside China."""
    return _in_china_only(lon, lat, lambda here: prcoords.wgs_gcj(here, False))


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84 (lon, lat), accurate to well under 1 mm; unchanged outside China.

    GCJ-02 has no closed-form inverse: prcoords' iterative `gcj_wgs_bored` gets within a few mm,
    then a few more fixed-point steps on the forward transform take it to micrometres.
    """
    return _in_china_only(lon, lat, lambda here: _refine(prcoords.wgs_gcj, lat, lon, prcoords.gcj_wgs_bored(here)))


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """WGS-84 -> BD-09 (lon, lat), for Baidu; unchanged outside China."""
    return _in_china_only(lon, lat, lambda here: prcoords.wgs_bd(here, False))


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 -> WGS-84 (lon, lat), accurate to well under 1 mm; unchanged outside China."""
    return _in_china_only(lon, lat, lambda here: _refine(prcoords.wgs_bd, lat, lon, prcoords.bd_wgs_bored(here)))


def _in_china_only(lon: float, lat: float, convert: Any) -> tuple[float, float]:
    """`convert` (prcoords Coords -> Coords) applied to the point inside China; outside, the input unchanged
    (GCJ-02 and BD-09 are defined only there)."""
    if not in_china(lon, lat):
        return lon, lat
    out = convert(prcoords.Coords(lat, lon))
    return out.lon, out.lat


def _refine(forward: Any, lat: float, lon: float, guess: Any) -> Any:
    """Polish an inverse with fixed-point steps: prcoords' own loop stops at ~1e-5 degree steps (cm level)."""
    wgs = prcoords.Coords(*guess)
    for _ in range(_INVERSE_MAX_STEPS):
        mapped = forward(wgs, False)
        d_lat, d_lon = mapped.lat - lat, mapped.lon - lon
        wgs = prcoords.Coords(wgs.lat - d_lat, wgs.lon - d_lon)
        if max(abs(d_lat), abs(d_lon)) < _INVERSE_EPS:
            break
    return wgs


def _check(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"coordinates must be finite numbers, got lon={lon!r}, lat={lat!r}")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"coordinates out of range: lon={lon!r} (-180..180), lat={lat!r} (-90..90)")


# --------------------------------------------------------------------------- distance and bearing

_COMPASS = (("北", "N"), ("东北", "NE"), ("东", "E"), ("东南", "SE"), ("南", "S"), ("西南", "SW"), ("西", "W"), ("西北", "NW"))


@dataclass(frozen=True)
class DistanceBearing:
    distance_m: float
    bearing_deg: float  # 0..360, clockwise from true north
    compass_zh: str     # 8-point, e.g. "东北"
    compass_en: str     # 8-point, e.g. "NE"


def compass_point(bearing_deg: float) -> tuple[str, str]:
    """(zh, en) 8-point compass name of a bearing; each point covers 45° centred on it."""
    if not math.isfinite(bearing_deg):
        raise ValueError(f"bearing must be a finite number, got {bearing_deg!r}")
    zh, en = _COMPASS[int(((bearing_deg % 360.0) + 22.5) // 45.0) % 8]
    return zh, en


def distance_bearing(from_lon: float, from_lat: float, to_lon: float, to_lat: float) -> DistanceBearing:
    """Geodesic distance and initial bearing on the WGS-84 ellipsoid (a crew's 'how far, which way').

    The same point gives distance 0 and bearing 0 (north), rather than an arbitrary azimuth.
    """
    _check(from_lon, from_lat)
    _check(to_lon, to_lat)
    azimuth, _back, distance = _GEOD.inv(from_lon, from_lat, to_lon, to_lat)
    bearing = 0.0 if distance == 0 else azimuth % 360.0
    if bearing >= 360.0:  # -1e-15 % 360 rounds to 360.0
        bearing = 0.0
    zh, en = compass_point(bearing)
    return DistanceBearing(distance_m=distance, bearing_deg=bearing, compass_zh=zh, compass_en=en)


# --------------------------------------------------------------------------- app links

def navigation_links(lon: float, lat: float, name: str) -> dict[str, str]:
    """URLs that open Amap and Baidu (app or web) at a WGS-84 point, each in its own datum.

    Amap wants GCJ-02 "lon,lat"; Baidu wants BD-09 "lat,lon". Passing WGS-84 to either would
    put the marker some 500–1000 m off.
    """
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    bd_lon, bd_lat = wgs84_to_bd09(lon, lat)
    amap = ("https://uri.amap.com/marker?position=" + f"{gcj_lon:.6f},{gcj_lat:.6f}&"
            + urlencode({"name": name, "coordinate": "gaode", "callnative": "1"}, quote_via=quote))
    baidu = ("https://api.map.baidu.com/marker?location=" + f"{bd_lat:.6f},{bd_lon:.6f}&"
             + urlencode({"title": name, "content": name, "output": "html", "coord_type": "bd09ll",
                          "src": "webapp.wencheng-scout"}, quote_via=quote))
    return {"amap": amap, "baidu": baidu}


# --------------------------------------------------------------------------- the sun

# Golden hour is the sun between -4° and +6°, blue hour between -6° and -4° (PhotoPills' definitions).
# These are exactly the boundaries astral.sun.golden_hour / blue_hour compute (same time_of_transit,
# with refraction), asked for one at a time so that a day where the sun reaches only some of them
# (a white night without blue hour) keeps the rest; a golden hour meets a blue hour at -4°, so that
# moment is one event, named for the blue hour.
_BOUNDARIES = (
    ("blue_morning_start", -6.0, SunDirection.RISING),
    ("blue_morning_end", -4.0, SunDirection.RISING),      # = golden morning start
    ("golden_morning_end", 6.0, SunDirection.RISING),
    ("golden_evening_start", 6.0, SunDirection.SETTING),
    ("blue_evening_start", -4.0, SunDirection.SETTING),   # = golden evening end
    ("blue_evening_end", -6.0, SunDirection.SETTING),
)


@dataclass(frozen=True)
class SunEvent:
    name: str            # slug, e.g. "sunrise", "golden_evening_start"
    time: datetime       # aware, Asia/Shanghai
    azimuth_deg: float   # clockwise from north
    elevation_deg: float  # above the horizon, with refraction


@dataclass(frozen=True)
class SunDay:
    date: date
    events: list[SunEvent]
    polar: str | None  # None normally; "day" / "night" when the sun never sets / never rises (then no events)


def check_sun_date(day: date) -> date:
    """Sun times look at the days either side: the first and last day Python has cannot be used."""
    if day in (date.min, date.max):
        raise ValueError(f"sun times cannot be computed for {day.isoformat()}; use a date from "
                         f"{(date.min + timedelta(days=1)).isoformat()} to {(date.max - timedelta(days=1)).isoformat()}")
    return day


def sun_day(lon: float, lat: float, day: date, elevation_m: float | None = None) -> SunDay:
    """The photographer's sun for one local day: blue hour, golden hour, sunrise, noon, sunset.

    Golden hour is the sun between -4° and +6°, blue hour between -6° and -4°. Times are for a flat
    horizon: `elevation_m` (the site's height above sea level) is accepted but deliberately NOT given
    to astral, whose Observer.elevation means height above the surrounding horizon and would make
    sunrise earlier as if the site looked out over a plain; in Wencheng's valleys the ridges make it
    later instead, by an amount unknown without a horizon profile. Treat the times as estimates.
    Events the sun does not reach that day (e.g. blue hour in a white night) are left out; where
    it never rises or never sets (astral raises ValueError), `polar` says which and there are no events.
    """
    _check(lon, lat)
    if elevation_m is not None and not math.isfinite(elevation_m):
        raise ValueError(f"elevation_m must be a finite number, got {elevation_m!r}")
    observer = Observer(latitude=lat, longitude=lon, elevation=0.0)
    try:
        rise = astral_sun.sunrise(observer, day, _TZ)
        set_ = astral_sun.sunset(observer, day, _TZ)
    except ValueError:
        # astral raises when the sun never crosses the horizon: decide which way from noon.
        noon_elevation = astral_sun.elevation(observer, astral_sun.noon(observer, day, _TZ))
        return SunDay(date=day, events=[], polar="day" if noon_elevation > 0 else "night")

    times: dict[str, datetime] = {"sunrise": rise, "sunset": set_, "noon": astral_sun.noon(observer, day, _TZ)}
    for name, sun_elevation, direction in _BOUNDARIES:
        when = _time_on(observer, day, sun_elevation, direction)
        if when is not None:
            times[name] = when
    events = [
        SunEvent(name=name, time=when, azimuth_deg=astral_sun.azimuth(observer, when),
                 elevation_deg=astral_sun.elevation(observer, when))
        for name, when in sorted(times.items(), key=lambda item: item[1])
    ]
    return SunDay(date=day, events=events, polar=None)


def _time_on(observer: Observer, day: date, sun_elevation: float, direction: SunDirection) -> datetime | None:
    """When the sun passes `sun_elevation` on the local `day`, or None if it does not that day.

    astral takes the date as a UTC date and wraps the time into that UTC day, so east of Greenwich
    a morning time comes out on the next local day: ask for the neighbouring dates too and keep the
    one that falls on `day` (as astral's own sunrise does).
    """
    for shift in (0, -1, 1):
        try:
            when = astral_sun.time_at_elevation(observer, sun_elevation, day + timedelta(days=shift), direction, _TZ)
        except ValueError:  # the sun never reaches that elevation then
            continue
        if when.date() == day:
            return when
    return None


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: str) -> date:
    """Parse YYYY-MM-DD strictly: date.fromisoformat alone would also take 20260621 or 2026-W25-7."""
    if not isinstance(text, str) or not _ISO_DATE.fullmatch(text.strip()):
        raise ValueError(f"date must be in the form YYYY-MM-DD (e.g. 2026-06-21), got {text!r}")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a real calendar date") from None
