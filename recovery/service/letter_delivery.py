"""The mail worker: claim queued letters, hand them to a mailer, record the outcome.

A letter goes out only while its incident asks for it (the written step is `sending` with
this letter's id); otherwise it is cancelled, never mailed. Once the mailer accepted it,
the worker records that on the letter first and then, as the system, the step's `send`
with the server's message id: the step is `sent` and the incident may close. A refused
letter is retried with back-off (`recovery.delivery.RetryPolicy`); one refused for good
(a 5xx for the recipient or the content) or out of attempts is `dead`, and the worker
records `bounce` on the step (with why), which takes it back to `drafted` so staff can
correct it and queue it again. Letters are at-least-once only where a worker dies between
the server's acceptance and recording it: the message keeps its Message-ID on every attempt.

A customer update (`service.update_mail`) belongs to no step: it is mailed as long as its
incident exists, and once accepted the worker records it as a contact in the timeline.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from recovery.config import Settings
from recovery.delivery import RetryPolicy
from recovery.domain.commands import Actor
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import StepState
from recovery.errors import (
    CommandRejectedError,
    ConflictError,
    IncidentNotFoundError,
)
from recovery.letters.mailers import Mailer, MailError, build_message
from recovery.letters.ports import LetterClaim, QueuedLetter
from recovery.letters.render import humanise
from recovery.service.engine import Recovery
from recovery.service.update_mail import is_update, record_update_sent

log = logging.getLogger("recovery.letters")

MAIL_WORKER = Actor(id="mail-worker", role="system")
DEFAULT_LEASE = timedelta(minutes=10)
# Letters are not urgent the way a webhook is, but a customer waits for them: retry after
# about 1, 2, 4, ... minutes, at most an hour apart, for about a working day.
DEFAULT_POLICY = RetryPolicy(
    base=timedelta(minutes=1), cap=timedelta(hours=1), max_attempts=14, jitter=0.2
)
# What one letter may take (connect, TLS, login, data), to size a batch to its lease.
LETTER_BUDGET = timedelta(seconds=90)

SENT = "sent"
FAILED = "failed"
DEAD = "dead"
CANCELLED = "cancelled"
LOST = "lost"
SKIPPED = "skipped"


@dataclass
class LetterStats:
    """What a pass did; `lost`: our lease ran out and another worker owns the letter."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    lost: int = 0
    skipped: int = 0

    def __add__(self, other: LetterStats) -> LetterStats:
        return LetterStats(**{k: v + getattr(other, k) for k, v in asdict(self).items()})

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class LetterDeliverer:
    """Delivers the letters queued in `rec`'s database through `mailer`. Any number of
    deliverers (threads or processes) can share a database."""

    def __init__(
        self,
        rec: Recovery,
        mailer: Mailer,
        *,
        sender: str | None = None,
        policy: RetryPolicy | None = None,
        lease: timedelta = DEFAULT_LEASE,
        batch_size: int = 10,
        rng: random.Random | None = None,
    ) -> None:
        if lease <= LETTER_BUDGET:
            raise ValueError(f"a lease must outlast one letter ({LETTER_BUDGET})")
        self.rec = rec
        self.mailer = mailer
        self.sender = sender or Settings.from_env().mail_from
        self.policy = policy or DEFAULT_POLICY
        self.lease = lease
        self.batch_size = max(1, min(batch_size, int(lease / LETTER_BUDGET)))
        self.store = rec.storage.letters
        self._rng = rng or random.Random()

    def deliver_due(self, *, limit: int | None = None) -> LetterStats:
        """Claim and deliver letters until none is due (or `limit` were claimed)."""
        stats = LetterStats()
        while limit is None or stats.claimed < limit:
            size = self.batch_size if limit is None else min(self.batch_size, limit - stats.claimed)
            claims, abandoned = self.store.claim(
                self.rec.clock(),
                limit=size,
                lease=self.lease,
                max_attempts=self.policy.max_attempts,
            )
            stats.claimed += len(claims)
            for letter in abandoned:
                stats.dead += 1
                self._bounce(letter, letter.last_error or "the worker never reported back")
            if not claims and not abandoned:
                break
            for claim in claims:
                self.deliver(claim, stats)
        return stats

    def deliver(self, claim: LetterClaim, stats: LetterStats | None = None) -> str:
        """Mail one claimed letter (unless its incident no longer asks for it) and record
        the outcome; return it: sent, failed, dead, cancelled, lost or skipped."""
        stats = stats if stats is not None else LetterStats()
        letter = claim.letter
        try:
            view = self.rec.get(letter.incident_id)
        except IncidentNotFoundError:
            return self._cancel(claim, stats, "the incident does not exist")
        if is_update(letter):
            return self._deliver_update(claim, view, stats)
        step = view.state.steps.get(letter.step_id)
        if step is None or step.evidence.get("letter_id") != letter.id:
            return self._cancel(
                claim,
                stats,
                "the incident does not ask for this letter (its request was not recorded, "
                "or a newer letter replaced it)",
            )
        if step.status != "sending":
            if step.status == "sent" and letter.message_id:
                return self._finish(claim, stats, None, "recorded as sent before")
            return self._cancel(claim, stats, f"the step is {step.status}: nothing to send")

        message_id, outcome = self._mail(claim, view, stats)
        if message_id is None:
            return outcome
        seq, note = self._record_sent(letter, step, message_id, self.rec.playbook_of(view.state))
        return self._finish(claim, stats, seq, note)

    def _deliver_update(self, claim: LetterClaim, view: Any, stats: LetterStats) -> str:
        """Mail a customer update (unless accepted before) and record it in the timeline."""
        message_id, outcome = self._mail(claim, view, stats)
        if message_id is None:
            return outcome
        seq, note = record_update_sent(self.rec.execute, claim.letter, message_id, MAIL_WORKER)
        return self._finish(claim, stats, seq, note)

    def _mail(self, claim: LetterClaim, view: Any, stats: LetterStats) -> tuple[str | None, str]:
        """Hand the letter to the mailer unless it accepted it before: (its message id, "")
        once accepted and marked, else (None, the outcome: skipped, failed, dead or lost)."""
        letter = claim.letter
        if letter.message_id is not None:
            return letter.message_id, ""
        if claim.runs_out_within(LETTER_BUDGET, self.rec.clock()):
            stats.skipped += 1
            return None, SKIPPED
        customer = view.state.customer.get("name")
        message = build_message(
            letter,
            sender=self.sender,
            customer_name=customer if isinstance(customer, str) else None,
            site_name=humanise(view.state.site),
        )
        try:
            message_id = self.mailer.send(message)
        except MailError as exc:
            return None, self._failed(claim, stats, str(exc), permanent=exc.permanent)
        except Exception as exc:  # a broken mailer must not stop the other letters
            log.exception("letter %s: the mailer failed", letter.id)
            why = f"{type(exc).__name__}: {exc}"
            return None, self._failed(claim, stats, why, permanent=False)
        if not self.store.mark_accepted(claim, message_id, self.rec.clock()):
            stats.lost += 1
            log.warning("letter %s: accepted, but our claim ran out first", letter.id)
            return None, LOST
        return message_id, ""

    # ------------------------------------------------------------------ outcomes

    def _record_sent(
        self,
        letter: QueuedLetter,
        step: StepState,
        message_id: str,
        compiled: CompiledPlaybook,
    ) -> tuple[int | None, str | None]:
        evidence: dict[str, Any] = {"letter_id": letter.id, "message_id": message_id}
        known = {"recipient": letter.recipient, **step.evidence}
        for field in compiled.evidence_for(letter.step_id, "send"):
            if field.name not in evidence and field.name in known:
                evidence[field.name] = known[field.name]
        for _ in range(3):
            try:
                outcome = self.rec.act_on_step(
                    letter.incident_id,
                    letter.step_id,
                    "send",
                    evidence=evidence,
                    actor=MAIL_WORKER,
                    channel="mail",
                )
            except ConflictError:
                continue
            except CommandRejectedError as exc:
                log.warning("letter %s: accepted but not recorded: %s", letter.id, exc)
                return None, f"accepted as {message_id}, not recorded on the incident: {exc}"
            return outcome.event.seq, None
        return None, f"accepted as {message_id}, not recorded: the incident kept changing"

    def _finish(
        self, claim: LetterClaim, stats: LetterStats, seq: int | None, note: str | None
    ) -> str:
        if not self.store.mark_sent(claim, seq, note):
            stats.lost += 1
            return LOST
        stats.sent += 1
        return SENT

    def _cancel(self, claim: LetterClaim, stats: LetterStats, reason: str) -> str:
        if not self.store.mark_cancelled(claim, reason):
            stats.lost += 1
            return LOST
        stats.cancelled += 1
        log.info("letter %s cancelled: %s", claim.id, reason)
        return CANCELLED

    def _failed(
        self, claim: LetterClaim, stats: LetterStats, error: str, *, permanent: bool
    ) -> str:
        text = f"attempt {claim.attempt}: {error}"
        now = self.rec.clock()
        if permanent or self.policy.is_last(claim.attempt):
            if not self.store.mark_failed(claim, text, None):
                stats.lost += 1
                return LOST
            stats.dead += 1
            log.warning("letter %s is dead: %s", claim.id, text)
            self._bounce(claim.letter, text)
            return DEAD
        retry_at = now + self.policy.delay(claim.attempt, self._rng)
        if not self.store.mark_failed(claim, text, retry_at):
            stats.lost += 1
            return LOST
        stats.failed += 1
        log.info("letter %s will be retried: %s", claim.id, text)
        return FAILED

    def _bounce(self, letter: QueuedLetter, error: str) -> None:
        """Tell the incident the letter could not be delivered: the step goes back to
        drafted, with why, so the next person sees it and can queue it again."""
        try:
            step = self.rec.get(letter.incident_id).state.steps.get(letter.step_id)
            if step is None or step.status != "sending":
                return
            if step.evidence.get("letter_id") != letter.id:
                return
            self.rec.act_on_step(
                letter.incident_id,
                letter.step_id,
                "bounce",
                evidence={"letter_id": letter.id, "error": error[:4000]},
                actor=MAIL_WORKER,
                channel="mail",
            )
        except (CommandRejectedError, ConflictError, IncidentNotFoundError) as exc:
            log.warning("letter %s: could not record the bounce: %s", letter.id, exc)


def deliver_letters(
    rec: Recovery, mailer: Mailer, *, limit: int | None = None, **options: Any
) -> LetterStats:
    """One pass: deliver every letter due now (options as for `LetterDeliverer`)."""
    return LetterDeliverer(rec, mailer, **options).deliver_due(limit=limit)
