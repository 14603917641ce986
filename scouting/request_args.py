"""A request's search parameters as the query builder (scouting/search.py) reads them, one string each;
the web layer (api, ogc, packs) hands request.args through here.  No framework.

- A repeated list parameter is the union of its values: `facility=parking&facility=toilets` means
  `facility=parking,toilets`.  Any other parameter given twice with different values is an error: one
  point or area cannot be two.
- `area=polyline:<encoded>` (scouting/polyline.py) is the compact form of `area=lon,lat,...`, so a drawn
  area of the API's full 500 corners fits in a URL; it becomes the plain lon,lat list here.
"""
from __future__ import annotations

from typing import Protocol

from .errors import InvalidParameter
from .polyline import PolylineError, decode

POLYLINE_PREFIX = "polyline:"
LIST_PARAMETERS = ("genre", "terrain", "facility")  # the ones that take comma-separated terms


class MultiArgs(Protocol):
    """A request's arguments, each name with every value given (werkzeug's MultiDict is one)."""

    def __iter__(self): ...

    def getlist(self, name: str) -> list[str]: ...


def search_args(args: MultiArgs) -> dict[str, str]:
    out = {}
    for name in args:
        values = list(dict.fromkeys(v for v in args.getlist(name) if v != ""))  # in order, each once
        if len(values) > 1 and name not in LIST_PARAMETERS:
            raise InvalidParameter(name, "is given more than once with different values; give it once")
        out[name] = ",".join(values)
    if out.get("area", "").startswith(POLYLINE_PREFIX):
        out["area"] = _area_from_polyline(out["area"][len(POLYLINE_PREFIX):])
    return out


def _area_from_polyline(encoded: str) -> str:
    try:
        points = decode(encoded)
    except PolylineError as err:
        raise InvalidParameter("area", f"the encoded polyline is not valid: {err}") from None
    return ",".join(f"{lon!r},{lat!r}" for lat, lon in points)
