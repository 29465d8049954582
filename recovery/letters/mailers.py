"""Mailers: what hands a letter over for delivery, and says whether it was accepted.

    class Mailer(Protocol):
        def send(self, message: EmailMessage) -> str   # the accepted message's id

A mailer returns only once the letter was accepted for delivery (the SMTP server said 250
to the data, or the file is on disk) and raises `MailError` otherwise: `permanent` when
trying again cannot help (the server refused the recipient or the content with a 5xx).

`SmtpMailer` speaks SMTP (smtplib; STARTTLS or implicit TLS, optional login) to the server
named by RECOVERY_SMTP_URL. `FileMailer` writes each letter as an .eml file into a folder:
the demo's mailer, and the default when no SMTP server is configured.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qs, unquote, urlsplit

from recovery.config import Settings
from recovery.errors import ConfigurationError
from recovery.letters.ports import QueuedLetter

DEFAULT_TIMEOUT = 30.0


class MailError(Exception):
    """The letter was not accepted. `permanent`: the server refused it for good."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@runtime_checkable
class Mailer(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Hand `message` over for delivery; return its id once accepted, else raise
        `MailError`."""
        ...


def build_message(
    letter: QueuedLetter, *, sender: str, customer_name: str | None, site_name: str | None
) -> EmailMessage:
    """The e-mail of a queued letter: plain text and HTML alternatives, the same bytes of
    content and the same Message-ID on every attempt (receivers can drop a duplicate)."""
    message = EmailMessage()
    message["From"] = formataddr((site_name, sender)) if site_name else sender
    message["To"] = (
        formataddr((customer_name, letter.recipient)) if customer_name else (letter.recipient)
    )
    message["Subject"] = letter.subject
    message["Date"] = format_datetime(datetime.fromisoformat(letter.created_at))
    domain = sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{letter.id}@{domain}>"
    message["X-Recovery-Incident"] = letter.incident_id
    message["X-Recovery-Letter"] = letter.id
    message.set_content(letter.body_text)
    message.add_alternative(letter.body_html, subtype="html")
    message["Content-Language"] = letter.locale  # after the content: set_content clears it
    return message


@dataclass(frozen=True)
class SmtpMailer:
    """Send through an SMTP server; `security` is "starttls", "tls" (implicit, smtps) or
    "none" (a relay on localhost, or tests)."""

    host: str
    port: int = 25
    security: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT
    context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.security not in ("none", "starttls", "tls"):
            raise ValueError(f"SMTP security must be none, starttls or tls, not {self.security!r}")

    @classmethod
    def from_url(cls, url: str) -> SmtpMailer:
        """`smtp://[user:password@]host[:port][?starttls=true]` or `smtps://...`
        (port 587 implies STARTTLS, 465 implicit TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigurationError(
                f"RECOVERY_SMTP_URL must look like smtp://user:password@host:587, not {url!r}"
            )
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ConfigurationError(f"RECOVERY_SMTP_URL has a bad port: {url!r}") from None
        if parts.scheme == "smtps":
            security = "tls"
        elif query.get("starttls") in ("1", "true", "yes") or (
            port == 587 and query.get("starttls") not in ("0", "false", "no")
        ):
            security = "starttls"
        else:
            security = "none"
        timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
        return cls(
            host=parts.hostname,
            port=port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )

    def send(self, message: EmailMessage) -> str:
        context = self.context or ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(
                f"{rcpt}: {code} {_text(reply)}" for rcpt, (code, reply) in exc.recipients.items()
            )
            raise MailError(
                f"recipient refused: {detail}", permanent=all(c >= 500 for c in codes)
            ) from exc
        except smtplib.SMTPDataError as exc:
            raise MailError(
                f"letter refused: {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # sender refused, login refused, ...: our configuration, not this letter
            raise MailError(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(
                f"{self.host}:{self.port}: {type(exc).__name__}: {exc}".rstrip(": ")
            ) from exc
        return str(message["Message-ID"])


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


@dataclass(frozen=True)
class FileMailer:
    """Write each letter as `<folder>/<letter id>.eml` (the demo's mailer). A letter is
    'accepted' once its file is completely on disk (written aside, then renamed)."""

    folder: Path

    def send(self, message: EmailMessage) -> str:
        letter_id = str(
            message.get("X-Recovery-Letter") or message.get("X-Recovery-Digest") or "letter"
        )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".part")
            with os.fdopen(fd, "wb") as out:
                out.write(message.as_bytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.folder / f"{letter_id}.eml")
        except OSError as exc:
            raise MailError(f"cannot write the letter into {self.folder}: {exc}") from exc
        return str(message["Message-ID"])


def mailer_from_settings(settings: Settings) -> Mailer:
    """SMTP when RECOVERY_SMTP_URL is set, else the file mailer in RECOVERY_MAIL_DIR."""
    if settings.smtp_url:
        return SmtpMailer.from_url(settings.smtp_url)
    return FileMailer(Path(settings.mail_dir))


def describe_mailer(mailer: Mailer) -> str:
    if isinstance(mailer, SmtpMailer):
        return f"SMTP {mailer.host}:{mailer.port} ({mailer.security})"
    if isinstance(mailer, FileMailer):
        return f"files in {mailer.folder}"
    return type(mailer).__name__
