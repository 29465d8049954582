"""`recovery worker`: missed deadlines, letters and webhook delivery, until stopped."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from recovery.cli.options import DbOption, JsonOption, PlaybooksOption, open_recovery, settings
from recovery.cli.output import console, print_json
from recovery.delivery import WebhookTarget, parse_targets
from recovery.errors import ConfigurationError
from recovery.letters.mailers import (
    FileMailer,
    Mailer,
    SmtpMailer,
    describe_mailer,
    mailer_from_settings,
)
from recovery.service.worker import run

WebhooksOption = Annotated[
    str | None,
    typer.Option(
        "--webhooks",
        help='Webhook targets as JSON, e.g. \'[{"url": "https://pms.example/hooks", '
        '"secret": "...", "kinds": ["book_room"], "sites": ["ribe-central"]}]\' '
        "(kinds and sites are optional filters), or @file.json. Default: $RECOVERY_WEBHOOKS.",
        show_default=False,
    ),
]


def webhook_targets(option: str | None) -> list[WebhookTarget]:
    text, source = option, "--webhooks"
    if text is None:
        text, source = settings().webhooks, "RECOVERY_WEBHOOKS"
    if not text:
        return []
    if text.startswith("@"):
        source = text[1:]
        text = Path(source).read_text(encoding="utf-8")
    try:
        return parse_targets(text, source=source)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


SmtpOption = Annotated[
    str | None,
    typer.Option(
        "--smtp",
        help="Mail letters through this SMTP server, e.g. smtp://user:password@host:587. "
        "Default: $RECOVERY_SMTP_URL, else .eml files in --mail-dir.",
        show_default=False,
    ),
]
MailDirOption = Annotated[
    Path | None,
    typer.Option(
        "--mail-dir",
        help="Write letters as .eml files into this folder (when no SMTP server is set). "
        "Default: $RECOVERY_MAIL_DIR, else ./mail-outbox.",
        show_default=False,
        file_okay=False,
    ),
]


def letter_mailer(smtp: str | None, mail_dir: Path | None) -> Mailer:
    """The mailer of the options, else of the settings: SMTP if configured, else files."""
    if smtp:
        return SmtpMailer.from_url(smtp)
    if mail_dir is not None:
        return FileMailer(mail_dir)
    return mailer_from_settings(settings())


def worker(
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    webhooks: WebhooksOption = None,
    smtp: SmtpOption = None,
    mail_dir: MailDirOption = None,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", min=0.1, help="Seconds between passes.")
    ] = 2.0,
    json_output: JsonOption = False,
) -> None:
    """Record missed deadlines (and escalate), tell people what needs them, mail letters
    and deliver webhooks, until stopped."""
    targets = webhook_targets(webhooks)
    mailer = letter_mailer(smtp, mail_dir)
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    with open_recovery(db, playbooks) as rec:
        if not once and not json_output:
            console().print(
                f"worker: sweeping deadlines, letters by {describe_mailer(mailer)}, "
                f"{len(targets)} webhook target(s) and the registered endpoints; Ctrl-C stops"
            )
        result = run(
            rec,
            targets,
            mailer=mailer,
            once=once,
            poll_interval=poll_interval,
            stop=stop,
            retention=settings().retention,
        )
    summary = {
        "deadlines_missed": result.deadlines_missed,
        "delivered": result.deliveries.delivered,
        "failed": result.deliveries.failed,
        "dead": result.deliveries.dead,
        "letters_sent": result.letters.sent,
        "letters_retrying": result.letters.failed,
        "letters_dead": result.letters.dead,
        "notified": result.notified,
        "personal_data_erased": result.erased,
    }
    if json_output:
        print_json(summary)
    else:
        console().print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in summary.items()))
