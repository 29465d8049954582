"""notifications: the words of each notice kept language-neutral (`message_words`), so the
header, the notifications page and the e-mail digest tell each person in their own
language; `message` stays the English the API gives

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 12:45:00.000000

Notices stored before have no words (NULL): they are shown as their English `message`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("message_words", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("message_words")
