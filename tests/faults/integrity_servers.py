"""Helpers for the fault tests of sign-in, revocation and integrity (no tests here): real
`recovery serve` processes on a free port over one database, and accounts made directly
in that database before they start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.serving import wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def recovery_servers(
    db_url: str, workdir: Path, count: int, *, timeout: float = 60.0
) -> Iterator[list[str]]:
    """`count` `recovery serve` processes on `db_url`, started together (a start is mostly
    imports, so they overlap); yields their base URLs, and stops them (SIGTERM, then
    SIGKILL) when the block ends."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started: list[tuple[subprocess.Popen[bytes], Path, str]] = []
    try:
        for _ in range(count):
            port = free_port()
            path = workdir / f"serve-{port}.log"
            with path.open("w") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "recovery.cli", "serve", "--port", str(port),
                     "--db", db_url, "--log-level", "warning"],
                    cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            started.append((process, path, f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + timeout
        for process, path, base in started:  # together: they start side by side
            wait_until_healthy(base, process, max(0.0, deadline - time.monotonic()), path.read_text)
        yield [base for _process, _path, base in started]
    finally:
        for process, _path, _base in started:
            process.terminate()
        for process, _path, _base in started:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


@contextmanager
def recovery_serve(db_url: str, workdir: Path, *, timeout: float = 60.0) -> Iterator[str]:
    """One `recovery serve` process on `db_url` (`recovery_servers`); yields its base URL."""
    with recovery_servers(db_url, workdir, 1, timeout=timeout) as (base,):
        yield base
