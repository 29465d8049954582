"""The incident log's hot statements, as text in the form each driver expects (`?` for
sqlite3, `%s` for psycopg): they run on the driver cursor inside SQLAlchemy's transaction
(`incidents.py` says why)."""

from __future__ import annotations

from typing import Any

from recovery.domain.state import EVENT_FIELDS
from recovery.storage.figure_columns import FIGURES, SET_FIGURES
from recovery.storage.idempotency import UPSERT_KEY
from recovery.storage.moments import to_column

_COLUMNS_EVENT = ", ".join(EVENT_FIELDS)
# The snapshot text only when this process does not already hold that version of it.
_SELECT_HEAD = (
    "SELECT version, head_hash, CASE WHEN version = ? THEN NULL ELSE state END, personal_key "
    "FROM incidents WHERE id = ?"
)
_SELECT_STATE = "SELECT state FROM incidents WHERE id = ?"
_INSERT_EVENT = (
    f"INSERT INTO events ({_COLUMNS_EVENT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SET_INCIDENT = (
    "SET status = ?, tier = ?, owner = ?, updated_at = ?, ended_at = ?, next_due_at = ?, "
    f"pushes = ?, handoffs = ?, version = ?, head_hash = ?, state = ?{SET_FIGURES} "
    "WHERE id = ? AND version = ? AND head_hash = ?"
)
_UPDATE_INCIDENT = f"UPDATE incidents {_SET_INCIDENT}"
_INSERT_INCIDENT = (
    "INSERT INTO incidents (id, playbook_id, playbook_version, incident_type, site, opened_at, "
    "external_ref, status, tier, owner, updated_at, ended_at, next_due_at, pushes, handoffs, "
    f"version, head_hash, state{FIGURES}, customer_key, personal_key) "
    f"VALUES ({', '.join('?' * (20 + FIGURES.count(',')))})"
)
_INSERT_TERM = "INSERT INTO search_terms (incident_id, term, site) VALUES (?, ?, ?)"
_INSERT_OUTBOX = (
    "INSERT INTO outbox (incident_id, seq, kind, payload, created_at, status, attempts, "
    "next_attempt_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?)"
)
# PostgreSQL: the whole write as one statement. The event and outbox rows are inserted only
# if the row was still at the version read; the result says whether that happened.
_RECORD_PG = (
    f"WITH updated AS (UPDATE incidents {_SET_INCIDENT} RETURNING id), "
    f"inserted AS (INSERT INTO events ({_COLUMNS_EVENT}) "
    "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM updated RETURNING incident_id, seq), "
    "queued AS (INSERT INTO outbox (incident_id, seq, kind, payload, created_at, status, "
    "attempts, next_attempt_at) SELECT inserted.incident_id, inserted.seq, effect.kind, "
    "effect.payload, ?, 'pending', 0, ? FROM inserted "
    "CROSS JOIN unnest(?::text[], ?::text[]) AS effect(kind, payload)) "
    "SELECT count(*) FROM inserted"
)


class Statements:
    """Statement text in the form each driver expects."""

    def __init__(self, name: str) -> None:
        self.postgres = name == "postgresql"

        def fix(sql: str) -> str:
            return sql.replace("?", "%s") if self.postgres else sql

        self.select_head = fix(_SELECT_HEAD)
        self.select_head_locked = fix(_SELECT_HEAD + (" FOR UPDATE" if self.postgres else ""))
        self.select_state = fix(_SELECT_STATE)
        self.insert_event = fix(_INSERT_EVENT)
        self.update_incident = fix(_UPDATE_INCIDENT)
        self.insert_incident = fix(_INSERT_INCIDENT)
        self.insert_outbox = fix(_INSERT_OUTBOX)
        self.insert_term = fix(_INSERT_TERM)
        self.record = fix(_RECORD_PG)
        self.upsert_key = fix(UPSERT_KEY)

    def moment(self, text: str | None) -> Any:
        return to_column(text, postgres=self.postgres)
