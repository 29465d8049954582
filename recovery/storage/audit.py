"""Streamed reads of the event log for audits (`audit.ports.AuditRows`): few queries,
bounded memory, raw rows.

A whole-database audit reads every event once, ordered by (incident_id, seq), in ONE
statement that the database merges from two index scans: the incidents' state rows and
their events (`UNION ALL ... ORDER BY`). One statement means one consistent snapshot, and
the database's own ordering decides the grouping (no collation has to be mirrored in
Python). Rows are streamed: a server-side cursor on PostgreSQL, a lazy cursor on SQLite.
Exports stream the events joined with their incident's fields the same way.

Timestamps come back in the one ISO text form the hashes cover: PostgreSQL formats them
in the query; SQLite stores SQLAlchemy's text form, which `iso_text` rewrites cheaply (a
tuned special case of `moments.from_column`, which it falls back to).
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from recovery.audit.ports import KIND_EVENT, KIND_STATE, ExportFilter, IdRange, Row
from recovery.domain.state import iso
from recovery.errors import StorageError
from recovery.storage.database import first_line, reading
from recovery.storage.moments import from_column, to_column

BATCH = 2000
"""Rows fetched per round trip (the server-side cursor's page on PostgreSQL)."""

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


class SqlAuditRows:
    """`AuditRows` over one SQLAlchemy engine, on the driver's cursor."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    def verification_rows(
        self,
        incident_ids: Sequence[str] | None = None,
        id_range: IdRange | None = None,
        batch: int | None = None,
    ) -> Iterator[Row]:
        sql, params = _verification_sql(self._dialect, incident_ids, id_range)
        return _stream(self._engine, sql, params, batch or BATCH)

    def split_points(self, parts: int) -> list[str]:
        with reading(self._engine) as conn:
            return _split_points(conn, parts)

    def count_events(self, incident_ids: Sequence[str] | None = None) -> int:
        sql, params = _count_sql(self._dialect, incident_ids)
        with reading(self._engine) as conn:
            return int(_scalar(conn, sql, params) or 0)

    def export_rows(self, where: ExportFilter, batch: int | None = None) -> Iterator[Row]:
        sql, params = _export_sql(self._dialect, where)
        return _stream(self._engine, sql, params, batch or BATCH)

    iso_text = staticmethod(iso_text)

    def forked(self) -> SqlAuditRows:
        self._engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        return self


def _in_list(dialect: str, column: str, ids: Sequence[str]) -> tuple[str, list[Any]]:
    if dialect == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join('?' * len(ids))})", list(ids)


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


def _split_points(conn: Connection, parts: int) -> list[str]:
    """Incident ids that cut every incident, in id order, into `parts` ranges of about
    the same number of incidents (fewer if there are few incidents)."""
    count = int(_scalar(conn, "SELECT count(*) FROM incidents", ()) or 0)
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = f"SELECT id FROM incidents ORDER BY id LIMIT 1 OFFSET {mark}"
    points = [_scalar(conn, sql, (count * k // parts,)) for k in range(1, parts)]
    return sorted({str(p) for p in points if p is not None})


def _verification_sql(
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
    key = "CAST(personal_key AS VARCHAR)" if pg else "personal_key"  # under TYPE: see ports
    event_filter, event_params = _filters(dialect, "incident_id", incident_ids, id_range)
    state_filter, state_params = _filters(dialect, "id", incident_ids, id_range)
    sql = (
        f"SELECT incident_id, {KIND_EVENT}, seq, type, schema_version, playbook_id, "
        f"playbook_version, actor, actor_role, channel, {iso_column(dialect, 'recorded_at')}, "
        f"data, prev_hash, hash FROM events{event_filter} "
        f"UNION ALL SELECT id, {KIND_STATE}, 0, {key}, version, playbook_id, "
        f"playbook_version, {varchar}, {varchar}, {varchar}, {text}, {state}, {varchar}, "
        f"head_hash FROM incidents{state_filter} "
        "ORDER BY 1, 3"
    )
    return sql, [*event_params, *state_params]


def _count_sql(dialect: str, incident_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    where, params = _filters(dialect, "incident_id", incident_ids)
    return f"SELECT count(*) FROM events{where}", params


def _export_sql(dialect: str, where: ExportFilter) -> tuple[str, list[Any]]:
    """The matching events joined with their incident's fields, in `EXPORT_FIELDS` order."""
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
        if moment is not None:  # a moment without a zone is UTC
            conditions.append(f"e.recorded_at {op} {mark}")
            params.append(to_column(iso(moment), postgres=pg))
    clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = (
        "SELECT e.incident_id, i.site, i.incident_type, i.status, e.seq, e.type, "
        "e.schema_version, e.playbook_id, e.playbook_version, e.actor, e.actor_role, "
        f"e.channel, {iso_column(dialect, 'e.recorded_at')}, e.prev_hash, e.hash, e.data "
        f"FROM events e JOIN incidents i ON i.id = e.incident_id{clause} "
        "ORDER BY e.incident_id, e.seq"
    )
    return sql, params


def _stream(engine: Engine, sql: str, params: Sequence[Any], batch: int) -> Iterator[Row]:
    """Rows of a driver-level statement on a read-only connection of its own, `batch` at a
    time, read ahead by a thread.

    The driver's cursor inside the SQLAlchemy connection: a server-side (named) cursor on
    PostgreSQL, whose memory stays flat (SQLAlchemy's `stream_results` does not reach
    driver-level SQL), and no per-row wrapping (a third of the cost of reading a row).
    On PostgreSQL a reader thread fetches the next batch while the caller works on this
    one (psycopg waits for the server without the GIL), keeping at most `_READ_AHEAD`
    batches. Not on SQLite: there the reading itself holds the GIL, and a second thread
    only adds switching (measured: 15% slower)."""
    with reading(engine) as conn:
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


def _scalar(conn: Connection, sql: str, params: Sequence[Any]) -> Any:
    return conn.exec_driver_sql(sql, tuple(params)).scalar()
