"""What each outcome of a held queue row records, shared by the SQL and memory adapters of
the letters and the outbox: each adapter only says how to write the values (`_finish`, only
while the claim still holds the row) and in which form a moment is kept (`_moment`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import orjson

from recovery.delivery.ports import DEAD as MESSAGE_DEAD
from recovery.delivery.ports import DELIVERED, Claim
from recovery.delivery.ports import FAILED as MESSAGE_FAILED
from recovery.letters.ports import CANCELLED, DEAD, FAILED, SENT, LetterClaim
from recovery.storage.leases import clip


class LetterOutcomes:
    def _finish(self, claim: LetterClaim, **values: Any) -> bool:
        raise NotImplementedError

    def _moment(self, moment: datetime) -> Any:
        raise NotImplementedError

    def mark_accepted(self, claim: LetterClaim, message_id: str, now: datetime) -> bool:
        """The mail server accepted the letter: remember that before anything else, so a
        worker that dies now never sends it twice (the next claim only records it)."""
        return self._finish(claim, message_id=message_id, accepted_at=self._moment(now))

    def mark_sent(self, claim: LetterClaim, recorded_seq: int | None, note: str | None) -> bool:
        values: dict[str, Any] = {"status": SENT, "recorded_seq": recorded_seq}
        if note:
            values["last_error"] = clip(note)
        return self._finish(claim, **values)

    def mark_failed(self, claim: LetterClaim, error: str, retry_at: datetime | None) -> bool:
        """A failed attempt: retry at `retry_at`, or dead when it is None."""
        if retry_at is None:
            return self._finish(claim, status=DEAD, last_error=clip(error))
        return self._finish(
            claim, status=FAILED, last_error=clip(error), next_attempt_at=self._moment(retry_at)
        )

    def mark_cancelled(self, claim: LetterClaim, reason: str) -> bool:
        return self._finish(claim, status=CANCELLED, last_error=clip(reason))


class MessageOutcomes:
    def _finish(self, claim: Claim, **values: Any) -> bool:
        raise NotImplementedError

    def _moment(self, moment: datetime) -> Any:
        raise NotImplementedError

    def mark_delivered(
        self, claim: Claim, now: datetime, accepted_by: Collection[str] = ()
    ) -> bool:
        return self._finish(
            claim,
            status=DELIVERED,
            delivered_at=self._moment(now),
            accepted_by=targets_text(accepted_by),
        )

    def mark_failed(
        self,
        claim: Claim,
        error: str,
        retry_at: datetime | None,
        accepted_by: Collection[str] = (),
    ) -> bool:
        accepted = targets_text(accepted_by)
        if retry_at is None:
            return self._finish(
                claim, status=MESSAGE_DEAD, last_error=clip(error), accepted_by=accepted
            )
        return self._finish(
            claim,
            status=MESSAGE_FAILED,
            last_error=clip(error),
            next_attempt_at=self._moment(retry_at),
            accepted_by=accepted,
        )


def targets_text(urls: Collection[str]) -> str | None:
    """The targets that took a message, as the `accepted_by` column keeps them."""
    return orjson.dumps(sorted(urls)).decode() if urls else None
