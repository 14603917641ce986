"""Input checks shared by every way in: query strings, the site forms, the JSON API and imports.

One function per rule and one wording per rule, so the map's filters, a form and an import row say the same thing
about the same mistake.  Each check raises InvalidParameter naming the parameter (problem+json keeps that name);
callers that report per field of a record (`sites.RecordError`) turn it into theirs with `err.name`/`err.reason`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from . import geo
from .errors import InvalidParameter

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
SWAP_HINT = " (longitude and latitude look swapped: longitude comes first)"


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
            raise InvalidParameter(name, f"{value!r} is not a number") from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameter(name, f"{value!r} is not a number")
    if isinstance(value, int):  # a huge int has no float: check its range before converting
        in_range(value, name, low, high)
        return float(value)
    if not math.isfinite(value):
        raise InvalidParameter(name, "must be a finite number (not NaN or Infinity)")
    in_range(value, name, low, high)
    return value


def whole_number(value: Any, name: str, low: int, high: int) -> int:
    """A whole number within [low, high] ("10", not "10.0" or "1e1")."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise InvalidParameter(name, f"{value!r} is not a whole number") from None
    elif isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameter(name, f"{value!r} is not a whole number")
    in_range(value, name, low, high)
    return value


def in_range(value: float, name: str, low: float | None, high: float | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidParameter(name, f"{shown_number(value)} is out of range {_bound(low)}..{_bound(high)}")


def _bound(value: float | None) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:g}"


def lon_lat(lon: Any, lat: Any, name: str, lat_name: str | None = None) -> tuple[float, float]:
    """A WGS-84 position: two finite numbers in range; a latitude out of range that would fit as a longitude (and
    the other way round) gets the hint that the two look swapped.  Errors name `name`, or `lat_name` for the
    latitude's where a form has two fields."""
    lat_name = lat_name or name
    lon_value, lat_value = _coordinate(lon, name, "longitude"), _coordinate(lat, lat_name, "latitude")
    if not -90 <= lat_value <= 90:
        hint = SWAP_HINT if -90 <= lon_value <= 90 and -180 <= lat_value <= 180 else ""
        raise InvalidParameter(lat_name, f"latitude {shown_number(lat_value)} is out of range -90..90{hint}")
    if not -180 <= lon_value <= 180:
        raise InvalidParameter(name, f"longitude {shown_number(lon_value)} is out of range -180..180")
    return float(lon_value), float(lat_value)


def _coordinate(value: Any, name: str, label: str) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidParameter(name, f"{label} {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParameter(name, f"{label} {value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidParameter(name, f"{label} must be a finite number (not NaN or Infinity)")
    return value


def terms(values: Iterable[str], name: str, vocabulary: Mapping[str, Any]) -> list[str]:
    """Vocabulary terms, each known, without repeats, in the vocabulary's order."""
    values = list(values)
    unknown = list(dict.fromkeys(v for v in values if v not in vocabulary))
    if unknown:
        listed = ", ".join(repr(v) for v in unknown)
        raise InvalidParameter(name, f"unknown term {listed}; valid terms are {', '.join(vocabulary)}")
    order = list(vocabulary)
    return sorted(set(values), key=order.index)


def one_of(value: Any, name: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise InvalidParameter(name, f"{value!r} is not one of {', '.join(choices)}")
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
