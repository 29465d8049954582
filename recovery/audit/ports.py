"""What the audit needs from storage: the event log streamed as raw rows, in few statements.

`recovery.storage.audit.SqlAuditRows` implements `AuditRows`. Rows are plain sequences
(no per-row objects: a whole-database pass reads millions), their columns at the positions
named here; timestamps come as the database gives them, and `AuditRows.iso_text` turns one
into the ISO text form the chain hashes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

Row = Sequence[Any]

IdRange = tuple[str | None, str | None]
"""Incident ids from the first (inclusive) to the second (exclusive); None: no bound."""

# Column positions of a verification row (an event, or an incident's state row).
INCIDENT, KIND, SEQ, TYPE, SCHEMA, PLAYBOOK, PLAYBOOK_VERSION = 0, 1, 2, 3, 4, 5, 6
ACTOR, ROLE, CHANNEL, AT, DATA, PREV, HASH = 7, 8, 9, 10, 11, 12, 13
KIND_STATE, KIND_EVENT = 0, 1
"""KIND: 0 is the incident's state row (DATA: state JSON, SCHEMA: version, HASH: head
hash, TYPE: its personal data key as stored, None once erased), 1 an event. Sorted by
(incident_id, seq) the state row (seq 0) comes first. The state JSON is text or bytes (as
the database stores it); an event's DATA is text."""

EXPORT_FIELDS = (
    "incident_id",
    "site",
    "incident_type",
    "incident_status",
    "seq",
    "type",
    "schema_version",
    "playbook_id",
    "playbook_version",
    "actor",
    "actor_role",
    "channel",
    "recorded_at",
    "prev_hash",
    "hash",
    "data",
)
"""The columns of an export row, in order (`data` last: the event's data as stored)."""


@dataclass(frozen=True)
class ExportFilter:
    """Which events an export holds: one incident, a site, a playbook, a period in which
    they were recorded (`since` inclusive, `until` exclusive). None: any."""

    incident_id: str | None = None
    site: str | None = None
    playbook: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditRows(Protocol):
    """The event log read for audits: streamed, each stream one consistent snapshot.

    `batch` is the number of rows fetched per round trip (None: the adapter's default).
    Driver errors become `StorageError`."""

    def verification_rows(
        self,
        incident_ids: Sequence[str] | None = None,
        id_range: IdRange | None = None,
        batch: int | None = None,
    ) -> Iterator[Row]:
        """Every incident's state row and events (all incidents, those named, or those in
        the id range), ordered by (incident_id, seq), in ONE statement."""
        ...

    def split_points(self, parts: int) -> list[str]:
        """Incident ids that cut every incident, in id order, into `parts` ranges of about
        the same number of incidents (fewer if there are few incidents)."""
        ...

    def count_events(self, incident_ids: Sequence[str] | None = None) -> int:
        """How many events these incidents (all by default) hold."""
        ...

    def export_rows(self, where: ExportFilter, batch: int | None = None) -> Iterator[Row]:
        """The matching events with their incident's fields (`EXPORT_FIELDS`), ordered by
        (incident_id, seq)."""
        ...

    def iso_text(self, value: Any) -> str:
        """A timestamp of a row (`AT`, `recorded_at`) in the ISO text form the chain hashes."""
        ...

    def forked(self) -> AuditRows:
        """The adapter to use in a forked child process: it opens its own connections and
        leaves the parent's alone."""
        ...
