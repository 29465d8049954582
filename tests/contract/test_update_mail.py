"""Customer updates by e-mail: where the playbook tells the customer of a hand-off or a moved
deadline on the e-mail channel and the contact is an e-mail address, the mail worker sends
it through the letters queue, in the customer's language, without staff names or notes,
and records it in the timeline once accepted; on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from recovery import CustomerProfile, OpenIncident, Recovery
from recovery.bootstrap import in_memory, over_engine
from recovery.service.letter_delivery import MAIL_WORKER, deliver_letters
from recovery.service.update_mail import queue_update_mail, update_letter_id
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, MANAGER, Clock
from tests.contract.test_customer_updates import CONTEXT, NOTE, catalog_with
from tests.contract.test_letters import Accepting, Refusing

BY_EMAIL = "customer_updates:\n  notify: [handoff, deadline_moved]\n  channel: email\n"
BY_SMS = "customer_updates:\n  notify: [handoff, deadline_moved]\n  channel: sms\n"


@pytest.fixture
def make(
    backend: str, tmp_path: Path, clock: Clock, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Recovery]]:
    made: dict[str, Recovery] = {}

    def build(option: str) -> Recovery:
        catalog = catalog_with(tmp_path / str(len(made)), option)
        if backend == "memory":
            rec = in_memory(catalog, clock=clock)
        else:
            url = request.getfixturevalue("db_url")
            rec = over_engine(create_db_engine(url), catalog, clock=clock)
        made[option] = rec
        return rec

    yield build
    for rec in made.values():
        rec.dispose()


def open_guest(rec: Recovery, contact: str, language: str = "en") -> str:
    return rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="Mette Jensen", contact=contact, language=language),
        ),
        actor=FRONT_DESK,
        channel="desk",
    ).id


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_hand_offs_and_moved_deadlines_are_mailed_in_the_customers_language(
    make: Callable[[str], Recovery], clock: Clock
) -> None:
    rec = make(BY_EMAIL)
    iid = open_guest(rec, "mette@example.dk", language="da")
    rec.add_note(iid, NOTE, actor=FRONT_DESK)
    rec.hand_off(iid, "mads", CONTEXT, actor=FRONT_DESK)
    rec.hold(iid, "waiting for the guest", actor=MANAGER)
    clock.advance(hours=1)
    rec.resume(iid, actor=MANAGER)
    before = len(rec.timeline(iid))

    mailer = Accepting()
    assert deliver_letters(rec, mailer).sent == 2
    subjects = [m["Subject"] for m in mailer.sent]
    assert subjects == [
        "Din sag hos Ribe: en kollega har overtaget den",
        "Din sag hos Ribe: nye tidspunkter",
    ]
    for message in mailer.sent:
        assert message["To"] == "Mette Jensen <mette@example.dk>"
        assert message["Content-Language"] == "da"
        text = body(message) + str(message.get_body(("html",)))
        assert "Kære Mette Jensen" in text
        for secret in ("HANDOFFSECRET", "NOTESECRET", "mads", FRONT_DESK.id, MANAGER.id):
            assert secret not in text, secret

    told = rec.timeline(iid)[before:]
    assert [(e.type, e.actor, e.channel) for e in told] == [
        ("contact_recorded", MAIL_WORKER.id, "mail"),
        ("contact_recorded", MAIL_WORKER.id, "mail"),
    ]
    assert told[0].data["channel"] == "email" and told[0].data["direction"] == "outbound"
    assert "taken over" in told[0].data["summary"] and "mads" not in told[0].data["summary"]
    assert deliver_letters(rec, mailer).claimed == 0, "each update is mailed once"
    assert rec.verify(iid).ok


@pytest.mark.parametrize(
    ("option", "contact"), [(BY_SMS, "mette@example.dk"), (BY_EMAIL, "+45 20 30 40 50")]
)
def test_nothing_is_mailed_for_another_channel_or_a_contact_that_is_no_address(
    make: Callable[[str], Recovery], option: str, contact: str
) -> None:
    rec = make(option)
    iid = open_guest(rec, contact)
    rec.hand_off(iid, "mads", CONTEXT, actor=FRONT_DESK)
    mailer = Accepting()
    assert deliver_letters(rec, mailer).claimed == 0 and mailer.sent == []


def test_a_refused_update_is_retried_and_recorded_only_once_accepted(
    make: Callable[[str], Recovery], clock: Clock
) -> None:
    rec = make(BY_EMAIL)
    iid = open_guest(rec, "mette@example.dk")
    rec.hand_off(iid, "mads", CONTEXT, actor=FRONT_DESK)
    before = len(rec.timeline(iid))
    assert deliver_letters(rec, Refusing("451 try later")).failed == 1
    assert len(rec.timeline(iid)) == before, "nothing recorded before the server accepted it"
    clock.advance(hours=1)
    mailer = Accepting()
    assert deliver_letters(rec, mailer).sent == 1
    assert mailer.sent[0]["Subject"] == "Your case at Ribe: a colleague has taken over"
    assert [e.type for e in rec.timeline(iid)[before:]] == ["contact_recorded"]


def test_an_event_queues_its_update_once_even_when_seen_again(
    make: Callable[[str], Recovery],
) -> None:
    """A command replayed under its idempotency key hands back the same event: its update
    letter has the same id, and is not queued a second time."""
    rec = make(BY_EMAIL)
    iid = open_guest(rec, "mette@example.dk")
    handed = rec.hand_off(iid, "mads", CONTEXT, actor=FRONT_DESK)
    state = rec.get(iid).state
    again = queue_update_mail(rec.storage.letters, state, handed.event, rec.clock())
    assert again == update_letter_id(iid, handed.event.seq)
    mailer = Accepting()
    assert deliver_letters(rec, mailer).sent == 1 and len(mailer.sent) == 1
