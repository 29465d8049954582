"""Reports on how recovery is actually delivered, per site and playbook.

The recovery score of one incident starts at 100 and loses, for every time the customer had
to push for something the bundle should have given unasked, 15 points; for every handoff,
5; for every required step whose deadline passed while it was open, 10; for every other
step finished late, 5. It never goes below 0. The "step-by-step minimum" (each next step
only after the customer pushed) therefore scores visibly worse than the same story done by
the playbook.

First-contact full remedy: closed with no push, no handoff and no missed deadline.

Time held: how long incidents waited on the customer with their clock stopped (holds that
ended; an incident on hold now is counted in `on_hold`).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import IncidentState, parse_iso

GroupBy = Literal["site", "playbook", "site_playbook", "all"]

PUSH_PENALTY = 15
HANDOFF_PENALTY = 5
MISSED_PENALTY = 10
LATE_PENALTY = 5


def recovery_score(state: IncidentState) -> int:
    missed = sum(1 for s in state.steps.values() if s.missed)
    late = sum(1 for s in state.steps.values() if s.late and not s.missed)
    score = (
        100
        - PUSH_PENALTY * state.pushes
        - HANDOFF_PENALTY * state.handoffs
        - MISSED_PENALTY * missed
        - LATE_PENALTY * late
    )
    return max(score, 0)


@dataclass(frozen=True)
class ReportRow:
    group: str
    incidents: int
    active: int
    closed: int
    released: int
    recovery_score: float
    pushes_per_incident: float
    handoffs_per_incident: float
    deadlines_kept_pct: float | None
    first_contact_full_remedy_pct: float | None
    median_minutes_to_apology: float | None
    median_hours_to_full_recovery: float | None
    hours_held: float = 0.0
    on_hold: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _minutes(start: str, end: str) -> float:
    return (parse_iso(end) - parse_iso(start)).total_seconds() / 60


def _group_key(state: IncidentState, by: GroupBy) -> str:
    if by == "site":
        return state.site
    if by == "playbook":
        return state.playbook_id
    if by == "site_playbook":
        return f"{state.site} / {state.playbook_id}"
    return "all"


def build_report(
    states: Iterable[IncidentState],
    playbook_of: Callable[[IncidentState], CompiledPlaybook],
    *,
    by: GroupBy = "site_playbook",
) -> list[ReportRow]:
    groups: dict[str, list[IncidentState]] = {}
    for state in states:
        groups.setdefault(_group_key(state, by), []).append(state)
    return [_row(key, members, playbook_of) for key, members in sorted(groups.items())]


def _row(
    key: str,
    members: list[IncidentState],
    playbook_of: Callable[[IncidentState], CompiledPlaybook],
) -> ReportRow:
    count = len(members)
    closed = [s for s in members if s.status == "closed"]
    kept = due = 0
    to_apology: list[float] = []
    for state in members:
        compiled = playbook_of(state)
        for step in state.steps.values():
            resolved = step.status in compiled.kinds[step.kind].resolved
            if step.required and (resolved or step.missed):
                due += 1
                kept += int(resolved and not step.late and not step.missed)
            if resolved and step.resolved_at and compiled.steps[step.id].apology:
                to_apology.append(_minutes(state.opened_at, step.resolved_at))
    full_remedy = [
        s
        for s in closed
        if s.pushes == 0 and s.handoffs == 0 and not any(x.missed for x in s.steps.values())
    ]
    to_recovery = [_minutes(s.opened_at, s.ended_at) / 60 for s in closed if s.ended_at]
    return ReportRow(
        group=key,
        incidents=count,
        active=sum(1 for s in members if s.status in ("open", "escalated")),
        closed=len(closed),
        released=sum(1 for s in members if s.status == "released"),
        recovery_score=round(statistics.fmean(recovery_score(s) for s in members), 1),
        pushes_per_incident=round(sum(s.pushes for s in members) / count, 2),
        handoffs_per_incident=round(sum(s.handoffs for s in members) / count, 2),
        deadlines_kept_pct=round(100 * kept / due, 1) if due else None,
        first_contact_full_remedy_pct=(
            round(100 * len(full_remedy) / len(closed), 1) if closed else None
        ),
        median_minutes_to_apology=(round(statistics.median(to_apology), 1) if to_apology else None),
        median_hours_to_full_recovery=(
            round(statistics.median(to_recovery), 2) if to_recovery else None
        ),
        hours_held=round(sum(s.held_seconds for s in members) / 3600, 2),
        on_hold=sum(1 for s in members if s.holds),
    )


def in_period(state: IncidentState, since: datetime | None, until: datetime | None) -> bool:
    opened = parse_iso(state.opened_at)
    return (since is None or opened >= since) and (until is None or opened < until)
