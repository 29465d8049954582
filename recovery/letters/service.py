"""The written follow-up as staff use it: draft the letter (issuing its voucher), queue it
for the mailer, look at it (text or a print-friendly page), and follow its delivery.

    from recovery.letters import draft_letter, request_letter, render_letter_html

    draft_letter(rec, incident_id, "written_apology", actor=manager)       # issues FN-...
    request_letter(rec, incident_id, "written_apology", actor=manager)     # queued: sending
    # the worker mails it; once the server accepted it, the step is `sent` (by the system)

Every change to the incident goes through `Recovery` as a step action, so it is in the
hash-chained log: the voucher code (draft), the letter's id and sha256 (request_send), the
mail server's message id (send, recorded by the mail worker) or why it bounced.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from recovery.config import Settings
from recovery.domain.commands import Actor
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import IncidentState, StepState, iso
from recovery.errors import CommandRejectedError, NotAllowedNowError, StorageError
from recovery.letters.i18n import pick_locale
from recovery.letters.render import RenderedLetter, render_step_letter
from recovery.letters.store import ACTIVE, DEAD, PENDING, LetterStore, QueuedLetter, Voucher
from recovery.letters.vouchers import candidate_codes, new_voucher_code
from recovery.service.engine import Outcome, Recovery

# A queued letter waits this long for its request to be recorded before the worker may
# take it (it is released at once when the request is recorded).
HOLD = timedelta(minutes=10)
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")
_DRAWS = 5


def letter_zone(zone: ZoneInfo | None = None) -> ZoneInfo:
    return zone or ZoneInfo(Settings.from_env().letter_timezone)


LETTER_ACTIONS = frozenset({"draft", "request_send"})


def sends_letters(compiled: CompiledPlaybook, kind: str) -> bool:
    """Whether a step kind drafts, queues and sends letters (the written kind, or a
    playbook's own kind with the same actions)."""
    events = compiled.kinds[kind].machine.events
    return all(trigger in events for trigger in ("draft", "request_send", "send"))


def act_on_step(
    rec: Recovery,
    incident_id: str,
    step_id: str,
    action: str,
    *,
    actor: Actor,
    channel: str = "api",
    expected_version: int | None = None,
    evidence: dict[str, Any] | None = None,
    reason: str | None = None,
    amount: float | None = None,
    alternatives: Sequence[str] = (),
    note: str | None = None,
    recipient: str | None = None,
    locale: str | None = None,
) -> Outcome:
    """Any step action, for every interface: drafting and queuing a letter go through
    `draft_letter` / `request_letter` (voucher drawn, letter rendered); the rest, and the
    same actions on steps that send no letter, straight to the engine."""
    if action in LETTER_ACTIONS:
        state = rec.get(incident_id).state
        step = state.steps.get(step_id)
        if step is not None and sends_letters(rec.playbook_of(state), step.kind):
            unknown = sorted(set(evidence or {}) - {"body", "recipient", "locale"})
            if unknown:
                raise CommandRejectedError(
                    f"{unknown[0]!r} is not asked for; a letter takes body (draft), "
                    "recipient and locale (request_send)",
                    field=f"evidence.{unknown[0]}",
                )
            common: dict[str, Any] = {
                "actor": actor,
                "channel": channel,
                "expected_version": expected_version,
            }
            if action == "draft":
                return draft_letter(rec, incident_id, step_id, note=note, **common)
            return request_letter(
                rec, incident_id, step_id, recipient=recipient, locale=locale, **common
            )
    return rec.act_on_step(
        incident_id,
        step_id,
        action,
        actor=actor,
        channel=channel,
        expected_version=expected_version,
        evidence=evidence,
        reason=reason,
        amount=amount,
        alternatives=alternatives,
    )


def written_step(compiled: CompiledPlaybook, state: IncidentState, step_id: str) -> StepState:
    """The step, if it is a written one (its kind drafts, queues and sends letters)."""
    step = state.steps.get(step_id)
    if step is None:
        raise CommandRejectedError(
            f"no step {step_id!r} on this incident; steps: {', '.join(state.steps)}", field="step"
        )
    if not sends_letters(compiled, step.kind):
        written = [s.id for s in state.steps.values() if sends_letters(compiled, s.kind)]
        raise CommandRejectedError(
            f"step {step_id!r} sends no letter; written steps here: {', '.join(written) or 'none'}",
            field="step",
        )
    return step


# ---------------------------------------------------------------------------- commands


def draft_letter(
    rec: Recovery,
    incident_id: str,
    step_id: str,
    *,
    actor: Actor,
    note: str | None = None,
    channel: str = "api",
    expected_version: int | None = None,
) -> Outcome:
    """Draft the letter of a written step: its personal `note` (optional) and, where the
    playbook says so, its voucher, whose code is drawn now and kept by later drafts."""
    state = rec.get(incident_id).state
    compiled = rec.playbook_of(state)
    step = written_step(compiled, state, step_id)
    voucher = compiled.steps[step_id].voucher
    store = LetterStore(rec.engine)
    evidence: dict[str, Any] = {}
    if note:
        evidence["body"] = note
    issued: str | None = None
    if voucher is not None:
        code = step.evidence.get("voucher_code")
        valid_until = step.evidence.get("voucher_valid_until")
        if not code:
            now = rec.clock()
            valid_until = (
                (now + voucher.valid_for).date().isoformat() if voucher.valid_for else None
            )
            for _ in range(_DRAWS):
                candidate = new_voucher_code(voucher)
                record = Voucher(
                    candidate, incident_id, step_id, voucher.kind, iso(now), valid_until
                )
                if store.add_voucher(record):
                    issued = code = candidate
                    break
            else:  # five collisions in a row: the table is not what we think it is
                raise StorageError("could not draw an unused voucher code")
        evidence["voucher_code"] = code
        if valid_until:
            evidence["voucher_valid_until"] = valid_until
    try:
        return rec.act_on_step(
            incident_id,
            step_id,
            "draft",
            evidence=evidence,
            actor=actor,
            channel=channel,
            expected_version=expected_version,
        )
    except BaseException:
        if issued is not None:
            with contextlib.suppress(StorageError):
                store.delete_voucher(issued)
        raise


def request_letter(
    rec: Recovery,
    incident_id: str,
    step_id: str,
    *,
    actor: Actor,
    recipient: str | None = None,
    locale: str | None = None,
    channel: str = "api",
    expected_version: int | None = None,
    zone: ZoneInfo | None = None,
) -> Outcome:
    """Render the drafted letter and queue it for the mailer: the step becomes `sending`.

    The letter goes to `recipient` (default: the address it was last sent to, else the
    customer's contact when it is an e-mail address) in the customer's language unless
    `locale` says otherwise. The step becomes `sent` only when the mail server accepted
    it (the mail worker records that); until then the incident cannot close."""
    view = rec.get(incident_id)
    state = view.state
    compiled = rec.playbook_of(state)
    step = written_step(compiled, state, step_id)
    store = LetterStore(rec.engine)
    if step.status == "sending":
        current = step.evidence.get("letter_id")
        queued = store.get(current) if isinstance(current, str) else None
        if queued is not None and queued.status in ACTIVE:
            raise NotAllowedNowError(
                f"letter {queued.id} is already on its way ({queued.status}, "
                f"{queued.attempts} attempt(s)); `recovery letters status {incident_id}` "
                "shows its delivery",
                state=f"{step_id}:{step.status}",
                allowed=view.allowed,
            )
    address = _recipient(recipient, step, state)
    now = rec.clock()
    letter = render_step_letter(
        compiled,
        state,
        step_id,
        locale=locale,
        now=now,
        zone=letter_zone(zone),
        signer=actor.id,
        recipient=address,
    )
    letter_id = f"ltr_{uuid.uuid4().hex}"
    store.queue(
        QueuedLetter(
            id=letter_id,
            incident_id=incident_id,
            step_id=step_id,
            locale=letter.locale,
            recipient=address,
            subject=letter.subject,
            body_text=letter.text,
            body_html=letter.html,
            digest=letter.digest,
            requested_by=actor.id,
            created_at=iso(now),
            status=PENDING,
            attempts=0,
            next_attempt_at=iso(now + HOLD),
            message_id=None,
            accepted_at=None,
            recorded_seq=None,
            last_error=None,
        ),
        hold_until=now + HOLD,
    )
    try:
        outcome = rec.act_on_step(
            incident_id,
            step_id,
            "request_send",
            evidence={
                "recipient": address,
                "letter_id": letter_id,
                "letter_digest": letter.digest,
                "locale": letter.locale,
            },
            actor=actor,
            channel=channel,
            expected_version=expected_version,
        )
    except BaseException:
        with contextlib.suppress(StorageError):
            store.discard(letter_id)
        raise
    with contextlib.suppress(StorageError):  # else it is released when the hold ends
        store.release(letter_id, now)
    return outcome


def _recipient(given: str | None, step: StepState, state: IncidentState) -> str:
    if given is not None:
        address = given.strip()
        if not _ADDRESS.match(address):
            raise CommandRejectedError(
                f"{given!r} is not an e-mail address like name@example.com", field="recipient"
            )
        return address
    for known in (step.evidence.get("recipient"), state.customer.get("contact")):
        if isinstance(known, str) and _ADDRESS.match(known.strip()):
            return known.strip()
    raise CommandRejectedError(
        "no e-mail address for this letter: the customer's contact is not one; give the recipient",
        field="recipient",
    )


# ---------------------------------------------------------------------------- reading


def render_letter(
    rec: Recovery,
    incident_id: str,
    step_id: str,
    locale: str | None = None,
    *,
    preview: bool = False,
    zone: ZoneInfo | None = None,
) -> RenderedLetter:
    """The step's letter: exactly as queued for the mailer once it was (in its language),
    else (or with `preview`, or another `locale`) as it would be rendered now."""
    state = rec.get(incident_id).state
    compiled = rec.playbook_of(state)
    step = written_step(compiled, state, step_id)
    letter_id = step.evidence.get("letter_id")
    if not preview and isinstance(letter_id, str):
        queued = LetterStore(rec.engine).get(letter_id)
        if queued is not None and (locale is None or pick_locale(locale) == queued.locale):
            return RenderedLetter(
                incident_id=incident_id,
                step_id=step_id,
                locale=queued.locale,
                subject=queued.subject,
                text=queued.body_text,
                html=queued.body_html,
                letter_id=queued.id,
                recipient=queued.recipient,
                status=queued.status,
            )
    recipient = step.evidence.get("recipient") or state.customer.get("contact")
    return render_step_letter(
        compiled,
        state,
        step_id,
        locale=locale,
        now=rec.clock(),
        zone=letter_zone(zone),
        recipient=recipient if isinstance(recipient, str) else None,
    )


def render_letter_html(
    rec: Recovery, incident_id: str, step_id: str, locale: str | None = None
) -> str:
    """The letter as a standalone, print-friendly HTML page (A4, print CSS; a browser's
    "Print" / "Save as PDF" makes the paper or PDF copy)."""
    return render_letter(rec, incident_id, step_id, locale).html


@dataclass(frozen=True)
class LetterStatus:
    """Letters by delivery status, the letters themselves, and (for one incident) written
    steps waiting on a letter that is not on its way (queue it again)."""

    counts: dict[str, int]
    letters: list[QueuedLetter]
    stalled: list[dict[str, Any]] = field(default_factory=list)

    @property
    def backlog(self) -> int:
        return sum(self.counts[s] for s in ACTIVE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "backlog": self.backlog,
            "letters": [letter.to_dict() for letter in self.letters],
            "stalled": list(self.stalled),
        }


def letter_status(
    rec: Recovery, incident_id: str | None = None, *, limit: int = 1000
) -> LetterStatus:
    """Counts by status, and the letters: every letter of one incident, or across all
    incidents those that need watching (on their way, or dead)."""
    store = LetterStore(rec.engine)
    state = None
    if incident_id is not None:
        state = rec.get(incident_id).state  # IncidentNotFoundError for an unknown id
        found = store.list(incident_id, limit=limit)
    else:
        found = store.list(statuses=(*ACTIVE, DEAD), limit=limit)
    stalled: list[dict[str, Any]] = []
    if state is not None:
        by_id = {letter.id: letter for letter in found}
        for step in state.steps.values():
            if step.status != "sending":
                continue
            queued = by_id.get(str(step.evidence.get("letter_id")))
            if queued is None or queued.status not in ACTIVE:
                stalled.append(
                    {
                        "step": step.id,
                        "letter_id": step.evidence.get("letter_id"),
                        "letter_status": queued.status if queued else None,
                    }
                )
    return LetterStatus(store.counts(incident_id), found, stalled)


@dataclass(frozen=True)
class VoucherCheck:
    """A voucher code looked up: where it was issued, and whether it is good now."""

    voucher: Voucher
    issued: bool
    letter: str
    expired: bool

    @property
    def valid(self) -> bool:
        return self.issued and not self.expired

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.voucher.to_dict(),
            "issued": self.issued,
            "letter": self.letter,
            "expired": self.expired,
            "valid": self.valid,
        }


def find_voucher(rec: Recovery, code: str) -> VoucherCheck | None:
    """Look up a code as a customer gives it (any case, spaces). `issued` is true only when
    the incident's own log records this code for the step (a code whose draft was refused
    or never recorded is not)."""
    voucher = LetterStore(rec.engine).voucher(*candidate_codes(code))
    if voucher is None:
        return None
    step = rec.get(voucher.incident_id).state.steps.get(voucher.step_id)
    issued = step is not None and step.evidence.get("voucher_code") == voucher.code
    today = rec.clock().date()
    expired = voucher.valid_until is not None and date.fromisoformat(voucher.valid_until) < today
    return VoucherCheck(voucher, issued, step.status if step else "missing", expired)
