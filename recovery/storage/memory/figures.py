"""`IncidentFigures` in memory: the same aggregates over the rows' figures, in Python."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from recovery.domain.compiler import ACTIVE_STATES
from recovery.domain.figures import Figures
from recovery.service.ports.reports import (
    BY_RETENTION,
    Awaiting,
    Erasure,
    ErasureTotals,
    GroupBy,
    GroupTotals,
    ReportFilter,
    p90_offset,
)
from recovery.storage.moments import utc


class FigureRow(Protocol):
    site: str
    playbook_id: str
    opened_at: str
    status: str
    pushes: int
    handoffs: int
    figures: Figures | None
    erasure: Erasure | None


def _selected(row: FigureRow, where: ReportFilter) -> bool:
    opened = utc(datetime.fromisoformat(row.opened_at))
    return (
        (where.site is None or row.site == where.site)
        and (where.sites is None or row.site in where.sites)
        and (where.playbook_id is None or row.playbook_id == where.playbook_id)
        and (where.since is None or opened >= utc(where.since))
        and (where.until is None or opened < utc(where.until))
    )


def _key(row: FigureRow, by: GroupBy) -> tuple[str, str]:
    return (
        row.site if by in ("site", "site_playbook") else "",
        row.playbook_id if by in ("playbook", "site_playbook") else "",
    )


def erasure_totals(
    rows: Iterable[FigureRow], by: GroupBy, where: ReportFilter
) -> list[ErasureTotals]:
    """Erasures made in [since, until) by group: (on request, by retention)."""
    counts: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        erasure = row.erasure
        if erasure is None or not _selected(row, where._replace(since=None, until=None)):
            continue
        at = utc(datetime.fromisoformat(erasure.at))
        if (where.since and at < utc(where.since)) or (where.until and at >= utc(where.until)):
            continue
        pair = counts.setdefault(_key(row, by), [0, 0])
        pair[erasure.how == BY_RETENTION] += 1
    return [ErasureTotals(*key, *pair) for key, pair in counts.items()]


def report_totals(rows: Iterable[FigureRow], by: GroupBy, where: ReportFilter) -> list[GroupTotals]:
    groups: dict[tuple[str, str], list[FigureRow]] = {}
    for row in rows:
        if row.figures is not None and _selected(row, where):
            groups.setdefault(_key(row, by), []).append(row)
    return [_totals(key, members) for key, members in groups.items()]


def _totals(key: tuple[str, str], members: list[FigureRow]) -> GroupTotals:
    figures = [(row, row.figures) for row in members if row.figures is not None]
    apology = [f.apology_minutes for _r, f in figures if f.apology_minutes is not None]
    recovery = [f.recovery_hours for _r, f in figures if f.recovery_hours is not None]
    return GroupTotals(
        site=key[0],
        playbook_id=key[1],
        incidents=len(figures),
        active=sum(r.status in ACTIVE_STATES for r, _f in figures),
        closed=sum(r.status == "closed" for r, _f in figures),
        released=sum(r.status == "released" for r, _f in figures),
        score=sum(f.score for _r, f in figures),
        pushes=sum(r.pushes for r, _f in figures),
        handoffs=sum(r.handoffs for r, _f in figures),
        steps_due=sum(f.steps_due for _r, f in figures),
        steps_kept=sum(f.steps_kept for _r, f in figures),
        full_remedy=sum(
            r.status == "closed" and r.pushes == 0 and r.handoffs == 0 and f.steps_missed == 0
            for r, f in figures
        ),
        held_seconds=sum(f.held_seconds for _r, f in figures),
        on_hold=sum(f.on_hold for _r, f in figures),
        median_apology_minutes=statistics.median(apology) if apology else None,
        median_recovery_hours=statistics.median(recovery) if recovery else None,
    )._replace(**money_and_approvals([f for _r, f in figures])._asdict())


class MoneyAndApprovals(NamedTuple):
    compensation: tuple[tuple[str, int], ...]
    approvals_decided: int
    approvals_pending: int
    median_approval_seconds: float | None
    p90_approval_seconds: float | None


def money_and_approvals(figures: list[Figures]) -> MoneyAndApprovals:
    """The compensation and approval totals of a group's figures (as `GroupTotals`)."""
    money: dict[str, int] = {}
    for f in figures:
        if f.compensation_spent > 0:
            money[f.compensation_currency] = (
                money.get(f.compensation_currency, 0) + f.compensation_spent
            )
    waits = sorted(f.approval_seconds for f in figures if f.approval_seconds is not None)
    return MoneyAndApprovals(
        tuple(sorted(money.items())),
        len(waits),
        sum(f.awaiting_approval for f in figures),
        statistics.median(waits) if waits else None,
        waits[p90_offset(len(waits))] if waits else None,
    )


def awaiting(rows: Iterable[tuple[str, FigureRow]], sites: Sequence[str] | None) -> list[Awaiting]:
    return sorted(
        Awaiting(incident_id, row.site, row.figures.awaiting_approval)
        for incident_id, row in rows
        if row.figures is not None
        and row.figures.awaiting_approval > 0
        and (sites is None or row.site in sites)
    )
