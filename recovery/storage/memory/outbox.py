"""`MemoryOutbox`: the webhook outbox (`delivery.ports.OutboxStore`) over the rows the
memory log queues, with the SQL adapter's claim and lease rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson

from recovery.delivery.ports import (
    DEAD,
    DELIVERING,
    FAILED,
    PENDING,
    Claim,
    MessageStatus,
    Wanted,
)
from recovery.domain.state import iso
from recovery.storage.leases import given_up
from recovery.storage.memory.incidents import MemoryIncidentLog
from recovery.storage.outcomes import MessageOutcomes


class MemoryOutbox(MessageOutcomes):
    """`delivery.ports.OutboxStore` over the rows the memory log queues."""

    def __init__(self, log: MemoryIncidentLog) -> None:
        self._log = log

    def waiting(self) -> int:
        """Messages not yet delivered nor given up (`Storage.backlog`)."""
        with self._log.lock:
            return sum(row["status"] in (PENDING, FAILED, DELIVERING) for row in self._log.outbox)

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
            (kinds is None or row["kind"] in kinds)
            and (sites is None or site in sites)
            and (since is None or row["created_at"] >= since)
            for kinds, sites, since in wanted
        )

    def _moment(self, moment: datetime) -> Any:
        return moment

    def _finish(self, claim: Claim, **values: Any) -> bool:
        with self._log.lock:
            row = self._log.outbox[claim.id - 1]
            if row["status"] != DELIVERING or row["attempts"] != claim.attempt:
                return False
            row.update(values)
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
