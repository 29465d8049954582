"""Personal data on request (admin role): erase a customer, export what is held about them.

An erasure is recorded in each incident's timeline (who, when, why), which readers of the
incident (auditors included) see; what was erased is not recorded anywhere."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from recovery.http.api.admin import ERRORS, Admin, Ctx
from recovery.http.api.links import CustomerKey
from recovery.http.errors import JSON

router = APIRouter(tags=["personal data"])


class ErasureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="why (a customer's request, a reference): recorded with the erasure"
    )


class ErasureRead(BaseModel):
    key: str
    erased: list[str] = Field(description="the incidents erased now")
    already_erased: list[str] = Field(description="those erased before")
    unsealed: list[str] = Field(
        default_factory=list,
        description="NOT erased: their events hold the personal data unsealed (a chain "
        "already broken when the database was upgraded to sealed personal data)",
    )


class CustomerExportRead(BaseModel):
    customer_key: str
    exported_at: str
    incidents: list[dict[str, Any]] = Field(
        description="each incident: profile, language, summaries, external reference, "
        "timeline (titles, texts and data as recorded), customer_timeline (what the "
        "customer's status page says, in their language: steps done and next with times in "
        "the property's zone, updates, status), letters as sent, status links"
    )


@router.post(
    "/customers/{key}/erase",
    summary="Erase the customer's personal data in every incident of theirs (names, "
    "contacts, texts, letters, status links); the hash chains still verify",
    response_model=ErasureRead,
    responses=ERRORS,
)
async def erase_customer(ctx: Ctx, admin: Admin, key: CustomerKey, body: ErasureCreate) -> Response:
    actor = admin.actor()
    done = await ctx.runner.write(
        lambda: ctx.rec.erase_customer(key, actor=actor, reason=body.reason, channel="api")
    )
    return JSON(done.to_dict())


@router.get(
    "/customers/{key}/export",
    summary="Everything held about the customer (subject access), machine-readable",
    response_model=CustomerExportRead,
    responses=ERRORS,
)
async def export_customer(ctx: Ctx, admin: Admin, key: CustomerKey) -> Response:
    actor = admin.actor()
    exported: dict[str, Any] = await ctx.runner.read(
        lambda: ctx.rec.export_customer(key, actor=actor)
    )
    return JSON(exported)
