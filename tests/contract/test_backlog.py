"""`Storage.backlog`: what the metrics page reports as waiting, the same on every backend."""

from __future__ import annotations

from datetime import timedelta

from recovery import Recovery
from recovery.service.ports import Backlog
from tests.conftest import Clock
from tests.contract.test_deadlines import _complaint


def test_the_backlog_counts_what_waits_and_the_earliest_deadline(
    rec: Recovery, clock: Clock
) -> None:
    assert rec.storage.backlog() == Backlog(outbox_pending=0, letters_queued=0, oldest_due_at=None)

    incident_id = _complaint(rec)
    state = rec.get(incident_id).state
    due = [step.due_at for step in state.steps.values() if step.due_at is not None]
    opened = rec.storage.backlog()
    assert opened.oldest_due_at is not None
    assert opened.oldest_due_at.isoformat().replace("+00:00", "Z")[:19] == min(due)[:19]
    waiting = [m for m in rec.outbox(incident_id) if m["status"] == "pending"]
    assert opened.outbox_pending == len(waiting)

    clock.advance(hours=49)  # the written answer is missed: escalation and notices queued
    assert rec.sweep_deadlines()
    swept = rec.storage.backlog()
    assert swept.outbox_pending > opened.outbox_pending
    assert swept.outbox_pending == len(
        [m for m in rec.outbox(incident_id) if m["status"] == "pending"]
    )
    assert swept.oldest_due_at is None or swept.oldest_due_at > opened.oldest_due_at
    assert clock() - opened.oldest_due_at > timedelta(0)
