"""The unit of work of every incident command: read head → decide → seal → append, in ONE
transaction of the incident log (`ports.IncidentLog`).

A process remembers the state it last recorded for recently used incidents, so that a
command on one neither reads nor parses its ~3 kB snapshot: the append is conditional on
the row still being at that version and head hash, and falls back to reading the row when
another process moved it on. A refusal decided from the remembered state is never trusted
(it may be stale): the command is decided again from the row.

A command run under an idempotency key (`KeyedReplyOf`) writes the key's row, with the
reply it makes, in the transaction that appends its event: both are kept or neither.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import NamedTuple

from recovery.domain.chain import GENESIS, canonical, seal
from recovery.domain.effects import Effect, effects_of
from recovery.domain.figures import Figures
from recovery.domain.personal import conceal, new_key
from recovery.domain.state import Event, IncidentState
from recovery.errors import ConflictError, RecoveryError
from recovery.service.ports import (
    Head,
    IncidentLog,
    IncidentTransaction,
    KeyedReply,
    OutboxMessage,
    Record,
)


class Decision(NamedTuple):
    """What a command decided: the new state, its event, the nearest deadline, and the
    state's figures."""

    state: IncidentState
    event: Event
    next_due_at: str | None
    figures: Figures


Decider = Callable[[IncidentState], Decision]
Recorded = tuple[IncidentState, Event]
KeyedReplyOf = Callable[[IncidentState, Event], KeyedReply]
"""The idempotency key's row (with the reply) for a command's resulting state and event."""
Also = Callable[[IncidentTransaction, Record], None]
"""More writes in the transaction of a command's append, after it (an erasure's)."""


def sealed(decision: Decision, prev_hash: str, key: bytes | None) -> Record:
    """The decision chained to `prev_hash`, its personal values sealed under the incident's
    `key` (None: erased, they are dropped), with the outbox messages its effects ask for."""
    event = decision.event
    stored = conceal(event.type, event.data, key, event.incident_id, event.seq)
    event, data = seal(event, prev_hash, stored)
    messages = [_message(event, effect) for effect in effects_of(event.data)]
    return Record(
        decision.state, event, data, decision.next_due_at, messages, decision.figures, key
    )


def _message(event: Event, effect: Effect) -> OutboxMessage:
    body = {**effect.as_data(), "event": f"{event.incident_id}:{event.seq}"}
    return OutboxMessage(effect.kind, canonical(body).decode())


class Snapshots:
    """The state this process last recorded, per recently used incident (bounded). States
    handed to callers are never changed afterwards: commands decide on a copy."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._entries: dict[str, Head] = {}
        self._lock = threading.Lock()

    def get(self, incident_id: str) -> Head | None:
        return self._entries.get(incident_id)

    def keep(
        self,
        state: IncidentState,
        head_hash: str,
        figures: Figures | None = None,
        key: bytes | None = None,
    ) -> None:
        with self._lock:
            self._entries.pop(state.id, None)
            self._entries[state.id] = Head(state.version, head_hash, state, figures, key)
            if len(self._entries) > self._size:
                del self._entries[next(iter(self._entries))]  # the least recently recorded


class Contended:
    """Incidents another writer raced this process for lately (bounded): their commands
    take the row's lock first instead of trying optimistically and failing."""

    def __init__(self, window: float = 1.0, size: int = 1024) -> None:
        self.window = window  # seconds after the last lost race; 0: never lock first
        self._size = size
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def __contains__(self, incident_id: str) -> bool:
        until = self._until.get(incident_id)
        return until is not None and until > time.monotonic()

    def lost_race(self, incident_id: str) -> None:
        if self.window <= 0:
            return
        with self._lock:
            self._until.pop(incident_id, None)
            self._until[incident_id] = time.monotonic() + self.window
            if len(self._until) > self._size:
                del self._until[next(iter(self._until))]  # the longest ago


class IncidentUnitOfWork:
    """Records new incidents and runs commands on existing ones through `log`."""

    def __init__(self, log: IncidentLog) -> None:
        self.log = log
        self.snapshots = Snapshots()
        self.contended = Contended()

    def create(self, decision: Decision, keyed: KeyedReplyOf | None = None) -> Event:
        """Record a new incident: its state row and its first event."""
        record = sealed(decision, GENESIS, new_key())
        reply = keyed(record.state, record.event) if keyed is not None else None
        with self.log.transaction(record.state.id, locked=True, keyed=reply is not None) as tx:
            tx.append(record, None, reply)
        self.snapshots.keep(record.state, record.event.hash, record.figures, record.key)
        return record.event

    def execute(
        self,
        incident_id: str,
        decider: Decider,
        expected_version: int | None = None,
        keyed: KeyedReplyOf | None = None,
        also: Also | None = None,
    ) -> Recorded:
        """Read the incident's head, decide, seal and append, atomically; `also`: more
        writes in the same transaction, after the append."""
        known = self.snapshots.get(incident_id)
        if known is not None and expected_version not in (None, known.version):
            known = None  # let the row's own version answer the caller
        recorded: Record | None = None
        several = keyed is not None or also is not None  # statements that commit together
        if self.log.optimistic_first and incident_id not in self.contended:
            # Without contention one conditional write; with it, lock the incident rather
            # than retry blindly (measured: locking keeps a hot incident at ~2.5× the rate),
            # and for a while lock it first: a hot incident's optimistic tries mostly fail.
            with self.log.transaction(incident_id, locked=False, keyed=several) as tx:
                recorded = self._decide_and_append(
                    tx, incident_id, decider, expected_version, known, keyed, also
                )
            if recorded is None:
                self.contended.lost_race(incident_id)
            known = None
        elif self.log.optimistic_first:
            known = None  # under the lock the row is read first: it has likely moved on
        if recorded is None:
            with self.log.transaction(incident_id, locked=True, keyed=several) as tx:
                recorded = self._decide_and_append(
                    tx, incident_id, decider, expected_version, known, keyed, also
                )
                if recorded is None:
                    raise ConflictError(
                        f"incident {incident_id} moved on while this command ran; try again",
                        incident_id=incident_id,
                        current_version=None,
                    )
        key = recorded.key if recorded.state.erased_at is None else None  # erased: gone
        self.snapshots.keep(recorded.state, recorded.event.hash, recorded.figures, key)
        return recorded.state, recorded.event

    def _decide_and_append(
        self,
        tx: IncidentTransaction,
        incident_id: str,
        decider: Decider,
        expected_version: int | None,
        known: Head | None,
        keyed: KeyedReplyOf | None,
        also: Also | None = None,
    ) -> Record | None:
        if known is not None:
            try:
                recorded = self._append(tx, known, decider, keyed, also)
            except RecoveryError:
                recorded = None  # perhaps stale: decide again from the row
            if recorded is not None:
                return recorded
        head = tx.read_head(incident_id, expected_version, self.snapshots.get(incident_id))
        return self._append(tx, head, decider, keyed, also)

    @staticmethod
    def _append(
        tx: IncidentTransaction,
        head: Head,
        decider: Decider,
        keyed: KeyedReplyOf | None,
        also: Also | None = None,
    ) -> Record | None:
        """Decide from `head` (on a copy of its state) and append, provided the row is
        still at `head`; None if it is not."""
        record = sealed(decider(head.state.clone()), head.head_hash, head.key)
        reply = keyed(record.state, record.event) if keyed is not None else None
        if not tx.append(record, head, reply):
            return None
        if also is not None:
            also(tx, record)
        return record
