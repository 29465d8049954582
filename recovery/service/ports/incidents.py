"""The incident log port: events and current-state rows, one transaction per command."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol

from recovery.domain.figures import Figures
from recovery.domain.state import Event, IncidentState
from recovery.service.ports.accounts import KeyedReply
from recovery.service.ports.reports import Erasure, IncidentFigures


class Head(NamedTuple):
    """An incident as of one version: what a command decides from."""

    version: int
    head_hash: str
    state: IncidentState
    figures: Figures | None = None
    """the state's figures, when known (a state this process recorded)"""
    key: bytes | None = None
    """the incident's personal data key (`domain.personal`); None once erased"""


class OutboxMessage(NamedTuple):
    """An effect a command asks the back office for, queued with its event."""

    kind: str
    payload: str  # canonical JSON


class Record(NamedTuple):
    """What one command appends: its sealed event (and the exact bytes hashed), the state
    after it, the moment of its nearest deadline, the effects it queues, and its figures
    (`domain.figures`, kept in the row's columns)."""

    state: IncidentState
    event: Event
    data: bytes
    next_due_at: str | None
    effects: Sequence[OutboxMessage]
    figures: Figures
    key: bytes | None = None
    """a new incident: its personal data key, stored with its row"""


class IncidentTransaction(Protocol):
    """One transaction on one incident."""

    def read_head(self, incident_id: str, expected_version: int | None, known: Head | None) -> Head:
        """The incident's row now (`known` when it is still at that version and hash);
        `IncidentNotFoundError`, or `ConflictError` when not at `expected_version`."""
        ...

    def append(self, record: Record, head: Head | None, reply: KeyedReply | None = None) -> bool:
        """Write the event, the new state row and the outbox rows, provided the row is
        still at `head` (None: a new incident). False when another writer moved it on.
        `reply`: also write that idempotency key's row, in this transaction; `KeyTaken`
        (and nothing kept) when a live row of that key exists."""
        ...

    def erase_personal(self, incident_id: str, pseudonym: str, erasure: Erasure) -> None:
        """In this transaction, after the append of its `erased` event: record when and
        how it was erased (`erasure`, for the report), destroy the incident's personal
        data key and every plain copy of its personal values outside
        the events (customer key -> `pseudonym`, external reference, search terms, letter
        recipients and texts, undelivered webhook messages dropped and delivered ones
        emptied, notification texts, idempotent replies, status links)."""
        ...


class IncidentLog(IncidentFigures, Protocol):
    """The event log and the current-state rows of every incident."""

    optimistic_first: bool
    """Try an unlocked transaction first (a conditional write); lock only on conflict."""

    def transaction(
        self, incident_id: str, *, locked: bool, keyed: bool = False
    ) -> AbstractContextManager[IncidentTransaction]:
        """Committed on leaving, rolled back on an error (driver errors as ours).
        `locked`: concurrent writers on the incident queue and are all recorded.
        `keyed`: an append will carry an idempotency key's row (several statements that
        must commit together)."""
        ...

    def load(self, incident_id: str) -> tuple[IncidentState, str]: ...

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
    ) -> list[IncidentState]: ...

    def page_states(
        self,
        *,
        statuses: Sequence[str] | None = None,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook_id: str | None = None,
        owner: str | None = None,
        after: tuple[str | None, str] | None = None,
        limit: int = 50,
    ) -> list[tuple[IncidentState, str | None]]:
        """One page of the board: states with their next deadline (ISO, None: none), the
        nearest first, deadlines before none, then by id; only those after the key
        `after` = (next deadline, id) of the previous page's last row (keyset paging)."""
        ...

    def search(
        self, keys: Sequence[str], *, sites: Sequence[str] | None = None, limit: int = 50
    ) -> list[IncidentState]:
        """Incidents, open or ended, with a search term that starts with one of `keys`
        (`domain.search.query_keys`), at `sites` (None: every property); at most `limit`,
        most recently opened first. An index lookup: never a scan of the states."""
        ...

    def incident_types(self, *, sites: Sequence[str] | None = None) -> dict[str, int]:
        """Incident type -> how many incidents of it were opened at `sites` (None: all)."""
        ...

    def iter_states(
        self,
        *,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook_id: str | None = None,
        chunk: int = 1000,
    ) -> Iterator[IncidentState]: ...

    def customer_states(
        self, customer_key: str, *, sites: Sequence[str] | None = None, limit: int = 100
    ) -> list[IncidentState]:
        """The incidents of one customer (`domain.customers.customer_key_of`), newest first."""
        ...

    def events(
        self, incident_id: str, *, upto_seq: int | None = None, upto_time: str | None = None
    ) -> list[Event]: ...

    def states_of(self, incident_ids: Sequence[str]) -> list[IncidentState]:
        """The states of these incidents (those that exist, any order): one read."""
        ...

    def step_actions(self, incident_ids: Sequence[str], action: str) -> list[Event]:
        """The `step_action` events taking `action` in these incidents, each incident's in
        order: one read."""
        ...

    def raw_events(self, incident_id: str) -> list[dict[str, Any]]:
        """Rows exactly as stored (data as text, recorded_at as ISO text)."""
        ...

    def retention_due(self, playbook_id: str, ended_before: str, limit: int) -> list[str]:
        """Incidents of the playbook that ended before the moment (ISO) and whose personal
        data is still held, the longest ended first (an index range)."""
        ...

    def settle_erasure(self) -> None:
        """After erasures: leave no copy of what they scrubbed in the database's own files
        (SQLite: the write-ahead log checkpointed and truncated)."""
        ...

    def personal_key(self, incident_id: str) -> bytes | None:
        """The incident's personal data key (`domain.personal`); None once erased."""
        ...

    def due_incident_ids(self, now: str, limit: int) -> list[str]: ...

    def incident_ids(self) -> list[str]: ...

    def incident_site(self, incident_id: str) -> str | None: ...

    def register_playbook(
        self, playbook_id: str, version: int, digest: str, definition: dict[str, Any], now: str
    ) -> str | None:
        """Store a version's definition; the digest already stored, if any."""
        ...

    def stored_definition(self, playbook_id: str, version: int) -> dict[str, Any] | None: ...

    def close(self) -> None: ...
