"""notifications and their marks; change feed: PostgreSQL notifies committed changes

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02 03:30:00.000000

On PostgreSQL a trigger on `incidents` (every command writes its row) sends
`pg_notify('recovery_changes', '["<id>", "<site>"]')`; NOTIFY is delivered at commit, to
every listening process. SQLite needs nothing: its readers poll `PRAGMA data_version`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_notifications_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "recipient", "incident_id", "seq", "kind", name=op.f("uq_notifications_recipient")
        ),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_recipient_read_at", ["recipient", "read_at"], unique=False
        )
    op.create_table(
        "notification_marks",
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_notification_marks_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_notification_marks")),
    )
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
    # a person's new notification: their header changes (the id and property of the
    # incident, and to whom)
    op.execute(
        """
        CREATE FUNCTION recovery_notify_notice() RETURNS trigger AS $$
        BEGIN
          PERFORM pg_notify(
            'recovery_changes', json_build_array(NEW.incident_id, NEW.site, NEW.recipient)::text
          );
          RETURN NULL;
        END
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER notifications_notify_change AFTER INSERT ON notifications "
        "FOR EACH ROW EXECUTE FUNCTION recovery_notify_notice()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS notifications_notify_change ON notifications")
        op.execute("DROP FUNCTION IF EXISTS recovery_notify_notice()")
        op.execute("DROP TRIGGER IF EXISTS incidents_notify_change ON incidents")
        op.execute("DROP FUNCTION IF EXISTS recovery_notify_change()")
    op.drop_table("notification_marks")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_recipient_read_at")
    op.drop_table("notifications")
