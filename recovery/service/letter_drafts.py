"""Drafting and queueing a written step's letter, on the incident as the caller read it: the
voucher drawn for the draft, the letter queued for the mailer, and the step action that
records each (decided again from the head by the unit of work). `LetterCommands` calls them.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from recovery.domain.calendar import ALWAYS_OPEN
from recovery.domain.commands import Actor, IncidentCommand, StepAction
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import IncidentState, iso
from recovery.errors import NotAllowedNowError, StorageError
from recovery.letters.ports import ACTIVE, PENDING, QueuedLetter, Voucher
from recovery.letters.render import RenderedLetter, render_step_letter
from recovery.letters.vouchers import new_voucher_code
from recovery.letters.written import letter_zone, recipient_for, written_step
from recovery.service.once import Once
from recovery.service.ports import Storage
from recovery.service.views import IncidentView, Outcome
from recovery.sites import Sites

# A queued letter waits this long for its request to be recorded before the worker may
# take it (it is released at once when the request is recorded).
HOLD = timedelta(minutes=10)
_DRAWS = 5


class LetterEngine(Protocol):
    """What the letter commands use of `Recovery`."""

    storage: Storage
    clock: Callable[[], datetime]
    sites: Sites

    def get(self, incident_id: str) -> IncidentView: ...

    def playbook_of(self, state: IncidentState) -> CompiledPlaybook: ...

    def execute(
        self,
        incident_id: str,
        command: IncidentCommand,
        *,
        actor: Actor,
        channel: str = ...,
        expected_version: int | None = ...,
        once: Once | None = ...,
    ) -> Outcome: ...

    def render_letter(
        self,
        incident_id: str,
        step_id: str,
        locale: str | None = ...,
        *,
        preview: bool = ...,
        zone: ZoneInfo | None = ...,
    ) -> RenderedLetter: ...


def property_zone(rec: LetterEngine, state: IncidentState, zone: ZoneInfo | None) -> ZoneInfo:
    """The zone a letter writes its times in, marked: the one asked for, else the property's
    (its site calendar's, as on the customer's status page), else RECOVERY_LETTER_TIMEZONE."""
    if zone is not None:
        return zone
    calendar = rec.sites.calendar(state.site)
    return letter_zone(None if calendar is ALWAYS_OPEN else calendar.zone)


def draft(
    rec: LetterEngine,
    view: IncidentView,
    step_id: str,
    *,
    actor: Actor,
    note: str | None,
    channel: str,
    expected_version: int | None,
    once: Once | None = None,
) -> Outcome:
    """Record the step's `draft` with its note and, where the playbook says so, a voucher
    code drawn now (later drafts keep it); a code drawn for a draft not recorded is deleted."""
    state = view.state
    compiled = rec.playbook_of(state)
    step = written_step(compiled, state, step_id)
    voucher = compiled.steps[step_id].voucher
    store = rec.storage.letters
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
                record = Voucher(candidate, state.id, step_id, voucher.kind, iso(now), valid_until)
                if store.add_voucher(record):
                    issued = code = candidate
                    break
            else:  # five collisions in a row: the table is not what we think it is
                raise StorageError("could not draw an unused voucher code")
        evidence["voucher_code"] = code
        if valid_until:
            evidence["voucher_valid_until"] = valid_until
    try:
        return _record(
            rec, state, step_id, "draft", evidence, actor, channel, expected_version, once
        )
    except BaseException:
        if issued is not None:
            with contextlib.suppress(StorageError):
                store.delete_voucher(issued)
        raise


def request(
    rec: LetterEngine,
    view: IncidentView,
    step_id: str,
    *,
    actor: Actor,
    recipient: str | None,
    locale: str | None,
    channel: str,
    expected_version: int | None,
    zone: ZoneInfo | None = None,
    once: Once | None = None,
) -> Outcome:
    """Render the letter, queue it held, record `request_send`, then release it to the
    mailer; a letter whose request was not recorded is discarded."""
    state = view.state
    compiled = rec.playbook_of(state)
    step = written_step(compiled, state, step_id)
    store = rec.storage.letters
    if step.status == "sending":
        current = step.evidence.get("letter_id")
        queued = store.get(current) if isinstance(current, str) else None
        if queued is not None and queued.status in ACTIVE:
            raise NotAllowedNowError(
                f"letter {queued.id} is already on its way ({queued.status}, "
                f"{queued.attempts} attempt(s)); `recovery letters status {state.id}` "
                "shows its delivery",
                state=f"{step_id}:{step.status}",
                allowed=view.allowed,
            )
    address = recipient_for(recipient, step, state)
    now = rec.clock()
    letter = render_step_letter(
        compiled,
        state,
        step_id,
        locale=locale,
        now=now,
        zone=property_zone(rec, state, zone),
        signer=actor.id,
        recipient=address,
    )
    letter_id = f"ltr_{uuid.uuid4().hex}"
    store.queue(
        QueuedLetter(
            id=letter_id,
            incident_id=state.id,
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
    evidence = {
        "recipient": address,
        "letter_id": letter_id,
        "letter_digest": letter.digest,
        "locale": letter.locale,
    }
    try:
        outcome = _record(
            rec, state, step_id, "request_send", evidence, actor, channel, expected_version, once
        )
    except BaseException:
        with contextlib.suppress(StorageError):
            store.discard(letter_id)
        raise
    with contextlib.suppress(StorageError):  # else it is released when the hold ends
        store.release(letter_id, now)
    return outcome


def _record(
    rec: LetterEngine,
    state: IncidentState,
    step_id: str,
    action: str,
    evidence: dict[str, Any],
    actor: Actor,
    channel: str,
    expected_version: int | None,
    once: Once | None,
) -> Outcome:
    """The step action itself, as the engine records any other."""
    command = StepAction(step=step_id, name=action, evidence=evidence)
    return rec.execute(
        state.id,
        command,
        actor=actor,
        channel=channel,
        expected_version=expected_version,
        once=once,
    )
