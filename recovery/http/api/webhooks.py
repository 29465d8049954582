"""Webhook endpoints over HTTP: a back office (integration token) registers, lists, rotates
the secret of and deletes its own endpoints, reads their delivery log and asks for a
redelivery; an admin sees and manages every one. `recovery.service.webhooks` decides."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.responses import Response

from recovery.http.api.admin import ERRORS
from recovery.http.api.schemas import ErrorRead, ReadModel
from recovery.http.auth.deps import context, require
from recovery.http.context import ApiContext
from recovery.http.errors import JSON
from recovery.service.principal import Permission, Principal
from recovery.service.webhooks import (
    GRACE_DEFAULT,
    GRACE_MAX,
    MAX_FILTER,
    MAX_URL,
    PAGE_MAX,
    attempt_view,
    endpoint_view,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
Manager = Annotated[Principal, Depends(require(Permission.WEBHOOKS))]
Ctx = Annotated[ApiContext, Depends(context)]
EndpointId = Annotated[
    str, Path(pattern=r"^we_[0-9a-f]{16}$", description="the endpoint's id (we_...)")
]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": ErrorRead, "description": "not now: the message is being delivered"},
}

_Kind = Annotated[str, StringConstraints(min_length=1, max_length=64)]
_Site = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class EndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://pms.example/hooks", "kinds": ["book_room"], "sites": ["ribe"]}
            ]
        },
    )

    url: str = Field(
        min_length=1, max_length=MAX_URL, description="where to POST: http:// or https://"
    )
    kinds: list[_Kind] | None = Field(
        default=None,
        max_length=MAX_FILTER,
        description="only these effect kinds (leave out: every kind)",
    )
    sites: list[_Site] | None = Field(
        default=None,
        max_length=MAX_FILTER,
        description="only these of your properties (leave out: all of yours)",
    )


class EndpointRead(ReadModel):
    id: str
    owner: str
    url: str
    kinds: list[str] | None
    sites: list[str] | None
    created_at: str
    deleted_at: str | None
    previous_secret_valid_until: str | None = Field(
        description="after a rotation: until when the previous secret signs too"
    )


class EndpointWithSecret(EndpointRead):
    secret: str = Field(description="shown in this answer only: keep it to check signatures")


class EndpointList(ReadModel):
    items: list[EndpointRead]


class AttemptRead(ReadModel):
    id: int
    message_id: int = Field(description="the outbox message (X-Recovery-Delivery)")
    event: str
    kind: str
    attempt: int
    status_code: int | None = Field(description="what the endpoint answered (None: no answer)")
    ok: bool
    error: str | None
    duration_ms: int
    at: str


class AttemptPage(ReadModel):
    items: list[AttemptRead]
    next_before: int | None = Field(description="pass as `before` for the next, older page")


class RedeliveryRead(ReadModel):
    endpoint_id: str
    message_id: int
    status: str


@router.post(
    "/endpoints",
    status_code=201,
    summary="Register a webhook endpoint (its signing secret is in this answer only)",
    response_model=EndpointWithSecret,
    responses=ERRORS,
)
async def create_endpoint(ctx: Ctx, principal: Manager, body: EndpointCreate) -> Response:
    made = await ctx.runner.write(ctx.webhooks.create, principal, body.url, body.kinds, body.sites)
    return JSON(endpoint_view(made, secret=True), status_code=201)


@router.get(
    "/endpoints",
    summary="Your webhook endpoints (an admin: everyone's); never their secrets",
    response_model=EndpointList,
    responses=ERRORS,
)
async def list_endpoints(ctx: Ctx, principal: Manager) -> Response:
    found = await ctx.runner.read(ctx.webhooks.list_endpoints, principal)
    return JSON({"items": [endpoint_view(e) for e in found]})


@router.get(
    "/endpoints/{endpoint_id}",
    summary="One of your webhook endpoints",
    response_model=EndpointRead,
    responses=ERRORS,
)
async def get_endpoint(ctx: Ctx, principal: Manager, endpoint_id: EndpointId) -> Response:
    found = await ctx.runner.read(ctx.webhooks.get, principal, endpoint_id)
    return JSON(endpoint_view(found))


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    summary="A new signing secret (in this answer only); the previous one keeps signing "
    "beside it for `grace_seconds` (default a day), so receivers can switch without a gap",
    response_model=EndpointWithSecret,
    responses=ERRORS,
)
async def rotate_secret(
    ctx: Ctx,
    principal: Manager,
    endpoint_id: EndpointId,
    grace_seconds: Annotated[int, Query(ge=0, le=int(GRACE_MAX.total_seconds()))] = int(
        GRACE_DEFAULT.total_seconds()
    ),
) -> Response:
    rotated = await ctx.runner.write(
        ctx.webhooks.rotate, principal, endpoint_id, timedelta(seconds=grace_seconds)
    )
    return JSON(endpoint_view(rotated, secret=True))


@router.delete(
    "/endpoints/{endpoint_id}",
    summary="Delete a webhook endpoint: nothing more is sent to it (its log stays readable "
    "by an admin until pruned)",
    response_model=EndpointRead,
    responses=ERRORS,
)
async def delete_endpoint(ctx: Ctx, principal: Manager, endpoint_id: EndpointId) -> Response:
    deleted = await ctx.runner.write(ctx.webhooks.delete, principal, endpoint_id)
    return JSON(endpoint_view(deleted))


@router.get(
    "/endpoints/{endpoint_id}/deliveries",
    summary="The endpoint's delivery log: every request, newest first (kept 30 days)",
    response_model=AttemptPage,
    responses=ERRORS,
)
async def deliveries(
    ctx: Ctx,
    principal: Manager,
    endpoint_id: EndpointId,
    before: Annotated[int | None, Query(ge=1, le=2**62, description="from a `next_before`")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
) -> Response:
    page = await ctx.runner.read(
        lambda: ctx.webhooks.deliveries(principal, endpoint_id, before=before, limit=limit)
    )
    return JSON({"items": [attempt_view(a) for a in page.items], "next_before": page.next_before})


@router.post(
    "/endpoints/{endpoint_id}/redeliver",
    status_code=202,
    summary="Send one message (from the delivery log) to this endpoint again; the worker "
    "does, with the usual retries, and logs it",
    response_model=RedeliveryRead,
    responses=WRITE_ERRORS,
)
async def redeliver(
    ctx: Ctx,
    principal: Manager,
    endpoint_id: EndpointId,
    message: Annotated[int, Query(ge=1, le=2**62, description="the message id")],
) -> Response:
    await ctx.runner.write(ctx.webhooks.redeliver, principal, endpoint_id, message)
    return JSON(
        {"endpoint_id": endpoint_id, "message_id": message, "status": "queued"}, status_code=202
    )
