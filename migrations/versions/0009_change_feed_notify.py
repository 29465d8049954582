"""change feed: PostgreSQL notifies each committed incident change (live pages)

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-02 03:30:00.000000

On PostgreSQL a trigger on `incidents` (every command writes its row) sends
`pg_notify('recovery_changes', '["<id>", "<site>"]')`; NOTIFY is delivered at commit, to
every listening process. SQLite needs nothing: its readers poll `PRAGMA data_version`.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION recovery_notify_change() RETURNS trigger AS $$
        BEGIN
          PERFORM pg_notify('recovery_changes', json_build_array(NEW.id, NEW.site)::text);
          RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER incidents_notify_change AFTER INSERT OR UPDATE ON incidents "
        "FOR EACH ROW EXECUTE FUNCTION recovery_notify_change()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS incidents_notify_change ON incidents")
    op.execute("DROP FUNCTION IF EXISTS recovery_notify_change()")
