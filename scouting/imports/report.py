"""What an import found, row by row: the JSON the API answers, the table the CLI prints, the page's rows.

One row's detail ("same name as site 3 …, 12 m away", "changes genres, name_en") is worded here once and
used by all three.  Widths are measured in terminal columns: Chinese names take two each.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from ..models import Site

ACTIONS = ("create", "update", "unchanged", "duplicate", "invalid")
# What a planner must look at before (or after) a commit: every other row is a plain create or changes nothing.
NEEDS_ATTENTION = ("update", "duplicate", "invalid")
# Up to this many rows the CLI lists every row (a page or two to read); past it only those that need attention.
TABLE_EVERY_ROW_UP_TO = 100


@dataclass
class RowResult:
    row: int
    action: str = "invalid"
    line: int | None = None
    layer: str | None = None
    slug: str | None = None
    name_zh: str | None = None
    name_en: str | None = None
    lon: float | None = None
    lat: float | None = None
    site_id: int | None = None
    changes: list[str] | None = None
    duplicate_of: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    record: dict[str, Any] | None = None  # the cleaned record to write (create/update)
    before: dict[str, Any] | None = None  # update: the stored record
    site: Site | None = None              # update: the stored site, loaded in the import's session

    def as_json(self) -> dict[str, Any]:
        out = {"row": self.row, "action": self.action, "line": self.line, "layer": self.layer, "slug": self.slug,
               "name_zh": self.name_zh, "name_en": self.name_en, "lon": self.lon, "lat": self.lat,
               "site_id": self.site_id, "changes": self.changes, "duplicate_of": self.duplicate_of, "error": self.error}
        return {k: v for k, v in out.items() if v is not None}


@dataclass
class ImportReport:
    file: str
    format: str
    datum: str
    dry_run: bool
    rows: list[RowResult]
    defaults: dict[str, Any]
    ignored_fields: list[str]
    layers: list[str]
    committed: bool = False
    message: str = ""

    @property
    def totals(self) -> dict[str, int]:
        counts = {action: 0 for action in ACTIONS}
        for row in self.rows:
            counts[row.action] += 1
        written = counts["create"] + counts["update"] if self.committed else 0
        return {"rows": len(self.rows), **counts, "written": written}

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "format": self.format, "datum": self.datum, "dry_run": self.dry_run,
                "committed": self.committed, "message": self.message, "totals": self.totals,
                "defaults": self.defaults, "ignored_fields": self.ignored_fields, "layers": self.layers,
                "rows": [row.as_json() for row in self.rows]}

    def table(self, every_row: bool | None = None) -> str:
        """The report as a plain-text table (the CLI prints it): every row for a small file or when asked, else the
        rows that need attention (a 100,000-row file's creates would bury its few duplicates and errors), with
        the totals either way."""
        if every_row is None:
            every_row = len(self.rows) <= TABLE_EVERY_ROW_UP_TO
        shown = self.rows if every_row else [r for r in self.rows if r.action in NEEDS_ATTENTION]
        header = ("row", "action", "slug", "name", "lon", "lat", "detail")
        lines = [header]
        for r in shown:
            names = " / ".join(dict.fromkeys(n for n in (r.name_zh, r.name_en) if n))
            lines.append((str(r.line or r.row), r.action, r.slug or "", _clip(names, 36),
                          "" if r.lon is None else f"{r.lon:.6f}", "" if r.lat is None else f"{r.lat:.6f}",
                          row_detail(r)))
        widths = [max(_width(line[i]) for line in lines) for i in range(len(header) - 1)]
        text = ["  ".join([*(_pad(cell, w) for cell, w in zip(line[:-1], widths, strict=True)), line[-1]]).rstrip()
                for line in lines]
        t = self.totals
        if len(shown) < len(self.rows):
            text.append(f"({len(shown)} of {t['rows']} rows listed: those to update, duplicates and invalid ones; "
                        "--verbose lists every row)")
        text.append("")
        text.append(f"{t['rows']} rows: {t['create']} create, {t['update']} update, {t['unchanged']} unchanged, "
                    f"{t['duplicate']} duplicate, {t['invalid']} invalid")
        if self.ignored_fields:
            text.append("ignored fields: " + ", ".join(self.ignored_fields))
        text.append(self.message)
        return "\n".join(text)


def row_detail(r: RowResult) -> str:
    if r.error:
        return f"{r.error['name']}: {r.error['reason']}"
    if r.duplicate_of:
        d = r.duplicate_of
        what = f"row {d['row']}" if "row" in d else f"site {d['id']} {d['slug']}"
        return f"same name as {what}, {d['distance_m']:.0f} m away"
    if r.changes:
        return "changes " + ", ".join(r.changes)
    return ""


class _CharWidths(dict):
    """Terminal columns per character, looked up once per distinct character: a report of 100k rows measures
    every name, and a dict lookup from `map` costs far less than a call per character."""

    def __missing__(self, c: str) -> int:
        width = self[c] = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        return width


_CHAR_WIDTHS = _CharWidths()


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return len(text) if text.isascii() else sum(map(_CHAR_WIDTHS.__getitem__, text))


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _clip(text: str, width: int) -> str:
    """At most `width` columns, ending in … when cut (measured once: a large import has a row per site)."""
    if _width(text) <= width:
        return text
    kept, used = [], 1  # the ellipsis takes one column
    for c in text:
        used += _CHAR_WIDTHS[c]
        if used > width:
            break
        kept.append(c)
    return "".join(kept) + "…"


def page_rows(report: ImportReport) -> list[dict[str, Any]]:
    """The rows as the import page lists them: row (or CSV line), status, names, and the field and why."""
    out = []
    for r in report.rows:
        names = " / ".join(dict.fromkeys(n for n in (r.name_zh, r.name_en) if n))
        field, reason = "", ""
        if r.error:
            field, reason = r.error.get("name", ""), r.error.get("reason", "")
        elif r.duplicate_of or r.changes:
            reason = row_detail(r)
        out.append({"row": r.line or r.row, "status": r.action, "name": names, "field": field, "reason": reason})
    return out
