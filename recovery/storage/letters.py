"""`SqlLetterStore`: the `letters` and `vouchers` tables (`letters.ports.LetterStore`).

A claim is `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite's IMMEDIATE transaction
serialises claimers), then an UPDATE that sets `sending`, adds one to `attempts` (the claim
token) and moves `next_attempt_at` to the end of the lease (`storage.leases`). An outcome
is recorded only if the row is still `sending` at the attempt this claim set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy import exc as sa_exc

from recovery.errors import StorageError
from recovery.letters.ports import (
    DEAD,
    FAILED,
    PENDING,
    SENDING,
    STATUSES,
    LetterClaim,
    QueuedLetter,
    Voucher,
)
from recovery.storage import leases
from recovery.storage.database import reading
from recovery.storage.moments import from_column, utc
from recovery.storage.outcomes import LetterOutcomes
from recovery.storage.tables.follow_up import letters, vouchers

_CLAIMABLE = (PENDING, FAILED, SENDING)


def _letter(row: Any) -> QueuedLetter:
    return QueuedLetter(
        id=row.id,
        incident_id=row.incident_id,
        step_id=row.step_id,
        locale=row.locale,
        recipient=row.recipient,
        subject=row.subject,
        body_text=row.body_text,
        body_html=row.body_html,
        digest=row.digest,
        requested_by=row.requested_by,
        created_at=from_column(row.created_at) or "",
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=from_column(row.next_attempt_at) or "",
        message_id=row.message_id,
        accepted_at=from_column(row.accepted_at),
        recorded_seq=row.recorded_seq,
        last_error=row.last_error,
    )


class SqlLetterStore(LetterOutcomes):
    """Every method is one short transaction (or one read)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa_exc.DBAPIError as exc:
            raise StorageError(f"database error in the letters: {exc.orig}") from exc

    def _reading(self) -> contextlib.AbstractContextManager[Connection]:
        return reading(self.engine)

    # ------------------------------------------------------------------ vouchers

    def add_voucher(self, voucher: Voucher) -> bool:
        """Store a newly drawn code; False if that code exists already (draw again)."""
        try:
            with self._transaction() as conn:
                conn.execute(
                    vouchers.insert().values(
                        code=voucher.code,
                        incident_id=voucher.incident_id,
                        step_id=voucher.step_id,
                        kind=voucher.kind,
                        issued_at=datetime.fromisoformat(voucher.issued_at),
                        valid_until=date.fromisoformat(voucher.valid_until)
                        if voucher.valid_until
                        else None,
                    )
                )
        except StorageError as exc:
            if isinstance(exc.__cause__, sa_exc.IntegrityError):
                return False
            raise
        return True

    def delete_voucher(self, code: str) -> None:
        with self._transaction() as conn:
            conn.execute(delete(vouchers).where(vouchers.c.code == code))

    def voucher(self, *codes: str) -> Voucher | None:
        """The voucher with one of these codes (the first found)."""
        with self._reading() as conn:
            row = conn.execute(
                select(vouchers).where(vouchers.c.code.in_(codes)).limit(1)
            ).one_or_none()
        if row is None:
            return None
        return Voucher(
            code=row.code,
            incident_id=row.incident_id,
            step_id=row.step_id,
            kind=row.kind,
            issued_at=from_column(row.issued_at) or "",
            valid_until=row.valid_until.isoformat() if row.valid_until else None,
        )

    # ------------------------------------------------------------------ queueing

    def queue(self, letter: QueuedLetter, *, hold_until: datetime) -> None:
        """Store a letter, held until `hold_until`: `release` makes it due at once after its
        request is recorded. If that never happens (the request was refused, or the
        process died), the worker finds the incident does not ask for it and cancels it."""
        with self._transaction() as conn:
            conn.execute(
                letters.insert().values(
                    id=letter.id,
                    incident_id=letter.incident_id,
                    step_id=letter.step_id,
                    locale=letter.locale,
                    recipient=letter.recipient,
                    subject=letter.subject,
                    body_text=letter.body_text,
                    body_html=letter.body_html,
                    digest=letter.digest,
                    requested_by=letter.requested_by,
                    created_at=datetime.fromisoformat(letter.created_at),
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=utc(hold_until),
                )
            )

    def release(self, letter_id: str, now: datetime) -> None:
        with self._transaction() as conn:
            conn.execute(
                update(letters)
                .where(letters.c.id == letter_id, letters.c.status == PENDING)
                .values(next_attempt_at=utc(now))
            )

    def discard(self, letter_id: str) -> None:
        """Remove a letter whose request was refused (it was never asked for)."""
        with self._transaction() as conn:
            conn.execute(
                delete(letters).where(letters.c.id == letter_id, letters.c.status == PENDING)
            )

    # ------------------------------------------------------------------ delivery

    def claim(
        self, now: datetime, *, limit: int, lease: timedelta, max_attempts: int
    ) -> tuple[list[LetterClaim], list[QueuedLetter]]:
        """Claim up to `limit` due letters until `now + lease`. A letter whose last allowed
        attempt ran out of lease is marked dead instead (returned second, to be bounced,
        with the reason recorded), unless the mail server had accepted it: that one is
        claimed again so that its sending gets recorded."""
        now = utc(now)
        lease_until = now + lease
        due = (
            select(letters)
            .where(letters.c.status.in_(_CLAIMABLE), letters.c.next_attempt_at <= now)
            .order_by(letters.c.next_attempt_at, letters.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._transaction() as conn:
            rows = conn.execute(due).all()
            abandoned = [
                r
                for r in rows
                if r.status == SENDING and r.attempts >= max_attempts and r.message_id is None
            ]
            given_up = {
                r.id: leases.given_up(r.attempts, max_attempts, r.last_error) for r in abandoned
            }
            taken = [r for r in rows if r.id not in given_up]
            leases.hold(conn, letters, taken, given_up, holding=SENDING, lease_until=lease_until)
        claims = [LetterClaim(_letter(r), r.attempts + 1, lease_until) for r in taken]
        dead = [replace(_letter(r), status=DEAD, last_error=given_up[r.id]) for r in abandoned]
        return claims, dead

    def _moment(self, moment: datetime) -> Any:
        return utc(moment)

    def _finish(self, claim: LetterClaim, **values: Any) -> bool:
        with self._transaction() as conn:
            return leases.finish(
                conn, letters, claim.id, holding=SENDING, attempt=claim.attempt, **values
            )

    # ------------------------------------------------------------------ reads

    def get(self, letter_id: str) -> QueuedLetter | None:
        with self._reading() as conn:
            row = conn.execute(select(letters).where(letters.c.id == letter_id)).one_or_none()
        return None if row is None else _letter(row)

    def list(
        self,
        incident_id: str | None = None,
        *,
        step_id: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[QueuedLetter]:
        """Letters oldest first (of one incident, one step, some statuses, if given)."""
        query = select(letters).order_by(letters.c.created_at, letters.c.id).limit(limit)
        if incident_id is not None:
            query = query.where(letters.c.incident_id == incident_id)
        if step_id is not None:
            query = query.where(letters.c.step_id == step_id)
        if statuses is not None:
            query = query.where(letters.c.status.in_(list(statuses)))
        with self._reading() as conn:
            return [_letter(r) for r in conn.execute(query)]

    def counts(self, incident_id: str | None = None) -> dict[str, int]:
        query = select(letters.c.status, func.count()).group_by(letters.c.status)
        if incident_id is not None:
            query = query.where(letters.c.incident_id == incident_id)
        with self._reading() as conn:
            counted = {status: int(n) for status, n in conn.execute(query)}
        counts = {status: counted.pop(status, 0) for status in STATUSES}
        counts.update(counted)
        return counts
