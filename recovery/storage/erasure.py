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

from typing import Any

from recovery.delivery.ports import DEAD, DELIVERED
from recovery.domain.personal import REDACTED
from recovery.domain.search import normalise

ERASED_REPLY = '{"erased":true}'
EMPTIED = '{"erased":true}'

_STATEMENTS = (
    (
        "UPDATE incidents SET personal_key = NULL, customer_key = ?, external_ref = NULL "
        "WHERE id = ?",
        lambda i, p: (p, i),
    ),
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


def erase_personal(cursor: Any, postgres: bool, incident_id: str, pseudonym: str) -> None:
    """Run every scrubbing statement on the transaction's driver cursor."""
    for statement, params in _STATEMENTS:
        sql = statement.replace("?", "%s") if postgres else statement
        cursor.execute(sql, params(incident_id, pseudonym))
