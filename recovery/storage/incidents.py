"""The incident log on SQLAlchemy: events appended and the current-state row updated in ONE
transaction (`service.ports.IncidentLog`; the service's unit of work runs it).

Write path: SQLAlchemy owns the pool, the transaction (BEGIN IMMEDIATE on SQLite) and the
schema; the few hot statements run on the driver cursor inside that transaction, because
the ORM and even Core cost more per command than an fsync'd commit (see the benchmark).
Concurrency: a locked transaction reads the incident row `FOR UPDATE` on PostgreSQL
(SQLite's IMMEDIATE transaction already serialises writers), so two writers on one incident
are recorded in order; every append is conditional on the version and head hash it was
decided from, and the `(incident_id, seq)` primary key is the last guard.
"""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType
from typing import Any, NoReturn

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from recovery.domain.customers import customer_key_of
from recovery.domain.personal import decode_key, encode_key
from recovery.domain.search import incident_terms
from recovery.domain.state import IncidentState
from recovery.errors import ConflictError, IncidentNotFoundError, RecoveryError, StorageError
from recovery.service.ports import Head, KeyedReply, KeyTaken, Record
from recovery.service.ports.reports import Erasure
from recovery.storage.database import first_line
from recovery.storage.durability import SyncFailure, WalSync, sync_failure
from recovery.storage.erasure import erase_personal, vacuum_erased
from recovery.storage.figure_columns import row_update
from recovery.storage.idempotency import key_row
from recovery.storage.incident_reads import IncidentReads
from recovery.storage.statements import Statements


def _own_durability(connection: Any, failure: SyncFailure) -> WalSync | None:
    """On a file database set to `synchronous=FULL`, the writer connection commits without
    syncing and the log syncs the WAL itself (see `durability`); else None."""
    if connection.execute("PRAGMA synchronous").fetchone()[0] < 2:  # NORMAL: speed chosen
        return None
    path = next(
        (row[2] for row in connection.execute("PRAGMA database_list") if row[1] == "main"), ""
    )
    if not path or connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return None
    connection.execute("PRAGMA synchronous=NORMAL")
    return WalSync(f"{path}-wal", failure)


def _reraise(error: BaseException, cause: BaseException) -> NoReturn:
    """Raise `error` (our translation of `cause`), or `cause` itself if it needed none."""
    if error is cause:
        raise cause
    raise error from cause


class _Transaction:
    """One transaction on the driver connection: the reads and the append of one command.
    Leaving it commits (SQLite: and syncs the log before returning, the writer lock
    released first), or rolls back on an error, raised as ours."""

    __slots__ = ("_autocommit", "_cursor", "_driver", "_incident_id", "_keyed", "_locked", "_log")

    def __init__(self, log: SqlIncidentLog, incident_id: str, locked: bool, keyed: bool) -> None:
        self._log = log
        self._incident_id = incident_id
        self._locked = locked
        self._keyed = keyed
        self._driver: Any = None
        self._cursor: Any = None
        self._autocommit = False

    def __enter__(self) -> _Transaction:
        log = self._log
        if log.sql.postgres:
            self._driver = log.pg_connection(self._incident_id)
            # Unlocked: each statement commits itself, and the append is ONE statement
            # (with an idempotency key's row it is two, which must commit together).
            self._autocommit = not self._locked and not self._keyed
            try:
                if self._autocommit:
                    self._driver.driver_connection.autocommit = True
                self._cursor = self._driver.driver_connection.cursor()
            except BaseException as exc:
                self._driver.invalidate()
                _reraise(log.error(exc, self._incident_id), exc)
            return self
        log.sync_failure.check()  # after a failed sync, no write until a restart
        log.writer_lock.acquire()
        try:
            self._driver = log.sqlite_writer(self._incident_id)
            self._cursor = self._driver.cursor()
            self._cursor.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            log.writer_lock.release()
            _reraise(log.error(exc, self._incident_id), exc)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        log = self._log
        if log.sql.postgres:
            self._exit_pg(exc)
            return
        sync, ticket = None, 0
        try:
            if exc is None:
                try:
                    self._driver.commit()
                except BaseException as failed:
                    exc = failed
            if exc is not None:
                _reraise(log.failed(self._driver, exc, self._incident_id), exc)
            sync = log.wal
            ticket = sync.committed() if sync is not None else 0
        finally:
            # after a failed commit the writer may be closed already: its error stands
            with contextlib.suppress(*log.driver_errors):
                self._cursor.close()
            log.writer_lock.release()
        if sync is not None:
            sync.settle(ticket)  # on disk before it is acknowledged; the lock is free

    def _exit_pg(self, exc: BaseException | None) -> None:
        log, pooled = self._log, self._driver
        driver = pooled.driver_connection
        lost = False
        try:
            if exc is None and not self._autocommit:
                try:
                    driver.commit()
                except BaseException as failed:
                    exc = failed
            if exc is not None:
                error = log.failed(driver, exc, self._incident_id)
                lost = isinstance(error, StorageError)
                _reraise(error, exc)
        finally:
            # Cleaning up a dead connection fails too: that must not replace the error.
            with contextlib.suppress(*log.driver_errors):
                self._cursor.close()
            with contextlib.suppress(*log.driver_errors):
                if self._autocommit:
                    driver.autocommit = False
            if lost:
                pooled.invalidate()  # perhaps dead: never handed out again
            else:
                pooled.close()

    def read_head(self, incident_id: str, expected_version: int | None, known: Head | None) -> Head:
        """The row as it is now; the snapshot text is parsed only if not already held."""
        sql, cursor = self._log.sql, self._cursor
        cursor.execute(
            sql.select_head_locked if self._locked else sql.select_head,
            (known.version if known is not None else 0, incident_id),  # versions start at 1
        )
        row = cursor.fetchone()
        if row is None:
            raise IncidentNotFoundError(incident_id)
        version, head_hash, raw_state, key = row
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
        return Head(version, head_hash, IncidentState.from_json(raw_state), None, decode_key(key))

    def append(self, record: Record, head: Head | None, reply: KeyedReply | None = None) -> bool:
        if not self._append(record, head):
            return False
        if reply is not None:
            sql = self._log.sql
            self._cursor.execute(sql.upsert_key, key_row(reply, postgres=sql.postgres))
            if self._cursor.rowcount != 1:
                raise KeyTaken(reply.key)  # rolled back on leaving: the event with it
        return True

    def erase_personal(self, incident_id: str, pseudonym: str, erasure: Erasure) -> None:
        erase_personal(self._cursor, self._log.sql.postgres, incident_id, pseudonym, erasure)

    def _append(self, record: Record, head: Head | None) -> bool:
        sql, cursor = self._log.sql, self._cursor
        state, event = record.state, record.event
        at = sql.moment(event.recorded_at)
        update = (
            state.status,
            state.tier,
            state.owner,
            sql.moment(state.updated_at),
            sql.moment(state.ended_at),
            sql.moment(record.next_due_at),
            state.pushes,
            state.handoffs,
            state.version,
            event.hash,
            state.to_json().decode(),
            *record.figures,
            state.id,
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
            record.data.decode(),
            event.prev_hash,
            event.hash,
        )
        if head is None:
            cursor.execute(
                sql.insert_incident,
                (
                    state.id,
                    state.playbook_id,
                    state.playbook_version,
                    state.incident_type,
                    state.site,
                    sql.moment(state.opened_at),
                    state.external_ref,
                    *update[:-1],  # the columns every command sets, minus the key
                    customer_key_of(state.customer),
                    encode_key(record.key),
                ),
            )
            # what it is found by: written with its first event, so search never lags
            terms = incident_terms(state.id, state.customer, state.external_ref)
            cursor.executemany(sql.insert_term, [(state.id, t, state.site) for t in sorted(terms)])
        elif sql.postgres:
            kinds = [message.kind for message in record.effects]
            payloads = [message.payload for message in record.effects]
            cursor.execute(
                sql.record,
                (*update, head.version, head.head_hash, *event_row, at, at, kinds, payloads),
            )
            return bool(cursor.fetchone()[0] == 1)
        else:
            statement, params = row_update(head, record, update)  # indexed: if changed
            cursor.execute(statement or sql.update_incident, params)
            if cursor.rowcount != 1:
                return False
        cursor.execute(sql.insert_event, event_row)
        if record.effects:
            cursor.executemany(
                sql.insert_outbox,
                [(event.incident_id, event.seq, m.kind, m.payload, at, at) for m in record.effects],
            )
        return True


class SqlIncidentLog(IncidentReads):
    """`service.ports.IncidentLog` on SQLite or PostgreSQL: the write path here, the reads
    in `IncidentReads`."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.sql = Statements(engine.dialect.name)
        self.optimistic_first = self.sql.postgres
        dbapi = engine.dialect.loaded_dbapi
        self._integrity_errors: tuple[type[BaseException], ...] = (
            dbapi.IntegrityError,
            sa_exc.IntegrityError,
        )
        self.driver_errors: tuple[type[BaseException], ...] = (dbapi.Error, sa_exc.DBAPIError)
        self.writer_lock = threading.Lock()
        self.sync_failure = sync_failure(engine)
        self._writer: Any = None
        self.wal: WalSync | None = None

    def transaction(self, incident_id: str, *, locked: bool, keyed: bool = False) -> _Transaction:
        return _Transaction(self, incident_id, locked, keyed)

    # ------------------------------------------------------------------ connections

    def error(self, exc: BaseException, incident_id: str) -> BaseException:
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
        if isinstance(exc, self.driver_errors):
            return StorageError(f"database error: {first_line(exc)}")
        return exc

    def sqlite_writer(self, incident_id: str) -> Any:
        """SQLite admits one writer at a time, so this process keeps ONE connection for its
        SQLite writes (taken from the pool once, with its pragmas) and queues writers on a
        lock: cheaper than a pool round trip per command, and fairer than threads polling
        for SQLite's lock. Call with the writer lock held."""
        if self._writer is None:
            pooled = self.engine.raw_connection()
            pooled.detach()  # ours for the life of this log, pragmas and all
            self._writer = pooled.dbapi_connection
            self.wal = _own_durability(self._writer, self.sync_failure)
        return self._writer

    def pg_connection(self, incident_id: str) -> Any:
        try:
            return self.engine.raw_connection()
        except self.driver_errors as exc:
            raise StorageError(f"database error: {first_line(exc)}") from exc

    def failed(self, driver: Any, exc: BaseException, incident_id: str) -> BaseException:
        """Roll back after `exc`; the error to raise (ours for a driver error)."""
        if not self.sql.postgres:
            self.sync_failure.note(exc)  # a COMMIT SQLite could not sync: no more writes
        with contextlib.suppress(*self.driver_errors):
            driver.rollback()
        error = self.error(exc, incident_id)
        if isinstance(error, StorageError) and driver is self._writer:
            self._drop_writer()  # a broken connection is not reused
        return error

    def _drop_writer(self) -> None:
        writer, self._writer = self._writer, None
        wal, self.wal = self.wal, None
        if wal is not None:
            wal.close()
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()

    def settle_erasure(self) -> None:
        """SQLite: the pages an erasure replaced (zeroed in the file by `secure_delete`)
        still sit in the write-ahead log: checkpoint it and truncate it to nothing.
        PostgreSQL keeps dead row versions until VACUUM reclaims them: the touched tables
        are vacuumed now, best effort (`erasure.vacuum_erased`)."""
        if self.sql.postgres:
            vacuum_erased(self.engine)
            return
        with self.writer_lock:
            writer = self.sqlite_writer("")
            writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def close(self) -> None:
        """Release the SQLite writer connection (the engine's pool holds the rest)."""
        with self.writer_lock:
            self._drop_writer()
