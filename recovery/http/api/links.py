"""The customer's side, for back offices: an incident's status links (create, list,
revoke, send), its letter preview and recovery score, and the customer across incidents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from recovery.domain.state import iso
from recovery.errors import ConflictError
from recovery.http.api.commands import (
    IF_MATCH_DOC,
    CommandOptions,
    _once,
    check_text,
    conflict_error,
    etag,
)
from recovery.http.api.customer_schemas import (
    CustomerRead,
    LetterPreviewRead,
    LinkList,
    LinkRead,
    LinkSend,
    LinkSent,
    NewLinkRead,
    ScoreRead,
)
from recovery.http.api.incident_commands import (
    COMMAND_ERRORS,
    COMMAND_PARAMETERS,
    Command,
    respond,
)
from recovery.http.api.incidents import ERRORS, Ctx, IncidentId, Reader, _scope
from recovery.http.auth.deps import require
from recovery.http.context import ApiContext
from recovery.http.errors import JSON
from recovery.http.idempotency import Reply
from recovery.service.links import LinkInfo, NewLink
from recovery.service.once import Once
from recovery.service.principal import Permission, Principal
from recovery.service.views import Outcome

router = APIRouter(tags=["customers"])
Writer = Annotated[Principal, Depends(require(Permission.WRITE))]
LinkId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="the link's id")]
CustomerKey = Annotated[
    str,
    Path(
        pattern=r"^[^\x00-\x1f/]{1,200}$",
        description="the customer's key (loyalty, account or booking-profile number) or contact",
    ),
]
StepId = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _link(info: LinkInfo) -> dict[str, object]:
    return {
        **info.to_dict(),
        "created_at": iso(info.created_at),
        "revoked_at": iso(info.revoked_at) if info.revoked_at else None,
    }


def _at_version(ctx: ApiContext, incident_id: str, options: CommandOptions) -> None:
    """If-Match: refuse when the incident moved on since the caller looked."""
    view = ctx.rec.get(incident_id)
    if options.expected_version is not None and options.expected_version != view.version:
        raise conflict_error(
            view,
            ConflictError(
                f"the incident is at version {view.version}, not {options.expected_version}",
                incident_id=incident_id,
                current_version=view.version,
            ),
        )


@router.post(
    "/incidents/{incident_id}/status-links",
    status_code=201,
    summary="A new status link for the customer (its token is in this response only; "
    "nothing is recorded in the timeline, so a retry makes another link)",
    response_model=NewLinkRead,
    openapi_extra={"parameters": [IF_MATCH_DOC]},
    responses=COMMAND_ERRORS,
)
async def create_link(request: Request, call: Command, incident_id: IncidentId) -> Response:
    ctx, principal, options = call
    await _scope(ctx, principal, incident_id)
    base = ctx.links.public_url or _base(request)

    def make() -> NewLink:
        _at_version(ctx, incident_id, options)
        return ctx.links.make(incident_id, principal.actor().id, ctx.clock(), base)

    made = await ctx.runner.write(make)
    return JSON(made.to_dict(), status_code=201)


@router.get(
    "/incidents/{incident_id}/status-links",
    summary="The incident's status links, live and revoked (never their tokens)",
    response_model=LinkList,
    responses=ERRORS,
)
async def list_links(ctx: Ctx, principal: Reader, incident_id: IncidentId) -> Response:
    await _scope(ctx, principal, incident_id)
    found = await ctx.runner.read(ctx.links.list, incident_id)
    return JSON({"incident_id": incident_id, "items": [_link(i) for i in found]})


@router.delete(
    "/incidents/{incident_id}/status-links/{link_id}",
    summary="Revoke one status link: it no longer opens the page",
    response_model=LinkRead,
    responses=ERRORS,
)
async def revoke_link(
    ctx: Ctx, principal: Writer, incident_id: IncidentId, link_id: LinkId
) -> Response:
    await _scope(ctx, principal, incident_id)
    info = await ctx.runner.write(ctx.links.revoke, incident_id, link_id, ctx.clock())
    return JSON(_link(info))


@router.post(
    "/incidents/{incident_id}/status-links/send",
    status_code=201,
    summary="Make a new status link and send it to the customer (e-mail, or a webhook for "
    "other channels); recorded in the timeline",
    response_model=LinkSent,
    openapi_extra=COMMAND_PARAMETERS,
    responses=COMMAND_ERRORS,
)
async def send_link(
    request: Request, call: Command, incident_id: IncidentId, body: LinkSend
) -> Response:
    ctx, principal, options = call
    await _scope(ctx, principal, incident_id)
    check_text(body.model_dump(mode="json"))
    base = ctx.links.public_url or _base(request)

    made: list[NewLink] = []

    def produce(once: Once | None) -> Outcome:
        _at_version(ctx, incident_id, options)
        sent = ctx.links.send(
            incident_id,
            via=body.via,
            recipient=body.recipient,
            actor=principal.actor(),
            channel=options.channel,
            base_url=base,
            once=once,
            on_link=made.append,
        )
        return sent.outcome

    def reply_of(outcome: Outcome) -> Reply:
        content = {"link": made[-1].to_dict(), "outcome": outcome.to_dict()}
        return Reply.json(201, content, {"ETag": etag(outcome.incident.version)})

    parts = ("POST", incident_id, "send", body.model_dump(mode="json"), options.expected_version)
    return respond(await ctx.runner.write(_once, ctx, principal, options, parts, produce, reply_of))


@router.get(
    "/incidents/{incident_id}/score",
    summary="The incident's recovery score and what it lost points for",
    response_model=ScoreRead,
    responses=ERRORS,
)
async def score(ctx: Ctx, principal: Reader, incident_id: IncidentId) -> Response:
    await _scope(ctx, principal, incident_id)
    return JSON(await ctx.runner.read(ctx.rec.score, incident_id))


@router.get(
    "/incidents/{incident_id}/letters/{step_id}/preview",
    summary="The written step's letter as it would be sent now (nothing is recorded)",
    response_model=LetterPreviewRead,
    responses=ERRORS,
)
async def preview_letter(
    ctx: Ctx,
    principal: Reader,
    incident_id: IncidentId,
    step_id: StepId,
    locale: Annotated[str | None, Query(pattern=r"^[a-z]{2}$")] = None,
) -> Response:
    await _scope(ctx, principal, incident_id)
    letter = await ctx.runner.read(
        lambda: ctx.rec.render_letter(incident_id, step_id, locale, preview=True)
    )
    return JSON(
        {
            "incident_id": incident_id,
            "step_id": step_id,
            "locale": letter.locale,
            "subject": letter.subject,
            "text": letter.text,
            "html": letter.html,
            "recipient": letter.recipient,
        }
    )


@router.get(
    "/customers/{key}",
    summary="One customer (by the back office's key, or the contact): every incident at the "
    "caller's properties in one timeline, compensation given, pushes, open promises",
    response_model=CustomerRead,
    responses=ERRORS,
)
async def customer(ctx: Ctx, principal: Reader, key: CustomerKey) -> Response:
    sites = None if principal.all_sites else list(principal.sites)
    now = iso(ctx.clock())
    view = await ctx.runner.read(lambda: ctx.rec.customer(key, sites=sites, now=now))
    return JSON(view.to_dict())
