"""A written step's rules, without storage: which steps send letters, what a letter action
takes, where the letter goes, and what the letter queries answer (`LetterStatus`,
`VoucherCheck`). `recovery.service.letters` runs the commands on them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from recovery.config import Settings
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import IncidentState, StepState
from recovery.errors import CommandRejectedError
from recovery.letters.ports import ACTIVE, QueuedLetter, Voucher

# The step actions that are a letter's commands on a step whose kind sends letters.
LETTER_ACTIONS = frozenset({"draft", "request_send"})
# What such an action takes from a caller: the draft's note, the letter's address and language.
LETTER_FIELDS = ("body", "recipient", "locale")
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


def letter_zone(zone: ZoneInfo | None = None) -> ZoneInfo:
    return zone or ZoneInfo(Settings.from_env().letter_timezone)


def sends_letters(compiled: CompiledPlaybook, kind: str) -> bool:
    """Whether a step kind drafts, queues and sends letters (the written kind, or a
    playbook's own kind with the same actions)."""
    events = compiled.kinds[kind].machine.events
    return all(trigger in events for trigger in ("draft", "request_send", "send"))


def check_letter_fields(evidence: Mapping[str, Any] | None) -> None:
    """Refuse evidence a letter action does not take (its voucher code is drawn, its letter's
    id and digest are recorded by the service, never given)."""
    unknown = sorted(set(evidence or {}) - set(LETTER_FIELDS))
    if unknown:
        raise CommandRejectedError(
            f"{unknown[0]!r} is not asked for; a letter takes body (draft), "
            "recipient and locale (request_send)",
            field=f"evidence.{unknown[0]}",
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


def recipient_for(given: str | None, step: StepState, state: IncidentState) -> str:
    """Where the letter goes: `given`, else the address it was last sent to, else the
    customer's contact when it is an e-mail address."""
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


def stalled_steps(state: IncidentState, letters: Iterable[QueuedLetter]) -> list[dict[str, Any]]:
    """Written steps waiting on a letter (`sending`) that is not on its way: queue it again."""
    by_id = {letter.id: letter for letter in letters}
    stalled: list[dict[str, Any]] = []
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
    return stalled


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


@dataclass(frozen=True)
class VoucherCheck:
    """A voucher code looked up: where it was issued, and whether it is good now."""

    voucher: Voucher
    issued: bool
    letter: str
    expired: bool

    @classmethod
    def of(cls, voucher: Voucher, state: IncidentState, today: date) -> VoucherCheck:
        """`issued` only when the incident's own log records this code for the step (a code
        whose draft was refused or never recorded is not)."""
        step = state.steps.get(voucher.step_id)
        issued = step is not None and step.evidence.get("voucher_code") == voucher.code
        expired = (
            voucher.valid_until is not None and date.fromisoformat(voucher.valid_until) < today
        )
        return cls(voucher, issued, step.status if step else "missing", expired)

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
