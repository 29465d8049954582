"""PostgreSQL with several processes: commands/s of 8 processes, next to raw psycopg in
8 processes writing the same rows.

    python -m benchmarks.pg_parallel [--processes 8] [--seconds 5] [--rounds 3] [--pg URL]

- own incidents: each process runs `add_note` on its own incident; raw: each process
  updates its incident's row (`RETURNING` the new version) and inserts the event.
- one hot incident: every process runs `add_note` on the same incident; raw: each
  transaction takes the row `SELECT … FOR UPDATE`, inserts the event, updates the row.
Processes stay up between rounds (their connections warm); each round every process
starts at the same moment and counts the commands it finished in `--seconds`. Rounds
alternate between contestants. Tables live in a scratch schema, dropped after.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg

from benchmarks.commands import _RAW_INSERT, DESK, NOTE, _open, _sample_rows
from benchmarks.data import DEFAULT_PG, libpq, pg_schema
from recovery import Recovery
from recovery.bootstrap import over_engine
from recovery.catalog import Catalog
from recovery.storage.database import create_db_engine

CONTESTANTS = (
    "raw own",
    "recovery own",
    "raw hot FOR UPDATE",
    "recovery hot",
    "recovery hot, optimistic each time",
)

_UPDATE_RETURNING = (
    "UPDATE incidents SET updated_at = %s, version = version + 1, head_hash = %s, state = %s "
    "WHERE id = %s RETURNING version"
)
_LOCK = "SELECT version FROM incidents WHERE id = %s FOR UPDATE"
_UPDATE_AT = (
    "UPDATE incidents SET updated_at = %s, version = %s, head_hash = %s, state = %s WHERE id = %s"
)


def _worker(url: str, setup: dict[str, Any], index: int, jobs: Any, done: Any) -> None:
    """Runs (contestant, start, seconds) jobs until None; answers each with a count."""
    rec = over_engine(create_db_engine(url), Catalog.from_directory(), migrate=False)
    # as before lock-first: every command tries optimistically, then locks
    optimistic = over_engine(create_db_engine(url), Catalog.from_directory(), migrate=False)
    optimistic.unit_of_work.contended.window = 0
    conn = psycopg.connect(libpq(url))
    row, state = setup["row"], setup["state"]
    insert = _RAW_INSERT.replace("?", "%s")

    def event(iid: str, seq: int) -> tuple[Any, ...]:
        return (
            iid, seq, row["type"], row["schema_version"], row["playbook_id"],
            row["playbook_version"], row["actor"], row["actor_role"], row["channel"],
            row["recorded_at"], row["data"], row["prev_hash"], row["hash"],
        )  # fmt: skip

    def raw_own() -> None:
        iid = setup["raw_own"][index]
        with conn.transaction():
            seq = conn.execute(
                _UPDATE_RETURNING, (row["recorded_at"], row["hash"], state, iid)
            ).fetchone()[0]  # type: ignore[index]
            conn.execute(insert, event(iid, seq))

    def raw_hot() -> None:
        iid = setup["raw_hot"]
        with conn.transaction():
            seq = conn.execute(_LOCK, (iid,)).fetchone()[0] + 1  # type: ignore[index]
            conn.execute(insert, event(iid, seq))
            conn.execute(_UPDATE_AT, (row["recorded_at"], seq, row["hash"], state, iid))

    def ours(iid: str, rec: Recovery = rec) -> Callable[[], None]:
        return lambda: rec.add_note(iid, NOTE, actor=DESK, channel="desk") and None

    runs: dict[str, Callable[[], None]] = {
        "raw own": raw_own,
        "recovery own": ours(setup["ours_own"][index]),
        "raw hot FOR UPDATE": raw_hot,
        "recovery hot": ours(setup["ours_hot"]),
        "recovery hot, optimistic each time": ours(setup["ours_hot"], optimistic),
    }
    for run in runs.values():
        run()  # connections open, statements prepared
    done.put(0)  # ready
    while (job := jobs.get()) is not None:
        name, start, seconds = job
        run = runs[name]
        run()  # warm
        while time.time() < start:
            time.sleep(0.001)
        count, until = 0, start + seconds
        while time.time() < until:
            run()
            count += 1
        done.put(count)
    conn.close()
    rec.dispose()
    optimistic.dispose()


def measure(base: str, processes: int, seconds: float, rounds: int) -> dict[str, list[float]]:
    """Commands/s of all processes together, per round, for each contestant."""
    with pg_schema(base, "bench_parallel") as url:
        rec = over_engine(create_db_engine(url), Catalog.from_directory())
        row, state = _sample_rows(rec, _open(rec))
        setup = {
            "row": {**row, "recorded_at": row["recorded_at"]},
            "state": state,
            "raw_own": [_open(rec) for _ in range(processes)],
            "ours_own": [_open(rec) for _ in range(processes)],
            "raw_hot": _open(rec),
            "ours_hot": _open(rec),
        }
        rec.dispose()
        ctx = mp.get_context("spawn")
        jobs = [ctx.Queue() for _ in range(processes)]
        done = ctx.Queue()
        workers = [
            ctx.Process(target=_worker, args=(url, setup, i, jobs[i], done))
            for i in range(processes)
        ]
        for w in workers:
            w.start()
        for _ in workers:
            done.get(timeout=300)
        rates: dict[str, list[float]] = {name: [] for name in CONTESTANTS}
        try:
            for _ in range(rounds):
                for name in CONTESTANTS:
                    start = time.time() + 2.0  # every process warmed and waiting
                    for q in jobs:
                        q.put((name, start, seconds))
                    total = sum(done.get(timeout=seconds + 120) for _ in workers)
                    rates[name].append(total / seconds)
        finally:
            for q in jobs:
                q.put(None)
            for w in workers:
                w.join(timeout=30)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=DEFAULT_PG)
    args = parser.parse_args()
    rates = measure(args.pg, args.processes, args.seconds, args.rounds)
    print(f"PostgreSQL, {args.processes} processes, {args.rounds} alternating rounds of "
          f"{args.seconds:g} s; commands/s of all processes together (median)")  # fmt: skip
    for ours, raw in (
        ("recovery own", "raw own"),
        ("recovery hot", "raw hot FOR UPDATE"),
        ("recovery hot, optimistic each time", "raw hot FOR UPDATE"),
    ):
        ratios = [o / r for o, r in zip(rates[ours], rates[raw], strict=True)]
        print(f"  {raw:<20} {statistics.median(rates[raw]):7.0f}/s")
        print(f"  {ours:<20} {statistics.median(rates[ours]):7.0f}/s  "
              f"ratio {statistics.median(ratios):.2f} (rounds: "
              f"{', '.join(f'{x:.2f}' for x in ratios)})")  # fmt: skip


def rows(base: str, seconds: float, rounds: int, row: Callable[..., Any]) -> list[Any]:
    """The benchmark table's rows (see `benchmarks.__main__`)."""
    rates = measure(base, 8, seconds, rounds)
    out = [
        row("pg", "8 processes, own incidents", 0.7, rates["recovery own"], rates["raw own"],
            "/s"),
        row("pg", "8 processes, one hot incident", 0.7, rates["recovery hot"],
            rates["raw hot FOR UPDATE"], "/s", of="raw FOR UPDATE"),
        row("pg", "  the same, optimistic each time (before)", 0.7,
            rates["recovery hot, optimistic each time"], rates["raw hot FOR UPDATE"], "/s",
            of="raw FOR UPDATE"),
    ]  # fmt: skip
    out[-1].ok = None  # the comparison: what lock-first changed, measured alongside
    return out


if __name__ == "__main__":
    main()
