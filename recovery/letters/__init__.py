"""The written follow-up: letters rendered per playbook and language, mailed, printable.

A written step (kind `written`) goes:

    open ─draft─▶ drafted ─request_send─▶ sending ─send (mail worker)─▶ sent
                     ▲                        │
                     └──── bounce (mail worker: refused for good) ◀───┘

- `draft_letter` records the draft; where the playbook's step has a `voucher`, it draws a
  unique, unguessable code (`FN-7Q4K-M2XD-9PRT`) and records it in the step's evidence.
- `request_letter` renders the letter (Jinja2 templates in `templates/<locale>/`, the
  customer's language: en, da, id; English otherwise), stores it exactly as rendered and
  records its id and sha256 on the step: the step is `sending`.
- The worker (`recovery worker`, or `deliver_letters`) mails it through a `Mailer`
  (`SmtpMailer`, or `FileMailer` writing .eml files: the demo's, and the default without
  RECOVERY_SMTP_URL), retries with back-off, and records `send` with the server's message
  id once the server accepted it. Only then is the step done; the incident cannot close
  before. `letter_status` (and `recovery letters status`) shows every attempt's outcome.
- `render_letter_html` is the letter as a standalone print-friendly page.

The engine's generic step actions cannot queue a letter by themselves (`request_send` needs
the letter's id and digest, `send` and `bounce` are the worker's): use these functions.
"""

from recovery.letters.delivery import (
    MAIL_WORKER,
    LetterDeliverer,
    LetterStats,
    deliver_letters,
)
from recovery.letters.i18n import DEFAULT_LOCALE, LOCALES, pick_locale
from recovery.letters.mailers import (
    FileMailer,
    Mailer,
    MailError,
    SmtpMailer,
    build_message,
    mailer_from_settings,
)
from recovery.letters.render import RenderedLetter, render_step_letter
from recovery.letters.service import (
    LETTER_ACTIONS,
    LetterStatus,
    VoucherCheck,
    act_on_step,
    draft_letter,
    find_voucher,
    letter_status,
    render_letter,
    render_letter_html,
    request_letter,
    sends_letters,
)
from recovery.letters.store import QueuedLetter, Voucher
from recovery.letters.vouchers import new_voucher_code, normalise_code

__all__ = [
    "DEFAULT_LOCALE",
    "LETTER_ACTIONS",
    "LOCALES",
    "MAIL_WORKER",
    "FileMailer",
    "LetterDeliverer",
    "LetterStats",
    "LetterStatus",
    "MailError",
    "Mailer",
    "QueuedLetter",
    "RenderedLetter",
    "SmtpMailer",
    "Voucher",
    "VoucherCheck",
    "act_on_step",
    "build_message",
    "deliver_letters",
    "draft_letter",
    "find_voucher",
    "letter_status",
    "mailer_from_settings",
    "new_voucher_code",
    "normalise_code",
    "pick_locale",
    "render_letter",
    "render_letter_html",
    "render_step_letter",
    "request_letter",
    "sends_letters",
]
