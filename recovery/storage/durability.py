"""SQLite: acknowledge a command only once it is on disk, one fsync for all waiting.

With `synchronous=FULL`, SQLite syncs the write-ahead log inside every COMMIT, holding the
database's write lock through the fsync; on the HTTP server the event loop waits with it.
Instead, the event store's own connection commits with `synchronous=NORMAL` (the log is
written, not yet synced) and the store syncs the log file before it returns: in the
caller's thread for the Python API, or, for the server, on the event loop's executor while
the loop goes on with other requests (`deferred`, `wait_async`). Every command committed
while one fsync runs is made durable by the next: group commit. Each command is still its
own transaction; only the wait for the disk is shared.

What a caller is told does not change: an acknowledged command survives power loss. What
others may see for the fraction of a millisecond before the fsync: a committed command
that a power cut would still undo, together with its acknowledgement, never sent.

A sync that fails stops writing for good (`SyncFailure`), as PostgreSQL does: on Linux a
failed fsync may drop the unsynced pages and report success on the next call, so a store
that wrote on would acknowledge commands on top of a log that lost earlier ones. Every
later write of this process is refused until it restarts (after someone checked the
disk); reads go on. This covers the log's own sync and a COMMIT that SQLite reports as a
disk I/O error (it syncs inside COMMIT on every other connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event

from recovery.errors import StorageError

# What SQLite itself calls at `synchronous=FULL` where it can: the data and the file size,
# not the other metadata.
_sync_file = getattr(os, "fdatasync", os.fsync)

_deferred: contextvars.ContextVar[list[tuple[WalSync, int]] | None] = contextvars.ContextVar(
    "recovery_deferred_durability", default=None
)


# SQLite's primary result code for an I/O error (its extended codes keep it in the low byte)
_SQLITE_IOERR = 10


class SyncFailure:
    """Whether a commit of this database could not be synced; once it is, for good."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def fail(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    def check(self) -> None:
        """Raise `StorageError` once a sync has failed: no write is taken any more."""
        if self.reason is not None:
            raise StorageError(
                f"the database file could not be synced to disk ({self.reason}); no write "
                "is taken until the server is restarted: check the disk first (reading "
                "goes on)"
            )

    def note(self, error: BaseException) -> bool:
        """Mark a driver error that is SQLite's disk I/O error; whether it was one."""
        failed = _is_io_error(error)
        if failed:
            self.fail(str(error).strip() or "disk I/O error")
        return failed


def _is_io_error(error: BaseException) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == _SQLITE_IOERR
    return "disk i/o error" in str(error).lower()


_failures: weakref.WeakKeyDictionary[Engine, SyncFailure] = weakref.WeakKeyDictionary()
_failures_lock = threading.Lock()


def sync_failure(engine: Engine) -> SyncFailure:
    """The one `SyncFailure` of an engine (every adapter over it shares it)."""
    with _failures_lock:
        found = _failures.get(engine)
        if found is None:
            found = _failures[engine] = SyncFailure()
        return found


def guard_writes(engine: Engine, is_read_only: Any) -> None:
    """Refuse every write transaction on `engine` once a sync failed, and note a COMMIT
    (or any statement) that fails with a disk I/O error. `is_read_only(connection)` tells
    a reading connection, which goes on. Registered first, so that a refused write never
    reaches its BEGIN."""
    failure = sync_failure(engine)

    @event.listens_for(engine, "begin", insert=True)
    def _refuse(connection: Any) -> None:
        if not is_read_only(connection):
            failure.check()

    @event.listens_for(engine, "handle_error")
    def _note(context: Any) -> None:
        failure.note(context.original_exception)


class _Waiting:
    """An event loop's waiters for one log: (ticket, future) pairs, and whether an fsync
    for them is under way."""

    def __init__(self) -> None:
        self.tickets: list[tuple[int, asyncio.Future[None]]] = []
        self.syncing = False


class WalSync:
    """The log file of one SQLite database, and how far it is known to be on disk."""

    def __init__(self, wal_path: str, failure: SyncFailure | None = None) -> None:
        self._path = wal_path
        self._failure = failure or SyncFailure()
        self._descriptor: int | None = None
        self._lock = threading.Lock()
        self._committed = 0
        self._synced = 0
        # `wait_async`: per event loop, what is waited for (touched on its thread only)
        self._waiting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Waiting] = (
            weakref.WeakKeyDictionary()
        )

    def committed(self) -> int:
        """Count a commit (call right after it, with the write lock held): its ticket."""
        self._committed += 1
        return self._committed

    def settle(self, ticket: int) -> None:
        """Return once the commit with `ticket` is on disk (now, or `deferred`)."""
        pending = _deferred.get()
        if pending is not None:
            pending.append((self, ticket))
        else:
            self.wait(ticket)

    def wait(self, ticket: int) -> None:
        """Block until the commit with `ticket` is on disk; one fsync serves every commit
        made before it started, so a thread that waited for another's may have nothing
        left to do."""
        if self._synced >= ticket:
            return
        with self._lock:
            if self._synced >= ticket:
                return
            self._failure.check()  # a sync failed before: a later one proves nothing
            covered = self._committed  # written to the log already: the fsync covers them
            if self._descriptor is None:
                try:
                    self._descriptor = os.open(self._path, os.O_RDONLY)
                except FileNotFoundError:
                    # the last connection closed: SQLite synced the log into the database
                    # file and removed it
                    self._synced = covered
                    return
            try:
                _sync_file(self._descriptor)
            except OSError as exc:
                self._failure.fail(f"{exc.strerror or exc} syncing {self._path}")
                raise StorageError(
                    f"the database log could not be synced to disk ({exc.strerror}): the "
                    "command may not survive a power cut, and no write is taken until the "
                    "server is restarted; check the disk"
                ) from exc
            self._synced = covered

    async def wait_async(self, ticket: int) -> None:
        """`wait`, for an event loop, which serves other requests meanwhile. One fsync at a
        time runs on the loop's executor for all of the loop's waiters; when it is done,
        those it covered are woken together, and the rest wait for the next."""
        if self._synced >= ticket:
            return
        loop = asyncio.get_running_loop()
        waiting = self._waiting.setdefault(loop, _Waiting())
        future = loop.create_future()
        waiting.tickets.append((ticket, future))
        if not waiting.syncing:
            self._sync_for(loop, waiting)
        await future

    def _sync_for(self, loop: asyncio.AbstractEventLoop, waiting: _Waiting) -> None:
        waiting.syncing = True
        target = max(ticket for ticket, _ in waiting.tickets)
        synced = loop.run_in_executor(None, self.wait, target)
        synced.add_done_callback(lambda done: self._synced_for(loop, waiting, done))

    def _synced_for(
        self, loop: asyncio.AbstractEventLoop, waiting: _Waiting, done: asyncio.Future[None]
    ) -> None:
        waiting.syncing = False
        error = done.exception()
        still = []
        for ticket, future in waiting.tickets:
            if future.done():  # its request was cancelled
                continue
            if error is not None:
                future.set_exception(error)
            elif ticket <= self._synced:
                future.set_result(None)
            else:
                still.append((ticket, future))
        waiting.tickets = still
        if still:
            self._sync_for(loop, waiting)

    def close(self) -> None:
        """Forget the file (its connection is closing: SQLite may delete it)."""
        with self._lock:
            if self._descriptor is not None:
                os.close(self._descriptor)
                self._descriptor = None


@contextlib.contextmanager
def deferred() -> Iterator[list[tuple[WalSync, int]]]:
    """Within: commits do not wait for the disk; the list collects what to `wait` for
    before acknowledging (the server awaits `wait_async`)."""
    pending: list[tuple[WalSync, int]] = []
    token = _deferred.set(pending)
    try:
        yield pending
    finally:
        _deferred.reset(token)
