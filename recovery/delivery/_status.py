"""Delivery state as people and tools read it: counts per status and the messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from recovery.delivery.ports import STATUSES, MessageStatus, OutboxStore


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
    outbox: OutboxStore,
    incident_id: str | None = None,
    *,
    statuses: Sequence[str] | None = None,
    limit: int = 1000,
) -> DeliveryStatus:
    """Counts per status for one incident's messages (or all), every status present (0
    when none), and up to `limit` of the messages themselves (only those in `statuses`,
    if given), oldest first."""
    counted, messages = outbox.status(incident_id, statuses=statuses, limit=limit)
    counted = dict(counted)
    counts = {status: counted.pop(status, 0) for status in STATUSES}
    counts.update(counted)
    return DeliveryStatus(counts=counts, messages=messages)
