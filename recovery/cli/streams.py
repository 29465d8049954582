"""How the audit commands stream: a progress bar over events on a terminal, and output
files written whole or not at all (or stdout's bytes)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from recovery.errors import ConfigurationError

PROGRESS_MIN_EVENTS = 20_000
"""Below this many events a pass takes well under a second: no progress bar."""


@contextmanager
def progress_bar(json_output: bool, total: Callable[[], int]) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar over events on a terminal's stderr (never with --json or a pipe)."""
    err = Console(stderr=True)
    if json_output or not err.is_terminal:
        yield lambda _events: None
        return
    events = total()
    if events < PROGRESS_MIN_EVENTS:
        yield lambda _events: None
        return
    columns = (
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("verify", total=events)
        pending = 0

        def advance(n: int) -> None:
            nonlocal pending
            pending += n
            if pending >= 5000:
                progress.advance(task, pending)
                pending = 0

        yield advance


@contextmanager
def output_stream(path: Path | None) -> Iterator[BinaryIO]:
    """A binary stream to `path`, written whole or not at all, or stdout's bytes."""
    if path is None:
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # pragma: no cover - a text-only stdout
            raise ConfigurationError("stdout takes no bytes here; use --out FILE")
        sys.stdout.flush()
        yield buffer
        buffer.flush()
        return
    partial = path.with_name(f".{path.name}.partial")
    try:
        stream = partial.open("wb")
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with stream:
            yield stream
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
