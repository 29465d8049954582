"""In-memory adapters of the service's ports: the engine without a database, for unit tests
and the contract suite (which runs the same tests on memory, SQLite and PostgreSQL).

They keep what a database keeps and nothing more: states and events are stored as their
JSON text (a reader gets a fresh copy, as from a row), every append is conditional on the
version and head hash it was decided from, and one lock plays the database's transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from recovery.audit.ports import EXPORT_FIELDS, KIND_EVENT, KIND_STATE, ExportFilter, IdRange, Row
from recovery.delivery.ports import (
    DEAD,
    DELIVERED,
    DELIVERING,
    FAILED,
    PENDING,
    Claim,
    MessageStatus,
    Wanted,
)
from recovery.domain.chain import canonical
from recovery.domain.compiler import ACTIVE_STATES
from recovery.domain.state import EVENT_FIELDS, Event, IncidentState, iso, parse_iso
from recovery.errors import ConflictError, IncidentNotFoundError
from recovery.service.ports import Head, Record
from recovery.storage.leases import clip, given_up
from recovery.storage.memory_letters import MemoryLetterStore


@dataclass
class _Row:
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
        return Head(row.version, row.head_hash, IncidentState.from_json(row.state))

    def append(self, record: Record, head: Head | None) -> bool:
        log, state, event = self._log, record.state, record.event
        if head is None:
            if state.id in log.rows:
                raise ConflictError(
                    f"incident {state.id} exists already",
                    incident_id=state.id,
                    current_version=None,
                )
            row = _Row(
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
            )
        else:
            row = log.rows[state.id]
            if (row.version, row.head_hash) != (head.version, head.head_hash):
                return False
        stored = {name: getattr(event, name) for name in EVENT_FIELDS}
        stored["data"] = record.data.decode()
        row.events.append(stored)
        row.status, row.owner, row.next_due_at = state.status, state.owner, record.next_due_at
        row.version, row.head_hash, row.state = state.version, event.hash, state.to_json()
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
        return True


class MemoryIncidentLog:
    """`service.ports.IncidentLog` in memory."""

    optimistic_first = False

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.rows: dict[str, _Row] = {}
        self.outbox: list[dict[str, Any]] = []
        self._playbooks: dict[tuple[str, int], tuple[str, bytes]] = {}

    def transaction(self, incident_id: str, *, locked: bool) -> _Transaction:
        return _Transaction(self)

    def row(self, incident_id: str) -> _Row:
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

    def events(
        self, incident_id: str, *, upto_seq: int | None = None, upto_time: str | None = None
    ) -> list[Event]:
        out = []
        for row in self.raw_events(incident_id):
            if upto_seq is not None and row["seq"] > upto_seq:
                break
            if upto_time is not None and row["recorded_at"] > upto_time:
                break
            out.append(Event.from_stored(row))
        return out

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

    def close(self) -> None:
        """Nothing to release."""


def _matches(
    row: _Row,
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


class MemoryOutbox:
    """`delivery.ports.OutboxStore` over the rows the memory log queues."""

    def __init__(self, log: MemoryIncidentLog) -> None:
        self._log = log

    def claim(
        self,
        now: datetime,
        *,
        limit: int,
        lease: timedelta,
        max_attempts: int,
        wanted: Sequence[Wanted] | None = None,
    ) -> tuple[list[Claim], int]:
        lease_until = now + lease
        with self._log.lock:
            due = sorted(
                (
                    row
                    for row in self._log.outbox
                    if row["status"] in (PENDING, FAILED, DELIVERING)
                    and row["next_attempt_at"] <= now
                    and self._wanted(row, wanted)
                ),
                key=lambda row: (row["next_attempt_at"], row["id"]),
            )[:limit]
            claims, dead = [], 0
            for row in due:
                if row["status"] == DELIVERING and row["attempts"] >= max_attempts:
                    row["status"] = DEAD
                    row["last_error"] = given_up(row["attempts"], max_attempts, row["last_error"])
                    dead += 1
                    continue
                row.update(status=DELIVERING, attempts=row["attempts"] + 1)
                row["next_attempt_at"] = lease_until
                claims.append(
                    Claim(
                        id=row["id"],
                        incident_id=row["incident_id"],
                        site=self._log.rows[row["incident_id"]].site,
                        seq=row["seq"],
                        kind=row["kind"],
                        payload=row["payload"],
                        created_at=row["created_at"],
                        attempt=row["attempts"],
                        lease_until=lease_until,
                        accepted_by=frozenset(orjson.loads(row["accepted_by"] or "[]")),
                    )
                )
        return claims, dead

    def _wanted(self, row: dict[str, Any], wanted: Sequence[Wanted] | None) -> bool:
        if wanted is None:
            return True
        site = self._log.rows[row["incident_id"]].site
        return any(
            (kinds is None or row["kind"] in kinds) and (sites is None or site in sites)
            for kinds, sites in wanted
        )

    def mark_delivered(
        self, claim: Claim, now: datetime, accepted_by: Collection[str] = ()
    ) -> bool:
        return self._finish(claim, status=DELIVERED, delivered_at=now, accepted_by=accepted_by)

    def mark_failed(
        self,
        claim: Claim,
        error: str,
        retry_at: datetime | None,
        accepted_by: Collection[str] = (),
    ) -> bool:
        if retry_at is None:
            return self._finish(claim, status=DEAD, last_error=clip(error), accepted_by=accepted_by)
        return self._finish(
            claim,
            status=FAILED,
            last_error=clip(error),
            next_attempt_at=retry_at,
            accepted_by=accepted_by,
        )

    def _finish(self, claim: Claim, accepted_by: Collection[str], **values: Any) -> bool:
        with self._log.lock:
            row = self._log.outbox[claim.id - 1]
            if row["status"] != DELIVERING or row["attempts"] != claim.attempt:
                return False
            row.update(values)
            row["accepted_by"] = orjson.dumps(sorted(accepted_by)).decode() if accepted_by else None
            return True

    def status(
        self,
        incident_id: str | None = None,
        *,
        statuses: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> tuple[dict[str, int], list[MessageStatus]]:
        rows = self.rows(incident_id)
        counted: dict[str, int] = {}
        for row in rows:
            counted[row["status"]] = counted.get(row["status"], 0) + 1
        listed = [row for row in rows if statuses is None or row["status"] in statuses][:limit]
        return counted, [
            MessageStatus(
                id=row["id"],
                incident_id=row["incident_id"],
                seq=row["seq"],
                event=f"{row['incident_id']}:{row['seq']}",
                kind=row["kind"],
                status=row["status"],
                attempts=row["attempts"],
                created_at=iso(row["created_at"]),
                next_attempt_at=iso(row["next_attempt_at"]),
                delivered_at=iso(row["delivered_at"]) if row["delivered_at"] else None,
                last_error=row["last_error"],
                accepted_by=row["accepted_by"],
            )
            for row in listed
        ]

    def rows(self, incident_id: str | None = None) -> list[dict[str, Any]]:
        with self._log.lock:
            found = [
                dict(row)
                for row in self._log.outbox
                if incident_id is None or row["incident_id"] == incident_id
            ]
        for row in found:
            row["payload"] = orjson.loads(row["payload"])
            row["accepted_by"] = orjson.loads(row["accepted_by"]) if row["accepted_by"] else []
        return found


class MemoryAuditRows:
    """`audit.ports.AuditRows` over the memory log: the same rows a database streams."""

    def __init__(self, log: MemoryIncidentLog) -> None:
        self._log = log

    def _incidents(
        self, incident_ids: Sequence[str] | None, id_range: IdRange | None = None
    ) -> list[tuple[str, _Row]]:
        low, high = id_range or (None, None)
        with self._log.lock:
            return sorted(
                (incident_id, row)
                for incident_id, row in self._log.rows.items()
                if (incident_ids is None or incident_id in incident_ids)
                and (low is None or incident_id >= low)
                and (high is None or incident_id < high)
            )

    def verification_rows(
        self,
        incident_ids: Sequence[str] | None = None,
        id_range: IdRange | None = None,
        batch: int | None = None,
    ) -> Iterator[Row]:
        for incident_id, row in self._incidents(incident_ids, id_range):
            yield (
                incident_id,
                KIND_STATE,
                0,
                None,
                row.version,
                row.playbook_id,
                row.playbook_version,
                None,
                None,
                None,
                None,
                row.state,
                None,
                row.head_hash,
            )
            for event in list(row.events):
                yield (
                    incident_id,
                    KIND_EVENT,
                    *(event[name] for name in EVENT_FIELDS[1:]),
                )

    def split_points(self, parts: int) -> list[str]:
        ids = [incident_id for incident_id, _row in self._incidents(None)]
        return sorted({ids[len(ids) * k // parts] for k in range(1, parts) if ids})

    def count_events(self, incident_ids: Sequence[str] | None = None) -> int:
        return sum(len(row.events) for _id, row in self._incidents(incident_ids))

    def export_rows(self, where: ExportFilter, batch: int | None = None) -> Iterator[Row]:
        since = iso(where.since) if where.since is not None else None
        until = iso(where.until) if where.until is not None else None
        for incident_id, row in self._incidents(None):
            if (
                (where.incident_id is not None and incident_id != where.incident_id)
                or (where.site is not None and row.site != where.site)
                or (where.playbook is not None and row.playbook_id != where.playbook)
            ):
                continue
            for event in list(row.events):
                at = event["recorded_at"]
                if (since is not None and at < since) or (until is not None and at >= until):
                    continue
                yield (
                    incident_id,
                    row.site,
                    row.incident_type,
                    row.status,
                    *(event[name] for name in _EXPORTED_EVENT_FIELDS),
                )

    def iso_text(self, value: Any) -> str:
        return str(value)  # stored in the ISO text form already

    def forked(self) -> MemoryAuditRows:
        return self  # a forked child holds a copy of this memory


_EXPORTED_EVENT_FIELDS = EXPORT_FIELDS[4:]


class MemoryStorage:
    """`service.ports.Storage` in memory: gone when the process ends."""

    name = "memory"
    serial_writes = False

    def __init__(self) -> None:
        self.incidents = MemoryIncidentLog()
        self.outbox = MemoryOutbox(self.incidents)
        self.letters = MemoryLetterStore()
        self.audit = MemoryAuditRows(self.incidents)

    def ping(self) -> None:
        """Memory always answers."""

    def describe(self) -> str:
        return "memory"

    def file_path(self) -> Path | None:
        return None

    def dispose(self) -> None:
        """Nothing to release."""
