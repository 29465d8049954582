"""The written follow-up: letters as queued for the mailer, and the vouchers they issue."""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text

from recovery.storage.tables.base import Timestamp, metadata

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
