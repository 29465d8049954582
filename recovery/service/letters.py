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

from typing import Any
from zoneinfo import ZoneInfo

from recovery.domain.commands import Actor
from recovery.letters.i18n import pick_locale
from recovery.letters.ports import ACTIVE, DEAD
from recovery.letters.render import RenderedLetter, render_step_letter
from recovery.letters.vouchers import candidate_codes
from recovery.letters.written import (
    LetterStatus,
    VoucherCheck,
    check_letter_fields,
    sends_letters,
    stalled_steps,
    written_step,
)
from recovery.service.letter_drafts import LetterEngine, draft, property_zone, request
from recovery.service.once import Once
from recovery.service.views import Outcome


class LetterCommands:
    """`Recovery`'s letter commands and queries (a mixin: it keeps the engine module short)."""

    def _letter_action(
        self: LetterEngine,
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
        once: Once | None = None,
    ) -> Outcome | None:
        """`draft` or `request_send` (`LETTER_ACTIONS`) as the letter's command when the step
        sends letters; None when it does not (the engine records the action as it is)."""
        view = self.get(incident_id)
        step = view.state.steps.get(step_id)
        if step is None or not sends_letters(self.playbook_of(view.state), step.kind):
            return None
        check_letter_fields(evidence)
        if action == "draft":
            return draft(
                self,
                view,
                step_id,
                actor=actor,
                note=note,
                channel=channel,
                expected_version=expected_version,
                once=once,
            )
        return request(
            self,
            view,
            step_id,
            actor=actor,
            recipient=recipient,
            locale=locale,
            channel=channel,
            expected_version=expected_version,
            once=once,
        )

    # ------------------------------------------------------------------ commands

    def draft_letter(
        self: LetterEngine,
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
        return draft(
            self,
            self.get(incident_id),
            step_id,
            actor=actor,
            note=note,
            channel=channel,
            expected_version=expected_version,
        )

    def request_letter(
        self: LetterEngine,
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
        return request(
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
        self: LetterEngine,
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
            zone=property_zone(self, state, zone),
            recipient=recipient if isinstance(recipient, str) else None,
        )

    def render_letter_html(
        self: LetterEngine, incident_id: str, step_id: str, locale: str | None = None
    ) -> str:
        """The letter as a standalone, print-friendly HTML page (A4, print CSS; a browser's
        "Print" / "Save as PDF" makes the paper or PDF copy)."""
        return self.render_letter(incident_id, step_id, locale).html

    def letter_status(
        self: LetterEngine, incident_id: str | None = None, *, limit: int = 1000
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

    def find_voucher(self: LetterEngine, code: str) -> VoucherCheck | None:
        """Look up a code as a customer gives it (any case, spaces). `issued` is true only
        when the incident's own log records this code for the step (a code whose draft was
        refused or never recorded is not)."""
        voucher = self.storage.letters.voucher(*candidate_codes(code))
        if voucher is None:
            return None
        state = self.get(voucher.incident_id).state
        return VoucherCheck.of(voucher, state, self.clock().date())
