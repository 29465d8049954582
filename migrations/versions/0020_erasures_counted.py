"""incidents: when each incident's personal data was erased, and how (on request or by
retention), with a partial index the report counts them from

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 12:30:00.000000

Incidents erased before this revision are filled in from their `erased` events, in one
statement: `erased_at` is the event's time, `erasure` is "retention" when the retention
worker (role `system`) recorded it and "request" otherwise (an administrator).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ERASED_KEY = ["erased_at", "site", "playbook_id", "erasure"]

_ERASED = "FROM events e WHERE e.incident_id = incidents.id AND e.type = 'erased'"
BACKFILL = (
    f"UPDATE incidents SET erased_at = (SELECT MIN(e.recorded_at) {_ERASED}), "
    f"erasure = (SELECT CASE WHEN MIN(e.actor_role) = 'system' THEN 'retention' "
    f"ELSE 'request' END {_ERASED}) "
    f"WHERE personal_key IS NULL AND EXISTS (SELECT 1 {_ERASED})"
)


def upgrade() -> None:
    # plain ALTER TABLE on both databases (SQLite adds and drops an unindexed column in
    # place: no copy of the table, whose rows other tables refer to)
    op.add_column("incidents", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("incidents", sa.Column("erasure", sa.String(length=10), nullable=True))
    op.execute(BACKFILL)
    op.create_index(
        "ix_incidents_erased",
        "incidents",
        ERASED_KEY,
        sqlite_where=sa.text("erased_at IS NOT NULL"),
        postgresql_where=sa.text("erased_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_erased", table_name="incidents")
    op.drop_column("incidents", "erasure")
    op.drop_column("incidents", "erased_at")
