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

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def recovery_serve(db_url: str, workdir: Path, *, timeout: float = 60.0) -> Iterator[str]:
    """`recovery serve` in its own process on `db_url`; yields its base URL, and stops it
    (SIGTERM, then SIGKILL) when the block ends."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (workdir / f"serve-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "recovery.cli", "serve", "--port", str(port), "--db", db_url,
         "--log-level", "warning"],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(
                    f"recovery serve did not start: {(workdir / log.name).read_text()[-2000:]}"
                )
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()
