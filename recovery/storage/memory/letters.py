"""`MemoryLetterStore`: the letters and vouchers (`letters.ports.LetterStore`) in memory, with
the SQL adapter's queue rules (claims, leases, outcomes only for the claim that holds a
letter), for tests and demos that need no database."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from recovery.domain.personal import REDACTED
from recovery.domain.state import iso, parse_iso
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
from recovery.storage.outcomes import LetterOutcomes

_CLAIMABLE = (PENDING, FAILED, SENDING)


class MemoryLetterStore(LetterOutcomes):
    """Gone when the process ends; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._letters: dict[str, QueuedLetter] = {}
        self._vouchers: dict[str, Voucher] = {}

    def erase_personal(self, incident_id: str) -> None:
        """The incident's letters without recipient, subject or bodies (erased)."""
        with self._lock:
            for letter_id, letter in list(self._letters.items()):
                if letter.incident_id == incident_id:
                    self._letters[letter_id] = replace(
                        letter,
                        recipient=REDACTED,
                        subject=REDACTED,
                        body_text=REDACTED,
                        body_html=REDACTED,
                        last_error=None,
                    )

    def waiting(self) -> int:
        """Letters not yet sent nor given up (`Storage.backlog`)."""
        with self._lock:
            return sum(letter.status in _CLAIMABLE for letter in self._letters.values())

    # ------------------------------------------------------------------ vouchers

    def add_voucher(self, voucher: Voucher) -> bool:
        with self._lock:
            if voucher.code in self._vouchers:
                return False
            self._vouchers[voucher.code] = voucher
            return True

    def delete_voucher(self, code: str) -> None:
        with self._lock:
            self._vouchers.pop(code, None)

    def voucher(self, *codes: str) -> Voucher | None:
        with self._lock:
            return next((self._vouchers[c] for c in codes if c in self._vouchers), None)

    # ------------------------------------------------------------------ queueing

    def queue(self, letter: QueuedLetter, *, hold_until: datetime) -> None:
        with self._lock:
            if letter.id in self._letters:
                raise StorageError(f"letter {letter.id} is queued already")
            self._letters[letter.id] = replace(
                letter,
                created_at=iso(parse_iso(letter.created_at)),
                status=PENDING,
                attempts=0,
                next_attempt_at=iso(hold_until),
                message_id=None,
                accepted_at=None,
                recorded_seq=None,
                last_error=None,
            )

    def release(self, letter_id: str, now: datetime) -> None:
        with self._lock:
            letter = self._letters.get(letter_id)
            if letter is not None and letter.status == PENDING:
                self._letters[letter_id] = replace(letter, next_attempt_at=iso(now))

    def discard(self, letter_id: str) -> None:
        with self._lock:
            letter = self._letters.get(letter_id)
            if letter is not None and letter.status == PENDING:
                del self._letters[letter_id]

    # ------------------------------------------------------------------ delivery

    def claim(
        self, now: datetime, *, limit: int, lease: timedelta, max_attempts: int
    ) -> tuple[list[LetterClaim], list[QueuedLetter]]:
        now = parse_iso(iso(now))  # aware UTC, like the stored moments
        lease_until = now + lease
        with self._lock:
            due = sorted(
                (
                    letter
                    for letter in self._letters.values()
                    if letter.status in _CLAIMABLE and parse_iso(letter.next_attempt_at) <= now
                ),
                key=lambda letter: (parse_iso(letter.next_attempt_at), letter.id),
            )[:limit]
            claims: list[LetterClaim] = []
            dead: list[QueuedLetter] = []
            for letter in due:
                if (
                    letter.status == SENDING
                    and letter.attempts >= max_attempts
                    and letter.message_id is None
                ):
                    reason = leases.given_up(letter.attempts, max_attempts, letter.last_error)
                    given_up = replace(letter, status=DEAD, last_error=reason)
                    self._letters[letter.id] = given_up
                    dead.append(given_up)
                    continue
                self._letters[letter.id] = replace(
                    letter,
                    status=SENDING,
                    attempts=letter.attempts + 1,
                    next_attempt_at=iso(lease_until),
                )
                claims.append(LetterClaim(letter, letter.attempts + 1, lease_until))
        return claims, dead

    def _moment(self, moment: datetime) -> Any:
        return iso(moment)

    def _finish(self, claim: LetterClaim, **values: Any) -> bool:
        """Record an outcome if this claim still holds the letter; False if not."""
        with self._lock:
            letter = self._letters.get(claim.id)
            if letter is None or letter.status != SENDING or letter.attempts != claim.attempt:
                return False
            self._letters[claim.id] = replace(letter, **values)
            return True

    # ------------------------------------------------------------------ reads

    def get(self, letter_id: str) -> QueuedLetter | None:
        with self._lock:
            return self._letters.get(letter_id)

    def list(
        self,
        incident_id: str | None = None,
        *,
        step_id: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[QueuedLetter]:
        with self._lock:
            found = [
                letter
                for letter in self._letters.values()
                if (incident_id is None or letter.incident_id == incident_id)
                and (step_id is None or letter.step_id == step_id)
                and (statuses is None or letter.status in statuses)
            ]
        found.sort(key=lambda letter: (parse_iso(letter.created_at), letter.id))
        return found[:limit]

    def counts(self, incident_id: str | None = None) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        with self._lock:
            for letter in self._letters.values():
                if incident_id is None or letter.incident_id == incident_id:
                    counts[letter.status] = counts.get(letter.status, 0) + 1
        return counts
