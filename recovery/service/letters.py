"""The written follow-up's commands and queries, as methods of `Recovery` (`LetterCommands`):
draft the letter (issuing its voucher), queue it for the mailer, look at it (text or a
print-friendly page), follow its delivery, look a voucher up.

    rec.draft_letter(incident_id, "written_apology", actor=manager)     # issues FN-...
    rec.request_letter(incident_id, "written_apology", actor=manager)   # queued: sending
    # the worker mails it; once the server accepted it, the step is `sent` (by the system)

`Recovery.act_on_step` sends `draft` and `request_send` on a step whose kind sends letters
here too, so every caller gets the same letter. Every change to the incident is a step
action through the unit of work, so it is in the hash-chained log: the voucher code
(draft), the letter's id and sha256 (request_send), the mail server's message id (send,
recorded by the mail worker) or why it bounced. The letters and vouchers themselves are in
`storage.letters`.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from recovery.domain.commands import Actor, IncidentCommand, StepAction
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import IncidentState, iso
from recovery.errors import NotAllowedNowError, StorageError
from recovery.letters.i18n import pick_locale
from recovery.letters.ports import ACTIVE, DEAD, PENDING, QueuedLetter, Voucher
from recovery.letters.render import RenderedLetter, render_step_letter
from recovery.letters.vouchers import candidate_codes, new_voucher_code
from recovery.letters.written import (
    LetterStatus,
    VoucherCheck,
    check_letter_fields,
    letter_zone,
    recipient_for,
    sends_letters,
    stalled_steps,
    written_step,
)
from recovery.service.ports import Storage
from recovery.service.views import IncidentView, Outcome

# A queued letter waits this long for its request to be recorded before the worker may
# take it (it is released at once when the request is recorded).
HOLD = timedelta(minutes=10)
_DRAWS = 5


class _Engine(Protocol):
    """What the letter commands use of `Recovery`."""

    storage: Storage
    clock: Callable[[], datetime]

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


class LetterCommands:
    """`Recovery`'s letter commands and queries (a mixin: it keeps the engine module short)."""

    def _letter_action(
        self: _Engine,
        incident_id: str,
        step_id: str,
        action: str,
        *,
        actor: Actor,
        channel: str,
        expected_version: int | None,
        evidence: dict[str, Any] | None,
        note: str | None,
        recipient: str | None,
        locale: str | None,
    ) -> Outcome | None:
        """`draft` or `request_send` (`LETTER_ACTIONS`) as the letter's command when the step
        sends letters; None when it does not (the engine records the action as it is)."""
        view = self.get(incident_id)
        step = view.state.steps.get(step_id)
        if step is None or not sends_letters(self.playbook_of(view.state), step.kind):
            return None
        check_letter_fields(evidence)
        if action == "draft":
            return _draft(
                self,
                view,
                step_id,
                actor=actor,
                note=note,
                channel=channel,
                expected_version=expected_version,
            )
        return _request(
            self,
            view,
            step_id,
            actor=actor,
            recipient=recipient,
            locale=locale,
            channel=channel,
            expected_version=expected_version,
        )

    # ------------------------------------------------------------------ commands

    def draft_letter(
        self: _Engine,
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
        return _draft(
            self,
            self.get(incident_id),
            step_id,
            actor=actor,
            note=note,
            channel=channel,
            expected_version=expected_version,
        )

    def request_letter(
        self: _Engine,
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
        return _request(
            self,
            self.get(incident_id),
            step_id,
            actor=actor,
            recipient=recipient,
            locale=locale,
            channel=channel,
            expected_version=expected_version,
            zone=zone,
        )

    # ------------------------------------------------------------------ queries

    def render_letter(
        self: _Engine,
        incident_id: str,
        step_id: str,
        locale: str | None = None,
        *,
        preview: bool = False,
        zone: ZoneInfo | None = None,
    ) -> RenderedLetter:
        """The step's letter: exactly as queued for the mailer once it was (in its language),
        else (or with `preview`, or another `locale`) as it would be rendered now."""
        state = self.get(incident_id).state
        compiled = self.playbook_of(state)
        step = written_step(compiled, state, step_id)
        letter_id = step.evidence.get("letter_id")
        if not preview and isinstance(letter_id, str):
            queued = self.storage.letters.get(letter_id)
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
            now=self.clock(),
            zone=letter_zone(zone),
            recipient=recipient if isinstance(recipient, str) else None,
        )

    def render_letter_html(
        self: _Engine, incident_id: str, step_id: str, locale: str | None = None
    ) -> str:
        """The letter as a standalone, print-friendly HTML page (A4, print CSS; a browser's
        "Print" / "Save as PDF" makes the paper or PDF copy)."""
        return self.render_letter(incident_id, step_id, locale).html

    def letter_status(
        self: _Engine, incident_id: str | None = None, *, limit: int = 1000
    ) -> LetterStatus:
        """Counts by status, and the letters: every letter of one incident, or across all
        incidents those that need watching (on their way, or dead)."""
        store = self.storage.letters
        if incident_id is None:
            found = store.list(statuses=(*ACTIVE, DEAD), limit=limit)
            return LetterStatus(store.counts(), found)
        state = self.get(incident_id).state  # IncidentNotFoundError for an unknown id
        found = store.list(incident_id, limit=limit)
        return LetterStatus(store.counts(incident_id), found, stalled_steps(state, found))

    def find_voucher(self: _Engine, code: str) -> VoucherCheck | None:
        """Look up a code as a customer gives it (any case, spaces). `issued` is true only
        when the incident's own log records this code for the step (a code whose draft was
        refused or never recorded is not)."""
        voucher = self.storage.letters.voucher(*candidate_codes(code))
        if voucher is None:
            return None
        state = self.get(voucher.incident_id).state
        return VoucherCheck.of(voucher, state, self.clock().date())


# ---------------------------------------------------------------------------- the commands,
# on the incident as the caller read it (the step action itself is decided again from the
# head by the unit of work)


def _draft(
    rec: _Engine,
    view: IncidentView,
    step_id: str,
    *,
    actor: Actor,
    note: str | None,
    channel: str,
    expected_version: int | None,
) -> Outcome:
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
        return _record(rec, state, step_id, "draft", evidence, actor, channel, expected_version)
    except BaseException:
        if issued is not None:
            with contextlib.suppress(StorageError):
                store.delete_voucher(issued)
        raise


def _request(
    rec: _Engine,
    view: IncidentView,
    step_id: str,
    *,
    actor: Actor,
    recipient: str | None,
    locale: str | None,
    channel: str,
    expected_version: int | None,
    zone: ZoneInfo | None = None,
) -> Outcome:
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
        zone=letter_zone(zone),
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
            rec, state, step_id, "request_send", evidence, actor, channel, expected_version
        )
    except BaseException:
        with contextlib.suppress(StorageError):
            store.discard(letter_id)
        raise
    with contextlib.suppress(StorageError):  # else it is released when the hold ends
        store.release(letter_id, now)
    return outcome


def _record(
    rec: _Engine,
    state: IncidentState,
    step_id: str,
    action: str,
    evidence: dict[str, Any],
    actor: Actor,
    channel: str,
    expected_version: int | None,
) -> Outcome:
    """The step action itself, as the engine records any other."""
    command = StepAction(step=step_id, name=action, evidence=evidence)
    return rec.execute(
        state.id, command, actor=actor, channel=channel, expected_version=expected_version
    )
