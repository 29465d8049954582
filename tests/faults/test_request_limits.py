"""Bounded requests against a real `recovery serve` process: a body over the cap is refused
with 413 while it streams (declared or chunked), the server's memory does not follow what
clients send, lists and numbers are bounded and typed (422), and the session cookie does
not carry a change from another site (403).

The memory figure: `python -m pytest tests/faults/test_request_limits.py -s` prints it.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.serving import wait_until_healthy

ROOT = Path(__file__).resolve().parents[2]
CAP = 1024 * 1024
FIFTY_MB = 50 * 1024 * 1024
HOTEL = {
    "incident_type": "hotel.walked_guest",
    "site": "ribe-central",
    "customer": {"name": "Mette Jensen"},
}


@dataclass
class Server:
    base: str
    port: int
    pid: int
    token: str  # manager's session token

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def bearer(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limits")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RECOVERY_MAX_BODY_BYTES": str(CAP)}
    process = subprocess.Popen(
        [sys.executable, "-m", "recovery.cli", "serve", "--demo", "--port", str(port),
         "--db", f"sqlite:///{folder / 'r.db'}", "--log-level", "warning"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, 60)
        login = httpx.post(
            f"{base}/auth/login", json={"username": "manager", "password": "recovery-demo"}
        )
        assert login.status_code == 200, login.text
        yield Server(base, port, process.pid, login.json()["token"])
    finally:
        process.terminate()
        process.wait(timeout=20)


def _send_large(port: int, path: str, *, chunked: bool, total: int = FIFTY_MB) -> bytes:
    """Send up to `total` bytes of body as a hostile client would (not waiting for the
    server), then return whatever the server answered."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {total}\r\n\r\n"
    piece = b"[" + b"1," * 32_767 + b"1"  # 64 KiB of a JSON list
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode())
        sent = 0
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server answered before the body was done
                sock.sendall(frame)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def _status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_body_is_refused_with_413(server: Server, chunked: bool) -> None:
    status, body = _status_and_body(_send_large(server.port, "/incidents", chunked=chunked))
    assert status == 413
    assert body["error"] == "payload_too_large"
    assert "1,048,576 bytes" in str(body["message"])
    with server.bearer() as client:  # and the server serves on
        assert client.post("/incidents", json=HOTEL).status_code == 201


def test_an_oversized_web_form_is_refused_with_413(server: Server) -> None:
    status, _ = _status_and_body(
        _send_large(server.port, "/web/incidents/new", chunked=False, total=2 * CAP)
    )
    assert status == 413


def test_four_50_mb_bodies_leave_the_server_memory_alone(server: Server) -> None:
    with server.bearer() as client:  # warm up the paths the posts take
        assert client.post("/incidents", json=HOTEL).status_code == 201
    before = server.rss_kib()
    for chunked in (False, True, False, True):
        status, _ = _status_and_body(_send_large(server.port, "/incidents", chunked=chunked))
        assert status == 413
    grown = server.rss_kib() - before
    print(f"\nserver RSS before {before / 1024:.0f} MiB, after four 50 MB posts "
          f"{(before + grown) / 1024:.0f} MiB (+{grown / 1024:.1f} MiB)")  # fmt: skip
    assert grown < 40 * 1024  # generous: without the cap it grew by ~320 MiB


def test_too_many_cues_is_422_naming_the_field(server: Server) -> None:
    with server.bearer() as client:
        cues = [f"cue_{i}" for i in range(51)]
        answer = client.post("/incidents", json={**HOTEL, "cues": cues})
        assert answer.status_code == 422
        assert answer.json()["field"] == "cues"
        opened = client.post("/incidents", json=HOTEL).json()["incident"]["id"]
        answer = client.post(f"/incidents/{opened}/cues", json={"cues": cues})
        assert answer.status_code == 422
        assert answer.json()["field"] == "cues"


def test_a_flag_or_text_is_not_an_amount(server: Server) -> None:
    with server.bearer() as client:
        incident = client.post("/incidents", json=HOTEL).json()["incident"]["id"]
        where = f"/incidents/{incident}/steps/pay_room/request_approval"
        for bad in (True, "300"):
            answer = client.post(where, json={"amount": bad})
            assert answer.status_code == 422, answer.text
            assert answer.json()["field"] == "amount"
        answer = client.post(
            f"/incidents/{incident}/cues", json={"cues": ["upset"], "order_value": True}
        )
        assert answer.status_code == 422 and answer.json()["field"] == "order_value"
        assert client.post(where, json={"amount": 300}).status_code == 200


def test_the_openapi_shows_the_limits(server: Server) -> None:
    document = httpx.get(f"{server.base}/openapi.json").json()
    assert "413" in document["paths"]["/incidents"]["post"]["responses"]
    schema = document["components"]["schemas"]
    assert schema["OpenIncident"]["properties"]["cues"]["maxItems"] == 50
    assert schema["ReportCues"]["properties"]["cues"]["maxItems"] == 50
    action = schema["StepActionCreate"]["properties"]
    assert action["evidence"]["maxProperties"] == 50
    assert action["alternatives"]["maxItems"] == 50
    assert {"type": "number", "exclusiveMinimum": 0, "maximum": 1e12} in action["amount"]["anyOf"]


def test_the_session_cookie_carries_no_change_from_another_site(server: Server) -> None:
    with httpx.Client(base_url=server.base, timeout=30) as browser:
        login = browser.post("/auth/login", json={"username": "desk", "password": "recovery-demo"})
        assert login.status_code == 200 and browser.cookies.get("recovery_session")
        foreign = browser.post("/incidents", json=HOTEL, headers={"Origin": "https://evil.test"})
        assert foreign.status_code == 403
        assert foreign.json()["error"] == "foreign_origin"
        cross = browser.post("/incidents", json=HOTEL, headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403
        own = {"Origin": server.base, "Sec-Fetch-Site": "same-origin"}
        assert browser.post("/incidents", json=HOTEL, headers=own).status_code == 201
        assert browser.get("/incidents", headers={"Origin": "https://evil.test"}).status_code == 200
    with server.bearer() as client:  # a token is not a cookie: no browser sends it by itself
        answer = client.post("/incidents", json=HOTEL, headers={"Origin": "https://evil.test"})
        assert answer.status_code == 201


def test_a_deeply_nested_body_under_the_cap_is_refused_not_a_crash(server: Server) -> None:
    with server.bearer() as client:
        deep = "[" * 200_000 + "]" * 200_000
        answer = client.post(
            "/incidents", content=deep, headers={"Content-Type": "application/json"}
        )
        assert 400 <= answer.status_code < 500, answer.text
        assert client.get("/health").status_code == 200
