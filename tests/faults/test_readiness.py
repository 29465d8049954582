"""`/ready` and `/metrics` on a real `recovery serve`: ready only while the database answers
(SQLite file moved away, PostgreSQL stopped: 503 with the reason), and the metrics count
what the server answered."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.faults.conftest import PrivatePostgres, Server, token_for

OPEN = {
    "incident_type": "hotel.walked_guest",
    "site": "ribe-central",
    "customer": {"name": "Mette Jensen"},
}


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one series in a Prometheus text page (None: absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match[1] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match[2] or ""))
        if found == labels:
            return float(match[3])
    return None


def test_metrics_count_a_recorded_command_and_a_refusal(
    tmp_path: Path, server: Callable[..., Server]
) -> None:
    db = f"sqlite:///{tmp_path / 'recovery.db'}"
    headers = {"Authorization": f"Bearer {token_for(db)}"}
    served = server(db)
    with httpx.Client(base_url=served.base, headers=headers, timeout=30) as client:
        opened = client.post("/incidents", json=OPEN)
        assert opened.status_code == 201, opened.text
        url = f"/incidents/{opened.json()['incident']['id']}/steps/apologise/complete"
        assert client.post(url, json={"evidence": {"apology_by": "Ana"}}).status_code == 200
        again = client.post(url, json={"evidence": {"apology_by": "Ana"}})
        assert again.status_code == 409, again.text

        page = client.get("/metrics")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    text = page.text
    assert sample(text, "recovery_commands_total", type="open", outcome="ok") == 1
    assert sample(text, "recovery_commands_total", type="complete", outcome="ok") == 1
    assert sample(text, "recovery_commands_total", type="complete", outcome="refused") == 1
    assert sample(text, "recovery_commands_total", type="complete", outcome="conflict") is None
    # latency is kept by route template: one series for every incident, not one per id
    route = "/incidents/{incident_id}/steps/{step}/{action}"
    assert sample(text, "recovery_request_duration_seconds_count", method="POST", route=route) == 2
    assert "/incidents/inc" not in text
    assert sample(text, "recovery_backlog_up") == 1
    assert sample(text, "recovery_letters_queued") is not None
    assert sample(text, "recovery_outbox_pending") is not None
    assert sample(text, "recovery_oldest_due_age_seconds") is not None


def test_ready_is_503_with_the_reason_once_the_sqlite_file_is_gone(
    tmp_path: Path, server: Callable[..., Server]
) -> None:
    path = tmp_path / "recovery.db"
    served = server(f"sqlite:///{path}")
    assert httpx.get(f"{served.base}/ready", timeout=10).status_code == 200

    path.rename(tmp_path / "moved.db")
    answer = httpx.get(f"{served.base}/ready", timeout=10)
    assert answer.status_code == 503
    assert str(path) in answer.json()["message"]
    assert answer.headers["retry-after"]

    (tmp_path / "moved.db").rename(path)
    assert httpx.get(f"{served.base}/ready", timeout=10).status_code == 200


def test_ready_is_503_while_postgresql_is_down(
    private_pg: PrivatePostgres, server: Callable[..., Server]
) -> None:
    served = server(private_pg.new_database())
    assert httpx.get(f"{served.base}/ready", timeout=10).json() == {
        "status": "ready",
        "database": "postgresql",
    }

    private_pg.stop()
    try:
        answer = httpx.get(f"{served.base}/ready", timeout=30)
        assert answer.status_code == 503
        assert answer.json()["message"] == "the database does not answer"
        # the metrics page still answers, saying the backlog could not be read
        page = httpx.get(f"{served.base}/metrics", timeout=30)
        assert page.status_code == 200
        assert sample(page.text, "recovery_backlog_up") == 0
    finally:
        private_pg.start()
    assert httpx.get(f"{served.base}/ready", timeout=30).status_code == 200


def test_ready_is_503_while_the_schema_is_not_the_one_the_code_needs(
    tmp_path: Path, server: Callable[..., Server]
) -> None:
    path = tmp_path / "recovery.db"
    served = server(f"sqlite:///{path}")
    assert httpx.get(f"{served.base}/ready", timeout=10).status_code == 200
    with sqlite3.connect(path) as conn:  # as if newer code had migrated past this one
        (head,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        conn.execute("UPDATE alembic_version SET version_num = '9999'")

    answer = httpx.get(f"{served.base}/ready", timeout=10)
    assert answer.status_code == 503
    assert answer.json()["message"] == (
        f"the database schema is at revision 9999, this code needs {head} "
        "(`recovery db upgrade` brings an older schema to it)"
    )
    assert httpx.get(f"{served.base}/health", timeout=10).status_code == 200  # alive, not ready
