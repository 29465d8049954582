"""incidents: an index for board pages (deadline order, then id, with the filters)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 05:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BOARD_KEY = ["next_due_at", "id", "status", "site", "owner", "playbook_id"]


def upgrade() -> None:
    op.create_index("ix_incidents_board", "incidents", BOARD_KEY)


def downgrade() -> None:
    op.drop_index("ix_incidents_board", table_name="incidents")
