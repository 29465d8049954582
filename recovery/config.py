"""Settings: the only module that reads the environment.

RECOVERY_DB         database URL (default: sqlite:///recovery.db in the working folder)
RECOVERY_PLAYBOOKS  folder of playbook files (default: the shipped playbooks/)
RECOVERY_SITES      folder of site calendar files (default: the shipped sites/)
RECOVERY_SQLITE_SYNCHRONOUS  full (default: no acknowledged command lost on power
                    loss) or normal (faster; a power cut may lose the last commits)
RECOVERY_SMTP_URL   where letters are mailed: smtp://user:password@host:587?starttls=true
                    or smtps://host:465 (default: none, letters are written as .eml files
                    to RECOVERY_MAIL_DIR, as the demo does)
RECOVERY_MAIL_DIR   folder of the file mailer (default: mail-outbox in the working folder)
RECOVERY_PUBLIC_URL the address customers reach the server at (for status links sent)
RECOVERY_MAIL_FROM  the letters' sender address (default: recovery@localhost)
RECOVERY_LETTER_TIMEZONE  time zone of letters and pages about a property without a site
                    calendar (its `time_zone` wins), e.g. Europe/Copenhagen (UTC)
RECOVERY_WEBHOOK_PRIVATE_HOSTS  true: back offices may register webhook endpoints on
                    loopback and private addresses (default false: only operators may)
RECOVERY_RETENTION_MONTHS  months personal data is kept after an incident ends, for
                    playbooks without `retention:` (default: until erased on request)
RECOVERY_MAX_BODY_BYTES  the largest request body the server reads (default 1048576, 1 MiB);
                    a larger one is refused with 413 before it is read
RECOVERY_FAULT_DIE_AFTER_COMMIT  fault injection for tests/faults only: the server kills
                    itself after recording a command whose Idempotency-Key starts with it
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recovery.errors import ConfigurationError

DEFAULT_DB_URL = "sqlite:///recovery.db"
DEFAULT_MAIL_DIR = "mail-outbox"
DEFAULT_MAIL_FROM = "recovery@localhost"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024

SqliteSynchronous = Literal["full", "normal"]


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    playbook_dir: str | None = None
    sites_dir: str | None = None
    sqlite_synchronous: SqliteSynchronous = "full"
    smtp_url: str | None = None
    mail_dir: str = DEFAULT_MAIL_DIR
    mail_from: str = DEFAULT_MAIL_FROM
    letter_timezone: str = "UTC"
    mail_dir_configured: bool = False
    webhooks: str | None = None
    public_url: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    webhook_private_hosts: bool = False
    retention: str | None = None
    """personal data kept this long after an incident ends ('24 months'), unless its
    playbook says otherwise (RECOVERY_RETENTION_MONTHS); None: until erased on request"""
    # fault injection for the fault suite only (RECOVERY_FAULT_DIE_AFTER_COMMIT): the server
    # kills itself right after recording a command whose Idempotency-Key starts with this
    fault_die_after_commit: str | None = None

    @classmethod
    def from_env(cls) -> Settings:
        sync = os.environ.get("RECOVERY_SQLITE_SYNCHRONOUS", "full").lower()
        if sync not in ("full", "normal"):
            raise ConfigurationError(
                f"RECOVERY_SQLITE_SYNCHRONOUS must be full or normal, not {sync!r}"
            )
        zone = os.environ.get("RECOVERY_LETTER_TIMEZONE") or "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"RECOVERY_LETTER_TIMEZONE: {zone!r} is not a known time zone"
            ) from None
        months = (os.environ.get("RECOVERY_RETENTION_MONTHS") or "").strip()
        if months and not (months.isdigit() and 1 <= int(months) <= 1200):
            raise ConfigurationError(
                f"RECOVERY_RETENTION_MONTHS must be a number of months from 1 to 1200, "
                f"not {months!r}"
            )
        max_body = os.environ.get("RECOVERY_MAX_BODY_BYTES") or str(DEFAULT_MAX_BODY_BYTES)
        if not max_body.strip().isdigit() or not 1024 <= int(max_body) <= 1024**3:
            raise ConfigurationError(
                f"RECOVERY_MAX_BODY_BYTES must be a number of bytes from 1024 to "
                f"1073741824, not {max_body!r}"
            )
        return cls(
            db_url=os.environ.get("RECOVERY_DB", DEFAULT_DB_URL),
            playbook_dir=os.environ.get("RECOVERY_PLAYBOOKS") or None,
            sites_dir=os.environ.get("RECOVERY_SITES") or None,
            sqlite_synchronous="full" if sync == "full" else "normal",
            smtp_url=os.environ.get("RECOVERY_SMTP_URL") or None,
            mail_dir=os.environ.get("RECOVERY_MAIL_DIR") or DEFAULT_MAIL_DIR,
            mail_from=os.environ.get("RECOVERY_MAIL_FROM") or DEFAULT_MAIL_FROM,
            letter_timezone=zone,
            mail_dir_configured=bool(os.environ.get("RECOVERY_MAIL_DIR")),
            webhooks=os.environ.get("RECOVERY_WEBHOOKS") or None,
            public_url=os.environ.get("RECOVERY_PUBLIC_URL") or None,
            retention=f"{int(months)} months" if months else None,
            max_body_bytes=int(max_body),
            webhook_private_hosts=_flag("RECOVERY_WEBHOOK_PRIVATE_HOSTS"),
            fault_die_after_commit=os.environ.get("RECOVERY_FAULT_DIE_AFTER_COMMIT") or None,
        )


def _flag(name: str) -> bool:
    value = (os.environ.get(name) or "false").strip().lower()
    if value not in ("true", "1", "yes", "false", "0", "no"):
        raise ConfigurationError(f"{name} must be true or false, not {value!r}")
    return value in ("true", "1", "yes")
