"""The Chinese message catalogue, read with babel's own reader: every entry translated (not empty, not fuzzy, not
the English left as it is) and every placeholder kept, so a Chinese page never falls back to English."""
from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from .helpers import ROOT

PO = ROOT / "scouting/translations/zh/LC_MESSAGES/messages.po"
POT = ROOT / "scouting/translations/messages.pot"
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w+)\}")
# Written the same in Chinese: names of formats, standards and brands.
SAME_IN_BOTH = {"OGC API", "GeoJSON", "KML", "GPX", "CSV", "GeoPackage", "JSON", "OpenAPI", "WGS-84", "GCJ-02", "QR"}


def entries(path):
    with open(path, "rb") as f:
        return [m for m in read_po(f) if m.id]


def as_pairs(message) -> list[tuple[str, str]]:
    """(msgid, msgstr) of a message; each plural form against the plural msgid."""
    if isinstance(message.id, tuple):
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        return [(message.id[min(i, 1)], s) for i, s in enumerate(strings)]
    return [(message.id, message.string)]


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


@pytest.fixture(scope="module")
def catalogue():
    return entries(PO)


def test_the_catalogue_has_every_template_entry(catalogue):
    missing = {m.id for m in entries(POT)} - {m.id for m in catalogue}
    assert not missing, f"ids in messages.pot without an entry in the zh catalogue: {sorted(missing)}"


def test_no_entry_is_empty(catalogue):
    empty = [msgid for m in catalogue for msgid, msgstr in as_pairs(m) if not msgstr.strip()]
    assert not empty, f"empty zh translations: {empty}"


def test_no_entry_is_fuzzy(catalogue):
    fuzzy = [m.id for m in catalogue if m.fuzzy]
    assert not fuzzy, f"fuzzy zh entries (shown in English until reviewed): {fuzzy}"


def test_no_entry_is_left_in_english(catalogue):
    same = [msgid for m in catalogue for msgid, msgstr in as_pairs(m)
            if msgstr == msgid and LATIN_WORD.search(msgid) and msgid not in SAME_IN_BOTH]
    assert not same, f"zh entries that are the English msgid unchanged: {same}"


def test_every_placeholder_is_kept(catalogue):
    changed = [(msgid, msgstr) for m in catalogue for msgid, msgstr in as_pairs(m)
               if msgstr and placeholders(msgid) != placeholders(msgstr)]
    assert not changed, f"placeholders lost or renamed in translation: {changed}"


def test_the_checks_catch_what_they_look_for():
    """Each check can fail: an English msgstr, a lost placeholder."""
    assert LATIN_WORD.search("Sign in") and not LATIN_WORD.search("登录")
    assert placeholders("%(n)s sites match {x}") == {"n", "x"} != placeholders("{n} 个外景地")
