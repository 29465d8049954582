"""The written follow-up, on SQLite and PostgreSQL: letters rendered per language with the
incident's facts, voucher codes that are unique and unguessable, and a step that is done
only when the mail server accepted the letter (retried, visible, never sent twice).

The mail server here is a mailer object; tests/e2e/test_mail.py runs a real SMTP server.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from recovery import (
    Catalog,
    CommandRejectedError,
    CustomerProfile,
    NotAllowedNowError,
    OpenIncident,
    PermissionDeniedError,
    Recovery,
    StepAction,
)
from recovery.bootstrap import over_engine
from recovery.domain.playbook import VOUCHER_ALPHABET, VoucherDef
from recovery.letters import FileMailer, MailError, QueuedLetter, new_voucher_code
from recovery.service.letter_delivery import MAIL_WORKER, deliver_letters
from recovery.service.letter_drafts import HOLD
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, MANAGER, Clock
from tests.contract.support import refused

SUMMARY = "Reservation booked for June instead of July <the wedding weekend>"
INTERNAL = "Jesper mis-keyed the month; guest was short with the desk"
DONE_BEFORE_LETTER = [
    ("apologise", {"apology_by": "Ana"}),
    ("rebook_local", {"hotel": "Hotel Dagmar", "distance_km": 0.4}),
    ("pay_room", {"amount": 185}),
]
# The customer texts of those steps, as the playbook says them in each language.
DONE_TEXTS = {
    "en": ["We apologised in person", "We found you a room nearby", "We paid for your"],
    "da": ["Vi undskyldte personligt", "Vi fandt et værelse", "Vi betalte for dit nye"],
    "id": ["Kami telah meminta maaf", "Kami telah mencarikan kamar", "Kami telah membayar"],
}
NEXT_TEXTS = {"en": "Dinner will be on us", "da": "Middagen er på os", "id": "akan kami tanggung"}
WORDS = {
    "en": ("Dear Mette Jensen,", "4 July 2026", "valid until 4 July 2027"),
    "da": ("Kære Mette Jensen", "4. juli 2026", "gælder til og med 4. juli 2027"),
    "id": ("Yth. Mette Jensen,", "4 Juli 2026", "Berlaku hingga 4 Juli 2027"),
}


class Accepting:
    """A mail server that accepts every letter (and remembers them)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        self.sent.append(message)
        return str(message["Message-ID"])


class Refusing:
    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        self.reason, self.permanent, self.calls = reason, permanent, 0

    def send(self, message: EmailMessage) -> str:
        self.calls += 1
        raise MailError(self.reason, permanent=self.permanent)


def open_guest(
    rec: Recovery, language: str = "en", contact: str | None = "mette@example.dk"
) -> str:
    command = OpenIncident(
        incident_type="hotel.walked_guest",
        site="ribe-central",
        customer=CustomerProfile(name="Mette Jensen", language=language, contact=contact),
        summary=INTERNAL,
        customer_summary=SUMMARY,
    )
    incident = rec.open(command, actor=FRONT_DESK, channel="desk").id
    for step, evidence in DONE_BEFORE_LETTER:
        rec.complete_step(incident, step, evidence, actor=FRONT_DESK)
    return incident


def drafted_guest(rec: Recovery, language: str = "en") -> tuple[str, str]:
    incident = open_guest(rec, language)
    out = rec.draft_letter(incident, "written_apology", note="Please be our guests.", actor=MANAGER)
    return incident, out.incident.state.steps["written_apology"].evidence["voucher_code"]


# ---------------------------------------------------------------------------- rendering


def test_a_letter_never_quotes_the_internal_summary(rec: Recovery) -> None:
    """An incident opened with only the colleagues' summary (as every incident recorded
    before the customer's summary existed): its letter quotes no summary at all."""
    command = OpenIncident(
        incident_type="hotel.walked_guest",
        site="ribe-central",
        customer=CustomerProfile(name="Mette Jensen", contact="mette@example.dk"),
        summary=INTERNAL,
    )
    incident = rec.open(command, actor=FRONT_DESK).id
    assert rec.get(incident).state.customer_summary is None
    letter = rec.render_letter(incident, "written_apology", preview=True)
    assert "Jesper" not in letter.text and "Jesper" not in letter.html
    opened = rec.timeline(incident)[0]
    assert "customer_summary" not in opened.data, "absent, so old events hash as before"


@pytest.mark.parametrize("language", ["en", "da", "id"])
def test_a_letter_in_each_locale_renders_with_the_incidents_facts(
    rec: Recovery, language: str
) -> None:
    incident, code = drafted_guest(rec, language)

    letter = rec.render_letter(incident, "written_apology")

    assert letter.locale == language
    salutation, today, valid_until = WORDS[language]
    assert letter.text.count(salutation) == 1
    assert today in letter.text, "the letter is dated the locale's way"
    assert valid_until in letter.text
    assert SUMMARY in letter.text, "what happened, in the words the customer may read"
    assert INTERNAL not in letter.text and INTERNAL not in letter.html, "colleagues' words"
    for done in DONE_TEXTS[language]:
        assert done in letter.text, f"a step done, in {language}"
    assert NEXT_TEXTS[language] in letter.text, "what happens next, with its deadline"
    assert code in letter.text and code in letter.html
    assert "Ribe Central" in letter.subject and "Ribe Central" in letter.text
    assert "Please be our guests." in letter.text
    assert incident in letter.text
    assert "written apology" not in letter.text.lower(), "the letter is not in its own list"
    # the page: same facts, escaped, printable
    assert f'<html lang="{language}">' in letter.html
    assert "@media print" in letter.html and "@page" in letter.html
    assert "&lt;the wedding weekend&gt;" in letter.html
    assert "<the wedding weekend>" not in letter.html
    for done in DONE_TEXTS[language]:
        assert done in letter.html
    assert rec.render_letter_html(incident, "written_apology") == letter.html


def test_a_letter_in_another_language_than_the_customers_and_the_english_fallback(
    rec: Recovery,
) -> None:
    incident, _ = drafted_guest(rec, "da")
    assert rec.render_letter(incident, "written_apology", "id").text.startswith("Ribe Central")
    assert "Yth." in rec.render_letter(incident, "written_apology", "id").text
    french = open_guest(rec, "fr")
    rec.draft_letter(french, "written_apology", actor=MANAGER)
    assert rec.render_letter(french, "written_apology").locale == "en"


def test_a_playbook_without_its_own_letter_gets_the_default_one(
    sqlite_url: str, clock: Clock, tmp_path: Path
) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "parcel.yaml").write_text(
        """
id: parcel-lost
version: 1
title: Lost parcel
incident_types: [shop.parcel_lost]
steps:
  - id: resend
    title: Send the order again
    customer_text: We sent your order again.
    customer_next: We will send your order again.
    translations:
      da: {customer_text: Vi sendte din ordre igen., customer_next: Vi sender din ordre igen.}
    owner: front_desk
    due: 1d
  - id: letter
    kind: written
    title: Write to the customer
    owner: front_desk
    due: 2d
    voucher: {kind: voucher, prefix: SHOP, length: 16}
""",
        encoding="utf-8",
    )
    rec = over_engine(
        create_db_engine(sqlite_url), Catalog.from_directory(tmp_path / "playbooks"), clock=clock
    )
    try:
        command = OpenIncident(
            incident_type="shop.parcel_lost",
            site="web-shop",
            customer=CustomerProfile(name="Sofie", language="da"),
        )
        incident = rec.open(command, actor=FRONT_DESK).id
        rec.complete_step(incident, "resend", actor=FRONT_DESK)
        out = rec.draft_letter(incident, "letter", actor=FRONT_DESK)
        code = out.incident.state.steps["letter"].evidence["voucher_code"]
        letter = rec.render_letter(incident, "letter")
    finally:
        rec.dispose()
    assert re.fullmatch(r"SHOP-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert letter.subject == "Din sag hos Web Shop"
    assert "Vi sendte din ordre igen" in letter.text
    assert "et gavekort" in letter.text and code in letter.text


# ---------------------------------------------------------------------------- vouchers


def test_voucher_codes_are_unique_and_unguessable() -> None:
    voucher = VoucherDef(kind="free_night", prefix="FN")
    codes = [new_voucher_code(voucher) for _ in range(20_000)]

    assert len(set(codes)) == len(codes)
    for code in codes[:500]:
        assert re.fullmatch(r"FN-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
        assert voucher.matches(code)
        assert not set(code) & set("01OI"), "no symbols that read alike"
    assert math.log2(len(VOUCHER_ALPHABET)) * voucher.length >= 60, "60 bits: not guessable"
    # every symbol turns up in every position, about equally often (no bias to guess on)
    for position in range(12):
        seen = Counter(code.replace("-", "")[2 + position] for code in codes)
        assert set(seen) == set(VOUCHER_ALPHABET)
        assert max(seen.values()) < 2 * min(seen.values())


def test_a_voucher_is_recorded_on_the_incident_kept_by_redrafts_and_looked_up(
    rec: Recovery,
) -> None:
    codes = {drafted_guest(rec)[1] for _ in range(5)}
    assert len(codes) == 5
    incident, code = drafted_guest(rec)
    [draft] = [e for e in rec.timeline(incident) if e.data.get("action") == "draft"]
    assert draft.data["evidence"]["voucher_code"] == code, "in the hash-chained log"
    again = rec.draft_letter(incident, "written_apology", note="Changed my mind.", actor=MANAGER)
    assert again.incident.state.steps["written_apology"].evidence["voucher_code"] == code

    found = rec.find_voucher(code.lower().replace("-", " "))
    assert found is not None and found.valid and found.issued
    assert (found.voucher.incident_id, found.voucher.kind) == (incident, "free_night")
    assert found.voucher.valid_until == "2027-07-04"
    typed = rec.find_voucher(code.replace("-", "").lower())
    assert typed is not None and typed.voucher.code == code
    assert rec.find_voucher("FN-2222-3333-4444") is None


def test_a_forged_or_second_voucher_code_is_refused(rec: Recovery) -> None:
    incident, _code = drafted_guest(rec)
    other = new_voucher_code(VoucherDef(kind="free_night", prefix="FN"))
    for forged in ("FREE-NIGHT-42", other):
        refused(
            rec,
            incident,
            CommandRejectedError,
            lambda forged=forged: rec.execute(
                incident,
                StepAction(step="written_apology", name="draft", evidence={"voucher_code": forged}),
                actor=MANAGER,
            ),
        )
    fresh = open_guest(rec)
    no_code = refused(
        rec,
        fresh,
        CommandRejectedError,
        lambda: rec.execute(fresh, StepAction(step="written_apology", name="draft"), actor=MANAGER),
    )
    assert no_code.field == "evidence.voucher_code"


@pytest.mark.sql  # counts the voucher rows themselves
def test_a_refused_draft_leaves_no_voucher_behind(rec: Recovery) -> None:
    incident = open_guest(rec)
    rec.waive_step(incident, "written_apology", "guest asked for no letter", actor=MANAGER)
    with pytest.raises(NotAllowedNowError):
        rec.draft_letter(incident, "written_apology", actor=MANAGER)
    assert rec.storage.letters.counts() == dict.fromkeys(
        ("pending", "sending", "failed", "sent", "dead", "cancelled"), 0
    )
    assert _voucher_rows(rec) == 0


def _voucher_rows(rec: Recovery) -> int:
    from sqlalchemy import func, select

    from recovery.storage.tables.follow_up import vouchers

    with rec.storage.engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.count()).select_from(vouchers)).scalar_one())


# ---------------------------------------------------------------------------- delivery


def test_the_step_is_sent_only_when_the_letter_was_accepted_and_failures_are_retried(
    rec: Recovery, clock: Clock
) -> None:
    incident, code = drafted_guest(rec)
    for step, evidence in [("dinner", {"amount": 80, "restaurant": "Kroen"})]:
        rec.complete_step(incident, step, evidence, actor=FRONT_DESK)
    rec.complete_step(incident, "ask_what_else", {"answer": "nothing"}, actor=FRONT_DESK)

    queued = rec.request_letter(incident, "written_apology", actor=MANAGER)
    step = queued.incident.state.steps["written_apology"]
    assert step.status == "sending"
    assert step.evidence["recipient"] == "mette@example.dk", "the customer's e-mail contact"
    assert "written_apology.send" not in queued.incident.allowed, "the mailer's, not staff's"
    refused(rec, incident, NotAllowedNowError, lambda: rec.close(incident, actor=MANAGER))
    [letter] = rec.letter_status(incident).letters
    assert letter.digest == step.evidence["letter_digest"], "the log holds what was queued"
    assert (letter.status, letter.attempts) == ("pending", 0)
    with pytest.raises(NotAllowedNowError) as again:
        rec.request_letter(incident, "written_apology", actor=MANAGER)
    assert "already on its way" in str(again.value)

    down = Refusing("451 4.3.0 try again later")
    assert deliver_letters(rec, down).failed == 1
    status = rec.letter_status(incident)
    [letter] = status.letters
    assert (letter.status, letter.attempts) == ("failed", 1)
    assert "451 4.3.0" in (letter.last_error or "")
    assert status.backlog == 1
    assert rec.get(incident).state.steps["written_apology"].status == "sending"
    refused(rec, incident, NotAllowedNowError, lambda: rec.close(incident, actor=MANAGER))
    assert deliver_letters(rec, down).claimed == 0, "backing off: not due yet"

    clock.advance(minutes=2)
    server = Accepting()
    assert deliver_letters(rec, server).sent == 1
    [message] = server.sent
    assert message["To"] == "Mette Jensen <mette@example.dk>"
    assert code in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    view = rec.get(incident)
    step = view.state.steps["written_apology"]
    assert step.status == "sent" and step.evidence["message_id"] == message["Message-ID"]
    [sent_event] = [e for e in rec.timeline(incident) if e.data.get("action") == "send"]
    assert (sent_event.actor, sent_event.actor_role) == (MAIL_WORKER.id, "system")
    [letter] = rec.letter_status(incident).letters
    assert (letter.status, letter.attempts, letter.recorded_seq) == ("sent", 2, sent_event.seq)
    assert "451" in (letter.last_error or ""), "why it took two attempts stays visible"
    assert deliver_letters(rec, Refusing("never called")).claimed == 0, "sent once"

    closed = rec.close(incident, actor=MANAGER)
    assert closed.incident.status == "closed"
    effect = [m for m in rec.outbox(incident) if m["kind"] == "send_letter"]
    assert effect[0]["payload"]["evidence"]["voucher_code"] == code
    assert rec.verify(incident).ok
    assert rec.replay(incident) == rec.get(incident).state
    stored = rec.render_letter(incident, "written_apology")
    assert stored.letter_id == letter.id and stored.digest == letter.digest


def test_a_letter_refused_for_good_bounces_back_to_staff_and_can_be_sent_again(
    rec: Recovery, clock: Clock, tmp_path: Path
) -> None:
    incident, _ = drafted_guest(rec)
    rec.request_letter(incident, "written_apology", recipient="nobody@example.dk", actor=MANAGER)
    unknown = Refusing("recipient refused: 550 5.1.1 no such user", permanent=True)

    assert deliver_letters(rec, unknown).dead == 1
    assert unknown.calls == 1, "a permanent refusal is not retried"
    view = rec.get(incident)
    step = view.state.steps["written_apology"]
    assert step.status == "drafted"
    assert "550 5.1.1" in step.evidence["error"]
    assert "written_apology.request_send" in view.allowed
    bounce = rec.timeline(incident)[-1]
    assert (bounce.data["action"], bounce.actor_role) == ("bounce", "system")
    assert [letter.status for letter in rec.letter_status(incident).letters] == ["dead"]

    clock.advance(minutes=5)
    rec.request_letter(incident, "written_apology", recipient="mette@example.dk", actor=MANAGER)
    assert deliver_letters(rec, FileMailer(tmp_path / "mail")).sent == 1
    assert [p.suffix for p in (tmp_path / "mail").iterdir()] == [".eml"]
    assert rec.get(incident).state.steps["written_apology"].status == "sent"
    assert [x.status for x in rec.letter_status(incident).letters] == ["dead", "sent"]


def test_a_letter_out_of_attempts_is_dead_and_bounces(rec: Recovery, clock: Clock) -> None:
    incident, _ = drafted_guest(rec)
    rec.request_letter(incident, "written_apology", actor=MANAGER)
    down = Refusing("connection refused")
    for _ in range(40):
        deliver_letters(rec, down)
        clock.advance(hours=1)
    [letter] = rec.letter_status(incident).letters
    assert letter.status == "dead" and letter.attempts == down.calls == 14
    assert rec.get(incident).state.steps["written_apology"].status == "drafted"


def test_a_letter_accepted_but_not_recorded_is_recorded_later_never_sent_twice(
    rec: Recovery, clock: Clock
) -> None:
    incident, _ = drafted_guest(rec)
    rec.request_letter(incident, "written_apology", actor=MANAGER)
    store = rec.storage.letters
    # a worker claims it, the server accepts it, and the worker dies before recording it
    [claim], _ = store.claim(clock(), limit=1, lease=timedelta(minutes=10), max_attempts=14)
    assert store.mark_accepted(claim, "<accepted-1@example>", clock())
    assert rec.get(incident).state.steps["written_apology"].status == "sending"

    clock.advance(minutes=11)  # its lease ran out
    never = Refusing("the letter must not be sent again")
    assert deliver_letters(rec, never).sent == 1
    assert never.calls == 0
    step = rec.get(incident).state.steps["written_apology"]
    assert (step.status, step.evidence["message_id"]) == ("sent", "<accepted-1@example>")


def test_a_letter_accepted_on_its_last_attempt_is_recorded_not_bounced(
    rec: Recovery, clock: Clock
) -> None:
    incident, _ = drafted_guest(rec)
    rec.request_letter(incident, "written_apology", actor=MANAGER)
    store = rec.storage.letters
    lease = timedelta(minutes=10)
    # the only attempt allowed: accepted by the server, then the worker dies
    [claim], _ = store.claim(clock(), limit=1, lease=lease, max_attempts=1)
    assert store.mark_accepted(claim, "<last-1@example>", clock())

    clock.advance(minutes=11)
    claims, dead = store.claim(clock(), limit=1, lease=lease, max_attempts=1)
    assert dead == [] and [c.letter.id for c in claims] == [claim.letter.id]


def test_letters_the_incident_no_longer_asks_for_are_never_mailed(
    rec: Recovery, clock: Clock
) -> None:
    waived, _ = drafted_guest(rec)
    rec.request_letter(waived, "written_apology", actor=MANAGER)
    rec.waive_step(waived, "written_apology", "guest called: no letter please", actor=MANAGER)
    # a letter queued by a process that died before recording its request
    orphan, _ = drafted_guest(rec)
    state = rec.get(orphan).state
    rec.storage.letters.queue(
        QueuedLetter(
            id="ltr_orphan",
            incident_id=orphan,
            step_id="written_apology",
            locale="en",
            recipient="mette@example.dk",
            subject="s",
            body_text="t",
            body_html="h",
            digest="0" * 64,
            requested_by="mads",
            created_at=state.updated_at,
            status="pending",
            attempts=0,
            next_attempt_at=state.updated_at,
            message_id=None,
            accepted_at=None,
            recorded_seq=None,
            last_error=None,
        ),
        hold_until=clock() + HOLD,
    )
    server = Accepting()
    assert deliver_letters(rec, server).cancelled == 1, "the waived step's letter"
    clock.advance(minutes=11)
    assert deliver_letters(rec, server).cancelled == 1, "the orphan, once its hold is over"
    assert server.sent == []
    assert rec.get(orphan).state.steps["written_apology"].status == "drafted"


def test_staff_cannot_mark_a_letter_sent_or_bounced(rec: Recovery) -> None:
    incident, _ = drafted_guest(rec)
    rec.request_letter(incident, "written_apology", actor=MANAGER)
    letter_id = rec.get(incident).state.steps["written_apology"].evidence["letter_id"]
    for action, evidence in [
        ("send", {"letter_id": letter_id, "message_id": "<x@y>"}),
        ("bounce", {"letter_id": letter_id, "error": "I say so"}),
    ]:
        denied = refused(
            rec,
            incident,
            PermissionDeniedError,
            lambda a=action, e=evidence: rec.act_on_step(
                incident, "written_apology", a, evidence=e, actor=MANAGER
            ),
        )
        assert "mail server" in str(denied) or "worker" in str(denied)
    assert not [a for a in rec.get(incident).allowed if a.endswith((".send", ".bounce"))]


def test_a_letter_needs_an_e_mail_address(rec: Recovery) -> None:
    incident = open_guest(rec, contact="+45 40 55 66 77")
    rec.draft_letter(incident, "written_apology", actor=MANAGER)
    missing = refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.request_letter(incident, "written_apology", actor=MANAGER),
    )
    assert missing.field == "recipient"
    bad = refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.request_letter(
            incident, "written_apology", recipient="not an address", actor=MANAGER
        ),
    )
    assert bad.field == "recipient"
    not_written = refused(
        rec,
        incident,
        CommandRejectedError,
        lambda: rec.request_letter(incident, "dinner", actor=MANAGER),
    )
    assert "written_apology" in str(not_written)


# ---------------------------------------------------------------------------- playbooks


def test_a_playbook_says_where_a_voucher_is_issued_and_nowhere_else() -> None:
    from recovery.domain.validation import validate_playbook
    from recovery.errors import PlaybookError

    def playbook(**step: object) -> dict[str, object]:
        return {
            "id": "p",
            "version": 1,
            "title": "P",
            "incident_types": ["x.y"],
            "steps": [{"id": "s", "title": "S", "owner": "desk", "due": "1d", **step}],
        }

    written = validate_playbook(
        playbook(kind="written", voucher={"kind": "meal", "prefix": "M2", "valid_for": "90d"}),
        "p.yaml",
    )
    assert written.step("s").voucher == VoucherDef(
        kind="meal", prefix="M2", valid_for=timedelta(days=90)
    )
    for bad, where in [
        ({"voucher": {"kind": "meal", "prefix": "M"}}, "only a written step"),
        ({"kind": "written", "voucher": {"kind": "meal", "prefix": "m-"}}, "voucher.prefix"),
        ({"kind": "written", "voucher": {"kind": "meal", "prefix": "M", "length": 6}}, "length"),
    ]:
        with pytest.raises(PlaybookError, match=where):
            validate_playbook(playbook(**bad), "p.yaml")
