"""Figures aggregated by the storage from the incidents' figure columns (`domain.figures`):
reports and the approval queue without reading every incident's state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, NamedTuple, Protocol

GroupBy = Literal["site", "playbook", "site_playbook", "all"]


class ReportFilter(NamedTuple):
    """Which incidents a report covers: opened in [since, until), at `site` (or one of
    `sites`), of `playbook_id`; None: any. Its erasures: those made in [since, until)."""

    site: str | None = None
    sites: Sequence[str] | None = None
    playbook_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class GroupTotals(NamedTuple):
    """One group's sums and medians, as the report's row is made of."""

    site: str
    """"" when the report is not grouped by site"""
    playbook_id: str
    """"" when the report is not grouped by playbook"""
    incidents: int
    active: int
    closed: int
    released: int
    score: int
    pushes: int
    handoffs: int
    steps_due: int
    steps_kept: int
    full_remedy: int
    held_seconds: float
    on_hold: int
    median_apology_minutes: float | None
    median_recovery_hours: float | None
    compensation: tuple[tuple[str, int], ...] = ()
    """(currency, minor units spent) of the currencies compensation was spent in, sorted"""
    approvals_decided: int = 0
    """incidents with an approval request decided"""
    approvals_pending: int = 0
    """steps awaiting approval now"""
    median_approval_seconds: float | None = None
    p90_approval_seconds: float | None = None
    """of the incidents' mean waits from approval request to decision (nearest rank)"""
    erased_on_request: int = 0
    erased_by_retention: int = 0
    """incidents whose personal data was erased in the period (by when it was erased)"""


ON_REQUEST = "request"
BY_RETENTION = "retention"


class Erasure(NamedTuple):
    """When an incident's personal data was erased, and how: ON_REQUEST (an administrator)
    or BY_RETENTION (the worker, its retention period passed)."""

    at: str
    how: str


class ErasureTotals(NamedTuple):
    """One group's erasures in a period."""

    site: str
    playbook_id: str
    on_request: int
    by_retention: int


def p90_offset(count: int) -> int:
    """The 90th percentile's position (nearest rank) among `count` sorted values."""
    return (9 * count + 9) // 10 - 1


class Awaiting(NamedTuple):
    """An active incident with steps awaiting approval."""

    incident_id: str
    site: str
    steps: int


class IncidentFigures(Protocol):
    """Aggregates over the figure columns, each one indexed query."""

    def report_totals(self, by: GroupBy, where: ReportFilter) -> list[GroupTotals]:
        """One row per group that has incidents (any order)."""
        ...

    def erasure_totals(self, by: GroupBy, where: ReportFilter) -> list[ErasureTotals]:
        """One row per group with incidents erased in [since, until) (any order): a range
        read of the erased incidents' partial index."""
        ...

    def awaiting_approval(
        self, sites: Sequence[str] | None, limit: int, after: str | None = None
    ) -> list[Awaiting]:
        """Incidents with steps awaiting approval at `sites` (None: every site), by id,
        only those with an id after `after` (keyset paging)."""
        ...

    def awaiting_approval_count(self, sites: Sequence[str] | None) -> int:
        """Steps awaiting approval at `sites` (None: every site)."""
        ...
