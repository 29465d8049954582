"""What the big-database benchmarks (board, search, reports) share: a scratch PostgreSQL
schema that is always dropped, a template incident opened through the real engine, and a
bulk writer (COPY on PostgreSQL, `executemany` on SQLite) that commits in chunks and
leaves the tables analysed, as autovacuum would.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from sqlalchemy import Engine

from recovery import Actor, CustomerProfile, OpenIncident
from recovery.bootstrap import over_engine
from recovery.catalog import Catalog
from recovery.storage.database import normalise_url

DEFAULT_PG = "postgresql://root@127.0.0.1:5432/test"
CHUNK = 20_000


def libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg takes it."""
    return normalise_url(url).replace("postgresql+psycopg://", "postgresql://")


def pg_reachable(base: str = DEFAULT_PG) -> str | None:
    """None if PostgreSQL answers at `base`, else why not (one line)."""
    try:
        with psycopg.connect(libpq(base), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


@contextlib.contextmanager
def pg_schema(base: str = DEFAULT_PG, prefix: str = "bench") -> Iterator[str]:
    """A URL whose tables live in a fresh schema, dropped (with everything in it) after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(base), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(libpq(base), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def template_state(engine: Engine, catalog: Catalog, site: str) -> dict[str, Any]:
    """The state of one incident opened through the engine (migrating the database first)."""
    rec = over_engine(engine, catalog)
    view = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site=site,
            customer=CustomerProfile(name="Template Guest"),
        ),
        actor=Actor(id="bench", role="front_desk"),
    )
    return view.incident.state.to_dict()


class BulkWriter:
    """Rows into tables of a migrated database through one raw connection: COPY on
    PostgreSQL (20x row inserts), `executemany` with syncing off on SQLite (the data is
    made, not measured)."""

    def __init__(self, engine: Engine, *, sqlite_cache_kib: int = 0) -> None:
        self.postgres = engine.dialect.name == "postgresql"
        self._raw: Any = engine.raw_connection()
        self._cursor = self._raw.cursor()
        self._started = time.perf_counter()
        if not self.postgres:
            self._cursor.execute("PRAGMA synchronous = OFF")
            if sqlite_cache_kib:  # index pages stay in memory while millions of rows go in
                self._cursor.execute(f"PRAGMA cache_size = -{sqlite_cache_kib}")

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(columns)
        if self.postgres:
            with self._cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(columns))
            self._cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(rows))

    def commit(self, done: int) -> None:
        self._raw.commit()
        rate = done / max(time.perf_counter() - self._started, 1e-9)
        print(f"\r  generated {done:,} incidents ({rate:,.0f}/s)", end="", file=sys.stderr)

    def finish(self) -> None:
        """Commit, analyse (PostgreSQL: VACUUM too, so index-only scans see the visibility
        map) and close."""
        print(file=sys.stderr)
        self._raw.commit()
        if self.postgres:
            self._raw.driver_connection.autocommit = True
            self._cursor.execute("VACUUM ANALYZE")
        else:
            self._cursor.execute("ANALYZE")
            self._raw.commit()
        self._raw.close()


def chunks(count: int, size: int = CHUNK) -> Iterator[range]:
    for low in range(0, count, size):
        yield range(low, min(count, low + size))
