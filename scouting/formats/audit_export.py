"""The audit log as files: CSV (safe to open in a spreadsheet) and JSON Lines."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from ..audit import event_json
from .export import _csv_cell

# text/csv without a charset: Response(mimetype=...) adds "; charset=utf-8" to text/* itself.
AUDIT_FORMATS = {"csv": ("text/csv", "csv"), "jsonl": ("application/jsonl; charset=utf-8", "jsonl")}
COLUMNS = ("id", "at", "actor", "actor_id", "credential", "channel", "action", "object_type", "object_id", "summary",
           "remote_addr", "user_agent")


def audit_csv(events: Iterable[Any], batch: int = 500) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode()

    # The BOM makes Excel read UTF-8; every text cell goes through the export's formula neutraliser.
    writer.writerow(COLUMNS)
    yield "\ufeff".encode() + flush()
    for i, event in enumerate(events, start=1):
        body = event_json(event)
        writer.writerow([_csv_cell(body[c]) for c in COLUMNS])
        if i % batch == 0:
            yield flush()
    yield flush()


def audit_jsonl(events: Iterable[Any], batch: int = 500) -> Iterator[bytes]:
    lines: list[bytes] = []
    for event in events:
        lines.append(orjson.dumps(event_json(event)))
        if len(lines) == batch:
            yield b"\n".join(lines) + b"\n"
            lines.clear()
    if lines:
        yield b"\n".join(lines) + b"\n"


def audit_export(events: Iterable[Any], fmt: str) -> Iterator[bytes]:
    """Events (AuditEvent objects or rows with the same attributes) as the chunks of a CSV or JSON Lines file."""
    return audit_csv(events) if fmt == "csv" else audit_jsonl(events)
