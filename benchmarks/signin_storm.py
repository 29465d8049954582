"""`GET /health` latency while clients sign in with random usernames, next to a quiet server.

    python -m benchmarks.signin_storm [--clients 4] [--probes 100]

One `recovery serve` process on a fresh SQLite file. The password check costs ~100 ms on
purpose; a server that runs it on its event loop answers nothing else meanwhile, so its
`/health` latency during the storm is the figure to watch.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import httpx

from benchmarks.http import _free_port, _wait


def _probe(base: str, count: int) -> list[float]:
    """`count` GET /health, 20 ms apart; each one's latency in ms."""
    latencies = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(count):
            started = time.perf_counter()
            client.get("/health").raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.02)
    return latencies


def _storm(base: str, stop: threading.Event, answered: list[int]) -> None:
    sent = 0
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            guess = {"username": uuid.uuid4().hex[:12], "password": "a guess"}
            client.post("/auth/login", json=guess)
            sent += 1
    answered.append(sent)


def _line(label: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
    return f"  {label:<28} p50 {statistics.median(ordered):8.1f} ms  p99 {p99:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4, help="clients signing in at once")
    parser.add_argument("--probes", type=int, default=100, help="GET /health per phase")
    args = parser.parse_args()

    database = f"sqlite:///{tempfile.mkdtemp()}/recovery.db"
    port = _free_port()
    command = [sys.executable, "-m", "recovery.cli", "serve", "--db", database]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/health")
        quiet = _probe(base, args.probes)
        stop, answered = threading.Event(), []
        clients = [
            threading.Thread(target=_storm, args=(base, stop, answered))
            for _ in range(args.clients)
        ]
        for client in clients:
            client.start()
        time.sleep(1)  # the storm is under way
        started = time.perf_counter()
        loud = _probe(base, args.probes)
        seconds = time.perf_counter() - started + 1
        stop.set()
        for client in clients:
            client.join()
    finally:
        server.terminate()
        server.wait()
    print(f"GET /health, {args.probes} probes per phase; SQLite; one server process")
    print(_line("quiet", quiet))
    print(_line(f"{args.clients} clients signing in", loud))
    print(f"  sign-ins answered meanwhile: {sum(answered)} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
