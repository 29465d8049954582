"""Notifications mailed to the people who asked for them (`users.notify_by_email_since`):
one digest e-mail per person per pass, through the letters' mailer port.

Exactly once across workers: a pass claims the notices in one statement (`mail_claimed_at`,
a lease), mails each person's digest, and records `mailed_at` once the mailer accepted it.
A notice claimed by a worker that died before finishing is claimed again after the lease,
so only a crash between the mailer's acceptance and that record can mail one twice. The
mailer refusing leaves the notices to the next pass. `mailed_at` says who was told what by
e-mail and when; only notices made since the person asked are mailed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from recovery.config import Settings
from recovery.domain.words import say
from recovery.letters.mailers import Mailer, MailError
from recovery.letters.staff_words import staff_say
from recovery.service.engine import Recovery
from recovery.service.ports.accounts import UserRow
from recovery.service.ports.notifications import StoredNotice

log = logging.getLogger("recovery.notice_mail")

LEASE = timedelta(minutes=10)  # a claimed digest not finished by then is claimed again
BATCH = 500  # notices claimed per pass
MAX_RECIPIENTS = 1000  # people asked per pass (the claim names each)
MAX_LINES = 50  # notices listed in one digest; the rest are counted


@dataclass(frozen=True)
class MailStats:
    mailed: int = 0
    """notices told by an accepted e-mail"""
    digests: int = 0
    refused: int = 0
    """notices the mailer refused this pass (claimed again on the next)"""


class NoticeMailer:
    def __init__(self, rec: Recovery, mailer: Mailer, *, sender: str | None = None) -> None:
        self.rec = rec
        self.mailer = mailer
        self.sender = sender or Settings.from_env().mail_from
        self.store = rec.storage.notifications

    def deliver_due(self) -> MailStats:
        """Claim the notices due to be mailed and send one digest per person."""
        people = {u.username: u for u in self.rec.storage.accounts.mail_recipients()}
        if not people:
            return MailStats()
        since = [
            (u.username, u.notify_by_email_since)
            for u in list(people.values())[:MAX_RECIPIENTS]
            if u.notify_by_email_since is not None
        ]
        now = self.rec.clock()
        claimed = self.store.claim_mail(since, now, now - LEASE, BATCH)
        by_person: dict[str, list[StoredNotice]] = {}
        for notice in claimed:
            by_person.setdefault(notice.recipient, []).append(notice)
        mailed = digests = refused = 0
        for username, notices in by_person.items():
            ids = [n.id for n in notices]
            try:
                self.mailer.send(digest(people[username], notices, self.sender))
            except MailError as exc:
                log.warning("notifications for %s not mailed: %s", username, exc)
                self.store.release_mail(ids)
                refused += len(ids)
                continue
            self.store.finish_mail(ids, self.rec.clock())
            mailed, digests = mailed + len(ids), digests + 1
        return MailStats(mailed, digests, refused)


def digest(user: UserRow, notices: Sequence[StoredNotice], sender: str) -> EmailMessage:
    """One e-mail telling `notices` (oldest first), the same bytes on every attempt, in
    the person's language (their staff pages' choice; English when they chose none)."""
    count = len(notices)
    locale = user.locale

    def said(text: str) -> str:
        return staff_say(locale, text)

    message = EmailMessage()
    message["From"] = sender
    message["To"] = str(user.email)
    message["Subject"] = (
        said(say("Recovery: {notice}", notice=notices[0].message))[:200]
        if count == 1
        else said(say("Recovery: {count} new notices", count=count))
    )
    message["Date"] = format_datetime(notices[-1].created_at)
    domain = sender.rpartition("@")[2] or "localhost"
    name = f"notices-{notices[0].id}-{notices[-1].id}"  # each notice is in one digest only
    message["Message-ID"] = f"<{name}@{domain}>"
    message["X-Recovery-Digest"] = name
    lines = [
        said(say("Hello {name},", name=user.username)),
        "",
        said(say("New since the last e-mail:")) if count > 1 else "",
    ]
    for n in notices[:MAX_LINES]:
        line = say(
            "{notice} ({site}, incident {incident})",
            notice=n.message,
            site=n.site,
            incident=n.incident_id,
        )
        lines.append(f"- {said(line)}")
    if count > MAX_LINES:
        more = say("and {count} more: see your notifications page", count=count - MAX_LINES)
        lines.append(f"- {said(more)}")
    lines += ["", said(say("You get these because you asked for your notifications by e-mail."))]
    message.set_content("\n".join(line for line in lines if line is not None))
    return message
