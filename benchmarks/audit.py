"""Audit speed: verify + replay events/s next to a raw read + sha256 fold of the same rows.

    python -m benchmarks.audit [--events 1000000] [--db sqlite|pg] [--pg URL] [--keep PATH]

1. Generates a database of at least `--events` valid events (not timed): one incident per
   shipped playbook is recorded through the real engine (the templates), then cloned under
   new ids with every event re-chained (hashes recomputed), and bulk inserted.
2. Measures, each in a fresh process so its peak memory (max RSS) is its own:
   - raw:      the driver reads every event row ordered by (incident_id, seq) and folds
               the sha256 chain (the same canonical header + data bytes), nothing else;
   - raw+json: the same, parsing each event's JSON data too (the DESIGN notes' measure);
   - verify:   `Auditor.results()`, as `recovery audit verify --all` runs it (one
               process per core): chains, head pointers, and a strict replay of every
               incident through its pinned playbook compared with the stored state;
   - export:   `recovery audit export --format jsonl` to /dev/null.
   Each round runs the four in turn; the verify/raw ratio is the median of the rounds'
   ratios (a shared machine's load moves absolute figures much more than paired ratios).
   CPU seconds of the measuring processes are shown too, so the per-core cost can be
   compared (on PostgreSQL they leave out the server's work); peak memory is that of the
   largest process. Targets: verify >= 0.5 of raw, verify peak < 300 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg

from recovery import Actor, CustomerProfile, OpenIncident, Recovery, RecoveryError
from recovery.bootstrap import over_engine
from recovery.catalog import Catalog
from recovery.domain.chain import GENESIS, event_hash
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import EVENT_FIELDS
from recovery.storage.database import create_db_engine, normalise_url
from recovery.storage.moments import from_column

MANAGER = Actor(id="bench.manager", role="manager")
JOBS = os.cpu_count() or 1  # what `recovery audit verify --all` uses by default
DEFAULT_PG = "postgresql://root@127.0.0.1:5432/test"
TARGET_RATIO = 0.5
TARGET_PEAK_MB = 300


# ---------------------------------------------------------------------------- templates


def _evidence(compiled: CompiledPlaybook, step: str, action: str) -> dict[str, Any]:
    """Evidence that passes each field's rules: the smallest allowed value of each."""
    out: dict[str, Any] = {}
    for f in compiled.evidence_for(step, action):
        if f.type in ("number", "money"):
            out[f.name] = f.min if f.min is not None and f.min > 0 else 1
        elif f.type == "bool":
            out[f.name] = False
        elif f.type == "choice":
            out[f.name] = (f.choices or ["x"])[0]
        elif f.type == "date":
            out[f.name] = "2026-07-04"
        else:
            out[f.name] = f"bench {f.name}"
    return out


def record_templates(rec: Recovery) -> list[str]:
    """One incident per shipped playbook, recorded through the engine: opened, its steps
    acted on as the playbook allows (an action the domain refuses is skipped), notes and
    contacts in between, then closed if it may be."""
    ids = []
    for compiled in rec.catalog.latest():
        incident_type = compiled.playbook.incident_types[0]
        command = OpenIncident(
            incident_type=incident_type,
            site="bench-site",
            customer=CustomerProfile(name="Bench Customer", member_since="2015-03-01"),
            summary="a benchmark incident",
            playbook=compiled.playbook.id,
        )
        view = rec.open(command, actor=MANAGER, channel="desk").incident
        tried: set[str] = set()
        acted = 0
        while True:
            choices = [
                a
                for a in view.allowed
                if "." in a and a.split(".")[1] in ("complete", "draft", "send") and a not in tried
            ]
            if not choices:
                break
            action = choices[0]
            tried.add(action)
            step, name = action.split(".")
            try:
                view = rec.act_on_step(
                    view.id,
                    step,
                    name,
                    evidence=_evidence(compiled, step, name),
                    actor=MANAGER,
                    channel="desk",
                ).incident
            except RecoveryError:
                continue
            acted += 1
            if acted % 2 == 0:
                view = rec.add_note(view.id, f"progress note {acted}", actor=MANAGER).incident
                view = rec.record_contact(
                    view.id, "phone", "outbound", "customer updated", actor=MANAGER
                ).incident
        try:
            rec.close(view.id, "benchmark story done", actor=MANAGER)
        except RecoveryError:
            rec.add_note(view.id, "left open", actor=MANAGER)
        ids.append(view.id)
    return ids


# ---------------------------------------------------------------------------- cloning


class Template:
    """An incident's rows, ready to be cloned under another id with its chain recomputed."""

    def __init__(self, rec: Recovery, incident_id: str) -> None:
        self.id = incident_id
        self.events = [
            {**row, "recorded_at": from_column(row["recorded_at"])}
            for row in rec.log.raw_events(incident_id)
        ]
        with rec.storage.engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT * FROM incidents WHERE id = " + ("%s" if _pg(rec) else "?"),
                (incident_id,),
            ).one()
        self.incident = dict(row._mapping)
        assert all(self.id not in e["data"] for e in self.events)

    def clone(self, new_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        prev = GENESIS
        events = []
        for e in self.events:
            digest = event_hash(
                prev,
                new_id,
                e["seq"],
                e["type"],
                e["schema_version"],
                e["playbook_id"],
                e["playbook_version"],
                e["actor"],
                e["actor_role"],
                e["channel"],
                e["recorded_at"],
                e["data"].encode(),
            )
            events.append({**e, "incident_id": new_id, "prev_hash": prev, "hash": digest})
            prev = digest
        incident = {
            **self.incident,
            "id": new_id,
            "head_hash": prev,
            "state": self.incident["state"].replace(self.id, new_id),
        }
        return incident, events


def _pg(rec: Recovery) -> bool:
    return rec.storage.engine.dialect.name == "postgresql"


def clones(templates: list[Template], events: int) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    """Clones of the templates in turn until `events` events are made."""
    made = n = 0
    while made < events:
        incident, rows = templates[n % len(templates)].clone(f"inc_{uuid.UUID(int=n).hex}")
        made += len(rows)
        n += 1
        yield incident, rows


def _sqlite_moment(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, str) and value.endswith("Z"):
        return f"{value[:10]} {value[11:26]}"
    return value


def load_sqlite(path: str, templates: list[Template], events: int) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    incident_columns = list(templates[0].incident)
    insert_incident = (
        f"INSERT INTO incidents ({', '.join(incident_columns)}) "
        f"VALUES ({', '.join('?' * len(incident_columns))})"
    )
    insert_event = (
        f"INSERT INTO events ({', '.join(EVENT_FIELDS)}) "
        f"VALUES ({', '.join('?' * len(EVENT_FIELDS))})"
    )
    n_incidents = n_events = 0
    batch_incidents: list[tuple[Any, ...]] = []
    batch_events: list[tuple[Any, ...]] = []

    def flush() -> None:
        conn.executemany(insert_incident, batch_incidents)
        conn.executemany(insert_event, batch_events)
        conn.commit()
        batch_incidents.clear()
        batch_events.clear()

    for incident, rows in clones(templates, events):
        batch_incidents.append(tuple(_sqlite_moment(incident[c]) for c in incident_columns))
        batch_events.extend(
            tuple(_sqlite_moment(r[c]) if c == "recorded_at" else r[c] for c in EVENT_FIELDS)
            for r in rows
        )
        n_incidents += 1
        n_events += len(rows)
        if len(batch_events) >= 50_000:
            flush()
    flush()
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return n_incidents, n_events


def load_pg(url: str, templates: list[Template], events: int) -> tuple[int, int]:
    incident_columns = list(templates[0].incident)
    n_incidents = n_events = 0
    with psycopg.connect(url) as conn:
        pending: list[tuple[dict[str, Any], list[Any]]] = []

        def flush() -> None:
            with conn.cursor() as cur:
                with cur.copy(f"COPY incidents ({', '.join(incident_columns)}) FROM STDIN") as cp:
                    for incident, _ in pending:
                        cp.write_row([incident[c] for c in incident_columns])
                with cur.copy(f"COPY events ({', '.join(EVENT_FIELDS)}) FROM STDIN") as cp:
                    for _, rows in pending:
                        for r in rows:
                            cp.write_row([r[c] for c in EVENT_FIELDS])
            conn.commit()
            pending.clear()

        for incident, rows in clones(templates, events):
            pending.append((incident, rows))
            n_incidents += 1
            n_events += len(rows)
            if len(pending) >= 5000:
                flush()
        flush()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE incidents")
        conn.execute("VACUUM ANALYZE events")
    return n_incidents, n_events


def generate(url: str, events: int) -> dict[str, Any]:
    started = time.perf_counter()
    engine = create_db_engine(url, sqlite_synchronous="normal")
    rec = over_engine(engine, Catalog.from_directory())
    templates = [Template(rec, i) for i in record_templates(rec)]
    engine.dispose()
    per = [len(t.events) for t in templates]
    if url.startswith("sqlite"):
        made = load_sqlite(url.removeprefix("sqlite:///"), templates, events - sum(per))
    else:
        made = load_pg(_libpq(url), templates, events - sum(per))
    return {
        "incidents": made[0] + len(templates),
        "events": made[1] + sum(per),
        "templates": {t.incident["playbook_id"]: len(t.events) for t in templates},
        "seconds": round(time.perf_counter() - started, 1),
    }


def _libpq(url: str) -> str:
    return normalise_url(url).replace("postgresql+psycopg://", "postgresql://")


# ---------------------------------------------------------------------------- measures


_RAW_SQL = (
    "SELECT incident_id, seq, type, schema_version, playbook_id, playbook_version, actor, "
    "actor_role, channel, {at}, data, prev_hash, hash FROM events ORDER BY incident_id, seq"
)
_PG_AT = "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


def _fold(rows: Iterator[Any], parse: bool = False) -> tuple[int, int]:
    """The sha256 chain fold over raw rows: recompute each hash, check links and hashes
    (and, with `parse`, parse each event's JSON data too: the DESIGN notes' measure)."""
    sha256, dumps, loads = hashlib.sha256, orjson.dumps, orjson.loads
    count = bad = 0
    current = None
    prev = GENESIS
    for incident, seq, type_, schema, pb, pb_v, actor, role, channel, at, data, link, h in rows:
        if incident != current:
            current, prev = incident, GENESIS
        if len(at) == 26:  # SQLite's stored text form
            at = f"{at[:10]}T{at[11:]}Z"
        digest = sha256(
            dumps([prev, incident, seq, type_, schema, pb, pb_v, actor, role, channel, at])
            + b"\n"
            + data.encode()
        ).hexdigest()
        if digest != h or link != prev:
            bad += 1
        if parse:
            loads(data)
        prev = digest
        count += 1
    return count, bad


def _cpu() -> float:
    """CPU seconds of this process and of its finished worker processes."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class _Clock:
    """Wall-clock and CPU seconds (this process and its workers) since it started."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), _cpu()

    def seconds(self) -> dict[str, float]:
        return {"seconds": time.perf_counter() - self.wall, "cpu_seconds": _cpu() - self.cpu}


def measure_raw(url: str, parse: bool = False) -> dict[str, Any]:
    clock = _Clock()
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        cur = conn.cursor()
        cur.arraysize = 2000
        cur.execute(_RAW_SQL.format(at="recorded_at"))
        count, bad = _fold(_batches(cur), parse)
        conn.close()
    else:
        with psycopg.connect(_libpq(url)) as pg:
            named = pg.cursor(name="raw_fold")
            named.itersize = 2000
            named.execute(_RAW_SQL.format(at=_PG_AT))  # type: ignore[arg-type]
            count, bad = _fold(iter(named), parse)
    assert bad == 0, f"{bad} rows did not verify in the raw fold"
    return {"events": count, **clock.seconds()}


def _batches(cur: Any) -> Iterator[Any]:
    while rows := cur.fetchmany():
        yield from rows


def measure_raw_parse(url: str) -> dict[str, Any]:
    return measure_raw(url, parse=True)


def measure_verify(url: str) -> dict[str, Any]:
    """What `recovery audit verify --all` runs: `Auditor.results()` over every incident."""
    engine = create_db_engine(url)
    auditor = over_engine(engine, Catalog.from_directory()).auditor()
    clock = _Clock()
    events = incidents = broken = 0
    for result in auditor.results(jobs=JOBS):
        events += result.events
        incidents += 1
        broken += not result.ok
    took = clock.seconds()
    engine.dispose()
    assert broken == 0, f"{broken} incidents did not verify"
    return {"events": events, "incidents": incidents, **took}


def measure_export(url: str) -> dict[str, Any]:
    engine = create_db_engine(url)
    rec = over_engine(engine, Catalog.from_directory())
    clock = _Clock()
    with open(os.devnull, "wb") as out:
        summary = rec.export_events(out, "jsonl")
    took = clock.seconds()
    engine.dispose()
    return {"events": summary.events, **took}


MEASURES = {
    "raw": measure_raw,
    "raw+json": measure_raw_parse,
    "verify": measure_verify,
    "export": measure_export,
}
ORDER = ("raw", "raw+json", "verify", "export")


def run_child(measure: str, url: str) -> dict[str, Any]:
    """One measure in a fresh interpreter: its max RSS is that measure's alone."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.audit", "--measure", measure, "--url", url],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{measure} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["rate"] = result["events"] / result["seconds"]
    result["cpu_rate"] = result["events"] / result["cpu_seconds"]
    return result


def _child(measure: str, url: str) -> None:
    result = MEASURES[measure](url)
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,  # the largest worker
    )
    result["peak_mb"] = peak_kb / 1024
    print(json.dumps(result))


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "pg"), default="sqlite")
    parser.add_argument("--pg", default=os.environ.get("RECOVERY_TEST_PG_URL", DEFAULT_PG))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", help="SQLite file to create and keep (default: a temp file)")
    parser.add_argument("--measure", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        _child(args.measure, args.url)
        return

    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        schema = None
        if args.db == "sqlite":
            path = Path(args.keep) if args.keep else Path(tmp) / "audit.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        else:
            schema = f"bench_audit_{os.getpid()}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[arg-type]
            sep = "&" if "?" in args.pg else "?"
            url = f"{args.pg}{sep}options=-csearch_path%3D{schema}"
        try:
            _run(url, args)
        finally:
            if schema is not None:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[arg-type]


def _run(url: str, args: argparse.Namespace) -> None:
    print(f"generating >= {args.events:,} events on {args.db} ...", flush=True)
    made = generate(url, args.events)
    print(
        f"  {made['events']:,} events in {made['incidents']:,} incidents "
        f"(templates, events each: {made['templates']}) in {made['seconds']} s",
        flush=True,
    )
    if args.rounds < 1:
        return
    rounds: list[dict[str, dict[str, Any]]] = []
    for n in range(1, args.rounds + 1):
        got = {measure: run_child(measure, url) for measure in ORDER}
        rounds.append(got)
        ratio = got["verify"]["rate"] / got["raw"]["rate"]
        print(
            f"  round {n}: "
            + ", ".join(f"{m} {got[m]['rate']:,.0f}/s" for m in ORDER)
            + f"; verify/raw {ratio:.2f} (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    best = {m: max((r[m] for r in rounds), key=lambda g: g["rate"]) for m in ORDER}
    best_cpu = {m: max(r[m]["cpu_rate"] for r in rounds) for m in ORDER}
    paired = statistics.median(r["verify"]["rate"] / r["raw"]["rate"] for r in rounds)
    paired_json = statistics.median(r["verify"]["rate"] / r["raw+json"]["rate"] for r in rounds)
    cpu_ratio = best_cpu["verify"] / best_cpu["raw"]
    peak = max(r["verify"]["peak_mb"] for r in rounds)

    print()
    print(f"database {args.db}: {made['events']:,} events in {made['incidents']:,} incidents")
    print(f"  {'best of ' + str(args.rounds):<30} {'wall':>13} {'CPU, all processes':>20}  peak")
    labels = {
        "raw": "raw read + sha256 fold",
        "raw+json": "raw read + JSON parse + fold",
        "verify": "verify + replay (audit verify)",
        "export": "export jsonl",
    }
    for m in ORDER:
        print(
            f"  {labels[m]:<30} {best[m]['rate']:>10,.0f}/s {best_cpu[m]:>17,.0f}/s  "
            f"{max(r[m]['peak_mb'] for r in rounds):.0f} MB"
        )
    print(f"  verify runs as `recovery audit verify --all` does: {JOBS} process(es), one a core")
    print(
        f"  verify/raw: {paired:.2f} wall (median of paired rounds), {cpu_ratio:.2f} CPU; "
        f"verify/(raw + JSON parse): {paired_json:.2f} wall"
    )
    met = "met" if paired >= TARGET_RATIO else "MISSED"
    print(
        f"  target verify/raw >= {TARGET_RATIO}: {met}; verify peak {peak:.0f} MB "
        f"({'met' if peak < TARGET_PEAK_MB else 'MISSED'} < {TARGET_PEAK_MB} MB)"
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    python = sys.version.split()[0]
    print(f"  measured {stamp}, {os.cpu_count()} cores, Python {python}")


if __name__ == "__main__":
    main()
