"""Server memory after four 50 MB request bodies, with the body cap and without it.

    python -m benchmarks.body_memory [--cap BYTES] [--posts 4]

One `recovery serve` process on a fresh SQLite file per run; each post declares 50 MB
(`Content-Length`) and streams it as a hostile client would, not waiting for an answer.
The figure is the server's resident memory (VmRSS) before and after. With the default
1 MiB cap each post is answered 413 after about 1 MiB; `--cap 1073741824` shows what an
uncapped server does.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.http import _free_port, _wait

FIFTY_MB = 50 * 1024 * 1024


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _post(port: int, total: int) -> str:
    """Stream `total` bytes to POST /incidents; the status line the server answered."""
    head = (
        f"POST /incidents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {total}\r\n\r\n"
    )
    piece = b"[" + b"1," * 32_767 + b"1"
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head.encode())
        sent = 0
        try:
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass
        try:
            return sock.recv(64).split(b"\r\n", 1)[0].decode() or "(closed)"
        except OSError:
            return "(closed)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=int, default=1024 * 1024)
    parser.add_argument("--posts", type=int, default=4)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    port = _free_port()
    env = {**os.environ, "RECOVERY_MAX_BODY_BYTES": str(args.cap)}
    server = subprocess.Popen(
        [sys.executable, "-m", "recovery.cli", "serve", "--port", str(port),
         "--db", f"sqlite:///{folder}/bench.db", "--log-level", "warning"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{port}/health")
        before = _rss_mib(server.pid)
        answers = [_post(port, FIFTY_MB) for _ in range(args.posts)]
        after = _rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"cap {args.cap:,} bytes; {args.posts} posts of 50 MB answered: {', '.join(answers)}")
    print(f"server RSS {before:.0f} MiB -> {after:.0f} MiB (+{after - before:.1f} MiB)")


if __name__ == "__main__":
    main()
