"""The status of a fact on a site: each facility is `reported` (with its source), `verified_present` or
`verified_absent` (with who, when and how), or absent (no entry at all).

One place for the rule and for the wording people read ("停车场（据报道，待核实）" / "Parking (reported,
unverified)"): the API serves these labels, the map, the pack pages and every export show them.
"""
from __future__ import annotations

import functools
import json
from datetime import date
from typing import Any

from . import vocab
from .errors import InvalidGeodata
from .plain_text import unstorable_reason

REPORTED, PRESENT, ABSENT = "reported", "verified_present", "verified_absent"
STATUSES = (REPORTED, PRESENT, ABSENT)
# Statuses that say the facility is there (match a facility filter, show as available).
HAS_IT = (REPORTED, PRESENT)

VERIFY_METHODS = vocab._terms(
    ("visit", "实地", "site visit"),
    ("photo", "照片", "photo"),
    ("call", "电话", "phone call"),
    ("document", "文件", "document"),
)
STATUS_LABELS = vocab._terms(
    (REPORTED, "据报道，待核实", "reported, unverified"),
    (PRESENT, "已核实", "verified"),
    (ABSENT, "已核实没有", "verified absent"),
)
FIELDS = ("facility", "status", "source", "verified_by", "verified_at", "verified_how")
SOURCE_LIMIT, BY_LIMIT = 2000, 64


class FactError(InvalidGeodata):
    def __init__(self, field: str, reason: str, key: str = "invalid", **params: Any):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.key = key  # a sentence of checks.SENTENCES; `facility` in params is a term, shown by its label
        self.params = params


def clean_facilities(value: Any, default_source: str | None, field: str = "facilities") -> list[dict[str, Any]]:
    """A site's facilities as entries in vocabulary order; each item is a term (= reported, with
    `default_source`, the record's facts_source) or an object with `facility` and `status`."""
    if value is None:
        return []
    if isinstance(value, list) and len(value) <= TERM_LIST_CACHE_MAX and all(isinstance(v, str) for v in value):
        return [dict(entry) for entry in _term_facilities(tuple(value), default_source, field)]
    return _clean_facilities(value, default_source, field)


def clean_facility_column(values: list[Any], default_sources: list[str | None],
                          field: str = "facilities") -> list[list[dict[str, Any]] | FactError]:
    """`clean_facilities` for a column of records (each with its record's facts_source): each record's entries, or
    the FactError it raises.  A plain term list that the column repeats with the same source is cleaned once."""
    known: dict[tuple, tuple[dict[str, Any], ...]] = {}  # (terms, source) -> entries, for lists of text only
    same: dict[tuple[int, str | None], tuple[dict[str, Any], ...]] = {}  # by the list's identity (map_columns
    out: list[list[dict[str, Any]] | FactError] = []                     # gives rows one list object to share)
    for value, source in zip(values, default_sources, strict=True):
        entries = same.get((id(value), source))
        if entries is not None:
            out.append([entry.copy() for entry in entries])
            continue
        if type(value) is list:
            key = (*value, source)
            try:
                entries = known[key]
            except KeyError:
                if len(value) <= TERM_LIST_CACHE_MAX and all(type(v) is str for v in value):
                    try:
                        entries = known[key] = _term_facilities(tuple(value), source, field)
                    except FactError as err:
                        out.append(err)
                        continue
            except TypeError:  # an item that cannot be a key (an object with a status): the general rule
                pass
            if entries is not None:
                same[id(value), source] = entries
                out.append([entry.copy() for entry in entries])
                continue
        try:
            out.append(clean_facilities(value, source, field))
        except FactError as err:
            out.append(err)
    return out


TERM_LIST_CACHE_MAX = 16


@functools.lru_cache(maxsize=4096)
def _term_facilities(terms: tuple[str, ...], default_source: str | None, field: str) -> tuple[dict[str, Any], ...]:
    """A plain list of terms, cleaned once per distinct list and source (an import repeats a few hundred); the
    callers get copies.  Errors are not cached: each bad row gets its own message."""
    return tuple(_clean_facilities(list(terms), default_source, field))


def _clean_facilities(value: Any, default_source: str | None, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise FactError(field, "must be a list of facility terms or {facility, status, ...} objects")
    entries: dict[str, dict[str, Any]] = {}
    for item in value:
        entry = _entry(item, default_source, field)
        if entry["facility"] in entries and entries[entry["facility"]] != entry:
            raise FactError(field, f"{entry['facility']!r} is given twice with different statuses")
        entries[entry["facility"]] = entry
    order = list(vocab.FACILITIES)
    return sorted(entries.values(), key=lambda e: order.index(e["facility"]))


def _entry(item: Any, default_source: str | None, field: str) -> dict[str, Any]:
    if isinstance(item, str):
        item = {"facility": item}
    if not isinstance(item, dict):
        raise FactError(field, "each item must be a facility term or an object with facility and status")
    item = {k: v for k, v in item.items() if not k.startswith("label_")}  # served labels echoed back
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise FactError(field, f"unknown key {unknown[0]!r} in a facility; valid keys are {', '.join(FIELDS)}")
    term = item.get("facility")
    if term not in vocab.FACILITIES:
        raise FactError(field, f"unknown term {term!r}; valid terms are {', '.join(vocab.FACILITIES)}")
    status = item.get("status") or REPORTED
    if status not in STATUSES:
        raise FactError(field, f"{term}: status {status!r} is not one of {', '.join(STATUSES)}")
    entry = {"facility": term, "status": status, "source": None, "verified_by": None, "verified_at": None,
             "verified_how": None}
    if status == REPORTED:
        for key in ("verified_by", "verified_at", "verified_how"):
            if item.get(key) not in (None, ""):
                raise FactError(field, f"{term}: {key} is only for a verified status")
        entry["source"] = _text(item.get("source"), SOURCE_LIMIT, f"{term}: source", field, term) or default_source
        return entry
    entry["source"] = _text(item.get("source"), SOURCE_LIMIT, f"{term}: source", field, term)
    entry["verified_by"] = _text(item.get("verified_by"), BY_LIMIT, f"{term}: verified_by", field, term)
    if not entry["verified_by"]:
        raise FactError(field, f"{term}: verified_by is required for a verified status (who checked it)",
                        "fact_needs_by", facility=term)
    how = item.get("verified_how")
    if how not in VERIFY_METHODS:
        raise FactError(field, f"{term}: verified_how {how!r} is not one of {', '.join(VERIFY_METHODS)}")
    entry["verified_how"] = how
    entry["verified_at"] = _date(item.get("verified_at"), term, field)
    return entry


def _text(value: Any, limit: int, name: str, field: str, term: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FactError(field, f"{name} must be text")
    problem = unstorable_reason(value)
    if problem:
        raise FactError(field, f"{name}: {problem}", "fact_unstorable", facility=term)
    value = value.strip()
    if len(value) > limit:
        raise FactError(field, f"{name} is {len(value)} characters long; at most {limit} are allowed",
                        "fact_too_long", facility=term, length=len(value), limit=limit)
    return value or None


def _date(value: Any, term: str, field: str) -> str:
    if isinstance(value, date):
        value = value.isoformat()
    if not isinstance(value, str) or not value.strip():
        raise FactError(field, f"{term}: verified_at is required for a verified status (the date, YYYY-MM-DD)",
                        "fact_needs_date", facility=term)
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise FactError(field, f"{term}: verified_at {value!r} is not a date (YYYY-MM-DD)", "fact_bad_date",
                        facility=term, value=value[:40]) from None
    if day > date.today():
        raise FactError(field, f"{term}: verified_at {day.isoformat()} is in the future", "fact_future_date",
                        facility=term, value=day.isoformat())
    return day.isoformat()


def keep_known(value: Any, stored: list[dict[str, Any]]) -> Any:
    """An update's facilities: a plain term for a facility already stored as present keeps what is known of it
    (a verification is not undone by re-sending the term); objects and new terms are taken as given."""
    if not isinstance(value, list):
        return value
    known = {e["facility"]: e for e in stored if e["status"] in HAS_IT}
    return [known.get(item, item) if isinstance(item, str) else item for item in value]


def change_summary(before: Any, after: Any) -> str | None:
    """The facilities whose status changed, for the audit log: "parking reported→verified_present, toilets +reported,
    boats −verified_absent" (older records may hold plain terms: those were reported)."""
    def statuses(entries: Any) -> dict[str, str]:
        return {(e if isinstance(e, str) else e.get("facility")): (REPORTED if isinstance(e, str) else e.get("status"))
                for e in entries or []}

    old, new = statuses(before), statuses(after)
    parts = []
    for term in vocab.FACILITIES:
        if old.get(term) == new.get(term):
            continue
        if term not in old:
            parts.append(f"{term} +{new[term]}")
        elif term not in new:
            parts.append(f"{term} −{old[term]}")
        else:
            parts.append(f"{term} {old[term]}→{new[term]}")
    return ", ".join(parts) or None


def present(entries: list[dict[str, Any]]) -> list[str]:
    """The facilities a site has (reported or verified present), never one verified absent."""
    return [e["facility"] for e in entries if e["status"] in HAS_IT]


# --------------------------------------------------------------------------- wording

def status_note(entry: dict[str, Any], lang: str) -> str:
    """What is known of it, e.g. "据报道，待核实" or "已核实（2026-11-02 实地）"."""
    label = getattr(STATUS_LABELS[entry["status"]], lang)
    if entry["status"] == REPORTED:
        return label
    how = VERIFY_METHODS.get(entry.get("verified_how") or "")
    detail = " ".join(filter(None, (entry.get("verified_at"), getattr(how, lang) if how else None)))
    if not detail:
        return label
    return f"{label}（{detail}）" if lang == "zh" else f"{label} ({detail})"


def label(entry: dict[str, Any], lang: str) -> str:
    """The facility with its status, in one language with its punctuation."""
    return _label(entry["facility"], entry["status"], entry.get("verified_at"), entry.get("verified_how"), lang)


@functools.lru_cache(maxsize=4096)
def _label(facility: str, status: str, verified_at: str | None, verified_how: str | None, lang: str) -> str:
    """label() of the fields it reads: a page or an export repeats the same few combinations many times."""
    entry = {"facility": facility, "status": status, "verified_at": verified_at, "verified_how": verified_how}
    name = getattr(vocab.FACILITIES[facility], lang)
    note = status_note(entry, lang)
    if lang == "zh":
        if entry["status"] == REPORTED:
            return f"{name}（{note}）"
        return f"{name}（{note.replace('（', '，', 1).rstrip('）')}）"
    if entry["status"] == REPORTED:
        return f"{name} ({note})"
    return f"{name} ({note.replace(' (', ', ', 1).rstrip(')')})"


def served(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries as the API serves them: the stored fields plus the labels people read."""
    return [{**e, "label_zh": label(e, "zh"), "label_en": label(e, "en")} for e in entries]


def labels_text(entries: list[dict[str, Any]], lang: str) -> str:
    return ("、" if lang == "zh" else "; ").join(label(e, lang) for e in entries)


def stored_text(value: Any, lang: str) -> str:
    """A revision's `facilities` (entries, or plain terms in records older than statuses) as labels."""
    entries = [{"facility": e, "status": REPORTED} if isinstance(e, str) else e for e in value or []
               if (e if isinstance(e, str) else e.get("facility")) in vocab.FACILITIES]
    return labels_text(entries, lang)


def as_cell(entries: list[dict[str, Any]]) -> str | None:
    """Entries for one text column (CSV, GeoPackage, KML data): compact JSON, read back by the importer."""
    if not entries:
        return None
    return json.dumps([{k: v for k, v in e.items() if v is not None} for e in entries], ensure_ascii=False,
                      separators=(",", ":"))


def from_cell(value: Any) -> Any:
    """A column written by `as_cell` (or already a list) back to a list; other text is left for the checks."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


# A point placed by township seat or estimate is not on the site: its stored elevation is the site's, not the point's.
ESTIMATED_POSITIONS = ("township_seat", "estimate")


def elevation_text(elevation_m: float | None, position_method: str | None, lang: str) -> str | None:
    """e.g. "320 米" / "320 m", or at an estimated point "约 320 米（场地海拔，非此点）" / "about 320 m (the site's
    elevation, not this point's)"."""
    if elevation_m is None:
        return None
    metres = f"{elevation_m:.0f}"
    if position_method not in ESTIMATED_POSITIONS:
        return f"{metres} 米" if lang == "zh" else f"{metres} m"
    if lang == "zh":
        return f"约 {metres} 米（场地海拔，非此点）"
    return f"about {metres} m (the site's elevation, not this point's)"


def as_json() -> dict:
    """The statuses and ways of checking, with their labels (added to GET /api/vocabulary)."""
    def listing(terms: dict[str, vocab.Term]) -> list[dict]:
        return [{"slug": t.slug, "zh": t.zh, "en": t.en} for t in terms.values()]

    return {"facility_statuses": listing(STATUS_LABELS), "verification_methods": listing(VERIFY_METHODS)}
