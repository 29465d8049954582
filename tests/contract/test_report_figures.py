"""The report aggregated by the database from the incidents' figure columns equals the
report computed from every state replayed from its log (the reference), on a few hundred
incidents made by the engine with varied stories: pushes, handoffs, holds, approvals, missed
and late deadlines, closings and releases, enough to hold every case of `CASES` (checked).
And the approval queue's count and rows come from the same columns."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine

from recovery import Catalog, CustomerProfile, OpenIncident, Recovery, RecoveryError
from recovery.bootstrap import over_engine
from recovery.domain.apply import replay
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.figures import Figures, figures
from recovery.domain.state import IncidentState, parse_iso
from recovery.service.reports import GroupBy, report_from_states
from recovery.storage.database import alembic_config, create_db_engine, upgrade
from tests.conftest import MANAGER, Clock

SITES = ["ribe", "vejle", "aarhus"]
# Stories enough to hold every case of `CASES` (asserted), on every backend; approvals are
# rare by chance, so they are asked for and decided more often. Scale is the benchmark's.
INCIDENTS = 300
APPROVALS = 0.5
GROUPINGS: list[GroupBy] = ["site_playbook", "site", "playbook", "all"]
APPROVAL_ACTIONS = ("request_approval", "grant_approval", "deny_approval")


def _evidence(compiled: CompiledPlaybook, step: str, action: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in compiled.evidence_for(step, action):
        if f.type in ("number", "money"):
            out[f.name] = f.min if f.min is not None and f.min > 0 else 1
        elif f.type == "bool":
            out[f.name] = False
        elif f.type == "choice":
            out[f.name] = (f.choices or ["x"])[0]
        elif f.type == "date":
            out[f.name] = "2026-07-04"
        else:
            out[f.name] = f"told {f.name}"
    return out


def _act(
    rec: Recovery, incident_id: str, choice: str, allowed: list[str], approvals: float = 0.0
) -> None:
    if choice == "push":
        rec.record_push(incident_id, "where is my refund?", actor=MANAGER)
    elif choice == "handoff":
        rec.hand_off(incident_id, "kim", "next shift takes over", actor=MANAGER)
    elif choice == "hold":
        rec.hold(incident_id, "waiting for the customer's bank details", actor=MANAGER)
    elif choice == "resume":
        rec.resume(incident_id, actor=MANAGER)
    elif choice == "close":
        rec.close(incident_id, "done", actor=MANAGER)
    elif choice == "release":
        rec.release(incident_id, "out of our hands", "the ombudsman", actor=MANAGER)
    else:
        step_actions = [a for a in allowed if "." in a]
        if not step_actions:
            return
        asked = [a for a in step_actions if a.split(".")[1] in APPROVAL_ACTIONS]
        if asked and approvals and random.random() < approvals:
            step_actions = asked  # an approval asked for or decided, more often than by chance
        step, action = random.choice(step_actions).split(".")
        compiled = rec.playbook_of(rec.get(incident_id).state)
        rec.act_on_step(
            incident_id,
            step,
            action,
            evidence=_evidence(compiled, step, action),
            reason="customer asked",
            amount=5000 if action == "request_approval" else None,
            note="We are sorry.",
            recipient="guest@example.dk",
            alternatives=["a voucher"],
            actor=MANAGER,
        )


def make_incidents(
    rec: Recovery, clock: Clock, count: int, seed: int = 15, approvals: float = 0.0
) -> list[str]:
    """`count` incidents with varied stories (deterministic for a seed); with `approvals`,
    the chance that a step action that can ask for or decide an approval does."""
    random.seed(seed)
    playbooks = rec.catalog.latest()
    choices = ["step"] * 8 + ["push", "handoff", "hold", "resume", "close", "close", "release"]
    ids = []
    for n in range(count):
        compiled = playbooks[n % len(playbooks)]
        opened = rec.open(
            OpenIncident(
                incident_type=compiled.playbook.incident_types[0],
                site=random.choice(SITES),
                customer=CustomerProfile(name="Bo Holm"),
                playbook=compiled.playbook.id,
            ),
            actor=MANAGER,
        )
        ids.append(opened.id)
        for _ in range(random.randrange(0, 9)):
            clock.advance(minutes=random.choice([1, 5, 30, 240, 1500]))
            view = rec.get(opened.id)
            with contextlib.suppress(RecoveryError):  # refused now: the story goes on
                _act(rec, opened.id, random.choice(choices), view.allowed, approvals)
        if n % 50 == 0:
            rec.sweep_deadlines(limit=1000)
    return ids


def _replayed(rec: Recovery, ids: list[str]) -> list[IncidentState]:
    states = []
    for incident_id in ids:
        events = rec.timeline(incident_id)
        first = events[0]
        compiled = rec.pinned_playbook(first.playbook_id, first.playbook_version)
        states.append(replay(compiled, events))
    return states


MEDIANS = ("apology_minutes", "recovery_hours", "approval_seconds")
CASES = {
    *((name, shape) for name in MEDIANS for shape in ("odd", "even")),
    ("approval_seconds", "none"),
    ("approval_seconds", "p90 below the largest"),
}
"""What the report's SQL must agree on: each median over an odd and an even number of values,
a group with no approvals (None), a 90th percentile that is not the group's largest value
(10 or more values)."""


def _cases(rec: Recovery, states: list[IncidentState]) -> set[tuple[str, str]]:
    """The shapes of the groups the stories made, in every grouping."""
    found = set()
    for by in GROUPINGS:
        groups: dict[tuple[str, str], list[Figures]] = {}
        for state in states:
            key = (
                state.site if by in ("site", "site_playbook") else "",
                state.playbook_id if by in ("playbook", "site_playbook") else "",
            )
            groups.setdefault(key, []).append(figures(rec.playbook_of(state), state))
        for members in groups.values():
            for name in MEDIANS:
                n = sum(getattr(f, name) is not None for f in members)
                found.add((name, "none" if n == 0 else "odd" if n % 2 else "even"))
                if n >= 10:
                    found.add((name, "p90 below the largest"))
    return found


def test_report_from_the_columns_equals_the_report_from_replayed_logs(
    rec: Recovery, clock: Clock, backend: str
) -> None:
    ids = make_incidents(rec, clock, INCIDENTS, approvals=APPROVALS)
    states = _replayed(rec, ids)
    assert _cases(rec, states) >= CASES  # a few hundred stories, every case among them
    since = parse_iso(states[len(states) // 2].opened_at)
    until = since + timedelta(days=3)
    first = states[0].playbook_id
    for by in GROUPINGS:
        rows = rec.report(by=by)
        assert rows == report_from_states(states, rec.playbook_of, by=by)
        assert sum(row.incidents for row in rows) == len(ids)
        assert any(row.on_hold or row.hours_held for row in rows)
        assert any(row.median_minutes_to_apology is not None for row in rows)
        assert any(row.deadlines_kept_pct not in (None, 100) for row in rows)
        assert any(row.compensation_spent for row in rows)
        assert any(row.p90_hours_to_approval for row in rows)
        assert any(row.approvals_pending for row in rows)
        # filtered: one site and a period; one playbook at two sites
        in_period = [
            s for s in states if since <= parse_iso(s.opened_at) < until and s.site == "vejle"
        ]
        assert in_period
        assert rec.report(by=by, site="vejle", since=since, until=until) == report_from_states(
            in_period, rec.playbook_of, by=by
        )
        at_two = [s for s in states if s.playbook_id == first and s.site in ("ribe", "aarhus")]
        assert len(at_two) > 10
        assert rec.report(by=by, playbook=first, sites=["ribe", "aarhus"]) == report_from_states(
            at_two, rec.playbook_of, by=by
        )


def test_approvals_waiting_are_counted_and_listed_by_site(rec: Recovery, clock: Clock) -> None:
    ids = make_incidents(rec, clock, 200, seed=7)
    waiting = {
        state.id: (state.site, sum(s.status == "awaiting_approval" for s in state.steps.values()))
        for state in _replayed(rec, ids)
        if state.status in ("open", "escalated")
    }
    waiting = {k: v for k, v in waiting.items() if v[1]}
    assert waiting, "the stories request approvals"
    log = rec.log
    assert log.awaiting_approval_count(None) == sum(n for _site, n in waiting.values())
    assert log.awaiting_approval_count(["ribe"]) == sum(
        n for site, n in waiting.values() if site == "ribe"
    )
    listed = log.awaiting_approval(["ribe", "vejle"], limit=1000)
    assert {(a.incident_id, a.site, a.steps) for a in listed} == {
        (k, site, n) for k, (site, n) in waiting.items() if site in ("ribe", "vejle")
    }


APPROVAL_TIMES = ("requested_at", "decided_at", "earlier_decisions", "earlier_seconds")


def _forget_approval_times(engine: Engine) -> int:
    """Take the approval times out of the stored states; how many states had some."""
    changed = []
    with engine.begin() as conn:
        for incident_id, text in conn.execute(sa.text("SELECT id, state FROM incidents")):
            state = orjson.loads(text)
            touched = False
            for step in state["steps"].values():
                for key in APPROVAL_TIMES:
                    if step.get("approval") and key in step["approval"]:
                        del step["approval"][key]
                        touched = True
            if touched:
                changed.append({"id": incident_id, "state": orjson.dumps(state).decode()})
        if changed:
            conn.execute(sa.text("UPDATE incidents SET state = :state WHERE id = :id"), changed)
    return len(changed)


def test_the_migration_fills_the_figures_of_existing_incidents(
    db_url: str, catalog: Catalog, clock: Clock
) -> None:
    engine = create_db_engine(db_url)
    rec = over_engine(engine, catalog, clock=clock)
    ids = make_incidents(rec, clock, 150, seed=3)
    expected = rec.report()
    config = alembic_config()
    with engine.begin() as conn:  # back to before the figure columns existed
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    stripped = _forget_approval_times(engine)  # as states were stored before 0017
    assert stripped > 10
    upgrade(engine)  # and forward again: the migration computes them from the states
    fresh = over_engine(create_db_engine(db_url), catalog, clock=clock)
    assert (
        fresh.report() == expected == report_from_states(_replayed(fresh, ids), fresh.playbook_of)
    )
    assert fresh.log.awaiting_approval_count(None) == rec.log.awaiting_approval_count(None)
    assert all(v.ok for v in fresh.verify_all())  # the stored states equal the replay again
    fresh.dispose()
    rec.dispose()
