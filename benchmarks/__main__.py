"""The whole picture in one command: every figure beside its floor, from the same run.

    python -m benchmarks [--quick | --full] [--json] [--only SECTION ...] [--pg URL]
    make bench

Sections (each reuses its own module, which also runs alone):
  sqlite    add_note on one incident vs raw sqlite3 and the eventsourcing peer (FULL sync)
  mix       a realistic mix over 10,000 incidents (--quick: 2,000, the process's memory
            of incidents scaled alike) vs raw sqlite3 writing the same rows
  pg        PostgreSQL: 1 process, 8 processes on their own incidents, 8 on one hot
            incident, each vs raw psycopg doing the same (FOR UPDATE on the hot one)
  reports   Recovery.report() at 100k incidents (--full: 1M), SQLite and PostgreSQL
  search    Recovery.search() at 100k incidents (--full: 1M)
  board     Recovery.board_page() at 100k incidents
  http      POST /incidents/{id}/notes vs a bare FastAPI one-insert endpoint (wrk)

`--quick` (the default) takes a few minutes on 2 cores; `--full` builds 1M-incident
databases (SQLite ~6 GB for search; tens of minutes). PostgreSQL sections run when
127.0.0.1:5432 answers (their tables live in a scratch schema, dropped after); otherwise
they are skipped with the reason. Ratios are medians of rounds that alternate between the
contestants, so a disturbance on a shared machine hits them alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import board, commands, mix, pg_parallel, reports, search
from benchmarks import http as http_bench
from benchmarks.data import DEFAULT_PG, pg_reachable, pg_schema
from recovery.catalog import Catalog


@dataclass
class Row:
    section: str
    figure: str
    floor: str
    measured: str
    ok: bool | None  # None: informational, or skipped
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sizes:
    commands: int = 1000
    rounds: int = 5
    mix_incidents: int = 2_000  # --full: 10,000 (the process remembers as many in scale)
    big: list[int] = field(default_factory=lambda: [100_000])
    queries: int = 200
    pages: int = 100
    http_seconds: int = 8
    http_rounds: int = 3
    pg_seconds: float = 4.0


def _ratio_row(
    section: str,
    figure: str,
    floor: float,
    ours: list[float],
    base: list[float],
    unit: str,
    of: str = "raw",
) -> Row:
    ratios = [o / b for o, b in zip(ours, base, strict=True)]
    ratio = statistics.median(ratios)
    return Row(
        section,
        figure,
        f"≥ {floor:.2f} of {of}",
        f"{ratio:.2f} ({statistics.median(ours):,.0f} vs {statistics.median(base):,.0f} {unit})",
        ratio >= floor,
        {"ratio": ratio, "ratios": ratios, "ours": ours, "raw": base},
    )


def sqlite_section(sizes: Sizes, pg: str, catalog: Catalog) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        rates = commands.sqlite_rates(folder, "full", sizes.commands, sizes.rounds, catalog)
    ours, raw, peer = rates[commands.OURS], rates[commands.RAW], rates[commands.PEER]
    ahead = [o / p for o, p in zip(ours, peer, strict=True)]
    return [
        _ratio_row("sqlite", "add_note, one incident, FULL sync", 0.8, ours, raw, "/s"),
        Row(
            "sqlite",
            "add_note vs eventsourcing peer",
            "ahead in every round",
            f"min {min(ahead):.2f}× ({statistics.median(peer):,.0f}/s peer)",
            min(ahead) > 1.0,
            {"per_round": ahead, "peer": peer},
        ),
    ]


def mix_section(sizes: Sizes, pg: str, catalog: Catalog) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        result = mix.sqlite_rounds(folder, sizes.mix_incidents, sizes.rounds, catalog)
    return [
        _ratio_row(
            "mix",
            f"mix over {sizes.mix_incidents:,} incidents ({mix.remembered(sizes.mix_incidents):,}"
            " remembered), FULL sync",
            0.8,
            result["ours"],
            result["raw"],
            "cmd/s",
        )
    ]


def pg_section(sizes: Sizes, pg: str, catalog: Catalog) -> list[Row]:
    rates = commands.pg_rates(pg, sizes.commands, sizes.rounds, catalog)
    rows = [
        _ratio_row(
            "pg", "1 process, add_note", 0.7, rates[commands.OURS], rates[commands.RAW], "/s"
        )
    ]
    ping = commands.pg_pre_ping_rates(pg, sizes.commands, sizes.rounds, catalog)
    with_ping = statistics.median(ping["pre-ping (default)"])
    without = statistics.median(ping["no pre-ping"])
    rows.append(
        Row(
            "pg",
            "  pool pre-ping, cost per command",
            "(informational)",
            f"{1e6 / with_ping - 1e6 / without:+.0f} µs ({with_ping:,.0f} vs {without:,.0f}/s)",
            None,
            ping,
        )
    )
    rows += pg_parallel.rows(pg, sizes.pg_seconds, sizes.rounds, _ratio_row)
    return rows


def reports_section(sizes: Sizes, pg: str, catalog: Catalog) -> list[Row]:
    rows = []
    for count in sizes.big:
        for db in ("sqlite", "pg") if pg else ("sqlite",):
            r = reports.run(db, count, sizes.rounds, pg or DEFAULT_PG, None)
            for case, label in (("report", "by site and playbook"), ("report_by_all", "all")):
                m = r[case]
                rows.append(
                    Row(
                        "reports",
                        f"report {label}, {count:,} incidents, {db}",
                        f"< {reports.FLOOR_SECONDS:.0f} s, < {reports.FLOOR_MB} MB",
                        f"{m['median_s']:.2f} / p99 {m['p99_s']:.2f} s, {r['peak_rss_mb']:.0f} MB",
                        m["p99_s"] < reports.FLOOR_SECONDS and r["peak_rss_mb"] < reports.FLOOR_MB,
                        {**m, "peak_rss_mb": r["peak_rss_mb"]},
                    )
                )
    return rows


def _worst(results: list[dict[str, Any]]) -> tuple[float, float]:
    return max(r["median_ms"] for r in results), max(r["p99_ms"] for r in results)


def _big_db(
    name: str,
    pg: str,
    count: int,
    generate: Callable[[str, int, Catalog], None],
    measure: Callable[[str], list[dict[str, Any]]],
    catalog: Catalog,
) -> dict[str, list[dict[str, Any]]]:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / f'{name}.db'}"
        generate(url, count, catalog)
        out["sqlite"] = measure(url)
    if pg:
        with pg_schema(pg, f"bench_{name}") as url:
            generate(url, count, catalog)
            out["pg"] = measure(url)
    return out


def search_section(sizes: Sizes, pg: str, catalog: Catalog) -> list[Row]:
    rows = []
    for count in sizes.big:
        found = _big_db(
            "search",
            pg,
            count,
            search.generate,
            lambda url, c=count: search.run(url, c, sizes.queries, catalog),
            catalog,
        )
        for db, results in found.items():
            median, p99 = _worst(results)
            rows.append(
                Row(
                    "search",
                    f"search, worst kind, {count:,} incidents, {db}",
                    f"median < {search.FLOOR_MEDIAN_MS:.0f} ms, p99 < {search.FLOOR_P99_MS:.0f} ms",
                    f"{median:.1f} / p99 {p99:.1f} ms",
                    search.met(results),
                    {"results": results},
                )
            )
    return rows


def board_section(sizes: Sizes, pg: str, catalog: Catalog) -> list[Row]:
    count = sizes.big[0]
    found = _big_db(
        "board",
        pg,
        count,
        board.generate,
        lambda url: board.run(url, count, sizes.pages, catalog),
        catalog,
    )
    rows = []
    for db, results in found.items():
        median, p99 = _worst(results)
        rows.append(
            Row(
                "board",
                f"board page, worst viewer, {count:,} incidents, {db}",
                f"p99 < {board.FLOOR_P99_MS:.0f} ms",
                f"{median:.1f} / p99 {p99:.1f} ms",
                p99 < board.FLOOR_P99_MS,
                {"results": results},
            )
        )
    return rows


def http_section(sizes: Sizes, pg: str, catalog: Catalog) -> list[Row]:
    if shutil.which("wrk") is None:
        return [Row("http", "HTTP command vs bare", "≥ 0.90", "skipped: no wrk", None)]
    runs = http_bench.measure(32, sizes.http_seconds, sizes.http_rounds)
    bare, ours = runs[http_bench.BARE], runs[http_bench.OURS]
    row = _ratio_row(
        "http",
        "POST notes vs bare one-insert endpoint, 32 conn.",
        0.9,
        [r["rate"] for r in ours],
        [r["rate"] for r in bare],
        "req/s",
        of="bare",
    )
    p99_ours = statistics.median(r["p99"] for r in ours)
    p99_bare = statistics.median(r["p99"] for r in bare)
    errors = sum(r["errors"] for r in ours)
    return [
        row,
        Row(
            "http",
            "p99 latency, command endpoint",
            f"≤ bare's ({p99_bare:.1f} ms)",
            f"{p99_ours:.1f} ms, non-2xx {errors:.0f}",
            p99_ours <= p99_bare and errors == 0,
            {"p99_ms": p99_ours, "bare_p99_ms": p99_bare},
        ),
    ]


SECTIONS: dict[str, Callable[[Sizes, str, Catalog], list[Row]]] = {
    "sqlite": sqlite_section,
    "mix": mix_section,
    "pg": pg_section,
    "reports": reports_section,
    "search": search_section,
    "board": board_section,
    "http": http_section,
}
NEEDS_PG = {"pg"}


def table(rows: list[Row]) -> str:
    heads = ("section", "figure", "floor", "measured", "")
    mark = {True: "PASS", False: "GAP", None: "-"}
    cells = [(r.section, r.figure, r.floor, r.measured, mark[r.ok]) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) for cell in cells]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="100k incidents (the default)")
    size.add_argument("--full", action="store_true", help="100k and 1M incidents")
    size.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="the rows as JSON on stdout")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="these sections")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL to make scratch schemas in")
    parser.add_argument("--table", nargs="+", type=Path, help="print the table of --json files")
    args = parser.parse_args()
    if args.table:  # sections run one by one (--only X --json), shown as one table
        rows = [Row(**r) for f in args.table for r in json.loads(f.read_text())["rows"]]
        print(table(rows))
        return 0
    sizes = Sizes()
    if args.full:
        sizes.big = [100_000, 1_000_000]
        sizes.mix_incidents = 10_000
    if args.smoke:  # the command itself checked, in seconds: no figure means anything
        sizes = Sizes(100, 2, 300, [2000], 10, 10, 2, 1, 1.0)
    catalog = Catalog.from_directory()
    why_no_pg = pg_reachable(args.pg)
    pg = "" if why_no_pg else args.pg
    rows: list[Row] = []
    started = time.perf_counter()
    for name in args.only or list(SECTIONS):
        print(f"== {name}", file=sys.stderr)
        if name in NEEDS_PG and not pg:
            rows.append(Row(name, "PostgreSQL", "", f"skipped: {why_no_pg}", None))
            continue
        with contextlib.redirect_stdout(sys.stderr):  # the modules' own tables
            rows += SECTIONS[name](sizes, pg, catalog)
    if not pg:
        print(f"PostgreSQL not reachable at {args.pg}: {why_no_pg}", file=sys.stderr)
    took = time.perf_counter() - started
    if args.json:
        print(json.dumps({"seconds": took, "rows": [asdict(r) for r in rows]}, indent=1))
    else:
        print(table(rows))
        print(f"({took:.0f} s; `python -m benchmarks --json` for every round)")
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
