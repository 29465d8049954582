"""One changed byte in an event's stored JSON: every read path says which incident and
which position are broken (a problem body, an error page, one CLI line with exit code 7),
never a 500 without a reason or a traceback; the auditor's page shows where the log
breaks. A real server (uvicorn) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from recovery import Catalog
from recovery.cli import app as cli
from tests.e2e.test_api_helpers import Api, running_api
from tests.e2e.test_web_helpers import HOTEL_FORM, Site, running_site, text_of

pytestmark = pytest.mark.usefixtures("backend")


def break_event(engine: object, incident_id: str, seq: int) -> None:
    """Change one byte of the event's JSON so that it no longer parses."""
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(
            text(
                "UPDATE events SET data = '#' || substr(data, 2) "
                "WHERE incident_id = :id AND seq = :seq"
            ),
            {"id": incident_id, "seq": seq},
        )


@pytest.fixture
def api(db_url: str, catalog: Catalog) -> Iterator[Api]:
    with running_api(db_url, catalog) as served:
        yield served


def opened_and_broken(api: Api) -> str:
    incident = api.open()
    desk = api.client("desk")
    note = desk.post(f"/incidents/{incident['id']}/notes", json={"text": "called back"})
    assert note.status_code in (200, 201), note.text
    break_event(api.engine, incident["id"], 2)
    return str(incident["id"])


def test_api_reads_answer_an_integrity_problem_naming_incident_and_position(api: Api) -> None:
    incident_id = opened_and_broken(api)
    auditor = api.client("auditor")
    for path in (
        f"/incidents/{incident_id}/timeline",
        f"/incidents/{incident_id}/replay?at_seq=2",
        f"/incidents/{incident_id}/verify",
    ):
        answer = auditor.get(path)
        if path.endswith("/verify"):  # verifying is how one finds the break: it answers
            assert answer.status_code == 200, answer.text
            assert answer.json()["ok"] is False and answer.json()["broken_seq"] == 2
            continue
        assert answer.status_code == 500, (path, answer.text)
        body = answer.json()
        assert body["error"] == "integrity_error", body
        assert (body["incident_id"], body["seq"]) == (incident_id, 2), body
        assert incident_id in body["message"] and "event 2" in body["message"]


def test_the_cli_prints_one_line_and_exits_7(api: Api, db_url: str) -> None:
    incident_id = opened_and_broken(api)
    runner = CliRunner()
    for args in (
        ["incident", "timeline", incident_id],
        ["audit", "replay", incident_id, "--at", "2100-01-01T00:00:00Z"],
    ):
        result = runner.invoke(cli, [*args, "--db", db_url])
        assert result.exit_code == 7, (args, result.stdout, result.stderr, result.exception)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert incident_id in lines[0] and "event 2" in lines[0]
    as_json = runner.invoke(cli, ["incident", "timeline", incident_id, "--db", db_url, "--json"])
    assert as_json.exit_code == 7
    assert json.loads(as_json.stdout)["seq"] == 2


@pytest.fixture
def site(db_url: str, catalog: Catalog, tmp_path: Path) -> Iterator[Site]:
    with running_site(db_url, catalog, tmp_path / "mail") as served:
        yield served


def test_the_web_pages_name_the_break(site: Site) -> None:
    desk = site.signed_in("ana")
    desk.get("/web/incidents/new")
    made = desk.post("/web/incidents/new", HOTEL_FORM)
    assert made.status_code == 303, made.text
    incident_id = made.headers["location"].rsplit("/", 1)[1]
    break_event(site.engine, incident_id, 1)

    page = desk.get(f"/web/incidents/{incident_id}")
    assert page.status_code == 500
    shown = text_of(page.text)
    assert incident_id in shown and "event 1" in shown

    auditor = site.signed_in("aud")
    audit = auditor.get(f"/web/audit/{incident_id}")
    assert audit.status_code == 200, audit.text
    shown = text_of(audit.text)
    assert "broken" in shown and "from event 1" in shown
    assert auditor.get("/web/audit").status_code == 200


def test_an_unreadable_state_row_names_its_incident(api: Api, db_url: str) -> None:
    incident_id = str(api.open()["id"])
    with api.engine.begin() as conn:
        conn.execute(
            text("UPDATE incidents SET state = '#' || substr(state, 2) WHERE id = :id"),
            {"id": incident_id},
        )
    auditor = api.client("auditor")
    for path in (f"/incidents/{incident_id}", "/incidents"):
        answer = auditor.get(path)
        assert answer.status_code == 500, (path, answer.text)
        assert answer.json()["error"] == "integrity_error"
        assert answer.json()["incident_id"] == incident_id
    verified = auditor.get(f"/incidents/{incident_id}/verify")
    assert verified.status_code == 200 and verified.json()["ok"] is False
    assert "stored state" in verified.json()["problem"]
    shown = CliRunner().invoke(cli, ["incident", "show", incident_id, "--db", db_url])
    assert shown.exit_code == 7, (shown.stdout, shown.stderr)
    assert shown.stderr.count("\n") == 1 and incident_id in shown.stderr
