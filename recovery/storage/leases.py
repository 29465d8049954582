"""Leased work queues (the webhook outbox, the letters): holding rows and recording outcomes.

A claim holds a row by moving it to the queue's holding status, adding one to `attempts`
and moving `next_attempt_at` to the end of its lease; `attempts` is the claim's token. An
outcome is recorded only while the row is still held at that attempt, so a worker whose
lease ran out can never overwrite a newer claim's outcome. A row whose last allowed
attempt ran out of lease is marked dead, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, update

DEAD = "dead"
ERROR_LIMIT = 2000


def clip(text: str) -> str:
    """An error text short enough for the `last_error` column."""
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


def given_up(attempts: int, max_attempts: int, last_error: str | None) -> str:
    """Why a row held on its last attempt is dead: its worker never reported back."""
    return clip(
        f"attempt {attempts} of {max_attempts}: the worker never reported back before "
        "its lease ran out" + (f" (earlier: {last_error})" if last_error else "")
    )


def hold(
    conn: Connection,
    table: Table,
    taken: Sequence[Any],
    dead: Mapping[Any, str],
    *,
    holding: str,
    lease_until: datetime,
) -> None:
    """In the claim's transaction: mark the `dead` rows (id → reason) dead, and hold the
    `taken` ones until `lease_until`."""
    if dead:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(status=DEAD, last_error=bindparam("error")),
            [{"row_id": key, "error": error} for key, error in dead.items()],
        )
    if taken:
        conn.execute(
            update(table)
            .where(table.c.id.in_([row.id for row in taken]))
            .values(status=holding, attempts=table.c.attempts + 1, next_attempt_at=lease_until)
        )


def finish(
    conn: Connection, table: Table, row_id: Any, *, holding: str, attempt: int, **values: Any
) -> bool:
    """Record an outcome if the claim at `attempt` still holds the row; False if not."""
    result = conn.execute(
        update(table)
        .where(table.c.id == row_id, table.c.status == holding, table.c.attempts == attempt)
        .values(**values)
    )
    return result.rowcount == 1
