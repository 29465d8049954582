"""Who may do what: people, systems, sessions, sign-in failures, idempotency keys, and the
links that open a customer's status page."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from recovery.storage.tables.base import AutoId, Timestamp, metadata

# ---------------------------------------------------------------------------- access
# People (users, passwords hashed with argon2), systems (API tokens, stored as SHA-256 of a
# high-entropy secret), login sessions, and idempotency keys of POSTed commands.
# `sites` is a JSON list of the properties a principal may act on (["*"]: every property).

users = Table(
    "users",
    metadata,
    Column("username", String(200), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(64), nullable=False),
    Column("sites", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("disabled_at", Timestamp, nullable=True),
    # where their notifications are mailed, and since when they asked for it (None: not)
    Column("email", String(320), nullable=True),
    Column("notify_by_email_since", Timestamp, nullable=True),
    Column("locale", String(16), nullable=True),  # staff pages' language; NULL: the browser's
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(64), nullable=False),
    Column("sites", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(200), ForeignKey("users.username"), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
    Index("ix_sessions_username", "username"),
)

# Failed sign-ins, one row per key (`u:` username, `a:` client address, `ua:` both) and
# failure, shared by every server process and kept across restarts; counted over a window.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("key", String(320), nullable=False),
    Column("failed_at", Timestamp, nullable=False),
    Index("ix_sign_in_failures_key", "key", "failed_at"),
    Index("ix_sign_in_failures_failed_at", "failed_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("principal", String(240), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("response_status", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("response_headers", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

# ---------------------------------------------------------------------------- web
# Customer status links (recovery.http.web): the agent sends the customer a link carrying an
# unguessable token; only its SHA-256 is kept, so the table alone opens no status page.

status_links = Table(
    "status_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("incident_id", String(64), ForeignKey("incidents.id"), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp, nullable=True),
    Index("ix_status_links_incident_id", "incident_id"),
)
