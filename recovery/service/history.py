"""The engine's reads of the log itself: an incident's events, its state at any earlier
moment, the verification of its chain, exports and the outbox as stored (a mixin of
`Recovery`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO, Protocol

from recovery.audit import (
    Auditor,
    ExportFilter,
    ExportSummary,
    Format,
    Verification,
    export_events,
    state_unreadable,
    verify_incident,
)
from recovery.domain.apply import replay
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import Event, IncidentState, iso
from recovery.errors import CommandRejectedError, IncidentNotFoundError, IntegrityError
from recovery.service.ports import Storage
from recovery.service.ports.incidents import IncidentLog


class _Engine(Protocol):
    storage: Storage
    log: IncidentLog

    def playbook_of(self, state: IncidentState) -> CompiledPlaybook: ...

    def pinned_playbook(self, playbook_id: str, version: int) -> CompiledPlaybook: ...

    def auditor(self) -> Auditor: ...


class HistoryQueries:
    def timeline(self: _Engine, incident_id: str, *, upto_seq: int | None = None) -> list[Event]:
        found = self.log.events(incident_id, upto_seq=upto_seq)
        if not found:
            raise IncidentNotFoundError(incident_id)
        return found

    def replay(
        self: _Engine,
        incident_id: str,
        *,
        at_seq: int | None = None,
        at_time: datetime | None = None,
    ) -> IncidentState:
        """The incident's state as it was after event `at_seq` or at moment `at_time`."""
        found = self.log.events(
            incident_id, upto_seq=at_seq, upto_time=iso(at_time) if at_time else None
        )
        if not found:
            self.log.load(incident_id)  # raises IncidentNotFoundError if it never existed
            raise CommandRejectedError(
                f"incident {incident_id} did not exist yet at that moment", field="at"
            )
        compiled = self.pinned_playbook(found[0].playbook_id, found[0].playbook_version)
        return replay(compiled, found)

    def verify(self: _Engine, incident_id: str) -> Verification:
        try:
            state, head_hash = self.log.load(incident_id)
        except IntegrityError as exc:  # the state row is unreadable: say so, and where
            return state_unreadable(incident_id, self.log.raw_events(incident_id), exc)
        rows = self.log.raw_events(incident_id)
        compiled = self.playbook_of(state)
        key = self.log.personal_key(incident_id)
        return verify_incident(incident_id, rows, state, head_hash, compiled, key)

    def verify_all(self: _Engine) -> list[Verification]:
        """Every incident's chain and strict replay, read in one streamed pass."""
        return [
            Verification(r.incident_id, r.ok, r.events, r.broken_seq, r.problem, r.erased_at)
            for r in self.auditor().results()
        ]

    def auditor(self: _Engine) -> Auditor:
        """Streamed verification passes over the whole log, each incident replayed through
        the playbook version it pinned (as `verify` does)."""
        return Auditor(self.storage.audit, self.pinned_playbook)

    def export_events(
        self: _Engine, out: BinaryIO, fmt: Format = "jsonl", where: ExportFilter | None = None
    ) -> ExportSummary:
        """Events with their incident's fields and hashes, written to `out` as JSONL or CSV."""
        return export_events(self.storage.audit, out, fmt, where)

    def outbox(self: _Engine, incident_id: str | None = None) -> list[dict[str, Any]]:
        """The webhook messages (one incident's, or all) as stored, oldest first."""
        return self.storage.outbox.rows(incident_id)
