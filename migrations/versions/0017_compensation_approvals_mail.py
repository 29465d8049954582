"""incidents: compensation spent and approval turnaround, with their partial indexes;
users: an e-mail address for their notifications; notifications: when each was mailed;
incidents: an index on `updated_at` for SQLite's change feed

Revision ID: 0017
Revises: 0013
Create Date: 2026-12-02 06:30:00.000000

Existing incidents are back-filled in batches of 1,000 (by id), through the playbook
version each pinned. An approval's request and decision times were not kept in the state
before: the incidents with an approval are replayed from their events (read per batch in
one statement) and their steps' approval records take the times from the replay, so the
stored state equals the replayed one again.
"""

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from recovery.domain.apply import replay
from recovery.domain.compiler import CompiledPlaybook, compile_playbook
from recovery.domain.figures import figures
from recovery.domain.state import IncidentState
from recovery.domain.validation import validate_playbook
from recovery.errors import IntegrityError, RecoveryError
from recovery.storage.incident_reads import row_to_event

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
FIELDS = ("compensation_spent", "compensation_currency", "approvals_decided", "approval_seconds")
COMPENSATION_KEY = [
    "site",
    "playbook_id",
    "compensation_currency",
    "opened_at",
    "compensation_spent",
]
APPROVAL_KEY = ["site", "playbook_id", "approval_seconds", "opened_at"]
PENDING_KEY = ["site", "playbook_id", "opened_at", "awaiting_approval"]
EVENT_COLUMNS = (
    "incident_id, seq, type, schema_version, playbook_id, playbook_version, actor, "
    "actor_role, channel, recorded_at, data, prev_hash, hash"
)


def upgrade() -> None:
    money = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("compensation_spent", money, server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("compensation_currency", sa.String(3), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("approvals_decided", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("approval_seconds", sa.Float(), nullable=True))
    _backfill(op.get_bind())
    op.create_index(
        "ix_incidents_compensation",
        "incidents",
        COMPENSATION_KEY,
        sqlite_where=sa.text("compensation_spent > 0"),
        postgresql_where=sa.text("compensation_spent > 0"),
    )
    op.create_index(
        "ix_incidents_approval",
        "incidents",
        APPROVAL_KEY,
        sqlite_where=sa.text("approval_seconds IS NOT NULL"),
        postgresql_where=sa.text("approval_seconds IS NOT NULL"),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(320), nullable=True))
        batch_op.add_column(
            sa.Column("notify_by_email_since", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mail_claimed_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("mailed_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_notifications_unmailed",
        "notifications",
        ["recipient", "created_at"],
        sqlite_where=sa.text("mailed_at IS NULL"),
        postgresql_where=sa.text("mailed_at IS NULL"),
    )
    op.create_index("ix_incidents_updated_at", "incidents", ["updated_at"])
    op.create_index(
        "ix_incidents_pending",
        "incidents",
        PENDING_KEY,
        sqlite_where=sa.text("awaiting_approval > 0"),
        postgresql_where=sa.text("awaiting_approval > 0"),
    )


def _compiled(conn: sa.Connection) -> dict[tuple[str, int], CompiledPlaybook]:
    compiled: dict[tuple[str, int], CompiledPlaybook] = {}
    for playbook_id, version, definition in conn.execute(
        sa.text("SELECT playbook_id, version, definition FROM playbook_versions")
    ):
        playbook = validate_playbook(
            orjson.loads(definition), f"database:{playbook_id}@v{version}", stored=True
        )
        compiled[(playbook_id, version)] = compile_playbook(playbook)
    return compiled


def _backfill(conn: sa.Connection) -> None:
    compiled = _compiled(conn)
    update = sa.text(
        "UPDATE incidents SET "
        + ", ".join(f"{name} = :{name}" for name in FIELDS)
        + " WHERE id = :id"
    )
    set_state = sa.text("UPDATE incidents SET state = :state WHERE id = :id")
    for batch in _batches(conn):
        known = [(i, compiled[key], state) for i, key, state in batch if key in compiled]
        asked = [(i, c, s) for i, c, s in known if any(x.approval for x in s.steps.values())]
        patched = _with_approval_times(conn, asked)
        if patched:
            conn.execute(
                set_state, [{"id": i, "state": s.to_json().decode()} for i, s in patched.items()]
            )
        rows = [{"id": i, **_these(figures(c, patched.get(i, state)))} for i, c, state in known]
        if rows:
            conn.execute(update, rows)


def _these(found: Any) -> dict[str, Any]:
    return {name: getattr(found, name) for name in FIELDS}


def _with_approval_times(
    conn: sa.Connection, asked: list[tuple[str, CompiledPlaybook, IncidentState]]
) -> dict[str, IncidentState]:
    """The states of `asked` whose steps' approval records take the replay's (with their
    request and decision times); an incident whose log does not replay is left as it is
    (`audit verify` names it)."""
    if not asked:
        return {}
    ids = [i for i, _c, _s in asked]
    events: dict[str, list[Any]] = {i: [] for i in ids}
    query = sa.text(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE incident_id IN :ids ORDER BY incident_id, seq"
    ).bindparams(sa.bindparam("ids", expanding=True))
    for row in conn.execute(query, {"ids": ids}).mappings():
        events[row["incident_id"]].append(row)
    out = {}
    for incident_id, compiled, state in asked:
        try:
            replayed = replay(compiled, [row_to_event(row) for row in events[incident_id]])
        except (RecoveryError, LookupError, ValueError, TypeError):
            continue
        for step_id, step in state.steps.items():
            again = replayed.steps.get(step_id)
            if step.approval and again is not None and again.approval:
                step.approval = again.approval
        out[incident_id] = state
    return out


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
    op.drop_index("ix_notifications_unmailed", table_name="notifications")
    op.drop_index("ix_incidents_updated_at", table_name="incidents")
    for table, column in (
        ("notifications", "mailed_at"),
        ("notifications", "mail_claimed_at"),
        ("users", "notify_by_email_since"),
        ("users", "email"),
    ):
        op.drop_column(table, column)
    op.drop_index("ix_incidents_pending", table_name="incidents")
    op.drop_index("ix_incidents_approval", table_name="incidents")
    op.drop_index("ix_incidents_compensation", table_name="incidents")
    for column in reversed(FIELDS):
        op.drop_column("incidents", column)
