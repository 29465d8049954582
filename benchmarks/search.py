"""Search speed: `Recovery.search` latency (median, p99) at N incidents, beside a floor.

    python -m benchmarks.search [--incidents 1000000] [--db sqlite|pg] [--pg URL]
                                [--queries 300] [--keep PATH]

1. Generates the database (not timed): one incident is opened through the real engine (the
   template state), then `--incidents` rows are bulk inserted as copies of it under new
   ids, each with its own customer (names drawn from 300 first x 1000 last names, so a
   surname is shared by ~1 in 1000), e-mail, phone, reservation number and one of 50
   properties, and its search terms (`domain.search.incident_terms`), as the engine
   writes them. 1M incidents take ~5.5 GB and ~8 min on SQLite (COPY on PostgreSQL);
   `--keep PATH` keeps the SQLite file, and an existing one skips generation, so the
   figures can be measured again.
2. Measures, for a front desk scoped to 2 of the 50 properties and for an auditor who
   sees them all, the wall time of `Recovery.search` (the query and turning the matched
   states into views, each serialised as the API answers) over `--queries` queries of
   each kind: a full reservation number, a surname, the start of an e-mail, a phone
   number without its country code, and a 3-letter prefix (many terms match).
Floor: median under 50 ms and p99 under 250 ms for every kind ("well under a second").
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg

from recovery import Actor, CustomerProfile, OpenIncident
from recovery.bootstrap import over_engine
from recovery.catalog import Catalog
from recovery.domain.search import incident_terms
from recovery.storage.database import create_db_engine

DEFAULT_PG = "postgresql://root@127.0.0.1:5432/test"
FLOOR_MEDIAN_MS = 50.0
FLOOR_P99_MS = 250.0
SITES = [f"site-{n:02d}" for n in range(50)]
DESK_SITES = SITES[:2]
CHUNK = 20_000

_rng = random.Random(7)
_SYLLABLES = ["ka", "ri", "mo", "an", "se", "lu", "to", "ne", "ja", "ul", "bo", "di", "er", "sk"]


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


FIRST = sorted({_word(_rng, 2) for _ in range(2000)})[:300]
LAST = sorted({_word(_rng, 3) + "sen" for _ in range(5000)})[:1000]


def person(n: int) -> dict[str, str]:
    """The n-th generated customer (deterministic, so queries can be drawn from it)."""
    rng = random.Random(n)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "name": f"{first} {last}",
        "contact": f"+45 {n % 100_000_000:08d}"
        if n % 2
        else f"{first.lower()}.{last.lower()}{n}@example.com",
        "ref": f"RES-{n:08d}",
        "site": SITES[n % len(SITES)],
    }


def generate(url: str, count: int, catalog: Catalog) -> None:
    engine = create_db_engine(url)
    rec = over_engine(engine, catalog)
    template = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site=SITES[0],
            customer=CustomerProfile(name="Template Guest"),
        ),
        actor=Actor(id="bench", role="front_desk"),
    ).incident.state.to_dict()
    raw = engine.raw_connection()
    postgres = engine.dialect.name == "postgresql"
    cursor = raw.cursor()
    if not postgres:  # the index pages stay in memory while millions of terms go in
        cursor.execute("PRAGMA cache_size = -1000000")
        cursor.execute("PRAGMA synchronous = OFF")
    started = time.perf_counter()
    for low in range(0, count, CHUNK):
        incidents, terms = [], []
        for n in range(low, min(count, low + CHUNK)):
            p = person(n)
            iid = f"inc_{uuid.UUID(int=n).hex}"
            customer = {"name": p["name"], "contact": p["contact"]}
            state = {**template, "id": iid, "site": p["site"], "customer": customer}
            state["external_ref"] = p["ref"]
            state["opened_at"] = f"2026-01-01T00:00:{n % 60:02d}.{n % 1_000_000:06d}Z"
            incidents.append(
                (
                    iid,
                    template["playbook_id"],
                    template["playbook_version"],
                    template["incident_type"],
                    p["site"],
                    p["ref"],
                    "closed" if n % 3 else "open",
                    state["opened_at"],
                    orjson.dumps(state).decode(),
                )
            )
            terms.extend((iid, t, p["site"]) for t in incident_terms(iid, customer, p["ref"]))
        rows = [(*row[:8], row[7], row[8]) for row in incidents]
        columns = (
            "id, playbook_id, playbook_version, incident_type, site, external_ref, status, "
            "opened_at, updated_at, state"
        )
        if postgres:  # COPY: 20x the rate of row inserts
            with cursor.copy(
                f"COPY incidents ({columns}, tier, owner, pushes, handoffs, version, head_hash)"
                " FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row((*row, 1, "bench", 0, 0, 1, ""))
            with cursor.copy("COPY search_terms (incident_id, term, site) FROM STDIN") as copy:
                for term in terms:
                    copy.write_row(term)
        else:
            cursor.executemany(
                f"INSERT INTO incidents ({columns}, tier, owner, pushes, handoffs, version, "
                f"head_hash) VALUES ({', '.join(['?'] * 10)}, 1, 'bench', 0, 0, 1, '')",
                rows,
            )
            cursor.executemany(
                "INSERT INTO search_terms (incident_id, term, site) VALUES (?, ?, ?)",
                sorted(terms, key=lambda t: t[1]),  # in index order: fewer pages touched
            )
        raw.commit()
        done = min(count, low + CHUNK)
        rate = done / (time.perf_counter() - started)
        print(f"\r  generated {done:,} incidents ({rate:,.0f}/s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    raw.commit()
    if postgres:  # as autovacuum leaves it: the visibility map lets index-only scans be
        raw.driver_connection.autocommit = True
        cursor.execute("VACUUM ANALYZE")
    else:
        cursor.execute("ANALYZE")
        raw.commit()
    raw.close()
    rec.dispose()


def queries(count: int, kind: str, rng: random.Random, scoped: bool) -> Iterator[str]:
    """Queries for customers who exist (at the desk's properties for a desk)."""
    for _ in range(count):
        n = rng.randrange(count_of_incidents // len(SITES)) * len(SITES)
        n += rng.randrange(len(DESK_SITES)) if scoped else rng.randrange(len(SITES))
        if kind.startswith("phone") and n % 2 == 0:
            n += 1 if n + 1 < count_of_incidents else -1  # odd ones have a phone
        p = person(n)
        if kind == "reservation":
            yield p["ref"]
        elif kind == "surname":
            yield p["name"].split(" ")[1]
        elif kind == "e-mail start":
            yield p["name"].split(" ")[0].lower() + "."
        elif kind == "phone, national":
            yield f"{n % 100_000_000:08d}"
        else:
            yield p["name"][:3]


count_of_incidents = 0
KINDS = ["reservation", "surname", "e-mail start", "phone, national", "3-letter prefix"]


def measure(
    search: Callable[[str], list[Any]], kind: str, count: int, scoped: bool
) -> tuple[float, float, int]:
    rng = random.Random(kind)
    times, hits = [], 0
    for query in queries(count, kind, rng, scoped):
        started = time.perf_counter()
        found = search(query)
        for view in found:
            view.to_json()  # as the API answers it
        times.append((time.perf_counter() - started) * 1000)
        hits += len(found)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return statistics.median(times), p99, hits // max(1, count)


def main() -> int:
    global count_of_incidents
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="SQLite file to keep (or reuse)")
    args = parser.parse_args()
    count_of_incidents = args.incidents
    catalog = Catalog.from_directory()
    schema = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "sqlite":
            path = args.keep or Path(tmp) / "search.db"
            url = f"sqlite:///{path}"
            if not path.exists():
                generate(url, args.incidents, catalog)
        else:
            schema = f"bench_search_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            url = f"{args.pg}?options=-csearch_path%3D{schema}"
            generate(url, args.incidents, catalog)
        try:
            engine = create_db_engine(url)
            rec = over_engine(engine, catalog)
            print(f"search at {args.incidents:,} incidents on {engine.dialect.name}")
            print(f"{'caller':<8} {'query':<17} {'median ms':>9} {'p99 ms':>8} {'found':>6}")
            ok = True
            for caller, sites in (("desk", DESK_SITES), ("auditor", None)):
                for kind in KINDS:
                    median, p99, hits = measure(
                        lambda q, s=sites: rec.search(q, sites=s),
                        kind,
                        args.queries,
                        scoped=sites is not None,
                    )
                    ok &= median < FLOOR_MEDIAN_MS and p99 < FLOOR_P99_MS
                    print(f"{caller:<8} {kind:<17} {median:>9.2f} {p99:>8.2f} {hits:>6}")
            floor = f"median < {FLOOR_MEDIAN_MS:.0f} ms, p99 < {FLOOR_P99_MS:.0f} ms"
            print(f"floor: {floor}: {'met' if ok else 'NOT met'}")
            rec.dispose()
        finally:
            if schema is not None:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
