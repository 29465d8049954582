"""Administration over HTTP (admin role): users and API tokens. The CLI does the same."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from recovery.domain.state import iso
from recovery.http.api.access_schemas import (
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
)
from recovery.http.api.schemas import ErrorRead
from recovery.http.auth.deps import context, require
from recovery.http.context import ApiContext
from recovery.http.errors import JSON, api_error
from recovery.service.ports.accounts import TokenRow, UserRow
from recovery.service.principal import Permission, Principal

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]
Ctx = Annotated[ApiContext, Depends(context)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead},
    403: {"model": ErrorRead},
    404: {"model": ErrorRead},
    422: {"model": ErrorRead},
}
Username = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")]


def user_dict(user: UserRow) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "sites": list(user.sites),
        "created_at": iso(user.created_at),
        "disabled_at": iso(user.disabled_at) if user.disabled_at else None,
        "active": user.active,
    }


def token_dict(token: TokenRow) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "sites": list(token.sites),
        "created_at": iso(token.created_at),
        "revoked_at": iso(token.revoked_at) if token.revoked_at else None,
        "active": token.active,
    }


@router.get(
    "/users",
    summary="Users",
    response_model=list[UserRead],
    responses=ERRORS,
)
async def list_users(ctx: Ctx, admin: Admin) -> Response:
    users = await ctx.runner.read(ctx.accounts.list_users)
    return JSON([user_dict(u) for u in users])


@router.post(
    "/users",
    status_code=201,
    summary="Add a user (a person who logs in)",
    response_model=UserRead,
    responses=ERRORS,
)
async def add_user(ctx: Ctx, admin: Admin, body: UserCreate) -> Response:
    user = await ctx.runner.write(
        ctx.accounts.add_user, body.username, body.password, body.role, body.sites
    )
    return JSON(user_dict(user), status_code=201)


async def _set_disabled(ctx: ApiContext, username: str, disabled: bool) -> Response:
    if not await ctx.runner.write(ctx.accounts.set_user_disabled, username, disabled):
        raise api_error(404, "not_found", f"no user {username!r}", field="username")
    user = await ctx.runner.read(ctx.accounts.user, username)
    assert user is not None
    return JSON(user_dict(user))


@router.post(
    "/users/{username}/disable",
    summary="Disable a user (their sessions end)",
    response_model=UserRead,
    responses=ERRORS,
)
async def disable_user(ctx: Ctx, admin: Admin, username: Username) -> Response:
    return await _set_disabled(ctx, username, True)


@router.post(
    "/users/{username}/enable",
    summary="Enable a disabled user",
    response_model=UserRead,
    responses=ERRORS,
)
async def enable_user(ctx: Ctx, admin: Admin, username: Username) -> Response:
    return await _set_disabled(ctx, username, False)


@router.get(
    "/tokens",
    summary="API tokens (never their secrets)",
    response_model=list[TokenRead],
    responses=ERRORS,
)
async def list_tokens(ctx: Ctx, admin: Admin) -> Response:
    tokens = await ctx.runner.read(ctx.accounts.list_tokens)
    return JSON([token_dict(t) for t in tokens])


@router.post(
    "/tokens",
    status_code=201,
    summary="Create an API token: the secret is in this response only",
    response_model=TokenCreated,
    responses=ERRORS,
)
async def create_token(ctx: Ctx, admin: Admin, body: TokenCreate) -> Response:
    row, secret = await ctx.runner.write(
        ctx.accounts.create_token, body.name, body.role, body.sites
    )
    return JSON({**token_dict(row), "token": secret}, status_code=201)


@router.post(
    "/tokens/{token}/revoke",
    summary="Revoke an API token (by id or name)",
    response_model=TokenRead,
    responses=ERRORS,
)
async def revoke_token(ctx: Ctx, admin: Admin, token: Username) -> Response:
    row = await ctx.runner.write(ctx.accounts.revoke_token, token)
    if row is None:
        raise api_error(404, "not_found", f"no active token {token!r}", field="token")
    return JSON(token_dict(row))
