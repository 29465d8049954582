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

Rows are streamed from the database (a server-side cursor on PostgreSQL) and written in
small batches: memory stays flat however many events are exported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO, Literal

import orjson
from sqlalchemy import Engine

from recovery.audit import _rows
from recovery.storage.database import reading

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")

FIELDS = (
    "incident_id",
    "site",
    "incident_type",
    "incident_status",
    "seq",
    "type",
    "schema_version",
    "playbook_id",
    "playbook_version",
    "actor",
    "actor_role",
    "channel",
    "recorded_at",
    "prev_hash",
    "hash",
    "data",
)
_AT = FIELDS.index("recorded_at")
_FLUSH_BYTES = 64 * 1024


@dataclass(frozen=True)
class ExportFilter:
    incident_id: str | None = None
    site: str | None = None
    playbook: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class ExportSummary:
    events: int
    incidents: int

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "incidents": self.incidents}


def export_sql(dialect: str, where: ExportFilter) -> tuple[str, list[Any]]:
    pg = dialect == "postgresql"
    mark = "%s" if pg else "?"
    conditions: list[str] = []
    params: list[Any] = []
    if where.incident_id is not None:
        conditions.append(f"e.incident_id = {mark}")
        params.append(where.incident_id)
    if where.site is not None:
        conditions.append(f"i.site = {mark}")
        params.append(where.site)
    if where.playbook is not None:
        conditions.append(f"i.playbook_id = {mark}")
        params.append(where.playbook)
    for moment, op in ((where.since, ">="), (where.until, "<")):
        if moment is not None:
            conditions.append(f"e.recorded_at {op} {mark}")
            params.append(_moment_param(moment, pg))
    clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = (
        "SELECT e.incident_id, i.site, i.incident_type, i.status, e.seq, e.type, "
        "e.schema_version, e.playbook_id, e.playbook_version, e.actor, e.actor_role, "
        f"e.channel, {_rows.iso_column(dialect, 'e.recorded_at')}, e.prev_hash, e.hash, e.data "
        f"FROM events e JOIN incidents i ON i.id = e.incident_id{clause} "
        "ORDER BY e.incident_id, e.seq"
    )
    return sql, params


def _moment_param(moment: datetime, pg: bool) -> Any:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if pg:
        return aware
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLite's stored form


def export_events(
    engine: Engine,
    out: BinaryIO,
    fmt: Format = "jsonl",
    where: ExportFilter | None = None,
    *,
    batch: int = _rows.BATCH,
) -> ExportSummary:
    """Write every matching event to `out` (bytes) as JSONL or CSV; return the counts."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    sql, params = export_sql(engine.dialect.name, where or ExportFilter())
    write = _JsonLines(out) if fmt == "jsonl" else _Csv(out)
    events = incidents = 0
    current = None
    with reading(engine) as conn:
        for row in _rows.stream(conn, sql, params, batch):
            values = list(row)
            values[_AT] = _rows.iso_text(values[_AT])
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
