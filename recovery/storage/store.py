"""The event store: append events and update the current-state row in ONE transaction.

Write path: SQLAlchemy owns the pool, the transaction (BEGIN IMMEDIATE on SQLite) and the
schema; the few hot statements run on the driver cursor inside that transaction, because
the ORM and even Core cost more per command than an fsync'd commit (see the benchmark).
Concurrency: the incident row is read `FOR UPDATE` on PostgreSQL (SQLite's IMMEDIATE
transaction already serialises writers), so two writers on one incident are recorded in
order; a caller that sends the version it saw gets a `ConflictError` if it moved on.
The `(incident_id, seq)` primary key is the last guard: a duplicate seq can never land.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NamedTuple, NoReturn, TypeVar

import orjson
from sqlalchemy import ColumnElement, Connection, Engine, select
from sqlalchemy import exc as sa_exc

from recovery.domain.chain import GENESIS, canonical, event_hash
from recovery.domain.compiler import ACTIVE_STATES
from recovery.domain.state import EVENT_FIELDS, Event, IncidentState, iso, parse_iso
from recovery.errors import ConflictError, IncidentNotFoundError, RecoveryError, StorageError
from recovery.storage.database import first_line, reading
from recovery.storage.durability import WalSync
from recovery.storage.tables import events, incidents, outbox, playbook_versions


class Decision(NamedTuple):
    """What a command decided: the new state, its event, and the row's due-time column."""

    state: IncidentState
    event: Event
    next_due_at: str | None


Decider = Callable[[IncidentState], Decision]
_T = TypeVar("_T")

_COLUMNS_EVENT = ", ".join(EVENT_FIELDS)
# The snapshot text only when this process does not already hold that version of it.
_SELECT_HEAD = (
    "SELECT version, head_hash, CASE WHEN version = ? THEN NULL ELSE state END "
    "FROM incidents WHERE id = ?"
)
_SELECT_STATE = "SELECT state FROM incidents WHERE id = ?"
_INSERT_EVENT = (
    f"INSERT INTO events ({_COLUMNS_EVENT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SET_INCIDENT = (
    "SET status = ?, tier = ?, owner = ?, updated_at = ?, ended_at = ?, next_due_at = ?, "
    "pushes = ?, handoffs = ?, version = ?, head_hash = ?, state = ? "
    "WHERE id = ? AND version = ? AND head_hash = ?"
)
_UPDATE_INCIDENT = f"UPDATE incidents {_SET_INCIDENT}"
_INSERT_INCIDENT = (
    "INSERT INTO incidents (id, playbook_id, playbook_version, incident_type, site, opened_at, "
    "status, tier, owner, updated_at, ended_at, next_due_at, pushes, handoffs, version, "
    "head_hash, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_OUTBOX = (
    "INSERT INTO outbox (incident_id, seq, kind, payload, created_at, status, attempts, "
    "next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)"
)
# PostgreSQL: the whole write as one statement. The event and outbox rows are inserted only
# if the row was still at the version read; the result says whether that happened.
_RECORD_PG = (
    f"WITH updated AS (UPDATE incidents {_SET_INCIDENT} RETURNING id), "
    f"inserted AS (INSERT INTO events ({_COLUMNS_EVENT}) "
    "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM updated RETURNING incident_id, seq), "
    "queued AS (INSERT INTO outbox (incident_id, seq, kind, payload, created_at, status, "
    "attempts, next_attempt_at) SELECT inserted.incident_id, inserted.seq, effect.kind, "
    "effect.payload, ?, 'pending', 0, ? FROM inserted "
    "CROSS JOIN unnest(?::text[], ?::text[]) AS effect(kind, payload)) "
    "SELECT count(*) FROM inserted"
)


class _Dialect:
    """Statement text and timestamp values in the form each driver expects."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.postgres = name == "postgresql"

        def fix(sql: str) -> str:
            return sql.replace("?", "%s") if self.postgres else sql

        self.select_head = fix(_SELECT_HEAD)
        self.select_head_locked = fix(_SELECT_HEAD + (" FOR UPDATE" if self.postgres else ""))
        self.select_state = fix(_SELECT_STATE)
        self.insert_event = fix(_INSERT_EVENT)
        self.update_incident = fix(_UPDATE_INCIDENT)
        self.insert_incident = fix(_INSERT_INCIDENT)
        self.insert_outbox = fix(_INSERT_OUTBOX)
        self.record = fix(_RECORD_PG)

    def moment(self, text: str | None) -> Any:
        """An ISO moment as a column value: aware datetime for psycopg, SQLAlchemy's text
        form for SQLite (so Core reads of the same column parse it)."""
        if text is None:
            return None
        if self.postgres:
            return parse_iso(text)
        return f"{text[:10]} {text[11:26]}"


class _WriteParams(NamedTuple):
    update: tuple[Any, ...]
    event: tuple[Any, ...]
    outbox: list[tuple[Any, ...]]

    def combined(self, at: Any) -> tuple[Any, ...]:
        """Parameters of the one-statement PostgreSQL write."""
        kinds = [row[2] for row in self.outbox]
        payloads = [row[3] for row in self.outbox]
        return (*self.update, *self.event, at, at, kinds, payloads)


def from_column(value: datetime | str | None) -> str | None:
    """A timestamp column read through SQLAlchemy, back to the ISO text form."""
    if value is None:
        return None
    if isinstance(value, str):
        return iso(datetime.fromisoformat(value))
    return iso(value if value.tzinfo else value.replace(tzinfo=UTC))


def seal(event: Event, prev_hash: str) -> tuple[Event, bytes]:
    """Chain `event` to `prev_hash`; return it with its hash and its canonical data bytes."""
    data = canonical(event.data)
    digest = event_hash(
        prev_hash,
        event.incident_id,
        event.seq,
        event.type,
        event.schema_version,
        event.playbook_id,
        event.playbook_version,
        event.actor,
        event.actor_role,
        event.channel,
        event.recorded_at,
        data,
    )
    return event.chained(prev_hash, digest), data


def _own_durability(connection: Any) -> WalSync | None:
    """On a file database set to `synchronous=FULL`, the writer connection commits without
    syncing and the store syncs the log itself (see `durability`); else None."""
    if connection.execute("PRAGMA synchronous").fetchone()[0] < 2:  # NORMAL: speed chosen
        return None
    path = next(
        (row[2] for row in connection.execute("PRAGMA database_list") if row[1] == "main"), ""
    )
    if not path or connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return None
    connection.execute("PRAGMA synchronous=NORMAL")
    return WalSync(f"{path}-wal")


def _reraise(error: BaseException, cause: BaseException) -> NoReturn:
    """Raise `error` (our translation of `cause`), or `cause` itself if it needed none."""
    if error is cause:
        raise cause
    raise error from cause


class _Head(NamedTuple):
    """An incident's row as of one version: what a command decides from."""

    version: int
    head_hash: str
    state: IncidentState


class _Snapshots:
    """The state this process last recorded for recently used incidents, so that a command
    on one neither reads nor parses its ~3 kB snapshot. It is only a guess: the write
    that follows is conditional on the row still having that version and head hash, and
    falls back to reading the row when another process moved it on. States handed to
    callers are never changed afterwards (commands work on a copy)."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: dict[str, _Head] = {}
        self._lock = threading.Lock()

    def get(self, incident_id: str) -> _Head | None:
        return self._entries.get(incident_id)

    def keep(self, state: IncidentState, head_hash: str) -> None:
        with self._lock:
            self._entries.pop(state.id, None)
            self._entries[state.id] = _Head(state.version, head_hash, state)
            if len(self._entries) > self._size:
                del self._entries[next(iter(self._entries))]  # the least recently recorded


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sql = _Dialect(engine.dialect.name)
        dbapi = engine.dialect.loaded_dbapi
        self._integrity_errors: tuple[type[BaseException], ...] = (
            dbapi.IntegrityError,
            sa_exc.IntegrityError,
        )
        self._driver_errors: tuple[type[BaseException], ...] = (dbapi.Error, sa_exc.DBAPIError)
        self._writer_lock = threading.Lock()
        self._writer: Any = None
        self._wal: WalSync | None = None
        self._snapshots = _Snapshots()

    # ------------------------------------------------------------------ writes

    def _error(self, exc: BaseException, incident_id: str) -> BaseException:
        """A driver error as one of ours: a duplicate key is another writer's event."""
        if isinstance(exc, RecoveryError):
            return exc
        if isinstance(exc, self._integrity_errors):
            return ConflictError(
                f"incident {incident_id} was changed by another writer at the same moment; "
                "reload it and try again",
                incident_id=incident_id,
                current_version=None,
            )
        if isinstance(exc, self._driver_errors):
            return StorageError(f"database error: {first_line(exc)}")
        return exc

    def _writer_connection(self) -> Any:
        """SQLite admits one writer at a time, so this process keeps ONE connection for its
        SQLite writes (taken from the pool once, with its pragmas) and queues writers on a
        lock: cheaper than a pool round trip per command, and fairer than threads polling
        for SQLite's lock. Call with the writer lock held."""
        if self._writer is None:
            pooled = self.engine.raw_connection()
            pooled.detach()  # ours for the life of this store, pragmas and all
            self._writer = pooled.dbapi_connection
            self._wal = _own_durability(self._writer)
        return self._writer

    def _write(self, incident_id: str, work: Callable[[Any], _T]) -> _T:
        """`work(cursor)` in one transaction, committed or rolled back, driver errors
        raised as our own. SQLite: on the writer connection under the writer lock, with
        BEGIN IMMEDIATE, and on disk before this returns (the lock released first).
        PostgreSQL: on a pooled connection."""
        if self._sql.postgres:
            with self._pg_connection(incident_id) as driver:
                return self._committed_work(driver, incident_id, work, begin=None)
        with self._writer_lock:
            driver = self._sqlite_writer(incident_id)
            result = self._committed_work(driver, incident_id, work, begin="BEGIN IMMEDIATE")
            sync, ticket = self._wal, self._wal.committed() if self._wal else 0
        if sync is not None:
            sync.settle(ticket)  # on disk before it is acknowledged; the lock is free
        return result

    def _committed_work(
        self, driver: Any, incident_id: str, work: Callable[[Any], _T], begin: str | None
    ) -> _T:
        cursor = driver.cursor()
        try:
            if begin is not None:
                cursor.execute(begin)
            result = work(cursor)
            driver.commit()
            return result
        except BaseException as exc:
            _reraise(self._failed(driver, exc, incident_id), exc)
        finally:
            cursor.close()

    def _sqlite_writer(self, incident_id: str) -> Any:
        try:
            return self._writer_connection()
        except BaseException as exc:
            _reraise(self._error(exc, incident_id), exc)

    def _failed(self, driver: Any, exc: BaseException, incident_id: str) -> BaseException:
        """Roll back after `exc`; the error to raise (ours for a driver error)."""
        with contextlib.suppress(*self._driver_errors):
            driver.rollback()
        error = self._error(exc, incident_id)
        if isinstance(error, StorageError) and driver is self._writer:
            self._drop_writer()  # a broken connection is not reused
        return error

    @contextmanager
    def _pg_connection(self, incident_id: str) -> Iterator[Any]:
        try:
            pooled = self.engine.raw_connection()
        except self._driver_errors as exc:
            raise StorageError(f"database error: {first_line(exc)}") from exc
        try:
            yield pooled.driver_connection
        finally:
            pooled.close()

    def _drop_writer(self) -> None:
        writer, self._writer = self._writer, None
        wal, self._wal = self._wal, None
        if wal is not None:
            wal.close()
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()

    def close(self) -> None:
        """Release the SQLite writer connection (the engine's pool holds the rest)."""
        with self._writer_lock:
            self._drop_writer()

    def create(self, decision: Decision) -> Event:
        """Record a new incident: its state row and its first event."""
        state, sql = decision.state, self._sql
        event, data = seal(decision.event, GENESIS)
        params = self._params(decision, event, data, None)

        def insert(cursor: Any) -> None:
            cursor.execute(
                sql.insert_incident,
                (
                    state.id,
                    state.playbook_id,
                    state.playbook_version,
                    state.incident_type,
                    state.site,
                    sql.moment(state.opened_at),
                    *params.update[:-1],  # the columns every command sets, minus the key
                ),
            )
            cursor.execute(sql.insert_event, params.event)
            if params.outbox:
                cursor.executemany(sql.insert_outbox, params.outbox)

        self._write(state.id, insert)
        self._snapshots.keep(state, event.hash)
        return event

    def execute(
        self, incident_id: str, decider: Decider, expected_version: int | None = None
    ) -> tuple[IncidentState, Event]:
        """Load the incident, decide, and record the event and the new state atomically."""
        known = self._snapshots.get(incident_id)
        if known is not None and expected_version not in (None, known.version):
            known = None  # let the row's own version answer the caller
        if self._sql.postgres:
            recorded = self._execute_optimistic(incident_id, decider, expected_version, known)
            if recorded is not None:
                return recorded
        return self._execute_locked(incident_id, decider, expected_version, known)

    def _execute_locked(
        self,
        incident_id: str,
        decider: Decider,
        expected_version: int | None,
        known: _Head | None,
    ) -> tuple[IncidentState, Event]:
        """One transaction holding the incident (BEGIN IMMEDIATE on SQLite, FOR UPDATE on
        PostgreSQL): concurrent writers queue and are all recorded, in order."""
        if self._sql.postgres:
            known = None  # `_execute_optimistic` already tried it

        def record(cursor: Any) -> tuple[IncidentState, Event]:
            recorded = None if known is None else self._record_from_known(cursor, known, decider)
            return recorded or self._record_locked(cursor, incident_id, decider, expected_version)

        state, event = self._write(incident_id, record)
        self._snapshots.keep(state, event.hash)
        return state, event

    def _record_locked(
        self, cursor: Any, incident_id: str, decider: Decider, expected_version: int | None
    ) -> tuple[IncidentState, Event]:
        head = self._read_head(cursor, incident_id, expected_version, locked=True)
        recorded = self._record(cursor, head, decider)
        if recorded is None:
            raise ConflictError(
                f"incident {incident_id} moved on while this command ran; try again",
                incident_id=incident_id,
                current_version=None,
            )
        return recorded

    def _execute_optimistic(
        self,
        incident_id: str,
        decider: Decider,
        expected_version: int | None,
        known: _Head | None,
    ) -> tuple[IncidentState, Event] | None:
        """PostgreSQL without contention: ONE autocommit statement that updates the row
        only at the version decided from and inserts the event and outbox rows only if it
        did; a read first unless this process holds the latest state. None when another
        writer got there first: the caller then takes the locked path (lock a hot incident,
        don't retry blindly)."""
        with self._pg_connection(incident_id) as driver:
            driver.autocommit = True
            try:
                cursor = driver.cursor()
                recorded = (
                    None if known is None else self._record_from_known(cursor, known, decider)
                )
                if recorded is None:
                    head = self._read_head(cursor, incident_id, expected_version, locked=False)
                    recorded = self._record(cursor, head, decider)
                cursor.close()
            except BaseException as exc:
                _reraise(self._error(exc, incident_id), exc)
            finally:
                driver.autocommit = False
        if recorded is None:
            return None
        state, event = recorded
        self._snapshots.keep(state, event.hash)
        return state, event

    def _read_head(
        self, cursor: Any, incident_id: str, expected_version: int | None, *, locked: bool
    ) -> _Head:
        """The row as it is now; the snapshot text is parsed only if not already held."""
        sql = self._sql
        known = self._snapshots.get(incident_id)
        cursor.execute(
            sql.select_head_locked if locked else sql.select_head,
            (known.version if known is not None else 0, incident_id),  # versions start at 1
        )
        row = cursor.fetchone()
        if row is None:
            raise IncidentNotFoundError(incident_id)
        version, head_hash, raw_state = row
        if expected_version is not None and expected_version != version:
            raise ConflictError(
                f"incident {incident_id} is at version {version}, not {expected_version}: "
                "someone else acted on it; reload and decide again",
                incident_id=incident_id,
                current_version=version,
            )
        if raw_state is None:
            if known is not None and known.head_hash == head_hash:
                return known
            cursor.execute(sql.select_state, (incident_id,))  # same version, other history
            raw_state = cursor.fetchone()[0]
        return _Head(version, head_hash, IncidentState.from_json(raw_state))

    def _record_from_known(
        self, cursor: Any, known: _Head, decider: Decider
    ) -> tuple[IncidentState, Event] | None:
        """`_record` from the state this process last recorded, without reading the row.
        A refusal decided from it may be stale (another process may have moved the
        incident on), so it is not trusted: None, and the caller decides from the row."""
        try:
            return self._record(cursor, known, decider)
        except RecoveryError:
            return None

    def _record(
        self, cursor: Any, head: _Head, decider: Decider
    ) -> tuple[IncidentState, Event] | None:
        """Decide from `head` (on a copy of its state) and write the event and the new
        state, provided the row is still at `head`; None if it is not."""
        sql = self._sql
        decision = decider(head.state.clone())
        event, data = seal(decision.event, head.head_hash)
        params = self._params(decision, event, data, head)
        if sql.postgres:
            cursor.execute(sql.record, params.combined(sql.moment(event.recorded_at)))
            if cursor.fetchone()[0] != 1:
                return None
        else:
            cursor.execute(sql.update_incident, params.update)
            if cursor.rowcount != 1:
                return None
            cursor.execute(sql.insert_event, params.event)
            if params.outbox:
                cursor.executemany(sql.insert_outbox, params.outbox)
        return decision.state, event

    def _params(
        self, decision: Decision, event: Event, data: bytes, head: _Head | None
    ) -> _WriteParams:
        sql, state = self._sql, decision.state
        at = sql.moment(event.recorded_at)
        update = (
            state.status,
            state.tier,
            state.owner,
            sql.moment(state.updated_at),
            sql.moment(state.ended_at),
            sql.moment(decision.next_due_at),
            state.pushes,
            state.handoffs,
            state.version,
            event.hash,
            state.to_json().decode(),
            state.id,
            *((head.version, head.head_hash) if head is not None else ()),
        )
        event_row = (
            event.incident_id,
            event.seq,
            event.type,
            event.schema_version,
            event.playbook_id,
            event.playbook_version,
            event.actor,
            event.actor_role,
            event.channel,
            at,
            data.decode(),
            event.prev_hash,
            event.hash,
        )
        outbox_rows = [
            (
                event.incident_id,
                event.seq,
                effect["kind"],
                canonical({**effect, "event": f"{event.incident_id}:{event.seq}"}).decode(),
                at,
                at,
            )
            for effect in event.data.get("effects") or ()
        ]
        return _WriteParams(update, event_row, outbox_rows)

    def register_playbook(
        self, playbook_id: str, version: int, digest: str, definition: dict[str, Any], now: str
    ) -> str | None:
        """Store a playbook version's definition; return the digest already stored, if any."""
        with self._reading() as conn:
            stored = conn.execute(
                select(playbook_versions.c.digest).where(
                    playbook_versions.c.playbook_id == playbook_id,
                    playbook_versions.c.version == version,
                )
            ).scalar_one_or_none()
        if stored is not None:
            return str(stored)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    playbook_versions.insert().values(
                        playbook_id=playbook_id,
                        version=version,
                        digest=digest,
                        definition=canonical(definition).decode(),
                        registered_at=parse_iso(now),
                    )
                )
        except sa_exc.IntegrityError:
            return self.register_playbook(playbook_id, version, digest, definition, now)
        return None

    # ------------------------------------------------------------------ reads

    def _reading(self) -> contextlib.AbstractContextManager[Connection]:
        return reading(self.engine)

    def load(self, incident_id: str) -> tuple[IncidentState, str]:
        with self._reading() as conn:
            row = conn.execute(
                select(incidents.c.state, incidents.c.head_hash).where(
                    incidents.c.id == incident_id
                )
            ).one_or_none()
        if row is None:
            raise IncidentNotFoundError(incident_id)
        return IncidentState.from_json(row.state), row.head_hash

    def list_states(
        self,
        *,
        statuses: Sequence[str] | None = None,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook_id: str | None = None,
        owner: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[IncidentState]:
        conditions = _incident_filters(statuses, site, sites, playbook_id, owner)
        query = (
            select(incidents.c.state)
            .where(*conditions)
            .order_by(incidents.c.next_due_at.is_(None), incidents.c.next_due_at, incidents.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self._reading() as conn:
            return [IncidentState.from_json(raw) for raw in conn.execute(query).scalars()]

    def iter_states(
        self,
        *,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook_id: str | None = None,
        chunk: int = 1000,
    ) -> Iterator[IncidentState]:
        """Every incident's state in id order, read in chunks (bounded memory)."""
        conditions = _incident_filters(None, site, sites, playbook_id, None)
        after = ""
        while True:
            query = select(incidents.c.id, incidents.c.state).where(
                incidents.c.id > after, *conditions
            )
            with self._reading() as conn:
                rows = conn.execute(query.order_by(incidents.c.id).limit(chunk)).all()
            for row in rows:
                yield IncidentState.from_json(row.state)
            if len(rows) < chunk:
                return
            after = rows[-1].id

    def events(
        self, incident_id: str, *, upto_seq: int | None = None, upto_time: str | None = None
    ) -> list[Event]:
        query = select(events).where(events.c.incident_id == incident_id)
        if upto_seq is not None:
            query = query.where(events.c.seq <= upto_seq)
        query = query.order_by(events.c.seq)
        out = []
        with self._reading() as conn:
            for row in conn.execute(query):
                event = row_to_event(row._mapping)
                if upto_time is not None and event.recorded_at > upto_time:
                    break
                out.append(event)
        return out

    def raw_events(self, incident_id: str) -> list[dict[str, Any]]:
        """Rows exactly as stored (data as text), for hash verification."""
        query = select(events).where(events.c.incident_id == incident_id).order_by(events.c.seq)
        with self._reading() as conn:
            return [_plain(row._mapping) for row in conn.execute(query)]

    def due_incident_ids(self, now: str, limit: int) -> list[str]:
        """Active incidents with a step past its deadline, the most overdue first."""
        query = (
            select(incidents.c.id)
            .where(
                incidents.c.status.in_(ACTIVE_STATES),
                incidents.c.next_due_at <= parse_iso(now),
            )
            .order_by(incidents.c.next_due_at)
            .limit(limit)
        )
        with self._reading() as conn:
            return list(conn.execute(query).scalars())

    def incident_ids(self) -> list[str]:
        with self._reading() as conn:
            return list(conn.execute(select(incidents.c.id).order_by(incidents.c.id)).scalars())

    def stored_definition(self, playbook_id: str, version: int) -> dict[str, Any] | None:
        with self._reading() as conn:
            raw = conn.execute(
                select(playbook_versions.c.definition).where(
                    playbook_versions.c.playbook_id == playbook_id,
                    playbook_versions.c.version == version,
                )
            ).scalar_one_or_none()
        return None if raw is None else dict(orjson.loads(raw))

    def outbox_messages(self, incident_id: str | None = None) -> list[dict[str, Any]]:
        query = select(outbox).order_by(outbox.c.id)
        if incident_id is not None:
            query = query.where(outbox.c.incident_id == incident_id)
        with self._reading() as conn:
            rows = [_plain(r._mapping) for r in conn.execute(query)]
        for row in rows:
            row["payload"] = orjson.loads(row["payload"])
            row["accepted_by"] = orjson.loads(row["accepted_by"]) if row["accepted_by"] else []
        return rows


def _incident_filters(
    statuses: Sequence[str] | None,
    site: str | None,
    sites: Sequence[str] | None,
    playbook_id: str | None,
    owner: str | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(incidents.c.status.in_(list(statuses)))
    if site is not None:
        conditions.append(incidents.c.site == site)
    if sites is not None:
        conditions.append(incidents.c.site.in_(list(sites)))
    if playbook_id is not None:
        conditions.append(incidents.c.playbook_id == playbook_id)
    if owner is not None:
        conditions.append(incidents.c.owner == owner)
    return conditions


def row_to_event(row: Any) -> Event:
    return Event(
        incident_id=row["incident_id"],
        seq=row["seq"],
        type=row["type"],
        schema_version=row["schema_version"],
        playbook_id=row["playbook_id"],
        playbook_version=row["playbook_version"],
        actor=row["actor"],
        actor_role=row["actor_role"],
        channel=row["channel"],
        recorded_at=from_column(row["recorded_at"]) or "",
        data=orjson.loads(row["data"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _plain(mapping: Any) -> dict[str, Any]:
    """A row as a dict with plain `str` keys (SQLAlchemy's are a str subclass that strict
    JSON encoders refuse)."""
    return {str(key): value for key, value in mapping.items()}
