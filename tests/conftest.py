"""Shared fixtures: a movable clock and real databases (SQLite file, PostgreSQL schema).

PostgreSQL tests use RECOVERY_TEST_PG_URL (default: the local server). When it is not
reachable they are skipped, unless RECOVERY_REQUIRE_PG=1 (as in CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from recovery import Actor, Catalog, Recovery
from recovery.bootstrap import in_memory, over_engine
from recovery.storage.database import create_db_engine

PG_URL = os.environ.get("RECOVERY_TEST_PG_URL", "postgresql://root@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("RECOVERY_REQUIRE_PG") == "1"
PLAYBOOKS = Path(__file__).resolve().parent.parent / "playbooks"

FRONT_DESK = Actor(id="ana", role="front_desk")
MANAGER = Actor(id="mads", role="manager")
AUDITOR = Actor(id="aud", role="auditor")


class Clock:
    """A clock tests can move forward; every engine call reads it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 7, 4, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    if not _pg_available():
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    return PG_URL


@contextmanager
def pg_schema(pg_base_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped when the block ends."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_base_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_base_url else "?"
    try:
        yield f"{pg_base_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_base_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def pg_url(pg_base_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    with pg_schema(pg_base_url) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'recovery.db'}"


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every contract test runs once per backend: in memory too, unless it reads the
    database itself (it asks for `db_url`, or is marked `sql`). Other tests that ask for
    `rec` run on the databases."""
    if "backend" not in metafunc.fixturenames:
        return
    sql_only = (
        metafunc.definition.path.parent.name != "contract"
        or "db_url" in metafunc.fixturenames
        or metafunc.definition.get_closest_marker("sql") is not None
    )
    metafunc.parametrize("backend", DATABASES if sql_only else ["memory", *DATABASES])


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if backend == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.from_directory(PLAYBOOKS)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rec(
    backend: str, catalog: Catalog, clock: Clock, request: pytest.FixtureRequest
) -> Iterator[Recovery]:
    if backend == "memory":
        engine_api = in_memory(catalog, clock=clock)
    else:
        engine_api = over_engine(
            create_db_engine(request.getfixturevalue("db_url")), catalog, clock=clock
        )
    yield engine_api
    engine_api.dispose()
