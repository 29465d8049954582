"""Running the webhook worker: one pass over what is due (`deliver_due`, e.g. from cron), or
a loop polling until stopped (`run_worker`; `poll` also runs the mail worker's passes)."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

import httpx

from recovery.delivery._policy import RetryPolicy
from recovery.delivery._targets import WebhookTarget
from recovery.delivery._worker import (
    DEFAULT_LEASE,
    DEFAULT_TIMEOUT,
    Clock,
    Deliverer,
    DeliveryStats,
    utc_now,
)
from recovery.delivery.endpoints import EndpointStore
from recovery.delivery.ports import OutboxStore
from recovery.errors import StorageError

log = logging.getLogger("recovery.delivery")


def deliver_due(
    outbox: OutboxStore,
    targets: Sequence[WebhookTarget],
    *,
    clock: Clock = utc_now,
    limit: int | None = None,
    policy: RetryPolicy | None = None,
    lease: timedelta = DEFAULT_LEASE,
    batch_size: int = 20,
    timeout: float = DEFAULT_TIMEOUT,
    client: httpx.Client | None = None,
    rng: random.Random | None = None,
    endpoints: EndpointStore | None = None,
) -> DeliveryStats:
    """Deliver everything due now, then return (options as for `Deliverer`; `endpoints`:
    also to the endpoints registered there)."""
    with Deliverer(
        outbox,
        targets,
        clock=clock,
        policy=policy,
        lease=lease,
        batch_size=batch_size,
        timeout=timeout,
        client=client,
        rng=rng,
        endpoints=endpoints,
    ) as deliverer:
        return deliverer.deliver_due(limit=limit)


def run_worker(
    outbox: OutboxStore,
    targets: Sequence[WebhookTarget],
    *,
    clock: Clock = utc_now,
    once: bool = False,
    poll_interval: float = 1.0,
    stop: threading.Event | None = None,
    policy: RetryPolicy | None = None,
    lease: timedelta = DEFAULT_LEASE,
    batch_size: int = 20,
    timeout: float = DEFAULT_TIMEOUT,
    client: httpx.Client | None = None,
    rng: random.Random | None = None,
    endpoints: EndpointStore | None = None,
) -> DeliveryStats:
    """Deliver what is due, then poll every `poll_interval` seconds until `stop` is set
    (or after one pass with `once`). A database outage is logged and waited out, except
    with `once`, where it raises `StorageError`. Options as for `Deliverer`."""
    stop = stop or threading.Event()
    total = DeliveryStats()
    with Deliverer(
        outbox,
        targets,
        clock=clock,
        policy=policy,
        lease=lease,
        batch_size=batch_size,
        timeout=timeout,
        client=client,
        rng=rng,
        endpoints=endpoints,
    ) as deliverer:

        def one_pass() -> None:
            nonlocal total
            total = total + deliverer.deliver_due()

        poll(one_pass, once=once, poll_interval=poll_interval, stop=stop, name="webhook worker")
    return total


def poll(
    one_pass: Callable[[], None],
    *,
    once: bool,
    poll_interval: float,
    stop: threading.Event,
    name: str,
) -> None:
    """Run `one_pass` every `poll_interval` seconds until `stop` is set (or once). A
    database outage is logged and waited out, except with `once`, where it raises."""
    while not stop.is_set():
        try:
            one_pass()
        except StorageError:
            if once:
                raise
            log.exception("%s: database error; trying again in %gs", name, poll_interval)
        if once:
            break
        stop.wait(poll_interval)
