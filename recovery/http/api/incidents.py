"""Incident endpoints: every engine command (POST) and query (GET), scoped to the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, NamedTuple, TypeVar

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from starlette.responses import Response

from recovery.domain.commands import (
    AddNote,
    Close,
    Escalate,
    HandOff,
    IncidentCommand,
    OpenIncident,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    StepAction,
)
from recovery.domain.state import iso
from recovery.errors import CommandRejectedError, IncidentNotFoundError
from recovery.http.api import examples as ex
from recovery.http.api.commands import (
    CHANNEL_DOC,
    CODE,
    IDEMPOTENCY_KEY_DOC,
    IF_MATCH_DOC,
    CommandOptions,
    build,
    command_options,
    etag,
    open_incident,
    run_command,
)
from recovery.http.api.schemas import (
    DeliveryList,
    ErrorRead,
    IncidentList,
    IncidentRead,
    OutcomeRead,
    ReplayRead,
    StepActionCreate,
    TimelineRead,
    VerificationRead,
)
from recovery.http.auth.deps import Access, app_context, caller, context, require
from recovery.http.context import ApiContext
from recovery.http.errors import JSON, api_error
from recovery.http.idempotency import REPLAYED_HEADER, Reply
from recovery.service.principal import Permission, Principal

router = APIRouter(tags=["incidents"])
Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Response]])

IncidentId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="the id returned when it was opened"),
]
StepId = Annotated[str, Path(pattern=CODE, max_length=64, description="a step id, e.g. dinner")]
ActionName = Annotated[
    str,
    Path(
        pattern=CODE,
        max_length=64,
        description="complete, waive, request_approval, grant_approval, deny_approval, "
        "draft, send (what each step allows is in the incident's `allowed`)",
    ),
]
Reader = Annotated[Principal, Depends(require(Permission.READ))]
Ctx = Annotated[ApiContext, Depends(context)]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead, "description": "no valid token"},
    403: {"model": ErrorRead, "description": "the caller's role may not do this"},
    404: {"model": ErrorRead, "description": "no such incident at the caller's properties"},
    422: {"model": ErrorRead, "description": "bad input: `field` says which, and why"},
}
COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {
        "model": ErrorRead,
        "description": "not allowed now (`state`, `allowed`), If-Match of an older version "
        "(`current_version`, `incident`), or the same Idempotency-Key still in flight",
    },
}
COMMAND_HEADERS = {
    "ETag": {
        "description": "the incident's version after the command",
        "schema": {"type": "string"},
    }
}


class CommandAccess(Access):
    """Access for a command route (write permission), with the command's headers read in
    the same step: one dependency per command request (see `Access`)."""

    def __init__(self, *, conditional: bool) -> None:
        super().__init__(Permission.WRITE)
        self.conditional = conditional

    async def __call__(self, request: Request) -> CommandCall:  # type: ignore[override]
        principal = await caller(request, self.permission)
        options = command_options(request, conditional=self.conditional)
        return CommandCall(app_context(request), principal, options)


class CommandCall(NamedTuple):
    ctx: ApiContext
    principal: Principal
    options: CommandOptions


Command = Annotated[CommandCall, Depends(CommandAccess(conditional=True))]
Opening = Annotated[CommandCall, Depends(CommandAccess(conditional=False))]
COMMAND_PARAMETERS = {"parameters": [IDEMPOTENCY_KEY_DOC, IF_MATCH_DOC, CHANNEL_DOC]}
OPEN_PARAMETERS = {
    "parameters": [
        {**IDEMPOTENCY_KEY_DOC, "description": "a retry with the same key and body returns "
         "the first response and opens nothing new (kept 24 hours, per caller)"},
        CHANNEL_DOC,
    ]
}  # fmt: skip


def respond(reply: Reply) -> Response:
    return Response(reply.body, reply.status, reply.headers, media_type="application/json")


async def _command(call: CommandCall, incident_id: str, command: IncidentCommand) -> Response:
    ctx = call.ctx
    reply = await ctx.runner.write(
        run_command, ctx, call.principal, incident_id, command, call.options
    )
    return respond(reply)


# ---------------------------------------------------------------------------- commands


@router.post(
    "/incidents",
    status_code=201,
    summary="Open an incident: every step of its playbook opens at once",
    response_model=OutcomeRead,
    openapi_extra=OPEN_PARAMETERS,
    responses={
        201: {"headers": COMMAND_HEADERS},
        **{k: v for k, v in COMMAND_ERRORS.items() if k != 404},
    },
)
async def open_(
    call: Opening,
    command: Annotated[OpenIncident, Body(openapi_examples=ex.OPEN)],
) -> Response:
    ctx = call.ctx
    reply = await ctx.runner.write(open_incident, ctx, call.principal, command, call.options)
    return respond(reply)


@router.post(
    "/incidents/{incident_id}/steps/{step}/{action}",
    summary="Act on one step (complete, waive, request/grant/deny approval, draft, send)",
    response_model=OutcomeRead,
    openapi_extra=COMMAND_PARAMETERS,
    responses={200: {"headers": COMMAND_HEADERS}, **COMMAND_ERRORS},
)
async def act_on_step(
    call: Command,
    incident_id: IncidentId,
    step: StepId,
    action: ActionName,
    body: Annotated[StepActionCreate | None, Body(openapi_examples=ex.STEP_ACTION)] = None,
) -> Response:
    given = body or StepActionCreate()
    command = build(
        StepAction,
        step=step,
        name=action,
        evidence=dict(given.evidence),
        reason=given.reason,
        amount=given.amount,
        alternatives=list(given.alternatives),
    )
    return await _command(call, incident_id, command)


def _command_route(path: str, summary: str) -> Callable[[Endpoint], Endpoint]:
    return router.post(
        f"/incidents/{{incident_id}}/{path}",
        summary=summary,
        response_model=OutcomeRead,
        openapi_extra=COMMAND_PARAMETERS,
        responses={200: {"headers": COMMAND_HEADERS}, **COMMAND_ERRORS},
    )


@_command_route("pushes", "Record a push: the customer had to ask for something")
async def record_push(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[RecordPush, Body(openapi_examples=ex.PUSH)],
) -> Response:
    return await _command(call, incident_id, command)


@_command_route("contacts", "Record a contact with the customer (any channel)")
async def record_contact(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[RecordContact, Body(openapi_examples=ex.CONTACT)],
) -> Response:
    return await _command(call, incident_id, command)


@_command_route("handoffs", "Hand the incident off, with the context the next owner needs")
async def hand_off(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[HandOff, Body(openapi_examples=ex.HANDOFF)],
) -> Response:
    return await _command(call, incident_id, command)


@_command_route("notes", "Add a note to the timeline")
async def add_note(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[AddNote, Body(openapi_examples=ex.NOTE)],
) -> Response:
    return await _command(call, incident_id, command)


@_command_route("escalate", "Escalate: raise the tier and notify a manager")
async def escalate(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[Escalate, Body(openapi_examples=ex.ESCALATE)],
) -> Response:
    return await _command(call, incident_id, command)


@_command_route("release", "Release: an honest ending, with a referral")
async def release(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[Release, Body(openapi_examples=ex.RELEASE)],
) -> Response:
    return await _command(call, incident_id, command)


@_command_route("close", "Close: only when every required step is done or waived")
async def close(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[Close | None, Body(openapi_examples=ex.CLOSE)] = None,
) -> Response:
    return await _command(call, incident_id, command or Close())


@_command_route("reopen", "Reopen a closed or released incident")
async def reopen(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[Reopen, Body(openapi_examples=ex.REOPEN)],
) -> Response:
    return await _command(call, incident_id, command)


@_command_route("cues", "Report dissatisfaction cues (may raise the tier and add steps)")
async def report_cues(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[ReportCues, Body(openapi_examples=ex.CUES)],
) -> Response:
    return await _command(call, incident_id, command)


# ---------------------------------------------------------------------------- queries


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
    summary="Incidents at the caller's properties, nearest deadline first",
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
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    if site is not None and not principal.may_see(site):
        return JSON({"items": [], "limit": limit, "offset": offset})
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


__all__ = ["REPLAYED_HEADER", "router"]
