"""search.parse_site_query without a database: every parameter read, every bad value named with its reason.

The API and OGC tests check the same rules through HTTP on both databases; these pin the parser itself.
"""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from scouting import checks, search, vocab
from scouting.errors import InvalidParameter
from scouting.search import SiteQuery, parse_cluster_query, parse_site_query


def refused(args, parse=parse_site_query) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as info:
        parse(args)
    return info.value


def test_no_parameters_is_the_default_query():
    assert parse_site_query({}) == SiteQuery(), "nothing asked: every site, first page of 100"
    assert SiteQuery().limit == search.DEFAULT_LIMIT and SiteQuery().offset == 0


def test_every_parameter_is_read():
    query = parse_site_query({
        "genre": "red,costume", "terrain": "mountain", "facility": "parking,toilets", "facility_status": "verified",
        "base": "red-base", "q": "  瀑布 ", "bbox": "119.8,27.6,120.2,27.9",
        "area": "119.9,27.7,120.1,27.7,120.0,27.9", "near": "120.08,27.79", "radius_km": "5",
        "elev_min": "100", "elev_max": "900.5", "limit": "20", "offset": "40"})
    assert query == SiteQuery(
        genres=("red", "costume"), terrain=("mountain",), facilities=("parking", "toilets"), facility_status="verified",
        base="red-base", text="瀑布", bbox=(119.8, 27.6, 120.2, 27.9),
        area=((119.9, 27.7), (120.1, 27.7), (120.0, 27.9)), near=(120.08, 27.79), radius_km=5.0,
        elev_min=100.0, elev_max=900.5, limit=20, offset=40)


def test_terms_keep_the_order_asked_without_repeats():
    assert parse_site_query({"genre": "red, costume,red,,"}).genres == ("red", "costume")


def test_a_closed_area_ring_drops_its_repeated_first_corner():
    ring = parse_site_query({"area": "119.9,27.7,120.1,27.7,120.0,27.9,119.9,27.7"}).area
    assert ring == ((119.9, 27.7), (120.1, 27.7), (120.0, 27.9))


def test_a_repeated_parameter_is_read_as_its_first_value():
    """A query string may carry a name twice; the parser sees a mapping and takes the first, as Flask's args do."""
    args = MultiDict([("genre", "red"), ("genre", "costume"), ("limit", "5"), ("limit", "7")])
    query = parse_site_query(args)
    assert (query.genres, query.limit) == (("red",), 5)


@pytest.mark.parametrize("args, name, reason", [
    ({"colour": "red"}, "colour", "unknown parameter; valid parameters are " + ", ".join(search.PARAMETERS)),
    ({"genre": "horror"}, "genre", f"unknown term 'horror'; valid terms are {', '.join(vocab.GENRES)}"),
    ({"terrain": "volcano"}, "terrain", "unknown term 'volcano'; valid terms are"),
    ({"facility": "parking,helipad"}, "facility", "unknown term 'helipad'; valid terms are"),
    ({"facility_status": "maybe"}, "facility_status", "'maybe' is not one of any, verified"),
    ({"q": "x" * 201}, "q", "is 201 characters long; at most 200 are allowed"),
    ({"q": "a\x00b"}, "q", "U+0000"),
    ({"bbox": "1,2,3"}, "bbox", "must be minLon,minLat,maxLon,maxLat (4 comma-separated numbers), got 3 value(s)"),
    ({"bbox": "a,b,c,d"}, "bbox", "'a' is not a number"),
    ({"bbox": "119.8,27.6,120.2,97"}, "bbox", "latitude 97 is out of range -90..90"),
    ({"bbox": "27.6,119.8,27.9,120.2"}, "bbox", "latitude 119.8 is out of range -90..90" + checks.SWAP_HINT),
    ({"bbox": "120.2,27.6,119.8,27.9"}, "bbox", "minLon 120.2 is greater than maxLon 119.8"),
    ({"bbox": "119.8,27.9,120.2,27.6"}, "bbox", "minLat 27.9 is greater than maxLat 27.6"),
    ({"area": "119.9,27.7,120.1"}, "area", "must be lon,lat pairs (an even count of numbers)"),
    ({"area": "119.9,27.7,120.1,27.7"}, "area", "a polygon needs at least 3 corners, got 2"),
    ({"area": "0,0,1,1,1,0,0,1"}, "area", "the polygon is not valid"),
    ({"area": "0,0,1,nan,1,0"}, "area", "must be a finite number (not NaN or Infinity)"),
    ({"area": ",".join(["120,27", "120.1,27", "120.1,27.1"] * 200)}, "area", "at most 500 corners are allowed"),
    ({"near": "120.08,27.79"}, "near", "needs radius_km (kilometres)"),
    ({"radius_km": "5"}, "radius_km", "needs near=lon,lat"),
    ({"near": "27.79,120.08", "radius_km": "5"}, "near", "longitude comes first"),
    ({"near": "200,27", "radius_km": "5"}, "near", "longitude 200 is out of range -180..180"),
    ({"near": "120,27,3", "radius_km": "5"}, "near", "must be lon,lat (2 comma-separated numbers), got 3 value(s)"),
    ({"near": "120,27", "radius_km": "five"}, "radius_km", "'five' is not a number"),
    ({"near": "120,27", "radius_km": "-1"}, "radius_km", "must be greater than 0, got -1"),
    ({"near": "120,27", "radius_km": "501"}, "radius_km", "must be at most 500 km, got 501"),
    ({"elev_min": "low"}, "elev_min", "'low' is not a number"),
    ({"elev_max": "inf"}, "elev_max", "must be a finite number (not NaN or Infinity)"),
    ({"elev_min": "900", "elev_max": "100"}, "elev_min", "900 is greater than elev_max 100"),
    ({"limit": "ten"}, "limit", "'ten' is not a whole number"),
    ({"limit": "0"}, "limit", "0 is out of range 1..1000"),
    ({"limit": "1001"}, "limit", "1001 is out of range 1..1000"),
    ({"offset": "-3"}, "offset", "-3 is out of range 0..10000000"),
    ({"offset": "2.5"}, "offset", "'2.5' is not a whole number"),
])
def test_a_bad_value_is_named_with_its_reason(args, name, reason):
    err = refused(args)
    assert err.name == name, f"the error names {name}"
    assert reason in err.reason, f"{reason!r} not in {err.reason!r}"


def test_extra_parameters_are_allowed_only_when_the_caller_says_so():
    assert refused({"f": "json"}).name == "f"
    assert parse_site_query({"f": "json"}, allowed_extra=("f",)) == SiteQuery()


def test_the_cluster_query_needs_bbox_and_zoom_and_takes_no_paging():
    query, zoom = parse_cluster_query({"bbox": "119.8,27.6,120.2,27.9", "zoom": "12", "genre": "red"})
    assert (query.bbox, query.genres, zoom) == ((119.8, 27.6, 120.2, 27.9), ("red",), 12)
    assert refused({"zoom": "3"}, parse_cluster_query).name == "bbox"
    assert refused({"bbox": "119.8,27.6,120.2,27.9"}, parse_cluster_query).name == "zoom"
    err = refused({"bbox": "119.8,27.6,120.2,27.9", "zoom": "23"}, parse_cluster_query)
    assert (err.name, err.reason) == ("zoom", f"23 is out of range 0..{search.MAX_ZOOM}")
    assert refused({"bbox": "119.8,27.6,120.2,27.9", "zoom": "3", "limit": "5"}, parse_cluster_query).name == "limit"
