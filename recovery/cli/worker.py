"""`recovery worker`: missed deadlines and webhook delivery, until stopped."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from recovery.cli.options import DbOption, JsonOption, PlaybooksOption, open_recovery
from recovery.cli.output import console, print_json
from recovery.delivery import WebhookTarget, parse_targets
from recovery.errors import ConfigurationError
from recovery.worker import run

WebhooksOption = Annotated[
    str | None,
    typer.Option(
        "--webhooks",
        help='Webhook targets as JSON, e.g. \'[{"url": "https://pms.example/hooks", '
        '"secret": "...", "kinds": ["book_room"]}]\', or @file.json. '
        "Default: $RECOVERY_WEBHOOKS.",
        show_default=False,
    ),
]


def webhook_targets(option: str | None) -> list[WebhookTarget]:
    text, source = option, "--webhooks"
    if text is None:
        text, source = os.environ.get("RECOVERY_WEBHOOKS"), "RECOVERY_WEBHOOKS"
    if not text:
        return []
    if text.startswith("@"):
        source = text[1:]
        text = Path(source).read_text(encoding="utf-8")
    try:
        return parse_targets(text, source=source)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def worker(
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    webhooks: WebhooksOption = None,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", min=0.1, help="Seconds between passes.")
    ] = 2.0,
    json_output: JsonOption = False,
) -> None:
    """Record missed deadlines (and escalate) and deliver webhooks, until stopped."""
    targets = webhook_targets(webhooks)
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    with open_recovery(db, playbooks) as rec:
        if not once and not json_output:
            console().print(
                f"worker: sweeping deadlines, {len(targets)} webhook target(s); Ctrl-C stops"
            )
        result = run(rec, targets, once=once, poll_interval=poll_interval, stop=stop)
    summary = {
        "deadlines_missed": result.deadlines_missed,
        "delivered": result.deliveries.delivered,
        "failed": result.deliveries.failed,
        "dead": result.deliveries.dead,
    }
    if json_output:
        print_json(summary)
    else:
        console().print(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in summary.items()))
