"""End-to-end tests of `recovery audit`: verify, keygen, checkpoint, verify-checkpoint and
export through Typer's runner, on SQLite and PostgreSQL (`--db`), with the CLI's
conventions: `--json` for machines, one `error:` line and a non-zero exit code on failure
(7 when the history does not verify)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from recovery import Recovery
from recovery.cli import app
from tests.conftest import Clock
from tests.contract.support import execute_sql
from tests.contract.test_checkpoints import TAMPERING, delete_incident, record_history, truncate

runner = CliRunner()


def run(*args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    if code != 0:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return result


def run_json(*args: str, code: int = 0) -> Any:
    return json.loads(run(*args, "--json", code=code).stdout)


@pytest.fixture
def history(rec: Recovery, clock: Clock, db_url: str) -> list[str]:
    return sorted(record_history(rec, clock) for _ in range(3))


# ---------------------------------------------------------------------------- verify


def test_verify_all_streams_every_result_as_json(db_url: str, history: list[str]) -> None:
    report = run_json("audit", "verify", "--all", "--db", db_url)

    assert report["ok"] is True
    assert (report["incidents"], report["events"], report["broken"]) == (3, 21, 0)
    assert [r["incident_id"] for r in report["results"]] == history
    assert all(r["ok"] and r["events"] == 7 for r in report["results"])


def test_verify_all_prints_a_summary_for_people(db_url: str, history: list[str]) -> None:
    shown = run("audit", "verify", "--all", "--db", db_url).stdout
    assert "Verified 3 incident(s), 21 event(s): all verify" in shown


@pytest.mark.parametrize("kind", ["edit", "delete", "insert", "reorder", "truncate"])
def test_verify_reports_tampering_with_the_incident_and_first_broken_event(
    rec: Recovery, db_url: str, history: list[str], kind: str
) -> None:
    tamper, position = TAMPERING[kind]
    tamper(rec, history[1])

    failed = run("audit", "verify", "--all", "--db", db_url, code=7)
    report = run_json("audit", "verify", "--all", "--db", db_url, code=7)
    named = run_json("audit", "verify", history[1], history[0], "--db", db_url, code=7)

    assert f"1 of 3 incident(s) do not verify; first: {history[1]} at event #{position}" in (
        failed.stderr
    )
    assert f"event #{position}" in failed.stdout and "BROKEN" in failed.stdout
    assert report["ok"] is False and report["broken"] == 1
    broken = [r for r in report["results"] if not r["ok"]]
    assert [(r["incident_id"], r["broken_seq"]) for r in broken] == [(history[1], position)]
    assert [r["incident_id"] for r in named["results"]] == [history[1], history[0]]
    assert named["results"][0]["broken_seq"] == position


def test_verify_of_an_unknown_incident_exits_4(db_url: str, history: list[str]) -> None:
    missing = run("audit", "verify", history[0], "inc_missing", "--db", db_url, code=4)
    assert "inc_missing" in missing.stderr


def test_verify_needs_incidents_or_all(db_url: str) -> None:
    assert runner.invoke(app, ["audit", "verify", "--db", db_url]).exit_code == 2


# ---------------------------------------------------------------------------- checkpoints


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoint-key.pem"
    run("audit", "keygen", "--out", str(path))
    return path


def test_keygen_writes_a_private_key_and_prints_the_public_one(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    made = run_json("audit", "keygen", "--out", str(path))

    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert path.stat().st_mode & 0o777 == 0o600
    assert Path(made["public_key_file"]).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert len(made["public_key"]) == 44
    again = run("audit", "keygen", "--out", str(path), code=2)
    assert "already exists" in again.stderr
    assert (
        run_json("audit", "keygen", "--out", str(path), "--force")["public_key"]
        != (made["public_key"])
    )


def test_checkpoint_then_verify_checkpoint(
    rec: Recovery, clock: Clock, db_url: str, history: list[str], key: Path, tmp_path: Path
) -> None:
    file = tmp_path / "checkpoint.json"
    written = run_json("audit", "checkpoint", "--key", str(key), "--out", str(file), "--db", db_url)
    document = json.loads(file.read_text())
    record_history(rec, clock)  # recorded after the checkpoint: fine

    by_file = run_json(
        "audit", "verify-checkpoint", str(file), "--public-key", f"{key}.pub", "--db", db_url
    )
    by_text = run(
        "audit",
        "verify-checkpoint",
        str(file),
        "--public-key",
        document["public_key"],
        "--db",
        db_url,
    ).stdout

    assert (written["incidents"], written["events"]) == (3, 21)
    assert [head[0] for head in document["heads"]] == history
    assert by_file["ok"] is True and by_file["findings"] == []
    assert (by_file["incidents"], by_file["new_incidents"]) == (4, 1)
    assert "signature valid" in by_text and "all heads present" in by_text


def test_checkpoint_to_stdout_is_the_document(db_url: str, history: list[str], key: Path) -> None:
    document = json.loads(run("audit", "checkpoint", "--key", str(key), "--db", db_url).stdout)
    assert document["count"] == 3 and len(document["heads"]) == 3


def test_verify_checkpoint_reports_deleted_and_truncated_incidents(
    rec: Recovery, db_url: str, history: list[str], key: Path, tmp_path: Path
) -> None:
    file = tmp_path / "checkpoint.json"
    run("audit", "checkpoint", "--key", str(key), "--out", str(file), "--db", db_url)
    delete_incident(rec, history[0])
    truncate(rec, history[2], keep=3, fix_state=True)
    args = ("audit", "verify-checkpoint", str(file), "--public-key", f"{key}.pub", "--db", db_url)

    failed = run(*args, code=7)
    report = run_json(*args, code=7)

    assert f"first: {history[0]} (deleted) at event #1" in failed.stderr
    assert "2 incident(s) do not match the checkpoint" in failed.stderr
    assert [(f["incident_id"], f["kind"], f["seq"]) for f in report["findings"]] == [
        (history[0], "deleted", 1),
        (history[2], "truncated", 4),
    ]
    assert run_json("audit", "verify", "--all", "--db", db_url)["ok"] is True  # chains alone


def test_no_checkpoint_is_written_when_the_history_does_not_verify(
    rec: Recovery, db_url: str, history: list[str], key: Path, tmp_path: Path
) -> None:
    TAMPERING["edit"][0](rec, history[2])
    file = tmp_path / "checkpoint.json"

    failed = run(
        "audit", "checkpoint", "--key", str(key), "--out", str(file), "--db", db_url, code=7
    )

    assert f"incident {history[2]} does not verify at event #2" in failed.stderr
    assert not file.exists() and list(tmp_path.glob("*.partial")) == []


def test_a_tampered_or_foreign_checkpoint_is_rejected(
    db_url: str, history: list[str], key: Path, tmp_path: Path
) -> None:
    file = tmp_path / "checkpoint.json"
    run("audit", "checkpoint", "--key", str(key), "--out", str(file), "--db", db_url)
    document = json.loads(file.read_text())
    other = tmp_path / "other.pem"
    run("audit", "keygen", "--out", str(other))

    def verify_with(doc: dict[str, Any], public: Path, code: int) -> str:
        tampered = tmp_path / "tampered.json"
        tampered.write_text(json.dumps(doc))
        args = ("audit", "verify-checkpoint", str(tampered), "--public-key", str(public))
        return str(run(*args, "--db", db_url, code=code).stderr)

    edited = json.loads(json.dumps(document))
    edited["heads"] = edited["heads"][1:]
    edited["count"] = 2
    assert "digest" in verify_with(edited, Path(f"{key}.pub"), 7)
    edited["created_at"] = "2030-01-01T00:00:00.000000Z"
    assert "signature" in verify_with(
        {**document, "created_at": edited["created_at"]}, Path(f"{key}.pub"), 7
    )
    assert "another key" in verify_with(document, Path(f"{other}.pub"), 7)
    assert "not the private key" in verify_with(document, key, 2)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{ not json")
    bad = run("audit", "verify-checkpoint", str(garbage), "--public-key", f"{key}.pub", code=7)
    assert "not a checkpoint" in bad.stderr
    run("audit", "verify-checkpoint", str(tmp_path / "none.json"), "--public-key", "x", code=2)


# ---------------------------------------------------------------------------- export


def test_export_jsonl_to_stdout_and_csv_to_a_file(
    db_url: str, history: list[str], tmp_path: Path
) -> None:
    lines = run("audit", "export", "--db", db_url).stdout.splitlines()
    file = tmp_path / "events.csv"
    written = run_json("audit", "export", "--format", "csv", "--out", str(file), "--db", db_url)
    table = list(csv.DictReader(io.StringIO(file.read_text())))

    rows = [json.loads(line) for line in lines]
    assert len(rows) == 21 and written == {
        "events": 21,
        "incidents": 3,
        "format": "csv",
        "out": str(file),
    }
    assert [r["hash"] for r in table] == [r["hash"] for r in rows]
    assert [int(r["seq"]) for r in table] == [r["seq"] for r in rows]


def test_export_filters(rec: Recovery, db_url: str, history: list[str]) -> None:
    execute_sql(rec, "UPDATE incidents SET site = 'odense' WHERE id = :id", id=history[1])

    def exported(*args: str) -> list[tuple[str, int]]:
        out = run("audit", "export", "--db", db_url, *args).stdout
        return [(row["incident_id"], row["seq"]) for row in map(json.loads, out.splitlines())]

    assert exported("--site", "odense") == [(history[1], seq) for seq in range(1, 8)]
    assert exported("--playbook", "complaint-written-answer") == []
    assert len(exported("--playbook", "hotel-walked-guest")) == 21
    since, until = "2026-07-04T15:30:00.000000Z", "2026-07-04T16:10:00.000000Z"
    assert (
        exported("--since", "2026-07-04T15:30:00Z", "--until", "2026-07-04T16:10Z")
        == [
            (incident, event.seq)
            for incident in history
            for event in rec.timeline(incident)
            if since <= event.recorded_at < until
        ]
        != []
    )
    assert exported("--until", "2026-07-04") == []


def test_export_refuses_a_bad_format_or_time(db_url: str, history: list[str]) -> None:
    assert "--format" in run("audit", "export", "--format", "xml", "--db", db_url, code=5).stderr
    assert "--since" in run("audit", "export", "--since", "soon", "--db", db_url, code=5).stderr
