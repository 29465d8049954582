"""What the letters need from storage: the mail queue and the voucher codes issued, as a
protocol (`LetterStore`, implemented in `recovery.storage.letters`) and the records it
returns.

A letter's delivery moves through short transactions; the SMTP conversation runs outside
any of them:

    pending ─┐                 ┌─ the mail server accepted it ─▶ sent
             ├─ claim ─▶ sending ─ refused for now, attempts left ─▶ failed ─┐
    failed ──┘   ▲             ├─ refused for good, or no attempts left ─▶ dead
                 │             └─ nothing to send any more ─▶ cancelled     │
                 └────────────── next_attempt_at reached ───────────────────┘

A claim holds a letter until its lease ends (`attempts`, one more per claim, is the claim's
token); an outcome is recorded only while that claim still holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

PENDING = "pending"
SENDING = "sending"
FAILED = "failed"
SENT = "sent"
DEAD = "dead"
CANCELLED = "cancelled"
STATUSES = (PENDING, SENDING, FAILED, SENT, DEAD, CANCELLED)
ACTIVE = (PENDING, SENDING, FAILED)


@dataclass(frozen=True)
class QueuedLetter:
    """A letter as queued: what the customer receives, and where its delivery stands."""

    id: str
    incident_id: str
    step_id: str
    locale: str
    recipient: str
    subject: str
    body_text: str
    body_html: str
    digest: str
    requested_by: str
    created_at: str
    status: str
    attempts: int
    next_attempt_at: str
    message_id: str | None
    accepted_at: str | None
    recorded_seq: int | None
    last_error: str | None

    def to_dict(self, *, content: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not content:
            for key in ("body_text", "body_html"):
                data.pop(key)
        return data


@dataclass(frozen=True)
class LetterClaim:
    """A letter this worker holds until `lease_until`; `attempt` is the claim token."""

    letter: QueuedLetter
    attempt: int
    lease_until: datetime

    @property
    def id(self) -> str:
        return self.letter.id

    def runs_out_within(self, budget: timedelta, now: datetime) -> bool:
        """Whether the lease ends less than `budget` after `now` (a naive `now` is UTC)."""
        aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        return aware + budget > self.lease_until


@dataclass(frozen=True)
class Voucher:
    code: str
    incident_id: str
    step_id: str
    kind: str
    issued_at: str
    valid_until: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LetterStore(Protocol):
    """The letters and vouchers tables. Every method is one short transaction (or one read)."""

    # ------------------------------------------------------------------ vouchers

    def add_voucher(self, voucher: Voucher) -> bool:
        """Store a newly drawn code; False if that code exists already (draw again)."""
        ...

    def delete_voucher(self, code: str) -> None: ...

    def voucher(self, *codes: str) -> Voucher | None:
        """The voucher with one of these codes (the first found)."""
        ...

    # ------------------------------------------------------------------ queueing

    def queue(self, letter: QueuedLetter, *, hold_until: datetime) -> None:
        """Store a letter, held until `hold_until`: `release` makes it due at once after its
        request is recorded. If that never happens (the request was refused, or the
        process died), the worker finds the incident does not ask for it and cancels it."""
        ...

    def release(self, letter_id: str, now: datetime) -> None: ...

    def discard(self, letter_id: str) -> None:
        """Remove a letter whose request was refused (it was never asked for)."""
        ...

    # ------------------------------------------------------------------ delivery

    def claim(
        self, now: datetime, *, limit: int, lease: timedelta, max_attempts: int
    ) -> tuple[list[LetterClaim], list[QueuedLetter]]:
        """Claim up to `limit` due letters until `now + lease`. A letter whose last allowed
        attempt ran out of lease is marked dead instead (returned second, to be bounced,
        with the reason recorded), unless the mail server had accepted it: that one is
        claimed again so that its sending gets recorded."""
        ...

    def mark_accepted(self, claim: LetterClaim, message_id: str, now: datetime) -> bool:
        """The mail server accepted the letter: remember that before anything else, so a
        worker that dies now never sends it twice (the next claim only records it)."""
        ...

    def mark_sent(self, claim: LetterClaim, recorded_seq: int | None, note: str | None) -> bool: ...

    def mark_failed(self, claim: LetterClaim, error: str, retry_at: datetime | None) -> bool:
        """A failed attempt: retry at `retry_at`, or dead when it is None."""
        ...

    def mark_cancelled(self, claim: LetterClaim, reason: str) -> bool: ...

    # ------------------------------------------------------------------ reads

    def get(self, letter_id: str) -> QueuedLetter | None: ...

    def list(
        self,
        incident_id: str | None = None,
        *,
        step_id: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[QueuedLetter]:
        """Letters oldest first (of one incident, one step, some statuses, if given)."""
        ...

    def counts(self, incident_id: str | None = None) -> dict[str, int]:
        """Letters by status: every status of `STATUSES`, zero when there is none."""
        ...
