"""Streamed reads of the event log for audits: few queries, bounded memory, raw rows.

A whole-database audit reads every event once, ordered by (incident_id, seq), in ONE
statement that the database merges from two index scans: the incidents' state rows and
their events (`UNION ALL ... ORDER BY`). One statement means one consistent snapshot, and
the database's own ordering decides the grouping (no collation has to be mirrored in
Python). Rows are streamed: a server-side cursor on PostgreSQL, a lazy cursor on SQLite.

Timestamps come back in the one ISO text form the hashes cover: PostgreSQL formats them
in the query; SQLite stores SQLAlchemy's text form, which `iso_text` rewrites cheaply.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection

from recovery.errors import StorageError
from recovery.storage.database import first_line
from recovery.storage.moments import from_column

BATCH = 2000
"""Rows fetched per round trip (the server-side cursor's page on PostgreSQL)."""

# Column positions of a verification row (an event, or an incident's state row).
INCIDENT, KIND, SEQ, TYPE, SCHEMA, PLAYBOOK, PLAYBOOK_VERSION = 0, 1, 2, 3, 4, 5, 6
ACTOR, ROLE, CHANNEL, AT, DATA, PREV, HASH = 7, 8, 9, 10, 11, 12, 13
KIND_STATE, KIND_EVENT = 0, 1
"""KIND: 0 is the incident's state row (DATA: state JSON, SCHEMA: version, HASH: head
hash), 1 an event. Sorted by (incident_id, seq) the state row (seq 0) comes first. The state
JSON is text on PostgreSQL and bytes on SQLite."""

_PG_ISO = "to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def iso_column(dialect: str, column: str) -> str:
    """SQL for a timestamp column in the hashed ISO text form (or SQLite's stored text)."""
    if dialect == "postgresql":
        return _PG_ISO.format(col=column)
    return column


def iso_text(value: Any) -> str:
    """A timestamp as read by `iso_column`, in the ISO form the chain hashes.

    SQLite's stored form 'YYYY-MM-DD HH:MM:SS.ffffff' is rewritten without parsing (the
    same result as `from_column`, five times faster); anything else goes through it."""
    if type(value) is str:
        if len(value) == 26 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}Z"
        if len(value) == 27 and value[10] == "T" and value[26] == "Z":
            return value
    return from_column(value) or ""


def _in_list(dialect: str, column: str, ids: Sequence[str]) -> tuple[str, list[Any]]:
    if dialect == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join('?' * len(ids))})", list(ids)


IdRange = tuple[str | None, str | None]
"""Incident ids from the first (inclusive) to the second (exclusive); None: no bound."""


def _filters(
    dialect: str,
    column: str,
    incident_ids: Sequence[str] | None,
    id_range: IdRange | None = None,
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    values: list[Any] = []
    if incident_ids is not None:
        clause, values = _in_list(dialect, column, incident_ids)
        clauses.append(clause)
    mark = "%s" if dialect == "postgresql" else "?"
    low, high = id_range or (None, None)
    if low is not None:
        clauses.append(f"{column} >= {mark}")
        values.append(low)
    if high is not None:
        clauses.append(f"{column} < {mark}")
        values.append(high)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), values


def split_points(conn: Connection, parts: int) -> list[str]:
    """Incident ids that cut every incident, in id order, into `parts` ranges of about
    the same number of incidents (fewer if there are few incidents)."""
    count = int(scalar(conn, "SELECT count(*) FROM incidents", ()) or 0)
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = f"SELECT id FROM incidents ORDER BY id LIMIT 1 OFFSET {mark}"
    points = [scalar(conn, sql, (count * k // parts,)) for k in range(1, parts)]
    return sorted({str(p) for p in points if p is not None})


def verification_sql(
    dialect: str, incident_ids: Sequence[str] | None = None, id_range: IdRange | None = None
) -> tuple[str, list[Any]]:
    """One statement: every state row and event, ordered by (incident_id, seq).

    On PostgreSQL each column of the state rows has exactly the type of the events' column
    it stands under: only then is the UNION flattened, and merged in order from the events'
    primary key index as it streams (else the whole log is sorted before the first row)."""
    pg = dialect == "postgresql"
    varchar = "CAST(NULL AS VARCHAR)" if pg else "NULL"
    text = "CAST(NULL AS TEXT)" if pg else "NULL"
    # SQLite: the state's bytes as stored, compared with the replayed state's JSON bytes
    # without decoding a few kB of text per incident.
    state = "state" if pg else "CAST(state AS BLOB)"
    event_filter, event_params = _filters(dialect, "incident_id", incident_ids, id_range)
    state_filter, state_params = _filters(dialect, "id", incident_ids, id_range)
    sql = (
        f"SELECT incident_id, {KIND_EVENT}, seq, type, schema_version, playbook_id, "
        f"playbook_version, actor, actor_role, channel, {iso_column(dialect, 'recorded_at')}, "
        f"data, prev_hash, hash FROM events{event_filter} "
        f"UNION ALL SELECT id, {KIND_STATE}, 0, {varchar}, version, playbook_id, "
        f"playbook_version, {varchar}, {varchar}, {varchar}, {text}, {state}, {varchar}, "
        f"head_hash FROM incidents{state_filter} "
        "ORDER BY 1, 3"
    )
    return sql, [*event_params, *state_params]


def count_sql(dialect: str, incident_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    where, params = _filters(dialect, "incident_id", incident_ids)
    return f"SELECT count(*) FROM events{where}", params


def stream(
    conn: Connection, sql: str, params: Sequence[Any], batch: int = BATCH
) -> Iterator[Sequence[Any]]:
    """Rows of a driver-level statement, `batch` at a time, read ahead by a thread.

    The driver's cursor inside the SQLAlchemy connection: a server-side (named) cursor on
    PostgreSQL, whose memory stays flat (SQLAlchemy's `stream_results` does not reach
    driver-level SQL), and no per-row wrapping (a third of the cost of reading a row).
    On PostgreSQL a reader thread fetches the next batch while the caller works on this
    one (psycopg waits for the server without the GIL), keeping at most `_READ_AHEAD`
    batches. Not on SQLite: there the reading itself holds the GIL, and a second thread
    only adds switching (measured: 15% slower)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name=f"recovery_audit_{next(_CURSOR_IDS)}")
        cursor.itersize = batch
    else:
        cursor = driver.cursor()
        cursor.arraysize = batch
    errors = _driver_errors(conn)
    reader: _Reader | None = None
    try:
        cursor.execute(sql, tuple(params))
        if conn.dialect.name != "postgresql":
            while rows := cursor.fetchmany(batch):
                yield from rows
            return
        reader = _Reader(cursor, batch)
        for rows in reader:
            yield from rows
    except errors as exc:
        raise StorageError(f"database error: {first_line(exc)}") from exc
    finally:
        if reader is not None:
            reader.stop()
        cursor.close()


_READ_AHEAD = 2


class _Reader:
    """Batches of a cursor, fetched by a thread while the consumer works."""

    def __init__(self, cursor: Any, batch: int) -> None:
        self._cursor = cursor
        self._batch = batch
        self._queue: queue.Queue[list[Any] | BaseException] = queue.Queue(_READ_AHEAD)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._read, name="recovery-audit-read", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while not self._stopping.is_set():
                rows = self._cursor.fetchmany(self._batch)
                self._put(rows)
                if not rows:
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)

    def _put(self, item: list[Any] | BaseException) -> None:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[list[Any]]:
        while True:
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


def _driver_errors(conn: Connection) -> type[BaseException]:
    error: type[BaseException] = conn.dialect.loaded_dbapi.Error
    return error


_CURSOR_IDS = itertools.count()


def scalar(conn: Connection, sql: str, params: Sequence[Any]) -> Any:
    return conn.exec_driver_sql(sql, tuple(params)).scalar()
