"""Reports and the approval queue aggregated by SQL from the incidents' figure columns
(`service.ports.IncidentFigures`). The report reads only the covering index
`ix_incidents_report` (no state is parsed); memory does not grow with the incidents."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
)

from recovery.domain.compiler import ACTIVE_STATES
from recovery.service.ports.reports import (
    BY_RETENTION,
    Awaiting,
    ErasureTotals,
    GroupBy,
    GroupTotals,
    ReportFilter,
    p90_offset,
)
from recovery.storage.database import reading
from recovery.storage.moments import utc
from recovery.storage.tables.log import incidents

c = incidents.c


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


_SUMS = (
    func.count(),
    _count(c.status.in_(ACTIVE_STATES)),
    _count(c.status == "closed"),
    _count(c.status == "released"),
    func.sum(c.score),
    func.sum(c.pushes),
    func.sum(c.handoffs),
    func.sum(c.steps_due),
    func.sum(c.steps_kept),
    _count(and_(c.status == "closed", c.pushes == 0, c.handoffs == 0, c.steps_missed == 0)),
    func.sum(c.held_seconds),
    func.sum(c.on_hold),
)


def _keys(by: GroupBy) -> list[Any]:
    """The group's (site, playbook) columns; a constant for a part not grouped by."""
    return [
        c.site if by in ("site", "site_playbook") else literal(""),
        c.playbook_id if by in ("playbook", "site_playbook") else literal(""),
    ]


def _where(where: ReportFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.site is not None:
        conditions.append(c.site == where.site)
    if where.sites is not None:
        conditions.append(c.site.in_(list(where.sites)))
    if where.playbook_id is not None:
        conditions.append(c.playbook_id == where.playbook_id)
    if where.since is not None:
        conditions.append(c.opened_at >= utc(where.since))
    if where.until is not None:
        conditions.append(c.opened_at < utc(where.until))
    return conditions


def _median(
    conn: Connection, column: Any, conditions: list[ColumnElement[bool]], count: int
) -> float | None:
    """The median of `column` over the rows of `conditions` (`count` of them not NULL): the
    middle value, or the mean of the two middle ones. Read in order from the index on
    (site, playbook, `column`), so no sort when the group is one site's playbook."""
    if count == 0:
        return None
    middle = (
        select(column)
        .where(*conditions, column.is_not(None))
        .order_by(column)
        .offset((count - 1) // 2)
        .limit(2 - count % 2)
    )
    values = [float(value) for value in conn.execute(middle).scalars()]
    return sum(values) / len(values)


def _at(
    conn: Connection, column: Any, conditions: list[ColumnElement[bool]], count: int
) -> float | None:
    """The 90th percentile (nearest rank) of `column` over the rows of `conditions`."""
    if count == 0:
        return None
    value = conn.execute(
        select(column)
        .where(*conditions, column.is_not(None))
        .order_by(column)
        .offset(p90_offset(count))
        .limit(1)
    ).scalar_one()
    return float(value)


def _in_group(by: GroupBy, site: str, playbook_id: str) -> list[ColumnElement[bool]]:
    conditions = []
    if by in ("site", "site_playbook"):
        conditions.append(c.site == site)
    if by in ("playbook", "site_playbook"):
        conditions.append(c.playbook_id == playbook_id)
    return conditions


class FigureReads:
    """The aggregates of `IncidentFigures` on SQLite or PostgreSQL."""

    engine: Engine

    def _figures_reading(self) -> contextlib.AbstractContextManager[Connection]:
        return reading(self.engine)

    def report_totals(self, by: GroupBy, where: ReportFilter) -> list[GroupTotals]:
        conditions = _where(where)
        keys = _keys(by)
        counted = (func.count(c.apology_minutes), func.count(c.recovery_hours))
        query = select(*keys, *_SUMS, *counted).where(*conditions).group_by(*keys)
        out = []
        with self._figures_reading() as conn:
            for site, playbook_id, *sums, apologies, recoveries in conn.execute(query).all():
                *counts, held, on_hold = sums
                group = [*_in_group(by, site, playbook_id), *conditions]
                totals = (
                    site,
                    playbook_id,
                    *(int(n) for n in counts),
                    float(held),
                    int(on_hold),
                    _median(conn, c.apology_minutes, group, apologies),
                    _median(conn, c.recovery_hours, group, recoveries),
                )
                out.append(GroupTotals(*totals))
            return self._with_money_and_approvals(conn, by, conditions, out)

    def erasure_totals(self, by: GroupBy, where: ReportFilter) -> list[ErasureTotals]:
        """Erasures made in [since, until), by group and how: one grouped range read of
        the partial index `ix_incidents_erased` (erased incidents only, by `erased_at`)."""
        conditions: list[ColumnElement[bool]] = [c.erased_at.is_not(None)]
        conditions += _where(where._replace(since=None, until=None))
        if where.since is not None:
            conditions.append(c.erased_at >= utc(where.since))
        if where.until is not None:
            conditions.append(c.erased_at < utc(where.until))
        keys = _keys(by)
        retention = c.erasure == BY_RETENTION
        query = (
            select(*keys, _count(~retention), _count(retention)).where(*conditions).group_by(*keys)
        )
        with self._figures_reading() as conn:
            return [
                ErasureTotals(row[0], row[1], int(row[2]), int(row[3]))
                for row in conn.execute(query).all()
            ]

    def _with_money_and_approvals(
        self,
        conn: Connection,
        by: GroupBy,
        conditions: list[ColumnElement[bool]],
        groups: list[GroupTotals],
    ) -> list[GroupTotals]:
        """Compensation by currency, approvals decided (median, p90) and pending per group:
        three grouped reads of the partial indexes (few rows: only incidents that have
        them), then one percentile read per group with approvals."""
        keys = _keys(by)
        # a literal 0, not a parameter: the planner then sees the partial index applies
        spent = c.compensation_spent > literal_column("0")
        money: dict[tuple[str, str], list[tuple[str, int]]] = {}
        by_currency = (
            select(*keys, c.compensation_currency, func.sum(c.compensation_spent))
            .where(*conditions, spent)
            .group_by(*keys, c.compensation_currency)
        )
        for row in conn.execute(by_currency).all():
            money.setdefault((row[0], row[1]), []).append((row[2], int(row[3])))
        decided_query = (
            select(*keys, func.count())
            .where(*conditions, c.approval_seconds.is_not(None))
            .group_by(*keys)
        )
        decided = {(r[0], r[1]): int(r[2]) for r in conn.execute(decided_query).all()}
        pending_query = (
            select(*keys, func.sum(c.awaiting_approval))
            .where(*conditions, c.awaiting_approval > literal_column("0"))
            .group_by(*keys)
        )
        pending = {(r[0], r[1]): int(r[2]) for r in conn.execute(pending_query).all()}
        out = []
        for totals in groups:
            key = (totals.site, totals.playbook_id)
            count = decided.get(key, 0)
            group = [*_in_group(by, *key), *conditions]
            out.append(
                totals._replace(
                    compensation=tuple(sorted(money.get(key, []))),
                    approvals_decided=count,
                    approvals_pending=pending.get(key, 0),
                    median_approval_seconds=_median(conn, c.approval_seconds, group, count),
                    p90_approval_seconds=_at(conn, c.approval_seconds, group, count),
                )
            )
        return out

    def awaiting_approval(
        self, sites: Sequence[str] | None, limit: int, after: str | None = None
    ) -> list[Awaiting]:
        after_key = [] if after is None else [c.id > after]
        query = (
            select(c.id, c.site, c.awaiting_approval)
            .where(*_awaiting(sites), *after_key)
            .order_by(c.id)
            .limit(limit)
        )
        with self._figures_reading() as conn:
            return [Awaiting(*row) for row in conn.execute(query)]

    def awaiting_approval_count(self, sites: Sequence[str] | None) -> int:
        query = select(func.coalesce(func.sum(c.awaiting_approval), 0)).where(*_awaiting(sites))
        with self._figures_reading() as conn:
            return int(conn.execute(query).scalar_one())


def _awaiting(sites: Sequence[str] | None) -> list[ColumnElement[bool]]:
    conditions = [c.awaiting_approval > 0]
    if sites is not None:
        conditions.append(c.site.in_(list(sites)))
    return conditions
