"""The audit log as files: CSV (safe to open in a spreadsheet) and JSON Lines."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

import orjson

from ..audit import event_json
from ..models import AuditEvent
from .export import _csv_cell

AUDIT_FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"), "jsonl": ("application/jsonl; charset=utf-8", "jsonl")}
COLUMNS = ("id", "at", "actor", "actor_id", "credential", "channel", "action", "object_type", "object_id", "summary",
           "remote_addr", "user_agent")


def audit_csv(events: Iterable[AuditEvent]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row) -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue().encode()

    # The BOM makes Excel read UTF-8; every text cell goes through the export's formula neutraliser.
    yield "\ufeff".encode() + line(COLUMNS)
    for event in events:
        body = event_json(event)
        yield line(_csv_cell(body[c]) for c in COLUMNS)


def audit_jsonl(events: Iterable[AuditEvent]) -> Iterator[bytes]:
    for event in events:
        yield orjson.dumps(event_json(event)) + b"\n"


def audit_export(events: Iterable[AuditEvent], fmt: str) -> Iterator[bytes]:
    return audit_csv(events) if fmt == "csv" else audit_jsonl(events)
