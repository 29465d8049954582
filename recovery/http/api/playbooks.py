"""Playbook endpoints: what each incident type's recovery bundle is (read-only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.durations import format_due
from recovery.domain.playbook import StepDef
from recovery.http.api.playbook_schemas import PlaybookRead, PlaybookSummary
from recovery.http.api.schemas import ErrorRead
from recovery.http.auth.deps import context, require
from recovery.http.context import ApiContext
from recovery.http.errors import JSON
from recovery.service.principal import Permission, Principal

router = APIRouter(tags=["playbooks"])

Reader = Annotated[Principal, Depends(require(Permission.PLAYBOOKS))]
Ctx = Annotated[ApiContext, Depends(context)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead},
    403: {"model": ErrorRead},
    404: {"model": ErrorRead, "description": "no such playbook (or version)"},
    422: {"model": ErrorRead},
}


def _step(step: StepDef) -> dict[str, Any]:
    return {
        "id": step.id,
        "title": step.title,
        "kind": step.kind,
        "owner": step.owner,
        "due": format_due(step.due),
        "required": step.required,
        "effect": step.effect,
    }


def summary(compiled: CompiledPlaybook) -> dict[str, Any]:
    playbook = compiled.playbook
    return {
        "id": playbook.id,
        "version": playbook.version,
        "title": playbook.title,
        "description": playbook.description,
        "incident_types": list(playbook.incident_types),
        "currency": playbook.currency,
        "steps": [_step(s) for s in playbook.steps],
        "tier_steps": [_step(s) for s in playbook.tier_steps],
    }


@router.get(
    "/playbooks",
    summary="The playbooks in use (newest version of each)",
    response_model=list[PlaybookSummary],
    responses=ERRORS,
)
async def list_playbooks(ctx: Ctx, principal: Reader) -> Response:
    return JSON([summary(c) for c in ctx.rec.catalog.latest()])


@router.get(
    "/playbooks/{playbook_id}",
    summary="One playbook's full definition (newest version, or `version`)",
    response_model=PlaybookRead,
    responses=ERRORS,
)
async def get_playbook(
    ctx: Ctx,
    principal: Reader,
    playbook_id: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=80)],
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    compiled = ctx.rec.catalog.get(playbook_id, version)
    return JSON(
        {
            "id": compiled.playbook.id,
            "version": compiled.playbook.version,
            "digest": compiled.digest,
            "definition": compiled.playbook.model_dump(mode="json"),
        }
    )
