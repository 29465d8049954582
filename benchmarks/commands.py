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
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from recovery import Actor, CustomerProfile, OpenIncident, Recovery
from recovery.catalog import Catalog
from recovery.storage.database import create_db_engine

DESK = Actor(id="bench", role="front_desk")
NOTE = "Guest called again; confirmed the taxi to the replacement hotel at 18:30."


def _rate(run: Callable[[int], None], n: int, rounds: int = 3) -> float:
    """Best-of-rounds commands/s (the least disturbed round on a shared machine)."""
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        run(n)
        rates.append(n / (time.perf_counter() - started))
    return max(rates)


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
    row = rec.store.raw_events(incident_id)[-1]
    state, _ = rec.store.load(incident_id)
    return row, state.to_json().decode()


def bench_engine(rec: Recovery, n: int) -> float:
    incident_id = _open(rec)

    def run(count: int) -> None:
        for _ in range(count):
            rec.add_note(incident_id, NOTE, actor=DESK, channel="desk")

    run(50)  # warm caches and prepared statements
    return _rate(run, n)


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
        incident_id,
        seq,
        row["type"],
        row["schema_version"],
        row["playbook_id"],
        row["playbook_version"],
        row["actor"],
        row["actor_role"],
        row["channel"],
        row["recorded_at"],
        row["data"],
        row["prev_hash"],
        row["hash"],
    )
    update = (
        "open",
        2,
        "bench",
        row["recorded_at"],
        None,
        row["recorded_at"],
        0,
        0,
        seq,
        row["hash"],
        state,
        incident_id,
    )
    return insert, update


def bench_raw_sqlite(
    path: str, row: dict[str, Any], state: str, incident_id: str, n: int, sync: str
) -> float:
    """Raw sqlite3 writing the same rows into the same (engine-migrated) tables."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute("PRAGMA foreign_keys=ON")
    row = {**row, "recorded_at": str(row["recorded_at"])}
    seq = [10_000]

    def run(count: int) -> None:
        for _ in range(count):
            seq[0] += 1
            insert, update = _raw_params(row, state, incident_id, seq[0])
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_RAW_INSERT, insert)
            conn.execute(_RAW_UPDATE, update)
            conn.execute("COMMIT")

    run(50)
    rate = _rate(run, n)
    conn.close()
    return rate


def bench_raw_pg(url: str, row: dict[str, Any], state: str, incident_id: str, n: int) -> float:
    """Raw psycopg writing the same rows into the same (engine-migrated) tables."""
    insert_sql = _RAW_INSERT.replace("?", "%s")
    update_sql = _RAW_UPDATE.replace("?", "%s")
    with psycopg.connect(url) as conn:
        seq = [10_000]

        def run(count: int) -> None:
            for _ in range(count):
                seq[0] += 1
                insert, update = _raw_params(row, state, incident_id, seq[0])
                with conn.transaction():
                    conn.execute(insert_sql, insert)
                    conn.execute(update_sql, update)

        run(50)
        return _rate(run, n)


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


def bench_eventsourcing(env: dict[str, str], n: int) -> float:
    """The peer: one aggregate, one event saved per command, at the library's defaults."""
    from eventsourcing.application import Application

    Incident = _peer_aggregate()
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        app: Application = Application()
        incident = Incident()
        app.save(incident)

        def run(count: int) -> None:
            for _ in range(count):
                incident.add_note(NOTE)
                app.save(incident)

        run(50)
        rate = _rate(run, n)
        app.close()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return rate


def _pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _line(name: str, rate: float, base: float | None = None) -> str:
    ratio = f"{rate / base:6.2f}" if base else "      "
    return f"  {name:<46} {rate:9.0f} commands/s  {1e6 / rate:8.0f} µs  {ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="commands per round")
    parser.add_argument(
        "--pg",
        default=os.environ.get("RECOVERY_TEST_PG_URL", "postgresql://root@127.0.0.1:5432/test"),
    )
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    catalog = Catalog.from_directory()
    print(f"commands of one event each, best of 3 rounds of {args.n}; ratio = vs raw driver")

    with tempfile.TemporaryDirectory() as folder:
        for sync in ("full", "normal"):
            print(
                f"SQLite, WAL, synchronous={sync.upper()}"
                + (" (the default)" if sync == "full" else " (RECOVERY_SQLITE_SYNCHRONOUS=normal)")
            )
            engine = create_db_engine(
                f"sqlite:///{folder}/engine-{sync}.db", sqlite_synchronous=sync
            )
            rec = Recovery(engine, catalog)
            row, state = _sample_rows(rec, _open(rec))
            raw = bench_raw_sqlite(
                f"{folder}/engine-{sync}.db", row, state, _open(rec), args.n, sync
            )
            ours = bench_engine(rec, args.n)
            print(_line("raw sqlite3 (insert event + update state)", raw))
            print(_line("recovery Python API (add_note)", ours, raw))
            if sync == "full":
                peer = bench_eventsourcing(
                    {
                        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                        "SQLITE_DBNAME": str(Path(folder) / "peer.db"),
                    },
                    args.n,
                )
                print(_line("eventsourcing Application.save (peer)", peer, raw))
            engine.dispose()

    if args.no_pg:
        return
    print("PostgreSQL, one client, TCP loopback")
    url, schema = _pg_schema_url(args.pg)
    try:
        engine = create_db_engine(url)
        rec = Recovery(engine, catalog)
        row, state = _sample_rows(rec, _open(rec))
        raw = bench_raw_pg(url, row, state, _open(rec), args.n)
        ours = bench_engine(rec, args.n)
        info = psycopg.conninfo.conninfo_to_dict(args.pg)
        peer = bench_eventsourcing(
            {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": str(info.get("dbname", "test")),
                "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
                "POSTGRES_PORT": str(info.get("port", "5432")),
                "POSTGRES_USER": str(info.get("user", "root")),
                "POSTGRES_PASSWORD": str(info.get("password", "")),
                "POSTGRES_SCHEMA": schema,
            },
            args.n,
        )
        print(_line("raw psycopg (insert event + update state)", raw))
        print(_line("recovery Python API (add_note)", ours, raw))
        print(_line("eventsourcing Application.save (peer)", peer, raw))
        engine.dispose()
    finally:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
