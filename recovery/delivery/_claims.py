"""Outbox claims: which worker delivers which message now, in short transactions.

    pending ─┐                 ┌─ 2xx from every target ──────────▶ delivered
             ├─ claim ─▶ delivering ─ a failure, attempts left ──▶ failed ─┐
    failed ──┘   ▲             ├─ a failure, no attempts left ───▶ dead    │
                 │             └─ lease over, worker never reported:        │
                 │                claimable again (dead if no attempts left)│
                 └──────────────── next_attempt_at reached ─────────────────┘

A claim is one transaction: `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; on SQLite
the IMMEDIATE transaction serialises claimers and the clause is not rendered) picks due
rows, and an UPDATE sets them `delivering`, adds one to `attempts` and moves
`next_attempt_at` to the end of the lease. The HTTP requests run outside any transaction.
The outcome is recorded in another short transaction, only if the row is still
`delivering` at the attempt number this claim set: `attempts` is the claim token, strictly
increasing, so a worker whose lease ran out (and whose message was claimed again) can
never overwrite the newer claim's outcome.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import ColumnElement, Connection, Engine, and_, or_, select, true
from sqlalchemy import exc as sa_exc

from recovery.errors import StorageError
from recovery.storage import leases
from recovery.storage.tables import incidents, outbox

PENDING = "pending"
DELIVERING = "delivering"
DELIVERED = "delivered"
FAILED = "failed"
DEAD = leases.DEAD
STATUSES = (PENDING, DELIVERING, FAILED, DELIVERED, DEAD)

_CLAIMABLE = (PENDING, FAILED, DELIVERING)

Wanted = tuple[Collection[str] | None, Collection[str] | None]
"""What one target takes: its effect kinds and its properties (None: all of them)."""


@dataclass(frozen=True)
class Claim:
    """A message this worker holds until `lease_until`; `attempt` is the claim token."""

    id: int
    incident_id: str
    site: str
    seq: int
    kind: str
    payload: str
    created_at: datetime
    attempt: int
    lease_until: datetime
    accepted_by: frozenset[str] = frozenset()  # target URLs that took it on an earlier try

    @property
    def event(self) -> str:
        return f"{self.incident_id}:{self.seq}"


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime: SQLite's DateTime stores the wall time and drops the zone."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class OutboxClaims:
    """The delivery state transitions of outbox rows; every method is one transaction."""

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
        """Claim up to `limit` due messages until `now + lease`: those some entry of
        `wanted` covers (its kinds and properties; None in an entry: any), or any message
        if `wanted` is None.

        A message whose previous claim ran out of lease on its last allowed attempt is
        marked dead here instead of being claimed again; the second value counts them."""
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
            due = due.where(or_(*(_covers(kinds, sites) for kinds, sites in wanted)))
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

    def mark_delivered(
        self, claim: Claim, now: datetime, accepted_by: Collection[str] = ()
    ) -> bool:
        """Record a successful delivery; False if this claim no longer holds the message.
        An earlier attempt's `last_error` is kept: it tells why delivery took a while."""
        return self._finish(
            claim, status=DELIVERED, delivered_at=utc(now), accepted_by=_targets(accepted_by)
        )

    def mark_failed(
        self,
        claim: Claim,
        error: str,
        retry_at: datetime | None,
        accepted_by: Collection[str] = (),
    ) -> bool:
        """Record a failed attempt: retry at `retry_at`, or dead when it is None.
        `accepted_by`: the targets that took it so far, which a retry leaves out."""
        accepted = _targets(accepted_by)
        if retry_at is None:
            return self._finish(
                claim, status=DEAD, last_error=leases.clip(error), accepted_by=accepted
            )
        return self._finish(
            claim,
            status=FAILED,
            last_error=leases.clip(error),
            next_attempt_at=utc(retry_at),
            accepted_by=accepted,
        )

    def _finish(self, claim: Claim, **values: object) -> bool:
        with self._transaction() as conn:
            return leases.finish(
                conn, outbox, claim.id, holding=DELIVERING, attempt=claim.attempt, **values
            )


def _covers(kinds: Collection[str] | None, sites: Collection[str] | None) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [true()]
    if kinds is not None:
        conditions.append(outbox.c.kind.in_(sorted(kinds)))
    if sites is not None:
        conditions.append(incidents.c.site.in_(sorted(sites)))
    return and_(*conditions)


def _targets(urls: Collection[str]) -> str | None:
    return orjson.dumps(sorted(urls)).decode() if urls else None
