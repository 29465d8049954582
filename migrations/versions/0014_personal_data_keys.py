"""incidents: a personal data key per incident (crypto-shredding); erasures recorded

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:30:00.000000

Each incident's personal values (names, contacts, texts typed by staff or the customer) are
sealed in its events under a key of its own, kept in `incidents.personal_key`; erasing the
incident's personal data destroys the key (`recovery.domain.personal`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_key", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_incidents_retention",
        "incidents",
        ["playbook_id", "ended_at"],
        sqlite_where=sa.text("personal_key IS NOT NULL"),
        postgresql_where=sa.text("personal_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_incidents_retention", table_name="incidents")
    op.drop_column("incidents", "personal_key")
