"""kill -9 of a server between recording a command and replying to it, with idempotency
keys: the retry (to a restarted server) is answered with the first answer, and the log
holds every command once. The server is made to die at exactly that moment by the fault
hook `RECOVERY_FAULT_DIE_AFTER_COMMIT` (a key prefix): it SIGKILLs itself right after the
command's transaction committed, before the reply is sent (on SQLite before the group
commit's fsync too: a killed process loses nothing the operating system already holds)."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import PrivatePostgres, Server, token_for

# the fault injection setting (recovery.config): die right after recording, before replying
DIE_AFTER_COMMIT_ENV = "RECOVERY_FAULT_DIE_AFTER_COMMIT"

# kill -9 this many times per database (each kill costs a server start): the open, then
# commands on the incident it opened
KILLS = {"sqlite": 3, "postgres": 3}
OPEN = {
    "incident_type": "hotel.walked_guest",
    "site": "ribe-central",
    "customer": {"name": "Mette Jensen"},
}


@pytest.fixture(params=list(KILLS))
def db_kills(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, int]:
    """The database URL, and how many times to kill a server on it."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'recovery.db'}", KILLS["sqlite"]
    pg: PrivatePostgres = request.getfixturevalue("private_pg")
    return pg.new_database(), KILLS["postgres"]


def test_a_crash_between_commit_and_reply_is_answered_once(
    db_kills: tuple[str, int], server: Callable[..., Server]
) -> None:
    db, kills = db_kills
    headers = {"Authorization": f"Bearer {token_for(db)}"}
    served = server(db, **{DIE_AFTER_COMMIT_ENV: "die-"})
    requests = [("/incidents", OPEN, "die-open")]  # the incident's path is filled in below
    requests += [("notes", {"text": f"note {n}"}, f"die-note-{n}") for n in range(1, kills)]
    incident = ""
    duplicates = 0
    for recorded, (path, body, key) in enumerate(requests, start=1):
        url = path if path.startswith("/") else f"/incidents/{incident}/{path}"
        with (
            httpx.Client(base_url=served.base, headers=headers, timeout=30) as client,
            pytest.raises(httpx.TransportError),  # killed before it replied
        ):
            client.post(url, json=body, headers={"Idempotency-Key": key})
        assert served.wait_dead() == -signal.SIGKILL
        served.start()  # the same database, a new process
        with httpx.Client(base_url=served.base, headers=headers, timeout=30) as client:
            retry = client.post(url, json=body, headers={"Idempotency-Key": key})
            again = client.post(url, json=body, headers={"Idempotency-Key": key})
        assert retry.status_code == (201 if path == "/incidents" else 200), retry.text
        assert retry.headers["Idempotent-Replayed"] == "true"  # the first answer, stored
        assert again.content == retry.content
        if path == "/incidents":
            incident = retry.json()["incident"]["id"]
            assert retry.headers["Location"] == f"/incidents/{incident}"
        event = retry.json()["event"]
        with httpx.Client(base_url=served.base, headers=headers, timeout=30) as client:
            incidents = client.get("/incidents").json()["items"]
            timeline = client.get(f"/incidents/{incident}/timeline").json()["events"]
        duplicates += len(incidents) - 1 + len(timeline) - recorded
        assert timeline[event["seq"] - 1]["hash"] == event["hash"]  # the answer is the log's
    with httpx.Client(base_url=served.base, headers=headers, timeout=30) as client:
        timeline = client.get(f"/incidents/{incident}/timeline").json()["events"]
        verified = client.get(f"/incidents/{incident}/verify")
    notes = [e for e in timeline if e["type"] == "note_added"]
    kind = db.split(":")[0]
    print(f"\nkill -9 ×{kills} with idempotency keys ({kind}): {duplicates} duplicates")
    assert duplicates == 0
    assert len(notes) == kills - 1  # each note once
    assert len(timeline) == kills  # opened + the notes: no duplicates
    assert verified.status_code == 200 and verified.json()["ok"] is True
