"""Customer updates by e-mail: where the playbook tells the customer of a hand-off or a
moved deadline (`customer_updates:` with `channel: email`) and the customer's contact is an
e-mail address, the update also goes out as an e-mail through the letters queue and the
mail worker, in the customer's language. It says only what changed, never who or why (no
staff name, no note, no hand-off context). The mail worker records it in the timeline (a
contact, outbound by e-mail) once the mail server accepted it.

One letter per event: its id is drawn from the incident and the event's seq, so a command
replayed under its idempotency key queues nothing new.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Callable
from datetime import datetime

from recovery.domain.commands import Actor, RecordContact
from recovery.domain.effects import CustomerMessage, effects_of
from recovery.domain.state import Event, IncidentState, iso
from recovery.domain.updates import NOTIFY_CUSTOMER
from recovery.errors import CommandRejectedError, ConflictError, StorageError
from recovery.letters.i18n import pick_locale
from recovery.letters.ports import PENDING, LetterStore, QueuedLetter
from recovery.letters.render import humanise
from recovery.service.views import Outcome

log = logging.getLogger("recovery.letters")

UPDATE_PREFIX = "update:"  # a letters row's step_id for an update: `update:new_owner`
UPDATE_EVENTS = frozenset({"handed_off", "resumed"})
EMAIL = "email"
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")  # as letters.written checks recipients

# (subject, body) per language and update; {name}: the customer's, {site}: the property's.
_MAIL: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "new_owner": (
            "Your case at {site}: a colleague has taken over",
            "Dear {name},\n\nA colleague has taken over your case. What you told us has "
            "been passed on, so you do not need to repeat it.\n\nKind regards,\n{site}\n",
        ),
        "deadlines_moved": (
            "Your case at {site}: new times",
            "Dear {name},\n\nYour case is moving again after a pause, and the times we "
            "gave you for putting things right have moved by the length of that pause.\n"
            "\nKind regards,\n{site}\n",
        ),
    },
    "da": {
        "new_owner": (
            "Din sag hos {site}: en kollega har overtaget den",
            "Kære {name}\n\nEn kollega har overtaget din sag. Det, du har fortalt os, er "
            "givet videre, så du behøver ikke gentage det.\n\nMed venlig hilsen\n{site}\n",
        ),
        "deadlines_moved": (
            "Din sag hos {site}: nye tidspunkter",
            "Kære {name}\n\nDin sag er i gang igen efter en pause, og de tidspunkter, vi "
            "gav dig for at rette op på det, er flyttet med pausens længde.\n"
            "\nMed venlig hilsen\n{site}\n",
        ),
    },
    "id": {
        "new_owner": (
            "Kasus Anda di {site}: kini ditangani rekan kami",
            "Yth. {name},\n\nKasus Anda kini ditangani oleh rekan kami. Apa yang telah Anda "
            "sampaikan sudah kami teruskan, jadi Anda tidak perlu mengulanginya.\n"
            "\nHormat kami,\n{site}\n",
        ),
        "deadlines_moved": (
            "Kasus Anda di {site}: waktu yang baru",
            "Yth. {name},\n\nKasus Anda kembali ditangani setelah jeda, dan waktu yang kami "
            "janjikan untuk memperbaikinya bergeser sepanjang jeda tersebut.\n"
            "\nHormat kami,\n{site}\n",
        ),
    },
}
_SUMMARY = {
    "new_owner": "Told the customer by e-mail that a colleague has taken over",
    "deadlines_moved": "Told the customer by e-mail that the promised times have moved",
}


def is_update(letter: QueuedLetter) -> bool:
    return letter.step_id.startswith(UPDATE_PREFIX)


def update_letter_id(incident_id: str, seq: int) -> str:
    digest = hashlib.sha256(f"{incident_id}:{seq}".encode()).hexdigest()
    return f"upd_{digest[:32]}"


def _emailed(event: Event, state: IncidentState) -> tuple[CustomerMessage, str] | None:
    """The update this event tells the customer by e-mail, and the address; None if none."""
    for effect in effects_of(event.data):
        if (
            isinstance(effect, CustomerMessage)
            and effect.kind == NOTIFY_CUSTOMER
            and effect.channel == EMAIL
            and effect.update in ("new_owner", "deadlines_moved")
        ):
            address = effect.recipient.strip()
            if _ADDRESS.match(address):
                return effect, address
    return None


def update_letter(state: IncidentState, event: Event, now: datetime) -> QueuedLetter | None:
    """The e-mail of the update `event` tells the customer, if it is told by e-mail."""
    if event.type not in UPDATE_EVENTS:
        return None
    found = _emailed(event, state)
    if found is None:
        return None
    effect, address = found
    update = str(effect.update)
    locale = pick_locale(state.customer.get("language"))
    subject, body = _MAIL[locale][update]
    name = state.customer.get("name")
    words = {
        "name": name if isinstance(name, str) and name else address,
        "site": humanise(state.site),
    }
    text = body.format(**words)
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n")
    )
    return QueuedLetter(
        id=update_letter_id(state.id, event.seq),
        incident_id=state.id,
        step_id=UPDATE_PREFIX + update,
        locale=locale,
        recipient=address,
        subject=subject.format(**words),
        body_text=text,
        body_html=f'<html lang="{locale}"><body>{paragraphs}</body></html>',
        digest=hashlib.sha256(text.encode()).hexdigest(),
        requested_by=event.actor,
        created_at=iso(now),
        status=PENDING,
        attempts=0,
        next_attempt_at=iso(now),
        message_id=None,
        accepted_at=None,
        recorded_seq=None,
        last_error=None,
    )


def queue_update_mail(
    store: LetterStore, state: IncidentState, event: Event, now: datetime
) -> str | None:
    """Queue the e-mail of the update `event` tells the customer, once; its letter id, or
    None when the event tells nothing by e-mail. The command is recorded already: a
    database error here is logged, not raised (a retry would record the event again)."""
    letter = update_letter(state, event, now)
    if letter is None:
        return None
    try:
        if store.get(letter.id) is None:  # a replayed command: queued already
            store.queue(letter, hold_until=now)
    except StorageError:
        log.exception("incident %s: the update e-mail could not be queued", state.id)
        return None
    return letter.id


def record_update_sent(
    execute: Callable[..., Outcome], letter: QueuedLetter, message_id: str, actor: Actor
) -> tuple[int | None, str | None]:
    """Record in the timeline that the mail server accepted the update (a contact, outbound
    by e-mail, in words without staff names); its seq, or None and why not."""
    update = letter.step_id.removeprefix(UPDATE_PREFIX)
    summary = f"{_SUMMARY.get(update, 'Told the customer by e-mail')} ({letter.recipient})"
    command = RecordContact(channel=EMAIL, direction="outbound", summary=summary)
    for _ in range(3):
        try:
            outcome = execute(letter.incident_id, command, actor=actor, channel="mail")
        except ConflictError:
            continue
        except CommandRejectedError as exc:
            return None, f"accepted as {message_id}, not recorded on the incident: {exc}"
        return outcome.event.seq, None
    return None, f"accepted as {message_id}, not recorded: the incident kept changing"
