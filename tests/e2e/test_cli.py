"""End-to-end tests of the operator CLI: Typer's runner, plus real runs of the console script."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner, Result

from recovery import Recovery
from recovery.cli import app
from recovery.demo import seed_demo
from recovery.letters import FileMailer
from recovery.storage.database import alembic_config

runner = CliRunner()
RECOVERY_SCRIPT = Path(sys.executable).parent / "recovery"

BAD_PLAYBOOK = """\
id: bad-playbook
version: 1
title: Bad
incident_types: [hotel.walked_guest]
steps:
  - id: apologise
    title: Apologise
    owner: front_desk
    due: soon
"""


def run(*args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    if code != 0:
        assert_one_line_error(result.stderr)
    return result


def run_json(*args: str, code: int = 0) -> Any:
    return json.loads(run(*args, "--json", code=code).stdout)


def assert_one_line_error(stderr: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def demo_db(db: str) -> str:
    created = run_json("demo", "--db", db)["created"]
    assert len(created) == 6
    return db


def open_hotel_incident(db: str, *extra: str) -> str:
    out = run_json(
        "incident",
        "open",
        "--db",
        db,
        "--type",
        "hotel.walked_guest",
        "--site",
        "ribe-central",
        "--customer",
        "Mette Jensen",
        "--channel",
        "desk",
        "--actor",
        "ana",
        *extra,
    )
    return str(out["incident"]["id"])


# ---------------------------------------------------------------------------- db


def test_db_upgrade_migrates_a_fresh_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()

    first = run_json("db", "upgrade", "--db", f"sqlite:///{path}")
    again = run("db", "upgrade", "--db", f"sqlite:///{path}")

    assert path.is_file()
    assert first["revision"] == head
    assert f"revision {head}" in again.stdout


# ---------------------------------------------------------------------------- playbooks


def test_playbooks_list_shows_every_playbook_with_its_steps() -> None:
    rows = {row["id"]: row for row in run_json("playbooks", "list")}

    assert rows["hotel-walked-guest"]["steps"] == 6
    assert "hotel.walked_guest" in rows["hotel-walked-guest"]["incident_types"]
    assert "hotel-walked-guest" in run("playbooks", "list").stdout


def test_playbooks_validate_accepts_the_shipped_playbooks() -> None:
    result = run("playbooks", "validate")
    assert "hotel-walked-guest v3" in result.stdout


def test_playbooks_validate_names_the_file_and_field_of_each_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_PLAYBOOK, encoding="utf-8")

    result = run("playbooks", "validate", str(tmp_path), code=3)
    report = run_json("playbooks", "validate", str(bad), code=3)

    assert f"{bad}: steps[0].due: " in result.stdout
    assert "1 problem in 1 file" in result.stderr
    assert report["valid"] is False
    assert report["files"][0]["problems"][0]["location"] == "steps[0].due"


def test_playbooks_validate_warns_of_missing_translations_and_refuses_a_wrong_one(
    tmp_path: Path,
) -> None:
    shipped = run_json("playbooks", "validate")
    assert all(f["warnings"] == [] for f in shipped["files"])  # every staff text translated
    book = tmp_path / "words.yaml"
    book.write_text(
        "id: words\nversion: 1\ntitle: Words\nincident_types: [test.words]\n"
        "translations: {da: {title: Ord}}\n"
        "steps:\n  - id: fix\n    title: Fix it\n    owner: front_desk\n    due: 1h\n"
        "    evidence: [{name: what, label: What was fixed}]\n"
        "    translations: {da: {title: Ret det}}\n",
        encoding="utf-8",
    )
    report = run_json("playbooks", "validate", str(book))  # warnings only: exit 0
    (found,) = report["files"]
    assert found["ok"] is True and found["problems"] == []
    warned = {w["location"]: w["message"] for w in found["warnings"]}
    assert "labels.what" in warned["steps[0].translations.da"]
    assert "no 'id' title" in warned["translations.id.title"]
    book.write_text(
        book.read_text(encoding="utf-8").replace("{title: Ret det}", "{labels: {wat: Hvad}}"),
        encoding="utf-8",
    )
    result = run("playbooks", "validate", str(book), code=3)
    assert f"{book}: steps[0].translations.da.labels.wat: " in result.stdout
    assert "no evidence field 'wat'" in result.stdout


def test_sites_list_and_validate_name_the_file_and_field(tmp_path: Path) -> None:
    shipped = run_json("sites", "list")
    jakarta = next(s for s in shipped if s["site"] == "jakarta-thamrin")
    assert jakarta["time_zone"] == "Asia/Jakarta" and jakarta["holidays_of"] == "ID"
    assert jakarta["hours"]["sat"] == ["09:00-13:00"]
    bad = tmp_path / "desk.yaml"
    bad.write_text("site: desk\nversion: 1\ntime_zone: UTC\nhours: {mon-fri: '16:00-08:00'}\n")
    result = run("sites", "validate", str(tmp_path), code=3)
    assert f"{bad}: hours.mon-fri: '16:00-08:00' closes before it opens" in result.stderr


def test_playbooks_show_lists_steps_limits_and_cue_rules() -> None:
    shown = run("playbooks", "show", "hotel-walked-guest").stdout
    data = run_json("playbooks", "show", "hotel-walked-guest", "--version", "3")

    assert "rebook_local" in shown and "manager_call" in shown and "loyal_guest" in shown
    assert data["limits"]["front_desk"]["max_amount"] == 300
    run("playbooks", "show", "no-such-playbook", code=4)


def test_an_invalid_playbook_folder_is_one_line_not_a_traceback(tmp_path: Path, db: str) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_PLAYBOOK, encoding="utf-8")
    result = run("incident", "list", "--db", db, "--playbooks", str(tmp_path), code=3)
    assert "steps[0].due" in result.stderr


# ---------------------------------------------------------------------------- demo


def test_demo_records_the_six_stories_and_leaves_two_open(demo_db: str) -> None:
    open_now = {v["playbook_id"]: v for v in run_json("incident", "list", "--db", demo_db)}
    everything = run_json("incident", "list", "--all", "--db", demo_db)
    by_playbook = {v["playbook_id"]: v for v in everything}

    assert sorted(open_now) == ["complaint-written-answer", "hotel-walked-guest"]
    assert open_now["complaint-written-answer"]["steps"]["written_answer"]["status"] == "drafted"
    # tonight's guest: the suite waits for a manager, asked for by the demo's own desk
    waiting = open_now["hotel-walked-guest"]
    assert waiting["steps"]["pay_room"]["status"] == "awaiting_approval"
    assert waiting["owner"] == "desk"
    assert len(everything) == 6
    assert by_playbook["pass-change-bounced"]["status"] == "closed"
    assert by_playbook["pass-change-bounced"]["handoffs"] == 1
    assert by_playbook["loyal-customer-at-risk"]["status"] == "released"
    assert by_playbook["loyal-customer-at-risk"]["release"]["referral"]
    hotel = run_json(
        "incident", "list", "--all", "--db", demo_db, "--playbook", "hotel-walked-guest"
    )
    assert sorted(v["pushes"] for v in hotel) == [0, 0, 5]
    assert run_json("demo", "--db", demo_db)["created"] == []


def test_seed_demo_through_the_library(rec: Recovery, tmp_path: Path) -> None:
    ids = seed_demo(rec, mailer=FileMailer(tmp_path))

    views = [rec.get(i) for i in ids]
    assert [v.status for v in views] == ["closed", "closed", "closed", "released", "open", "open"]
    assert [v.state.pushes for v in views] == [0, 5, 0, 0, 0, 0]
    assert views[3].state.cues == ["upset", "considering_competitor"]
    assert all(r.ok for r in rec.verify_all())
    assert len(list(tmp_path.glob("*.eml"))) == 3, "three stories' letters were mailed"
    assert seed_demo(rec) == []
    assert len(seed_demo(rec, force=True, mailer=FileMailer(tmp_path))) == 6


# ---------------------------------------------------------------------------- incidents


def test_open_show_act_close(db: str, tmp_path: Path) -> None:
    incident = open_hotel_incident(db, "--member-since", "2014-03-01", "--cue", "upset")
    shown = run_json("incident", "show", incident, "--db", db)
    assert shown["status"] == "open" and shown["tier"] == 2
    assert {s["status"] for s in shown["steps"].values()} == {"open"}
    assert "close" not in shown["allowed"]
    assert "rebook_local" in run("incident", "show", incident, "--db", db).stdout

    def act(step: str, action: str, *evidence: str, role: str = "front_desk") -> Any:
        pairs = [arg for item in evidence for arg in ("-e", item)]
        return run_json(
            "incident",
            "act",
            incident,
            step,
            action,
            *pairs,
            "--db",
            db,
            "--role",
            role,
            "--channel",
            "desk",
        )

    act("apologise", "complete", "apology_by=Ana")
    refused = run(
        "incident",
        "act",
        incident,
        "rebook_local",
        "complete",
        "-e",
        "hotel=Far away",
        "-e",
        "distance_km=32",
        "--db",
        db,
        code=5,
    )
    assert "distance_km" in refused.stderr
    act("rebook_local", "complete", "hotel=Hotel Dagmar", "distance_km=0.4")
    act("pay_room", "complete", "amount=185")
    act("dinner", "complete", "amount=96", "restaurant=Backhaus")
    act("ask_what_else", "complete", "answer=nothing")
    act("manager_call", "complete", "outcome=Called", role="manager")
    manager = ("--db", db, "--role", "manager")
    run_json("letters", "draft", incident, "written_apology", "--note", "We are sorry.", *manager)
    queued = run_json("letters", "send", incident, "written_apology", "--to", "m@x.dk", *manager)
    assert queued["incident"]["steps"]["written_apology"]["status"] == "sending"
    assert "close" not in queued["incident"]["allowed"]
    mailed = run_json("worker", "--once", "--mail-dir", str(tmp_path / "mail"), "--db", db)
    assert mailed["letters_sent"] == 1
    assert run_json("letters", "status", incident, "--db", db)["counts"]["sent"] == 1

    closed = run_json("incident", "close", incident, "--db", db, "--summary", "All done")
    timeline = run_json("incident", "timeline", incident, "--db", db)

    assert closed["incident"]["status"] == "closed"
    assert closed["incident"]["pushes"] == 0
    assert timeline[0]["type"] == "opened"
    assert timeline[-1]["type"] == "closed" and len(timeline) == 11
    assert "closed" in run("incident", "timeline", incident, "--db", db).stdout


def test_an_invalid_action_prints_what_is_allowed_in_one_line(db: str) -> None:
    incident = open_hotel_incident(db)

    step = run("incident", "act", incident, "apologise", "frobnicate", "--db", db, code=5)
    close = run("incident", "close", incident, "--db", db, code=5)

    assert "apologise.complete" in step.stderr
    assert "allowed now:" in close.stderr and "apologise.complete" in close.stderr
    error = run_json("incident", "close", incident, "--db", db, code=5)
    assert error["error"] == "not_allowed_now" and "apologise.complete" in error["allowed"]


def test_user_errors_are_one_line_with_their_exit_code(db: str) -> None:
    missing = run_json("incident", "show", "inc_missing", "--db", db, code=4)
    bad_date = run(
        "incident",
        "open",
        "--db",
        db,
        "--type",
        "hotel.walked_guest",
        "--site",
        "s",
        "--customer",
        "C",
        "--member-since",
        "last year",
        code=2,
    )
    bad_type = run(
        "incident",
        "open",
        "--db",
        db,
        "--type",
        "no.such_type",
        "--site",
        "s",
        "--customer",
        "C",
        code=4,
    )
    auditor = run(
        "incident",
        "note",
        open_hotel_incident(db),
        "hello",
        "--role",
        "auditor",
        "--db",
        db,
        code=5,
    )
    bad_db = run("incident", "list", "--db", "not a url", code=8)

    assert missing == {"error": "incident_not_found", "message": "no incident 'inc_missing'"}
    assert "customer.member_since" in bad_date.stderr
    assert "no playbook handles incident type 'no.such_type'" in bad_type.stderr
    assert "auditor" in auditor.stderr
    assert "not a database URL" in bad_db.stderr


def test_the_thin_wrappers_record_their_events(db: str) -> None:
    incident = open_hotel_incident(db)
    common = ["--db", db, "--actor", "ana"]

    run("incident", "push", incident, "a room in town", "--step", "rebook_local", *common)
    run("incident", "note", incident, "guest waiting in the lobby", *common)
    run("incident", "contact", incident, "guest called back", "--channel", "phone", *common)
    run("incident", "cues", incident, "upset", *common)
    run("incident", "handoff", incident, "--to", "mads", "--context", "guests at desk", *common)
    run("incident", "escalate", incident, "--reason", "wedding in 2 hours", *common)
    held = run_json(
        "incident", "hold", incident, "--step", "dinner", "--reason", "the guest's receipt", *common
    )
    resumed = run_json("incident", "resume", incident, *common)
    released = run_json(
        "incident",
        "release",
        incident,
        "--reason",
        "no room in town",
        "--referral",
        "Hotel Dagmar",
        *common,
    )
    reopened = run_json("incident", "reopen", incident, "--reason", "found a room", *common)
    stale = run("incident", "note", incident, "late", "--expect-version", "2", *common, code=6)

    state = reopened["incident"]
    assert released["incident"]["status"] == "released"
    assert state["status"] == "open" and state["owner"] == "mads"
    assert (state["pushes"], state["notes"], state["contacts"], state["handoffs"]) == (1, 1, 1, 1)
    assert state["escalations"] == 1 and "manager_call" in state["steps"]
    assert "version" in stale.stderr
    assert held["incident"]["holds"]["dinner"]["reason"] == "the guest's receipt"
    assert resumed["incident"]["holds"] is None and resumed["event"]["type"] == "resumed"


# ---------------------------------------------------------------------------- audit


def test_audit_verify_detects_one_tampered_event(demo_db: str) -> None:
    assert run_json("audit", "verify", "--all", "--db", demo_db)["ok"] is True
    path = demo_db.removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as conn:
        incident, seq = conn.execute(
            "SELECT incident_id, seq FROM events WHERE type = 'released'"
        ).fetchone()
        conn.execute(  # the referral (Hotel Dagmar) is sealed: its placeholder, edited
            "UPDATE events SET data = replace(data, '[redacted]', '[REDACTED]') "
            "WHERE incident_id = ? AND seq = ?",
            (incident, seq),
        )
        conn.commit()

    result = run("audit", "verify", "--all", "--db", demo_db, code=7)
    report = run_json("audit", "verify", incident, "--db", demo_db, code=7)

    assert incident in result.stderr and f"event #{seq}" in result.stderr
    assert report["results"] == [
        {
            "incident_id": incident,
            "ok": False,
            "events": report["results"][0]["events"],
            "broken_seq": seq,
            "problem": "the event's content does not match its hash",
        }
    ]


def test_audit_replay_to_an_event_or_a_moment(demo_db: str) -> None:
    hotel = run_json(
        "incident", "list", "--all", "--db", demo_db, "--playbook", "hotel-walked-guest"
    )
    old_way = next(v for v in hotel if v["pushes"] == 5)
    events = run_json("incident", "timeline", old_way["id"], "--db", demo_db)

    at_seq = run_json("audit", "replay", old_way["id"], "--seq", "3", "--db", demo_db)
    at_time = run_json(
        "audit", "replay", old_way["id"], "--at", events[3]["recorded_at"], "--db", demo_db
    )
    shown = run("audit", "replay", old_way["id"], "--seq", "3", "--db", demo_db).stdout

    assert at_seq["version"] == 3 and at_seq["pushes"] == 1 and at_seq["status"] == "open"
    assert at_time["version"] == 4
    assert at_time["steps"]["rebook_local"]["status"] == "done"
    assert "as of event #3" in shown
    before = run("audit", "replay", old_way["id"], "--at", "2001-01-01", "--db", demo_db, code=5)
    assert "did not exist yet" in before.stderr


# ---------------------------------------------------------------------------- real process


def test_the_console_script_runs_and_fails_cleanly(db: str) -> None:
    listed = subprocess.run(
        [str(RECOVERY_SCRIPT), "playbooks", "list", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    missing = subprocess.run(
        [str(RECOVERY_SCRIPT), "incident", "show", "inc_missing", "--db", db],
        capture_output=True,
        text=True,
        check=False,
    )

    assert listed.returncode == 0, listed.stderr
    assert "hotel-walked-guest" in {row["id"] for row in json.loads(listed.stdout)}
    assert missing.returncode == 4
    assert_one_line_error(missing.stderr)


# ---------------------------------------------------------------------------- PostgreSQL


@pytest.mark.postgres
def test_db_option_works_with_postgresql(pg_url: str) -> None:
    assert run_json("db", "upgrade", "--db", pg_url)["revision"]
    incident = open_hotel_incident(pg_url)

    listed = run_json("incident", "list", "--db", pg_url)

    assert [v["id"] for v in listed] == [incident]
    assert run_json("audit", "verify", "--all", "--db", pg_url)["ok"] is True


def test_a_database_from_a_newer_release_is_one_line_not_a_traceback(db: str) -> None:
    run("incident", "list", "--db", db)  # creates the schema at this release's head
    with closing(sqlite3.connect(db.removeprefix("sqlite:///"))) as conn, conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    result = run("incident", "list", "--db", db, code=8)
    assert "'9999'" in result.stderr and "newer release" in result.stderr
