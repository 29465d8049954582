"""What is sent to other systems: the outbox of events, the webhook endpoints, and the log of
each request made to them."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from recovery.storage.tables.base import AutoId, Timestamp, metadata

outbox = Table(
    "outbox",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("incident_id", String(64), ForeignKey("incidents.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("delivered_at", Timestamp, nullable=True),
    Column("last_error", Text, nullable=True),
    # JSON list of the target URLs that answered 2xx: a retry goes to the others only
    Column("accepted_by", Text, nullable=True),
    Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
)

# ---------------------------------------------------------------------------- webhooks
# Webhook endpoints back offices register through the API (recovery.delivery.endpoints),
# and the log of each request made to them. The secret is kept as it is (signing needs
# it); it is shown once, when made. `kinds`/`sites`: JSON lists, NULL for all.

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(240), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("kinds", Text, nullable=True),
    Column("sites", Text, nullable=True),
    Column("secret", String(100), nullable=False),
    Column("previous_secret", String(100), nullable=True),
    Column("previous_until", Timestamp, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("deleted_at", Timestamp, nullable=True),
    Index("ix_webhook_endpoints_owner", "owner", "deleted_at"),
)

# One row per request to an endpoint; kept for a bounded time (the worker prunes by `at`).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("endpoint_id", String(32), ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("message_id", AutoId, ForeignKey("outbox.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("at", Timestamp, nullable=False),
    Index("ix_webhook_deliveries_endpoint_id", "endpoint_id", "id"),
    Index("ix_webhook_deliveries_message_id", "message_id", "endpoint_id"),
    Index("ix_webhook_deliveries_at", "at"),
)
