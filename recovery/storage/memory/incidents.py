"""`MemoryIncidentLog`: the incident log (`service.ports.IncidentLog`) in memory. States
and events are kept as their JSON text, so a reader gets a fresh copy, as from a row."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import orjson

from recovery.delivery.ports import DEAD, DELIVERED, PENDING
from recovery.domain.chain import canonical
from recovery.domain.compiler import ACTIVE_STATES
from recovery.domain.customers import customer_key_of
from recovery.domain.figures import Figures
from recovery.domain.personal import revealed
from recovery.domain.search import incident_terms, normalise
from recovery.domain.state import EVENT_FIELDS, Event, IncidentState, parse_iso
from recovery.errors import ConflictError, IncidentNotFoundError
from recovery.service.ports import Head, KeyedReply, KeyTaken, Record
from recovery.service.ports.reports import (
    Awaiting,
    Erasure,
    ErasureTotals,
    GroupBy,
    GroupTotals,
    ReportFilter,
)
from recovery.storage.erasure import EMPTIED, ERASED_REPLY
from recovery.storage.memory import figures
from recovery.storage.memory.idempotency import MemoryIdempotencyKeys


@dataclass
class StateRow:
    """An incident's current-state row."""

    site: str
    playbook_id: str
    playbook_version: int
    incident_type: str
    status: str
    owner: str
    next_due_at: str | None
    version: int
    head_hash: str
    state: bytes
    events: list[dict[str, Any]] = field(default_factory=list)
    terms: frozenset[str] = frozenset()
    opened_at: str = ""
    pushes: int = 0
    handoffs: int = 0
    figures: Figures | None = None
    key: bytes | None = None
    """the personal data key (`domain.personal`); None once erased"""
    erasure: Erasure | None = None
    """when and how its personal data was erased"""


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


class MemoryIncidentLog:
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

    def oldest_due(self) -> datetime | None:
        """The earliest step deadline of an active incident (`Storage.backlog`)."""
        with self.lock:
            due = [
                row.next_due_at
                for row in self.rows.values()
                if row.status in ACTIVE_STATES and row.next_due_at is not None
            ]
        return parse_iso(min(due)) if due else None

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
        with self.lock:
            found = [
                (row.next_due_at is None, row.next_due_at or "", incident_id, row.state)
                for incident_id, row in self.rows.items()
                if _matches(row, statuses, site, sites, playbook_id, owner)
            ]
        found.sort(key=lambda entry: entry[:3])
        return [IncidentState.from_json(entry[3]) for entry in found[offset : offset + limit]]

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
        start = None if after is None else (after[0] is None, after[0] or "", after[1])
        with self.lock:
            found = [
                ((row.next_due_at is None, row.next_due_at or "", incident_id), row)
                for incident_id, row in self.rows.items()
                if _matches(row, statuses, site, sites, playbook_id, owner)
            ]
        found = sorted(
            (entry for entry in found if start is None or entry[0] > start), key=lambda e: e[0]
        )[:limit]
        return [(IncidentState.from_json(row.state), row.next_due_at) for _key, row in found]

    def search(
        self, keys: Sequence[str], *, sites: Sequence[str] | None = None, limit: int = 50
    ) -> list[IncidentState]:
        with self.lock:
            found = [
                (row.opened_at, incident_id, row.state)
                for incident_id, row in self.rows.items()
                if (sites is None or row.site in sites)
                and any(term.startswith(key) for term in row.terms for key in keys)
            ]
        found.sort(key=lambda entry: entry[1])
        found.sort(key=lambda entry: entry[0], reverse=True)  # stable: newest, then by id
        return [IncidentState.from_json(entry[2]) for entry in found[:limit]]

    def incident_types(self, *, sites: Sequence[str] | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.lock:
            for row in self.rows.values():
                if sites is None or row.site in sites:
                    counts[row.incident_type] = counts.get(row.incident_type, 0) + 1
        return counts

    def iter_states(
        self,
        *,
        site: str | None = None,
        sites: Sequence[str] | None = None,
        playbook_id: str | None = None,
        chunk: int = 1000,
    ) -> Iterator[IncidentState]:
        with self.lock:
            found = sorted(
                (incident_id, row.state)
                for incident_id, row in self.rows.items()
                if _matches(row, None, site, sites, playbook_id, None)
            )
        for _incident_id, raw in found:
            yield IncidentState.from_json(raw)

    def customer_states(
        self, customer_key: str, *, sites: Sequence[str] | None = None, limit: int = 100
    ) -> list[IncidentState]:
        with self.lock:
            rows = [
                row.state
                for row in self.rows.values()
                if _matches(row, None, None, sites, None, None)
            ]
        states = [IncidentState.from_json(raw) for raw in rows]
        found = [s for s in states if customer_key_of(s.customer) == customer_key]
        found.sort(key=lambda s: (_desc(s.opened_at), s.id))
        return found[:limit]

    def events(
        self, incident_id: str, *, upto_seq: int | None = None, upto_time: str | None = None
    ) -> list[Event]:
        out = []
        with self.lock:
            found = self.rows.get(incident_id)
            key = found.key if found is not None else None
        for row in self.raw_events(incident_id):
            if upto_seq is not None and row["seq"] > upto_seq:
                break
            if upto_time is not None and row["recorded_at"] > upto_time:
                break
            out.append(revealed(Event.from_stored(row), key))
        return out

    def retention_due(self, playbook_id: str, ended_before: str, limit: int) -> list[str]:
        with self.lock:
            rows = [
                (IncidentState.from_json(row.state).ended_at, incident_id)
                for incident_id, row in self.rows.items()
                if row.playbook_id == playbook_id and row.key is not None
            ]
        due = sorted((ended, i) for ended, i in rows if ended is not None and ended < ended_before)
        return [incident_id for _ended, incident_id in due[:limit]]

    def settle_erasure(self) -> None:
        """Memory keeps no old copies."""

    def personal_key(self, incident_id: str) -> bytes | None:
        with self.lock:
            row = self.rows.get(incident_id)
            return row.key if row is not None else None

    def raw_events(self, incident_id: str) -> list[dict[str, Any]]:
        with self.lock:
            row = self.rows.get(incident_id)
            return [dict(event) for event in row.events] if row is not None else []

    def due_incident_ids(self, now: str, limit: int) -> list[str]:
        with self.lock:
            due = sorted(
                (row.next_due_at, incident_id)
                for incident_id, row in self.rows.items()
                if row.status in ACTIVE_STATES
                and row.next_due_at is not None
                and row.next_due_at <= now
            )
        return [incident_id for _due, incident_id in due[:limit]]

    def incident_ids(self) -> list[str]:
        with self.lock:
            return sorted(self.rows)

    def incident_site(self, incident_id: str) -> str | None:
        row = self.rows.get(incident_id)
        return None if row is None else row.site

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

    def report_totals(self, by: GroupBy, where: ReportFilter) -> list[GroupTotals]:
        with self.lock:
            rows = list(self.rows.values())
        return figures.report_totals(rows, by, where)

    def erasure_totals(self, by: GroupBy, where: ReportFilter) -> list[ErasureTotals]:
        with self.lock:
            rows = list(self.rows.values())
        return figures.erasure_totals(rows, by, where)

    def awaiting_approval(
        self, sites: Sequence[str] | None, limit: int, after: str | None = None
    ) -> list[Awaiting]:
        with self.lock:
            found = figures.awaiting(self.rows.items(), sites)
        return [a for a in found if after is None or a.incident_id > after][:limit]

    def states_of(self, incident_ids: Sequence[str]) -> list[IncidentState]:
        with self.lock:
            rows = [(i, self.rows[i].state) for i in dict.fromkeys(incident_ids) if i in self.rows]
        return [IncidentState.from_json(state, i) for i, state in rows]

    def step_actions(self, incident_ids: Sequence[str], action: str) -> list[Event]:
        out = []
        for incident_id in dict.fromkeys(incident_ids):
            with self.lock:
                found = self.rows.get(incident_id)
            if found is None:
                continue
            for row in self.raw_events(incident_id):
                event = Event.from_stored(row)
                if event.type == "step_action" and event.data.get("action") == action:
                    out.append(revealed(event, found.key))
        return out

    def awaiting_approval_count(self, sites: Sequence[str] | None) -> int:
        with self.lock:
            return sum(found.steps for found in figures.awaiting(self.rows.items(), sites))

    def close(self) -> None:
        """Nothing to release."""


def _matches(
    row: StateRow,
    statuses: Sequence[str] | None,
    site: str | None,
    sites: Sequence[str] | None,
    playbook_id: str | None,
    owner: str | None,
) -> bool:
    return (
        (not statuses or row.status in statuses)
        and (site is None or row.site == site)
        and (sites is None or row.site in sites)
        and (playbook_id is None or row.playbook_id == playbook_id)
        and (owner is None or row.owner == owner)
    )


def _desc(moment: str) -> tuple[int, ...]:
    """Sorts ISO moments newest first."""
    return tuple(-ord(c) for c in moment)
