"""Letters through a real SMTP server (aiosmtpd on 127.0.0.1), mailed by the real worker
loop, on SQLite and PostgreSQL: a refused attempt is retried with back-off, the written
step is sent only once the server accepted the letter, and the incident cannot close
before; a recipient refused for good bounces the letter back to staff."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from typer.testing import CliRunner

from recovery import Catalog, CustomerProfile, NotAllowedNowError, OpenIncident, Recovery
from recovery.bootstrap import over_engine
from recovery.cli import app
from recovery.letters import SmtpMailer
from recovery.service.worker import run
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, MANAGER, Clock

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class MailServer:
    """What the SMTP server answers (scripted per DATA and per recipient) and received."""

    port: int
    data_replies: list[str] = field(default_factory=list)
    refused_recipients: dict[str, str] = field(default_factory=dict)
    received: list[EmailMessage] = field(default_factory=list)
    attempts: int = 0

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused_recipients:
            return self.refused_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        self.attempts += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return f"250 2.0.0 queued as Q{len(self.received)}"


def serve(handler: MailServer, **options: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port, **options)
    controller.start()
    return controller


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    handler = MailServer(free_port())
    controller = serve(handler)
    yield handler
    controller.stop()


@pytest.fixture
def desk(db_url: str, catalog: Catalog, clock: Clock) -> Iterator[Recovery]:
    rec = over_engine(create_db_engine(db_url), catalog, clock=clock)
    yield rec
    rec.dispose()


@pytest.fixture
def worker(db_url: str, catalog: Catalog, clock: Clock) -> Iterator[Recovery]:
    """The worker's own engine: a separate process in real life."""
    rec = over_engine(create_db_engine(db_url), catalog, clock=clock)
    yield rec
    rec.dispose()


def hotel_ready_for_its_letter(rec: Recovery, language: str = "en") -> tuple[str, str]:
    command = OpenIncident(
        incident_type="hotel.walked_guest",
        site="ribe-central",
        customer=CustomerProfile(
            name="Mette Jensen", contact="mette@example.dk", language=language
        ),
        summary="Reservation booked for June instead of July",
    )
    incident = rec.open(command, actor=FRONT_DESK, channel="desk").id
    for step, evidence in [
        ("apologise", {"apology_by": "Ana"}),
        ("rebook_local", {"hotel": "Hotel Dagmar", "distance_km": 0.4}),
        ("pay_room", {"amount": 185}),
        ("dinner", {"amount": 96, "restaurant": "Backhaus"}),
        ("ask_what_else", {"answer": "a taxi to the wedding"}),
    ]:
        rec.complete_step(incident, step, evidence, actor=FRONT_DESK)
    drafted = rec.draft_letter(incident, "written_apology", actor=MANAGER)
    code = drafted.incident.state.steps["written_apology"].evidence["voucher_code"]
    return incident, code


def test_a_refused_first_attempt_is_retried_and_the_step_is_sent_only_once_accepted(
    desk: Recovery, worker: Recovery, clock: Clock, smtp: MailServer
) -> None:
    incident, code = hotel_ready_for_its_letter(desk, "da")
    desk.request_letter(incident, "written_apology", actor=MANAGER)
    smtp.data_replies.append("451 4.3.0 Mailbox busy, try again later")
    mailer = SmtpMailer.from_url(smtp.url)

    first = run(worker, [], mailer=mailer, once=True)

    assert (first.letters.failed, first.letters.sent) == (1, 0)
    assert smtp.attempts == 1 and smtp.received == []
    assert desk.get(incident).state.steps["written_apology"].status == "sending"
    with pytest.raises(NotAllowedNowError, match="written_apology"):
        desk.close(incident, actor=MANAGER)
    [letter] = desk.letter_status(incident).letters
    assert letter.status == "failed" and "451 4.3.0" in (letter.last_error or "")

    assert run(worker, [], mailer=mailer, once=True).letters.claimed == 0, "backing off"
    clock.advance(minutes=2)
    second = run(worker, [], mailer=mailer, once=True)

    assert second.letters.sent == 1
    [mail] = smtp.received
    assert mail["To"] == "Mette Jensen <mette@example.dk>"
    assert mail["Subject"] == "Vi beklager, og en gratis overnatning hos Ribe Central"
    assert mail["Content-Language"] == "da"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    assert "Kære Mette Jensen" in text.get_content() and code in text.get_content()
    assert code in html.get_content() and "@media print" in html.get_content()
    step = desk.get(incident).state.steps["written_apology"]
    assert step.status == "sent" and step.evidence["message_id"] == mail["Message-ID"]
    assert desk.close(incident, actor=MANAGER).incident.status == "closed"
    assert desk.verify(incident).ok


def test_a_recipient_refused_for_good_bounces_the_letter_back_to_staff(
    desk: Recovery, worker: Recovery, smtp: MailServer
) -> None:
    incident, _ = hotel_ready_for_its_letter(desk)
    smtp.refused_recipients["gone@example.dk"] = "550 5.1.1 No such user here"
    desk.request_letter(incident, "written_apology", recipient="gone@example.dk", actor=MANAGER)

    result = run(worker, [], mailer=SmtpMailer.from_url(smtp.url), once=True)

    assert result.letters.dead == 1
    step = desk.get(incident).state.steps["written_apology"]
    assert step.status == "drafted" and "550 5.1.1" in step.evidence["error"]
    [letter] = desk.letter_status(incident).letters
    assert letter.status == "dead" and letter.attempts == 1
    desk.request_letter(incident, "written_apology", recipient="mette@example.dk", actor=MANAGER)
    assert run(worker, [], mailer=SmtpMailer.from_url(smtp.url), once=True).letters.sent == 1
    assert [m["To"] for m in smtp.received] == ["Mette Jensen <mette@example.dk>"]


def test_a_server_that_is_down_is_a_retry_not_a_lost_letter(
    desk: Recovery, worker: Recovery, clock: Clock
) -> None:
    incident, _ = hotel_ready_for_its_letter(desk)
    desk.request_letter(incident, "written_apology", actor=MANAGER)
    later = MailServer(free_port())  # nothing listens there yet

    down = run(worker, [], mailer=SmtpMailer.from_url(later.url), once=True)

    assert down.letters.failed == 1
    [letter] = desk.letter_status(incident).letters
    assert letter.status == "failed" and "127.0.0.1" in (letter.last_error or "")
    controller = serve(later)
    try:
        clock.advance(minutes=2)
        assert run(worker, [], mailer=SmtpMailer.from_url(later.url), once=True).letters.sent == 1
    finally:
        controller.stop()
    assert len(later.received) == 1
    assert desk.get(incident).state.steps["written_apology"].status == "sent"


class Passwords:
    def __call__(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"hotel",
            b"s3cret pw",
        )
        return AuthResult(success=ok)


# a test server on the loopback interface: no TLS to require
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_the_smtp_mailer_logs_in_with_the_urls_credentials() -> None:
    handler = MailServer(free_port())
    controller = serve(
        handler, authenticator=Passwords(), auth_required=True, auth_require_tls=False
    )
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "desk@ribe.example", "m@x.dk", "Hi"
    message["Message-ID"] = "<ltr_1@ribe.example>"
    message.set_content("Hello")
    try:
        good = SmtpMailer.from_url(f"smtp://hotel:s3cret%20pw@127.0.0.1:{handler.port}")
        assert good.send(message) == "<ltr_1@ribe.example>"
    finally:
        controller.stop()
    assert len(handler.received) == 1
    assert "s3cret" not in repr(good)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relay.example", ("relay.example", 25, "none", None)),
        ("smtp://u:p@relay.example:587", ("relay.example", 587, "starttls", "u")),
        ("smtp://relay.example:2525?starttls=true", ("relay.example", 2525, "starttls", None)),
        ("smtps://u%40x:p@relay.example", ("relay.example", 465, "tls", "u@x")),
    ],
)
def test_smtp_urls(url: str, expected: tuple[Any, ...]) -> None:
    mailer = SmtpMailer.from_url(url)
    assert (mailer.host, mailer.port, mailer.security, mailer.username) == expected


def test_the_cli_mails_shows_and_follows_letters(
    sqlite_url: str, catalog: Catalog, smtp: MailServer
) -> None:
    rec = over_engine(create_db_engine(sqlite_url), catalog)
    try:
        incident, code = hotel_ready_for_its_letter(rec, "id")
    finally:
        rec.dispose()

    def cli(*args: str) -> Any:
        result = runner.invoke(app, [*args, "--db", sqlite_url, "--json"])
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return json.loads(result.stdout)

    preview = cli("letters", "show", incident, "written_apology")
    assert preview["letter_id"] is None and code in preview["text"]
    assert preview["locale"] == "id" and "Yth. Mette Jensen" in preview["text"]
    queued = cli("letters", "send", incident, "written_apology", "--role", "manager")
    assert queued["incident"]["steps"]["written_apology"]["status"] == "sending"
    smtp.data_replies.append("421 4.7.0 Too busy")
    busy = cli("worker", "--once", "--smtp", smtp.url)
    assert busy["letters_retrying"] == 1 and busy["letters_sent"] == 0
    [letter] = cli("letters", "status", incident)["letters"]
    assert letter["status"] == "failed" and "421" in letter["last_error"]

    result = runner.invoke(app, ["letters", "status", "--db", sqlite_url])
    assert result.exit_code == 0 and "421" in result.stdout
    html = runner.invoke(
        app, ["letters", "show", incident, "written_apology", "--html", "--db", sqlite_url]
    )
    assert html.exit_code == 0 and html.stdout.startswith("<!doctype html>")
    assert code in html.stdout and 'lang="id"' in html.stdout

    found = cli("letters", "voucher", code.lower())
    assert found["valid"] and found["incident_id"] == incident and found["letter"] == "sending"
    missing = runner.invoke(app, ["letters", "voucher", "FN-2222-2222-2222", "--db", sqlite_url])
    assert missing.exit_code == 4 and missing.stderr.startswith("error: no voucher")
