"""Ports: what the service needs from storage, as protocols that storage implements.

The service owns every use case and the shape of every transaction (for a command: read
head → decide → seal → append); an adapter owns only its statements. `recovery.storage`
implements these on SQLAlchemy (SQLite, PostgreSQL), `recovery.storage.memory` in memory.

    Storage                 the bundle `bootstrap` builds and `Recovery` is given
      .incidents  IncidentLog       events + current-state rows        (ports.incidents)
      .letters    LetterStore       queued letters, vouchers           (letters.ports)
      .outbox     OutboxStore       webhook claims and delivery status (delivery.ports)
      .links      StatusLinkStore   customers' status links            (ports.links)
      .accounts   AccountStore      users, tokens, sessions, idempotency keys (ports.accounts)
      .audit      AuditRows         streamed rows for verification and export (audit.ports)
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from recovery.audit.ports import AuditRows
from recovery.delivery.ports import OutboxStore
from recovery.letters.ports import LetterStore
from recovery.service.ports.incidents import (
    Head,
    IncidentLog,
    IncidentTransaction,
    OutboxMessage,
    Record,
)


class Storage(Protocol):
    """Every adapter of one database, and the database's own life cycle."""

    @property
    def incidents(self) -> IncidentLog: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def letters(self) -> LetterStore: ...

    @property
    def audit(self) -> AuditRows: ...

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

    def describe(self) -> str:
        """Where the data lives, password hidden (for reports and exports)."""
        ...

    def file_path(self) -> Path | None:
        """The database file of an embedded database; None for a server or memory."""
        ...

    def dispose(self) -> None: ...


__all__ = [
    "Head",
    "IncidentLog",
    "IncidentTransaction",
    "LetterStore",
    "OutboxMessage",
    "Record",
    "Storage",
]
