"""Notifications mailed to the people who asked: one digest per person per pass, through
the mailer port (a fake here: the mail server is an outside system), each notice mailed
once however many workers run, and `mailed_at` saying who was told what by e-mail, when."""

from __future__ import annotations

import threading
from datetime import timedelta
from email.message import EmailMessage

import pytest

from recovery import Recovery
from recovery.errors import CommandRejectedError
from recovery.letters.mailers import MailError
from recovery.service.accounts import Accounts
from recovery.service.notice_mail import LEASE, NoticeMailer
from recovery.service.notifications import Notifier
from tests.conftest import FRONT_DESK, Clock
from tests.contract.support import open_hotel
from tests.contract.test_notifications import add_users


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.refuse = False
        self._lock = threading.Lock()

    def send(self, message: EmailMessage) -> str:
        if self.refuse:
            raise MailError("421 try again later")
        with self._lock:
            self.sent.append(message)
        return str(message["Message-ID"])


def _asked(rec: Recovery, count: int) -> list[str]:
    ids = [open_hotel(rec).id for _ in range(count)]
    for iid in ids:
        rec.act_on_step(iid, "pay_room", "request_approval", actor=FRONT_DESK, amount=450)
    Notifier(rec).tell(*ids)
    return ids


def _opt_in(rec: Recovery, clock: Clock, *names: str) -> None:
    accounts = Accounts(rec.storage.accounts, clock)
    for name in names:
        assert accounts.set_email(name, f"{name}@hotel.example", True)


def test_several_workers_mail_each_notice_once_in_one_digest_per_person(
    rec: Recovery, clock: Clock
) -> None:
    add_users(rec, clock)
    _opt_in(rec, clock, "mads", "mia")
    ids = _asked(rec, 5)
    mailer = FakeMailer()
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        NoticeMailer(rec, mailer, sender="recovery@hotel.example").deliver_due()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    to = sorted(str(m["To"]) for m in mailer.sent)
    assert to == ["mads@hotel.example", "mia@hotel.example"]  # one digest each
    for message in mailer.sent:
        body = message.get_content()
        assert all(body.count(iid) == 1 for iid in ids)  # each notice once
        assert message["Subject"] == "Recovery: 5 new notices"
    for who in ("mads", "mia"):
        assert all(n.mailed_at is not None for n in rec.storage.notifications.list(who))
    # not asked: told on the page only
    assert all(n.mailed_at is None for n in rec.storage.notifications.list("vejle-boss"))
    again = NoticeMailer(rec, mailer, sender="recovery@hotel.example").deliver_due()
    assert again.mailed == 0 and len(mailer.sent) == 2


def test_a_refused_digest_is_mailed_on_a_later_pass_and_old_notices_never(
    rec: Recovery, clock: Clock
) -> None:
    add_users(rec, clock)
    _asked(rec, 1)  # before mads asked for e-mail: not mailed
    clock.advance(minutes=1)
    _opt_in(rec, clock, "mads")
    clock.advance(minutes=1)
    (iid,) = _asked(rec, 1)
    mailer = FakeMailer()
    mailer.refuse = True
    notices = NoticeMailer(rec, mailer, sender="recovery@hotel.example")
    refused = notices.deliver_due()
    assert (refused.mailed, refused.refused) == (0, 1)
    mailer.refuse = False
    done = notices.deliver_due()
    assert (done.mailed, done.digests) == (1, 1)
    (message,) = mailer.sent
    assert message["Subject"].startswith("Recovery: ")
    assert iid in message.get_content()
    mailed = [n for n in rec.storage.notifications.list("mads") if n.mailed_at is not None]
    assert [n.incident_id for n in mailed] == [iid]
    assert mailed[0].mailed_at == clock()


def test_a_claim_left_by_a_dead_worker_is_taken_again_after_the_lease(
    rec: Recovery, clock: Clock
) -> None:
    add_users(rec, clock)
    _opt_in(rec, clock, "mads")
    clock.advance(seconds=1)
    _asked(rec, 1)
    store = rec.storage.notifications
    claimed = store.claim_mail([("mads", clock() - timedelta(days=1))], clock(), clock(), 10)
    assert len(claimed) == 1  # a worker claimed it, then died
    mailer = FakeMailer()
    notices = NoticeMailer(rec, mailer, sender="recovery@hotel.example")
    assert notices.deliver_due().mailed == 0  # still held
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert notices.deliver_due().mailed == 1


def test_the_address_is_checked_and_needed_to_mail(rec: Recovery, clock: Clock) -> None:
    add_users(rec, clock)
    accounts = Accounts(rec.storage.accounts, clock)
    with pytest.raises(CommandRejectedError) as bad:
        accounts.set_email("ana", "ana at hotel", True)
    assert bad.value.field == "email"
    with pytest.raises(CommandRejectedError):
        accounts.set_email("ana", "", True)
    assert accounts.set_email("ana", "", False)
    assert not accounts.set_email("nobody", "x@hotel.example", True)
    assert accounts.set_email("ana", "ana@hotel.example", True)
    since = accounts.user("ana").notify_by_email_since  # type: ignore[union-attr]
    clock.advance(hours=1)
    assert accounts.set_email("ana", "ana@hotel.example", True)  # asked again: same start
    assert accounts.user("ana").notify_by_email_since == since  # type: ignore[union-attr]
    assert [u.username for u in rec.storage.accounts.mail_recipients()] == ["ana"]


def test_each_digest_is_in_its_readers_language(rec: Recovery, clock: Clock) -> None:
    """Mads chose Danish, Mia Indonesian, the Vejle manager nothing (English): the same
    notices, stored once, are mailed to each in their language, the step as the playbook
    translates it."""
    add_users(rec, clock)
    _opt_in(rec, clock, "mads", "mia")
    rec.storage.accounts.set_locale("mads", "da")
    rec.storage.accounts.set_locale("mia", "id")
    (iid,) = _asked(rec, 1)
    mailer = FakeMailer()
    NoticeMailer(rec, mailer, sender="recovery@hotel.example").deliver_due()
    mailed = {str(m["To"]).partition("@")[0]: m for m in mailer.sent}
    danish, indonesian = mailed["mads"], mailed["mia"]
    assert (
        "beder om godkendelse af 450 EUR til Insistér på at betale for erstatningsværelset"
        in (danish["Subject"])
    )
    body = danish.get_content()
    assert "Hej mads" in body and f"sag {iid}" in body
    assert "Du får disse, fordi du har bedt om dine notifikationer på e-mail." in body
    body = indonesian.get_content()
    assert "meminta persetujuan untuk 450 EUR untuk Bersikeras membayar kamar pengganti" in body
    assert "Halo mia," in body and f"insiden {iid}" in body
    (stored,) = rec.storage.notifications.list("mads")
    assert "asks for approval of 450 EUR for Insist on paying" in str(stored.message)
