"""Waiting for a `recovery serve` process the tests started: one place for the loop that
asks `/health` until the server answers, or says why it never did."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx


def wait_until_healthy(
    base: str,
    process: subprocess.Popen[str] | subprocess.Popen[bytes],
    timeout: float,
    output: Callable[[], str] = lambda: "",
) -> None:
    """Returns once `base` answers `/health` with 200; raises RuntimeError with the
    server's `output()` if the process ends or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"recovery serve did not start: {output()[-3000:]}")
        time.sleep(0.1)
