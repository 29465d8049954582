"""Ports: what the service needs from storage, as protocols that storage implements.

The service owns every use case and the shape of every transaction (for a command: read
head → decide → seal → append); an adapter owns only its statements. `recovery.storage`
implements these on SQLAlchemy (SQLite, PostgreSQL), `recovery.storage.memory` in memory.

    Storage                 the bundle `bootstrap` builds and `Recovery` is given
      .incidents  IncidentLog       events + current-state rows        (ports.incidents)
      .letters    LetterStore       queued letters, vouchers           (letters.ports)
      .outbox     OutboxStore       webhook claims and delivery status (delivery.ports)
      .webhooks   EndpointStore     registered webhook endpoints, their log (delivery.endpoints)
      .links      StatusLinkStore   customers' status links            (ports.links)
      .accounts   AccountStore      users, API tokens, login sessions  (ports.accounts)
      .idempotency IdempotencyKeys  idempotency keys of HTTP commands  (ports.accounts)
      .audit      AuditRows         streamed rows for verification and export (audit.ports)
      .notifications NotificationStore  who was told what, read or not   (ports.notifications)
      .changes()  ChangeSource      what anyone committed since the last look  (ports.changes)
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from recovery.audit.ports import AuditRows
from recovery.delivery.endpoints import EndpointStore
from recovery.delivery.ports import OutboxStore
from recovery.letters.ports import LetterStore
from recovery.service.ports.accounts import AccountStore, IdempotencyKeys, KeyedReply, KeyTaken
from recovery.service.ports.changes import Change, ChangeSource
from recovery.service.ports.incidents import (
    Head,
    IncidentLog,
    IncidentTransaction,
    OutboxMessage,
    Record,
)
from recovery.service.ports.links import StatusLinkStore
from recovery.service.ports.notifications import NotificationStore


class PendingSync(Protocol):
    """A commit made without waiting for the disk (`Storage.deferred_sync`)."""

    async def wait_async(self, ticket: int) -> None:
        """Return once the commit with `ticket` is on disk; the event loop serves others
        meanwhile."""
        ...


@dataclass(frozen=True)
class Backlog:
    """What is waiting in the database (`Storage.backlog`)."""

    outbox_pending: int  # webhook messages not yet delivered nor given up
    letters_queued: int  # letters not yet sent nor given up
    oldest_due_at: datetime | None  # the earliest step deadline of an active incident


class Storage(Protocol):
    """Every adapter of one database, and the database's own life cycle."""

    @property
    def incidents(self) -> IncidentLog: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def letters(self) -> LetterStore: ...

    @property
    def webhooks(self) -> EndpointStore: ...

    @property
    def audit(self) -> AuditRows: ...

    @property
    def accounts(self) -> AccountStore: ...

    @property
    def idempotency(self) -> IdempotencyKeys: ...

    @property
    def links(self) -> StatusLinkStore: ...

    @property
    def notifications(self) -> NotificationStore: ...

    @property
    def name(self) -> str:
        """The database kind: sqlite, postgresql or memory."""
        ...

    @property
    def serial_writes(self) -> bool:
        """Whether writes are serialised in-process (SQLite): the HTTP server then runs
        them one at a time instead of on a thread pool."""
        ...

    def ping(self) -> None:
        """Raise `StorageError` unless the database answers (a read, no write lock)."""
        ...

    def deferred_sync(self) -> AbstractContextManager[Sequence[tuple[PendingSync, int]]]:
        """Within: serial writes commit without waiting for the disk; the list collects
        what to await before acknowledging them (one fsync for all waiting). Empty where
        every commit is durable on its own."""
        ...

    def changes(self) -> ChangeSource:
        """A new reader of the changes committed from now on (it holds a connection:
        one per process, closed by its owner)."""
        ...

    def migrate(self) -> None:
        """Bring the schema to the newest version (creating the database if needed)."""
        ...

    def current_revision(self) -> str | None:
        """The schema version the database is at (None: not created yet)."""
        ...

    def head_revision(self) -> str | None:
        """The newest schema version this code knows (None: no schema, as in memory)."""
        ...

    def backlog(self) -> Backlog:
        """What waits: one indexed COUNT or MIN per figure (for metrics; not per request)."""
        ...

    def describe(self) -> str:
        """Where the data lives, password hidden (for reports and exports)."""
        ...

    def file_path(self) -> Path | None:
        """The database file of an embedded database; None for a server or memory."""
        ...

    def dispose(self) -> None: ...


__all__ = [
    "AccountStore",
    "Backlog",
    "Change",
    "ChangeSource",
    "EndpointStore",
    "Head",
    "IdempotencyKeys",
    "IncidentLog",
    "IncidentTransaction",
    "KeyTaken",
    "KeyedReply",
    "LetterStore",
    "NotificationStore",
    "OutboxMessage",
    "PendingSync",
    "Record",
    "StatusLinkStore",
    "Storage",
]
