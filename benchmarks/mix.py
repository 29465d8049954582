"""A day's mix of commands over many incidents, next to raw sqlite3 writing the same rows.

    python -m benchmarks.mix [--incidents 10000] [--rounds 5] [--sync full|normal]

Each incident lives a walked guest's story, in 8 commands: opened with the whole bundle
(customer profile with contact, segment, order value and language, cues, both summaries,
reservation number, owner), apology and rebooking completed with their evidence, a payment
over the desk's limit asked for and granted by a manager, then completed with its amount,
a note, and dinner completed. The commands of all incidents are shuffled together (each
incident's in its order), so a command mostly misses the 4,096 incidents the process
remembers: it reads and parses the state row, as a busy site's would. A run over fewer
incidents scales that memory down alike (`python -m benchmarks --quick`: 2,000 and 819).

The raw contestant is one sqlite3 connection at the same durability writing, for each
command recovery recorded, the same rows in one `BEGIN IMMEDIATE` transaction: the event,
the incident row (inserted with its search terms on opening, else updated), the outbox
rows. It reads nothing and decides nothing. Rounds alternate: recovery runs a slice of the
mix, then raw writes what that slice recorded (copied out of recovery's file, not timed).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from recovery import Actor, CustomerProfile, OpenIncident, Recovery
from recovery.bootstrap import over_engine
from recovery.catalog import Catalog
from recovery.service.unit_of_work import Snapshots
from recovery.storage.database import create_db_engine

DESK = Actor(id="desk.anna", role="front_desk")
MANAGER = Actor(id="manager.bo", role="manager")
STEPS = 8
SNAPSHOTS = 4096  # incidents a process remembers (`service.unit_of_work.Snapshots`)
SEGMENTS = ["gold", "silver", "member", None]

Command = Callable[[Recovery, list[str]], None]


def _open(n: int) -> Command:
    def run(rec: Recovery, ids: list[str]) -> None:
        command = OpenIncident(
            incident_type="hotel.walked_guest",
            site=f"site-{n % 20:02d}",
            customer=CustomerProfile(
                name=f"Guest {n} Hansen",
                contact=f"guest{n}@example.com",
                member_since="2015-03-01",
                segment=SEGMENTS[n % 4],
                order_value=420 + n % 500,
                language="da" if n % 3 else "en",
            ),
            cues=["angry"] if n % 2 else ["quiet"],
            summary="Reservation lost; no room on arrival at 22:10.",
            customer_summary="We had no room for you when you arrived.",
            external_ref=f"RES-{n:08d}",
            owner=DESK.id,
        )
        ids[n] = rec.open(command, actor=DESK, channel="desk").id

    return run


def _step(n: int, k: int) -> Command:
    """The k-th command (1..7) of incident n's story."""

    def run(rec: Recovery, ids: list[str]) -> None:
        iid = ids[n]
        kw: dict[str, Any] = {"actor": DESK, "channel": "desk"}
        if k == 1:
            rec.act_on_step(iid, "apologise", "complete", evidence={"apology_by": "Anna"}, **kw)
        elif k == 2:
            evidence = {"hotel": "Hotel Nord", "distance_km": 1.2}
            rec.act_on_step(iid, "rebook_local", "complete", evidence=evidence, **kw)
        elif k == 3:
            rec.request_approval(iid, "pay_room", 450, **kw)
        elif k == 4:
            rec.grant_approval(iid, "pay_room", actor=MANAGER, channel="desk")
        elif k == 5:
            evidence = {"amount": 450, "reference": f"PAY-{n}"}
            rec.act_on_step(iid, "pay_room", "complete", evidence=evidence, **kw)
        elif k == 6:
            rec.add_note(iid, "Guest calmer; taxi to the replacement hotel booked 22:40.", **kw)
        else:
            evidence = {"amount": 60, "restaurant": "Bistro Havn"}
            rec.act_on_step(iid, "dinner", "complete", evidence=evidence, **kw)

    return run


def schedule(incidents: int, seed: int = 15) -> list[Command]:
    """Every incident's story, shuffled together; each story stays in its order."""
    rng = random.Random(seed)
    slots = [n for n in range(incidents) for _ in range(STEPS)]
    rng.shuffle(slots)
    done = [0] * incidents
    out: list[Command] = []
    for n in slots:
        k = done[n]
        done[n] += 1
        out.append(_open(n) if k == 0 else _step(n, k))
    return out


class RawCopy:
    """Writes, for each event recovery recorded since the last call, the same rows into
    another file in one transaction per event, the way a hand-written app would."""

    def __init__(self, source: str, target: str, sync: str) -> None:
        self._src = sqlite3.connect(source)
        self._dst = sqlite3.connect(target, isolation_level=None)
        self._dst.execute("PRAGMA journal_mode=WAL")
        self._dst.execute(f"PRAGMA synchronous={sync}")
        self._dst.execute("PRAGMA foreign_keys=ON")
        self._last = ""
        self._last_outbox = 0
        self._done: set[tuple[str, int]] = set()
        self._columns = {
            table: [r[1] for r in self._src.execute(f"PRAGMA table_info({table})")]
            for table in ("events", "incidents", "outbox", "search_terms")
        }
        self._columns["outbox"].remove("id")  # numbered by the database
        self._columns["search_terms"] = [
            c for c in self._columns["search_terms"] if c in ("incident_id", "term", "site")
        ]

    def _sql(self, table: str) -> str:
        cols = self._columns[table]
        return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"

    def _rows(self, table: str, where: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        cols = ", ".join(self._columns[table])
        return self._src.execute(f"SELECT {cols} FROM {table} WHERE {where}", params).fetchall()

    def prepare(self) -> list[tuple[str, list[tuple[str, Any]]]]:
        """The statements of each transaction to come (read out of recovery's file)."""
        src = self._src
        cols = self._columns["events"]
        events = src.execute(  # in the order recorded (one writer: the times increase)
            f"SELECT {', '.join(cols)} FROM events WHERE recorded_at >= ? "
            "ORDER BY recorded_at, incident_id, seq",
            (self._last,),
        ).fetchall()
        incident_cols = self._columns["incidents"]
        update = (
            f"UPDATE incidents SET {', '.join(f'{c} = ?' for c in incident_cols[1:])} WHERE id = ?"
        )
        # in bulk: neither table has an index by incident (nothing else reads them so)
        outbox: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
        for o in self._src.execute(
            f"SELECT id, {', '.join(self._columns['outbox'])} FROM outbox WHERE id > ?",
            (self._last_outbox,),
        ):
            self._last_outbox = max(self._last_outbox, o[0])
            outbox.setdefault((o[1], o[2]), []).append(o[1:])
        opened = {e[0] for e in events if e[1] == 1}
        terms: dict[str, list[tuple[Any, ...]]] = {}
        for t in self._src.execute("SELECT incident_id, term, site FROM search_terms"):
            if t[0] in opened:
                terms.setdefault(t[0], []).append(t)
        plan = []
        for event in events:
            iid, seq = event[0], event[1]
            if (iid, seq) in self._done:
                continue
            self._done.add((iid, seq))
            self._last = event[cols.index("recorded_at")]
            incident = self._rows("incidents", "id = ?", (iid,))[0]
            messages = outbox.get((iid, seq), [])
            steps: list[tuple[str, Any]] = []
            if seq == 1:
                steps.append((self._sql("incidents"), incident))
                steps.append(("many:" + self._sql("search_terms"), terms.get(iid, [])))
            else:
                steps.append((update, (*incident[1:], iid)))
            steps.append((self._sql("events"), tuple(event)))
            if messages:
                steps.append(("many:" + self._sql("outbox"), messages))
            plan.append((iid, steps))
        return plan

    def run(self, plan: list[tuple[str, list[tuple[str, Any]]]]) -> None:
        execute, many = self._dst.execute, self._dst.executemany
        for _iid, steps in plan:
            execute("BEGIN IMMEDIATE")
            for sql, params in steps:
                if sql.startswith("many:"):
                    many(sql[5:], params)
                else:
                    execute(sql, params)
            execute("COMMIT")

    def close(self) -> None:
        self._src.close()
        self._dst.close()


def remembered(incidents: int) -> int:
    """The process's memory of incidents scaled as 4,096 is to 10,000 (so a smaller run
    misses it as often)."""
    return max(16, round(SNAPSHOTS * incidents / 10_000))


def sqlite_rounds(
    folder: str, incidents: int, rounds: int, catalog: Catalog, sync: str = "full"
) -> dict[str, list[float]]:
    """Commands/s per round, recovery and raw, the rounds alternating."""
    ours_path, raw_path = f"{folder}/mix-recovery.db", f"{folder}/mix-raw.db"
    engine = create_db_engine(f"sqlite:///{ours_path}", sqlite_synchronous=sync)
    rec = over_engine(engine, catalog)
    if incidents < 10_000:
        rec.unit_of_work.snapshots = Snapshots(remembered(incidents))
    over_engine(create_db_engine(f"sqlite:///{raw_path}"), catalog).dispose()  # its tables
    raw = RawCopy(ours_path, raw_path, sync)
    commands = schedule(incidents)
    ids = [""] * incidents
    size = -(-len(commands) // rounds)
    out: dict[str, list[float]] = {"ours": [], "raw": [], "commands": []}
    try:
        for low in range(0, len(commands), size):
            part = commands[low : low + size]
            started = time.perf_counter()
            for command in part:
                command(rec, ids)
            out["ours"].append(len(part) / (time.perf_counter() - started))
            plan = raw.prepare()
            started = time.perf_counter()
            raw.run(plan)
            out["raw"].append(len(plan) / (time.perf_counter() - started))
            out["commands"].append(float(len(part)))
    finally:
        raw.close()
        rec.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--incidents",
        type=int,
        default=10_000,
        help="below 10,000 the process remembers proportionally fewer (4,096 at 10,000)",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sync", choices=["full", "normal"], default="full")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        r = sqlite_rounds(folder, args.incidents, args.rounds, Catalog.from_directory(), args.sync)
    ratios = [o / b for o, b in zip(r["ours"], r["raw"], strict=True)]
    print(f"mix of {args.incidents * STEPS:,} commands over {args.incidents:,} incidents, "
          f"SQLite synchronous={args.sync.upper()}, {args.rounds} alternating rounds")  # fmt: skip
    print(f"  raw sqlite3, same rows   median {statistics.median(r['raw']):7.0f}/s")
    print(f"  recovery Python API      median {statistics.median(r['ours']):7.0f}/s")
    print(f"  ratio per round: {', '.join(f'{x:.2f}' for x in ratios)}; "
          f"median {statistics.median(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
