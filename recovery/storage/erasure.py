"""An incident's personal data erased in the transaction that appends its `erased` event
(`IncidentTransaction.erase_personal`): the key destroyed, and every plain copy outside
the events scrubbed. The events themselves are not touched (their personal values are
sealed under the destroyed key), so every chain still verifies.

The state row is rewritten by the append itself (the service replays the events without
the key). `search_terms` keeps only the incident's id; letters keep their delivery record
(status, times, message id, voucher codes) without recipient, subject or bodies; webhook
messages are emptied, and those not yet delivered given up (`dead`: never sent);
notifications keep who was told and when, not what (neither the English `message` nor its
words); idempotent replies that hold the incident are emptied; its status links are
deleted (they open nothing any more).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from recovery.delivery.ports import DEAD, DELIVERED
from recovery.domain.personal import REDACTED
from recovery.domain.search import normalise
from recovery.errors import StorageError
from recovery.service.ports.reports import Erasure
from recovery.storage.moments import to_column

log = logging.getLogger("recovery.storage")

ERASED_REPLY = '{"erased":true}'
EMPTIED = '{"erased":true}'

_ERASED = (
    "UPDATE incidents SET personal_key = NULL, customer_key = ?, external_ref = NULL, "
    "erased_at = ?, erasure = ? WHERE id = ?"
)
_STATEMENTS = (
    (
        "DELETE FROM search_terms WHERE incident_id = ? AND term <> ?",
        lambda i, p: (i, normalise(i)),
    ),
    (
        "UPDATE letters SET recipient = ?, subject = ?, body_text = ?, body_html = ?, "
        "last_error = NULL WHERE incident_id = ?",
        lambda i, p: (REDACTED, REDACTED, REDACTED, REDACTED, i),
    ),
    (
        f"UPDATE outbox SET payload = ?, last_error = NULL, status = CASE WHEN status = "
        f"'{DELIVERED}' THEN status ELSE '{DEAD}' END WHERE incident_id = ?",
        lambda i, p: (EMPTIED, i),
    ),
    (
        "UPDATE notifications SET message = ?, message_words = NULL WHERE incident_id = ?",
        lambda i, p: (REDACTED, i),
    ),
    ("DELETE FROM status_links WHERE incident_id = ?", lambda i, p: (i,)),
    # A stored reply names its incident by id: a scan of the (short-lived) keys table, on
    # an erasure only.
    (
        "UPDATE idempotency_keys SET response_body = ? WHERE response_body LIKE ?",
        lambda i, p: (ERASED_REPLY, f'%"{i}"%'),
    ),
)


def erase_personal(
    cursor: Any, postgres: bool, incident_id: str, pseudonym: str, erasure: Erasure
) -> None:
    """Run every scrubbing statement on the transaction's driver cursor; the incident's
    row keeps when and how it was erased (the report counts those)."""
    cursor.execute(
        _ERASED.replace("?", "%s") if postgres else _ERASED,
        (pseudonym, to_column(erasure.at, postgres=postgres), erasure.how, incident_id),
    )
    for statement, params in _STATEMENTS:
        sql = statement.replace("?", "%s") if postgres else statement
        cursor.execute(sql, params(incident_id, pseudonym))


# The tables an erasure rewrites rows of (events are never touched).
ERASED_TABLES = (
    "incidents",
    "search_terms",
    "letters",
    "outbox",
    "notifications",
    "status_links",
    "idempotency_keys",
)
VACUUM = f"VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON) {', '.join(ERASED_TABLES)}"


def vacuum_erased(engine: Engine) -> bool:
    """PostgreSQL, after an erasure's transactions committed: VACUUM the tables it rewrote,
    so the old row versions (the personal values, the incident's key) and their index
    entries leave the table's pages now rather than at autovacuum's next turn. Best effort
    and outside any transaction: a table locked by another VACUUM is skipped, a failure
    is logged, never raised (the erasure is done either way). A row version that a
    transaction still open in the database may read is kept by PostgreSQL; the bytes of
    what it removes may stay in free space until reused, and WAL, replicas and backups
    keep what they hold (README: "Personal data")."""
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(VACUUM))
        return True
    except (SQLAlchemyError, StorageError) as exc:  # StorageError: writes refused
        log.warning("VACUUM after an erasure failed (autovacuum will do it): %s", exc)
        return False
