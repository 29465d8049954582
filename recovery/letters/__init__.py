"""The written follow-up: letters rendered per playbook and language, mailed, printable.

A written step (kind `written`) goes:

    open ─draft─▶ drafted ─request_send─▶ sending ─send (mail worker)─▶ sent
                     ▲                        │
                     └──── bounce (mail worker: refused for good) ◀───┘

- `Recovery.draft_letter` records the draft; where the playbook's step has a `voucher`, it
  draws a unique, unguessable code (`FN-7Q4K-M2XD-9PRT`) and records it in the step's
  evidence.
- `Recovery.request_letter` renders the letter (Jinja2 templates in `templates/<locale>/`,
  the customer's language: en, da, id; English otherwise), stores it exactly as rendered
  and records its id and sha256 on the step: the step is `sending`.
- The worker (`recovery worker`, or `recovery.service.letter_delivery.deliver_letters`)
  mails it through a `Mailer` (`SmtpMailer`, or `FileMailer` writing .eml files: the
  demo's, and the default without RECOVERY_SMTP_URL), retries with back-off, and records
  `send` with the server's message id once the server accepted it. Only then is the step
  done; the incident cannot close before. `Recovery.letter_status` (and `recovery letters
  status`) shows every attempt's outcome.
- `Recovery.render_letter_html` is the letter as a standalone print-friendly page.

`Recovery.act_on_step` runs `draft` and `request_send` on such a step as those commands;
`send` and `bounce` are the mail worker's. This package holds what needs no database:
rendering, languages, mailers, voucher codes, a written step's rules (`written`), and the
port its storage implements (`ports`).
"""

from recovery.letters.i18n import DEFAULT_LOCALE, LOCALES, pick_locale
from recovery.letters.mailers import (
    FileMailer,
    Mailer,
    MailError,
    SmtpMailer,
    build_message,
    mailer_from_settings,
)
from recovery.letters.ports import LetterStore, QueuedLetter, Voucher
from recovery.letters.render import RenderedLetter, render_step_letter
from recovery.letters.vouchers import new_voucher_code, normalise_code
from recovery.letters.written import (
    LETTER_ACTIONS,
    LetterStatus,
    VoucherCheck,
    sends_letters,
    written_step,
)

__all__ = [
    "DEFAULT_LOCALE",
    "LETTER_ACTIONS",
    "LOCALES",
    "FileMailer",
    "LetterStatus",
    "LetterStore",
    "MailError",
    "Mailer",
    "QueuedLetter",
    "RenderedLetter",
    "SmtpMailer",
    "Voucher",
    "VoucherCheck",
    "build_message",
    "mailer_from_settings",
    "new_voucher_code",
    "normalise_code",
    "pick_locale",
    "render_step_letter",
    "sends_letters",
    "written_step",
]
