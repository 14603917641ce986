"""sites.clean_site_record and sites.feature_to_raw without a database: what a site record must hold, and how each
mistake is named (the field) and said (the reason)."""
from __future__ import annotations

import pytest

from scouting import checks, sites, vocab
from scouting.errors import InvalidParameter

BASES = {"red-base", "costume-base"}


def good(**changes) -> dict:
    raw = {"slug": "tongling-falls", "name_zh": "铜铃山瀑布", "name_en": "Tongling falls",
           "coord_source": "GNSS on site, 2026-05-01", "lon": 120.08, "lat": 27.79, "coord_accuracy_m": 5,
           "position_method": "surveyed", "genres": ["costume"]}
    return raw | changes


def refused(raw: dict) -> sites.RecordError:
    with pytest.raises(sites.RecordError) as info:
        sites.clean_site_record(raw, BASES)
    return info.value


def test_a_minimal_record_is_completed_with_empty_optional_fields():
    rec = sites.clean_site_record(good(), BASES)
    assert rec["slug"] == "tongling-falls" and rec["name_zh"] == "铜铃山瀑布"
    assert (rec["lon"], rec["lat"], rec["coord_accuracy_m"]) == (120.08, 27.79, 5)
    assert rec["description_zh"] is None and rec["elevation_m"] is None and rec["base"] is None
    assert (rec["genres"], rec["terrain"], rec["facilities"], rec["best_seasons"]) == (["costume"], [], [], [])
    assert rec["verified"] is False


def test_text_is_trimmed_terms_ordered_and_accuracy_rounded():
    rec = sites.clean_site_record(good(name_en="  Falls  ", genres=["red", "costume", "red"],
                                       best_seasons=["winter", "spring"], coord_accuracy_m=12.6, base="red-base"),
                                  BASES)
    assert rec["name_en"] == "Falls"
    assert rec["genres"] == ["costume", "red"], "vocabulary order, no repeats"
    assert rec["best_seasons"] == ["spring", "winter"]
    assert rec["coord_accuracy_m"] == 13 and rec["base"] == "red-base"


@pytest.mark.parametrize("field", sites.REQUIRED_TEXT)
def test_each_required_text_is_required(field):
    for missing in (None, "", "   "):
        err = refused(good(**{field: missing}))
        assert (err.field, err.reason) == (field, "is required")


@pytest.mark.parametrize("field", ["lon", "lat", "coord_accuracy_m"])
def test_each_required_number_is_required(field):
    raw = good()
    del raw[field]
    err = refused(raw)
    assert (err.field, err.reason) == (field, "is required")


@pytest.mark.parametrize("changes, field, reason", [
    ({"name_en": 12}, "name_en", "must be text"),
    ({"name_en": "x" * 201}, "name_en", "is 201 characters long; at most 200 are allowed"),
    ({"description_en": "a\x00b"}, "description_en", "U+0000"),
    ({"slug": "铜铃"}, "slug", "use ASCII letters, digits and '-' only"),
    ({"coord_accuracy_m": "ten"}, "coord_accuracy_m", "'ten' is not a number"),
    ({"coord_accuracy_m": "5"}, "coord_accuracy_m", "'5' is not a number"),  # a record carries numbers as numbers
    ({"elevation_m": True}, "elevation_m", "True is not a number"),
    ({"elevation_m": float("nan")}, "elevation_m", "must be a finite number (not NaN or Infinity)"),
    ({"elevation_m": 9001}, "elevation_m", "9001 is out of range -500..9000"),
    ({"elevation_m": 10 ** 400}, "elevation_m", "10000000…(401 digits) is out of range -500..9000"),
    ({"area_m2": -1}, "area_m2", "-1 is out of range 0..1e+10"),
    ({"coord_accuracy_m": -2}, "coord_accuracy_m", "-2 is out of range 0..1e+06"),
    ({"lon": 181}, "lon", "181 is out of range -180..180"),
    ({"lat": 120.05}, "lat", "120.05 is out of range -90..90"),
    ({"position_method": "guess"}, "position_method", f"'guess' is not one of {', '.join(vocab.POSITION_METHODS)}"),
    ({"position_method": None}, "position_method", "None is not one of"),
    ({"base": "moon-base"}, "base", "unknown base 'moon-base'; known bases: costume-base, red-base"),
    ({"genres": []}, "genres", "at least one genre is required"),
    ({"genres": "costume"}, "genres", "must be a list of terms"),
    ({"genres": ["costume", "horror"]}, "genres", f"unknown term 'horror'; valid terms are {', '.join(vocab.GENRES)}"),
    ({"terrain": ["volcano"]}, "terrain", "unknown term 'volcano'"),
    ({"best_seasons": ["monsoon"]}, "best_seasons", "unknown term 'monsoon'"),
    ({"verified": "yes"}, "verified", "'yes' is not true or false"),
])
def test_a_bad_field_is_named_with_its_reason(changes, field, reason):
    err = refused(good(**changes))
    assert err.field == field, f"the error names {field}"
    assert reason in err.reason, f"{reason!r} not in {err.reason!r}"


def test_facilities_take_terms_or_statuses():
    rec = sites.clean_site_record(good(facts_source="call to the township, 2026-04", facilities=[
        "toilets", {"facility": "parking", "status": "verified_present", "verified_by": "li", "verified_at": "2026-05-01",
                    "verified_how": "visit"}]), BASES)
    assert [(f["facility"], f["status"]) for f in rec["facilities"]] == [("parking", "verified_present"), ("toilets", "reported")]
    assert rec["facilities"][1]["source"] == "call to the township, 2026-04", "a plain term takes the facts_source"


@pytest.mark.parametrize("facilities, reason", [
    (["helipad"], "unknown term 'helipad'; valid terms are"),
    ([{"facility": "parking", "status": "rumoured"}], "parking: status 'rumoured' is not one of"),
    ([{"facility": "parking", "status": "verified_present"}], "parking: verified_by is required"),
    ([{"facility": "parking", "status": "verified_present", "verified_by": "li", "verified_how": "visit",
       "verified_at": "2999-01-01"}], "is in the future"),
    ("parking", "must be a list"),
])
def test_a_bad_facility_status_is_named(facilities, reason):
    err = refused(good(facilities=facilities))
    assert err.field == "facilities" and reason in err.reason, (err.field, err.reason)


# --------------------------------------------------------------------------- positions from GeoJSON

def feature(coordinates, **properties) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": {"type": "Point", "coordinates": coordinates}}


def test_a_feature_becomes_a_raw_record():
    raw = sites.feature_to_raw(feature([120.08, 27.79, 300], name_en="Falls"))
    assert raw == {"name_en": "Falls", "lon": 120.08, "lat": 27.79}, "the third coordinate is not the elevation"


def test_a_pasted_gcj02_point_is_converted():
    lon, lat = sites.feature_to_raw(feature([120.0845, 27.7868]), "gcj02").values()
    assert abs(lon - 120.0845) > 1e-4 and abs(lon - 120.0845) < 0.01, "moved by the GCJ-02 offset (a few hundred m)"


@pytest.mark.parametrize("coordinates, reason", [
    ([27.79, 120.08], "latitude 120.08 is out of range -90..90" + checks.SWAP_HINT),
    ([1e308, 27], "longitude 1e+308 is out of range -180..180"),
    ([float("nan"), 27], "longitude must be a finite number (not NaN or Infinity)"),
    ([True, 27], "longitude True is not a number"),
    (["120.08", "27.79"], "are not two numbers (GeoJSON is [lon, lat])"),
    ([120.08], "must be a GeoJSON Point with [lon, lat]"),
])
def test_a_bad_position_is_named_geometry(coordinates, reason):
    with pytest.raises(InvalidParameter) as info:
        sites.feature_to_raw(feature(coordinates))
    assert info.value.name == "geometry" and reason in info.value.reason, info.value.reason


def test_an_unknown_datum_or_property_is_refused():
    with pytest.raises(InvalidParameter) as info:
        sites.feature_to_raw(feature([120, 27]), "mars")
    assert (info.value.name, info.value.reason) == ("datum", "'mars' is not one of wgs84, gcj02, bd09")
    with pytest.raises(InvalidParameter) as info:
        sites.feature_to_raw(feature([120, 27], colour="red"))
    assert (info.value.name, info.value.reason) == ("colour", "is not a field a site can be given")
