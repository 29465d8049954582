"""Incident commands (POST): open an incident, act on a step, and every incident-level
command, each run for the caller with its Idempotency-Key, If-Match and channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NamedTuple, TypeVar

from fastapi import APIRouter, Body, Depends, Path, Request
from starlette.responses import Response

from recovery.domain.commands import (
    AddNote,
    Close,
    Escalate,
    HandOff,
    Hold,
    IncidentCommand,
    OpenIncident,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    Resume,
    StepAction,
)
from recovery.http.api import examples as ex
from recovery.http.api.commands import (
    CHANNEL_DOC,
    CODE,
    IDEMPOTENCY_KEY_DOC,
    IF_MATCH_DOC,
    CommandOptions,
    build,
    command_options,
    open_incident,
    run_command,
)
from recovery.http.api.incidents import COMMAND_HEADERS, ERRORS, IncidentId
from recovery.http.api.schemas import ErrorRead, OutcomeRead, StepActionCreate
from recovery.http.auth.deps import Access, app_context, caller
from recovery.http.context import ApiContext
from recovery.http.idempotency import REPLAYED_HEADER, Reply
from recovery.service.principal import Permission, Principal

router = APIRouter(tags=["incidents"])
Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Response]])

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

COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {
        "model": ErrorRead,
        "description": "not allowed now (`state`, `allowed`), If-Match of an older version "
        "(`current_version`, `incident`), or the same Idempotency-Key still in flight",
    },
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


@_command_route("hold", "Hold a step (or every open step): its clock stops while we wait")
async def hold(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[Hold, Body(openapi_examples=ex.HOLD)],
) -> Response:
    return await _command(call, incident_id, command)


@_command_route("resume", "Resume held steps: each deadline moves by the time held")
async def resume(
    call: Command,
    incident_id: IncidentId,
    command: Annotated[Resume | None, Body(openapi_examples=ex.RESUME)] = None,
) -> Response:
    return await _command(call, incident_id, command or Resume())


__all__ = ["REPLAYED_HEADER", "router"]
