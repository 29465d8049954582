"""`SqlOutbox`: the webhook outbox's statements (claims, outcomes, delivery status).

A claim is one transaction: `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; on SQLite
the IMMEDIATE transaction serialises claimers and the clause is not rendered) picks due
rows, and an UPDATE holds them (`storage.leases`). The outcome is recorded in another
short transaction, only if the claim still holds the row. The states and the rules are
drawn in `delivery.ports`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy import exc as sa_exc

from recovery.delivery.ports import (
    DELIVERING,
    FAILED,
    PENDING,
    Claim,
    MessageStatus,
    Wanted,
)
from recovery.errors import StorageError
from recovery.storage import leases
from recovery.storage.database import reading
from recovery.storage.incident_reads import plain
from recovery.storage.moments import from_column, utc
from recovery.storage.outcomes import MessageOutcomes
from recovery.storage.tables.delivery import outbox
from recovery.storage.tables.log import incidents

_CLAIMABLE = (PENDING, FAILED, DELIVERING)


class SqlOutbox(MessageOutcomes):
    """The delivery state transitions of outbox rows (`delivery.ports.OutboxStore`);
    every method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa_exc.DBAPIError as exc:
            raise StorageError(f"database error while delivering webhooks: {exc.orig}") from exc

    def claim(
        self,
        now: datetime,
        *,
        limit: int,
        lease: timedelta,
        max_attempts: int,
        wanted: Sequence[Wanted] | None = None,
    ) -> tuple[list[Claim], int]:
        now = utc(now)
        lease_until = now + lease
        due = (
            select(
                outbox.c.id,
                outbox.c.incident_id,
                incidents.c.site,
                outbox.c.seq,
                outbox.c.kind,
                outbox.c.payload,
                outbox.c.created_at,
                outbox.c.status,
                outbox.c.attempts,
                outbox.c.last_error,
                outbox.c.accepted_by,
            )
            .join(incidents, incidents.c.id == outbox.c.incident_id)
            .where(outbox.c.status.in_(_CLAIMABLE), outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.next_attempt_at, outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=outbox)
        )
        if wanted is not None:
            due = due.where(or_(false(), *(_covers(*each) for each in wanted)))
        with self._transaction() as conn:
            rows = conn.execute(due).all()
            dead = {
                r.id: leases.given_up(r.attempts, max_attempts, r.last_error)
                for r in rows
                if r.status == DELIVERING and r.attempts >= max_attempts
            }
            taken = [r for r in rows if r.id not in dead]
            leases.hold(conn, outbox, taken, dead, holding=DELIVERING, lease_until=lease_until)
        claims = [
            Claim(
                id=r.id,
                incident_id=r.incident_id,
                site=r.site,
                seq=r.seq,
                kind=r.kind,
                payload=r.payload,
                created_at=utc(r.created_at),
                attempt=r.attempts + 1,
                lease_until=lease_until,
                accepted_by=frozenset(orjson.loads(r.accepted_by))
                if r.accepted_by
                else frozenset(),
            )
            for r in taken
        ]
        return claims, len(dead)

    def _moment(self, moment: datetime) -> Any:
        return utc(moment)

    def _finish(self, claim: Claim, **values: Any) -> bool:
        with self._transaction() as conn:
            return leases.finish(
                conn, outbox, claim.id, holding=DELIVERING, attempt=claim.attempt, **values
            )

    # ------------------------------------------------------------------ reads

    def status(
        self,
        incident_id: str | None = None,
        *,
        statuses: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> tuple[dict[str, int], list[MessageStatus]]:
        counting = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        listing = select(outbox).order_by(outbox.c.id).limit(limit)
        if incident_id is not None:
            counting = counting.where(outbox.c.incident_id == incident_id)
            listing = listing.where(outbox.c.incident_id == incident_id)
        if statuses is not None:
            listing = listing.where(outbox.c.status.in_(list(statuses)))
        with reading(self.engine) as conn:  # never takes SQLite's write lock the workers need
            counted = {status: int(n) for status, n in conn.execute(counting)}
            rows = conn.execute(listing).all()
        return counted, [
            MessageStatus(
                id=r.id,
                incident_id=r.incident_id,
                seq=r.seq,
                event=f"{r.incident_id}:{r.seq}",
                kind=r.kind,
                status=r.status,
                attempts=r.attempts,
                created_at=from_column(r.created_at) or "",
                next_attempt_at=from_column(r.next_attempt_at) or "",
                delivered_at=from_column(r.delivered_at),
                last_error=r.last_error,
                accepted_by=orjson.loads(r.accepted_by) if r.accepted_by else [],
            )
            for r in rows
        ]

    def rows(self, incident_id: str | None = None) -> list[dict[str, Any]]:
        query = select(outbox).order_by(outbox.c.id)
        if incident_id is not None:
            query = query.where(outbox.c.incident_id == incident_id)
        with reading(self.engine) as conn:
            rows = [plain(r._mapping) for r in conn.execute(query)]
        for row in rows:
            row["payload"] = orjson.loads(row["payload"])
            row["accepted_by"] = orjson.loads(row["accepted_by"]) if row["accepted_by"] else []
        return rows


def _covers(
    kinds: Collection[str] | None, sites: Collection[str] | None, since: datetime | None
) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [true()]
    if since is not None:
        conditions.append(outbox.c.created_at >= utc(since))
    if kinds is not None:
        conditions.append(outbox.c.kind.in_(sorted(kinds)))
    if sites is not None:
        conditions.append(incidents.c.site.in_(sorted(sites)))
    return and_(*conditions)
