"""The incidents: their current-state cache, their events, what they are found by, the
playbook versions they ran and the chains a migration rewrote.

`events` is append-only: the code has no statement that updates or deletes it.
`incidents` is the current-state cache, written in the same transaction as the events.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text, text

from recovery.storage.tables.base import Money, Timestamp, metadata

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
ERASED_KEY = ("erased_at", "site", "playbook_id", "erasure")

BOARD_KEY = ("next_due_at", "id", "status", "site", "owner", "playbook_id")

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
    # When its personal data was erased, and how: "request" (an administrator) or
    # "retention" (the worker); set by the erasure's own transaction (migration 0020).
    Column("erased_at", Timestamp, nullable=True),
    Column("erasure", String(10), nullable=True),
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
    # Erasures in a period, by group and how: the report's count is a range read of this
    # small index (only erased incidents are in it), never the table.
    Index(
        "ix_incidents_erased",
        *ERASED_KEY,
        sqlite_where=text("erased_at IS NOT NULL"),
        postgresql_where=text("erased_at IS NOT NULL"),
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
