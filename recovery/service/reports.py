"""Reports on how recovery is actually delivered, per site and playbook.

The recovery score of one incident (`domain.figures`) starts at 100 and loses points for
pushes, handoffs, missed and late steps. The "step-by-step minimum" (each next step only
after the customer pushed) therefore scores visibly worse than the same story done by the
playbook.

First-contact full remedy: closed with no push, no handoff and no missed deadline.

Time to apology: from opening to the incident's (first) apology step resolved.

Compensation spent: the amounts of the compensation steps done (not offered, awaiting
approval or waived), per currency.

Approval turnaround: from a step's approval request to the manager's decision; the median
and 90th percentile (nearest rank) over the incidents with a decision, of each one's mean
wait; pending: steps awaiting approval now.

Personal data erased: the incidents whose personal data was erased in the period (by the
moment it was erased, whenever they were opened), on request (an administrator) or by
retention (the worker). A group with erasures but no incident opened in the period has a
row of its own, its per-incident figures empty.

Time held: how long incidents waited on the customer with their clock stopped (holds that
ended; an incident on hold now is counted in `on_hold`).

The storage aggregates each incident's figure columns by SQL (`ports.IncidentFigures`);
`report_from_states` computes the same report from states (replayed from the log), as the
reference the stored figures are checked against.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from recovery.domain.compiler import ACTIVE_STATES, CompiledPlaybook
from recovery.domain.customers import compensation_given
from recovery.domain.figures import (
    approval_waits,
    from_minor_units,
    minor_units,
    minutes_between,
    recovery_score,
)
from recovery.domain.state import IncidentState
from recovery.service.ports.reports import ErasureTotals, GroupBy, GroupTotals, p90_offset

__all__ = [
    "GroupBy",
    "ReportRow",
    "recovery_score",
    "report_csv",
    "report_from_states",
    "report_rows",
    "with_erasures",
]


@dataclass(frozen=True)
class ReportRow:
    group: str
    incidents: int
    active: int
    closed: int
    released: int
    recovery_score: float | None
    pushes_per_incident: float | None
    handoffs_per_incident: float | None
    deadlines_kept_pct: float | None
    first_contact_full_remedy_pct: float | None
    median_minutes_to_apology: float | None
    median_hours_to_full_recovery: float | None
    hours_held: float = 0.0
    on_hold: int = 0
    compensation_spent: dict[str, float] = field(default_factory=dict)
    """by currency: the amounts of compensation steps done"""
    approvals_decided: int = 0
    median_hours_to_approval: float | None = None
    p90_hours_to_approval: float | None = None
    approvals_pending: int = 0
    erased_on_request: int = 0
    erased_by_retention: int = 0
    """incidents whose personal data was erased in the period, by how"""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def group_name(by: GroupBy, site: str, playbook_id: str) -> str:
    if by == "site":
        return site
    if by == "playbook":
        return playbook_id
    if by == "site_playbook":
        return f"{site} / {playbook_id}"
    return "all"


def report_rows(by: GroupBy, totals: Iterable[GroupTotals]) -> list[ReportRow]:
    """The report's rows from each group's totals, ordered by group."""
    rows = [_row(group_name(by, t.site, t.playbook_id), t) for t in totals]
    return sorted(rows, key=lambda row: row.group)


def with_erasures(
    totals: Iterable[GroupTotals], erasures: Iterable[ErasureTotals]
) -> list[GroupTotals]:
    """Each group's totals with its erasures in the period; a group with erasures only
    gets totals of its own (no incident)."""
    groups = {(t.site, t.playbook_id): t for t in totals}
    for e in erasures:
        key = (e.site, e.playbook_id)
        group = groups.get(key) or _no_incident(*key)
        groups[key] = group._replace(
            erased_on_request=e.on_request, erased_by_retention=e.by_retention
        )
    return list(groups.values())


def _no_incident(site: str, playbook_id: str) -> GroupTotals:
    return GroupTotals(
        site=site,
        playbook_id=playbook_id,
        incidents=0,
        active=0,
        closed=0,
        released=0,
        score=0,
        pushes=0,
        handoffs=0,
        steps_due=0,
        steps_kept=0,
        full_remedy=0,
        held_seconds=0.0,
        on_hold=0,
        median_apology_minutes=None,
        median_recovery_hours=None,
    )


def _per_incident(total: float, count: int, digits: int) -> float | None:
    return round(total / count, digits) if count else None


def _row(group: str, t: GroupTotals) -> ReportRow:
    count = t.incidents
    return ReportRow(
        group=group,
        incidents=count,
        active=t.active,
        closed=t.closed,
        released=t.released,
        recovery_score=_per_incident(t.score, count, 1),
        pushes_per_incident=_per_incident(t.pushes, count, 2),
        handoffs_per_incident=_per_incident(t.handoffs, count, 2),
        deadlines_kept_pct=round(100 * t.steps_kept / t.steps_due, 1) if t.steps_due else None,
        first_contact_full_remedy_pct=(
            round(100 * t.full_remedy / t.closed, 1) if t.closed else None
        ),
        median_minutes_to_apology=(
            None if t.median_apology_minutes is None else round(t.median_apology_minutes, 1)
        ),
        median_hours_to_full_recovery=(
            None if t.median_recovery_hours is None else round(t.median_recovery_hours, 2)
        ),
        hours_held=round(t.held_seconds / 3600, 2),
        on_hold=t.on_hold,
        compensation_spent={cur: from_minor_units(n, cur) for cur, n in t.compensation},
        approvals_decided=t.approvals_decided,
        median_hours_to_approval=_hours(t.median_approval_seconds),
        p90_hours_to_approval=_hours(t.p90_approval_seconds),
        approvals_pending=t.approvals_pending,
        erased_on_request=t.erased_on_request,
        erased_by_retention=t.erased_by_retention,
    )


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def report_csv(rows: Iterable[ReportRow]) -> str:
    """The rows as CSV, one column per figure (empty: not measured), header first;
    compensation spent in one column per currency (`compensation_spent_EUR`)."""
    rows = list(rows)
    currencies = sorted({cur for row in rows for cur in row.compensation_spent})
    spent = [f"compensation_spent_{cur}" for cur in currencies]
    columns = [f.name for f in fields(ReportRow) if f.name != "compensation_spent"]
    at = columns.index("approvals_decided")
    columns[at:at] = spent
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        values: dict[str, Any] = {k: "" if v is None else v for k, v in row.to_dict().items()}
        money = row.compensation_spent
        del values["compensation_spent"]
        values.update({f"compensation_spent_{cur}": money.get(cur, 0) for cur in currencies})
        writer.writerow(values)
    return out.getvalue()


# ---------------------------------------------------------------------------- reference


def report_from_states(
    states: Iterable[IncidentState],
    playbook_of: Callable[[IncidentState], CompiledPlaybook],
    *,
    by: GroupBy = "site_playbook",
) -> list[ReportRow]:
    """The report computed from whole states, in memory (a reference: it reads them all).
    Erasures are not in it: they are counted by when they were made, not by the states
    opened in the period."""
    groups: dict[tuple[str, str], list[IncidentState]] = {}
    for state in states:
        key = (
            state.site if by in ("site", "site_playbook") else "",
            state.playbook_id if by in ("playbook", "site_playbook") else "",
        )
        groups.setdefault(key, []).append(state)
    return report_rows(by, (_totals(key, members, playbook_of) for key, members in groups.items()))


def _totals(
    key: tuple[str, str],
    members: list[IncidentState],
    playbook_of: Callable[[IncidentState], CompiledPlaybook],
) -> GroupTotals:
    closed = [s for s in members if s.status == "closed"]
    kept = due = 0
    to_apology: list[float] = []
    for state in members:
        compiled = playbook_of(state)
        apologies = []
        for step in state.steps.values():
            resolved = step.status in compiled.kinds[step.kind].resolved
            if step.required and (resolved or step.missed):
                due += 1
                kept += int(resolved and not step.late and not step.missed)
            if resolved and step.resolved_at and compiled.steps[step.id].apology:
                apologies.append(minutes_between(state.opened_at, step.resolved_at))
        if apologies:
            to_apology.append(min(apologies))
    full_remedy = [
        s
        for s in closed
        if s.pushes == 0 and s.handoffs == 0 and not any(x.missed for x in s.steps.values())
    ]
    to_recovery = [minutes_between(s.opened_at, s.ended_at) / 60 for s in closed if s.ended_at]
    money: dict[str, int] = {}
    waits: list[float] = []
    pending = 0
    for state in members:
        currency = playbook_of(state).playbook.currency
        for _when, amount, _step in compensation_given(playbook_of(state), state):
            money[currency] = money.get(currency, 0) + minor_units(amount, currency)
        decided, seconds = 0, 0.0
        for step in state.steps.values():
            n, waited = approval_waits(step.approval)
            decided, seconds = decided + n, seconds + waited
            if state.status in ACTIVE_STATES and step.status == "awaiting_approval":
                pending += 1
        if decided:
            waits.append(seconds / decided)
    waits.sort()
    return GroupTotals(
        site=key[0],
        playbook_id=key[1],
        incidents=len(members),
        active=sum(1 for s in members if s.status in ACTIVE_STATES),
        closed=len(closed),
        released=sum(1 for s in members if s.status == "released"),
        score=sum(recovery_score(s) for s in members),
        pushes=sum(s.pushes for s in members),
        handoffs=sum(s.handoffs for s in members),
        steps_due=due,
        steps_kept=kept,
        full_remedy=len(full_remedy),
        held_seconds=sum(s.held_seconds for s in members),
        on_hold=sum(1 for s in members if s.holds),
        median_apology_minutes=statistics.median(to_apology) if to_apology else None,
        median_recovery_hours=statistics.median(to_recovery) if to_recovery else None,
        compensation=tuple(sorted((cur, n) for cur, n in money.items() if n > 0)),
        approvals_decided=len(waits),
        approvals_pending=pending,
        median_approval_seconds=statistics.median(waits) if waits else None,
        p90_approval_seconds=waits[p90_offset(len(waits))] if waits else None,
    )
