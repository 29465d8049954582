"""The background worker: records missed deadlines and delivers webhooks, in one loop.

Stateless: everything it needs is in the database (incident due times, the outbox), so any
number of workers can run against PostgreSQL, and a killed one loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from recovery.delivery import Deliverer, DeliveryStats, WebhookTarget
from recovery.errors import StorageError
from recovery.service.engine import Recovery

log = logging.getLogger("recovery.worker")


@dataclass(frozen=True)
class WorkerPass:
    deadlines_missed: int
    deliveries: DeliveryStats


def run(
    rec: Recovery,
    targets: Sequence[WebhookTarget],
    *,
    once: bool = False,
    poll_interval: float = 2.0,
    stop: threading.Event | None = None,
    batch: int = 100,
) -> WorkerPass:
    """Sweep deadlines and deliver webhooks until `stop` is set (or one pass with `once`)."""
    stop = stop or threading.Event()
    missed = 0
    delivered = DeliveryStats()
    with contextlib.ExitStack() as stack:
        deliverer = (
            stack.enter_context(Deliverer(rec.engine, targets, clock=rec.clock))
            if targets
            else None
        )
        while not stop.is_set():
            try:
                while swept := rec.sweep_deadlines(limit=batch):
                    missed += len(swept)
                    if stop.is_set():
                        break
                if deliverer is not None:
                    delivered = delivered + deliverer.deliver_due()
            except StorageError:
                if once:
                    raise
                log.exception("worker: database error; trying again in %gs", poll_interval)
            if once:
                break
            stop.wait(poll_interval)
    return WorkerPass(missed, delivered)
