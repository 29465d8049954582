"""Acceptance story 3: a complaint's written answer misses its deadline; the worker, which
was never told about that incident, escalates it once and notifies the back office."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recovery import Catalog, CustomerProfile, OpenIncident, Recovery
from recovery.bootstrap import connect, over_engine
from recovery.delivery import WebhookTarget
from recovery.delivery.testing import WebhookReceiver
from recovery.service.worker import run
from recovery.storage.database import create_db_engine
from tests.conftest import FRONT_DESK, Clock

SECRET = "back-office-secret"


def _open_complaint(rec: Recovery) -> str:
    command = OpenIncident(
        incident_type="energy.complaint",
        site="energy-north",
        customer=CustomerProfile(name="Sara Lind", member_since="2009-02-01"),
        summary="Told to wait 'up to 8 weeks' for an answer about a doubled bill",
    )
    return rec.open(command, actor=FRONT_DESK, channel="phone").id


def test_missed_written_answer_escalates_once_and_reaches_the_back_office(
    db_url: str, catalog: Catalog, clock: Clock, request: pytest.FixtureRequest
) -> None:
    request_cleanup = request.addfinalizer
    engine = create_db_engine(db_url)
    request_cleanup(engine.dispose)
    desk = over_engine(engine, catalog, clock=clock)
    incident = _open_complaint(desk)
    desk.act_on_step(
        incident, "written_answer", "draft", evidence={"body": "Dear Sara, ..."}, actor=FRONT_DESK
    )
    clock.advance(hours=49)  # the 48 h written answer was never sent

    with WebhookReceiver(SECRET) as back_office:
        target = WebhookTarget(back_office.url, SECRET, kinds={"escalation", "notify"})
        worker = over_engine(engine, catalog, clock=clock)  # a separate process in real life
        first = run(worker, [target], once=True)
        again = run(worker, [target], once=True)

        escalations = [r.json() for r in back_office.accepted() if r.json()["kind"] == "escalation"]

    assert first.deadlines_missed == 1
    assert again.deadlines_missed == 0
    assert len(escalations) == 1
    assert escalations[0]["incident_id"] == incident
    assert "written_answer" in escalations[0]["effect"]["steps"]
    assert all(r.signature_ok for r in back_office.accepted())
    view = desk.get(incident)
    assert view.status == "escalated"
    assert view.state.steps["written_answer"].missed
    missed = [e for e in desk.timeline(incident) if e.type == "deadline_missed"]
    assert len(missed) == 1 and missed[0].actor_role == "system"


def test_the_worker_command_runs_one_pass(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'recovery.db'}"
    rec = connect(
        db, clock=lambda: datetime.now(UTC) - timedelta(days=3)
    )  # opened three days ago: every deadline has passed
    incident = _open_complaint(rec)
    rec.dispose()
    done = subprocess.run(
        [sys.executable, "-m", "recovery.cli", "worker", "--once", "--json", "--db", db],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deadlines_missed"] == 1
    check = connect(db)
    assert check.get(incident).status == "escalated"
    check.dispose()
