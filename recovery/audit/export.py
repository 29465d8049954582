"""Export events with their incident's fields and hashes, as JSONL or CSV, streamed.

One line per event, in (incident_id, seq) order. `data` is the event's data exactly as
stored (the canonical JSON text the hash covers), so every line verifies on its own:

    hash == sha256( JSON[prev_hash, incident_id, seq, type, schema_version, playbook_id,
                         playbook_version, actor, actor_role, channel, recorded_at]
                    + "\\n" + data )

(the JSON array compact, as `recovery.domain.chain` encodes it), and `prev_hash` of each
line is the `hash` of the line before it in the same incident. Filters: the incident's
site (property) and playbook, and the period in which the events were recorded
(`since` inclusive, `until` exclusive); a period filter exports a slice of each chain,
whose first line links to an event outside the slice.

Rows are streamed from the database (`AuditRows.export_rows`) and written in small
batches: memory stays flat however many events are exported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

import orjson

from recovery.audit.ports import EXPORT_FIELDS, AuditRows, ExportFilter

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")

FIELDS = EXPORT_FIELDS
"""The fields of a line, in order (the CSV header)."""
_AT = FIELDS.index("recorded_at")
_FLUSH_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExportSummary:
    events: int
    incidents: int

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "incidents": self.incidents}


def export_events(
    rows: AuditRows,
    out: BinaryIO,
    fmt: Format = "jsonl",
    where: ExportFilter | None = None,
    *,
    batch: int | None = None,
) -> ExportSummary:
    """Write every matching event to `out` (bytes) as JSONL or CSV; return the counts.
    `batch`: rows per round trip (None: the adapter's default)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    write = _JsonLines(out) if fmt == "jsonl" else _Csv(out)
    iso_text = rows.iso_text
    events = incidents = 0
    current = None
    for row in rows.export_rows(where or ExportFilter(), batch):
        values = list(row)
        values[_AT] = iso_text(values[_AT])
        write.row(values)
        events += 1
        if values[0] != current:
            current = values[0]
            incidents += 1
    write.close()
    return ExportSummary(events, incidents)


class _JsonLines:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._pending: list[bytes] = []
        self._size = 0

    def row(self, values: Sequence[Any]) -> None:
        line = orjson.dumps(dict(zip(FIELDS, values, strict=True)))
        self._pending.append(line)
        self._size += len(line)
        if self._size >= _FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._out.write(b"\n".join(self._pending) + b"\n")
            self._pending.clear()
            self._size = 0

    def close(self) -> None:
        self._flush()
        self._out.flush()


class _Csv:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self._writer.writerow(FIELDS)

    def row(self, values: Sequence[Any]) -> None:
        self._writer.writerow(values)
        if self._buffer.tell() >= _FLUSH_BYTES:
            self._flush()

    def _flush(self) -> None:
        self._out.write(self._buffer.getvalue().encode())
        self._buffer.seek(0)
        self._buffer.truncate()

    def close(self) -> None:
        self._flush()
        self._out.flush()
