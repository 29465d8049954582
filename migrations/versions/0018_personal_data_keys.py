"""incidents: a personal data key per incident (crypto-shredding); existing events sealed

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 06:30:00.000000

Each incident's personal values (names, contacts, texts typed by staff or the customer) are
sealed in its events under a key of its own, kept in `incidents.personal_key`; erasing the
incident's personal data destroys the key (`recovery.domain.personal`).

Existing incidents are moved to that form here, the one exception to append-only: each
incident's chain is first checked as it is stored; one that verifies gets a key, its events'
personal values sealed and its hashes chained again; one that does not verify is left
exactly as it was (still reported broken, never laundered). Every incident rewritten gets a
row in `chain_rewrites`: the head (and its seq) before and after, so a checkpoint signed
just before the upgrade ties to one signed just after (README: "Upgrading to sealed
personal data"). Incidents are read and written in batches, never all at once.
"""

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from recovery.domain.chain import GENESIS, canonical, event_hash
from recovery.domain.personal import conceal, decode_key, encode_key, new_key, reveal
from recovery.storage.moments import from_column

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500

incidents = sa.table(
    "incidents",
    sa.column("id", sa.String),
    sa.column("head_hash", sa.String),
    sa.column("personal_key", sa.String),
)
events = sa.table(
    "events",
    sa.column("incident_id", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("type", sa.String),
    sa.column("schema_version", sa.Integer),
    sa.column("playbook_id", sa.String),
    sa.column("playbook_version", sa.Integer),
    sa.column("actor", sa.String),
    sa.column("actor_role", sa.String),
    sa.column("channel", sa.String),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
    sa.column("data", sa.Text),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)


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
    rewrites = op.create_table(
        "chain_rewrites",
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("old_head", sa.String(length=64), nullable=False),
        sa.Column("new_head", sa.String(length=64), nullable=True),
        sa.Column("rewritten_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "revision", name=op.f("pk_chain_rewrites")),
    )
    seal_existing(op.get_bind(), rewrites)


def _batches(conn: sa.Connection, with_key: bool) -> Iterator[list[tuple[str, str | None]]]:
    """(incident id, stored key) of the incidents with (or without) a key, in batches."""
    after = ""
    held = incidents.c.personal_key.is_not(None) if with_key else incidents.c.personal_key.is_(None)
    while True:
        found = [
            (row[0], row[1])
            for row in conn.execute(
                sa.select(incidents.c.id, incidents.c.personal_key)
                .where(incidents.c.id > after, held)
                .order_by(incidents.c.id)
                .limit(BATCH)
            )
        ]
        if not found:
            return
        yield found
        after = found[-1][0]


Transform = Callable[[str, dict[str, Any], str, int], dict[str, Any]]


def _rechain_all(
    conn: sa.Connection, with_key: bool, transform_of: Callable[[str | None], Transform],
    rewrites: sa.Table | None, key_after: Callable[[str | None], str | None],
) -> None:  # fmt: skip
    """Every incident (with or without a key): its events' data transformed and chained
    again, in batches; an incident whose chain does not verify as stored is left as is."""
    now = datetime.now(UTC)
    for batch in _batches(conn, with_key):
        ids = [incident_id for incident_id, _key in batch]
        rows = conn.execute(
            sa.select(events).where(events.c.incident_id.in_(ids))
            .order_by(events.c.incident_id, events.c.seq)
        ).mappings()  # fmt: skip
        by_incident: dict[str, list[Any]] = {}
        for row in rows:
            by_incident.setdefault(row["incident_id"], []).append(dict(row))
        for incident_id, key in batch:
            chain = by_incident.get(incident_id, [])
            new_key_text = key_after(key)
            changed = _rechained(
                incident_id, chain, transform_of(new_key_text if not with_key else key)
            )
            if changed is None:  # broken as stored (or empty): left exactly as it is
                if rewrites is not None:
                    old_head = chain[-1]["hash"] if chain else GENESIS
                    conn.execute(
                        rewrites.insert().values(
                            incident_id=incident_id, revision=revision, seq=len(chain),
                            old_head=old_head, new_head=None, rewritten_at=now,
                        )
                    )  # fmt: skip
                continue
            if changed:
                conn.execute(
                    events.update()
                    .where(
                        events.c.incident_id == sa.bindparam("b_incident"),
                        events.c.seq == sa.bindparam("b_seq"),
                    )
                    .values(
                        data=sa.bindparam("b_data"),
                        prev_hash=sa.bindparam("b_prev"),
                        hash=sa.bindparam("b_hash"),
                    ),
                    changed,
                )
            new_head = chain[-1]["new_hash"]
            conn.execute(
                incidents.update()
                .where(incidents.c.id == incident_id)
                .values(personal_key=new_key_text, head_hash=new_head)
            )
            if rewrites is not None:
                conn.execute(
                    rewrites.insert().values(
                        incident_id=incident_id, revision=revision, seq=len(chain),
                        old_head=chain[-1]["hash"], new_head=new_head, rewritten_at=now,
                    )
                )  # fmt: skip


def seal_existing(conn: sa.Connection, rewrites: sa.Table) -> None:
    """Every incident without a key gets one; its events' personal values sealed under it."""

    def sealing(key_text: str | None) -> Transform:
        key = decode_key(key_text)
        return lambda type_, data, incident_id, seq: conceal(type_, data, key, incident_id, seq)

    _rechain_all(conn, False, sealing, rewrites, lambda _none: encode_key(new_key()))


def open_existing(conn: sa.Connection) -> None:
    """The inverse, for a downgrade: every incident with a key gets its events' personal
    values back in the clear (an erased one keeps its placeholders) and loses the key."""

    def opening(key_text: str | None) -> Transform:
        key = decode_key(key_text)
        return lambda _type, data, incident_id, seq: reveal(data, key, incident_id, seq)

    _rechain_all(conn, True, opening, None, lambda _key: None)


def _rechained(
    incident_id: str, chain: list[dict[str, Any]], transform: Transform
) -> list[Any] | None:
    """The events' new data and hashes (only the rows that change); None when the chain
    does not verify as stored (then nothing is rewritten)."""
    if not chain:
        return None
    prev_old, prev_new = GENESIS, GENESIS
    changed = []
    for expected, row in enumerate(chain, start=1):
        at = from_column(row["recorded_at"]) or ""
        header = (
            row["incident_id"], row["seq"], row["type"], row["schema_version"],
            row["playbook_id"], row["playbook_version"], row["actor"], row["actor_role"],
            row["channel"], at,
        )  # fmt: skip
        if row["seq"] != expected or row["prev_hash"] != prev_old:
            return None
        if event_hash(prev_old, *header, row["data"].encode()) != row["hash"]:
            return None
        try:
            data = orjson.loads(row["data"])
        except orjson.JSONDecodeError:
            return None
        stored = transform(row["type"], data, incident_id, row["seq"])
        data_text = row["data"] if stored is data else canonical(stored).decode()
        new_hash = event_hash(prev_new, *header, data_text.encode())
        row["new_hash"] = new_hash
        if (data_text, prev_new, new_hash) != (row["data"], row["prev_hash"], row["hash"]):
            changed.append(
                {
                    "b_incident": incident_id,
                    "b_seq": row["seq"],
                    "b_data": data_text,
                    "b_prev": prev_new,
                    "b_hash": new_hash,
                }
            )
        prev_old, prev_new = row["hash"], new_hash
    return changed


def downgrade() -> None:
    # The events are opened again with their keys (and chained again) before the keys go.
    open_existing(op.get_bind())
    op.drop_table("chain_rewrites")
    op.drop_index("ix_incidents_retention", table_name="incidents")
    op.drop_column("incidents", "personal_key")
