"""Text a user sends that no database or file format can hold, refused with the field's name.

NUL cannot be stored by PostgreSQL, a lone surrogate cannot be encoded as UTF-8, and the other C0 control
characters are not allowed in XML 1.0 (so a KML or GPX export would break).  Tab and line breaks are fine.
Everything else (RTL marks, zero-width joiners, emoji, HTML) is kept as text and escaped where it is shown.
"""
from __future__ import annotations

import re

from .errors import InvalidParameter

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# The largest id a database integer column holds (PostgreSQL's INTEGER); larger numbers name nothing.
MAX_ID = 2**31 - 1


def unstorable_reason(value: str) -> str | None:
    """Why a text cannot be stored, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return f"contains {kind} (U+{ord(char):04X}) at position {found.start()}, which cannot be stored"


def check_text(name: str, value: str) -> str:
    reason = unstorable_reason(value)
    if reason:
        raise InvalidParameter(name, reason, "unstorable")
    return value


def is_id(value: object) -> bool:
    """A whole number that can be a row id (not a bool, not beyond the database's integer)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID
