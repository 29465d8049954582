"""`MemoryIncidentLog`: the incident log (`service.ports.IncidentLog`) in memory. States
and events are kept as their JSON text, so a reader gets a fresh copy, as from a row."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

import orjson

from recovery.delivery.ports import DEAD, DELIVERED, PENDING
from recovery.domain.chain import canonical
from recovery.domain.search import incident_terms, normalise
from recovery.domain.state import EVENT_FIELDS, IncidentState, parse_iso
from recovery.errors import ConflictError, IncidentNotFoundError
from recovery.service.ports import Head, KeyedReply, KeyTaken, Record
from recovery.service.ports.reports import Erasure
from recovery.storage.erasure import EMPTIED, ERASED_REPLY
from recovery.storage.memory.idempotency import MemoryIdempotencyKeys
from recovery.storage.memory.incident_reads import MemoryIncidentReads, StateRow


class _Transaction:
    """The log's lock held for one command; nothing to undo, since appends are whole."""

    def __init__(self, log: MemoryIncidentLog) -> None:
        self._log = log

    def __enter__(self) -> _Transaction:
        self._log.lock.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._log.lock.release()

    def read_head(self, incident_id: str, expected_version: int | None, known: Head | None) -> Head:
        row = self._log.row(incident_id)
        if expected_version is not None and expected_version != row.version:
            raise ConflictError(
                f"incident {incident_id} is at version {row.version}, not {expected_version}: "
                "someone else acted on it; reload and decide again",
                incident_id=incident_id,
                current_version=row.version,
            )
        if known is not None and (known.version, known.head_hash) == (row.version, row.head_hash):
            return known
        return Head(row.version, row.head_hash, IncidentState.from_json(row.state), None, row.key)

    def erase_personal(self, incident_id: str, pseudonym: str, erasure: Erasure) -> None:
        log = self._log
        row = log.rows[incident_id]
        row.key, row.erasure = None, erasure
        row.terms = frozenset({normalise(incident_id)})
        for m in log.outbox:
            if m["incident_id"] == incident_id:
                m["payload"], m["last_error"] = EMPTIED, None
                if m["status"] != DELIVERED:
                    m["status"] = DEAD
        log.keys.erase_replies(incident_id, ERASED_REPLY)
        for scrub in log.scrubbers:
            scrub(incident_id)

    def append(self, record: Record, head: Head | None, reply: KeyedReply | None = None) -> bool:
        log, state, event = self._log, record.state, record.event
        if head is None:
            if state.id in log.rows:
                raise ConflictError(
                    f"incident {state.id} exists already",
                    incident_id=state.id,
                    current_version=None,
                )
            row = StateRow(
                state.site,
                state.playbook_id,
                state.playbook_version,
                state.incident_type,
                "",
                "",
                None,
                0,
                "",
                b"",
                terms=frozenset(incident_terms(state.id, state.customer, state.external_ref)),
                opened_at=state.opened_at,
                key=record.key,
            )
        else:
            row = log.rows[state.id]
            if (row.version, row.head_hash) != (head.version, head.head_hash):
                return False
        if reply is not None and not log.keys.is_free(reply):
            raise KeyTaken(reply.key)  # checked first: an append is not undone
        stored = {name: getattr(event, name) for name in EVENT_FIELDS}
        stored["data"] = record.data.decode()
        row.events.append(stored)
        row.status, row.owner, row.next_due_at = state.status, state.owner, record.next_due_at
        row.version, row.head_hash, row.state = state.version, event.hash, state.to_json()
        row.opened_at, row.pushes, row.handoffs = state.opened_at, state.pushes, state.handoffs
        row.figures = record.figures
        log.rows[state.id] = row
        at = parse_iso(event.recorded_at)
        for message in record.effects:
            log.outbox.append(
                {
                    "id": len(log.outbox) + 1,
                    "incident_id": event.incident_id,
                    "seq": event.seq,
                    "kind": message.kind,
                    "payload": message.payload,
                    "created_at": at,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": at,
                    "delivered_at": None,
                    "last_error": None,
                    "accepted_by": None,
                }
            )
        if reply is not None:
            log.keys.keep(reply)
        return True


class MemoryIncidentLog(MemoryIncidentReads):
    """`service.ports.IncidentLog` in memory."""

    optimistic_first = False

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.keys = MemoryIdempotencyKeys()  # written with the events, under `lock`
        self.rows: dict[str, StateRow] = {}
        self.outbox: list[dict[str, Any]] = []
        self.scrubbers: list[Callable[[str], None]] = []
        """what the other stores hold of an incident, scrubbed when it is erased"""
        self._playbooks: dict[tuple[str, int], tuple[str, bytes]] = {}

    def transaction(self, incident_id: str, *, locked: bool, keyed: bool = False) -> _Transaction:
        return _Transaction(self)

    def row(self, incident_id: str) -> StateRow:
        found = self.rows.get(incident_id)
        if found is None:
            raise IncidentNotFoundError(incident_id)
        return found

    def load(self, incident_id: str) -> tuple[IncidentState, str]:
        with self.lock:
            row = self.row(incident_id)
            return IncidentState.from_json(row.state), row.head_hash

    def settle_erasure(self) -> None:
        """Memory keeps no old copies."""

    def register_playbook(
        self, playbook_id: str, version: int, digest: str, definition: dict[str, Any], now: str
    ) -> str | None:
        with self.lock:
            stored = self._playbooks.get((playbook_id, version))
            if stored is not None:
                return stored[0]
            self._playbooks[(playbook_id, version)] = (digest, canonical(definition))
            return None

    def stored_definition(self, playbook_id: str, version: int) -> dict[str, Any] | None:
        stored = self._playbooks.get((playbook_id, version))
        return None if stored is None else dict(orjson.loads(stored[1]))

    def close(self) -> None:
        """Nothing to release."""
