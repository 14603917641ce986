"""scouting.geo against reference values: published datum pairs, textbook geodesy, and PyEphem for the sun."""
from __future__ import annotations

import math
import warnings
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import ephem
import pytest
from astral import Observer, SunDirection
from astral import sun as astral_sun
from pyproj import Geod

from scouting import geo

GEOD = Geod(ellps="WGS84")
SHANGHAI = ZoneInfo("Asia/Shanghai")

# README check value, (lat, lon): the county seat in WGS-84 and in GCJ-02.
SEAT_WGS = (27.792163, 120.087835)
SEAT_GCJ = (27.789133, 120.09245)
# places.csv: Baidu geocodes (BD-09, lon/lat as published) and their WGS-84 conversions (lat, lon, 6 decimals).
PLACES_BD = {
    "大峃镇": ((120.09531563514955, 27.79560555203569), (27.792662, 120.084204)),
    "百丈漈镇": ((120.01278309780317, 27.838228395732457), (27.835104, 120.001878)),
}
# Points spread over China (lon, lat) for round trips, Wencheng first.
CHINA_POINTS = [(120.087835, 27.792163), (116.391, 39.907), (87.617, 43.793), (126.642, 45.757), (109.512, 18.252), (91.117, 29.65)]


def metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance on a sphere of the mean Earth radius: independent of pyproj."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(a))


def spherical_bearing(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


# --------------------------------------------------------------------------- datums

def test_county_seat_matches_the_readme_wgs84_value():
    assert geo.COUNTY_SEAT == (SEAT_WGS[1], SEAT_WGS[0])
    assert geo.TIMEZONE == "Asia/Shanghai"


def test_wgs84_to_gcj02_matches_the_readme_check_value():
    lon, lat = geo.wgs84_to_gcj02(SEAT_WGS[1], SEAT_WGS[0])
    assert lat == pytest.approx(SEAT_GCJ[0], abs=1e-5)
    assert lon == pytest.approx(SEAT_GCJ[1], abs=1e-5)


def test_gcj02_to_wgs84_matches_the_readme_check_value():
    lon, lat = geo.gcj02_to_wgs84(SEAT_GCJ[1], SEAT_GCJ[0])
    # The README values are rounded to 6 decimals (~0.1 m), so the reference itself is good to ~0.2 m.
    assert metres(lon, lat, SEAT_WGS[1], SEAT_WGS[0]) < 0.2


@pytest.mark.parametrize("lon,lat", CHINA_POINTS)
def test_gcj02_round_trip_is_below_a_millimetre(lon, lat):
    gcj = geo.wgs84_to_gcj02(lon, lat)
    assert metres(lon, lat, *gcj) > 100  # really shifted, so the round trip is not trivially exact
    back = geo.gcj02_to_wgs84(*gcj)
    assert metres(lon, lat, *back) < 0.001


def test_gcj02_offset_near_the_county_seat_is_about_half_a_kilometre():
    offset = metres(*geo.COUNTY_SEAT, *geo.wgs84_to_gcj02(*geo.COUNTY_SEAT))
    # The README pair itself is 565.3 m apart (336 m south, 454 m east): a sane GCJ-02 shift for Zhejiang.
    assert offset == pytest.approx(metres(SEAT_WGS[1], SEAT_WGS[0], SEAT_GCJ[1], SEAT_GCJ[0]), abs=0.5)
    assert 450 < offset < 600


@pytest.mark.parametrize("lon,lat", CHINA_POINTS)
def test_bd09_round_trip_is_below_a_millimetre(lon, lat):
    back = geo.bd09_to_wgs84(*geo.wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back) < 0.001


def test_bd09_is_gcj02_shifted_by_baidus_constant_offset():
    gcj_lon, gcj_lat = geo.wgs84_to_gcj02(*geo.COUNTY_SEAT)
    bd_lon, bd_lat = geo.wgs84_to_bd09(*geo.COUNTY_SEAT)
    # Baidu adds about 0.0065° of longitude and 0.006° of latitude on top of GCJ-02 (plus a small wobble).
    assert bd_lon - gcj_lon == pytest.approx(0.0065, abs=3e-4)
    assert bd_lat - gcj_lat == pytest.approx(0.0060, abs=3e-4)
    assert 700 < metres(*geo.COUNTY_SEAT, bd_lon, bd_lat) < 1200


@pytest.mark.parametrize("place", sorted(PLACES_BD))
def test_bd09_to_wgs84_reproduces_places_csv(place):
    (bd_lon, bd_lat), (wgs_lat, wgs_lon) = PLACES_BD[place]
    lon, lat = geo.bd09_to_wgs84(bd_lon, bd_lat)
    assert metres(lon, lat, wgs_lon, wgs_lat) < 0.2


@pytest.mark.parametrize("place", sorted(PLACES_BD))
def test_wgs84_to_bd09_reproduces_places_csv(place):
    (bd_lon, bd_lat), (wgs_lat, wgs_lon) = PLACES_BD[place]
    lon, lat = geo.wgs84_to_bd09(wgs_lon, wgs_lat)
    assert metres(lon, lat, bd_lon, bd_lat) < 0.2


@pytest.mark.parametrize("convert", [geo.wgs84_to_gcj02, geo.gcj02_to_wgs84, geo.wgs84_to_bd09, geo.bd09_to_wgs84])
@pytest.mark.parametrize("lon,lat", [(-0.1276, 51.5072), (-74.006, 40.7128), (151.2093, -33.8688)])
def test_outside_china_conversions_return_the_input_unchanged(convert, lon, lat):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # prcoords warns on foreign points; geo must not reach it
        assert convert(lon, lat) == (lon, lat)
    assert not geo.in_china(lon, lat)


def test_in_china():
    assert geo.in_china(*geo.COUNTY_SEAT)
    assert geo.in_china(87.617, 43.793)  # Ürümqi
    assert not geo.in_china(139.69, 35.69)  # Tokyo, east of the box


@pytest.mark.parametrize("lon,lat", [(math.nan, 27.0), (120.0, math.inf), (181.0, 27.0), (120.0, -91.0)])
def test_bad_coordinates_are_refused(lon, lat):
    with pytest.raises(ValueError):
        geo.wgs84_to_gcj02(lon, lat)
    with pytest.raises(ValueError):
        geo.distance_bearing(lon, lat, 120.0, 27.0)


# --------------------------------------------------------------------------- distance and bearing

def test_one_degree_north_at_the_equator():
    result = geo.distance_bearing(0.0, 0.0, 0.0, 1.0)
    assert result.distance_m == pytest.approx(110574.4, abs=1.0)  # WGS-84 meridian arc 0°..1°
    assert result.bearing_deg == pytest.approx(0.0, abs=1e-9)
    assert (result.compass_zh, result.compass_en) == ("北", "N")


def test_one_degree_east_at_the_equator():
    result = geo.distance_bearing(0.0, 0.0, 1.0, 0.0)
    assert result.distance_m == pytest.approx(2 * math.pi * 6378137.0 / 360, abs=0.5)  # equatorial radius
    assert result.bearing_deg == pytest.approx(90.0, abs=1e-9)
    assert (result.compass_zh, result.compass_en) == ("东", "E")


def test_south_west_bearing_is_in_0_360():
    result = geo.distance_bearing(120.0, 28.0, 119.9, 27.9)
    assert 220 < result.bearing_deg < 230
    assert (result.compass_zh, result.compass_en) == ("西南", "SW")


def test_county_seat_to_baizhangji_seat():
    (_, (lat, lon)) = PLACES_BD["百丈漈镇"]
    result = geo.distance_bearing(*geo.COUNTY_SEAT, lon, lat)
    expected = haversine(*geo.COUNTY_SEAT, lon, lat)
    assert 5000 < result.distance_m < 15000
    assert result.distance_m == pytest.approx(expected, rel=0.005)
    assert result.bearing_deg == pytest.approx(spherical_bearing(*geo.COUNTY_SEAT, lon, lat), abs=0.5)
    assert (result.compass_zh, result.compass_en) == ("西北", "NW")


def test_same_point_is_zero_metres_due_north():
    result = geo.distance_bearing(*geo.COUNTY_SEAT, *geo.COUNTY_SEAT)
    assert result.distance_m == 0
    assert result.bearing_deg == 0
    assert result.compass_en == "N"


@pytest.mark.parametrize("bearing,zh,en", [
    (0, "北", "N"), (22.4, "北", "N"), (22.5, "东北", "NE"), (45, "东北", "NE"), (90, "东", "E"), (135, "东南", "SE"),
    (180, "南", "S"), (225, "西南", "SW"), (270, "西", "W"), (315, "西北", "NW"), (337.4, "西北", "NW"),
    (337.5, "北", "N"), (359.99, "北", "N"), (360, "北", "N"), (-45, "西北", "NW"), (450, "东", "E"),
])
def test_compass_point(bearing, zh, en):
    assert geo.compass_point(bearing) == (zh, en)


# --------------------------------------------------------------------------- app links

def _query(url: str) -> tuple[str, dict[str, list[str]]]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)


def test_navigation_links_put_the_county_seat_at_the_reference_positions():
    links = geo.navigation_links(*geo.COUNTY_SEAT, "文成县")
    assert set(links) == {"amap", "baidu"}

    base, amap = _query(links["amap"])
    assert base == "https://uri.amap.com/marker"
    assert amap["position"] == [f"{SEAT_GCJ[1]:.6f},{SEAT_GCJ[0]:.6f}"]  # the README's GCJ-02 value
    assert amap["coordinate"] == ["gaode"] and amap["callnative"] == ["1"]
    assert amap["name"] == ["文成县"]

    base, baidu = _query(links["baidu"])
    assert base == "https://api.map.baidu.com/marker"
    bd_lat, bd_lon = (float(v) for v in baidu["location"][0].split(","))
    gcj_lon, gcj_lat = SEAT_GCJ[1], SEAT_GCJ[0]
    assert bd_lon - gcj_lon == pytest.approx(0.0065, abs=3e-4)  # lat,lon order, BD-09 not GCJ-02
    assert bd_lat - gcj_lat == pytest.approx(0.0060, abs=3e-4)
    assert baidu["coord_type"] == ["bd09ll"] and baidu["output"] == ["html"]
    assert baidu["src"] == ["webapp.wencheng-scout"]
    assert baidu["title"] == ["文成县"] and baidu["content"] == ["文成县"]


def test_baidu_link_matches_places_csv():
    (bd_lon, bd_lat), (lat, lon) = PLACES_BD["大峃镇"]
    _, baidu = _query(geo.navigation_links(lon, lat, "大峃镇")["baidu"])
    got_lat, got_lon = (float(v) for v in baidu["location"][0].split(","))
    assert got_lat == pytest.approx(bd_lat, abs=2e-6)
    assert got_lon == pytest.approx(bd_lon, abs=2e-6)


def test_navigation_links_encode_a_hostile_name():
    name = "a&b=c<script>alert('x')</script> #frag?q=1 大峃+镇"
    links = geo.navigation_links(*geo.COUNTY_SEAT, name)
    for url in links.values():
        assert "<" not in url and " " not in url and "#" not in url
    _, amap = _query(links["amap"])
    _, baidu = _query(links["baidu"])
    assert amap["name"] == [name]
    assert set(amap) == {"position", "name", "coordinate", "callnative"}
    assert baidu["title"] == [name] and baidu["content"] == [name]
    assert set(baidu) == {"location", "title", "content", "output", "coord_type", "src"}


# --------------------------------------------------------------------------- the sun

SUN_DATES = [date(2026, 6, 21), date(2026, 12, 21), date(2026, 3, 20), date(2026, 9, 23)]


def _ephem_observer(lon: float, lat: float) -> ephem.Observer:
    obs = ephem.Observer()
    obs.lon, obs.lat = str(lon), str(lat)
    obs.elevation = 0
    obs.pressure = 0        # no ephem refraction model: the standard -0:34 horizon stands for it
    obs.horizon = "-0:34"   # with the upper limb: the standard sunrise/sunset definition
    return obs


def _utc(d: ephem.Date) -> datetime:
    return d.datetime().replace(tzinfo=UTC)


def _ephem_sun(lon: float, lat: float, day: date) -> dict[str, datetime]:
    obs = _ephem_observer(lon, lat)
    obs.date = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)
    sun = ephem.Sun()
    return {"sunrise": _utc(obs.next_rising(sun)), "sunset": _utc(obs.next_setting(sun)), "noon": _utc(obs.next_transit(sun))}


def _ephem_position(lon: float, lat: float, when: datetime) -> tuple[float, float]:
    """(azimuth, geometric altitude) in degrees."""
    obs = _ephem_observer(lon, lat)
    obs.date = when.astimezone(UTC).replace(tzinfo=None)
    sun = ephem.Sun(obs)
    return math.degrees(sun.az), math.degrees(sun.alt)


def _events(day: geo.SunDay) -> dict[str, geo.SunEvent]:
    return {e.name: e for e in day.events}


@pytest.mark.parametrize("day", SUN_DATES)
def test_sunrise_noon_sunset_agree_with_pyephem(day):
    result = geo.sun_day(*geo.COUNTY_SEAT, day)
    assert result.polar is None and result.date == day
    events = _events(result)
    reference = _ephem_sun(*geo.COUNTY_SEAT, day)
    for name in ("sunrise", "noon", "sunset"):
        got = events[name].time
        assert got.utcoffset() == timedelta(hours=8) and got.date() == day
        assert abs(got - reference[name]) < timedelta(minutes=2), name
    for name in ("sunrise", "sunset"):
        azimuth, _ = _ephem_position(*geo.COUNTY_SEAT, reference[name])
        assert events[name].azimuth_deg == pytest.approx(azimuth, abs=1.0), name


def test_solstice_sunrise_azimuths_are_north_and_south_of_east():
    summer = _events(geo.sun_day(*geo.COUNTY_SEAT, date(2026, 6, 21)))
    winter = _events(geo.sun_day(*geo.COUNTY_SEAT, date(2026, 12, 21)))
    # At 27.8° N the solstice sun rises about 27° either side of east: a crew's "which way does the light come".
    assert 55 < summer["sunrise"].azimuth_deg < 70 and 290 < summer["sunset"].azimuth_deg < 305
    assert 110 < winter["sunrise"].azimuth_deg < 125 and 235 < winter["sunset"].azimuth_deg < 250


ORDER = ["blue_morning_start", "blue_morning_end", "sunrise", "golden_morning_end", "noon",
         "golden_evening_start", "sunset", "blue_evening_start", "blue_evening_end"]


@pytest.mark.parametrize("day", SUN_DATES)
def test_golden_and_blue_hours_are_ordered_and_at_the_right_sun_elevations(day):
    result = geo.sun_day(*geo.COUNTY_SEAT, day)
    assert [e.name for e in result.events] == ORDER
    times = [e.time for e in result.events]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert all(t.date() == day and t.tzinfo is not None for t in times)
    events = _events(result)
    # Sun elevation at each boundary (PhotoPills/astral: golden -4..+6, blue -6..-4), checked with PyEphem's geometric altitude.
    expected = {"blue_morning_start": -6, "blue_morning_end": -4, "golden_morning_end": 6,
                "golden_evening_start": 6, "blue_evening_start": -4, "blue_evening_end": -6}
    for name, elevation in expected.items():
        _, altitude = _ephem_position(*geo.COUNTY_SEAT, events[name].time)
        assert altitude == pytest.approx(elevation, abs=0.5), name
        assert events[name].elevation_deg == pytest.approx(elevation, abs=0.5), name
    # Between the boundaries the sun is inside the band: golden hour -4..6, blue hour -6..-4.
    bands = (("blue_morning_start", "blue_morning_end", -6, -4), ("blue_morning_end", "golden_morning_end", -4, 6),
             ("golden_evening_start", "blue_evening_start", -4, 6), ("blue_evening_start", "blue_evening_end", -6, -4))
    for start, end, low, high in bands:
        middle = events[start].time + (events[end].time - events[start].time) / 2
        _, altitude = _ephem_position(*geo.COUNTY_SEAT, middle)
        assert low - 0.5 < altitude < high + 0.5, (start, end)
    assert events["noon"].elevation_deg > 38


@pytest.mark.parametrize("day", SUN_DATES)
def test_boundaries_are_astrals_golden_and_blue_hours(day):
    """The boundaries are the same moments astral.sun.golden_hour / blue_hour give, found on the right local day."""
    observer = Observer(latitude=geo.COUNTY_SEAT[1], longitude=geo.COUNTY_SEAT[0])
    events = _events(geo.sun_day(*geo.COUNTY_SEAT, day))
    # astral wraps a morning time into the UTC day, which is the next Shanghai day: ask for the day before.
    morning_blue = astral_sun.blue_hour(observer, day - timedelta(days=1), SunDirection.RISING, SHANGHAI)
    morning_golden = astral_sun.golden_hour(observer, day - timedelta(days=1), SunDirection.RISING, SHANGHAI)
    evening_golden = astral_sun.golden_hour(observer, day, SunDirection.SETTING, SHANGHAI)
    evening_blue = astral_sun.blue_hour(observer, day, SunDirection.SETTING, SHANGHAI)
    pairs = [("blue_morning_start", morning_blue[0]), ("blue_morning_end", morning_blue[1]), ("blue_morning_end", morning_golden[0]),
             ("golden_morning_end", morning_golden[1]), ("golden_evening_start", evening_golden[0]),
             ("blue_evening_start", evening_golden[1]), ("blue_evening_start", evening_blue[0]), ("blue_evening_end", evening_blue[1])]
    for name, expected in pairs:
        assert abs(events[name].time - expected) < timedelta(seconds=1), name


def test_site_elevation_does_not_move_the_horizon():
    flat = geo.sun_day(*geo.COUNTY_SEAT, date(2026, 6, 21))
    high = geo.sun_day(*geo.COUNTY_SEAT, date(2026, 6, 21), elevation_m=1200.0)
    assert [e.time for e in high.events] == [e.time for e in flat.events]


@pytest.mark.parametrize("day,polar", [(date(2026, 6, 21), "day"), (date(2026, 12, 21), "night")])
def test_polar_day_and_night_have_no_events(day, polar):
    result = geo.sun_day(15.6, 78.2, day)  # Longyearbyen, Svalbard
    assert result.polar == polar
    assert result.events == []


def test_white_night_keeps_the_events_that_happen():
    # Oulu (65° N) at midsummer: the sun dips to about -1.5°, so it sets but there is no blue hour.
    result = geo.sun_day(25.47, 65.01, date(2026, 6, 21))
    names = {e.name for e in result.events}
    assert result.polar is None
    assert names == {"sunrise", "golden_morning_end", "noon", "golden_evening_start", "sunset"}


# --------------------------------------------------------------------------- dates

@pytest.mark.parametrize("text,expected", [("2026-06-21", date(2026, 6, 21)), (" 2024-02-29 ", date(2024, 2, 29)),
                                           ("0001-01-01", date(1, 1, 1))])
def test_parse_date_accepts_iso_dates(text, expected):
    assert geo.parse_date(text) == expected


@pytest.mark.parametrize("text", ["", "2026-6-21", "20260621", "2026-W25-7", "21/06/2026", "2026-06-21T00:00",
                                  "2026-02-30", "2025-02-29", "2026-13-01", "２０２６-06-21", "tomorrow", None])
def test_parse_date_refuses_anything_else(text):
    with pytest.raises(ValueError, match="YYYY-MM-DD|calendar date"):
        geo.parse_date(text)
