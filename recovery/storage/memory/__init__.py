"""In-memory adapters of every port: the engine without a database, for unit tests and the
contract suite (which runs the same tests on memory, SQLite and PostgreSQL).

They keep what a database keeps and nothing more: states and events are stored as their
JSON text (a reader gets a fresh copy, as from a row), every append is conditional on the
version and head hash it was decided from, and one lock plays the database's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recovery.service.ports import Backlog, PendingSync
from recovery.service.ports.changes import ChangeSource
from recovery.storage.memory.accounts import MemoryAccountStore
from recovery.storage.memory.audit import MemoryAuditRows
from recovery.storage.memory.changes import MemoryChangeSource
from recovery.storage.memory.idempotency import MemoryIdempotencyKeys
from recovery.storage.memory.incidents import MemoryIncidentLog
from recovery.storage.memory.letters import MemoryLetterStore
from recovery.storage.memory.links import MemoryStatusLinkStore
from recovery.storage.memory.notifications import MemoryNotificationStore
from recovery.storage.memory.outbox import MemoryOutbox
from recovery.storage.memory.webhooks import MemoryWebhookEndpoints


class MemoryStorage:
    """`service.ports.Storage` in memory: gone when the process ends."""

    name = "memory"
    serial_writes = False

    def __init__(self) -> None:
        self.incidents = MemoryIncidentLog()
        self.outbox = MemoryOutbox(self.incidents)
        self.letters = MemoryLetterStore()
        self.audit = MemoryAuditRows(self.incidents)
        self.accounts = MemoryAccountStore()
        self.idempotency = self.incidents.keys  # written in the log's transactions
        self.links = MemoryStatusLinkStore(self.incidents)
        self.notifications = MemoryNotificationStore(self.incidents)
        self.webhooks = MemoryWebhookEndpoints(self.incidents, self.accounts)
        self.incidents.scrubbers += [
            self.letters.erase_personal,
            self.links.erase_personal,
            self.notifications.erase_personal,
        ]

    def ping(self) -> None:
        """Memory always answers."""

    @contextmanager
    def deferred_sync(self) -> Iterator[list[tuple[PendingSync, int]]]:
        yield []  # nothing to wait for: memory is as durable as it gets

    def changes(self) -> ChangeSource:
        return MemoryChangeSource(self.incidents, self.notifications)

    def migrate(self) -> None:
        """Memory has no schema."""

    def current_revision(self) -> str | None:
        return None

    def head_revision(self) -> str | None:
        return None

    def backlog(self) -> Backlog:
        return Backlog(
            outbox_pending=self.outbox.waiting(),
            letters_queued=self.letters.waiting(),
            oldest_due_at=self.incidents.oldest_due(),
        )

    def describe(self) -> str:
        return "memory"

    def file_path(self) -> Path | None:
        return None

    def dispose(self) -> None:
        """Nothing to release."""


__all__ = [
    "MemoryAccountStore",
    "MemoryAuditRows",
    "MemoryIdempotencyKeys",
    "MemoryIncidentLog",
    "MemoryLetterStore",
    "MemoryNotificationStore",
    "MemoryOutbox",
    "MemoryStatusLinkStore",
    "MemoryStorage",
]
