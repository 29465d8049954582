"""The reports page for managers and auditors: how recovery is delivered, per group, over
a date range (incidents opened from/to, days in the display zone), with a week-by-week
trend drawn as inline SVG (a data table beside it) and the same rows as CSV.

Shown are the figures the report holds (`service.reports.ReportRow`), compensation spent
(per currency) and approval turnaround (median and 90th percentile, pending now) among them,
and the incidents whose personal data was erased in the range (on request, by retention).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from fastapi import APIRouter, Request
from starlette.responses import Response

from recovery.domain.words import say
from recovery.http.web.context import signed_in, web
from recovery.http.web.errors import PageError
from recovery.http.web.reports_chart import Chart, bar_chart
from recovery.http.web.responses import WebRoute, render
from recovery.http.web.translations import N_
from recovery.service.principal import Permission
from recovery.service.reports import GroupBy, ReportRow, report_csv

router = APIRouter(route_class=WebRoute, include_in_schema=False)

GROUPS = {
    "site_playbook": N_("property and playbook"),
    "site": N_("property"),
    "playbook": N_("playbook"),
    "all": N_("everything"),
}
MAX_WEEKS = 26  # the trend's last weeks: one bounded report call each
DEFAULT_WEEKS = 12  # the trend when no start date is given


def _group(by: str) -> GroupBy:
    return cast(GroupBy, by if by in GROUPS else "site_playbook")


@dataclass(frozen=True)
class Range:
    start: date | None
    end: date | None

    def bounds(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """[since, until) in UTC-aware times: the end day is included."""
        since = datetime.combine(self.start, time(), zone) if self.start else None
        until = datetime.combine(self.end + timedelta(days=1), time(), zone) if self.end else None
        return since, until


def _day(value: str, name: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise PageError(
            400,
            "Not a date",
            f"The {name} date {value[:40]!r} is not a date: write it as YYYY-MM-DD.",
        ) from None


def read_range(start: str, end: str) -> Range:
    first, last = _day(start, "from"), _day(end, "to")
    if first and last and first > last:
        raise PageError(
            400, "Dates reversed", f"The from date ({first}) is after the to date ({last})."
        )
    return Range(first, last)


def _weeks(rng: Range, today: date) -> tuple[list[date], bool]:
    """The Mondays of the trend's ISO weeks (at most MAX_WEEKS, the latest), and whether
    the range had more."""
    last = rng.end or today
    last_monday = last - timedelta(days=last.weekday())
    first = rng.start or last_monday - timedelta(weeks=DEFAULT_WEEKS - 1)
    first_monday = first - timedelta(days=first.weekday())
    count = (last_monday - first_monday).days // 7 + 1
    shown = min(count, MAX_WEEKS)
    start = last_monday - timedelta(weeks=shown - 1)
    return [start + timedelta(weeks=i) for i in range(shown)], count > shown


async def _rows(request: Request, viewer: Any, by: GroupBy, rng: Range) -> list[ReportRow]:
    ctx = web(request)
    since, until = rng.bounds(ctx.zone)
    rows: list[ReportRow] = await ctx.api.runner.read(
        ctx.api.rec.report,
        by=by,
        sites=None if viewer.all_sites else list(viewer.sites),
        since=since,
        until=until,
    )
    return rows


@dataclass(frozen=True)
class Erased:
    """Incidents whose personal data was erased in the range, over every group shown."""

    on_request: int
    by_retention: int

    @property
    def total(self) -> int:
        return self.on_request + self.by_retention

    @classmethod
    def of(cls, rows: list[ReportRow]) -> Erased:
        return cls(sum(r.erased_on_request for r in rows), sum(r.erased_by_retention for r in rows))


@dataclass(frozen=True)
class Week:
    monday: date
    row: ReportRow | None

    @property
    def label(self) -> str:
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"


async def _trend(request: Request, viewer: Any, rng: Range) -> tuple[list[Week], bool]:
    ctx = web(request)
    mondays, cut = _weeks(rng, ctx.now().astimezone(ctx.zone).date())
    weeks = []
    for monday in mondays:
        # The week within the range: a partial first or last week counts only its days in it.
        start = max(monday, rng.start) if rng.start else monday
        end = monday + timedelta(days=6)
        end = min(end, rng.end) if rng.end else end
        rows = await _rows(request, viewer, "all", Range(start, end))
        weeks.append(Week(monday, rows[0] if rows else None))
    return weeks, cut


def _charts(weeks: list[Week]) -> list[Chart]:
    labels = [w.label for w in weeks]
    return [
        bar_chart(
            say("Incidents opened per week"),
            say("Number of incidents opened in each ISO week of the range."),
            labels,
            [float(w.row.incidents) if w.row else 0.0 for w in weeks],
            unit="",
        ),
        bar_chart(
            say("Recovery score per week"),
            say(
                "Average recovery score (0 to 100) of the incidents opened in each week; "
                "no bar: no incidents."
            ),
            labels,
            [w.row.recovery_score if w.row else None for w in weeks],
            unit="",
            top=100.0,
        ),
        bar_chart(
            say("Deadlines kept per week"),
            say(
                "Share of required steps done on time, of incidents opened in each week; "
                "no bar: no steps were due."
            ),
            labels,
            [w.row.deadlines_kept_pct if w.row else None for w in weeks],
            unit="%",
            top=100.0,
        ),
    ]


def _money_charts(weeks: list[Week]) -> list[Chart]:
    """One chart per currency compensation was spent in over these weeks (one, empty, if
    none was spent)."""
    labels = [w.label for w in weeks]
    currencies = sorted({cur for w in weeks if w.row for cur in w.row.compensation_spent})
    return [
        bar_chart(
            say("Compensation spent per week ({currency})", currency=cur)
            if cur
            else say("Compensation spent per week"),
            say(
                "Sum of the compensation given (steps done: paid, credited or given; not "
                "offered or declined) for the incidents opened in each week, in {currency}; "
                "no bar: none.",
                currency=cur,
            )
            if cur
            else say(
                "Sum of the compensation given (steps done: paid, credited or given; not "
                "offered or declined) for the incidents opened in each week; no bar: none."
            ),
            labels,
            [(w.row.compensation_spent.get(cur) if w.row else None) for w in weeks],
            unit="",
        )
        for cur in currencies or [""]
    ]


def _approval_chart(weeks: list[Week]) -> Chart:
    return bar_chart(
        say("Approval turnaround per week"),
        say(
            "Median hours from an approval request to the manager's decision, for the "
            "incidents opened in each week; no bar: no decision."
        ),
        [w.label for w in weeks],
        [w.row.median_hours_to_approval if w.row else None for w in weeks],
        unit=" h",
    )


def money(spent: dict[str, float]) -> str:
    """Amounts by currency as the page shows them ("–": none spent)."""
    if not spent:
        return "–"
    return "; ".join(format_currency(v, cur, locale="en_GB") for cur, v in sorted(spent.items()))


@router.get("/web/reports", response_model=None)
async def reports(
    request: Request, by: str = "site_playbook", start: str = "", end: str = ""
) -> Response:
    viewer = await signed_in(request, Permission.REPORTS)
    group = _group(by)
    rng = read_range(start[:100], end[:100])
    rows = await _rows(request, viewer, group, rng)
    weeks, cut = await _trend(request, viewer, rng)
    query = urlencode({"by": group, "start": rng.start or "", "end": rng.end or ""})
    return render(
        request,
        "reports.html",
        viewer,
        rows=rows,
        by=group,
        groups=GROUPS,
        start=rng.start or "",
        end=rng.end or "",
        weeks=weeks,
        weeks_cut=cut,
        max_weeks=MAX_WEEKS,
        charts=[*_charts(weeks), *_money_charts(weeks), _approval_chart(weeks)],
        csv_query=query,
        money=money,
        erased=Erased.of(rows),
    )


@router.get("/web/reports.csv", response_model=None)
async def reports_csv(
    request: Request, by: str = "site_playbook", start: str = "", end: str = ""
) -> Response:
    """The page's table as CSV, with the same filters."""
    viewer = await signed_in(request, Permission.REPORTS)
    group = _group(by)
    rng = read_range(start[:100], end[:100])
    rows = await _rows(request, viewer, group, rng)
    name = f"report-{group}-{rng.start or 'start'}-{rng.end or 'now'}.csv"
    return Response(
        report_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


__all__ = ["router"]
