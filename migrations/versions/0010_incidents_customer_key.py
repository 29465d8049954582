"""incidents: the customer key that links a customer's incidents

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:20:00.000000

Back-fills the key from each incident's recorded customer: its `key` when one was given,
else its contact (lower-cased, as `recovery.domain.customers.customer_key_of` makes it).
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(customer: dict[str, object]) -> str | None:
    # A copy of customer_key_of as it was when this migration was written: a migration
    # must not change its meaning when the code moves on.
    key = customer.get("key")
    if isinstance(key, str) and key.strip():
        return key.strip()[:200]
    contact = customer.get("contact")
    if isinstance(contact, str) and contact.strip():
        return " ".join(contact.split()).lower()[:200]
    return None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_key", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_incidents_customer_key", ["customer_key"], unique=False)
    conn = op.get_bind()
    incidents = sa.table(
        "incidents", sa.column("id", sa.String), sa.column("state", sa.Text),
        sa.column("customer_key", sa.String),
    )  # fmt: skip
    rows = conn.execute(sa.select(incidents.c.id, incidents.c.state)).all()
    for row in rows:
        key = _key(json.loads(row.state).get("customer") or {})
        if key is not None:
            conn.execute(
                incidents.update().where(incidents.c.id == row.id).values(customer_key=key)
            )


def downgrade() -> None:
    # Not in batch mode: SQLite (3.35+) drops the column in place, where a batch would copy
    # the table, which the events' foreign key to it refuses.
    op.drop_index("ix_incidents_customer_key", table_name="incidents")
    op.drop_column("incidents", "customer_key")
