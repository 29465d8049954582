"""`MemoryAuditRows`: the rows an audit streams (`audit.ports.AuditRows`), from the memory
log, in the order and layout a database gives them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from recovery.audit.ports import EXPORT_FIELDS, KIND_EVENT, KIND_STATE, ExportFilter, IdRange, Row
from recovery.domain.personal import encode_key
from recovery.domain.state import EVENT_FIELDS, iso
from recovery.storage.memory.incident_reads import StateRow
from recovery.storage.memory.incidents import MemoryIncidentLog


class MemoryAuditRows:
    """`audit.ports.AuditRows` over the memory log: the same rows a database streams."""

    def __init__(self, log: MemoryIncidentLog) -> None:
        self._log = log

    def _incidents(
        self, incident_ids: Sequence[str] | None, id_range: IdRange | None = None
    ) -> list[tuple[str, StateRow]]:
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
                encode_key(row.key),
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
