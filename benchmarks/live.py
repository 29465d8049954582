"""Live-update delay: from a command recorded by ANOTHER process to the change event on an
open page's stream, and to the page fetched again with the change in it.

    python -m benchmarks.live [--db sqlite|pg|both] [--changes 200]

One `recovery serve --no-worker` process serves the page; this process records notes on
the incident through its own engine (as a second server or a worker would), each at a
random moment, and listens on `GET /live?incident=ID` as a browser's EventSource does.
Beside each figure its floor: on SQLite the change counter is polled every 250 ms (on
average half of that is waited); on PostgreSQL a bare psycopg NOTIFY → LISTEN round trip.
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import httpx
import psycopg

from benchmarks.http import _free_port, _wait
from recovery import Actor, CustomerProfile, OpenIncident
from recovery.bootstrap import connect, open_accounts

PG = os.environ.get("RECOVERY_TEST_PG_URL", "postgresql://root@127.0.0.1:5432/test")
WRITER = Actor(id="bench", role="manager")
PASSWORD = "bench-password-1"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _line(label: str, values: list[float], floor: str) -> str:
    return (
        f"  {label:<34} p50 {statistics.median(values):7.1f} ms   "
        f"p99 {_pct(values, 0.99):7.1f} ms   (floor: {floor})"
    )


def _listen(client: httpx.Client, path: str, arrivals: queue.Queue[float]) -> None:
    try:
        with client.stream("GET", path, timeout=None) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("event: change"):
                    arrivals.put(time.perf_counter())
    except httpx.HTTPError:
        pass  # the server stopped at the end of the run


def _pg_floor(url: str, rounds: int) -> list[float]:
    """A bare NOTIFY on one connection heard by LISTEN on another."""
    found = []
    with (
        psycopg.connect(url, autocommit=True) as listener,
        psycopg.connect(url, autocommit=True) as sender,
    ):
        listener.execute("LISTEN bench_floor")
        for _ in range(rounds):
            started = time.perf_counter()
            sender.execute("NOTIFY bench_floor, 'x'")
            for _note in listener.notifies(timeout=5, stop_after=1):
                found.append((time.perf_counter() - started) * 1000)
    return found


def run(url: str, changes: int) -> tuple[list[float], list[float], list[float]]:
    with open_accounts(url) as accounts:
        accounts.add_user("bench", PASSWORD, "manager", ["*"])
    writer = connect(url)
    opened = writer.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="Bench Guest"),
        ),
        actor=WRITER,
        channel="desk",
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            str(os.path.join(os.path.dirname(sys.executable), "recovery")),
            "serve",
            "--no-worker",
            "--db",
            url,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    events: list[float] = []
    pages: list[float] = []
    commands: list[float] = []
    try:
        _wait(base + "/health")
        with httpx.Client(base_url=base, timeout=30) as client:
            client.post("/auth/login", json={"username": "bench", "password": PASSWORD})
            arrivals: queue.Queue[float] = queue.Queue()
            threading.Thread(
                target=_listen,
                args=(client, f"/live?incident={opened.id}", arrivals),
                daemon=True,
            ).start()
            time.sleep(1.0)
            while not arrivals.empty():
                arrivals.get()
            page = f"/web/incidents/{opened.id}"
            for i in range(changes):
                time.sleep(random.uniform(0.05, 0.3))  # not in step with any poll
                text = f"note {i} {uuid.uuid4().hex[:6]}"
                started = time.perf_counter()
                writer.add_note(opened.id, text, actor=WRITER, channel="desk")
                commands.append((time.perf_counter() - started) * 1000)
                heard = arrivals.get(timeout=10)
                events.append((heard - started) * 1000)
                body = client.get(page).text
                assert text in body, "the page fetched after the event shows the change"
                pages.append((time.perf_counter() - started) * 1000)
    finally:
        server.terminate()
        server.wait(timeout=30)
        writer.dispose()
    return commands, events, pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    print(f"live-update delay, {args.changes} changes by another process, one open page")
    if args.db in ("sqlite", "both"):
        url = f"sqlite:///{tempfile.mkdtemp()}/recovery.db"
        commands, events, pages = run(url, args.changes)
        print("SQLite (poll of PRAGMA data_version every 250 ms)")
        print(_line("command (add_note, fsync)", commands, "-"))
        print(_line("command → change event", events, "125 ms mean wait of the poll"))
        print(_line("command → page fetched with it", pages, "-"))
    if args.db in ("pg", "both"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = f"{PG}?options=-csearch_path%3D{schema}"
        try:
            floor = _pg_floor(PG, args.changes)
            commands, events, pages = run(url, args.changes)
        finally:
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        print("PostgreSQL (LISTEN/NOTIFY from a trigger)")
        print(_line("bare NOTIFY → LISTEN", floor, "itself"))
        print(_line("command (add_note)", commands, "-"))
        print(
            _line(
                "command → change event",
                events,
                f"p50 {statistics.median(floor):.1f} ms NOTIFY + the command",
            )
        )
        print(_line("command → page fetched with it", pages, "-"))


if __name__ == "__main__":
    main()
