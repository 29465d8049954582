"""Report speed and memory over many incidents, on SQLite and PostgreSQL.

    python -m benchmarks.reports --incidents 100000 [--db sqlite|pg|both] [--json]
    python -m benchmarks.reports --incidents 1000000       # the 1M figure (~3 GB SQLite file)

1. Makes the data (not timed): one incident per shipped playbook is recorded through the
   engine (`benchmarks.audit.record_templates`), then its row, figure columns included, is
   cloned under new ids at 20 sites, each opened some minutes apart (the state, the period
   and the times to apology and recovery moved with it), and bulk inserted. The report
   reads no event, so none is inserted. Two in five are marked erased (a day after they
   opened), so the report's count of erasures reads a partial index of 40% of the rows.
2. Measures `Recovery.report()` (grouped by site and playbook, as `recovery report` and the
   pages show it), the same in one group (`by="all"`: its medians need a sort), and one
   site over one week, in a fresh process per
   database: one untimed run, then `--rounds` timed ones (median, p99); peak memory is the
   process's max RSS (the database's cache in the process included; PostgreSQL's server
   is not) and Python's own peak (tracemalloc) during one report.
   Floors: 2 s and 200 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.audit import Template, _sqlite_moment, record_templates
from benchmarks.data import DEFAULT_PG, BulkWriter, pg_schema
from recovery.bootstrap import over_engine
from recovery.catalog import Catalog
from recovery.service.ports.reports import ReportFilter
from recovery.storage.database import create_db_engine

FLOOR_SECONDS = 2.0
FLOOR_MB = 200
SITES = [f"site-{n:02d}" for n in range(20)]
ERASURES = ("retention", "request")


def _rows(templates: list[Template], count: int) -> Iterator[dict[str, Any]]:
    for n in range(count):
        template = templates[n % len(templates)]
        row = dict(template.incident)
        shift = timedelta(minutes=n % 50_000)
        site = SITES[n % len(SITES)]
        new_id = f"inc_{uuid.UUID(int=n).hex}"
        opened = row["opened_at"]
        opened = opened if isinstance(opened, datetime) else datetime.fromisoformat(opened)
        moved = (opened if opened.tzinfo else opened.replace(tzinfo=UTC)) - shift
        old_text = _iso(opened)
        state = row["state"].replace(template.id, new_id)
        state = state.replace(f'"opened_at":"{old_text}"', f'"opened_at":"{_iso(moved)}"')
        state = state.replace('"site":"bench-site"', f'"site":"{site}"')
        minutes = shift.total_seconds() / 60
        row.update(id=new_id, site=site, opened_at=moved, state=state)
        if row["apology_minutes"] is not None:
            row["apology_minutes"] += minutes
        if row["recovery_hours"] is not None:
            row["recovery_hours"] += minutes / 60
        if (n // 20) % 5 < 2:  # two in five erased a day after opening, at every site
            row.update(erased_at=moved + timedelta(days=1), erasure=ERASURES[(n // 20) % 5])
        yield row


def _iso(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def generate(url: str, count: int) -> None:
    engine = create_db_engine(url)
    rec = over_engine(engine, Catalog.from_directory())
    templates = [Template(rec, incident_id) for incident_id in record_templates(rec)]
    columns = list(templates[0].incident)
    writer = BulkWriter(engine)
    pg = writer.postgres
    batch: list[tuple[Any, ...]] = []
    for n, row in enumerate(_rows(templates, count), 1):
        values = (row[c] for c in columns)
        batch.append(tuple(values) if pg else tuple(_sqlite_moment(v) for v in values))
        if len(batch) == 5000 or n == count:
            writer.insert("incidents", columns, batch)
            writer.commit(n)
            batch.clear()
    writer.finish()
    rec.dispose()


def measure(url: str, rounds: int) -> dict[str, Any]:
    """In this process: the report `rounds` times (after one untimed run)."""
    rec = over_engine(create_db_engine(url), Catalog.from_directory(), migrate=False)
    out: dict[str, Any] = {}
    until = datetime.now(UTC) + timedelta(days=1)  # the clones go back ~35 days from now
    cases: dict[str, dict[str, Any]] = {
        "report": {},
        "report_by_all": {"by": "all"},
        "report_one_site_week": {
            "site": SITES[3],
            "since": until - timedelta(days=8),
            "until": until,
        },
    }
    for name, where in cases.items():
        rows = rec.report(**where)
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            rec.report(**where)
            times.append(time.perf_counter() - start)
        tracemalloc.start()
        rec.report(**where)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[name] = {
            "median_s": statistics.median(times),
            "p99_s": _p99(times),
            "python_peak_mb": traced / 2**20,
            "incidents": sum(r.incidents for r in rows),
            "erased": sum(r.erased_on_request + r.erased_by_retention for r in rows),
        }
    # the erasures' count alone (inside every report above): a month of them, by group
    month = ReportFilter(since=until - timedelta(days=31), until=until)
    times = []
    for _ in range(rounds + 1):
        start = time.perf_counter()
        erased = rec.log.erasure_totals("site_playbook", month)
        times.append(time.perf_counter() - start)
    out["erasures_month"] = {
        "median_s": statistics.median(times[1:]),
        "p99_s": _p99(times[1:]),
        "erased": sum(e.on_request + e.by_retention for e in erased),
    }
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rec.dispose()
    return out


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def run(db: str, count: int, rounds: int, pg_base: str, keep: str | None) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        if db == "sqlite":
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{keep or os.path.join(tmp, 'reports.db')}"
        else:
            url = stack.enter_context(pg_schema(pg_base, "bench_reports"))
        made = time.perf_counter()
        generate(url, count)
        made = time.perf_counter() - made
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.reports", "--measure", url, "--rounds", str(rounds)],
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, Any] = json.loads(child.stdout)
    result.update(db=db, incidents=count, generate_s=made)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", help="SQLite file to keep")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.rounds)))
        return
    dbs = ["sqlite", "pg"] if args.db == "both" else [args.db]
    results = [run(db, args.incidents, args.rounds, args.pg, args.keep) for db in dbs]
    if args.json:
        print(json.dumps({"floor_s": FLOOR_SECONDS, "floor_mb": FLOOR_MB, "runs": results}))
        return
    print(
        f"{'db':<7}{'incidents':>10}  {'case':<22}{'median s':>9}{'p99 s':>8}"
        f"{'floor s':>8}{'py MB':>7}{'RSS MB':>8}{'floor MB':>9}"
    )
    for r in results:
        for case in ("report", "report_by_all", "report_one_site_week"):
            m = r[case]
            print(
                f"{r['db']:<7}{r['incidents']:>10}  {case:<22}{m['median_s']:>9.3f}"
                f"{m['p99_s']:>8.3f}{FLOOR_SECONDS:>8.1f}{m['python_peak_mb']:>7.1f}"
                f"{r['peak_rss_mb']:>8.0f}{FLOOR_MB:>9}  erased {m['erased']}"
            )
        m = r["erasures_month"]
        print(
            f"{r['db']:<7}{r['incidents']:>10}  {'erasures_month':<22}{m['median_s']:>9.3f}"
            f"{m['p99_s']:>8.3f}{'':>24}{'':>9}  erased {m['erased']}"
        )


if __name__ == "__main__":
    main()
