"""Report endpoint: how recovery is actually delivered, at the caller's properties."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from starlette.responses import Response

from recovery.http.api.schemas import ErrorRead, ReadModel
from recovery.http.auth.deps import context, require
from recovery.http.context import ApiContext
from recovery.http.errors import JSON
from recovery.service.principal import Permission, Principal
from recovery.service.reports import ReportRow, report_csv

router = APIRouter(tags=["reports"])
Reader = Annotated[Principal, Depends(require(Permission.REPORTS))]
Ctx = Annotated[ApiContext, Depends(context)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead},
    403: {"model": ErrorRead, "description": "only managers and auditors read reports"},
    422: {"model": ErrorRead},
}


class ReportRowRead(ReadModel):
    group: str
    incidents: int
    active: int
    closed: int
    released: int
    recovery_score: float | None = Field(description="None: no incident opened in the period")
    pushes_per_incident: float | None
    handoffs_per_incident: float | None
    deadlines_kept_pct: float | None
    first_contact_full_remedy_pct: float | None
    median_minutes_to_apology: float | None
    median_hours_to_full_recovery: float | None
    hours_held: float = Field(description="time held waiting on the customer (ended holds)")
    on_hold: int = Field(description="incidents on hold now")
    compensation_spent: dict[str, float] = Field(
        default_factory=dict,
        description="by currency: compensation given (steps done; not offered or declined)",
    )
    approvals_decided: int = Field(0, description="incidents with an approval decided")
    median_hours_to_approval: float | None = Field(
        None, description="from approval request to decision: median of the incidents' means"
    )
    p90_hours_to_approval: float | None = Field(
        None, description="the same, 90th percentile (nearest rank)"
    )
    approvals_pending: int = Field(0, description="steps awaiting approval now")
    erased_on_request: int = Field(
        0, description="incidents whose personal data an administrator erased in the period"
    )
    erased_by_retention: int = Field(
        0, description="incidents whose personal data the retention worker erased in the period"
    )


class ReportRead(ReadModel):
    by: str
    rows: list[ReportRowRead]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get(
    "/reports/recovery",
    summary="Recovery score, pushes, handoffs, deadlines kept: per property and playbook",
    response_model=ReportRead,
    responses=ERRORS,
)
async def recovery_report(
    ctx: Ctx,
    principal: Reader,
    by: Annotated[Literal["site", "playbook", "site_playbook", "all"], Query()] = "site_playbook",
    site: Annotated[str | None, Query(pattern=r"^[^\x00-\x1f]{1,200}$")] = None,
    playbook: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=80)] = None,
    since: Annotated[
        datetime | None, Query(description="opened (erasures: erased) at or after")
    ] = None,
    until: Annotated[datetime | None, Query(description="opened (erasures: erased) before")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: the rows as CSV")] = "json",
) -> Response:
    if site is not None and not principal.may_see(site):
        return _csv([]) if format == "csv" else JSON({"by": by, "rows": []})
    rows = await ctx.runner.read(
        ctx.rec.report,
        by=by,
        site=site,
        sites=None if principal.all_sites else list(principal.sites),
        playbook=playbook,
        since=_utc(since),
        until=_utc(until),
    )
    if format == "csv":
        return _csv(rows)
    return JSON({"by": by, "rows": [row.to_dict() for row in rows]})


def _csv(rows: list[ReportRow]) -> Response:
    return Response(report_csv(rows), media_type="text/csv; charset=utf-8")
