"""The fault suite: real servers and a PRIVATE PostgreSQL that a test may stop, restart or
crash, to check what a caller sees through an outage or a crash.

`private_pg` is a PostgreSQL instance of its own (initdb + pg_ctl in a temporary folder,
port 55433 unless taken), run as the `postgres` system user when the suite runs as root
(PostgreSQL refuses root). The shared server at 5432 is never touched. Without the
PostgreSQL binaries the tests that need it are skipped, or fail when RECOVERY_REQUIRE_PG=1.
`server` starts `recovery serve` (uvicorn) as a subprocess that a test may kill -9.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from recovery.bootstrap import open_accounts
from recovery.service.accounts import parse_sites
from tests.serving import wait_until_healthy

PORT = int(os.environ.get("RECOVERY_FAULT_PG_PORT", "55433"))
RECOVERY = str(Path(sys.executable).parent / "recovery")


def free_port(preferred: int | None = None) -> int:
    """`preferred` if nothing listens there, else any free port."""
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port: int = sock.getsockname()[1]
            return port
    raise RuntimeError("no free port")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


@dataclass
class PrivatePostgres:
    """One PostgreSQL instance in `folder`, on `port`, stopped and started at will."""

    bin: Path
    folder: Path
    port: int
    as_user: Sequence[str] = ()
    databases: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, *args], check=check, capture_output=True, text=True, timeout=60
        )

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} -c fsync=off -c max_connections=100"
        )
        result = self._run(
            str(self.bin / "pg_ctl"), "start", "-w", "-t", "30", "-D", str(self.data),
            "-l", str(self.folder / "postgres.log"), "-o", options, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            log = (self.folder / "postgres.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"private PostgreSQL did not start: {result.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: a clean shutdown (connections are cut); `immediate`: a crash."""
        self._run(str(self.bin / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.data))

    def running(self) -> bool:
        status = self._run(str(self.bin / "pg_ctl"), "status", "-D", str(self.data), check=False)
        return status.returncode == 0

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"f_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def _private_pg() -> Iterator[PrivatePostgres]:
    pg_bin = _pg_bin()
    if pg_bin is None or not (pg_bin / "initdb").exists():
        if os.environ.get("RECOVERY_REQUIRE_PG") == "1":
            pytest.fail("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    folder = Path(tempfile.mkdtemp(prefix="recovery-faults-pg-"))
    as_user: tuple[str, ...] = ()
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ("runuser", "-u", "postgres", "--")
    pg = PrivatePostgres(pg_bin, folder, free_port(PORT), as_user)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        if pg.running():
            pg.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def private_pg(_private_pg: PrivatePostgres) -> PrivatePostgres:
    """The private PostgreSQL, running (a test before may have left it stopped)."""
    if not _private_pg.running():
        _private_pg.start()
    return _private_pg


@dataclass
class Server:
    """`recovery serve` on `db` as a subprocess: started, killed and started again."""

    db: str
    folder: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self.folder / "server.log").open("ab")
        command = [RECOVERY, "serve", "--port", str(self.port), "--db", self.db]
        self.process = subprocess.Popen(
            [*command, "--log-level", "warning"],
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
        )
        log.close()
        wait_until_healthy(self.base, self.process, 60, self.log)

    def wait_dead(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return (self.folder / "server.log").read_text(errors="replace")


def token_for(db: str, *, role: str = "front_desk", sites: str = "*") -> str:
    """An API token made directly in the database (which is migrated first, if new), as
    `recovery tokens create` would, without a process of its own."""
    with open_accounts(db) as accounts:
        name = f"load-{uuid.uuid4().hex[:6]}"
        _row, token = accounts.create_token(name, role, parse_sites(sites))
    return token


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`server(db, **env)`: a started `recovery serve`, stopped after the test."""
    made: list[Server] = []

    def make(db: str, **env: str) -> Server:
        found = Server(db, tmp_path, env)
        made.append(found)
        found.start()
        return found

    yield make
    for found in made:
        found.stop()
