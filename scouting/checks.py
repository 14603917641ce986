"""Input checks shared by every way in: query strings, the site forms, the JSON API and imports.

One function per rule and one wording per rule, so the map's filters, a form and an import row say the same thing
about the same mistake.  Each check raises InvalidParameter naming the parameter (problem+json keeps that name
and the English `reason`); callers that report per field of a record (`sites.RecordError`) turn it into theirs with
`err.name`/`err.reason`.  For people, each error also carries a `key` of SENTENCES and its `params`: a form puts the
field's label (never its name) into that sentence, translated into the page's language.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from . import geo
from .errors import InvalidParameter, InvalidParameters

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
SWAP_HINT = " (longitude and latitude look swapped: longitude comes first)"


def N_(text: str) -> str:
    """Marks a sentence for the message catalogue; it is translated where it is shown (gettext with its params)."""
    return text


# The sentences people read, one per rule (%(label)s is the field's label; the catalogue holds the Chinese).
SENTENCES = {
    "required": N_("Fill in “%(label)s”."),
    "not_number": N_("“%(label)s” must be a number; “%(value)s” is not one."),
    "not_whole": N_("“%(label)s” must be a whole number; “%(value)s” is not one."),
    "not_finite": N_("“%(label)s” must be an ordinary number."),
    "out_of_range": N_("“%(label)s” must be between %(low)s and %(high)s; %(value)s is not."),
    "at_least": N_("“%(label)s” must be at least %(low)s; %(value)s is not."),
    "at_most": N_("“%(label)s” must be at most %(high)s; %(value)s is not."),
    "swapped": N_("“%(label)s” must be between -90 and 90; %(value)s is not. The longitude and latitude look "
                  "swapped: the longitude (east, about 120 in Wencheng) goes under “%(other)s”."),
    "choose": N_("Choose “%(label)s” from the list."),
    "choose_one": N_("Choose at least one “%(label)s”."),
    "too_long": N_("“%(label)s” is %(length)s characters long; at most %(limit)s are allowed."),
    "unstorable": N_("“%(label)s” contains an invisible control character that cannot be stored; remove it."),
    "slug_chars": N_("“%(label)s” may use only the letters a–z, digits and “-”."),
    "slug_needed": N_("Fill in “%(label)s”: the English name gives none (use the letters a–z, digits and “-”)."),
    "slug_taken": N_("“%(label)s” “%(value)s” is already used by another site; choose another."),
    "outside_county": N_("“%(label)s”: this point lies outside Wencheng County. If the site really is just outside, "
                         "tick “%(confirm)s” and save again."),
    "fact_needs_by": N_("“%(label)s”, %(facility)s: say who checked it."),
    "fact_needs_date": N_("“%(label)s”, %(facility)s: give the date it was checked."),
    "fact_bad_date": N_("“%(label)s”, %(facility)s: “%(value)s” is not a date."),
    "fact_future_date": N_("“%(label)s”, %(facility)s: the date checked, %(value)s, is in the future."),
    "fact_too_long": N_("“%(label)s”, %(facility)s: a note is %(length)s characters long; at most %(limit)s are "
                        "allowed."),
    "fact_unstorable": N_("“%(label)s”, %(facility)s: a note contains an invisible control character that cannot be "
                          "stored; remove it."),
    "position_needed": N_("Click the map where the place is, or fill in “%(label)s” and the latitude."),
    "invalid": N_("“%(label)s” is not valid; check it."),
    "form_expired": N_("The form's security check expired (the page was open a long time). Check the fields below "
                       "and save again."),
    "reload": N_("This page is out of date: reload it and edit again."),
}


def shown_number(value: float) -> str:
    """A number for a message; a 400-digit integer is shortened, not converted (it has no float)."""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= 24 else f"{text[:8]}…({len(text)} digits)"


def number(value: Any, name: str, low: float | None = None, high: float | None = None) -> float:
    """A finite number within [low, high]; text (a query string, a form field) is parsed first."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidParameter(name, f"{value!r} is not a number", "not_number", value=shown(value)) from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameter(name, f"{value!r} is not a number", "not_number", value=shown(value))
    if isinstance(value, int):  # a huge int has no float: check its range before converting
        in_range(value, name, low, high)
        return float(value)
    if not math.isfinite(value):
        raise InvalidParameter(name, "must be a finite number (not NaN or Infinity)", "not_finite")
    in_range(value, name, low, high)
    return value


def whole_number(value: Any, name: str, low: int, high: int) -> int:
    """A whole number within [low, high] ("10", not "10.0" or "1e1")."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise InvalidParameter(name, f"{value!r} is not a whole number", "not_whole", value=shown(value)) from None
    elif isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(name, f"{value!r} is not a whole number", "not_whole", value=shown(value))
    in_range(value, name, low, high)
    return value


def in_range(value: float, name: str, low: float | None, high: float | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        key = "out_of_range" if low is not None and high is not None else "at_least" if low is not None else "at_most"
        raise InvalidParameter(name, f"{shown_number(value)} is out of range {_bound(low)}..{_bound(high)}", key,
                               value=shown_number(value), low=_bound(low), high=_bound(high))


def shown(value: Any) -> str:
    """Any value a person typed or sent, short enough for a sentence."""
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _bound(value: float | None) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:g}"


def lon_lat(lon: Any, lat: Any, name: str, lat_name: str | None = None) -> tuple[float, float]:
    """A WGS-84 position: two finite numbers in range; a latitude out of range that would fit as a longitude (and
    the other way round) gets the hint that the two look swapped.  Errors name `name`, or `lat_name` for the
    latitude's where a form has two fields."""
    lat_name = lat_name or name
    problems = []  # where a form has two fields, both are checked and reported at once
    lon_value = lat_value = None
    try:
        lon_value = _coordinate(lon, name, "longitude")
    except InvalidParameter as err:
        problems.append(err)
    try:
        lat_value = _coordinate(lat, lat_name, "latitude")
    except InvalidParameter as err:
        problems.append(err)
    if lat_value is not None and not -90 <= lat_value <= 90:
        swapped = lon_value is not None and -90 <= lon_value <= 90 and -180 <= lat_value <= 180
        problems.append(InvalidParameter(
            lat_name, f"latitude {shown_number(lat_value)} is out of range -90..90{SWAP_HINT if swapped else ''}",
            "swapped" if swapped else "out_of_range", value=shown_number(lat_value), low="-90", high="90",
            other=name))
    if lon_value is not None and not -180 <= lon_value <= 180:
        problems.append(InvalidParameter(name, f"longitude {shown_number(lon_value)} is out of range -180..180",
                                         "out_of_range", value=shown_number(lon_value), low="-180", high="180"))
    if problems:
        raise problems[0] if len(problems) == 1 or name == lat_name else InvalidParameters(problems)
    return float(lon_value), float(lat_value)


def _coordinate(value: Any, name: str, label: str) -> float:
    if isinstance(value, str) and not value.strip():  # an empty form field
        raise InvalidParameter(name, f"{label} '' is not a number", "required")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidParameter(name, f"{label} {value!r} is not a number", "not_number", value=shown(value)) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameter(name, f"{label} {value!r} is not a number", "not_number", value=shown(value))
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidParameter(name, f"{label} must be a finite number (not NaN or Infinity)", "not_finite")
    return value


def terms(values: Iterable[str], name: str, vocabulary: Mapping[str, Any]) -> list[str]:
    """Vocabulary terms, each known, without repeats, in the vocabulary's order."""
    values = list(values)
    unknown = list(dict.fromkeys(v for v in values if v not in vocabulary))
    if unknown:
        listed = ", ".join(repr(v) for v in unknown)
        raise InvalidParameter(name, f"unknown term {listed}; valid terms are {', '.join(vocabulary)}", "choose")
    order = list(vocabulary)
    return sorted(set(values), key=order.index)


def one_of(value: Any, name: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise InvalidParameter(name, f"{value!r} is not one of {', '.join(choices)}", "choose")
    return value


def flag(raw: str | None, name: str, default: bool = False) -> bool:
    """A yes/no request parameter: true/false, 1/0 or yes/no (any case); absent or empty is the default.
    Anything else is refused rather than read as "no", so a typo cannot silently switch a safeguard off."""
    if raw is None or not raw.strip():
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidParameter(name, f"{raw!r} is not true or false (use true/false, 1/0 or yes/no)")


def boolean(value: Any, name: str) -> bool:
    """A JSON true/false."""
    if not isinstance(value, bool):
        raise InvalidParameter(name, f"{value!r} is not true or false")
    return value


def day(raw: str, name: str) -> date:
    """A calendar date written YYYY-MM-DD (strictly: not 20260621 or 2026-W25-7)."""
    try:
        return geo.parse_date(raw)
    except ValueError as err:
        raise InvalidParameter(name, str(err)) from None
