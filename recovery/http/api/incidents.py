"""Incident queries (GET), scoped to the caller: the list, one incident with its ETag, the
timeline, a replay, the chain's verification and the webhook deliveries; and what every
incident route declares (the id in its path, its errors, its ETag header)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from starlette.responses import Response

from recovery.domain.compiler import ACTIVE_STATES
from recovery.domain.state import iso
from recovery.errors import CommandRejectedError, IncidentNotFoundError
from recovery.http.api.commands import etag
from recovery.http.api.schemas import (
    DeliveryList,
    ErrorRead,
    IncidentList,
    IncidentRead,
    ReplayRead,
    TimelineRead,
    VerificationRead,
)
from recovery.http.auth.deps import context, require
from recovery.http.context import ApiContext
from recovery.http.errors import JSON, api_error
from recovery.service.board import MAX_PAGE_SIZE, decode_after
from recovery.service.principal import Permission, Principal

router = APIRouter(tags=["incidents"])

IncidentId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="the id returned when it was opened"),
]
Reader = Annotated[Principal, Depends(require(Permission.READ))]
Ctx = Annotated[ApiContext, Depends(context)]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead, "description": "no valid token"},
    403: {"model": ErrorRead, "description": "the caller's role may not do this"},
    404: {"model": ErrorRead, "description": "no such incident at the caller's properties"},
    422: {"model": ErrorRead, "description": "bad input: `field` says which, and why"},
    503: {
        "model": ErrorRead,
        "description": "the database does not answer (a restart, an outage); retry after "
        "`Retry-After` seconds. A command cut off this way may have been recorded: retry it "
        "with the same Idempotency-Key to get its answer without recording it twice",
        "headers": {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}},
    },
}
COMMAND_HEADERS = {
    "ETag": {
        "description": "the incident's version after the command",
        "schema": {"type": "string"},
    }
}


async def _scope(ctx: ApiContext, principal: Principal, incident_id: str) -> None:
    """404 unless the caller may see the incident (no thread hop when the site is known)."""
    site = ctx.sites.get(incident_id)
    if site is None:
        await ctx.runner.read(ctx.check_scope, principal, incident_id)
    elif not principal.may_see(site):
        raise IncidentNotFoundError(incident_id)


SiteFilter = Annotated[
    str | None,
    Query(pattern=r"^[^\x00-\x1f]{1,200}$", description="only incidents at this property"),
]


@router.get(
    "/incidents",
    summary="Incidents at the caller's properties, nearest deadline first; or found by `q`",
    response_model=IncidentList,
    responses=ERRORS,
)
async def list_incidents(
    ctx: Ctx,
    principal: Reader,
    site: SiteFilter = None,
    playbook: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=80)] = None,
    owner: Annotated[str | None, Query(pattern=r"^[^\x00-\x1f]{1,200}$")] = None,
    active: Annotated[bool, Query(description="only open and escalated incidents")] = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="deprecated: prefer `after`")] = 0,
    after: Annotated[
        str | None,
        Query(
            max_length=400,
            description="the `next` cursor of the previous page: the rows after its last one",
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            pattern=r"^[^\x00-\x1f]{1,100}$",
            description="search open and ended incidents alike by customer name (or a word "
            "of it), e-mail, phone, incident id or external reference (prefix, case ignored; "
            "2 characters at least); most recently opened first, the other filters ignored",
        ),
    ] = None,
) -> Response:
    if q is not None:
        found = await ctx.runner.read(
            ctx.rec.search,
            q,
            sites=None if principal.all_sites else list(principal.sites),
            limit=limit,
        )
        return JSON({"items": [v.to_dict() for v in found], "limit": limit, "offset": 0})
    if site is not None and not principal.may_see(site):
        return JSON({"items": [], "limit": limit, "offset": offset, "next": None})
    if offset == 0:  # keyset paging: an index range per page, however deep
        try:  # checked here to name the query parameter in the 422
            if after is not None:
                decode_after(after)
        except CommandRejectedError as exc:
            raise CommandRejectedError(str(exc), field="query.after", plain=exc.plain) from exc
        page, nxt = await ctx.runner.read(
            ctx.rec.board_page,
            statuses=ACTIVE_STATES if active else None,
            site=site,
            sites=None if principal.all_sites else list(principal.sites),
            playbook=playbook,
            owner=owner,
            after=after,
            limit=min(limit, MAX_PAGE_SIZE),
        )
        items = [v.to_dict() for v in page]
        return JSON({"items": items, "limit": min(limit, MAX_PAGE_SIZE), "offset": 0, "next": nxt})
    views = await ctx.runner.read(
        ctx.rec.list_incidents,
        active_only=active,
        site=site,
        sites=None if principal.all_sites else list(principal.sites),
        playbook=playbook,
        owner=owner,
        limit=limit,
        offset=offset,
    )
    return JSON({"items": [v.to_dict() for v in views], "limit": limit, "offset": offset})


@router.get(
    "/incidents/{incident_id}",
    summary="One incident: its state, what is allowed now, and its ETag (version)",
    response_model=IncidentRead,
    responses={
        200: {"headers": COMMAND_HEADERS},
        304: {"description": "not modified since the ETag in If-None-Match"},
        **ERRORS,
    },
)
async def get_incident(
    ctx: Ctx,
    principal: Reader,
    incident_id: IncidentId,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match", max_length=200)] = None,
) -> Response:
    view = await ctx.runner.read(ctx.rec.get, incident_id)
    if not principal.may_see(view.state.site):
        raise IncidentNotFoundError(incident_id)
    ctx.sites.put(incident_id, view.state.site)
    tag = etag(view.version)
    if if_none_match is not None and tag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": tag})
    return JSON(view.to_dict(), headers={"ETag": tag})


@router.get(
    "/incidents/{incident_id}/timeline",
    summary="Every recorded event, in order: who, when, through which channel",
    response_model=TimelineRead,
    responses=ERRORS,
)
async def timeline(ctx: Ctx, principal: Reader, incident_id: IncidentId) -> Response:
    await _scope(ctx, principal, incident_id)
    events = await ctx.runner.read(ctx.rec.timeline, incident_id)
    return JSON({"incident_id": incident_id, "events": [e.to_dict() for e in events]})


@router.get(
    "/incidents/{incident_id}/replay",
    summary="The incident as it was after event `seq`, or at moment `at`",
    response_model=ReplayRead,
    responses=ERRORS,
)
async def replay(
    ctx: Ctx,
    principal: Reader,
    incident_id: IncidentId,
    seq: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    at: Annotated[datetime | None, Query(description="ISO 8601; without an offset: UTC")] = None,
) -> Response:
    await _scope(ctx, principal, incident_id)
    moment: str | None = None
    if at is not None:
        try:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            moment = iso(at)
        except (OverflowError, ValueError):
            raise api_error(
                422, "invalid_request", "query.at is out of range", field="query.at"
            ) from None
    try:
        state = await ctx.runner.read(ctx.rec.replay, incident_id, at_seq=seq, at_time=at)
    except (IncidentNotFoundError, CommandRejectedError):
        # it exists (the scope check found it): it had not been opened yet at that moment
        raise api_error(
            422,
            "invalid_request",
            f"the incident had no events yet at {moment}",
            field="query.at",
        ) from None
    return JSON({"incident_id": incident_id, "seq": seq, "at": moment, "state": state.to_dict()})


@router.get(
    "/incidents/{incident_id}/verify",
    summary="Verify the hash chain and that replaying the events rebuilds the stored state",
    response_model=VerificationRead,
    responses=ERRORS,
)
async def verify(ctx: Ctx, principal: Reader, incident_id: IncidentId) -> Response:
    await _scope(ctx, principal, incident_id)
    result = await ctx.runner.read(ctx.rec.verify, incident_id)
    return JSON(result.to_dict())


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: iso(value) if isinstance(value, datetime) else value  # a naive one is UTC
        for key, value in row.items()
    }


@router.get(
    "/incidents/{incident_id}/deliveries",
    summary="The back-office effects (webhooks) this incident requested, and their delivery",
    response_model=DeliveryList,
    responses=ERRORS,
)
async def deliveries(ctx: Ctx, principal: Reader, incident_id: IncidentId) -> Response:
    await _scope(ctx, principal, incident_id)
    rows = await ctx.runner.read(ctx.rec.outbox, incident_id)
    return JSON({"incident_id": incident_id, "deliveries": [_delivery(r) for r in rows]})
