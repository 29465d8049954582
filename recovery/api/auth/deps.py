"""FastAPI dependencies: who is calling (401 if nobody), and may their role do this (403)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from recovery.api.auth.principal import Permission, Principal
from recovery.api.context import ApiContext
from recovery.api.errors import ApiError

SESSION_COOKIE = "recovery_session"

bearer = HTTPBearer(
    auto_error=False,
    description="An API token (`rcv_t_...`) or a session token from POST /auth/login",
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The session cookie set by /auth/login"
)

WHAT = {
    Permission.READ: "read incidents",
    Permission.WRITE: "change incidents",
    Permission.REPORTS: "read reports",
    Permission.PLAYBOOKS: "read playbooks",
    Permission.ADMIN: "manage users, tokens and playbooks",
}


def app_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def context(request: Request) -> ApiContext:
    """The dependency. Async on purpose: FastAPI runs a plain `def` dependency on a worker
    thread, and a thread hop per dependency per request is the API's largest cost."""
    return app_context(request)


def unauthorized(message: str) -> ApiError:
    return ApiError(
        401,
        {"error": "unauthorized", "message": message},
        {"WWW-Authenticate": 'Bearer realm="recovery"'},
    )


def presented_secret(
    credentials: HTTPAuthorizationCredentials | None, cookie: str | None
) -> str | None:
    if credentials is not None and credentials.credentials:
        return credentials.credentials
    return cookie or None


async def authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    cookie: str | None = Depends(session_cookie),
) -> Principal:
    secret = presented_secret(credentials, cookie)
    if secret is None:
        raise unauthorized("send 'Authorization: Bearer <token>' (an API or session token)")
    ctx = app_context(request)
    principal = ctx.accounts.cached(secret)
    if principal is None:
        principal = await ctx.runner.read(ctx.accounts.authenticate, secret)
    if principal is None:
        raise unauthorized("the token is unknown, revoked or expired")
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, if their role grants `permission`; 403 otherwise."""

    async def check(principal: Principal = Depends(authenticate)) -> Principal:
        if not principal.can(permission):
            raise ApiError(
                403,
                {
                    "error": "forbidden",
                    "message": f"the {principal.role} role may not {WHAT[permission]}",
                },
            )
        return principal

    return check
