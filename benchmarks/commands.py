"""Commands/s of the Python API next to raw driver transactions writing the same rows.

    python -m benchmarks.commands [--n 2000] [--pg postgresql://root@127.0.0.1/test]

For each database: (1) `Recovery.add_note` on one incident, (2) a raw sqlite3/psycopg
transaction inserting the same event row and updating the same state row, (3) the
`eventsourcing` library saving one event per command (a peer). Every figure comes from
the same run on the same machine; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from recovery import Actor, CustomerProfile, OpenIncident, Recovery
from recovery.bootstrap import over_engine
from recovery.catalog import Catalog
from recovery.storage.database import create_db_engine

DESK = Actor(id="bench", role="front_desk")
NOTE = "Guest called again; confirmed the taxi to the replacement hotel at 18:30."


Runner = Callable[[int], None]


def _interleaved(runners: dict[str, Runner], n: int, rounds: int) -> dict[str, list[float]]:
    """Commands/s of each runner, rounds alternating between them so that a disturbance
    on this shared machine hits every contestant alike."""
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():
        run(max(n // 20, 20))  # warm caches and prepared statements
    for _ in range(rounds):
        for name, run in runners.items():
            started = time.perf_counter()
            run(n)
            rates[name].append(n / (time.perf_counter() - started))
    return rates


def _open(rec: Recovery) -> str:
    command = OpenIncident(
        incident_type="hotel.walked_guest",
        site="bench",
        customer=CustomerProfile(name="Bench Guest", member_since="2015-01-01"),
    )
    return rec.open(command, actor=DESK, channel="desk").id


def _sample_rows(rec: Recovery, incident_id: str) -> tuple[dict[str, Any], str]:
    """An event row and a state text exactly as the engine writes them, for the raw runs."""
    rec.add_note(incident_id, NOTE, actor=DESK, channel="desk")
    row = rec.log.raw_events(incident_id)[-1]
    state, _ = rec.log.load(incident_id)
    return row, state.to_json().decode()


def engine_runner(rec: Recovery) -> Runner:
    incident_id = _open(rec)

    def run(count: int) -> None:
        for _ in range(count):
            rec.add_note(incident_id, NOTE, actor=DESK, channel="desk")

    return run


_RAW_INSERT = (
    "INSERT INTO events (incident_id, seq, type, schema_version, playbook_id, playbook_version, "
    "actor, actor_role, channel, recorded_at, data, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RAW_UPDATE = (
    "UPDATE incidents SET status = ?, tier = ?, owner = ?, updated_at = ?, ended_at = ?, "
    "next_due_at = ?, pushes = ?, handoffs = ?, version = ?, head_hash = ?, state = ? "
    "WHERE id = ?"
)


def _raw_params(
    row: dict[str, Any], state: str, incident_id: str, seq: int
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    insert = (
        incident_id, seq, row["type"], row["schema_version"], row["playbook_id"],
        row["playbook_version"], row["actor"], row["actor_role"], row["channel"],
        row["recorded_at"], row["data"], row["prev_hash"], row["hash"],
    )  # fmt: skip
    update = (
        "open", 2, "bench", row["recorded_at"], None, row["recorded_at"], 0, 0, seq,
        row["hash"], state, incident_id,
    )  # fmt: skip
    return insert, update


def raw_sqlite_runner(
    path: str, row: dict[str, Any], state: str, incident_id: str, sync: str
) -> tuple[Runner, Callable[[], None]]:
    """Raw sqlite3 writing the same rows into the same (engine-migrated) tables."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute("PRAGMA foreign_keys=ON")
    row = {**row, "recorded_at": str(row["recorded_at"])}
    seq = itertools.count(10_000)

    def run(count: int) -> None:
        for _ in range(count):
            insert, update = _raw_params(row, state, incident_id, next(seq))
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_RAW_INSERT, insert)
            conn.execute(_RAW_UPDATE, update)
            conn.execute("COMMIT")

    return run, conn.close


def raw_pg_runner(
    url: str, row: dict[str, Any], state: str, incident_id: str
) -> tuple[Runner, Callable[[], None]]:
    """Raw psycopg writing the same rows into the same (engine-migrated) tables."""
    insert_sql = _RAW_INSERT.replace("?", "%s")
    update_sql = _RAW_UPDATE.replace("?", "%s")
    conn = psycopg.connect(url)
    seq = itertools.count(10_000)

    def run(count: int) -> None:
        for _ in range(count):
            insert, update = _raw_params(row, state, incident_id, next(seq))
            with conn.transaction():
                conn.execute(insert_sql, insert)
                conn.execute(update_sql, update)

    return run, conn.close


@functools.cache
def _peer_aggregate() -> Any:
    from eventsourcing.domain import Aggregate, event

    class Incident(Aggregate):
        def __init__(self) -> None:
            self.notes = 0

        @event("NoteAdded")
        def add_note(self, text: str) -> None:
            self.notes += 1

    return Incident


def peer_runner(env: dict[str, str]) -> tuple[Runner, Callable[[], None]]:
    """The peer: one aggregate, one event saved per command, at the library's defaults."""
    from eventsourcing.application import Application

    os.environ.update(env)
    app: Application = Application()
    incident = _peer_aggregate()()
    app.save(incident)

    def run(count: int) -> None:
        for _ in range(count):
            incident.add_note(NOTE)
            app.save(incident)

    def close() -> None:
        app.close()
        for key in env:
            os.environ.pop(key, None)

    return run, close


def _pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _report(title: str, rates: dict[str, list[float]], base: str) -> None:
    print(title)
    best_base = max(rates[base])
    median_base = statistics.median(rates[base])
    for name, values in rates.items():
        best, median = max(values), statistics.median(values)
        ratio = (
            ""
            if name == base
            else (f"  ratio best {best / best_base:4.2f}, median {median / median_base:4.2f}")
        )
        print(f"  {name:<44} best {best:7.0f}/s ({1e6 / best:5.0f} µs)  median {median:7.0f}/s"
              + ratio)  # fmt: skip


RAW = "raw driver: insert event + update state"
OURS = "recovery Python API (add_note)"
PEER = "eventsourcing Application.save (peer)"


def sqlite_rates(
    folder: str, sync: str, n: int, rounds: int, catalog: Catalog
) -> dict[str, list[float]]:
    """Commands/s per round of raw sqlite3, recovery and (at FULL) the peer."""
    path = f"{folder}/engine-{sync}.db"
    engine = create_db_engine(f"sqlite:///{path}", sqlite_synchronous=sync)
    rec = over_engine(engine, catalog)
    row, state = _sample_rows(rec, _open(rec))
    raw, close_raw = raw_sqlite_runner(path, row, state, _open(rec), sync)
    runners = {RAW: raw, OURS: engine_runner(rec)}
    closers = [close_raw]
    if sync == "full":
        peer, close_peer = peer_runner(
            {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(Path(folder) / f"peer-{uuid.uuid4().hex[:6]}.db"),
            }
        )
        runners[PEER] = peer
        closers.append(close_peer)
    try:
        return _interleaved(runners, n, rounds)
    finally:
        for close in closers:
            close()
        engine.dispose()


def pg_rates(base: str, n: int, rounds: int, catalog: Catalog) -> dict[str, list[float]]:
    """Commands/s per round of raw psycopg, recovery and the peer, in a scratch schema."""
    url, schema = _pg_schema_url(base)
    try:
        engine = create_db_engine(url)
        rec = over_engine(engine, catalog)
        row, state = _sample_rows(rec, _open(rec))
        raw, close_raw = raw_pg_runner(url, row, state, _open(rec))
        info = psycopg.conninfo.conninfo_to_dict(base)
        peer, close_peer = peer_runner(
            {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": str(info.get("dbname", "test")),
                "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
                "POSTGRES_PORT": str(info.get("port", "5432")),
                "POSTGRES_USER": str(info.get("user", "root")),
                "POSTGRES_PASSWORD": str(info.get("password", "")),
                "POSTGRES_SCHEMA": schema,
            }
        )
        try:
            return _interleaved({RAW: raw, OURS: engine_runner(rec), PEER: peer}, n, rounds)
        finally:
            close_raw()
            close_peer()
            engine.dispose()
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="commands per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per contestant")
    parser.add_argument(
        "--pg",
        default=os.environ.get("RECOVERY_TEST_PG_URL", "postgresql://root@127.0.0.1:5432/test"),
    )
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    catalog = Catalog.from_directory()
    print(
        f"commands of one event each; {args.rounds} interleaved rounds of {args.n}; "
        "ratio = recovery / raw driver"
    )
    with tempfile.TemporaryDirectory() as folder:
        for sync in ("full", "normal"):
            label = "the default" if sync == "full" else "RECOVERY_SQLITE_SYNCHRONOUS=normal"
            _report(
                f"SQLite, WAL, synchronous={sync.upper()} ({label})",
                sqlite_rates(folder, sync, args.n, args.rounds, catalog),
                RAW,
            )
    if not args.no_pg:
        _report(
            "PostgreSQL, one client, TCP loopback",
            pg_rates(args.pg, args.n, args.rounds, catalog),
            RAW,
        )


if __name__ == "__main__":
    main()


def pg_pre_ping_rates(base: str, n: int, rounds: int, catalog: Catalog) -> dict[str, list[float]]:
    """add_note/s with the pool testing each connection as it is checked out (the default)
    and without, alternating: the per-command cost of that round trip."""
    url, schema = _pg_schema_url(base)
    try:
        pinged = over_engine(create_db_engine(url), catalog)
        bare = over_engine(create_db_engine(url, pool_pre_ping=False), catalog)
        try:
            return _interleaved(
                {"pre-ping (default)": engine_runner(pinged), "no pre-ping": engine_runner(bare)},
                n,
                rounds,
            )
        finally:
            pinged.dispose()
            bare.dispose()
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
