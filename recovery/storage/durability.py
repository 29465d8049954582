"""SQLite: acknowledge a command only once it is on disk, one fsync for all waiting.

With `synchronous=FULL`, SQLite syncs the write-ahead log inside every COMMIT, holding the
database's write lock through the fsync; on the HTTP server the event loop waits with it.
Instead, the event store's own connection commits with `synchronous=NORMAL` (the log is
written, not yet synced) and the store syncs the log file before it returns: in the
caller's thread for the Python API, or, for the server, on a worker thread while the
event loop goes on with other requests (`deferred`). Every command committed while one
fsync runs is made durable by the next: group commit. Each command is still its own
transaction; only the wait for the disk is shared.

What a caller is told does not change: an acknowledged command survives power loss. What
others may see for the fraction of a millisecond before the fsync: a committed command
that a power cut would still undo, together with its acknowledgement, never sent.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Iterator

# What SQLite itself calls at `synchronous=FULL` where it can: the data and the file size,
# not the other metadata.
_sync_file = getattr(os, "fdatasync", os.fsync)

_deferred: contextvars.ContextVar[list[tuple[WalSync, int]] | None] = contextvars.ContextVar(
    "recovery_deferred_durability", default=None
)


class WalSync:
    """The log file of one SQLite database, and how far it is known to be on disk."""

    def __init__(self, wal_path: str) -> None:
        self._path = wal_path
        self._descriptor: int | None = None
        self._lock = threading.Lock()
        self._committed = 0
        self._synced = 0

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
            covered = self._committed  # written to the log already: the fsync covers them
            if self._descriptor is None:
                try:
                    self._descriptor = os.open(self._path, os.O_RDONLY)
                except FileNotFoundError:
                    # the last connection closed: SQLite synced the log into the database
                    # file and removed it
                    self._synced = covered
                    return
            _sync_file(self._descriptor)
            self._synced = covered

    def close(self) -> None:
        """Forget the file (its connection is closing: SQLite may delete it)."""
        with self._lock:
            if self._descriptor is not None:
                os.close(self._descriptor)
                self._descriptor = None


@contextlib.contextmanager
def deferred() -> Iterator[list[tuple[WalSync, int]]]:
    """Within: commits do not wait for the disk; the list collects what to `wait` for
    before acknowledging (the server does that on a worker thread)."""
    pending: list[tuple[WalSync, int]] = []
    token = _deferred.set(pending)
    try:
        yield pending
    finally:
        _deferred.reset(token)
