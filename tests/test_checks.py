"""scouting.checks, the input rules every way in shares (no database): each rule's answer and its one wording."""
from __future__ import annotations

import math
from datetime import date

import pytest

from scouting import checks, vocab
from scouting.errors import InvalidParameter


def refused(call, *args) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as info:
        call(*args)
    return info.value


# --------------------------------------------------------------------------- numbers

@pytest.mark.parametrize("value, expected", [
    ("12.5", 12.5), (" -3 ", -3.0), ("1e3", 1000.0), (7, 7.0), (2.25, 2.25), (0, 0.0),
])
def test_number_accepts_numbers_and_number_text(value, expected):
    result = checks.number(value, "x")
    assert result == expected and isinstance(result, float), f"{value!r} reads as the float {expected}"


@pytest.mark.parametrize("value, reason", [
    ("abc", "'abc' is not a number"),
    ("", "'' is not a number"),
    ([1], "[1] is not a number"),
    (None, "None is not a number"),
    (True, "True is not a number"),  # a JSON true is not 1
    ("nan", "must be a finite number (not NaN or Infinity)"),
    ("-Infinity", "must be a finite number (not NaN or Infinity)"),
    (math.inf, "must be a finite number (not NaN or Infinity)"),
    ("1e400", "must be a finite number (not NaN or Infinity)"),  # overflows to infinity
])
def test_number_refuses_with_the_one_wording(value, reason):
    err = refused(checks.number, value, "elev_min")
    assert (err.name, err.reason) == ("elev_min", reason)


def test_number_range_says_the_value_and_the_bounds():
    assert checks.number("9000", "elevation_m", -500, 9000) == 9000.0, "the bounds are inclusive"
    err = refused(checks.number, 9001.5, "elevation_m", -500, 9000)
    assert (err.name, err.reason) == ("elevation_m", "9001.5 is out of range -500..9000")
    assert refused(checks.number, "-1", "area_m2", 0, None).reason == "-1 is out of range 0..", "open upper bound"


def test_a_huge_integer_is_out_of_range_and_shortened_in_the_message():
    huge = 10 ** 400  # has no float: converting it first would raise OverflowError
    err = refused(checks.number, huge, "elevation_m", -500, 9000)
    assert err.reason.startswith("10000000…(401 digits) is out of range"), err.reason


@pytest.mark.parametrize("value, expected", [("10", 10), (" 0 ", 0), (1000, 1000)])
def test_whole_number_accepts(value, expected):
    assert checks.whole_number(value, "limit", 0, 1000) == expected


@pytest.mark.parametrize("value, reason", [
    ("ten", "'ten' is not a whole number"),
    ("1.5", "'1.5' is not a whole number"),
    ("1e3", "'1e3' is not a whole number"),
    (2.0, "2.0 is not a whole number"),
    (False, "False is not a whole number"),
    ("0", "0 is out of range 1..1000"),
    ("1001", "1001 is out of range 1..1000"),
])
def test_whole_number_refuses(value, reason):
    err = refused(checks.whole_number, value, "limit", 1, 1000)
    assert (err.name, err.reason) == ("limit", reason)


# --------------------------------------------------------------------------- positions

def test_lon_lat_accepts_text_and_numbers():
    assert checks.lon_lat("120.08", " 27.79", "near") == (120.08, 27.79)
    assert checks.lon_lat(-180, 90, "near") == (-180.0, 90.0), "the edges are in range"


@pytest.mark.parametrize("lon, lat, reason", [
    (27.79, 120.08, "latitude 120.08 is out of range -90..90" + checks.SWAP_HINT),
    (200, 27, "longitude 200 is out of range -180..180"),
    (60, 95, "latitude 95 is out of range -90..90" + checks.SWAP_HINT),
    (120, 95, "latitude 95 is out of range -90..90"),  # 120 cannot be a latitude: no hint
    (120, 1e308, "latitude 1e+308 is out of range -90..90"),  # cannot be a longitude either
    ("x", 27, "longitude 'x' is not a number"),
    (120, "nan", "latitude must be a finite number (not NaN or Infinity)"),
    (None, 27, "longitude None is not a number"),
])
def test_lon_lat_refuses_with_the_swap_hint_only_where_it_fits(lon, lat, reason):
    err = refused(checks.lon_lat, lon, lat, "near")
    assert (err.name, err.reason) == ("near", reason)


def test_the_swap_hint_says_which_comes_first():
    assert "look swapped" in checks.SWAP_HINT and "longitude comes first" in checks.SWAP_HINT


def test_lon_lat_names_the_latitude_field_of_a_form():
    assert refused(checks.lon_lat, "120", "95", "lon", "lat").name == "lat", "the latitude's error is at lat"
    assert refused(checks.lon_lat, "nan", "27", "lon", "lat").name == "lon", "the longitude's error is at lon"


# --------------------------------------------------------------------------- vocabulary terms and choices

def test_terms_are_deduplicated_in_vocabulary_order():
    assert checks.terms(["red", "costume", "red"], "genres", vocab.GENRES) == ["costume", "red"]
    assert checks.terms([], "genres", vocab.GENRES) == []


def test_unknown_terms_are_named_with_the_valid_ones():
    err = refused(checks.terms, ["red", "horror", "gore", "horror"], "genre", vocab.GENRES)
    assert err.name == "genre"
    assert err.reason == f"unknown term 'horror', 'gore'; valid terms are {', '.join(vocab.GENRES)}"


def test_one_of():
    assert checks.one_of("verified", "facility_status", ("any", "verified")) == "verified"
    err = refused(checks.one_of, "some", "facility_status", ("any", "verified"))
    assert (err.name, err.reason) == ("facility_status", "'some' is not one of any, verified")


# --------------------------------------------------------------------------- flags and booleans

@pytest.mark.parametrize("raw, expected", [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), (" Yes ", True),
    ("false", False), ("0", False), ("no", False), ("No", False),
])
def test_flag_words(raw, expected):
    assert checks.flag(raw, "commit") is expected


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_an_absent_flag_is_the_default(raw):
    assert checks.flag(raw, "commit") is False
    assert checks.flag(raw, "commit", default=True) is True


@pytest.mark.parametrize("raw", ["y", "on", "ture", "2", "-1", "true!"])
def test_any_other_flag_is_refused_naming_the_parameter(raw):
    err = refused(checks.flag, raw, "confirm_outside")
    assert (err.name, err.reason) == ("confirm_outside", f"{raw!r} is not true or false (use true/false, 1/0 or yes/no)")


def test_boolean_takes_only_json_true_or_false():
    assert checks.boolean(False, "verified") is False
    for value in (1, "true", None):
        err = refused(checks.boolean, value, "verified")
        assert (err.name, err.reason) == ("verified", f"{value!r} is not true or false")


# --------------------------------------------------------------------------- dates

def test_day_reads_yyyy_mm_dd():
    assert checks.day("2026-06-21", "date") == date(2026, 6, 21)
    assert checks.day(" 2026-06-21 ", "since") == date(2026, 6, 21)


@pytest.mark.parametrize("raw, words", [
    ("20260621", "YYYY-MM-DD"), ("2026-W25-7", "YYYY-MM-DD"), ("yesterday", "YYYY-MM-DD"),
    ("2026-02-30", "not a real calendar date"),
])
def test_day_refuses_other_forms(raw, words):
    err = refused(checks.day, raw, "since")
    assert err.name == "since" and words in err.reason, err.reason
