"""Typed core errors.  Core code raises these; one handler in scouting.web maps them to HTTP."""
from __future__ import annotations

from typing import Any


class ScoutingError(Exception):
    """Base class: every error a user may see.  `status` is the HTTP status it maps to."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class InvalidParameter(ScoutingError):
    """A request parameter (query string, form or JSON field) is wrong; `name` says which."""

    status = 400
    title = "Invalid parameter"

    def __init__(self, name: str, reason: str, key: str | None = None, **params: Any):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
        # For people: `key` picks a sentence of checks.SENTENCES, `params` fill it (a form adds the field's label).
        self.key = key
        self.params = params


class InvalidParameters(InvalidParameter):
    """Several parameters are wrong at once (a whole record checked): `problems` lists each; the first gives
    `name`/`reason` so that a caller reading one still reads the first."""

    def __init__(self, problems: list[InvalidParameter]):
        first = problems[0]
        super().__init__(first.name, first.reason, first.key, **first.params)
        self.problems = problems
        self.detail = "; ".join(p.detail for p in problems)
        self.args = (self.detail,)


class NotFound(ScoutingError):
    status = 404
    title = "Not found"


class InvalidGeodata(ScoutingError):
    """A record in a geodata file breaks the data model; nothing from that file is written."""

    status = 422
    title = "Invalid geodata"


class GeodataRefused(ScoutingError):
    """The seed geodata would land beside synthetic sites; nothing is written."""

    status = 409
    title = "Geodata refused"


class DatabaseUnavailable(ScoutingError):
    """The database (or its spatial extension) cannot be used.  The message is one readable sentence."""

    status = 503
    title = "Database unavailable"


class Gone(ScoutingError):
    """The thing existed but is no more (an expired pack)."""

    status = 410
    title = "Gone"


class Forbidden(ScoutingError):
    status = 403
    title = "Forbidden"


class PreconditionFailed(ScoutingError):
    """A stale edit: the If-Match version is not the current one.  What is stored now comes as `current` (a body
    ready to serve) or as `site` (the stored site, a search.SiteHit, which the web layer renders as a Feature)."""

    status = 412
    title = "Precondition failed"

    def __init__(self, detail: str, current: dict | None = None, site: Any = None):
        super().__init__(detail)
        self.current = current
        self.site = site


class PreconditionRequired(ScoutingError):
    status = 428
    title = "Precondition required"


class UnsupportedMediaType(ScoutingError):
    status = 415
    title = "Unsupported media type"
