"""HTTP command throughput and latency, next to a bare FastAPI endpoint doing one insert.

    python -m benchmarks.http [--connections 32] [--seconds 10] [--rounds 3]

Both servers run as uvicorn processes on 127.0.0.1 with the same settings, both on SQLite
(WAL, synchronous=FULL); `wrk` (Debian package `wrk`) drives them with the same POST. The
recovery endpoint is `POST /incidents/{id}/notes` with an integration token: it
authenticates, runs the command through the engine and returns the incident.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from recovery import Actor, CustomerProfile, OpenIncident
from recovery.bootstrap import over_engine, services
from recovery.storage.database import create_db_engine

NOTE = json.dumps({"text": "Guest called again; confirmed the taxi at 18:30."})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")


def _wrk(url: str, headers: dict[str, str], connections: int, seconds: int) -> dict[str, float]:
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(NOTE)}"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "post.lua"
        script.write_text("\n".join(lines) + "\n")
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
             url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if match is None:
            raise RuntimeError(f"no {label}% latency in wrk output:\n{out}")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]
        return float(match[1]) * scale

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if rate is None:
        raise RuntimeError(out)
    return {
        "rate": float(rate[1]),
        "p50": millis("50"),
        "p99": millis("99"),
        "errors": float(errors[1]) if errors else 0.0,
    }


def _server(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


BARE = "bare FastAPI, one insert"
OURS = "recovery POST /incidents/{id}/notes"


def measure(connections: int, seconds: int, rounds: int) -> dict[str, list[dict[str, float]]]:
    """wrk's rate, p50, p99 and errors per round for the bare app and recovery, alternating."""
    folder = Path(tempfile.mkdtemp())
    db = f"sqlite:///{folder / 'recovery.db'}"
    engine = create_db_engine(db)
    rec = over_engine(engine)
    incident = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest", site="bench", customer=CustomerProfile(name="B")
        ),
        actor=Actor(id="bench", role="front_desk"),
    ).id
    _row, token = services(rec).accounts.create_token("bench", "integration", ["*"])
    bare_incident = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest", site="bench", customer=CustomerProfile(name="B")
        ),
        actor=Actor(id="bench", role="front_desk"),
    ).id
    engine.dispose()

    common = ["--host", "127.0.0.1", "--log-level", "warning"]
    bare_port, ours_port = _free_port(), _free_port()
    bare_name, ours_name = BARE, OURS
    servers = [
        _server(
            [sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--port", str(bare_port),
             *common],
            {"BARE_DB": str(folder / "recovery.db"), "BARE_INCIDENT": bare_incident},
        ),
        _server(
            # --no-worker: request handling alone, as the bare app (no background passes)
            [sys.executable, "-m", "recovery.cli", "serve", "--no-worker", "--db", db,
             "--port", str(ours_port), *common],
            {},
        ),
    ]  # fmt: skip
    runs: dict[str, list[dict[str, float]]] = {bare_name: [], ours_name: []}
    try:
        _wait(f"http://127.0.0.1:{bare_port}/docs")
        _wait(f"http://127.0.0.1:{ours_port}/health")
        for _ in range(rounds):  # alternating, so a disturbance hits both alike
            runs[bare_name].append(
                _wrk(
                    f"http://127.0.0.1:{bare_port}/notes",
                    {"Content-Type": "application/json"},
                    connections,
                    seconds,
                )
            )
            runs[ours_name].append(
                _wrk(
                    f"http://127.0.0.1:{ours_port}/incidents/{incident}/notes",
                    {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
                    connections,
                    seconds,
                )
            )
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("needs wrk: apt-get install wrk")
    runs = measure(args.connections, args.seconds, args.rounds)
    bare_name, ours_name = BARE, OURS
    print(
        f"HTTP POST, {args.connections} connections, {args.rounds} alternating rounds of "
        f"{args.seconds} s, SQLite FULL, wrk; medians of the rounds"
    )
    ratios = [o["rate"] / b["rate"] for b, o in zip(runs[bare_name], runs[ours_name], strict=True)]
    for name, measured in runs.items():
        rate, p50, p99 = (
            statistics.median(r[key] for r in measured) for key in ("rate", "p50", "p99")
        )
        errors = sum(r["errors"] for r in measured)
        ratio = "1.00" if name == bare_name else f"{statistics.median(ratios):4.2f}"
        print(
            f"  {name:<40} {rate:7.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
            f"  non-2xx {errors:.0f}  ratio {ratio}"
        )
    print("  ratio per round: " + ", ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
