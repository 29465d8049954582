"""Reads of the in-memory incident log: states, events, the due and the retained, the
figures' aggregates (the memory side of `storage.incident_reads`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recovery.domain.compiler import ACTIVE_STATES
from recovery.domain.customers import customer_key_of
from recovery.domain.figures import Figures
from recovery.domain.personal import revealed
from recovery.domain.state import Event, IncidentState, parse_iso
from recovery.service.ports.reports import (
    Awaiting,
    Erasure,
    ErasureTotals,
    GroupBy,
    GroupTotals,
    ReportFilter,
)
from recovery.storage.memory import figures


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


class MemoryIncidentReads:
    """Everything read from the rows outside a command's transaction, under `lock`."""

    lock: threading.RLock
    rows: dict[str, StateRow]

    def oldest_due(self) -> datetime | None:
        """The earliest step deadline of an active incident (`Storage.backlog`)."""
        with self.lock:
            due = [
                row.next_due_at
                for row in self.rows.values()
                if row.status in ACTIVE_STATES and row.next_due_at is not None
            ]
        return parse_iso(min(due)) if due else None

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
