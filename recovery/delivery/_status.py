"""Delivery state as people and tools read it: counts per status and the messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, func, select

from recovery.delivery._claims import STATUSES
from recovery.storage.database import reading
from recovery.storage.moments import from_column
from recovery.storage.tables import outbox


@dataclass(frozen=True)
class MessageStatus:
    """One outbox message. `next_attempt_at` is when it is due (pending, failed) or when
    its current claim's lease ends (delivering); it means nothing once delivered or dead."""

    id: int
    incident_id: str
    seq: int
    event: str
    kind: str
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str
    delivered_at: str | None
    last_error: str | None
    accepted_by: list[str]  # target URLs that took it; a retry goes to the others


@dataclass(frozen=True)
class DeliveryStatus:
    counts: dict[str, int]
    messages: list[MessageStatus]

    @property
    def backlog(self) -> int:
        """Messages not yet delivered and not given up on."""
        return sum(self.counts[s] for s in ("pending", "delivering", "failed"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "backlog": self.backlog,
            "messages": [asdict(m) for m in self.messages],
        }


def delivery_status(
    engine: Engine,
    incident_id: str | None = None,
    *,
    statuses: Sequence[str] | None = None,
    limit: int = 1000,
) -> DeliveryStatus:
    """Counts per status for one incident's messages (or all), and up to `limit` of the
    messages themselves (only those in `statuses`, if given), oldest first."""
    counting = select(outbox.c.status, func.count()).group_by(outbox.c.status)
    listing = select(outbox).order_by(outbox.c.id).limit(limit)
    if incident_id is not None:
        counting = counting.where(outbox.c.incident_id == incident_id)
        listing = listing.where(outbox.c.incident_id == incident_id)
    if statuses is not None:
        listing = listing.where(outbox.c.status.in_(list(statuses)))
    with reading(engine) as conn:  # never takes SQLite's write lock the workers need
        counted = {status: int(n) for status, n in conn.execute(counting)}
        rows = conn.execute(listing).all()
    counts = {status: counted.pop(status, 0) for status in STATUSES}
    counts.update(counted)
    return DeliveryStatus(
        counts=counts,
        messages=[
            MessageStatus(
                id=r.id,
                incident_id=r.incident_id,
                seq=r.seq,
                event=f"{r.incident_id}:{r.seq}",
                kind=r.kind,
                status=r.status,
                attempts=r.attempts,
                created_at=from_column(r.created_at) or "",
                next_attempt_at=from_column(r.next_attempt_at) or "",
                delivered_at=from_column(r.delivered_at),
                last_error=r.last_error,
                accepted_by=orjson.loads(r.accepted_by) if r.accepted_by else [],
            )
            for r in rows
        ],
    )
