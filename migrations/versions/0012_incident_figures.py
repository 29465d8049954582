"""incidents: the figures reports and the approval queue aggregate, with their indexes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:10:00.000000

Existing incidents are back-filled from their stored state, in batches of 1,000, through
the playbook version each pinned (as stored in `playbook_versions`).
"""

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from recovery.domain.compiler import CompiledPlaybook, compile_playbook
from recovery.domain.figures import Figures, figures
from recovery.domain.state import IncidentState
from recovery.domain.validation import validate_playbook
from recovery.errors import IntegrityError

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = ("score", "steps_due", "steps_kept", "steps_missed", "on_hold", "awaiting_approval")
REPORT_INDEX = (
    "site",
    "playbook_id",
    "opened_at",
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
BATCH = 1000
# the figures this revision adds (later revisions add more, and fill them themselves)
FIELDS = (
    "score",
    "steps_due",
    "steps_kept",
    "steps_missed",
    "apology_minutes",
    "recovery_hours",
    "held_seconds",
    "on_hold",
    "awaiting_approval",
)


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        for name in COUNTED:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("apology_minutes", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("recovery_hours", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("held_seconds", sa.Float(), server_default="0", nullable=False)
        )
    _backfill(op.get_bind())
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index("ix_incidents_report", list(REPORT_INDEX), unique=False)
        for name, column in (("apology", "apology_minutes"), ("recovery", "recovery_hours")):
            batch_op.create_index(
                f"ix_incidents_{name}", ["site", "playbook_id", column, "opened_at"], unique=False
            )
        batch_op.create_index(
            "ix_incidents_awaiting_approval", ["awaiting_approval", "site"], unique=False
        )


def _backfill(conn: sa.Connection) -> None:
    compiled: dict[tuple[str, int], CompiledPlaybook] = {}
    for playbook_id, version, definition in conn.execute(
        sa.text("SELECT playbook_id, version, definition FROM playbook_versions")
    ):
        playbook = validate_playbook(
            orjson.loads(definition), f"database:{playbook_id}@v{version}", stored=True
        )
        compiled[(playbook_id, version)] = compile_playbook(playbook)
    update = sa.text(
        "UPDATE incidents SET "
        + ", ".join(f"{name} = :{name}" for name in FIELDS)
        + " WHERE id = :id"
    )
    for batch in _batches(conn):
        rows = [
            {"id": incident_id, **_these(figures(compiled[key], state))}
            for incident_id, key, state in batch
            if key in compiled
        ]
        if rows:
            conn.execute(update, rows)


def _these(found: Figures) -> dict[str, object]:
    return {name: getattr(found, name) for name in FIELDS}


def _batches(conn: sa.Connection) -> Iterator[list[tuple[str, tuple[str, int], Any]]]:
    after = ""
    while True:
        found = conn.execute(
            sa.text(
                "SELECT id, playbook_id, playbook_version, state FROM incidents "
                "WHERE id > :after ORDER BY id LIMIT :n"
            ),
            {"after": after, "n": BATCH},
        ).all()
        if not found:
            return
        yield [(row[0], (row[1], row[2]), state) for row in found if (state := _state(row))]
        after = found[-1][0]


def _state(row: Any) -> IncidentState | None:
    """The stored state; None when unreadable (left at zero: `audit verify` names it)."""
    try:
        return IncidentState.from_json(row[3], row[0])
    except IntegrityError:
        return None


def downgrade() -> None:
    # dropped in place (SQLite >= 3.35 drops a column; a copy of the table would break the
    # foreign keys of the events)
    for name in ("awaiting_approval", "recovery", "apology", "report"):
        op.drop_index(f"ix_incidents_{name}", table_name="incidents")
    for column in (*COUNTED, "apology_minutes", "recovery_hours", "held_seconds"):
        op.drop_column("incidents", column)
