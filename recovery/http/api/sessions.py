"""Session login for people (the web page), and who-am-I for any caller."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from recovery.domain.state import iso
from recovery.http.api.access_schemas import LoginCreate, PrincipalRead, SessionRead
from recovery.http.api.schemas import ErrorRead
from recovery.http.auth.deps import (
    SESSION_COOKIE,
    authenticate,
    context,
    presented_secret,
    unauthorized,
)
from recovery.http.context import ApiContext
from recovery.http.errors import JSON, ApiError
from recovery.service.accounts import SignInThrottled
from recovery.service.principal import Principal

router = APIRouter(prefix="/auth", tags=["auth"])
Ctx = Annotated[ApiContext, Depends(context)]
ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorRead}, 422: {"model": ErrorRead}}


@router.post(
    "/login",
    summary="Log a person in: a session token (also set as an HttpOnly cookie)",
    response_model=SessionRead,
    responses={
        **ERRORS,
        429: {
            "model": ErrorRead,
            "description": "too many failed sign-ins lately for this username, from this "
            "address, or both (shared by every server process)",
            "headers": {
                "Retry-After": {
                    "description": "seconds until an attempt is heard again",
                    "schema": {"type": "string"},
                }
            },
        },
    },
)
async def login(ctx: Ctx, request: Request, body: LoginCreate) -> Response:
    client = request.client.host if request.client else ""
    try:
        # The password check is slow on purpose: a worker thread, never the event loop.
        user = await ctx.runner.read(
            ctx.accounts.check_sign_in, body.username, body.password, client
        )
    except SignInThrottled as exc:
        raise ApiError(
            429,
            {"error": "too_many_attempts", "message": str(exc)},
            {"Retry-After": str(int(exc.retry_after.total_seconds()) + 1)},
        ) from None
    if user is None:
        raise unauthorized("wrong username or password, or the account is disabled")
    secret, expires_at = await ctx.runner.write(ctx.accounts.open_session, user)
    principal = Principal("user", user.username, user.role, user.sites, user.locale)
    response = JSON(
        {
            "token": secret,
            "token_type": "bearer",
            "expires_at": iso(expires_at),
            "principal": principal.to_dict(),
        }
    )
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int((expires_at - ctx.clock()).total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post(
    "/logout",
    status_code=204,
    summary="End the session whose token is presented (on every server within a second)",
    description="For a person's session token (or cookie). An API token is not logged out: "
    "it answers 422 `not_a_session` and stays valid; an admin revokes API tokens "
    "(`POST /admin/tokens/{token}/revoke`, `recovery tokens revoke NAME`).",
    response_model=None,  # 204: no body
    responses={401: {"model": ErrorRead}, 422: {"model": ErrorRead}},
)
async def logout(
    ctx: Ctx, request: Request, principal: Annotated[Principal, Depends(authenticate)]
) -> Response:
    if principal.kind == "token":
        # A system's credential outlives any one conversation; ending it is an admin's
        # decision, so a logout must not pretend to have done it.
        raise ApiError(
            422,
            {
                "error": "not_a_session",
                "message": f"API token {principal.name!r} is not a session and stays valid: "
                "an admin revokes API tokens (POST /admin/tokens/{token}/revoke or "
                "`recovery tokens revoke NAME`)",
            },
        )
    await ctx.runner.write(ctx.accounts.logout, presented_secret(request))  # checked above
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(
    "/me",
    summary="Who the presented token stands for: role, properties, permissions",
    response_model=PrincipalRead,
    responses=ERRORS,
)
async def me(principal: Annotated[Principal, Depends(authenticate)]) -> Response:
    return JSON(principal.to_dict())
