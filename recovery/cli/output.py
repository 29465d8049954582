"""Shared printing for the CLI: Rich for people, JSON for machines, one line per user error.

Every user error (a `RecoveryError`, which storage also raises for a database that fails or
a URL that does not work; invalid input caught by pydantic) ends the command with ONE line
on stderr, `error: <message>`, and the error's exit code; with `--json` the error's dict
is also printed on stdout. No traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from recovery.errors import RecoveryError

JSON_KEY = "recovery.json"
"""`ctx.meta` key set by every `--json` option, so errors can be printed as JSON too."""

VALIDATION_EXIT_CODE = 2

STATUS_STYLES = {
    # incidents
    "open": "yellow",
    "escalated": "bold red",
    "closed": "green",
    "released": "cyan",
    # steps
    "done": "green",
    "sent": "green",
    "waived": "dim",
    "drafted": "blue",
    "awaiting_approval": "magenta",
    "approved": "blue",
}


PIPE_WIDTH = 200
"""Output width when stdout is not a terminal: ids and paths are not cut for a pipe."""


def console() -> Console:
    """A console on the current stdout (looked up per call, so test runners capture it)."""
    width = None if sys.stdout.isatty() else PIPE_WIDTH
    return Console(file=sys.stdout, highlight=False, width=width)


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def styled(value: str, style: str | None = None) -> Text:
    """User data as Rich text: never interpreted as markup."""
    return Text(value, style=style or "")


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLES.get(status, ""))


def short_time(moment: str | None) -> str:
    """'2026-07-04T14:05:00.000000Z' as '2026-07-04 14:05Z'."""
    if not moment:
        return "-"
    return f"{moment[:10]} {moment[11:16]}Z"


def relative(moment: str, now: datetime | None = None) -> str:
    """How far a moment is from now: 'in 25m' or '3h ago'."""
    then = datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    seconds = int((then - (now or datetime.now(UTC))).total_seconds())
    size = abs(seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if size >= length:
            amount = f"{size // length}{unit}"
            break
    else:
        amount = f"{size}s"
    return f"in {amount}" if seconds >= 0 else f"{amount} ago"


def one_line(text: str) -> str:
    return " ".join(text.split())


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "invalid input: " + "; ".join(parts)


def error_message(exc: RecoveryError) -> str:
    message = str(exc)
    allowed = getattr(exc, "allowed", None)
    if allowed and "allowed" not in message:
        message += f" (allowed now: {', '.join(allowed)})"
    return message


def fail(
    message: str, code: int, data: dict[str, Any] | None = None, *, json_output: bool = False
) -> NoReturn:
    """End the command: `error: <message>` on one stderr line (and `data` as JSON on stdout
    when the command was asked for JSON)."""
    if data is not None and json_output:
        print_json(data)
    sys.stderr.write(f"error: {one_line(message)}\n")
    raise typer.Exit(code)


@contextmanager
def user_errors(meta: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Turn every user error raised inside into a one-line message and its exit code.

    `meta` is the command context's `meta`: a `--json` option marks it (`remember_json`).
    """

    def wants_json() -> bool:  # read when it fails: options are parsed inside the block
        return bool(meta is not None and meta.get(JSON_KEY))

    try:
        yield
    except RecoveryError as exc:
        fail(error_message(exc), exc.exit_code, exc.to_dict(), json_output=wants_json())
    except ValidationError as exc:
        message = validation_message(exc)
        data = {"error": "invalid_input", "message": message}
        fail(message, VALIDATION_EXIT_CODE, data, json_output=wants_json())


class GuardedGroup(TyperGroup):
    """The root command group: user errors from any command, ours or registered later,
    end as one line and an exit code instead of a traceback."""

    def invoke(self, ctx: Any) -> Any:  # Any: Typer's Context class moved between versions
        with user_errors(ctx.meta):
            return super().invoke(ctx)


def remember_json(ctx: typer.Context, value: bool) -> bool:
    """Callback of every `--json` option: errors of this command are printed as JSON too."""
    if value:
        ctx.meta[JSON_KEY] = True
    return value
