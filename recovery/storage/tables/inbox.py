"""What each person was told: notifications, and how far each incident's events were told."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from recovery.storage.tables.base import AutoId, Timestamp, metadata

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

notification_marks = Table(
    "notification_marks",
    metadata,
    Column("incident_id", String(64), ForeignKey("incidents.id"), primary_key=True),
    Column("seq", Integer, nullable=False),
)
