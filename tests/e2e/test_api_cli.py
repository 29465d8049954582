"""The API's CLI: `recovery users ...`, `recovery tokens ...` and `recovery serve` (a real
server process, reached over HTTP with a token the CLI created)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from recovery.cli import app
from tests.serving import wait_until_healthy

runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'recovery.db'}"


def test_users_and_tokens_are_managed_from_the_command_line(db: str) -> None:
    cli(
        "users",
        "add",
        "ana",
        "--role",
        "front_desk",
        "--sites",
        "ribe,vejle",
        "--password",
        "correct horse",
        "--db",
        db,
    )
    listed = json.loads(cli("users", "list", "--json", "--db", db))
    assert listed == [
        {
            "username": "ana",
            "role": "front_desk",
            "sites": ["ribe", "vejle"],
            "created_at": listed[0]["created_at"],
            "active": True,
        }
    ]
    cli("users", "disable", "ana", "--db", db)
    assert json.loads(cli("users", "list", "--json", "--db", db))[0]["active"] is False

    created = json.loads(
        cli(
            "tokens",
            "create",
            "pms-ribe",
            "--role",
            "integration",
            "--sites",
            "ribe",
            "--json",
            "--db",
            db,
        )
    )
    assert created["token"].startswith("rcv_t_")
    listed = json.loads(cli("tokens", "list", "--json", "--db", db))
    assert [t["name"] for t in listed] == ["pms-ribe"]
    assert "token" not in listed[0]
    cli("tokens", "revoke", "pms-ribe", "--db", db)
    assert json.loads(cli("tokens", "list", "--json", "--db", db))[0]["active"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "users",
                "add",
                "bo",
                "--role",
                "chef",
                "--sites",
                "ribe",
                "--password",
                "long enough",
            ],
            "role",
        ),
        (
            ["users", "add", "bo", "--role", "manager", "--sites", "", "--password", "long enough"],
            "properties",
        ),
        (
            ["users", "add", "bo", "--role", "manager", "--sites", "ribe", "--password", "short"],
            "password",
        ),
        (["tokens", "create", "x y", "--role", "manager", "--sites", "*"], "name"),
        (["tokens", "revoke", "nope"], "no active token"),
        (["users", "disable", "nope"], "no user"),
    ],
)
def test_bad_cli_input_is_one_line_and_an_exit_code(db: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, [*args, "--db", db])
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture(params=[[], ["--demo"]], ids=["empty", "demo"])
def served(request: pytest.FixtureRequest, db: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    token = json.loads(
        cli("tokens", "create", "desk", "--role", "manager", "--sites", "*", "--json", "--db", db)
    )["token"]
    port = free_port()
    recovery = Path(sys.executable).parent / "recovery"
    process = subprocess.Popen(
        [
            str(recovery),
            "serve",
            "--port",
            str(port),
            "--db",
            db,
            *request.param,
            "--log-level",
            "warning",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(
            base, process, 30, lambda: process.stdout.read() if process.stdout else ""
        )
        yield base, token
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_recovery_serve_answers_over_http_with_its_docs(served: tuple[str, str]) -> None:
    base, token = served
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
        description = client.get("/openapi.json").json()
        assert description["info"]["title"] == "recovery"
        examples = description["paths"]["/incidents"]["post"]["requestBody"]["content"][
            "application/json"
        ]["examples"]
        assert examples["walked_guest"]["value"]["incident_type"] == "hotel.walked_guest"
        assert "swagger" in client.get("/docs").text.lower()
        listed = client.get("/incidents", params={"active": False}).json()["items"]
        for incident in listed:  # --demo seeds the demo stories into an empty database
            assert client.get(f"/incidents/{incident['id']}/verify").json()["ok"] is True
        opened = client.post(
            "/incidents",
            json={"incident_type": "hotel.walked_guest", "site": "ribe", "customer": {"name": "M"}},
        )
        assert opened.status_code == 201


def test_serve_demo_gives_a_newcomer_incidents_and_sign_ins(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "recovery"), "serve", "--demo", "--port", str(port),
         "--db", db, "--log-level", "warning"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, 30)
        login = {"username": "desk", "password": "recovery-demo"}
        with httpx.Client(base_url=base) as desk:
            token = desk.post("/auth/login", json=login).json()["token"]
            seen = desk.get(
                "/incidents",
                params={"active": False},
                headers={"Authorization": f"Bearer {token}"},
            ).json()["items"]
        # the demo desk works at two of the demo properties, and sees only those
        assert {i["site"] for i in seen} == {"ribe-central", "copenhagen-airport"}
        assert len(seen) == 4
        # one of them is its own, open tonight: its request waits for the manager
        [tonight] = [i for i in seen if i["status"] == "open"]
        assert tonight["steps"]["pay_room"]["status"] == "awaiting_approval"
        with httpx.Client(base_url=base) as manager:
            manager.post("/auth/login", json={**login, "username": "manager"})
            queue = manager.get("/web/approvals")
            assert queue.status_code == 200
            assert "Lars Nygaard" in queue.text and "420" in queue.text
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
