"""Webhook delivery of the effects a back office carries out (book the room, post the
credit, send the letter, notify, escalate).

Each effect is written to the outbox in the same transaction as its event; a worker
claims due messages, POSTs them as JSON to the configured targets and records the outcome,
with retries, back-off, leases and a final `dead` state. At-least-once: receivers
de-duplicate on `X-Recovery-Delivery`. The logic here works on the `OutboxStore` port
(`ports.py`); storage implements it.

    from recovery.delivery import WebhookTarget, deliver_due, run_worker

    targets = [WebhookTarget("https://pms.example/hooks", secret="s3cr3t",
                             kinds={"book_room", "post_payment"}, sites={"ribe-central"})]
    run_worker(rec.storage.outbox, targets)     # until stopped
    deliver_due(rec.storage.outbox, targets)    # or: one pass, e.g. from cron

Every request carries:

    X-Recovery-Event       "<incident id>:<seq>", the event that asked for the effect
    X-Recovery-Delivery    the outbox message id: the same on every attempt (de-duplicate)
    X-Recovery-Attempt     1, 2, ...
    X-Recovery-Timestamp   Unix seconds when this attempt was sent
    X-Recovery-Signature   sha256=<hex HMAC-SHA256 of the raw body with the target's secret>

and a body `{"delivery_id", "event", "incident_id", "seq", "kind", "created_at",
"effect": <the effect as recorded>}`. `recovery.delivery.testing.WebhookReceiver` is a
small real receiver for tests and a template for back offices.
"""

from recovery.delivery._loop import deliver_due, poll, run_worker
from recovery.delivery._policy import RetryPolicy
from recovery.delivery._signing import (
    ATTEMPT_HEADER,
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    verify_signature,
)
from recovery.delivery._status import DeliveryStatus, delivery_status
from recovery.delivery._targets import WebhookTarget, parse_targets
from recovery.delivery._worker import (
    DEFAULT_LEASE,
    DEFAULT_TIMEOUT,
    LOST,
    SKIPPED,
    Deliverer,
    DeliveryStats,
    envelope,
)
from recovery.delivery.ports import (
    DEAD,
    DELIVERED,
    DELIVERING,
    FAILED,
    PENDING,
    STATUSES,
    Claim,
    MessageStatus,
    OutboxStore,
)

__all__ = [
    "ATTEMPT_HEADER",
    "DEAD",
    "DEFAULT_LEASE",
    "DEFAULT_TIMEOUT",
    "DELIVERED",
    "DELIVERING",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "FAILED",
    "LOST",
    "PENDING",
    "SIGNATURE_HEADER",
    "SKIPPED",
    "STATUSES",
    "TIMESTAMP_HEADER",
    "Claim",
    "Deliverer",
    "DeliveryStats",
    "DeliveryStatus",
    "MessageStatus",
    "OutboxStore",
    "RetryPolicy",
    "WebhookTarget",
    "deliver_due",
    "delivery_status",
    "envelope",
    "parse_targets",
    "poll",
    "run_worker",
    "sign",
    "verify_signature",
]
