"""The database schema, as SQLAlchemy Core tables (alembic migrations mirror it).

`events` is append-only: the code has no statement that updates or deletes it.
`incidents` is the current-state cache, written in the same transaction as the events.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

FIGURES_COUNTED = (
    "score",
    "steps_due",
    "steps_kept",
    "steps_missed",
    "on_hold",
    "awaiting_approval",
)
REPORT_KEY = ("site", "playbook_id", "opened_at")
FIGURES_REPORTED = (
    "status",
    "pushes",
    "handoffs",
    "score",
    "steps_due",
    "steps_kept",
    "steps_missed",
    "on_hold",
    "held_seconds",
    "apology_minutes",
    "recovery_hours",
)

COMPENSATION_KEY = (
    "site",
    "playbook_id",
    "compensation_currency",
    "opened_at",
    "compensation_spent",
)
APPROVAL_KEY = ("site", "playbook_id", "approval_seconds", "opened_at")
PENDING_KEY = ("site", "playbook_id", "opened_at", "awaiting_approval")

metadata = MetaData(naming_convention=NAMING_CONVENTION)

Timestamp = DateTime(timezone=True)
Money = BigInteger().with_variant(Integer(), "sqlite")
BOARD_KEY = ("next_due_at", "id", "status", "site", "owner", "playbook_id")
AutoId = BigInteger().with_variant(Integer(), "sqlite")

playbook_versions = Table(
    "playbook_versions",
    metadata,
    Column("playbook_id", String(80), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("definition", Text, nullable=False),
    Column("registered_at", Timestamp, nullable=False),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("playbook_id", String(80), nullable=False),
    Column("playbook_version", Integer, nullable=False),
    Column("incident_type", String(80), nullable=False),
    Column("site", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("owner", String(200), nullable=False),
    Column("opened_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("ended_at", Timestamp, nullable=True),
    Column("next_due_at", Timestamp, nullable=True),
    Column("pushes", Integer, nullable=False),
    Column("handoffs", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("state", Text, nullable=False),
    # the reservation, account or case number given at open (also a search term)
    Column("external_ref", String(100), nullable=True),
    # The state's figures (`domain.figures`), written with every event: reports aggregate
    # them by SQL over the covering index below, never reading the states.
    *(Column(name, Integer, nullable=False, server_default="0") for name in FIGURES_COUNTED),
    Column("apology_minutes", Float, nullable=True),
    Column("recovery_hours", Float, nullable=True),
    Column("held_seconds", Float, nullable=False, server_default="0"),
    # compensation done (minor units of its currency) and approval turnaround (migration 0017)
    Column("compensation_spent", Money, nullable=False, server_default="0"),
    Column("compensation_currency", String(3), nullable=False, server_default=""),
    Column("approvals_decided", Integer, nullable=False, server_default="0"),
    Column("approval_seconds", Float, nullable=True),
    Index("ix_incidents_status_next_due_at", "status", "next_due_at"),
    Index("ix_incidents_site", "site"),
    Index("ix_incidents_report", *REPORT_KEY, *FIGURES_REPORTED),
    # medians: each group's values in order, read from the middle without a sort
    Index("ix_incidents_apology", "site", "playbook_id", "apology_minutes", "opened_at"),
    Index("ix_incidents_recovery", "site", "playbook_id", "recovery_hours", "opened_at"),
    Index("ix_incidents_awaiting_approval", "awaiting_approval", "site"),
    # partial: only the incidents that spent compensation or had an approval decided, so
    # the report's sums and percentiles of them read a small index, in order
    Index(
        "ix_incidents_compensation",
        *COMPENSATION_KEY,
        sqlite_where=text("compensation_spent > 0"),
        postgresql_where=text("compensation_spent > 0"),
    ),
    Index(
        "ix_incidents_approval",
        *APPROVAL_KEY,
        sqlite_where=text("approval_seconds IS NOT NULL"),
        postgresql_where=text("approval_seconds IS NOT NULL"),
    ),
    Index(
        "ix_incidents_pending",
        *PENDING_KEY,
        sqlite_where=text("awaiting_approval > 0"),
        postgresql_where=text("awaiting_approval > 0"),
    ),
    Column("customer_key", String(200), nullable=True),
    # The incident's personal data key (`domain.personal`, base64): its events' personal
    # values are sealed under it. Read with the head, so a command needs no extra read;
    # erasing the incident's personal data sets it to NULL (crypto-shredding).
    Column("personal_key", String(64), nullable=True),
    Index("ix_incidents_customer_key", "customer_key"),
    Index("ix_incidents_external_ref", "external_ref"),
    # The board's order with its filters beside it: a page is a range read of this index,
    # the filters checked on its entries, only the rows shown read from the table.
    Index("ix_incidents_board", *BOARD_KEY),
    # SQLite's change feed reads the rows changed in a window of recent `updated_at` after
    # every commit it hears of: a range of this index, not a scan of the table
    Index("ix_incidents_updated_at", "updated_at"),
    # Retention: ended incidents whose personal data is still held, by playbook and end;
    # an erased one leaves the index, so the worker's check reads only what is due.
    Index(
        "ix_incidents_retention",
        "playbook_id",
        "ended_at",
        sqlite_where=text("personal_key IS NOT NULL"),
        postgresql_where=text("personal_key IS NOT NULL"),
    ),
)

# What an incident is found by (recovery.domain.search): lower-cased terms, written with its
# first event. A query is a prefix range on `term` (text_pattern_ops: LIKE 'x%' uses the
# index on PostgreSQL under any collation), filtered by the caller's properties.
search_terms = Table(
    "search_terms",
    metadata,
    Column("incident_id", String(64), ForeignKey("incidents.id"), primary_key=True),
    Column("term", String(100), primary_key=True),
    Column("site", String(200), nullable=False),
    # covering, so a query reads an index alone: by term (every property), and by property
    # then term (a desk's few properties: ranges of their terms only)
    Index(
        "ix_search_terms_term",
        "term",
        "site",
        "incident_id",
        postgresql_ops={"term": "text_pattern_ops"},
    ),
    Index(
        "ix_search_terms_site_term",
        "site",
        "term",
        "incident_id",
        postgresql_ops={"term": "text_pattern_ops"},
    ),
)

events = Table(
    "events",
    metadata,
    Column("incident_id", String(64), ForeignKey("incidents.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("playbook_id", String(80), nullable=False),
    Column("playbook_version", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_role", String(64), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Column("data", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Clustered on (incident_id, seq): one b-tree, so an append writes one page fewer.
    sqlite_with_rowid=False,
)

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

# ---------------------------------------------------------------------------- letters
# The written follow-up (recovery.letters): each letter exactly as queued for the mailer, with
# its delivery state (retries with back-off, as the outbox), and the voucher codes letters
# issue: unique, and looked up when a customer redeems one.

letters = Table(
    "letters",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("incident_id", String(64), ForeignKey("incidents.id"), nullable=False),
    Column("step_id", String(64), nullable=False),
    Column("locale", String(8), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("message_id", String(255), nullable=True),
    Column("accepted_at", Timestamp, nullable=True),
    Column("recorded_seq", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Index("ix_letters_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_letters_incident_id", "incident_id"),
)

vouchers = Table(
    "vouchers",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("incident_id", String(64), ForeignKey("incidents.id"), nullable=False),
    Column("step_id", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("issued_at", Timestamp, nullable=False),
    Column("valid_until", Date, nullable=True),
    Index("ix_vouchers_incident_id", "incident_id"),
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

# ---------------------------------------------------------------------------- notifications
# What each person was told, and when they read it (recovery.service.notifications): derived
# from the events by the worker, once per event and recipient (the marks say how far each
# incident's events have been told; the unique key backs it).

notifications = Table(
    "notifications",
    metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("recipient", String(200), nullable=False),
    Column("incident_id", String(64), ForeignKey("incidents.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("site", String(200), nullable=False),
    Column("message", Text, nullable=False),
    # the same words language-neutral (JSON of `said_to_data`): each person reads them in
    # their language; NULL for notices stored before (shown as `message`)
    Column("message_words", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("read_at", Timestamp, nullable=True),
    # mailed to the person: claimed by a worker (a lease), then accepted by the mailer at
    Column("mail_claimed_at", Timestamp, nullable=True),
    Column("mailed_at", Timestamp, nullable=True),
    UniqueConstraint("recipient", "incident_id", "seq", "kind"),
    Index("ix_notifications_recipient_read_at", "recipient", "read_at"),
    Index(
        "ix_notifications_unmailed",
        "recipient",
        "created_at",
        sqlite_where=text("mailed_at IS NULL"),
        postgresql_where=text("mailed_at IS NULL"),
    ),
)

# ---------------------------------------------------------------------------- upgrades
# Chains a migration had to rewrite (0018: personal values sealed): each incident's head
# before and after at the same seq, so a checkpoint signed before the upgrade ties to one
# signed after. `new_head` NULL: the chain did not verify as stored and was left as it was.

chain_rewrites = Table(
    "chain_rewrites",
    metadata,
    Column("incident_id", String(64), primary_key=True),
    Column("revision", String(32), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("old_head", String(64), nullable=False),
    Column("new_head", String(64), nullable=True),
    Column("rewritten_at", Timestamp, nullable=False),
)

notification_marks = Table(
    "notification_marks",
    metadata,
    Column("incident_id", String(64), ForeignKey("incidents.id"), primary_key=True),
    Column("seq", Integer, nullable=False),
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
